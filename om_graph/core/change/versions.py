"""Order versions: a plain snapshot of what a revision may change, and a readable diff of two.

Version 1 is written when the order is submitted (``ordering/service.py``, same transaction);
an order submitted before migration 0015 gets it lazily, from its rows, on its first revision
(:func:`ensure_first`). Each applied revision writes version n + 1 (``change/revision.py``).
A snapshot is JSON (dates ISO 8601, money as strings), so any two versions compare after later
revisions changed the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from om_graph.core.change.models import OrderVersion
from om_graph.core.kernel.models import utcnow
from om_graph.core.kernel.uow import UnitOfWork


class ChangeKinds:
    """Not a machine: how a change between two versions is classified."""

    CHARACTERISTIC = "characteristic"
    QUANTITY = "quantity"
    LINE_ADDED = "lineAdded"
    LINE_REMOVED = "lineRemoved"
    REQUESTED_DATE = "requestedDate"
    PRICE = "price"
    RELATIONSHIP = "relationship"
    ATTRIBUTE = "attribute"  # description, external id, offering of a line


_HEADER = {
    "description": ChangeKinds.ATTRIBUTE,
    "externalId": ChangeKinds.ATTRIBUTE,
    "requestedCompletionDate": ChangeKinds.REQUESTED_DATE,
    "requestedStartDate": ChangeKinds.REQUESTED_DATE,
    "currency": ChangeKinds.PRICE,
    "oneTimeTotal": ChangeKinds.PRICE,
    "recurringTotal": ChangeKinds.PRICE,
    "manualDiscountPercent": ChangeKinds.PRICE,
}
_LINE = {
    "action": ChangeKinds.ATTRIBUTE,
    "offering": ChangeKinds.ATTRIBUTE,
    "quantity": ChangeKinds.QUANTITY,
    "unitOneTimePrice": ChangeKinds.PRICE,
    "unitRecurringPrice": ChangeKinds.PRICE,
    "relationships": ChangeKinds.RELATIONSHIP,
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def line_snapshot(line: Any) -> dict[str, Any]:
    return {
        "lineNumber": line.line_number,
        "action": line.action,
        "offering": line.offering_key,
        "specKey": line.spec_key,
        "quantity": line.quantity,
        "characteristics": _plain(dict(line.characteristics or {})),
        "productId": line.product_id,
        "unitOneTimePrice": _plain(line.unit_one_time_price),
        "unitRecurringPrice": _plain(line.unit_recurring_price),
        "relationships": _plain(list(line.relationships or [])),
    }


def snapshot(order: Any, lines: Iterable[Any] | None = None) -> dict[str, Any]:
    """The header fields a revision may change and the lines (by line number), as JSON."""
    lines = order.lines if lines is None else lines
    return {
        "description": order.description,
        "externalId": order.external_id,
        "requestedCompletionDate": _plain(order.requested_completion_date),
        "requestedStartDate": _plain(order.requested_start_date),
        "currency": order.currency,
        "oneTimeTotal": _plain(order.one_time_total),
        "recurringTotal": _plain(order.recurring_total),
        "manualDiscountPercent": _plain(order.manual_discount_percent),
        "lines": [line_snapshot(line) for line in sorted(lines, key=lambda line: line.line_number)],
    }


@dataclass(frozen=True)
class Change:
    """One field-level difference: ``path`` like ``lines.2.characteristics.address``."""

    path: str
    kind: str
    before: Any
    after: Any

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "from": self.before, "to": self.after}


def _equal(a: Any, b: Any) -> bool:
    return bool(_plain(a) == _plain(b))


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    """What changed from snapshot ``a`` to ``b``: header fields, lines added and removed, and per
    kept line its fields and characteristics (one change each), in path order."""
    changes = [
        Change(name, kind, a.get(name), b.get(name)) for name, kind in _HEADER.items() if not _equal(a.get(name), b.get(name))
    ]
    before = {line["lineNumber"]: line for line in a.get("lines", ())}
    after = {line["lineNumber"]: line for line in b.get("lines", ())}
    for number in sorted(before.keys() | after.keys()):
        old, new = before.get(number), after.get(number)
        path = f"lines.{number}"
        if old is None:
            changes.append(Change(path, ChangeKinds.LINE_ADDED, None, new))
            continue
        if new is None:
            changes.append(Change(path, ChangeKinds.LINE_REMOVED, old, None))
            continue
        changes.extend(
            Change(f"{path}.{name}", kind, old.get(name), new.get(name))
            for name, kind in _LINE.items()
            if not _equal(old.get(name), new.get(name))
        )
        old_chars, new_chars = old.get("characteristics") or {}, new.get("characteristics") or {}
        changes.extend(
            Change(f"{path}.characteristics.{name}", ChangeKinds.CHARACTERISTIC, old_chars.get(name), new_chars.get(name))
            for name in sorted(old_chars.keys() | new_chars.keys())
            if not _equal(old_chars.get(name), new_chars.get(name))
        )
    return changes


def changed_characteristics(changes: Iterable[Change]) -> dict[int, set[str]]:
    """Per line number, the characteristic names a diff changes."""
    found: dict[int, set[str]] = {}
    for change in changes:
        if change.kind == ChangeKinds.CHARACTERISTIC:
            _, number, _, name = change.path.split(".", 3)
            found.setdefault(int(number), set()).add(name)
    return found


# -- stored versions -----------------------------------------------------------------------------


def write_version(
    uow: UnitOfWork,
    order: Any,
    number: int,
    *,
    created_by: str,
    lines: Iterable[Any] | None = None,
    revision_id: int | None = None,
    reason: str | None = None,
) -> OrderVersion:
    version = OrderVersion(
        order_id=order.id,
        number=number,
        snapshot=snapshot(order, lines),
        revision_id=revision_id,
        reason=reason,
        created_by=created_by,
    )
    uow.session.add(version)
    return version


def versions_of(session: Session, order_id: int) -> list[OrderVersion]:
    return list(session.scalars(select(OrderVersion).where(OrderVersion.order_id == order_id).order_by(OrderVersion.number)))


def version_of(session: Session, order_id: int, number: int) -> OrderVersion | None:
    return session.scalars(select(OrderVersion).where(OrderVersion.order_id == order_id, OrderVersion.number == number)).first()


def ensure_first(uow: UnitOfWork, order: Any, lines: Iterable[Any]) -> None:
    """Version 1 of an order submitted before versions existed (migration 0015), from its rows:
    written once, on its first revision."""
    if version_of(uow.session, order.id, 1) is None:
        write_version(uow, order, 1, created_by=order.submitted_by or order.created_by, lines=lines, reason="submitted")


def record_submitted(uow: UnitOfWork, actor: Any, order: Any, lines: list[Any]) -> None:
    """Version 1, in the submit's transaction (``OrderService.submitted_hooks``). A resubmitted
    order (sent back to draft by an approver, edited, submitted again: a later approval round)
    has its version 1 replaced by what it is now (no revision can have run on a draft)."""
    existing = version_of(uow.session, order.id, 1) if (order.approval_round or 0) > 1 else None
    if existing is None:
        write_version(uow, order, 1, created_by=actor.label, lines=lines, reason="submitted")
        return
    existing.snapshot = snapshot(order, lines)
    existing.created_by = actor.label
    existing.created_at = utcnow()
    existing.reason = "resubmitted"
