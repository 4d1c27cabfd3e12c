"""The objects packs register through the plugin hooks.

Each is a small frozen dataclass of a key plus callables, so a pack can build one from plain
functions. Keys are unique across all installed packs; the registry refuses duplicates at startup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from om_graph.core.catalog.definitions import DependencyType
from om_graph.core.catalog.error_codes import CatalogErrorCode


@dataclass(frozen=True)
class TaskContext:
    """What a task handler sees. ``idempotency_key`` is stable across retries of the same task:
    pass it to any external system so a repeated call is recognised and not applied twice."""

    task_id: int
    task_key: str
    idempotency_key: str
    attempt: int
    order_id: int
    customer_id: str
    line_id: int
    action: str
    spec_key: str
    domain_kind: str
    characteristics: Mapping[str, Any]
    """The domain order's characteristics (propagated from the line, plus outputs of earlier tasks)."""
    mode: str = "do"
    """``do`` (the task's work), ``undo`` (compensating a completed task: ``compensates`` is that
    task's idempotency key and ``outcome`` what it recorded) or ``redo`` (doing a completed task's
    work again with a revision's new values: ``outcome`` is what the first run recorded)."""
    compensates: str | None = None
    outcome: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class TaskOutcome:
    """What a handler returns: characteristics to record on the domain order (for example an
    assigned serial number), written in the same transaction that completes the task."""

    characteristics: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""


class FalloutTypes:
    """The fallout types the core knows (a pack's classification may name its own)."""

    PROVISIONING = "provisioning"
    INVENTORY_ALLOCATION = "inventoryAllocation"
    BILLING = "billing"
    MANUAL_CLOSE = "manualClose"  # a domain order closed by hand (domainOrderClose)


@dataclass(frozen=True)
class FalloutClassification:
    """Where a failure goes once its task's retry policy is spent: the fallout record's type,
    priority (1 highest .. 5) and owner. ``assignment_group`` None: the fallout agents' group
    (``order_fallout_agent``)."""

    fallout_type: str = FalloutTypes.PROVISIONING
    priority: int = 3
    assignment_group: str | None = None
    assignee: str | None = None


class TaskHandlerError(Exception):
    """Raised by a handler for a failure it understands; ``retryable`` asks for another attempt
    (see :class:`RetryPolicy` for error codes retried or never retried whatever the flag says).
    ``response`` is what the southbound system answered (kept on the fallout record);
    ``fallout`` classifies the failure directly (else the ``om_classify_fallout`` hook, then the
    handler's retry policy, decide)."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "HANDLER_FAILED",
        retryable: bool = False,
        response: Mapping[str, Any] | None = None,
        fallout: FalloutClassification | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.response = response
        self.fallout = fallout


@dataclass(frozen=True)
class FalloutFailure:
    """What ``om_classify_fallout`` sees: an automatic task's failure that its retry policy will
    not retry. Classifiers run in the handler phase, with no transaction open."""

    task_key: str
    handler: str | None
    spec_key: str
    domain_kind: str
    order_id: int
    line_id: int
    attempt: int
    code: str
    message: str
    response: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How a handler's failures are retried before they become fallout.

    ``TaskHandler.max_attempts`` caps the attempts. A failure is retried when its code is in
    ``retry_on`` (transient), never when it is in ``permanent``, else when the error says
    ``retryable``. The n-th retry waits ``backoff_ms * multiplier ** (n - 1)`` milliseconds, at
    most ``max_backoff_ms`` (``backoff_ms`` None: the host's ``retry_backoff_ms``). A failure not
    retried opens a fallout record of ``fallout_type`` at ``priority`` unless the error or the
    ``om_classify_fallout`` hook classifies it (``fallout`` False: the task fails at once, as
    before fallout existed)."""

    backoff_ms: int | None = None
    multiplier: float = 2.0
    max_backoff_ms: int = 300_000
    retry_on: tuple[str, ...] = ()
    permanent: tuple[str, ...] = ()
    fallout: bool = True
    fallout_type: str | None = None  # None: from the error code (INVENTORY/ALLOCATION, BILLING, else provisioning)
    priority: int = 3

    def retries(self, code: str, retryable: bool) -> bool:
        if code in self.permanent:
            return False
        return code in self.retry_on or retryable

    def delay_ms(self, retry: int, default_backoff_ms: int) -> int:
        """The wait before retry number ``retry`` (1 for the first)."""
        base = default_backoff_ms if self.backoff_ms is None else self.backoff_ms
        return int(min(self.max_backoff_ms, base * self.multiplier ** max(0, retry - 1)))


