"""The event hub: listeners, and the delivery of their events from the events table as an outbox.

The order events are written in the transactions that change the orders (kernel/uow.py), numbered
in commit order by ``EventRecord.sequence`` (gapless: when a sequence is visible, every lower one
is). Delivery reads that table; nothing is lost to a restart, because nothing waits in memory:

* **fan-out** (:meth:`HubService.fan_out`): per active listener, the events after its cursor
  (``fanned_out_sequence``) that its query and scope accept become ``hub_delivery`` rows, with
  their TMF body rendered once (the :class:`Render` port); the cursor moves in the same
  transaction, by a conditional update (``WHERE fanned_out_sequence = <what was read>``), so two
  runners never fan out the same events twice: one of them moves the cursor, the other's
  transaction is rolled back. Exactly once per listener and event (also a unique constraint).
* **send** (:meth:`HubService.send_due`): per listener and order, only the earliest open delivery
  (pending or dead) may go, and only when it is pending and its ``next_attempt_at`` has come: in
  order per order, and a dead one blocks the later ones until an admin retries or skips it. A
  runner claims a delivery by a conditional update of ``next_attempt_at`` (its lease), posts it
  with no transaction open (the :class:`Deliver` port), then records the outcome, again
  conditionally (a runner whose lease ran out and whose delivery another runner took over records
  nothing). A 2xx is delivered; anything else, or an exception, is a failed attempt, retried
  after an exponential back-off with a cap; after ``max_attempts`` it is dead. At least once: a
  runner that dies after the POST and before recording it leaves the delivery to be sent again.

Scope: a customer's listener (``account_id``) is fanned out only its account's events, and only
a listener registered by someone who may read fulfilment details receives staff-only event kinds
(reads.queries.STAFF_EVENT_KINDS). Only TMF622's notification types are delivered
(:data:`DELIVERED_EVENTS`): the internal ones (task, domain order, product events) never are.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, exists, func, insert, select, update
from sqlalchemy.orm import aliased

from om_graph.core.access.actor import Actor
from om_graph.core.access.permissions import Permission, require
from om_graph.core.kernel.errors import NotFound, ValidationFailed
from om_graph.core.kernel.models import EventRecord, utcnow
from om_graph.core.kernel.uow import UnitOfWork
from om_graph.core.notification.error_codes import NotificationErrorCode
from om_graph.core.notification.models import HubDelivery, HubListener
from om_graph.core.notification.ports import (
    DELIVERY_ID_HEADER,
    EVENT_ID_HEADER,
    MAX_ERROR,
    SIGNATURE_HEADER,
    Deliver,
    HubReport,
    HubSettings,
    Registration,
    Render,
    accepts,
    backoff,
    check_callback,
    encode,
    parse_query,
    signature,
)
from om_graph.core.notification.states import DELIVERY, LISTENER, OPEN_STATES, DeliveryStates, ListenerStates

log = logging.getLogger(__name__)


class _Moved(Exception):
    """Another runner moved the listener's cursor first: this fan-out is rolled back."""


_LISTENERS = HubListener.__table__
_DELIVERIES = HubDelivery.__table__
_EARLIER = aliased(HubDelivery)
P, L = DeliveryStates, ListenerStates


