"""The pricing context's default decision tables, and what any table it reads must look like.

``pricing.priceList`` (hit policy ``first``) picks the order's price list: inputs ``segment``,
``account``, ``channel`` (portal / agent / partner), ``currency`` (null unless a rule needs it) and
``date``; output ``priceList`` (a price list key). It ships with no rules: the Pricer then picks
the most specific valid price list whose audience matches and that prices every line
(core/pricing/pricer.py). A process admin adds rules to override that choice.

``pricing.adjustments`` (hit policy ``collect``) gives automatic adjustments (rules, promotions).
It is evaluated once per line (``level`` = ``line``) and once for the order (``level`` =
``order``), with the inputs :data:`ADJUSTMENT_INPUTS` (a line's characteristic values are inputs
too, under their own names, so a pack's table may add columns for them). Each row hit gives one
adjustment: ``name``, ``kind`` (``discount`` / ``surcharge``), ``chargeType`` (``oneTime`` /
``recurring``), ``percentage`` or ``amount`` (for the whole line or order), ``priority``
(application order, lower first) and ``applicationDuration`` (periods a recurring adjustment
lasts, 0 = for good). Packs add tables of the same shape through
``CatalogContribution.adjustment_tables``.

A pricing matrix is any table with an output column ``amount`` (the unit price); its inputs are
named after the line's characteristics and :data:`MATRIX_TERMS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from om_graph.core.decisions.definitions import DecisionTableDef, InputColumn, OutputColumn

PRICE_LIST_TABLE = "pricing.priceList"
ADJUSTMENTS_TABLE = "pricing.adjustments"

# Inputs every adjustment table is evaluated with (beside the line's characteristics).
ADJUSTMENT_INPUTS = (
    "level",
    "offering",
    "specification",
    "action",
    "segment",
    "account",
    "channel",
    "priceList",
    "currency",
    "quantity",
    "contractTermMonths",
    "date",
)
# Terms a matrix may read beside the line's characteristics.
MATRIX_TERMS = ("contractTermMonths", "quantity", "action", "offering")

PRICE_LIST_DEFAULTING = DecisionTableDef(
    name=PRICE_LIST_TABLE,
    description="Which price list an order is priced with (no rule: the most specific matching list).",
    inputs=(
        InputColumn("segment", "string"),
        InputColumn("account", "string"),
        InputColumn("channel", "string", description="portal (customers), agent (staff), partner (service accounts)"),
        InputColumn("currency", "string"),
        InputColumn("date", "date"),
    ),
    outputs=(OutputColumn("priceList", "string"),),
    hit_policy="first",
)

# The columns every adjustment table gives (a pack's table may leave out the ones it does not use).
ADJUSTMENT_OUTPUTS = (
    OutputColumn("name", "string", default="Adjustment"),
    OutputColumn("kind", "string", default="discount", description="discount or surcharge"),
    OutputColumn("chargeType", "string", default="recurring", description="oneTime or recurring"),
    OutputColumn("percentage", "number"),
    OutputColumn("amount", "number"),
    OutputColumn("priority", "integer", default=0),
    OutputColumn("applicationDuration", "integer", default=0),
)

ADJUSTMENTS = DecisionTableDef(
    name=ADJUSTMENTS_TABLE,
    description="Automatic discounts and surcharges (rules and promotions), line or order level.",
    inputs=(
        InputColumn("level", "string", description="line or order"),
        InputColumn("offering", "string"),
        InputColumn("specification", "string"),
        InputColumn("action", "string"),
        InputColumn("segment", "string"),
        InputColumn("account", "string"),
        InputColumn("channel", "string"),
        InputColumn("priceList", "string"),
        InputColumn("currency", "string"),
        InputColumn("quantity", "integer"),
        InputColumn("contractTermMonths", "integer"),
        InputColumn("date", "date"),
    ),
    outputs=ADJUSTMENT_OUTPUTS,
    hit_policy="collect",
)

PRICING_TABLES: tuple[DecisionTableDef, ...] = (PRICE_LIST_DEFAULTING, ADJUSTMENTS)


class DefaultTables:
    """The given tables compiled once and evaluated in process: what the Pricer reads when no
    decision service is wired (unit tests, the Pricer benchmark). An unknown name is a KeyError."""

    def __init__(self, tables: tuple[DecisionTableDef, ...] = PRICING_TABLES):
        from om_graph.core.decisions.compiled import compile_table

        self._compiled = {t.name: compile_table(t) for t in tables}

    def evaluate(self, name: str, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self._compiled[name].evaluate(inputs)

    def first(self, name: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
        return self._compiled[name].first(inputs)

    def __call__(self, session: object) -> DefaultTables:
        """As a tables source for the order service: the same tables for every transaction."""
        return self