@dataclass(frozen=True)
class TaskHandler:
    """Performs an automatic task. ``do`` applies the effect; ``undo`` reverses a completed one
    (cancellation and revision compensate with it, in reverse dependency order); ``redo`` applies a
    completed task's effect again with a revision's new values (None: ``do`` is called in redo
    mode). Each must be idempotent for its context's ``idempotency_key`` (docs/plugins.md, "The
    handler contract"). A handler with an effect and no ``undo`` cannot be compensated: work it
    completed holds a cancellation or revision of its line (``NOT_COMPENSABLE``)."""

    key: str
    do: Callable[[TaskContext], TaskOutcome | None]
    undo: Callable[[TaskContext], TaskOutcome | None] | None = None
    redo: Callable[[TaskContext], TaskOutcome | None] | None = None
    max_attempts: int = 3
    description: str = ""
    retry: RetryPolicy = RetryPolicy()


@dataclass(frozen=True)
class DecompositionRule:
    """Decides whether a specification relationship ``source -> target`` is decomposed for a line.

    ``include`` receives the line's characteristics and returns True to create the target domain
    orders, False to exclude them. Rules for the same relationship must all include it.
    """

    key: str
    source_spec: str
    target_spec: str
    include: Callable[[Mapping[str, Any]], bool]
    description: str = ""


DependencyScope = Literal["unit", "line", "order"]


@dataclass(frozen=True)
class TaskDependencyRule:
    """A typed dependency a pack declares between tasks of two specifications, which their task
    templates cannot say (a template names templates of its own specification only).

    Each task of template ``task`` (of specification ``task_spec``) depends on each task of
    template ``on`` (of ``on_spec``) planned in the same ``scope``: ``unit`` (one unit of a line's
    quantity: the tasks decomposed from it), ``line`` (every unit of the line) or ``order`` (any
    line of the order). ``type`` and ``lag`` as :class:`TaskDependencyDef`. ``applies`` (optional)
    receives the dependent task's line characteristics and returns False to skip the rule for that
    line. A rule whose edges would close a cycle in an order's plan rejects that order
    (``processingFailed``, naming the rule), like a raising decomposition rule.
    """

    key: str
    task_spec: str
    task: str
    on_spec: str
    on: str
    type: DependencyType = "finishToStart"
    lag: timedelta = timedelta(0)
    scope: DependencyScope = "unit"
    applies: Callable[[Mapping[str, Any]], bool] | None = None
    description: str = ""


@dataclass(frozen=True)
class LineView:
    """A read-only view of an order line given to enrichment steps and validators."""

    line_id: int | None
    line_number: int
    action: str
    offering_key: str
    spec_key: str
    quantity: int
    characteristics: Mapping[str, Any]
    customer_id: str
    product_id: int | None = None


@dataclass(frozen=True)
class EnrichmentPending:
    """What an enrichment step returns when it cannot complete yet (a characteristic it needs is
    missing, an outside system has not answered): the order waits in enrichment with this reason
    instead of being rejected, and runs the steps again when it is resumed."""

    reason: str
    characteristic: str | None = None


@dataclass(frozen=True)
class EnrichmentStep:
    """Adds data to a submitted line before decomposition. ``enrich`` returns characteristic
    values to set (only names the line does not already carry are written), or
    :class:`EnrichmentPending`. Steps run in ascending ``order``; ``spec_keys`` limits a step to
    lines of those product specifications. Steps run with no transaction open."""

    key: str
    enrich: Callable[[LineView], Mapping[str, Any] | EnrichmentPending]
    order: int = 100
    spec_keys: tuple[str, ...] | None = None
    description: str = ""

    def applies_to(self, line: LineView) -> bool:
        return self.spec_keys is None or line.spec_key in self.spec_keys


@dataclass(frozen=True)
class LineIssue:
    """A problem a business validator found on a line. ``field`` is a path such as
    ``lines.0.characteristics.bandwidth``."""

    field: str
    message: str
    code: str = CatalogErrorCode.BUSINESS_RULE


@dataclass(frozen=True)
class BusinessValidator:
    """Checks a line at submission (after basic validation). Any issue rejects the whole order."""

    key: str
    validate: Callable[[LineView], list[LineIssue]]
    spec_keys: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class TaskTiming:
    """What a jeopardy policy sees of a task. Policies are asked when the task is planned (at
    decomposition, for its SLA) and the reconciler asks the same question again for the
    thresholds, so a policy's answer must depend on this timing only."""

    task_key: str
    kind: str
    spec_key: str
    started_at: datetime | None
    """None: the task is planned before it starts (kept so packs written for it still load)."""


@dataclass(frozen=True)
class JeopardyPolicy:
    """Gives a task its planned duration (its SLA). The first policy that answers for a task wins;
    policies are consulted in descending ``priority``. A policy that raises or answers something
    other than a ``timedelta`` (or None) is a pack failure: the order being decomposed is
    rejected (``processingFailed``), as for a raising decomposition rule. Jeopardy levels are set when the elapsed
    share of the SLA crosses ``thresholds`` (LOW, MEDIUM, HIGH, CRITICAL at 50/75/100/150 % by default)."""

    key: str
    planned_duration: Callable[[TaskTiming], timedelta | None]
    priority: int = 0
    thresholds: tuple[float, float, float, float] = (0.5, 0.75, 1.0, 1.5)
    description: str = ""
