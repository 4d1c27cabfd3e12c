"""The event hub's two ports, as the TMF facade fills them (core/notification/hub.py runs them).

:class:`TmfEventRenderer` is :class:`~om_graph.core.notification.ports.Render`: an event as TMF622's
notification, ``{eventId, eventTime, eventType, event: {productOrder: <ProductOrder>}}`` (the
order as ``GET /productOrder/{id}`` shows it when the event is fanned out; a state change's
``state`` is the state the event moved to), and for cancellation events ``event.cancelProductOrder``.

:class:`HttpDeliver` is :class:`~om_graph.core.notification.ports.Deliver`: one ``POST`` with httpx
(no redirects followed, a timeout), called by the hub with no transaction open.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from om_graph.core.access.actor import SYSTEM_ACTOR
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.models import EventRecord
from om_graph.tmf.apis import PRODUCT_CATALOG, PRODUCT_ORDERING
from om_graph.tmf.tmf622 import order_mapping
from om_graph.tmf.values import iso

LINES = frozenset({"lines"})
CANCEL_EVENTS = frozenset({ev.CANCEL_ORDER_CREATE, ev.CANCEL_ORDER_STATE_CHANGE})
# Events whose representation shows the state the event moved to (the order may have moved on by
# the time it is fanned out). Not the create: an order created submitted records its create (as a
# draft) and its submit in one transaction, and v4 has no draft: the create shows the order as
# it is when fanned out (acknowledged or later; a v5 draft, draft).
STATE_EVENTS = frozenset({ev.ORDER_STATE_CHANGE, ev.CANCEL_ORDER_STATE_CHANGE})


class TmfEventRenderer:
    def __init__(self, services: Any, base_url: str = ""):
        """``base_url``: the server's public URL the hrefs start with (OM_GRAPH_HUB_BASE_URL; empty: paths)."""
        self.services = services
        self.base_url = base_url.rstrip("/")

    def order_href(self, order_id: int) -> str:
        return f"{self.base_url}{PRODUCT_ORDERING}/productOrder/{order_id}"

    def __call__(self, events: Sequence[EventRecord]) -> Mapping[int, dict[str, Any]]:
        details = self.services.queries.orders_by_id(SYSTEM_ACTOR, sorted({e.order_id for e in events}), LINES)
        cancel_ids = sorted({e.entity_id for e in events if e.event_type in CANCEL_EVENTS})
        cancels = self.services.cancel_requests.by_ids(SYSTEM_ACTOR, cancel_ids) if cancel_ids else {}
        offerings = f"{self.base_url}{PRODUCT_CATALOG}/productOffering"
        bodies: dict[int, dict[str, Any]] = {}
        for event in events:
            if event.event_type in CANCEL_EVENTS:
                content = {"cancelProductOrder": self._cancel(event, cancels.get(event.entity_id))}
            else:
                detail = details.get(event.order_id)
                order = (
                    order_mapping.to_tmf(detail, self.order_href(event.order_id), offerings)
                    if detail is not None
                    else {"id": str(event.order_id), "href": self.order_href(event.order_id), "@type": order_mapping.ORDER_TYPE}
                )
                if event.event_type in STATE_EVENTS and event.to_state is not None:
                    order["state"] = event.to_state
                content = {"productOrder": order}
            bodies[event.id] = {
                "eventId": str(event.id),
                "eventTime": iso(event.occurred_at),
                "eventType": event.event_type,
                "@type": event.event_type,
                "event": content,
            }
        return bodies

    def _cancel(self, event: EventRecord, request: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": str(event.entity_id),
            "href": f"{self.base_url}{PRODUCT_ORDERING}/cancelProductOrder/{event.entity_id}",
            "@type": "CancelProductOrder",
            "state": event.to_state,
            "productOrder": {
                "id": str(event.order_id),
                "href": self.order_href(event.order_id),
                "@referredType": order_mapping.ORDER_TYPE,
            },
        }
        if request is not None:
            body["cancellationReason"] = request.cancellation_reason
            body["requestedCancellationDate"] = iso(request.requested_cancellation_date)
            body["effectiveCancellationDate"] = iso(request.effective_cancellation_date)
            if event.event_type != ev.CANCEL_ORDER_STATE_CHANGE or event.to_state is None:
                body["state"] = event.to_state or request.state
        return {key: value for key, value in body.items() if value is not None}


class HttpDeliver:
    def __init__(self, timeout_seconds: float = 10.0):
        self.client = httpx.Client(timeout=timeout_seconds, follow_redirects=False)

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        return self.client.post(url, content=body, headers=dict(headers)).status_code

    def close(self) -> None:
        self.client.close()
