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

# TMF v2 RI edges, plus pendingActive → active and suspended → terminated (DOMAIN.md b.6);
# pendingTerminate never returns to active. ``modify`` (a completed modify line) keeps the status.
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
        t(P.ACTIVE, "suspend", P.SUSPENDED),
        t(P.SUSPENDED, "resume", P.ACTIVE),
        t((P.ACTIVE, P.SUSPENDED), "startTermination", P.PENDING_TERMINATE),
        t((P.ACTIVE, P.SUSPENDED, P.PENDING_TERMINATE), "terminate", P.TERMINATED),
    ],
)

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
