"""The simulated southbound side of the pack: deterministic identifiers and simulated systems.

Identifiers are derived from a stable key (a task's idempotency key, or a natural key such as a
tenant domain), never random, so a retried task yields the same value.

The simulated systems (tenant platform, licensing, warehouse, billing) record each operation under
its idempotency key: ``allocate`` with a key already seen returns the first record (a retry is
recognised); ``release`` removes it and is a no-op when repeated. In memory, per process; real
deployments put adapters with the same contract in their place.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from collections.abc import Mapping
from typing import Any

_BASE32 = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def as_int(key: str, purpose: str) -> int:
    if not key:
        raise ValueError("a key is required to derive an identifier")
    return int.from_bytes(hashlib.sha256(f"{purpose}\x1f{key}".encode()).digest(), "big")


def token(key: str, purpose: str, length: int = 8) -> str:
    n = as_int(key, purpose)
    out = []
    for _ in range(length):
        n, rem = divmod(n, len(_BASE32))
        out.append(_BASE32[rem])
    return "".join(out)


def digits(key: str, purpose: str, count: int) -> str:
    return str(as_int(key, purpose) % 10**count).zfill(count)


def slug(text: str, max_length: int = 40) -> str:
    """Lower-case DNS-label-safe slug: 'ACME Corp. (NL)' -> 'acme-corp-nl'."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_length].strip("-")


# --- simulated systems ------------------------------------------------------------------------

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
