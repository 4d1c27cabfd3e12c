"""Request errors the transport answers itself, in the GraphQL response shape (no ``data``)."""

from __future__ import annotations

from enum import StrEnum

from starlette.responses import JSONResponse

from om_graph.core.access.error_codes import AccessErrorCode
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.schema.errors import RequestErrorCode
from om_graph.transport.media_types import JSON

CODES: dict[int, StrEnum] = {
    400: RequestErrorCode.BAD_REQUEST,
    401: AccessErrorCode.UNAUTHENTICATED,
    404: CommonErrorCode.NOT_FOUND,
    405: RequestErrorCode.METHOD_NOT_ALLOWED,
    406: RequestErrorCode.NOT_ACCEPTABLE,
    413: RequestErrorCode.PAYLOAD_TOO_LARGE,
    415: RequestErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


def error_response(status: int, message: str, media_type: str = JSON, headers: dict[str, str] | None = None) -> JSONResponse:
    error = {"message": message, "extensions": {"code": CODES.get(status, RequestErrorCode.BAD_REQUEST)}}
    return JSONResponse({"errors": [error]}, status_code=status, media_type=media_type, headers=headers)