class HubService:
    def __init__(self, uow: Callable[..., UnitOfWork], settings: HubSettings | None = None):
        self._uow = uow
        self.settings = settings or HubSettings()

    # -- listeners ----------------------------------------------------------------------------------

    def register(self, actor: Actor, callback: str, query: str | None = None, secret: str | None = None) -> Registration:
        """A new listener (EVENTS_SUBSCRIBE), sent the events committed after now. Without a
        ``secret`` one is generated; either way the answer carries it, the only time it is shown."""
        require(actor, Permission.EVENTS_SUBSCRIBE)
        url = check_callback(callback)
        parsed = parse_query(query)
        if secret is not None and not 16 <= len(secret) <= 200:
            raise ValidationFailed.single("secret", "16 to 200 characters", NotificationErrorCode.INVALID_CALLBACK)
        key = secret or secrets.token_urlsafe(32)
        with self._uow() as uow:
            last = uow.session.scalar(select(func.max(EventRecord.sequence))) or 0
            listener = HubListener(
                callback=url,
                query=(query or "").strip() or None,
                event_types=None if parsed.event_types is None else list(parsed.event_types),
                secret=key,
                owner=actor.label,
                account_id=actor.account_id,
                staff_events=actor.can(Permission.FULFILMENT_READ),
                state=LISTENER.initial,
                fanned_out_sequence=last,
                created_at=utcnow(),
            )
            uow.session.add(listener)
        return Registration(listener, key)

    def listener(self, actor: Actor, listener_id: int) -> HubListener:
        """An active listener its owner (or a hub admin) sees; UNKNOWN_LISTENER otherwise."""
        with self._uow(read_only=True) as uow:
            found = self._own(uow, actor, listener_id)
            uow.session.expunge(found)
        return found

    def unregister(self, actor: Actor, listener_id: int) -> None:
        """Delete an active listener (its owner, or a hub admin): nothing more is fanned out or sent to it."""
        with self._uow() as uow:
            found = self._own(uow, actor, listener_id)
            found.state = LISTENER.transition(found.state, "unregister", actor.roles).target
            found.deleted_at = utcnow()

    def _own(self, uow: UnitOfWork, actor: Actor, listener_id: int) -> HubListener:
        require(actor, Permission.EVENTS_SUBSCRIBE)
        found = uow.session.get(HubListener, listener_id)
        if (
            found is None
            or found.state != L.ACTIVE
            or not (found.owner == actor.label or actor.can(Permission.HUB_MANAGE))
            or (actor.account_id is not None and found.account_id != actor.account_id)
        ):
            raise NotFound("no such listener", field="id", code=NotificationErrorCode.UNKNOWN_LISTENER)
        return found

    # -- admin --------------------------------------------------------------------------------------

    def listeners(self, actor: Actor, states: Iterable[str] = ()) -> list[HubListener]:
        require(actor, Permission.HUB_MANAGE)
        wanted = tuple(states)
        stmt = select(HubListener).order_by(HubListener.id)
        if wanted:
            stmt = stmt.where(HubListener.state.in_(wanted))
        with self._uow(read_only=True) as uow:
            return list(uow.session.scalars(stmt))

    def deliveries(
        self,
        actor: Actor,
        *,
        states: Iterable[str] = (),
        listener_id: int | None = None,
        order_id: int | None = None,
        first: int = 50,
    ) -> list[HubDelivery]:
        """Deliveries in the order they go (event sequence), at most ``first`` (up to 200)."""
        require(actor, Permission.HUB_MANAGE)
        if not 0 < first <= 200:
            raise ValidationFailed.single("first", "between 1 and 200", NotificationErrorCode.INVALID_HUB_QUERY)
        stmt = select(HubDelivery).order_by(HubDelivery.sequence, HubDelivery.listener_id).limit(first)
        wanted = tuple(states)
        if wanted:
            stmt = stmt.where(HubDelivery.state.in_(wanted))
        if listener_id is not None:
            stmt = stmt.where(HubDelivery.listener_id == listener_id)
        if order_id is not None:
            stmt = stmt.where(HubDelivery.order_id == order_id)
        with self._uow(read_only=True) as uow:
            return list(uow.session.scalars(stmt))

    def retry(self, actor: Actor, delivery_id: int) -> HubDelivery:
        """A dead delivery is pending again, due now, with its attempts from zero."""
        return self._revive(actor, delivery_id, "retry")

    def skip(self, actor: Actor, delivery_id: int) -> HubDelivery:
        """A dead delivery is never sent: its order's later deliveries go on."""
        return self._revive(actor, delivery_id, "skip")

    def _revive(self, actor: Actor, delivery_id: int, event: str) -> HubDelivery:
        require(actor, Permission.HUB_MANAGE)
        with self._uow() as uow:
            found = uow.session.get(HubDelivery, delivery_id, with_for_update=True)
            if found is None:
                raise NotFound("no such delivery", field="id", code=NotificationErrorCode.UNKNOWN_DELIVERY)
            if found.state != P.DEAD:
                raise ValidationFailed.single(
                    "id",
                    f"the delivery is {found.state}: only a dead one is retried or skipped",
                    NotificationErrorCode.DELIVERY_NOT_DEAD,
                )
            found.state = DELIVERY.transition(found.state, event, actor.roles).target
            if found.state == P.PENDING:
                found.attempts = 0
                found.next_attempt_at = utcnow()
        return found

    # -- the engine ---------------------------------------------------------------------------------

    def run_once(self, render: Render, deliver: Deliver, *, rounds: int = 20) -> HubReport:
        """One pass: fan out, then send what is due, again while a round delivered something (the
        next delivery of an order is due as soon as the one before it is delivered)."""
        report = HubReport()
        report.fanned_out = self.fan_out(render)
        for _ in range(rounds):
            delivered = report.delivered
            self.send_due(deliver, report)
            if report.delivered == delivered:
                break
        return report

    def fan_out(self, render: Render) -> int:
        with self._uow(read_only=True) as uow:
            listeners = list(
                uow.session.scalars(select(HubListener).where(HubListener.state == L.ACTIVE).order_by(HubListener.id))
            )
        bodies: dict[int, dict[str, Any]] = {}  # rendered once per event, whichever listeners get it
        total = 0
        for listener in listeners:
            try:
                while True:
                    added, more = self._fan_out_listener(listener, render, bodies)
                    total += added
                    if not more:
                        break
            except _Moved:
                continue  # another runner fanned these events out
            except Exception:
                log.exception("hub: fanning out to listener %s failed; the next pass tries again", listener.id)
        return total

    def _fan_out_listener(self, listener: HubListener, render: Render, bodies: dict[int, dict[str, Any]]) -> tuple[int, bool]:
        cursor = listener.fanned_out_sequence
        with self._uow(read_only=True) as uow:
            events = list(
                uow.session.scalars(
                    select(EventRecord)
                    .where(EventRecord.sequence > cursor)
                    .order_by(EventRecord.sequence)
                    .limit(self.settings.batch)
                )
            )
        if not events:
            return 0, False
        accepted = [e for e in events if accepts(listener, e)]
        missing = [e for e in accepted if e.id not in bodies]
        if missing:
            bodies.update(render(missing))
        last = events[-1].sequence
        now = utcnow()
        rows = [
            {
                "listener_id": listener.id,
                "event_id": e.id,
                "event_type": e.event_type,
                "order_id": e.order_id,
                "sequence": e.sequence,
                "body": bodies.get(e.id) or {"eventId": str(e.id), "eventType": e.event_type},
                "state": DELIVERY.initial,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for e in accepted
        ]
        with self._uow() as uow:
            moved = uow.session.execute(
                update(_LISTENERS)
                .where(
                    _LISTENERS.c.id == listener.id,
                    _LISTENERS.c.state == L.ACTIVE,
                    _LISTENERS.c.fanned_out_sequence == cursor,
                )
                .values(fanned_out_sequence=last)
            )
            if cast("CursorResult[Any]", moved).rowcount != 1:
                raise _Moved
            if rows:
                uow.session.execute(insert(_DELIVERIES), rows)
        listener.fanned_out_sequence = last
        return len(rows), len(events) == self.settings.batch

    def due(self, now: datetime | None = None, limit: int = 100) -> list[tuple[HubDelivery, str, str]]:
        """The deliveries that may go now, each with its listener's callback and secret: pending,
        their time come, and the earliest open one of their listener and order."""
        now = now or utcnow()
        earlier = exists().where(
            _EARLIER.listener_id == HubDelivery.listener_id,
            _EARLIER.order_id == HubDelivery.order_id,
            _EARLIER.state.in_(OPEN_STATES),
            _EARLIER.sequence < HubDelivery.sequence,
        )
        stmt = (
            select(HubDelivery, HubListener.callback, HubListener.secret)
            .join(HubListener, and_(HubListener.id == HubDelivery.listener_id, HubListener.state == L.ACTIVE))
            .where(HubDelivery.state == P.PENDING, HubDelivery.next_attempt_at <= now, ~earlier)
            .order_by(HubDelivery.sequence, HubDelivery.listener_id)
            .limit(limit)
        )
        with self._uow(read_only=True) as uow:
            return [(row[0], row[1], row[2]) for row in uow.session.execute(stmt)]

    def send_due(self, deliver: Deliver, report: HubReport | None = None) -> HubReport:
        report = report or HubReport()
        failing: set[int] = set()  # listeners that failed in this round: their other deliveries wait for the next
        for delivery, callback, secret in self.due():
            if delivery.listener_id in failing or not self._claim(delivery):
                continue
            body = encode(delivery.body)
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(secret, body),
                EVENT_ID_HEADER: str(delivery.event_id),
                DELIVERY_ID_HEADER: str(delivery.id),
            }
            status: int | None = None
            error: str | None = None
            try:  # no transaction is open here
                status = int(deliver(callback, body, headers))
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
            except Exception as exc:  # no answer: refused, timed out, reset
                error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR] or type(exc).__name__
            report.attempted += 1
            outcome = self._record(delivery, status, error)
            if outcome == P.DELIVERED:
                report.delivered += 1
            elif outcome is not None:
                failing.add(delivery.listener_id)
                report.failed += 1
                report.dead += outcome == P.DEAD
        return report

    def _claim(self, delivery: HubDelivery) -> bool:
        lease = utcnow() + timedelta(seconds=self.settings.lease_seconds)
        with self._uow() as uow:
            claimed = uow.session.execute(
                update(_DELIVERIES)
                .where(
                    _DELIVERIES.c.id == delivery.id,
                    _DELIVERIES.c.state == P.PENDING,
                    _DELIVERIES.c.attempts == delivery.attempts,
                    _DELIVERIES.c.next_attempt_at == delivery.next_attempt_at,
                )
                .values(next_attempt_at=lease)
            )
            return cast("CursorResult[Any]", claimed).rowcount == 1

    def _record(self, delivery: HubDelivery, status: int | None, error: str | None) -> str | None:
        """Write an attempt's outcome, unless the delivery is no longer the one claimed (the lease
        ran out and another runner took it); the new state, or None when nothing was written."""
        now = utcnow()
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_status": status}
        if error is None:
            values |= {"state": DELIVERY.target_of("deliver"), "delivered_at": now, "last_error": None}
        elif attempts >= self.settings.max_attempts:
            values |= {"state": DELIVERY.target_of("giveUp"), "last_error": error}
        else:
            values |= {
                "state": DELIVERY.target_of("fail"),
                "last_error": error,
                "next_attempt_at": now + backoff(self.settings, attempts),
            }
        with self._uow() as uow:
            written = uow.session.execute(
                update(_DELIVERIES)
                .where(
                    _DELIVERIES.c.id == delivery.id,
                    _DELIVERIES.c.state == P.PENDING,
                    _DELIVERIES.c.attempts == delivery.attempts,
                )
                .values(**values)
            )
            if cast("CursorResult[Any]", written).rowcount != 1:
                return None
        if values["state"] == P.DEAD:
            log.warning(
                "hub: delivery %s (event %s) is dead after %d attempts: %s", delivery.id, delivery.event_id, attempts, error
            )
        return str(values["state"])
