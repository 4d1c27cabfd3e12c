"""A request body size limit enforced while the body streams in, whatever its framing.

Checking ``Content-Length`` alone lets a ``Transfer-Encoding: chunked`` body of any size through.
This middleware counts the bytes each ``http.request`` message carries and, past the limit, stops
handing the body to the application: the application's ``receive`` raises, and the client gets
413 (unless a response had already started, in which case the connection is just dropped). At most
one message beyond the limit is ever held, so nothing is buffered beyond it.
"""

from __future__ import annotations

import json

from om_graph.schema.errors import RequestErrorCode

TOO_LARGE = json.dumps(
    {"errors": [{"message": "request body too large", "extensions": {"code": RequestErrorCode.PAYLOAD_TOO_LARGE}}]}
).encode()


class BodyTooLarge(Exception):
    """Raised from ``receive`` once the body exceeds the limit; the middleware answers 413."""


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _reject(send)
            return
        received = 0
        exceeded = started = False

        async def limited_receive():
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def tracked_send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            await _reject(send)
            return
        if exceeded and not started:  # the application swallowed the error without answering
            await _reject(send)


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isascii() and value.isdigit() else None
    return None


async def _reject(send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(TOO_LARGE)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": TOO_LARGE})
