"""The executor strawberry runs operations with, made safe for long-lived subscriptions.

graphql-core 3.3 executes each subscription event with a shallow copy of the subscription's
executor (``build_per_event_executor``), so every event shares the operation's subfield memo
(``Executor._relevant_sub_fields``). The memo is keyed by the identity of a field list that
is built anew for every event and is kept alive with its entry: each event delivered left
~1.3 KB behind for as long as the subscription stayed open. Here each event gets a memo of its
own, which serves the event's lists and goes away with the event. Plain leaf fields are
completed inline by ``PlainLeafFields`` (``schema/plain_fields.py``).
"""

from __future__ import annotations

from typing import Any

from graphql.pyutils import RefMap

from om_graph.schema.plain_fields import PlainLeafFields


class PerEventMemoExecutionContext(PlainLeafFields):
    def build_per_event_executor(self, payload: Any):
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor._stream_usages = RefMap()
        return executor
