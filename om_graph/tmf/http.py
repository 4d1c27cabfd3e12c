"""What every TMF call goes through: authentication (the same bearer tokens and JWTs as GraphQL),
JSON bodies, the core services run off the event loop, and errors in TMF's shape.

A resource is a path with a handler per method (:func:`route`): another method is a 405, an
unknown path under ``/tmf-api`` a 404, both as TMF ``Error`` bodies. A handler receives a
:class:`Call`; it raises :class:`TmfError` for what the facade refuses itself, and the core's
``DomainError`` is mapped by :func:`om_graph.tmf.errors.from_domain` (with the resource's field
renaming). Anything else is logged and answered 500 in the same shape: a bug, never bad input.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from om_graph.core.access.actor import Actor
from om_graph.core.access.auth import AuthenticationFailed
from om_graph.core.access.error_codes import AccessErrorCode
from om_graph.core.kernel.errors import DomainError
from om_graph.runtime import Runtime
from om_graph.tmf.errors import Rename, TmfError, error_response, from_domain
from om_graph.tmf.values import number
from om_graph.transport.request_body import BadRequest, decode_json

log = logging.getLogger(__name__)
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
BAD_REQUEST = "BAD_REQUEST"
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


@dataclass
class Call:
    request: Request
    actor: Actor
    runtime: Runtime
    base: str  # the API's base path: /tmf-api/productOrderingManagement/v4

    @property
    def services(self) -> Any:
        return self.runtime.services

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A core service call, off the event loop (the services are synchronous)."""
        return await run_in_threadpool(fn, *args, **kwargs)

    def path_id(self, what: str) -> int:
        """The ``{id}`` of the path as one of our ids; 404 naming ``what`` when it cannot be one."""
        raw = str(self.request.path_params["id"])
        found = number(raw)
        if found is None:
            raise TmfError(404, "NOT_FOUND", f"no {what} {raw!r}")
        return found

    def href(self, resource: str, resource_id: object) -> str:
        return f"{str(self.request.base_url).rstrip('/')}{self.base}/{resource}/{resource_id}"

    async def body(self, *media_types: str) -> dict[str, Any]:
        """The request's JSON object; 400 for another Content-Type (the TMF documents declare no
        415) and for anything but a JSON object."""
        allowed = media_types or (JSON,)
        header = Message()
        header["content-type"] = self.request.headers.get("content-type") or ""
        if header.get_content_type() not in allowed:
            raise TmfError(400, "UNSUPPORTED_MEDIA_TYPE", f"send a JSON body as {' or '.join(allowed)}")
        try:
            value = decode_json(await self.request.body())
        except BadRequest as bad:
            raise TmfError(400, BAD_REQUEST, bad.message) from None
        if not isinstance(value, dict):
            raise TmfError(400, BAD_REQUEST, "the body must be a JSON object")
        return value


Handler = Callable[[Call], Awaitable[Response]]


def route(
    runtime: Runtime, base: str, path: str, handlers: Mapping[str, Handler], *, rename: Rename = str, name: str | None = None
) -> Route:
    """``base + path`` answered by ``handlers`` (method -> handler)."""
    allowed = ", ".join(sorted(handlers))

    async def endpoint(request: Request) -> Response:
        handler = handlers.get(request.method)
        if handler is None:
            return error_response(405, "METHOD_NOT_ALLOWED", f"use {allowed}", headers={"Allow": allowed})
        try:
            actor = await _authenticate(runtime, request)
            return await handler(Call(request, actor, runtime, base))
        except TmfError as refused:
            return refused.response()
        except DomainError as error:
            return from_domain(error, rename).response()
        except Exception:
            log.exception("TMF %s %s failed", request.method, request.url.path)
            return error_response(500, "INTERNAL_ERROR", "the server failed to answer; the failure is logged")

    # Every method reaches the endpoint, which answers 405 itself (TMF's shape, Allow naming the
    # resource's own methods) instead of Starlette's plain one.
    methods = sorted({*handlers, *ALL_METHODS})
    return Route(base + path, endpoint, methods=methods, name=name)


async def _authenticate(runtime: Runtime, request: Request) -> Actor:
    credential = request.headers.get("authorization")
    try:
        actor = runtime.authenticator.from_cache(credential)
        return actor if actor is not None else await run_in_threadpool(runtime.authenticator.authenticate, credential)
    except AuthenticationFailed as failed:
        raise TmfError(
            401, AccessErrorCode.UNAUTHENTICATED, failed.message, headers={"WWW-Authenticate": 'Bearer realm="om-graph"'}
        ) from None


def not_found(_: Request) -> Response:
    return error_response(404, "NOT_FOUND", "no such TMF resource: the paths are listed in docs/tmf.md")


def created(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=201, headers={"Location": str(body["href"])})
