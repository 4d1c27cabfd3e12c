"""The GraphQL request parameters of an HTTP request, checked before anything reads them.

Everything here treats the body as untrusted: any JSON value, any nesting, any types. A body that
is not a single JSON object with the spec's parameter types is a request error (400), never an
exception further in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


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
        return json.loads(data)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadRequest("the request body is not valid JSON") from None


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
