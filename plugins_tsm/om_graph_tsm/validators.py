"""Business validation at submission: rules that need more than one characteristic or the offering."""

from __future__ import annotations

import re

from om_graph.api import BusinessValidator, LineIssue, LineView
from om_graph_tsm.catalog_fibre import FIBRE_PRODUCT, OFFERING_BANDWIDTH
from om_graph_tsm.catalog_mobile import MOBILE_PRODUCT
from om_graph_tsm.catalog_sdwan import MAX_SITES_PER_LINE, SDWAN_PRODUCT

OWN_OPERATOR_NAMES = frozenset({"tsm", "tsm mobile"})
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{6,18}$")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def validate_fibre(line: LineView) -> list[LineIssue]:
    if line.action == "delete":
        return []
    issues = []
    chars = line.characteristics
    expected = OFFERING_BANDWIDTH.get(line.offering_key)
    if expected is not None and chars.get("bandwidth") != expected:
        issues.append(
            LineIssue(
                "characteristics.bandwidth",
                f"offering {line.offering_key} is sold at {expected} Mbit/s, not {chars.get('bandwidth')}",
                "BANDWIDTH_OFFERING_MISMATCH",
            )
        )
    address = chars.get("installationAddress")
    if isinstance(address, str) and not re.search(r"\d", address):
        issues.append(
            LineIssue(
                "characteristics.installationAddress",
                "a fibre installation address needs a house number (and postcode)",
                "ADDRESS_INCOMPLETE",
            )
        )
    return issues


def validate_sdwan(line: LineView) -> list[LineIssue]:
    if line.action == "delete":
        return []
    issues = []
    chars = line.characteristics
    bandwidth = chars.get("bandwidth")
    limit = MAX_SITES_PER_LINE.get(bandwidth)
    if limit is not None and line.quantity > limit:
        issues.append(
            LineIssue("quantity", f"the {bandwidth} Mbit/s tier supports at most {limit} sites per order line", "SITE_LIMIT")
        )
    if chars.get("haPair") is True and (chars.get("wanLinks") or 1) < 2:
        issues.append(
            LineIssue(
                "characteristics.wanLinks", "an HA pair needs at least 2 WAN links (one per edge device)", "HA_NEEDS_TWO_LINKS"
            )
        )
    if chars.get("siteRole") in ("hub", "datacenter") and chars.get("haPair") is not True:
        issues.append(
            LineIssue("characteristics.haPair", f"a {chars.get('siteRole')} site must be deployed as an HA pair", "HUB_NEEDS_HA")
        )
    return issues


def validate_mobile(line: LineView) -> list[LineIssue]:
    if line.action == "delete":
        return []
    chars = line.characteristics
    if chars.get("portIn") is not True:
        return []
    issues = []
    number = chars.get("portInNumber")
    if _blank(number):
        issues.append(
            LineIssue("characteristics.portInNumber", "is required when porting a number in", "PORT_IN_NUMBER_REQUIRED")
        )
    elif not _PHONE.match(number.strip()):
        issues.append(LineIssue("characteristics.portInNumber", f"{number!r} is not a phone number", "PORT_IN_NUMBER_INVALID"))
    donor = chars.get("donorOperator")
    if _blank(donor):
        issues.append(LineIssue("characteristics.donorOperator", "is required when porting a number in", "DONOR_REQUIRED"))
    elif donor.strip().lower() in OWN_OPERATOR_NAMES:
        issues.append(LineIssue("characteristics.donorOperator", "a number cannot be ported from ourselves", "DONOR_IS_US"))
    if line.quantity != 1:
        issues.append(LineIssue("quantity", "a port-in line carries exactly one SIM (one number)", "PORT_IN_QUANTITY"))
    return issues


VALIDATORS = (
    BusinessValidator(
        "tsm.fibre-offering-consistency",
        validate_fibre,
        spec_keys=(FIBRE_PRODUCT,),
        description="Bandwidth matches the offering's tier; address has a house number.",
    ),
    BusinessValidator(
        "tsm.sdwan-site-limits",
        validate_sdwan,
        spec_keys=(SDWAN_PRODUCT,),
        description="Sites per line within the tier's limit; HA pairs have two links; hubs are HA.",
    ),
    BusinessValidator(
        "tsm.mobile-port-in",
        validate_mobile,
        spec_keys=(MOBILE_PRODUCT,),
        description="A port-in names the number and the donor operator, one SIM per line.",
    ),
)
