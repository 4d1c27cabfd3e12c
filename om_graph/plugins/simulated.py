"""Building blocks for packs that simulate their southbound systems (demos, tests, first drafts).

Identifiers are derived from a stable key (a task's idempotency key plus a purpose label), never
drawn at random, so a retried task yields the same value and two tasks yield different ones.

A :class:`SimulatedSystem` records each operation under its idempotency key: ``allocate`` with a
key already seen returns the first record unchanged (a retry is recognised); ``release`` of an
unknown or already released key is a no-op; ``reverse`` is the undo side: it releases the
original operation's record (``TaskContext.compensates``) once per undo key. In memory, per
process. Real deployments replace it with an adapter keeping the same contract.

:func:`simulated_handler` is a task handler whose ``undo`` releases what ``do`` recorded;
:func:`released_outcome` and :func:`original` help write an undo of one's own (docs/plugins.md,
"The handler contract").
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
        self._reversals: dict[str, str] = {}  # undo key -> the original operation's key

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

    def reverse(self, undo_key: str, original_key: str) -> bool:
        """The undo of the operation recorded under ``original_key``, itself keyed ``undo_key``:
        True if the record was released now. Repeating it (same undo key), reversing an operation
        already released, or one this system never had is a no-op answering False: the work is
        gone either way, so the undo succeeded."""
        with self._lock:
            if undo_key in self._reversals:
                return False
            self._reversals[undo_key] = original_key
        return self.release(original_key)

    def reversed_by(self, undo_key: str) -> str | None:
        """The original key the undo ``undo_key`` reversed (None: no such undo ran)."""
        with self._lock:
            return self._reversals.get(undo_key)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """The live records by key (what a compensation test compares before do and after undo)."""
        with self._lock:
            return {key: dict(record) for key, record in self._active.items()}

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
            self._reversals.clear()


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
    """The value the domain order already has for ``name`` (modify), else the one the original run
    recorded (a redo: ``ctx.outcome``, the same serial or address again), else a newly derived one."""
    existing = ctx.characteristics.get(name)
    if existing in (None, "") and ctx.outcome:
        existing = (ctx.outcome.get("characteristics") or {}).get(name)
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


def original(ctx: TaskContext, name: str, default: Any = None) -> Any:
    """In an undo or redo: the characteristic ``name`` as the original run recorded it
    (``ctx.outcome``), else as the domain order has it now, else ``default``."""
    recorded = (ctx.outcome or {}).get("characteristics") or {}
    if recorded.get(name) not in (None, ""):
        return recorded[name]
    value = ctx.characteristics.get(name)
    return default if value in (None, "") else value


def released_outcome(system: SimulatedSystem, ctx: TaskContext, message: str) -> TaskOutcome:
    """Undo in ``system`` the operation of the task ``ctx`` compensates (``ctx.compensates``;
    outside a compensation, the key of ``ctx`` itself), once per undo key, and say so. An
    operation the system no longer has is a success: the message notes there was nothing to do."""
    original_key = ctx.compensates or ctx.idempotency_key
    if system.reverse(ctx.idempotency_key, original_key):
        return TaskOutcome(message=message)
    return TaskOutcome(message=f"{message} (nothing left to release in {system.name})")


def release_in(system: SimulatedSystem) -> Callable[[TaskContext], TaskOutcome]:
    """An ``undo`` that releases what ``do`` recorded in ``system`` (the compensated task's key)."""

    def undo(ctx: TaskContext) -> TaskOutcome:
        return released_outcome(system, ctx, f"{ctx.task_key} undone in {system.name}")

    undo.__name__ = f"release_in_{system.name.replace('-', '_')}"
    return undo


def simulated_handler(
    key: str,
    do: Callable[[TaskContext], TaskOutcome | None],
    system: SimulatedSystem,
    description: str = "",
    *,
    undo: Callable[[TaskContext], TaskOutcome | None] | None = None,
    **options: Any,
) -> TaskHandler:
    """A handler whose ``undo`` (default :func:`release_in`) releases what ``do`` recorded in ``system``."""
    return TaskHandler(key=key, do=do, undo=undo or release_in(system), description=description, **options)
