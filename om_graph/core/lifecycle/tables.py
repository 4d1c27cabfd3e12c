"""The lifecycle's default decision tables: the enrichment policy and the approval policy.

``services`` passes them to the decision service, which stores each as version 1 of its table
when it is not stored yet; process admins edit, test and activate later versions through GraphQL
(the ``decisions`` context). Packs add rules by shipping their own version of a table through
``om_register_decision_tables`` (a pack's table of the same name replaces the core default).
"""

from __future__ import annotations

from decimal import Decimal

from om_graph.core.access.permissions import Role
from om_graph.core.decisions.definitions import Condition, DecisionTableDef, InputColumn, OutputColumn, Rule

ENRICHMENT_POLICY = "enrichment.policy"
APPROVAL_POLICY = "approval.policy"

# Per order line: which manual enrichment tasks it gets (every matching rule is one task).
ENRICHMENT_INPUTS = (
    InputColumn("offering", "string", "the line's offering key"),
    InputColumn("specification", "string", "the line's product specification key"),
    InputColumn("action", "string", "add, modify or delete"),
    InputColumn("channel", "string", "the order's sales channel, when known"),
    InputColumn("segment", "string", "the customer's segment, when known"),
    InputColumn("customerId", "string", "the ordering account"),
    InputColumn("quantity", "integer", "the line's quantity"),
)
ENRICHMENT_OUTPUTS = (
    OutputColumn("task", "string", description="the task's key, unique per line (e.g. siteSurvey)"),
    OutputColumn("name", "string", description="what the person sees (e.g. Site survey)"),
    OutputColumn(
        "characteristics", "string", "", "the characteristics the task captures, comma-separated (declared by the spec)"
    ),
    OutputColumn("role", "string", Role.FULFILLMENT_AGENT.value, "the role whose work queue the task is in"),
)

ENRICHMENT_POLICY_TABLE = DecisionTableDef(
    ENRICHMENT_POLICY,
    ENRICHMENT_INPUTS,
    ENRICHMENT_OUTPUTS,
    rules=(),  # the core asks for no manual enrichment; packs and process admins add rules
    hit_policy="collect",
    description="Manual enrichment tasks per order line, after the automatic enrichment steps.",
)

# Per order: whether it needs approval, at how many levels, and who approves each level.
APPROVAL_INPUTS = (
    InputColumn("oneTimeTotal", "number", "the order's one-time total (its currency)"),
    InputColumn("recurringTotal", "number", "the order's recurring total (its currency)"),
    InputColumn("currency", "string", "ISO 4217"),
    InputColumn("manualDiscountPercent", "number", "the largest manual discount, as a % of the price it applies to"),
    InputColumn("discountOverLimit", "boolean", "a manual adjustment is over the acting agent's limit"),
    InputColumn("newCustomer", "boolean", "the customer has no completed order and no active product"),
    InputColumn("segment", "string", "the customer's segment, when known"),
    InputColumn("channel", "string", "the order's sales channel, when known"),
    InputColumn("lineCount", "integer", "the number of order lines"),
)
APPROVAL_OUTPUTS = (
    OutputColumn("levels", "integer", 1, "how many people must approve, one after the other"),
    OutputColumn("reason", "string", "", "why (shown to approvers and in waitingFor)"),
    OutputColumn(
        "roles",
        "string",
        f"{Role.APPROVER.value},{Role.FULFILLMENT_MANAGER.value}",
        "the role approving each level, comma-separated (the last one approves any further level)",
    ),
)

ONE_TIME_TOTAL_THRESHOLD = Decimal("10000")
MANUAL_DISCOUNT_THRESHOLD = Decimal("10")
NEW_CUSTOMER_THRESHOLD = Decimal("1000")

APPROVAL_POLICY_TABLE = DecisionTableDef(
    APPROVAL_POLICY,
    APPROVAL_INPUTS,
    APPROVAL_OUTPUTS,
    rules=(
        Rule(
            when={"discountOverLimit": Condition.equals(True)},
            then={"levels": 1, "reason": "a manual discount is over the agent's limit"},
        ),
        Rule(
            when={"manualDiscountPercent": Condition.between(MANUAL_DISCOUNT_THRESHOLD, None, minimum_inclusive=False)},
            then={"levels": 1, "reason": f"a manual discount over {MANUAL_DISCOUNT_THRESHOLD} %"},
        ),
        Rule(
            when={"oneTimeTotal": Condition.between(ONE_TIME_TOTAL_THRESHOLD, None, minimum_inclusive=False)},
            then={"levels": 2, "reason": f"a one-time total over {ONE_TIME_TOTAL_THRESHOLD:,}"},
        ),
        Rule(
            when={
                "newCustomer": Condition.equals(True),
                "oneTimeTotal": Condition.between(NEW_CUSTOMER_THRESHOLD, None, minimum_inclusive=False),
            },
            then={"levels": 1, "reason": f"a new customer's order over {NEW_CUSTOMER_THRESHOLD:,}"},
        ),
    ),
    hit_policy="collect",
    description="Whether an order needs approval, at how many levels, and who approves each level.",
)

LIFECYCLE_TABLES = (ENRICHMENT_POLICY_TABLE, APPROVAL_POLICY_TABLE)
