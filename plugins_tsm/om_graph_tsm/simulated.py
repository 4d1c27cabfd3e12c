"""A simulated southbound system: records what handlers allocate so ``undo`` can release it.

Real deployments replace these with adapters to OSS inventory, the OLT element manager, the HLR,
the logistics provider... The ledger keeps the contract those adapters must honour: ``allocate``
with an idempotency key already seen returns the first record unchanged (a retry is recognised),
``release`` of an unknown or already released key is a no-op. Per process, in memory.
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
        self._active: dict[str, dict[str, Any]] = {}
        self._released: set[str] = set()

    def allocate(self, idempotency_key: str, record: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            existing = self._active.get(idempotency_key)
            if existing is not None:
                return dict(existing)
            self._active[idempotency_key] = dict(record)
            self._released.discard(idempotency_key)
        log.info("%s: allocated %s for %s", self.name, dict(record), idempotency_key)
        return dict(record)

    def release(self, idempotency_key: str) -> bool:
        """Release what ``allocate`` recorded; True if something was released now."""
        with self._lock:
            record = self._active.pop(idempotency_key, None)
            if record is None:
                return False
            self._released.add(idempotency_key)
        log.info("%s: released %s for %s", self.name, record, idempotency_key)
        return True

    def get(self, idempotency_key: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._active.get(idempotency_key)
            return dict(record) if record is not None else None

    def was_released(self, idempotency_key: str) -> bool:
        with self._lock:
            return idempotency_key in self._released

    def active_count(self) -> int:
        with self._lock:
            return len(self._active)

    def clear(self) -> None:
        with self._lock:
            self._active.clear()
            self._released.clear()


NETWORK_INVENTORY = SimulatedSystem("tsm-network-inventory")
"""Access lines, OLT ports, ONTs, static IPs, WAN links, MSISDNs, SIMs."""

ELEMENT_MANAGER = SimulatedSystem("tsm-element-manager")
"""Configuration pushed to network elements (ONT, router ACS, SD-WAN orchestrator, HLR/HSS)."""

LOGISTICS = SimulatedSystem("tsm-logistics")
"""Shipments of CPE to customers and returns."""

BILLING = SimulatedSystem("tsm-billing")

ALL_SYSTEMS = (NETWORK_INVENTORY, ELEMENT_MANAGER, LOGISTICS, BILLING)
