"""Building blocks for packs that simulate their southbound systems (demos, tests, first drafts).

Identifiers are derived from a stable key (a task's idempotency key plus a purpose label), never
drawn at random, so a retried task yields the same value and two tasks yield different ones.

A :class:`SimulatedSystem` records each operation under its idempotency key: ``allocate`` with a
key already seen returns the first record unchanged (a retry is recognised); ``release`` of an
unknown or already released key is a no-op. In memory, per process. Real deployments replace it
with an adapter keeping the same contract.

:func:`simulated_handler` is a task handler whose ``undo`` releases what ``do`` recorded.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from om_graph.core.catalog.extensions import TaskContext, TaskHandler, TaskHandlerError, TaskOutcome

_BASE32 = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: readable on labels and phone calls
log = logging.getLogger(__name__)


def digest(key: str, purpose: str) -> bytes:
    if not key:
        raise ValueError("a key is required to derive an identifier")
    return hashlib.sha256(f"{purpose}\x1f{key}".encode()).digest()


def as_int(key: str, purpose: str) -> int:
    return int.from_bytes(digest(key, purpose), "big")


def token(key: str, purpose: str, length: int = 8) -> str:
    """An upper-case readable token of ``length`` characters."""
    n = as_int(key, purpose)
    chars = []
    for _ in range(length):
        n, rem = divmod(n, len(_BASE32))
        chars.append(_BASE32[rem])
    return "".join(chars)


def digits(key: str, purpose: str, count: int) -> str:
    """``count`` decimal digits (leading zeros kept)."""
    return str(as_int(key, purpose) % 10**count).zfill(count)


def slug(text: str, max_length: int = 40) -> str:
    """Lower-case DNS-label-safe slug: 'ACME Corp. (NL)' -> 'acme-corp-nl'."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_length].strip("-")


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


def require(ctx: TaskContext, name: str, *, retryable: bool = False) -> Any:
    """The characteristic ``name`` of the domain order, or a handler error naming it."""
    value = ctx.characteristics.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise TaskHandlerError(
            f"{ctx.spec_key}: characteristic {name!r} is missing for task {ctx.task_key}",
            code="MISSING_CHARACTERISTIC",
            retryable=retryable,
        )
    return value


def keep_or(ctx: TaskContext, name: str, make: Callable[[], Any]) -> Any:
    """The value the domain order already has for ``name`` (modify), or a newly derived one."""
    existing = ctx.characteristics.get(name)
    return existing if existing not in (None, "") else make()


def recorded_outcome(
    system: SimulatedSystem, ctx: TaskContext, outputs: Mapping[str, Any], message: str, **extra: Any
) -> TaskOutcome:
    """Record the operation in ``system`` under the idempotency key (a retry gets the first record
    back) and return the recorded ``outputs`` as the task's outcome."""
    recorded = system.allocate(
        ctx.idempotency_key, {"task": ctx.task_key, "action": ctx.action, "orderId": ctx.order_id, **extra, **outputs}
    )
    return TaskOutcome(characteristics={k: recorded[k] for k in outputs}, message=message)


def release_in(system: SimulatedSystem) -> Callable[[TaskContext], None]:
    """An ``undo`` that releases what ``do`` recorded in ``system`` for the same idempotency key."""

    def undo(ctx: TaskContext) -> None:
        system.release(ctx.idempotency_key)

    undo.__name__ = f"release_in_{system.name.replace('-', '_')}"
    return undo


def simulated_handler(
    key: str, do: Callable[[TaskContext], TaskOutcome | None], system: SimulatedSystem, description: str = "", **options: Any
) -> TaskHandler:
    """A handler whose ``undo`` releases what ``do`` recorded in ``system``."""
    return TaskHandler(key=key, do=do, undo=release_in(system), description=description, **options)
