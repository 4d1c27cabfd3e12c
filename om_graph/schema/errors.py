"""Which GraphQL errors are expected, how they carry their code, and how they are logged.

Expected errors are the client's doing: malformed or over-limit documents and arguments,
FORBIDDEN, domain errors (NOT_FOUND, INVALID_CURSOR, …), ids that are not ours. They reach the
client with ``extensions.code`` and are logged at debug level in one line. Anything else is a
defect: logged as an error with its traceback, and masked for the client (MaskErrors).
"""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.relay.types import InvalidGlobalIDError
from strawberry.utils.logging import StrawberryLogger

from om_graph.core.kernel.errors import DomainError

log = logging.getLogger("om_graph.graphql")


def _chain(error: GraphQLError) -> list[BaseException]:
    """The error and what it wraps, down to the first exception that is not a GraphQLError."""
    chain: list[BaseException] = [error]
    while isinstance(chain[-1], GraphQLError) and chain[-1].original_error is not None:
        chain.append(chain[-1].original_error)
    return chain


def _cause(error: GraphQLError) -> BaseException | None:
    """The exception behind a GraphQLError; None for one raised as a GraphQLError."""
    last = _chain(error)[-1]
    return None if isinstance(last, GraphQLError) else last


def is_expected(error: GraphQLError) -> bool:
    chain = _chain(error)
    if any(isinstance(e, StrawberryInputCoercionError) for e in chain):
        return True
    cause = _cause(error)
    return cause is None or isinstance(cause, DomainError)


def _with_code(error: GraphQLError) -> None:
    """Give an expected error the extensions.code clients branch on."""
    if error.extensions and "code" in error.extensions:
        return
    cause = _cause(error)
    if isinstance(cause, DomainError):
        first = cause.errors[0]
        error.message = first.message
        error.extensions = {**(error.extensions or {}), "code": first.code, "field": first.field or None}
    elif any(isinstance(e, InvalidGlobalIDError) for e in _chain(error)):
        error.extensions = {**(error.extensions or {}), "code": "INVALID_ID"}


def process_errors(errors: list[GraphQLError]) -> None:
    for error in errors:
        if is_expected(error):
            _with_code(error)
            log.debug("expected GraphQL error %s at %s: %s", (error.extensions or {}).get("code"), error.path, error.message)
        else:
            StrawberryLogger.error(error)
