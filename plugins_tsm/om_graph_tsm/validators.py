"""Business validation at submission: only what the catalog's characteristic constraints cannot say.

The fibre tier per offering, the address's house number, HA pairs' links, hubs being HA and a
port-in's number and donor are constraints in the catalog (checked at capture, shown by
``productOfferings``); what is left depends on the line's quantity or on a case-insensitive
exclusion."""

from __future__ import annotations

from om_graph.api import BusinessValidator, LineIssue, LineView
from om_graph_tsm.catalog_mobile import MOBILE_PRODUCT
from om_graph_tsm.catalog_sdwan import MAX_SITES_PER_LINE, SDWAN_PRODUCT

OWN_OPERATOR_NAMES = frozenset({"tsm", "tsm mobile"})


def validate_sdwan(line: LineView) -> list[LineIssue]:
    """Sites per line depend on the line's quantity, which no characteristic constraint sees."""
    if line.action == "delete":
        return []
    bandwidth = line.characteristics.get("bandwidth")
    limit = MAX_SITES_PER_LINE.get(bandwidth)
    if limit is not None and line.quantity > limit:
        return [LineIssue("quantity", f"the {bandwidth} Mbit/s tier supports at most {limit} sites per order line", "SITE_LIMIT")]
    return []


def validate_mobile(line: LineView) -> list[LineIssue]:
    """What the catalog cannot say of a port-in: the donor is not us (any spelling), and one
    number per line (the quantity). That a port-in names a number and a donor, and the number's
    form, are the mobile plan's characteristic constraints, checked at capture."""
    if line.action == "delete":
        return []
    chars = line.characteristics
    if chars.get("portIn") is not True:
        return []
    issues = []
    donor = chars.get("donorOperator")
    if isinstance(donor, str) and donor.strip().lower() in OWN_OPERATOR_NAMES:
        issues.append(LineIssue("characteristics.donorOperator", "a number cannot be ported from ourselves", "DONOR_IS_US"))
    if line.quantity != 1:
        issues.append(LineIssue("quantity", "a port-in line carries exactly one SIM (one number)", "PORT_IN_QUANTITY"))
    return issues


VALIDATORS = (
    BusinessValidator(
        "tsm.sdwan-site-limits",
        validate_sdwan,
        spec_keys=(SDWAN_PRODUCT,),
        description="Sites per line within the tier's limit.",
    ),
    BusinessValidator(
        "tsm.mobile-port-in",
        validate_mobile,
        spec_keys=(MOBILE_PRODUCT,),
        description="A port-in is not from ourselves, one SIM per line.",
    ),
)
