"""Basic validation of order input against the catalog and the inventory (synchronous, nothing written).

Every problem is reported with the path of the field that caused it; the caller rejects the
whole request when any is found.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from om_graph.core.catalog.constraints import CharacteristicRules
from om_graph.core.catalog.definitions import (
    ALL_ACTIONS,
    INTEGER_RANGE,
    CharacteristicDef,
    OfferingDef,
    SpecificationDef,
)
from om_graph.core.catalog.error_codes import CatalogErrorCode
from om_graph.core.catalog.registry import Registry
from om_graph.core.inventory.error_codes import InventoryErrorCode
from om_graph.core.inventory.models import Product
from om_graph.core.inventory.states import CHANGEABLE_BY_ACTION, ProductStatuses
from om_graph.core.kernel.error_codes import CommonErrorCode
from om_graph.core.kernel.errors import FieldError
from om_graph.core.kernel.models import money
from om_graph.core.ordering.commands import (
    MAX_CHARACTERISTICS,
    LineInput,
    OrderInput,
)
from om_graph.core.ordering.error_codes import OrderingErrorCode
from om_graph.core.ordering.input_rules import line_count_error
from om_graph.core.ordering.models import Order, OrderLine
from om_graph.core.ordering.pending_suspend import (
    PendingSuspend,
    SuspendRefusal,
    dated_after,
    pending_suspends,
    suspend_pending_error,
)
from om_graph.core.ordering.relationships import relationship_errors
from om_graph.core.ordering.states import LINE, OPEN_ORDER_STATES
from om_graph.core.pricing.request import PriceAdjustment

CHANGEABLE_PRODUCT_STATES = (ProductStatuses.ACTIVE, ProductStatuses.SUSPENDED)
PENDING_PRODUCT_STATES = frozenset({ProductStatuses.CREATED, ProductStatuses.PENDING_ACTIVE, ProductStatuses.PENDING_TERMINATE})
_NO_VOIDING = "no change management voids it here"  # an OrderValidator without a suspend_refusal


def product_status_error(action: str, status: str, path: str) -> FieldError | None:
    """Whether a line's action may change a product in ``status`` (DOMAIN.md row 22): modify and
    delete on active or suspended products, suspend on active, resume on suspended; nothing while
    the product is pending (its own order still at work). The message names the status."""
    if status in CHANGEABLE_BY_ACTION[action]:
        return None
    if status in PENDING_PRODUCT_STATES:
        return FieldError(
            path, f"product is {status}: its order is still at work, a {action} waits for it", InventoryErrorCode.PRODUCT_PENDING
        )
    if action == "resume":
        return FieldError(
            path, f"product is {status}; only a suspended product resumes", InventoryErrorCode.PRODUCT_NOT_SUSPENDED
        )
    if action == "suspend" and status == ProductStatuses.SUSPENDED:
        return FieldError(path, "product is suspended already", InventoryErrorCode.PRODUCT_ALREADY_SUSPENDED)
    wanted = " or ".join(sorted(CHANGEABLE_BY_ACTION[action]))
    return FieldError(path, f"product is {status}; a {action} needs it {wanted}", InventoryErrorCode.PRODUCT_NOT_ACTIVE)


# Lengths of an order's header fields, in characters.
MAX_CUSTOMER_ID_LENGTH = 80
MAX_DESCRIPTION_LENGTH = 2000
MAX_EXTERNAL_ID_LENGTH = 120
MAX_IDEMPOTENCY_KEY_LENGTH = 200


@dataclass(frozen=True)
class ValidLine:
    line_number: int
    action: str
    offering: OfferingDef
    spec: SpecificationDef
    quantity: int
    characteristics: dict[str, Any]
    product_id: int | None
    unit_one_time_price: Decimal
    unit_recurring_price: Decimal
    product: Product | None = None  # the product a modify or delete line changes (its price: MACD)
    price_adjustments: tuple[PriceAdjustment, ...] = ()  # manual, checked by the Pricer
    relationships: tuple[tuple[int, str], ...] = ()  # (other line's number, type): ordering/relationships.py


def _type_ok(defn: CharacteristicDef, value: Any) -> bool:
    if defn.value_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if defn.value_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if defn.value_type == "boolean":
        return isinstance(value, bool)
    return isinstance(value, str)


def _size_error(defn: CharacteristicDef, value: Any, field_path: str) -> FieldError | None:
    """Bounds every value type has, whatever the specification says: a string's length, an
    integer's 64 bits, a number being finite (Python's JSON parser accepts NaN and Infinity)."""
    limit = defn.effective_max_length
    if limit is not None:  # a string characteristic: the value's type is checked first
        if len(value) > limit:
            return FieldError(field_path, f"at most {limit} characters", CommonErrorCode.TOO_LONG)
    elif defn.value_type == "integer" and not INTEGER_RANGE[0] <= value <= INTEGER_RANGE[1]:
        return FieldError(field_path, "must fit in 64 bits", CommonErrorCode.OUT_OF_RANGE)
    elif defn.value_type == "number" and not math.isfinite(value):
        return FieldError(field_path, "must be a finite number", CommonErrorCode.OUT_OF_RANGE)
    return None


_VIOLATION_CODES = {
    "allowed": CatalogErrorCode.VALUE_NOT_ALLOWED,
    "range": CommonErrorCode.OUT_OF_RANGE,
    "pattern": CatalogErrorCode.PATTERN_MISMATCH,
    "length": CommonErrorCode.TOO_LONG,
    "required": CommonErrorCode.REQUIRED,
}


def check_characteristics(
    rules: SpecificationDef | CharacteristicRules,
    given: dict[str, Any],
    path: str,
    *,
    apply_defaults: bool,
    context: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[FieldError]]:
    """Check ``given`` against ``rules`` (an offering's, from ``Registry.rules_for``; a bare
    specification checks against its own characteristics and constraints). With
    ``apply_defaults`` the result is a whole line's values: defaults filled, required ones
    demanded. Without, ``given`` are values added to ``context`` (the values already held, e.g. a
    line's before an enrichment step): dependent constraints are checked over both, for the
    characteristics given only."""
    if isinstance(rules, SpecificationDef):
        rules = CharacteristicRules.of_specification(rules)
    errors: list[FieldError] = []
    defs = rules.by_name
    if len(given) > MAX_CHARACTERISTICS:
        return {}, [FieldError(path, f"at most {MAX_CHARACTERISTICS} characteristics", CommonErrorCode.TOO_MANY)]
    result: dict[str, Any] = {}
    for name, value in given.items():
        defn = defs.get(name)
        field_path = f"{path}.{name}"
        if defn is None:
            errors.append(
                FieldError(field_path, f"{rules.subject} has no characteristic {name!r}", CatalogErrorCode.UNKNOWN_CHARACTERISTIC)
            )
            continue
        if value is None:
            continue
        if not _type_ok(defn, value):
            errors.append(FieldError(field_path, f"must be a {defn.value_type}", CommonErrorCode.INVALID_TYPE))
            continue
        size_error = _size_error(defn, value, field_path)
        if size_error is not None:
            errors.append(size_error)
            continue
        violation = rules.violation(name, value)
        if violation is not None:
            errors.append(FieldError(field_path, violation.message, _VIOLATION_CODES[violation.kind]))
            continue
        if isinstance(value, str) and not value.strip() and defn.required:
            errors.append(FieldError(field_path, "must not be blank", CommonErrorCode.REQUIRED))
            continue
        result[name] = value
    for defn in rules.characteristics:
        if defn.name in result:
            continue
        if apply_defaults and defn.default is not None:
            result[defn.name] = defn.default
        elif apply_defaults and defn.required and f"{path}.{defn.name}" not in {e.field for e in errors}:
            errors.append(FieldError(f"{path}.{defn.name}", "is required", CommonErrorCode.REQUIRED))
    if rules.dependent:
        values = result if apply_defaults else {**(context or {}), **result}
        names = None if apply_defaults else result.keys()
        failed = {e.field for e in errors}
        for name, violation in rules.dependent_violations(values, names):
            if f"{path}.{name}" not in failed:
                failed.add(f"{path}.{name}")
                errors.append(FieldError(f"{path}.{name}", violation.message, _VIOLATION_CODES[violation.kind]))
    return result, errors


def header_length_errors(data: OrderInput) -> list[FieldError]:
    """Length rules of the header fields; reads nothing, so an API can check them before it
    opens a transaction."""
    errors = []
    for field, value, limit in (
        ("customerId", data.customer_id, MAX_CUSTOMER_ID_LENGTH),
        ("description", data.description, MAX_DESCRIPTION_LENGTH),
        ("externalId", data.external_id, MAX_EXTERNAL_ID_LENGTH),
        ("idempotencyKey", data.idempotency_key, MAX_IDEMPOTENCY_KEY_LENGTH),
    ):
        if value is not None and len(value) > limit:
            errors.append(FieldError(field, f"at most {limit} characters", CommonErrorCode.TOO_LONG))
    if data.idempotency_key == "":
        errors.append(FieldError("idempotencyKey", "must not be empty", CommonErrorCode.INVALID))
    return errors


def _reachable(spec: SpecificationDef, specs: dict[str, SpecificationDef]) -> list[SpecificationDef]:
    seen: dict[str, SpecificationDef] = {}
    stack = [spec]
    while stack:
        current = stack.pop()
        if current.key not in seen:
            seen[current.key] = current
            stack.extend(specs[r.target] for r in current.relationships)
    return list(seen.values())


def _check_cardinalities(
    spec: SpecificationDef, specs: dict[str, SpecificationDef], chars: dict[str, Any], path: str
) -> list[FieldError]:
    """Relationship counts taken from a characteristic must respect min..max, anywhere in the
    specification graph below the product."""
    errors: list[FieldError] = []
    reported: set[str] = set()
    for rel in (r for s in _reachable(spec, specs) for r in s.relationships):
        if rel.count_from in reported:
            continue
        if rel.count_from and rel.count_from in chars:
            count = chars[rel.count_from]
            if not isinstance(count, int) or not rel.min_cardinality <= count <= rel.max_cardinality:
                reported.add(rel.count_from)
                errors.append(
                    FieldError(
                        f"{path}.{rel.count_from}",
                        f"must be between {rel.min_cardinality} and {rel.max_cardinality}",
                        CatalogErrorCode.CARDINALITY,
                    )
                )
    return errors


class OrderValidator:
    def __init__(self, registry: Registry):
        self.registry = registry
        # Whether a resume may void another open order's pending suspend of its product
        # (ordering/pending_suspend.py): change management's check (services.py); None refuses all.
        self.suspend_refusal: SuspendRefusal | None = None

    def validate(
        self, session: Session, data: OrderInput, *, editing: int | None = None
    ) -> tuple[list[ValidLine], list[FieldError]]:
        """``editing``: the order being edited or revised. Its own lines do not make a product
        busy, and a product one of its lines already acts on is not checked against its status
        again for that action (the order's own work moved it: a delete under way leaves the
        product pending termination)."""
        errors: list[FieldError] = []
        if not data.customer_id or not data.customer_id.strip():
            errors.append(FieldError("customerId", "is required", CommonErrorCode.REQUIRED))
        errors.extend(header_length_errors(data))
        start, end = data.requested_start_date, data.requested_completion_date
        if start is not None and end is not None and start > end:
            errors.append(FieldError("requestedStartDate", "is after the requested completion date", CommonErrorCode.INVALID))
        if not data.lines:
            errors.append(FieldError("lines", "an order needs at least one line", CommonErrorCode.REQUIRED))
        if too_many := line_count_error(len(data.lines)):
            return [], [*errors, too_many]
        products = self._products(session, data)
        own = self._own_actions(session, editing) if editing is not None and products else {}
        pending = self._pending_suspends(session, data, products, editing)
        valid: list[ValidLine] = []
        for index, line in enumerate(data.lines):
            result = self._line(index, line, data.customer_id, products, errors, own, pending)
            if result is not None:
                valid.append(result)
        errors.extend(relationship_errors([line.relationships for line in data.lines]))  # ordering/relationships.py
        targeted = [v.product_id for v in valid if v.product_id is not None]
        if len(targeted) != len(set(targeted)):
            errors.append(FieldError("lines", "two lines change the same product", OrderingErrorCode.DUPLICATE_PRODUCT))
        if targeted:
            # The suspend a resume voids does not make its product busy (it is cancelled at submit).
            voided = {(pid, p.order_id) for pid, (p, refused) in pending.items() if refused is None}
            errors.extend(self._busy_products(session, targeted, editing, voided))
        return valid, errors

    def _products(self, session: Session, data: OrderInput) -> dict[int, Product]:
        ids = {line.product_id for line in data.lines if line.product_id is not None}
        if not ids:
            return {}
        return {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))}

    @staticmethod
    def _own_actions(session: Session, order_id: int) -> dict[int, str]:
        rows = session.execute(
            select(OrderLine.product_id, OrderLine.action).where(
                OrderLine.order_id == order_id, OrderLine.product_id.is_not(None), OrderLine.state != LINE.initial
            )  # a submitted order's lines (a draft's have done nothing to their products)
        )
        return {product_id: action for product_id, action in rows if product_id is not None}

    def _pending_suspends(
        self, session: Session, data: OrderInput, products: Mapping[int, Product], editing: int | None
    ) -> dict[int, tuple[PendingSuspend, str | None]]:
        """The resume lines' active products with another open order's suspend still to happen
        (ordering/pending_suspend.py), each with why the resume may not void it (None: it may)."""
        resumed = {line.product_id for line in data.lines if line.action == "resume" and line.product_id is not None}
        active = [pid for pid in resumed if pid in products and products[pid].status == ProductStatuses.ACTIVE]
        found = pending_suspends(session, active, excluding=editing)
        refusal = self.suspend_refusal
        return {
            pid: (
                pending,
                dated_after(pending, data.requested_start_date)
                or (refusal(session, pending) if refusal is not None else _NO_VOIDING),
            )
            for pid, pending in found.items()
        }

    def _busy_products(
        self,
        session: Session,
        product_ids: list[int],
        editing: int | None = None,
        voided: Collection[tuple[int, int]] = (),
    ) -> list[FieldError]:
        busy = session.execute(
            select(OrderLine.product_id, OrderLine.order_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.product_id.in_(product_ids), Order.state.in_(OPEN_ORDER_STATES), Order.id != (editing or 0))
        ).all()
        return [
            FieldError("lines", f"product {pid} is already being changed by another open order", InventoryErrorCode.PRODUCT_BUSY)
            # None is never IN the list
            for pid in sorted({pid for pid, order_id in busy if pid is not None and (pid, order_id) not in voided})
        ]

    def _tier_change_error(self, action: str, product: Product, offering_key: str, path: str) -> FieldError | None:
        """A modify line may name another offering of the product's offering family (a tier
        change: fibre 500 → 1000) of the same product specification; other lines name the
        product's own offering or none."""
        current = self.registry.offerings.get(product.offering_key)
        wanted = self.registry.offerings.get(offering_key)
        if action != "modify" or current is None or wanted is None:
            return FieldError(path, "does not match the product's offering", CommonErrorCode.INVALID)
        if current.family is None or wanted.family != current.family:
            family = f"family {current.family!r}" if current.family else "no family"
            return FieldError(
                path,
                f"{offering_key!r} is not a tier of the product's offering {product.offering_key!r} ({family})",
                InventoryErrorCode.NOT_IN_FAMILY,
            )
        if wanted.product_spec != current.product_spec:
            return FieldError(
                path,
                f"{offering_key!r} is specified by {wanted.product_spec!r}, the product by {current.product_spec!r}",
                InventoryErrorCode.TIER_CHANGE_SPECIFICATION,
            )
        return None

    def _line(
        self,
        index: int,
        line: LineInput,
        customer_id: str,
        products: dict[int, Product],
        errors: list[FieldError],
        own: Mapping[int, str],
        pending: Mapping[int, tuple[PendingSuspend, str | None]],
    ) -> ValidLine | None:
        path = f"lines.{index}"
        if line.action not in ALL_ACTIONS:
            errors.append(
                FieldError(f"{path}.action", f"must be one of {', '.join(ALL_ACTIONS)}", CatalogErrorCode.INVALID_ACTION)
            )
            return None
        product = None
        offering_key = line.offering
        if line.action == "add":
            if line.product_id is not None:
                errors.append(
                    FieldError(f"{path}.productId", "an add line cannot name an existing product", CommonErrorCode.INVALID)
                )
                return None
        else:
            if line.product_id is None:
                errors.append(
                    FieldError(f"{path}.productId", f"a {line.action} line must name the product", CommonErrorCode.REQUIRED)
                )
                return None
            product = products.get(line.product_id)
            if product is None or product.customer_id != customer_id:
                errors.append(
                    FieldError(f"{path}.productId", "no such product for this customer", InventoryErrorCode.UNKNOWN_PRODUCT)
                )
                return None
            status_error = None
            if own.get(product.id) != line.action:
                status_error = product_status_error(line.action, product.status, f"{path}.productId")
            if status_error is not None and line.action == "resume" and product.id in pending:
                # An active product whose suspend has not happened: the resume voids it, or is told why not.
                suspend, refused = pending[product.id]
                status_error = None if refused is None else suspend_pending_error(f"{path}.productId", suspend, refused)
            if status_error is not None:
                errors.append(status_error)
                return None
            if offering_key is not None and offering_key != product.offering_key:
                tier_error = self._tier_change_error(line.action, product, offering_key, f"{path}.offering")
                if tier_error is not None:
                    errors.append(tier_error)
                    return None
            else:
                offering_key = product.offering_key
        if not offering_key:
            errors.append(FieldError(f"{path}.offering", "is required", CommonErrorCode.REQUIRED))
            return None
        offering = self.registry.offerings.get(offering_key)
        if offering is None:
            errors.append(FieldError(f"{path}.offering", f"unknown offering {offering_key!r}", CatalogErrorCode.UNKNOWN_OFFERING))
            return None
        spec = self.registry.specifications[offering.product_spec]
        if line.action == "add":
            if not offering.min_quantity <= line.quantity <= offering.max_quantity:
                errors.append(
                    FieldError(
                        f"{path}.quantity",
                        f"must be between {offering.min_quantity} and {offering.max_quantity}",
                        OrderingErrorCode.QUANTITY_OUT_OF_RANGE,
                    )
                )
                return None
        elif line.quantity != 1:
            errors.append(
                FieldError(
                    f"{path}.quantity", f"a {line.action} line changes one product", OrderingErrorCode.QUANTITY_OUT_OF_RANGE
                )
            )
            return None
        char_errors: list[FieldError]
        rules = self.registry.rules_for(offering.key)
        if product is None:  # an add line: modify and delete lines named a product of the customer's
            chars, char_errors = check_characteristics(
                rules, line.characteristics, f"{path}.characteristics", apply_defaults=True
            )
        elif line.action in ("delete", "suspend", "resume"):
            if line.characteristics:
                errors.append(
                    FieldError(
                        f"{path}.characteristics", f"a {line.action} line carries no characteristics", CommonErrorCode.INVALID
                    )
                )
                return None
            chars, char_errors = dict(product.characteristics), []
        else:
            # The product also carries values produced during fulfilment (serials, numbers);
            # only the specification's own characteristics are orderable.
            declared = {c.name for c in spec.characteristics}
            current = {k: v for k, v in product.characteristics.items() if k in declared}
            if offering.key != product.offering_key:
                # A tier change: what the old tier fixed (fibre 500's bandwidth) and the new one
                # does not allow takes the new tier's default, unless the line gives it.
                _, outgrown = check_characteristics(rules, current, "", apply_defaults=False)
                current = {k: v for k, v in current.items() if f".{k}" not in {e.field for e in outgrown}}
            merged = {**current, **line.characteristics}
            chars, char_errors = check_characteristics(rules, merged, f"{path}.characteristics", apply_defaults=True)
            if char_errors:
                # What the product held before today's rules (an address from before a pattern) is
                # not the line's to fix: only problems the line's own values bring are reported.
                _, held = check_characteristics(rules, current, f"{path}.characteristics", apply_defaults=True)
                grandfathered = {(e.field, e.code) for e in held}
                given = {f"{path}.characteristics.{name}" for name in line.characteristics}
                kept = [e for e in char_errors if e.field not in given and (e.field, e.code) in grandfathered]
                char_errors = [e for e in char_errors if e not in kept]
                prefix = f"{path}.characteristics."
                for e in kept:  # the held value stays the product's
                    name = e.field.removeprefix(prefix)
                    if name in current:
                        chars[name] = current[name]
        char_errors += _check_cardinalities(spec, self.registry.specifications, chars, f"{path}.characteristics")
        if char_errors:
            errors.extend(char_errors)
            return None
        priced = line.action == "add"
        return ValidLine(
            line_number=index + 1,
            action=line.action,
            offering=offering,
            spec=spec,
            quantity=line.quantity,
            characteristics=chars,
            product_id=line.product_id,
            product=product,
            price_adjustments=line.price_adjustments,
            relationships=line.relationships,
            unit_one_time_price=money(offering.one_time_price if priced else Decimal("0")),
            unit_recurring_price=money(offering.recurring_price if priced else Decimal("0")),
        )
