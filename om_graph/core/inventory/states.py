"""The inventory's machines: TMF637 products, TMF651 agreements and their entitlements."""

from __future__ import annotations

from om_graph.core.inventory.models import Agreement, Entitlement, Product
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.machine import StateMachine, States, t
from om_graph.core.kernel.transitions import bind


class ProductStatuses(States):
    """TMF637 product inventory status (the full ``ProductStatusType``). TMF's ``aborted `` (a
    trailing space in the published schema) is stored without the space."""

    CREATED = "created"  # a placeholder: its add line is decomposed
    PENDING_ACTIVE = "pendingActive"  # its add line's work has started
    ACTIVE = "active"
    SUSPENDED = "suspended"
    PENDING_TERMINATE = "pendingTerminate"  # its delete line's work has started
    TERMINATED = "terminated"
    ABORTED = "aborted"  # its add line failed
    CANCELLED = "cancelled"  # its add line was cancelled before it was active


class AgreementStatuses(States):
    """TMF651 agreement status. A contract is written approved when its order completes (there is
    no negotiation), and terminated when the last of its products is."""

    APPROVED = "approved"
    TERMINATED = "terminated"


class EntitlementStatuses(States):
    ACTIVE = "active"
    REVOKED = "revoked"  # its product was terminated


P = ProductStatuses
A = AgreementStatuses
E = EntitlementStatuses

# TMF v2 RI edges, plus pendingActive → active and suspended → terminated (DOMAIN.md b.6).
# ``modify`` / ``modifySuspended`` (a completed modify line) keep the status. A delete line that
# fails (or is cancelled) returns its pendingTerminate product to the status it had
# (``abortTermination`` → active, ``abortTerminationSuspended`` → suspended).
PRODUCT = StateMachine(
    "product",
    ProductStatuses,
    initial=P.CREATED,
    terminal={P.ABORTED, P.TERMINATED, P.CANCELLED},
    transitions=[
        t(P.CREATED, "startActivation", P.PENDING_ACTIVE),
        t((P.CREATED, P.PENDING_ACTIVE), "activate", P.ACTIVE),
        t((P.CREATED, P.PENDING_ACTIVE), "abort", P.ABORTED),
        t((P.CREATED, P.PENDING_ACTIVE), "cancel", P.CANCELLED),
        t(P.ACTIVE, "modify", P.ACTIVE),
        t(P.SUSPENDED, "modifySuspended", P.SUSPENDED),
        t(P.ACTIVE, "suspend", P.SUSPENDED),
        t(P.SUSPENDED, "resume", P.ACTIVE),
        t((P.ACTIVE, P.SUSPENDED), "startTermination", P.PENDING_TERMINATE),
        t((P.ACTIVE, P.SUSPENDED, P.PENDING_TERMINATE), "terminate", P.TERMINATED),
        t(P.PENDING_TERMINATE, "abortTermination", P.ACTIVE),
        t(P.PENDING_TERMINATE, "abortTerminationSuspended", P.SUSPENDED),
    ],
)

# Per (line action, moment): the product event an order line fires when its work starts or when
# it completes (settlement.py). Modify lines fire ``modify`` on completion; delete ``terminate``.
PRODUCT_LINE_EVENTS: dict[tuple[str, str], str] = {
    ("add", "start"): "startActivation",
    ("delete", "start"): "startTermination",
    ("suspend", "complete"): "suspend",
    ("resume", "complete"): "resume",
}

# The product statuses each line action may change (DOMAIN.md row 22: change and disconnect only
# on active or suspended products, suspend only an active one, resume only a suspended one;
# nothing while the product is pending).
CHANGEABLE_BY_ACTION: dict[str, frozenset[str]] = {
    "modify": frozenset({P.ACTIVE, P.SUSPENDED}),
    "delete": frozenset({P.ACTIVE, P.SUSPENDED}),
    "suspend": frozenset({P.ACTIVE}),
    "resume": frozenset({P.SUSPENDED}),
}

AGREEMENT = StateMachine(
    "agreement",
    AgreementStatuses,
    initial=A.APPROVED,
    terminal={A.TERMINATED},
    transitions=[t(A.APPROVED, "terminate", A.TERMINATED)],
)

ENTITLEMENT = StateMachine(
    "entitlement",
    EntitlementStatuses,
    initial=E.ACTIVE,
    terminal={E.REVOKED},
    transitions=[t(E.ACTIVE, "revoke", E.REVOKED)],
)

# TMF637 and TMF651 call the state column status.
bind(Product, PRODUCT, kind="product", event_type=ev.PRODUCT_STATE_CHANGE, attribute="status")
bind(Agreement, AGREEMENT, kind="agreement", event_type=ev.AGREEMENT_STATE_CHANGE, attribute="status")
bind(Entitlement, ENTITLEMENT, kind="entitlement", event_type=ev.ENTITLEMENT_STATE_CHANGE, attribute="status")
