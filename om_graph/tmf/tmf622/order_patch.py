"""PATCH of a TMF622 productOrder: the JSON merge patch (RFC 7386), and what it means for an
order that is already running: a revision (core/change/revision_input.py's :class:`RevisionInput`).

After submission a patch may change the requested dates and the items: an item's ``quantity``
and ``product.productCharacteristic`` (a characteristic left out is removed), an item left out
of ``productOrderItem`` is removed, an item with a new ``id`` is added. An attribute the patched
item leaves out is unchanged (a client sending back only ``id`` and ``quantity`` changes the
quantity). Every other change after submission is refused, naming it: the server sets the state,
prices and dates it computes; the customer, the offerings and actions of existing items do not
change in flight (cancel the item and add another).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from om_graph.core.change.revision_input import LineRevision, RevisionInput
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError, ValidationFailed
from om_graph.core.ordering.input_rules import characteristic_values
from om_graph.tmf.tmf622.order_mapping import Reader, read_item, rename

DATES = ("requestedCompletionDate", "requestedStartDate")


def _offering(item: Mapping[str, Any]) -> Any:
    offering = item.get("productOffering")
    return offering.get("id") if isinstance(offering, dict) else offering


def _relations(item: Mapping[str, Any]) -> Any:
    found = item.get("productOrderItemRelationship") or []
    if not isinstance(found, list):
        return found
    return sorted((str(r.get("id")), r.get("relationshipType")) for r in found if isinstance(r, dict))


# What an existing item keeps in flight, compared as a client would mean it (refs by id).
ITEM_FIXED = {"action": lambda item: item.get("action"), "productOffering": _offering, "productOrderItemRelationship": _relations}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key (null removes), anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def revision_of(current: Mapping[str, Any], patched: Mapping[str, Any]) -> RevisionInput:
    """The revision a patch of a running order asks for, or ValidationFailed naming what it may
    not change (a patch that changes nothing is the revision's NO_CHANGE)."""
    reader = Reader()
    for key in sorted(set(current) | set(patched)):
        if key in DATES or key == "productOrderItem":
            continue
        if current.get(key) != patched.get(key):
            reader.fail(key, "cannot be changed once the order is submitted", CommonErrorCode.INVALID)
    dates = {key: reader.when(patched, key) if patched.get(key) != current.get(key) else None for key in DATES}
    items = reader.objects(patched, "productOrderItem", "productOrderItem")
    existing = {str(item["id"]): item for item in current.get("productOrderItem") or ()}
    last = max((int(i) for i in existing), default=0)
    numbers = {item_id: int(item_id) for item_id in existing}
    for item in items:
        item_id = str(item.get("id"))
        if item_id not in numbers:
            last += 1
            numbers[item_id] = last
    seen: set[str] = set()
    changes: list[LineRevision] = []
    added = []
    for index, item in enumerate(items):
        item_id = str(item.get("id"))
        if item_id in seen:
            reader.fail(f"productOrderItem[{index}].id", f"id {item_id!r} is given twice", CommonErrorCode.DUPLICATE)
            continue
        seen.add(item_id)
        if item_id in existing:
            change = _changed(reader, existing[item_id], item, index)
            if change is not None:
                changes.append(change)
        elif (line := read_item(reader, item, index, numbers)) is not None:
            added.append(line)
    changes += [LineRevision(int(item_id), remove=True) for item_id in existing if item_id not in seen]
    if reader.errors:
        raise ValidationFailed(reader.errors)
    return RevisionInput(
        lines=tuple(sorted(changes, key=lambda c: c.line_number)),
        add_lines=tuple(added),
        requested_completion_date=dates["requestedCompletionDate"],
        requested_start_date=dates["requestedStartDate"],
    )


def _changed(reader: Reader, old: Mapping[str, Any], new: Mapping[str, Any], index: int) -> LineRevision | None:
    path = f"productOrderItem[{index}]"
    for key, value_of in ITEM_FIXED.items():
        if key in new and value_of(new) != value_of(old):
            reader.fail(f"{path}.{key}", "cannot be changed in flight: remove the item and add another")
    quantity = new.get("quantity", old.get("quantity"))
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        reader.fail(f"{path}.quantity", "must be an integer", CommonErrorCode.INVALID_TYPE)
        return None
    product = new.get("product")
    characteristics: dict[str, Any] = {}
    if isinstance(product, dict) and "productCharacteristic" in product:
        before = {c["name"]: c.get("value") for c in (old.get("product") or {}).get("productCharacteristic") or ()}
        given = [c for c in product.get("productCharacteristic") or () if isinstance(c, dict)]
        if any(not isinstance(c.get("name"), str) for c in given):
            reader.fail(f"{path}.product.productCharacteristic", "each needs a name", CommonErrorCode.REQUIRED)
            return None
        pairs = [(str(c["name"]), c.get("value")) for c in given]
        try:
            after = characteristic_values(pairs, f"lines.{index}.characteristics")
        except ValidationFailed as bad:
            reader.errors.extend(FieldError(rename(e.field), e.message, e.code) for e in bad.errors)
            return None
        characteristics = {name: value for name, value in after.items() if before.get(name) != value}
        characteristics.update({name: None for name in before if name not in after})
    elif product is not None and not isinstance(product, dict):
        reader.fail(f"{path}.product", "must be an object", CommonErrorCode.INVALID_TYPE)
        return None
    if quantity == old.get("quantity") and not characteristics:
        return None
    return LineRevision(int(str(old["id"])), characteristics, quantity if quantity != old.get("quantity") else None)
