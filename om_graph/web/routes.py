"""Routes of the workspace and portal: the static shell and modules, and the demo sign-in."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from om_graph.demo import DEMO_ACCOUNTS

if TYPE_CHECKING:
    from om_graph.runtime import Runtime

UI_PATH = "/ui"
# Nothing is loaded from elsewhere: scripts, styles and images are the server's own, and the only
# connections are to its own GraphQL endpoint (HTTP and websocket).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class _UiFiles(StaticFiles):
    """The static files with the security headers, revalidated on every load (no stale module
    after an upgrade: the files are small and answered 304 when unchanged)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in _HEADERS.items()]
                headers.append((b"cache-control", b"no-cache"))
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def _addressed_directly(request: Request) -> bool:
    """The request names this server by an IP address or localhost, never by a DNS name: a page
    elsewhere that re-points its own name at this server (DNS rebinding) cannot take a demo token,
    and neither can another site's form or script (Origin). Reached by a name, sign in with a token."""
    host = (request.url.hostname or "").strip("[]").lower()
    try:
        ipaddress.ip_address(host)
        direct = True
    except ValueError:
        direct = host == "localhost"
    origin = request.headers.get("origin")
    return direct and (origin is None or origin.rstrip("/") == f"{request.url.scheme}://{request.url.netloc}")


def _demo_roles(runtime: Runtime) -> list[dict]:
    return [{"label": label, "account": DEMO_ACCOUNTS.get(label)} for label in runtime.demo_tokens]


def web_routes(runtime: Runtime) -> list[BaseRoute]:
    async def home(_: Request) -> Response:
        return RedirectResponse(f"{UI_PATH}/", status_code=307)

    async def demo_sign_in(request: Request) -> Response:
        """GET: whether demo sign-in is on and its roles. POST {"label"}: that demo role's token.
        Only in demo mode (production refuses to start with demo credentials active)."""
        demo = not runtime.settings.production and bool(runtime.demo_tokens)
        if request.method == "GET":
            return JSONResponse({"demo": demo, "roles": _demo_roles(runtime) if demo else []}, headers=_HEADERS)
        if not demo:
            return JSONResponse({"error": "demo sign-in is off"}, status_code=404, headers=_HEADERS)
        if not _addressed_directly(request) or request.headers.get("content-type", "").split(";")[0] != "application/json":
            return JSONResponse(
                {"error": "demo sign-in answers JSON requests that name this server by address or localhost"},
                status_code=403,
                headers=_HEADERS,
            )
        try:
            label = (await request.json())["label"]
        except Exception:
            return JSONResponse({"error": 'send {"label": "<demo role>"}'}, status_code=400, headers=_HEADERS)
        token = runtime.demo_tokens.get(label) if isinstance(label, str) else None
        if token is None:
            return JSONResponse({"error": f"no demo role {label!r}"}, status_code=400, headers=_HEADERS)
        return JSONResponse({"token": token}, headers={**_HEADERS, "Cache-Control": "no-store"})

    return [
        Route("/", home),
        Route(f"{UI_PATH}/demo-sign-in", demo_sign_in, methods=["GET", "POST"]),
        Mount(UI_PATH, app=_UiFiles(packages=[("om_graph.web", "static")], html=True), name="ui"),
    ]
