"""A revision's request (orderRevise's input as the core takes it, stored on the revision as
JSON for its approval) and the naming of capture's errors in its terms (core/change/revision.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from om_graph.core.kernel.errors import FieldError
from om_graph.core.ordering.commands import LineInput
from om_graph.core.pricing.request import adjustments_from_json, adjustments_json


@dataclass(frozen=True)
class LineRevision:
    """A change to an existing line: characteristics (a value of None removes one), quantity, or removal."""

    line_number: int
    characteristics: Mapping[str, Any] = field(default_factory=dict)
    quantity: int | None = None
    remove: bool = False


@dataclass(frozen=True)
class RevisionInput:
    lines: tuple[LineRevision, ...] = ()
    add_lines: tuple[LineInput, ...] = ()  # new lines, numbered after the order's last
    requested_completion_date: datetime | None = None  # None: unchanged
    requested_start_date: datetime | None = None
    manual_discount_percent: Decimal | None = None  # an order-level manual discount on recurring charges

    def as_json(self) -> dict[str, Any]:
        return {
            "lines": [
                {
                    "lineNumber": c.line_number,
                    "characteristics": dict(c.characteristics),
                    "quantity": c.quantity,
                    "remove": c.remove,
                }
                for c in self.lines
            ],
            "addLines": [
                {
                    "offering": line.offering,
                    "quantity": line.quantity,
                    "action": line.action,
                    "characteristics": dict(line.characteristics),
                    "productId": line.product_id,
                    "relationships": [list(r) for r in line.relationships],
                    "priceAdjustments": adjustments_json(line.price_adjustments),
                }
                for line in self.add_lines
            ],
            "requestedCompletionDate": self.requested_completion_date.isoformat() if self.requested_completion_date else None,
            "requestedStartDate": self.requested_start_date.isoformat() if self.requested_start_date else None,
            "manualDiscountPercent": str(self.manual_discount_percent) if self.manual_discount_percent is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RevisionInput:
        def when(value: str | None) -> datetime | None:
            return datetime.fromisoformat(value) if value else None

        return cls(
            lines=tuple(
                LineRevision(c["lineNumber"], c.get("characteristics") or {}, c.get("quantity"), bool(c.get("remove")))
                for c in data.get("lines", ())
            ),
            add_lines=tuple(
                LineInput(
                    offering=a["offering"],
                    quantity=a.get("quantity", 1),
                    action=a.get("action", "add"),
                    characteristics=a.get("characteristics") or {},
                    product_id=a.get("productId"),
                    relationships=tuple((int(n), str(t)) for n, t in a.get("relationships", ())),
                    price_adjustments=adjustments_from_json(a.get("priceAdjustments")),
                )
                for a in data.get("addLines", ())
            ),
            requested_completion_date=when(data.get("requestedCompletionDate")),
            requested_start_date=when(data.get("requestedStartDate")),
            manual_discount_percent=Decimal(data["manualDiscountPercent"]) if data.get("manualDiscountPercent") else None,
        )


def revision_paths(errors: Sequence[FieldError], numbers: Sequence[int], changes: RevisionInput) -> list[FieldError]:
    """Capture names the revised order's lines by input position; the revision input names a
    changed line by its index in ``lines`` and an added one by its index in ``addLines``. A kept,
    unchanged line has no path of its own: ``lines``, its number in the message."""
    changed = {change.line_number: index for index, change in enumerate(changes.lines)}
    kept = len(numbers) - len(changes.add_lines)

    def mapped(error: FieldError) -> FieldError:
        parts = error.field.split(".")
        if parts[0] != "lines" or len(parts) < 2 or not parts[1].isdigit():
            return error
        position, rest = int(parts[1]), parts[2:]
        if position >= kept:
            return replace(error, field=".".join(["addLines", str(position - kept), *rest]))
        index = changed.get(numbers[position])
        if index is None:
            return replace(error, field="lines", message=f"line {numbers[position]}: {error.message}")
        return replace(error, field=".".join(["lines", str(index), *rest]))

    return [mapped(error) for error in errors]
