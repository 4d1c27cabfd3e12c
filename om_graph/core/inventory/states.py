"""The inventory's machines: TMF637 products, TMF651 agreements and their entitlements."""

from __future__ import annotations

from om_graph.core.inventory.models import Agreement, Entitlement, Product
from om_graph.core.kernel import events as ev
from om_graph.core.kernel.machine import StateMachine, States, t
from om_graph.core.kernel.transitions import bind


class ProductStatuses(States):
    """TMF637 product inventory status. TMF's ``aborted `` (trailing space in the published schema)
    is stored without the space; ``cancelled`` arrives with order cancellation."""

    CREATED = "created"
    ACTIVE = "active"
    ABORTED = "aborted"
    TERMINATED = "terminated"


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

PRODUCT = StateMachine(
    "product",
    ProductStatuses,
    initial=P.CREATED,
    terminal={P.ABORTED, P.TERMINATED},
    transitions=[
        t(P.CREATED, "activate", P.ACTIVE),
        t(P.CREATED, "abort", P.ABORTED),
        t(P.ACTIVE, "terminate", P.TERMINATED),
        t(P.ACTIVE, "modify", P.ACTIVE),
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
