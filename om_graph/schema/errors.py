"""Which GraphQL errors are expected, how they carry their code, and how they are logged.

Expected errors are the client's doing: malformed or over-limit documents and arguments,
FORBIDDEN, domain errors (NOT_FOUND, INVALID_CURSOR, …), ids that are not ours. They reach the
client with ``extensions.code`` and are logged at debug level in one line. Anything else is a
defect: logged as an error with its traceback, and masked for the client (MaskErrors).

The codes om-graph itself gives are the members of the contexts' ``error_codes`` enums plus
``RequestErrorCode``; the schema lists their union as the enum ``ErrorCode``. The ``code`` fields
stay strings, because packs' business validators and task handlers give codes of their own.
"""

from __future__ import annotations

import logging
from enum import Enum, StrEnum

import strawberry
from graphql import GraphQLError
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.relay.types import InvalidGlobalIDError
from strawberry.utils.logging import StrawberryLogger

from om_graph.core.access.error_codes import AccessErrorCode
from om_graph.core.catalog.error_codes import CatalogErrorCode
from om_graph.core.change.error_codes import ChangeErrorCode
from om_graph.core.decisions.error_codes import DecisionsErrorCode
from om_graph.core.fulfilment.error_codes import FulfilmentErrorCode
from om_graph.core.inventory.error_codes import InventoryErrorCode
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import DomainError
from om_graph.core.lifecycle.error_codes import LifecycleErrorCode
from om_graph.core.notification.error_codes import NotificationErrorCode
from om_graph.core.ordering.error_codes import OrderingErrorCode
from om_graph.core.pricing.error_codes import PricingErrorCode
from om_graph.core.reads.error_codes import ReadsErrorCode

log = logging.getLogger("om_graph.graphql")


class RequestErrorCode(StrEnum):
    """Codes of errors about the request rather than the domain (only in ``extensions.code``),
    including those the HTTP transport answers itself (``transport.errors``)."""

    INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
    RESUME_REQUIRED = "RESUME_REQUIRED"  # a subscriber fell too far behind: subscribe again with resume
    BAD_REQUEST = "BAD_REQUEST"  # not a GraphQL request: unparsable body, missing query, bad variables
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"  # the Accept header admits no media type we answer in
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"  # a defect, masked


ERROR_CODES: tuple[type[StrEnum], ...] = (
    CommonErrorCode,
    AccessErrorCode,
    DecisionsErrorCode,
    CatalogErrorCode,
    InventoryErrorCode,
    PricingErrorCode,
    OrderingErrorCode,
    FulfilmentErrorCode,
    LifecycleErrorCode,
    ChangeErrorCode,
    ReadsErrorCode,
    NotificationErrorCode,
    RequestErrorCode,
)


def _union(enums: tuple[type[StrEnum], ...]) -> type[Enum]:
    members: dict[str, str] = {}
    for enum in enums:
        for member in enum:
            if member.name in members:
                raise ValueError(f"error code {member.name} is in two contexts' enums")
            members[member.name] = member.value
    union: type[Enum] = Enum("ErrorCode", members)  # type: ignore[misc]  # members known only at run time
    return strawberry.enum(
        union,
        description=(
            "The codes om-graph gives in UserError.code and in errors[].extensions.code. Those fields are "
            "strings: installed packs' validators and task handlers add codes of their own."
        ),
    )


ErrorCode = _union(ERROR_CODES)


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
        error.extensions = {**(error.extensions or {}), "code": CommonErrorCode.INVALID_ID}


def process_errors(errors: list[GraphQLError]) -> None:
    for error in errors:
        if is_expected(error):
            _with_code(error)
            log.debug("expected GraphQL error %s at %s: %s", (error.extensions or {}).get("code"), error.path, error.message)
        else:
            StrawberryLogger.error(error)
