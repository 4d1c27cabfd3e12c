"""What the core needs from the outside, provided by the worker and API layers."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from om_graph.core.kernel.events import OrderEvent

PROCESS_ORDER = "orders.process"
ADVANCE_ORDER = "orders.advance"


@dataclass(frozen=True)
class Job:
    """A unit of background work, by name and primitive arguments only."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    delay_ms: int = 0


class JobSink(Protocol):
    def send(self, jobs: Sequence[Job]) -> None: ...


class EventSink(Protocol):
    def publish(self, events: Sequence[OrderEvent]) -> None: ...


class NullJobSink:
    """Drops jobs: for tools that run no workers (reads; the import, whose submitted orders the
    server's reconciler dispatches) and tests that drive work by hand."""

    def send(self, jobs: Sequence[Job]) -> None:
        return None


class RecordingJobSink:
    """Keeps jobs for the caller to run synchronously (tools, tests, benchmarks' seeding)."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self._lock = threading.Lock()

    def send(self, jobs: Sequence[Job]) -> None:
        with self._lock:
            self.jobs.extend(jobs)

    def take(self) -> list[Job]:
        with self._lock:
            jobs, self.jobs = self.jobs, []
        return jobs


class NullEventSink:
    def publish(self, events: Sequence[OrderEvent]) -> None:
        return None
