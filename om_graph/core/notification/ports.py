"""The event hub's vocabulary, with no database: the event types it delivers, the listener's
query and callback rules, the signature, the back-off, and the two ports the outer layers fill
(:class:`Render`: an event's TMF body; :class:`Deliver`: one HTTP POST). core/notification/hub.py
runs them."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from om_graph.core.kernel import events as ev
from om_graph.core.kernel.errors import ValidationFailed
from om_graph.core.kernel.models import EventRecord
from om_graph.core.notification.error_codes import NotificationErrorCode
from om_graph.core.reads.queries import STAFF_EVENT_KINDS

if TYPE_CHECKING:
    from om_graph.core.notification.models import HubListener

# TMF622's notifications: the event types a listener may ask for and is sent.
DELIVERED_EVENTS: tuple[str, ...] = (
    ev.ORDER_CREATE,
    ev.ORDER_STATE_CHANGE,
    ev.ORDER_ATTRIBUTE_CHANGE,
    ev.INFORMATION_REQUIRED,
    ev.JEOPARDY_ALERT,
    ev.ERROR_MESSAGE,
    ev.ORDER_DELETE,
    ev.CANCEL_ORDER_CREATE,
    ev.CANCEL_ORDER_STATE_CHANGE,
)
SIGNATURE_HEADER = "X-OM-Signature"
EVENT_ID_HEADER = "X-OM-Event-Id"
DELIVERY_ID_HEADER = "X-OM-Delivery-Id"
MAX_ERROR = 2000


class Render(Protocol):
    """The TMF event bodies of ``events`` (event id -> the JSON object sent), read outside any
    transaction of the hub's. An event missing from the answer is delivered with no ``event``."""

    def __call__(self, events: Sequence[EventRecord]) -> Mapping[int, dict[str, Any]]: ...


class Deliver(Protocol):
    """POST ``body`` to ``url`` with ``headers``; the HTTP status, or an exception when no answer came."""

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int: ...


@dataclass(frozen=True)
class HubSettings:
    """OM_GRAPH_HUB_MAX_ATTEMPTS, OM_GRAPH_HUB_BACKOFF_SECONDS, OM_GRAPH_HUB_BACKOFF_CAP_SECONDS,
    OM_GRAPH_HUB_LEASE_SECONDS (how long a claimed delivery is another runner's: longer than a POST's timeout)."""

    max_attempts: int = 8
    backoff_seconds: float = 2.0
    backoff_cap_seconds: float = 600.0
    lease_seconds: float = 60.0
    batch: int = 500


@dataclass
class HubReport:
    fanned_out: int = 0
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0


@dataclass(frozen=True)
class Registration:
    listener: HubListener
    secret: str  # shown once: the listener's key for X-OM-Signature


@dataclass(frozen=True)
class ListenerQuery:
    event_types: tuple[str, ...] | None  # None: every delivered type


def parse_query(query: str | None) -> ListenerQuery:
    """A listener's ``query``: empty (every event), or ``eventType=A,B`` clauses joined by ``&``
    (each clause narrows to its types; TMF also writes ``eventType=A&eventType=B``, which is the
    union here, as a form's repeated key reads)."""
    text = (query or "").strip()
    if not text:
        return ListenerQuery(None)
    if len(text) > 2000:
        raise ValidationFailed.single("query", "at most 2000 characters", NotificationErrorCode.INVALID_HUB_QUERY)
    types: list[str] = []
    for clause in text.split("&"):
        key, sep, value = clause.partition("=")
        if not sep or key.strip() != "eventType":
            raise ValidationFailed.single(
                "query", f"the hub understands eventType=A,B, not {clause!r}", NotificationErrorCode.INVALID_HUB_QUERY
            )
        for name in value.split(","):
            name = name.strip()
            if name not in DELIVERED_EVENTS:
                raise ValidationFailed.single(
                    "query",
                    f"{name!r} is no event type the hub delivers ({', '.join(DELIVERED_EVENTS)})",
                    NotificationErrorCode.INVALID_HUB_QUERY,
                )
            if name not in types:
                types.append(name)
    return ListenerQuery(tuple(types))


def check_callback(callback: str) -> str:
    url = (callback or "").strip()
    parts = urlsplit(url)
    if len(url) > 2000 or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed.single(
            "callback", "an absolute http or https URL (at most 2000 characters)", NotificationErrorCode.INVALID_CALLBACK
        )
    return url


def accepts(listener: HubListener, event: EventRecord) -> bool:
    """Whether ``listener`` is sent ``event``: a delivered type its query asks for, within its scope."""
    if event.event_type not in DELIVERED_EVENTS:
        return False
    if listener.event_types is not None and event.event_type not in listener.event_types:
        return False
    if listener.account_id is not None and event.customer_id != listener.account_id:
        return False
    return listener.staff_events or event.entity_kind not in STAFF_EVENT_KINDS


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(settings: HubSettings, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: doubling from ``backoff_seconds``, capped."""
    seconds = settings.backoff_seconds * (2 ** min(max(attempts - 1, 0), 30))
    return timedelta(seconds=min(seconds, settings.backoff_cap_seconds))
