"""TMF622's ``hub``: a listener registers (``POST /hub``, a TMF ``EventSubscriptionInput``:
``callback`` and an optional ``query``) and unregisters (``DELETE /hub/{id}``). Thin over
core/notification/hub.py, which delivers the events (signed with the listener's secret).

The answer to a registration is the ``EventSubscription`` (``id``, ``href``, ``callback``,
``query``) plus ``secret``: the key of its ``X-OM-Signature`` header, shown this once (a listener
may also bring its own, 16 to 200 characters). A customer's listener hears its own account's
orders only. Another owner's listener, like an unknown one, is a 404."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from om_graph.tmf.errors import TmfError
from om_graph.tmf.http import BAD_REQUEST, Call, created

RESOURCE = "hub"


def _text(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TmfError(400, BAD_REQUEST, f"{key}: {'required, ' if required else ''}a non-empty string")
    return value


def listener_id(call: Call) -> int:
    return call.path_id("listener")


def render(call: Call, listener: Any, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(listener.id),
        "href": call.href(RESOURCE, listener.id),
        "callback": listener.callback,
        "query": listener.query,
        "@type": "EventSubscription",
    }
    if secret is not None:
        body["secret"] = secret
    return {key: value for key, value in body.items() if value is not None}


async def register(call: Call) -> Response:
    body = await call.body()
    unknown = sorted(set(body) - {"callback", "query", "secret", "@type", "@baseType", "@schemaLocation"})
    if unknown:
        raise TmfError(400, BAD_REQUEST, f"not part of an EventSubscriptionInput: {', '.join(unknown)}")
    callback = _text(body, "callback", required=True)
    registration = await call.run(call.services.hub.register, call.actor, callback, _text(body, "query"), _text(body, "secret"))
    return created(render(call, registration.listener, registration.secret))


async def get_one(call: Call) -> Response:
    return JSONResponse(render(call, await call.run(call.services.hub.listener, call.actor, listener_id(call))))


async def unregister(call: Call) -> Response:
    await call.run(call.services.hub.unregister, call.actor, listener_id(call))
    return Response(status_code=204)
