"""Test support for pack authors: a pytest plugin (:mod:`om_graph.testing.plugin`, loaded through
the ``pytest11`` entry point) and plain helpers to build the objects a pack's code receives.

The helpers need no running om-graph: ``task_context`` and ``line_view`` build what a handler,
an enrichment step or a validator is called with, ``registry_for`` collects a pack's
contributions the way startup does (the core defaults plus the given plugins, settings checked).

Compensation (docs/plugins.md, "The handler contract"): ``undo_context`` and ``redo_context``
build the context the core gives an undo or redo of a completed task (its own idempotency key,
``compensates`` the original's key, ``outcome`` what the original recorded), and
``check_compensation`` runs a handler's do, then its undo twice with one key, then once more as
a late duplicate, asserting that the southbound state is back to what it was before do;
``check_redo`` runs a redo with a revision's new values twice (one key) and undoes it.
``HandlerCall`` is what the ``om_handler_calls`` fixture records for every handler call of a
running om-graph.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from om_graph.api import LineView, TaskContext, TaskHandler, TaskOutcome
from om_graph.core.catalog.registry import Registry
from om_graph.plugins.manager import build_plugin_manager, collect_registry


def task_context(
    task_key: str,
    spec_key: str,
    *,
    idempotency_key: str = "idem-1",
    action: str = "add",
    attempt: int = 1,
    order_id: int = 20,
    customer_id: str = "cust-7",
    line_id: int = 3,
    domain_kind: str = "service",
    **characteristics: Any,
) -> TaskContext:
    """What a task handler is called with, for a domain order carrying ``characteristics``."""
    return TaskContext(
        task_id=1,
        task_key=task_key,
        idempotency_key=idempotency_key,
        attempt=attempt,
        order_id=order_id,
        customer_id=customer_id,
        line_id=line_id,
        action=action,
        spec_key=spec_key,
        domain_kind=domain_kind,
        characteristics=characteristics,
    )


def line_view(
    offering_key: str,
    spec_key: str,
    quantity: int = 1,
    action: str = "add",
    *,
    customer_id: str = "cust-7",
    **characteristics: Any,
) -> LineView:
    """What an enrichment step or business validator is called with."""
    return LineView(None, 1, action, offering_key, spec_key, quantity, characteristics, customer_id)


def registry_for(*plugins: object, environ: Mapping[str, str] | None = None) -> Registry:
    """The registry startup would build with only the core defaults and ``plugins`` installed."""
    return collect_registry(build_plugin_manager(load_entrypoints=False, extra_plugins=plugins, environ=environ))


def recorded(outcome: TaskOutcome | None) -> dict[str, Any]:
    """``outcome`` as the core stores it on the task (``Task.outcome``) and hands it to an undo or
    redo in ``TaskContext.outcome``: ``{"characteristics": {...}, "message": ...}``."""
    outcome = outcome or TaskOutcome()
    return {"characteristics": dict(outcome.characteristics), "message": outcome.message}


def _after(ctx: TaskContext, outcome: TaskOutcome | None) -> dict[str, Any]:
    """The domain order's characteristics once ``outcome`` was merged into them."""
    return {**ctx.characteristics, **(outcome.characteristics if outcome else {})}


def undo_context(
    ctx: TaskContext, outcome: TaskOutcome | None, *, idempotency_key: str | None = None, attempt: int = 1
) -> TaskContext:
    """What the core calls ``undo`` with to compensate the task ``ctx`` ran, which returned
    ``outcome``: mode ``undo``, the undo task's own ``idempotency_key`` (default: derived from the
    original's), ``compensates`` the original's key, ``outcome`` its recorded outcome, and the
    domain order's characteristics with that outcome merged in."""
    return replace(
        ctx,
        idempotency_key=idempotency_key or f"undo:{ctx.idempotency_key}",
        attempt=attempt,
        characteristics=_after(ctx, outcome),
        mode="undo",
        compensates=ctx.idempotency_key,
        outcome=recorded(outcome),
    )


def redo_context(
    ctx: TaskContext,
    outcome: TaskOutcome | None,
    *,
    idempotency_key: str | None = None,
    attempt: int = 1,
    **new_characteristics: Any,
) -> TaskContext:
    """What the core calls ``redo`` (or ``do``, when the handler has no redo) with when a revision
    repeats the completed task ``ctx`` ran with new values: mode ``redo``, its own key, the
    first run's recorded ``outcome``, the domain order's characteristics with the revision's
    ``new_characteristics`` applied."""
    return replace(
        ctx,
        idempotency_key=idempotency_key or f"redo:{ctx.idempotency_key}",
        attempt=attempt,
        characteristics={**_after(ctx, outcome), **new_characteristics},
        mode="redo",
        compensates=ctx.idempotency_key,
        outcome=recorded(outcome),
    )


class HasSnapshot(Protocol):
    def snapshot(self) -> Any: ...


@dataclass(frozen=True)
class CompensationCheck:
    """What :func:`check_compensation` ran: do's outcome, the undo's context and each undo's answer."""

    outcome: TaskOutcome | None
    undo_context: TaskContext
    undo_outcomes: tuple[TaskOutcome | None, ...]


