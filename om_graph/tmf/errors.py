"""TMF's ``Error`` shape (``code``, ``reason``, ``message``, ``status``) for every failed call.

One exception, :class:`TmfError`, carries what the facade refuses itself (a body that is not JSON,
an unknown filter); :func:`from_domain` maps the core's typed errors: unknown ids and other
accounts' ids 404, missing permissions 403, stale versions and refused transitions 409, every other
refusal 400 (bad input is never a 5xx). The core's field paths are renamed to the TMF document's
(``lines.0.offering`` → ``productOrderItem[0].productOffering.id``) by the resource's ``rename``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import JSONResponse

from om_graph.core.access.auth import AuthenticationFailed
from om_graph.core.access.error_codes import AccessErrorCode
from om_graph.core.access.permissions import Forbidden
from om_graph.core.change.error_codes import ChangeErrorCode
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import Conflict, DomainError, InvalidTransition, NotFound

STATUS: dict[str, int] = {
    CommonErrorCode.NOT_FOUND: 404,
    CommonErrorCode.FORBIDDEN: 403,
    AccessErrorCode.UNAUTHENTICATED: 401,
    CommonErrorCode.CONFLICT: 409,
    CommonErrorCode.INVALID_STATE: 409,
    # One change of an order at a time (core/change): the caller retries once the other is done.
    ChangeErrorCode.REVISION_IN_PROGRESS: 409,
    ChangeErrorCode.CANCELLATION_IN_PROGRESS: 409,
    ChangeErrorCode.WORK_RUNNING: 409,
}
REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    501: "Not Implemented",
}
# By class first: a refusal may carry a more specific code (IDEMPOTENCY_KEY_REUSED is a Conflict).
_BY_CLASS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (Forbidden, 403),
    (AuthenticationFailed, 401),
    (Conflict, 409),
    (InvalidTransition, 409),
)
Rename = Callable[[str], str]


class TmfError(Exception):
    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, headers=self.headers)


def error_response(status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {
        "code": str(code),
        "reason": REASONS.get(status, "Error"),
        "message": message,
        "status": str(status),
        "@type": "Error",
    }
    return JSONResponse(body, status_code=status, headers=headers)


def from_domain(error: DomainError, rename: Rename = str) -> TmfError:
    """The TMF error of a core refusal: the first error's code, every error in the message."""
    errors = error.errors
    code = errors[0].code if errors else error.code
    status = next((s for kind, s in _BY_CLASS if isinstance(error, kind)), None) or STATUS.get(str(code), 400)
    message = "; ".join(f"{rename(e.field)}: {e.message}" if e.field else e.message for e in errors) or error.message
    return TmfError(status, str(code), message)
