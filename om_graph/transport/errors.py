"""Request errors the transport answers itself, in the GraphQL response shape (no ``data``)."""

from __future__ import annotations

from starlette.responses import JSONResponse

from om_graph.transport.media_types import JSON

CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def error_response(status: int, message: str, media_type: str = JSON, headers: dict | None = None) -> JSONResponse:
    error = {"message": message, "extensions": {"code": CODES.get(status, "BAD_REQUEST")}}
    return JSONResponse({"errors": [error]}, status_code=status, media_type=media_type, headers=headers)
