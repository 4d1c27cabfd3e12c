"""The GraphQL request parameters of an HTTP request, checked before anything reads them.

Everything here treats the body as untrusted: any JSON value, any nesting, any types. A body that
is not a single JSON object with the spec's parameter types is a request error (400), never an
exception further in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# JSON may escape a UTF-16 surrogate alone ("\ud800"): it decodes to a Python string that no
# encoder, driver or response can carry. Pairs decode to one character and are fine.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class BadRequest(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class GraphQLParams:
    query: str | None
    variables: dict | None
    operation_name: str | None
    extensions: dict | None


def decode_json(data: str | bytes):
    """json.loads, with every way it can fail (bad syntax or encoding, nesting deeper than the
    interpreter's recursion limit, integers too long to convert) as a BadRequest."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadRequest("the request body is not valid JSON") from None
    if isinstance(data, str):
        escaped = _SURROGATE_ESCAPE.search(data) is not None
    else:
        escaped = _SURROGATE_ESCAPE_BYTES.search(data) is not None
    if escaped and _has_lone_surrogate(value):
        raise BadRequest("the request body has a string with a lone UTF-16 surrogate (not valid Unicode)")
    return value


def _has_lone_surrogate(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def graphql_params(data) -> GraphQLParams:
    """The parameters of a decoded request (a POST body, or GET's query string with its JSON
    parameters decoded), each of the type the GraphQL over HTTP spec gives it."""
    if isinstance(data, list):
        raise BadRequest("batched requests are not supported: send one operation per request")
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object with a 'query'")
    query = data.get("query")
    if not isinstance(query, str):
        raise BadRequest("'query' must be a string" if "query" in data else "the request has no 'query'")
    return GraphQLParams(
        query=query,
        variables=_optional(data, "variables", dict, "an object"),
        operation_name=_optional(data, "operationName", str, "a string"),
        extensions=_optional(data, "extensions", dict, "an object"),
    )


def _optional(data: dict, name: str, kind: type, described: str):
    value = data.get(name)
    if value is not None and not isinstance(value, kind):
        raise BadRequest(f"'{name}' must be {described} or null")
    return value
