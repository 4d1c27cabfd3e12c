"""The actors. Messages carry ids only; all logic lives in core services.

Actors are declared per broker (not at import time on a global one), so the server, the worker
command and the tests each bind them to the broker they built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dramatiq

from om_graph.core.kernel.ports import ADVANCE_ORDER, PROCESS_ORDER, Job
from om_graph.core.services import Services
from om_graph.observability.jobs import send_options
from om_graph.worker.broker import ACTOR_OPTIONS

QUEUE = "orders"


@dataclass
class Actors:
    by_name: dict[str, dramatiq.Actor[[int], None]]


def declare_actors(broker: dramatiq.Broker, services: Callable[[], Services], *, time_limit_ms: int) -> Actors:
    def process_order(order_id: int) -> None:
        services().processing.process(order_id, then_advance=True)

    def advance_order(order_id: int) -> None:
        services().processing.advance(order_id)

    def declare(name: str, fn: Callable[[int], None]) -> dramatiq.Actor[[int], None]:
        return dramatiq.actor(actor_name=name, queue_name=QUEUE, broker=broker, time_limit=time_limit_ms, **ACTOR_OPTIONS)(fn)

    return Actors({PROCESS_ORDER: declare(PROCESS_ORDER, process_order), ADVANCE_ORDER: declare(ADVANCE_ORDER, advance_order)})


class DramatiqJobSink:
    """The core's JobSink: jobs become dramatiq messages (sent after commit by the unit of work).
    A message carries the request id of the request that caused it and, with ``trace_context``,
    the request's trace context (``observability.jobs``)."""

    def __init__(self, actors: Actors, *, trace_context: bool = False):
        self.actors = actors
        self.trace_context = trace_context

    def send(self, jobs: Sequence[Job]) -> None:
        options = send_options(trace_context=self.trace_context)
        for job in jobs:
            actor = self.actors.by_name[job.name]
            actor.send_with_options(kwargs=job.args, delay=job.delay_ms or None, **options)
