"""Process-wide Prometheus metrics (prometheus-client's default registry).

The core counts what only it can see (jobs it hands to the broker, sends that failed after a
commit, reconciler re-enqueues); the HTTP layer, the workers and ``/metrics`` add and expose
the rest. Counters are cumulative per process, as Prometheus expects.
"""

from __future__ import annotations

from prometheus_client import Counter

JOBS_ENQUEUED = Counter("om_graph_jobs_enqueued_total", "Background jobs handed to the broker after a commit", ["job"])
JOB_SEND_FAILURES = Counter(
    "om_graph_job_send_failures_total",
    "Jobs whose send failed after their transaction committed (the reconciler delivers them later)",
    ["job"],
)
EVENT_PUBLISH_FAILURES = Counter(
    "om_graph_event_publish_failures_total",
    "Committed events that could not be announced live (subscribers catch up from the store)",
)
RECONCILER_REQUEUED = Counter(
    "om_graph_reconciler_requeued_total", "Work the reconciler re-enqueued because no message was in flight", ["kind"]
)
