"""TMF622 ``ProductOrder`` ↔ the core's order: the one place the two vocabularies meet.

Reading (:func:`to_tmf`): the order row and its lines as a ``ProductOrder``. Ids are the order's
number as a string (``"42"``); an item's ``id`` is its line number. Prices are the core's own
TMF-shaped ``orderTotalPrice``/``itemPrice``/``itemTotalPrice``. States are TMF622's enum as the
core stores them (the core's machines use TMF's names), plus v5's ``draft`` for a draft.

Writing (:func:`to_order_input`): a ``ProductOrder_Create`` as an :class:`OrderInput`. The
customer is the ``relatedParty`` with role ``customer`` (a customer's own token needs none); an
item's ``productOffering.id`` is the offering, ``product.productCharacteristic`` its
characteristics, ``product.id`` the product a modify, delete, suspend or resume acts on;
``productOrderItemRelationship`` names other items by their ``id``. TMF v4 has no suspend or
resume action: ``action: modify`` with ``product.status: suspended`` suspends, and with
``product.status: active`` (and no characteristics) resumes. What the server sets (prices, state,
dates it computes) is ignored on input; what the core does not model (nested items, agreements,
payments, notes, quotes) is refused with a 400 naming it, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from om_graph.core.inventory.states import ProductStatuses
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError, ValidationFailed
from om_graph.core.ordering.commands import LineInput, OrderInput
from om_graph.core.ordering.input_rules import MAX_KEY_LENGTH, characteristic_values, line_count_error, too_long
from om_graph.core.ordering.states import OrderStates
from om_graph.core.ordering.validation import header_length_errors
from om_graph.core.reads.rows import OrderDetail
from om_graph.tmf.query import parse_datetime
from om_graph.tmf.values import amounts, iso, number, ref, value_type

ORDER_TYPE = "ProductOrder"
ITEM_TYPE = "ProductOrderItem"
# What a read always shows, whatever ``fields`` selects: the server-set attributes, and what the
# document requires (an order's items, each with its id and action).
ALWAYS = ("id", "href", "@type", "orderDate", "state", "productOrderItem.id", "productOrderItem.action")
ACTIONS = {"add": "add", "modify": "modify", "delete": "delete"}
UNSUPPORTED = (
    "agreement",
    "billingAccount",
    "payment",
    "quote",
    "productOfferingQualification",
    "note",
    "notificationContact",
)
ITEM_UNSUPPORTED = ("productOrderItem", "appointment", "billingAccount", "payment", "itemTerm", "qualification", "quoteItem")
CREATE_STATES = (OrderStates.ACKNOWLEDGED, OrderStates.DRAFT)  # v5 initial states; v4 clients send none

# Core field paths (capture's FieldErrors) → the TMF document's.
_PATHS = (
    (re.compile(r"^lines\.(\d+)\.offering$"), "productOrderItem[{0}].productOffering.id"),
    (re.compile(r"^lines\.(\d+)\.productId$"), "productOrderItem[{0}].product.id"),
    (re.compile(r"^lines\.(\d+)\.characteristics\.(.+)$"), "productOrderItem[{0}].product.productCharacteristic.{1}"),
    (re.compile(r"^lines\.(\d+)\.characteristics$"), "productOrderItem[{0}].product.productCharacteristic"),
    (re.compile(r"^lines\.(\d+)\.relationships(.*)$"), "productOrderItem[{0}].productOrderItemRelationship{1}"),
    (re.compile(r"^lines\.(\d+)\.(\w+)$"), "productOrderItem[{0}].{1}"),
    (re.compile(r"^lines\.(\d+)$"), "productOrderItem[{0}]"),
    (re.compile(r"^lines$"), "productOrderItem"),
    (re.compile(r"^customerId$"), "relatedParty"),
    (re.compile(r"^segment$"), "category"),
)


def rename(path: str) -> str:
    for pattern, template in _PATHS:
        match = pattern.match(path)
        if match:
            return template.format(*match.groups())
    return path


# -- reading --------------------------------------------------------------------------------------


def to_tmf(detail: OrderDetail, href: str, offering_href: str) -> dict[str, Any]:
    order = detail.order
    body: dict[str, Any] = {
        "id": str(order.id),
        "href": href,
        "@type": ORDER_TYPE,
        "@baseType": ORDER_TYPE,
        "state": order.state,
        "orderDate": iso(order.created_at),
        "externalId": order.external_id,
        "description": order.description or None,
        "category": order.segment,
        "priority": order.priority,
        "requestedStartDate": iso(order.requested_start_date),
        "requestedCompletionDate": iso(order.requested_completion_date),
        "expectedCompletionDate": iso(order.expected_completion_at),
        "completionDate": iso(order.completed_at),
        "relatedParty": [{"id": order.customer_id, "role": "customer", "@type": "RelatedParty", "@referredType": "Customer"}],
        "orderTotalPrice": amounts(order.total_prices or []),
        "productOrderItem": [_item(line, offering_href) for line in sorted(detail.lines, key=lambda x: x.line_number)],
    }
    if order.channel:
        body["channel"] = [{"id": order.channel, "name": order.channel, "@type": "RelatedChannel"}]
    return {key: value for key, value in body.items() if value is not None}


def _item(line: Any, offering_href: str) -> dict[str, Any]:
    action = line.action
    product: dict[str, Any] = {
        "@type": "Product",
        "productSpecification": {"id": line.spec_key, "@type": "ProductSpecificationRef"},
        "productCharacteristic": [
            {"name": name, "value": value, "valueType": value_type(value)}
            for name, value in sorted((line.characteristics or {}).items())
        ],
    }
    if line.product_id is not None:
        product["id"] = str(line.product_id)
    if action in ("suspend", "resume"):
        product["status"] = ProductStatuses.SUSPENDED if action == "suspend" else ProductStatuses.ACTIVE
        action = "modify"
    prices = line.prices or {}
    item: dict[str, Any] = {
        "id": str(line.line_number),
        "@type": ITEM_TYPE,
        "action": action,
        "quantity": line.quantity,
        "state": line.state,
        "productOffering": ref(line.offering_key, f"{offering_href}/{line.offering_key}", "ProductOfferingRef"),
        "product": product,
        "itemPrice": amounts(prices.get("itemPrice") or []),
        "itemTotalPrice": amounts(prices.get("itemTotalPrice") or []),
    }
    relationships = line.relationships or []
    if relationships:
        item["productOrderItemRelationship"] = [
            {"id": str(r["lineNumber"]), "relationshipType": r["type"], "@type": "OrderItemRelationship"} for r in relationships
        ]
    return item


# -- writing --------------------------------------------------------------------------------------


class Reader:
    """Reads a TMF JSON document, collecting every problem as a FieldError (one 400 names all)."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, path: str, message: str, code: str = CommonErrorCode.INVALID) -> None:
        self.errors.append(FieldError(path, message, code))

    def text(self, data: Mapping[str, Any], key: str, path: str, *, required: bool = False, limit: int = 2000) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(path, "required", CommonErrorCode.REQUIRED)
            return None
        if not isinstance(value, str):
            self.fail(path, "must be a string", CommonErrorCode.INVALID_TYPE)
            return None
        if len(value) > limit:
            self.fail(path, f"at most {limit} characters", CommonErrorCode.TOO_LONG)
            return None
        return value

    def when(self, data: Mapping[str, Any], key: str) -> datetime | None:
        value = self.text(data, key, key, limit=64)
        if value is None:
            return None
        try:
            return parse_datetime(value)
        except ValueError:
            self.fail(key, "not an ISO 8601 date-time", CommonErrorCode.INVALID)
            return None

    def objects(self, data: Mapping[str, Any], key: str, path: str) -> list[Mapping[str, Any]]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(path, "must be an array of objects", CommonErrorCode.INVALID_TYPE)
            return []
        return value

    def object(self, data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(path, "must be an object", CommonErrorCode.INVALID_TYPE)
            return None
        return value

    def refuse_unsupported(self, data: Mapping[str, Any], keys: Sequence[str], prefix: str = "") -> None:
        for key in keys:
            if data.get(key) not in (None, [], {}):
                self.fail(f"{prefix}{key}", "not supported by this server (see docs/tmf.md)", CommonErrorCode.INVALID)


def customer_of(reader: Reader, body: Mapping[str, Any], account_id: str | None) -> str:
    parties = reader.objects(body, "relatedParty", "relatedParty")
    customers = [p for p in parties if str(p.get("role", "")).lower() == "customer"]
    if len(customers) > 1:
        reader.fail("relatedParty", "at most one related party with role customer")
    if customers:
        customer = reader.text(customers[0], "id", "relatedParty.id", required=True, limit=80)
        return customer or ""
    if account_id is None:
        reader.fail("relatedParty", "name the customer: a related party with role customer and its id", CommonErrorCode.REQUIRED)
        return ""
    return account_id


def to_order_input(body: Mapping[str, Any], account_id: str | None, idempotency_key: str | None) -> tuple[OrderInput, bool]:
    """The core's input and whether to submit it at once (not a v5 ``draft``), or ValidationFailed
    naming, in TMF's paths, every problem found in reading it."""
    reader = Reader()
    reader.refuse_unsupported(body, UNSUPPORTED)
    state = reader.text(body, "state", "state", limit=32)
    if state is not None and state not in CREATE_STATES:
        reader.fail("state", f"a new order is {' or '.join(CREATE_STATES)} (v5 draft): {state!r}")
    customer_id = customer_of(reader, body, account_id)
    items = reader.objects(body, "productOrderItem", "productOrderItem")
    if not items and "productOrderItem" not in [e.field for e in reader.errors]:
        reader.fail("productOrderItem", "at least one item", CommonErrorCode.REQUIRED)
    if problem := line_count_error(len(items), "productOrderItem"):
        reader.errors.append(problem)
        items = []
    numbers: dict[str, int] = {}
    for index, item in enumerate(items):
        item_id = item.get("id")
        if item_id is None or not isinstance(item_id, (str, int)) or isinstance(item_id, bool):
            reader.fail(f"productOrderItem[{index}].id", "required: a string", CommonErrorCode.REQUIRED)
        elif str(item_id) in numbers:
            reader.fail(f"productOrderItem[{index}].id", f"id {item_id!r} is given twice", CommonErrorCode.DUPLICATE)
        else:
            numbers[str(item_id)] = index + 1
    lines = [line for index, item in enumerate(items) if (line := read_item(reader, item, index, numbers)) is not None]
    order = OrderInput(
        customer_id=customer_id,
        lines=tuple(lines),
        description=reader.text(body, "description", "description") or "",
        external_id=reader.text(body, "externalId", "externalId", limit=120),
        requested_completion_date=reader.when(body, "requestedCompletionDate"),
        requested_start_date=reader.when(body, "requestedStartDate"),
        idempotency_key=idempotency_key,
        segment=reader.text(body, "category", "category", limit=80),
    )
    errors = reader.errors + [FieldError(rename(e.field), e.message, e.code) for e in header_length_errors(order)]
    if errors:
        raise ValidationFailed(errors)
    return order, state != OrderStates.DRAFT


def read_item(reader: Reader, item: Mapping[str, Any], index: int, numbers: Mapping[str, int]) -> LineInput | None:
    path = f"productOrderItem[{index}]"
    before = len(reader.errors)
    reader.refuse_unsupported(item, ITEM_UNSUPPORTED, f"{path}.")
    action = reader.text(item, "action", f"{path}.action", required=True, limit=16)
    if action is not None and action not in ACTIONS:
        reader.fail(f"{path}.action", f"one of {', '.join(ACTIONS)} (noChange items are not supported)")
    quantity = item.get("quantity", 1)
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        reader.fail(f"{path}.quantity", "must be an integer", CommonErrorCode.INVALID_TYPE)
        quantity = 1
    offering_ref = reader.object(item, "productOffering", f"{path}.productOffering")
    offering = reader.text(offering_ref, "id", f"{path}.productOffering.id", limit=MAX_KEY_LENGTH) if offering_ref else None
    product = reader.object(item, "product", f"{path}.product") or {}
    product_id: int | None = None
    raw_product_id = product.get("id")
    if raw_product_id is not None:
        product_id = number(raw_product_id)
        if product_id is None:
            reader.fail(f"{path}.product.id", "not a product id of this server", CommonErrorCode.INVALID_ID)
    characteristics: dict[str, Any] = {}
    pairs = []
    for position, characteristic in enumerate(
        reader.objects(product, "productCharacteristic", f"{path}.product.productCharacteristic")
    ):
        name = reader.text(
            characteristic, "name", f"{path}.product.productCharacteristic[{position}].name", required=True, limit=100
        )
        if name is not None:
            pairs.append((name, characteristic.get("value")))
    try:
        characteristics = characteristic_values(pairs, f"lines.{index}.characteristics")
    except ValidationFailed as bad:
        reader.errors.extend(FieldError(rename(e.field), e.message, e.code) for e in bad.errors)
    status = reader.text(product, "status", f"{path}.product.status", limit=32)
    core_action = ACTIONS.get(action or "", "add")
    if status is not None:
        if core_action != "modify" or status not in (ProductStatuses.SUSPENDED, ProductStatuses.ACTIVE):
            reader.fail(f"{path}.product.status", "only a modify item sets it: suspended (suspend) or active (resume)")
        elif status == ProductStatuses.SUSPENDED:
            core_action = "suspend"
        elif not characteristics:
            core_action = "resume"
    relationships = []
    for position, relation in enumerate(
        reader.objects(item, "productOrderItemRelationship", f"{path}.productOrderItemRelationship")
    ):
        at = f"{path}.productOrderItemRelationship[{position}]"
        other = relation.get("id")
        kind = reader.text(relation, "relationshipType", f"{at}.relationshipType", required=True, limit=32)
        if other is None or str(other) not in numbers:
            reader.fail(f"{at}.id", f"names no item of this order: {other!r}", CommonErrorCode.INVALID)
        elif kind is not None:
            relationships.append((numbers[str(other)], kind))
    if problem := too_long(offering, MAX_KEY_LENGTH, f"{path}.productOffering.id"):
        reader.errors.append(problem)
    if len(reader.errors) > before:
        return None
    return LineInput(
        offering=offering,
        quantity=quantity,
        action=core_action,
        characteristics=characteristics,
        product_id=product_id,
        relationships=tuple(relationships),
    )
