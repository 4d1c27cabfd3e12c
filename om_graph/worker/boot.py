"""Entry module for ``dramatiq om_graph.worker.boot`` (what ``om-graph worker`` runs).

Each worker process builds its Runtime from the environment, makes the runtime's broker the
global one (so dramatiq's CLI consumes it), and runs a reconciler thread and the event hub's
runner (TMF622 deliveries; core/notification/hub.py).
"""

from __future__ import annotations

import dramatiq

from om_graph.observability.logs import configure_logging
from om_graph.runtime import Runtime, tune_gc
from om_graph.settings import Settings

settings = Settings.from_env()
configure_logging(settings.log_format, settings.log_level)

# The catalog rows are written by servers at start; workers read the packs' catalog from the
# registry, so several worker processes starting together never race to write it.
runtime = Runtime(settings, service_name="om-graph-worker")
dramatiq.set_broker(runtime.broker)
# Workers publish events to Redis; only servers relay the channel to subscribers, so the bus's
# relay is not started here.
runtime.start_reconciler()
runtime.start_hub()
broker = runtime.broker
tune_gc(settings)  # start-up done: the actors are declared on the broker dramatiq will consume
