"""The simulated southbound side of the pack: deterministic identifiers and simulated systems.

Identifiers are derived from a stable key (a task's idempotency key, or a natural key such as a
tenant domain), never random, so a retried task yields the same value.

The simulated systems (tenant platform, licensing, warehouse, billing) record each operation under
its idempotency key: ``allocate`` with a key already seen returns the first record (a retry is
recognised); ``release`` removes it and is a no-op when repeated; ``reverse(undo key, compensated
key)`` is what each handler's ``undo`` calls (``om_graph.api.released_outcome``): the compensated
task's record released once per undo key, and work already gone is a success. In memory, per
process; real deployments put adapters with the same contract in their place.
"""

from __future__ import annotations

from om_graph.api import SimulatedSystem
from om_graph.api import as_int as as_int
from om_graph.api import digits as digits
from om_graph.api import slug as slug
from om_graph.api import token as token

TENANT_PLATFORM = SimulatedSystem("tpsm-tenant-platform")
LICENSING = SimulatedSystem("tpsm-licensing")
WAREHOUSE = SimulatedSystem("tpsm-warehouse")
BILLING = SimulatedSystem("tpsm-billing")
ALL_SYSTEMS = (TENANT_PLATFORM, LICENSING, WAREHOUSE, BILLING)
