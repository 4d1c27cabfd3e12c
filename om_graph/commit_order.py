"""Live events put back into commit order, with nothing missing, before subscribers see them.

Every committed event carries a gapless sequence number in commit order (``core/uow.py``). Events
are announced after commit by many threads and processes, so they reach a server in any order,
and some never do (a Redis outage, a publisher that died between commit and announcement).
:class:`CommitOrder` is one per server process. It delivers each event once, strictly in
sequence: an event that arrives early waits for the ones before it, and a gap that does not fill
within ``gap_wait`` seconds, a relay that reconnected (``resync``), or an idle tail that lags the
store (checked every ``tail_check`` seconds) is filled from the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from om_graph.core.kernel.events import OrderEvent

log = logging.getLogger(__name__)

GAP_WAIT_SECONDS = 0.5
TAIL_CHECK_SECONDS = 5.0
BACKFILL_PAGE = 1_000


class EventSource(Protocol):
    def last_sequence(self) -> int: ...

    def events_after(self, after_sequence: int, limit: int) -> list[OrderEvent]: ...


class CommitOrder:
    def __init__(
        self,
        store: EventSource,
        deliver: Callable[[Sequence[OrderEvent]], None],
        *,
        gap_wait: float = GAP_WAIT_SECONDS,
        tail_check: float = TAIL_CHECK_SECONDS,
    ):
        self._store = store
        self._deliver = deliver
        self._gap_wait = gap_wait
        self._tail_check = tail_check
        self._wake = threading.Condition()
        self._inbox: list[OrderEvent] = []
        self._resync = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.delivered = 0  # the sequence number of the last event handed to subscribers
        self.backfilled = 0  # events read from the store because they did not arrive in time
        self._position_known = False

    def start(self) -> None:
        # Everything committed before now is history (replayed on request with after:), not live.
        # A store that cannot answer yet (the database down or not migrated) is asked again at
        # the first tail check; until then nothing is delivered.
        try:
            self._position_known = False
            self.delivered = self._store.last_sequence()
            self._position_known = True
        except Exception:
            log.exception("could not read the last committed event; live delivery starts once the store answers")
        self._thread = threading.Thread(target=self._run, name="om-graph-commit-order", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def publish(self, events: Sequence[OrderEvent]) -> None:
        """From any thread: events as they were announced."""
        with self._wake:
            self._inbox.extend(events)
            self._wake.notify()

    def resync(self) -> None:
        """Announcements may have been lost (the relay just reconnected): compare with the store."""
        with self._wake:
            self._resync = True
            self._wake.notify()

    def _run(self) -> None:
        pending: dict[int, OrderEvent] = {}
        gap_since: float | None = None  # since when the next sequence number has been missing
        next_tail_check = time.monotonic() + (self._tail_check if self._position_known else self._gap_wait)
        while True:
            with self._wake:
                timeout = next_tail_check - time.monotonic()
                if gap_since is not None:
                    timeout = min(timeout, gap_since + self._gap_wait - time.monotonic())
                if not (self._inbox or self._resync or self._stopping) and timeout > 0:
                    self._wake.wait(timeout)
                if self._stopping:
                    return
                arrived, self._inbox = self._inbox, []
                resync, self._resync = self._resync, False
            if not self._position_known and not self._locate():
                next_tail_check = time.monotonic() + self._gap_wait
                continue
            for event in arrived:
                if event.sequence > self.delivered:
                    pending[event.sequence] = event
            before = self.delivered
            self._flush(pending)
            now = time.monotonic()
            if not pending:
                gap_since = None
            elif gap_since is None or self.delivered != before:
                gap_since = now  # a gap's age counts from the last progress, not from the backlog
            lagging = pending and gap_since is not None and now - gap_since >= self._gap_wait
            if resync or lagging or now >= next_tail_check:
                next_tail_check = now + self._tail_check
                # Success or not, the next attempt waits a whole gap_wait: a store that is down
                # must not be asked in a tight loop.
                self._backfill(pending, known_gap=bool(lagging))
                gap_since = time.monotonic() if pending else None

    def _locate(self) -> bool:
        try:
            self.delivered = self._store.last_sequence()
        except Exception:
            log.warning("the store still cannot say which event was committed last; trying again shortly")
            return False
        self._position_known = True
        return True

    def _flush(self, pending: dict[int, OrderEvent]) -> None:
        ready = []
        while self.delivered + 1 in pending:
            self.delivered += 1
            ready.append(pending.pop(self.delivered))
        if ready:
            self._hand_over(ready)

    def _hand_over(self, events: Sequence[OrderEvent]) -> None:
        """A failing subscriber must not stop delivery to the others, nor this thread."""
        try:
            self._deliver(events)
        except Exception:
            log.exception("handing %d events to subscribers failed", len(events))

    def _backfill(self, pending: dict[int, OrderEvent], *, known_gap: bool) -> bool:
        """Deliver from the store everything committed after ``delivered``. False when the
        store could not be read (tried again at the next timeout)."""
        try:
            if not known_gap and self._store.last_sequence() <= self.delivered:
                return True
            while True:
                page = self._store.events_after(self.delivered, BACKFILL_PAGE)
                if page:
                    for event in page:
                        pending.pop(event.sequence, None)
                    self.backfilled += len(page)
                    self.delivered = page[-1].sequence
                    self._hand_over(page)
                if len(page) < BACKFILL_PAGE:
                    break
        except Exception as exc:  # the database is down: said once per attempt, without a traceback
            log.warning("could not read missed events from the store (%s); trying again shortly", exc)
            return False
        for stale in [s for s in pending if s <= self.delivered]:
            del pending[stale]
        self._flush(pending)
        return True
