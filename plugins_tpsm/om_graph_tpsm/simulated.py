"""Simulated provider systems (tenant platform, licensing, warehouse, billing).

``allocate`` with an idempotency key already seen returns the first record (a retry is
recognised); ``release`` removes it and is a no-op when repeated. In memory, per process; real
deployments put adapters with the same contract in their place.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)


class SimulatedSystem:
    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = {}

    def allocate(self, idempotency_key: str, record: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            existing = self._records.get(idempotency_key)
            if existing is not None:
                return dict(existing)
            self._records[idempotency_key] = dict(record)
        log.info("%s: recorded %s for %s", self.name, dict(record), idempotency_key)
        return dict(record)

    def release(self, idempotency_key: str) -> bool:
        with self._lock:
            removed = self._records.pop(idempotency_key, None)
        if removed is not None:
            log.info("%s: released %s for %s", self.name, removed, idempotency_key)
        return removed is not None

    def get(self, idempotency_key: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._records.get(idempotency_key)
            return dict(found) if found is not None else None

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


TENANT_PLATFORM = SimulatedSystem("tpsm-tenant-platform")
LICENSING = SimulatedSystem("tpsm-licensing")
WAREHOUSE = SimulatedSystem("tpsm-warehouse")
BILLING = SimulatedSystem("tpsm-billing")
ALL_SYSTEMS = (TENANT_PLATFORM, LICENSING, WAREHOUSE, BILLING)