def check_compensation(
    handler: TaskHandler,
    ctx: TaskContext,
    *,
    systems: Sequence[HasSnapshot] = (),
    state: Callable[[], Any] | None = None,
    undo_key: str | None = None,
) -> CompensationCheck:
    """Run ``handler.do(ctx)``, then its undo as the core would (:func:`undo_context`) twice with
    one undo key (a retried undo), then once more with another key (a late duplicate: the work
    is gone, which must be a success too); raise AssertionError unless the southbound state
    (each of ``systems``' ``snapshot()``, and ``state()`` if given) is back to what it was before do.
    """
    if handler.undo is None:
        raise AssertionError(f"handler {handler.key!r} has no undo: work it completes cannot be compensated")

    def observe() -> list[Any]:
        return [system.snapshot() for system in systems] + ([state()] if state is not None else [])

    before = observe()
    outcome = handler.do(ctx)
    if (systems or state is not None) and observe() == before:
        raise AssertionError(f"handler {handler.key!r}: do changed nothing in {list(systems)!r}: is its work an effect?")
    undo = undo_context(ctx, outcome, idempotency_key=undo_key)
    answers = (
        handler.undo(undo),
        handler.undo(replace(undo, attempt=2)),
        handler.undo(replace(undo, idempotency_key=f"late:{undo.idempotency_key}")),
    )
    for answer in answers:
        if answer is not None and not isinstance(answer, TaskOutcome):
            raise AssertionError(f"handler {handler.key!r}: undo returned {answer!r} (None or a TaskOutcome)")
    after = observe()
    if after != before:
        raise AssertionError(f"handler {handler.key!r}: after do and undo the southbound state differs:\n{before!r}\n{after!r}")
    return CompensationCheck(outcome, undo, answers)


@dataclass(frozen=True)
class RedoCheck:
    """What :func:`check_redo` ran: the first do's outcome, the redo's context and its outcome."""

    outcome: TaskOutcome | None
    redo_context: TaskContext
    redo_outcome: TaskOutcome | None


def check_redo(
    handler: TaskHandler,
    ctx: TaskContext,
    *,
    systems: Sequence[HasSnapshot] = (),
    state: Callable[[], Any] | None = None,
    redo_key: str | None = None,
    **new_characteristics: Any,
) -> RedoCheck:
    """Run ``handler.do(ctx)``, then its redo as a revision would (:func:`redo_context` with
    ``new_characteristics``; ``handler.redo`` or, when None, ``do`` in redo mode) twice with one
    redo key, asserting both answers are equal (a retried redo), then the undo of the redo (a later
    cancellation compensates the redo task), asserting the southbound state is back to what it was
    after the first do: the redo's work is its own, released by its own undo."""

    def observe() -> list[Any]:
        return [system.snapshot() for system in systems] + ([state()] if state is not None else [])

    outcome = handler.do(ctx)
    after_do = observe()
    redo = redo_context(ctx, outcome, idempotency_key=redo_key, **new_characteristics)
    run = handler.redo or handler.do
    first, again = run(redo), run(replace(redo, attempt=2))
    if first != again:
        raise AssertionError(f"handler {handler.key!r}: a retried redo answered differently:\n{first!r}\n{again!r}")
    if handler.undo is not None:
        handler.undo(undo_context(redo, first))
        if observe() != after_do:
            raise AssertionError(f"handler {handler.key!r}: undoing the redo did not restore the state after do")
    return RedoCheck(outcome, redo, first)


@dataclass(frozen=True)
class HandlerCall:
    """One call of a pack's handler in a running om-graph (the ``om_handler_calls`` fixture)."""

    handler: str
    mode: str
    task_key: str
    idempotency_key: str
    compensates: str | None
    order_id: int
    line_id: int
    attempt: int

    @classmethod
    def of(cls, handler: str, ctx: TaskContext) -> HandlerCall:
        return cls(handler, ctx.mode, ctx.task_key, ctx.idempotency_key, ctx.compensates, ctx.order_id, ctx.line_id, ctx.attempt)


@dataclass(frozen=True)
class Cancellation:
    """What the ``om_cancel_order`` fixture did: the ``orderCancel`` payload's cancel request
    (``id state result resultMessage``), errors and order state, and the handler calls the
    cancellation made once drained (its undo calls, in the order the core made them)."""

    request: Mapping[str, Any] | None
    errors: list[Mapping[str, Any]]
    order_state: str | None
    calls: list[HandlerCall]

    @property
    def undo_calls(self) -> list[HandlerCall]:
        return [call for call in self.calls if call.mode == "undo"]

    @property
    def undone(self) -> list[str]:
        """The task keys undone, in order."""
        return [call.task_key for call in self.undo_calls]


__all__ = [
    "Cancellation",
    "CompensationCheck",
    "HandlerCall",
    "RedoCheck",
    "Registry",
    "check_compensation",
    "check_redo",
    "line_view",
    "recorded",
    "redo_context",
    "registry_for",
    "task_context",
    "undo_context",
]
