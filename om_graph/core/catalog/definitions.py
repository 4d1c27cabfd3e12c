"""Catalog definitions as packs ship them (TMF620-shaped, immutable).

A pack returns a :class:`CatalogContribution` from ``om_register_catalog``; the catalog service
stores it in the database (so orders reference stable rows) and keeps an in-memory index for
validation and decomposition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from om_graph.core.catalog.constraints import CharacteristicConstraint, DependentConstraint
from om_graph.core.catalog.prices import PriceListDef
from om_graph.core.kernel.errors import PluginConfigurationError

ValueType = Literal["string", "integer", "number", "boolean"]
SpecKind = Literal["product", "service", "resource"]
TaskKind = Literal["automatic", "manual"]
# TMF622's add, modify and delete, and suspend and resume of an installed product (TMF has them
# as a modify to a target status; om-graph names them, the TMF facade maps them).
LineAction = Literal["add", "modify", "delete", "suspend", "resume"]
ALL_ACTIONS: tuple[LineAction, ...] = ("add", "modify", "delete", "suspend", "resume")
# What a task template runs for unless it says (suspend and resume work is opted into).
TEMPLATE_ACTIONS: tuple[LineAction, ...] = ("add", "modify", "delete")
# Point of no return (core/change/ponr.py): once a task of a template with one has started, a
# ``hard`` one refuses revision and cancellation of its line; a ``soft`` one allows them with an
# acknowledgement and its template's ``ponr_charge``.
PonrKind = Literal["hard", "soft"]

# The longest string value a characteristic accepts unless its specification says otherwise
# (``CharacteristicDef.max_length``), and the most any specification may allow.
DEFAULT_STRING_MAX_LENGTH = 255
STRING_MAX_LENGTH_CEILING = 4000
# Integer values are stored as JSON and read back by other systems: keep them to 64 bits.
INTEGER_RANGE = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class CharacteristicDef:
    """A characteristic of a specification: its type, whether it is required, its allowed values."""

    name: str
    value_type: ValueType = "string"
    required: bool = False
    allowed_values: tuple[Any, ...] | None = None
    default: Any = None
    min_value: float | None = None
    max_value: float | None = None
    description: str = ""
    max_length: int | None = None  # strings only; DEFAULT_STRING_MAX_LENGTH when not given
    pattern: str | None = None  # strings only: a regular expression the whole value must match

    def __post_init__(self) -> None:
        if self.max_length is None:
            return
        if self.value_type != "string":
            raise PluginConfigurationError(f"characteristic {self.name!r}: max_length applies to strings only")
        if not 1 <= self.max_length <= STRING_MAX_LENGTH_CEILING:
            raise PluginConfigurationError(
                f"characteristic {self.name!r}: max_length must be between 1 and {STRING_MAX_LENGTH_CEILING}"
            )

    @property
    def effective_max_length(self) -> int | None:
        """The longest accepted string value (None for other value types)."""
        if self.value_type != "string":
            return None
        return self.max_length or DEFAULT_STRING_MAX_LENGTH


@dataclass(frozen=True)
class SpecRelationshipDef:
    """``source`` is realized as / requires ``target``, ``min..max`` times.

    ``count_from`` names a characteristic of the order line whose value gives the count (checked
    against min and max at capture); otherwise the count is ``min_cardinality``.

    ``needs`` (staggered decomposition, core/fulfilment/staggered.py) names characteristics of the
    source that must be known to decompose the target: while one is missing on the line, the target
    is parked (a DecompositionWait) and the line is pending; the rest is built and runs.
    """

    target: str
    relationship_type: Literal["realizedAs", "requires", "bundles"] = "realizedAs"
    min_cardinality: int = 1
    max_cardinality: int = 1
    count_from: str | None = None
    needs: tuple[str, ...] = ()


DependencyType = Literal["finishToStart", "startToStart", "finishToFinish", "startToFinish"]


@dataclass(frozen=True)
class TaskDependencyDef:
    """A typed dependency on another template of the same specification: ``finishToStart`` (the
    task starts once ``on`` finished), ``startToStart``, ``finishToFinish`` or ``startToFinish``,
    ``lag`` after the predecessor's start or finish (a negative lag is a lead)."""

    on: str
    type: DependencyType = "finishToStart"
    lag: timedelta = timedelta(0)


@dataclass(frozen=True)
class TaskTemplate:
    """One task of a specification's fulfilment pattern.

        ``depends_on`` names other templates of the same specification: a bare key is finish-to-start
        with no lag, a :class:`TaskDependencyDef` says its type and lag. ``handler`` is the key of a
        registered task handler (required for automatic tasks). ``actions`` limits the task to lines
        with those actions. ``duration`` is the task's planned duration (the schedule's; a decision
        table may override it), ``sla`` the time it may take before it is late (jeopardy; a policy or
        decision table may override it), ``role`` the work queue (assignment group) of a manual task.
    ``ponr`` makes the template a point of no return for its line once one of its tasks has started
    (``hard``: no revision or cancellation of the line; ``soft``: allowed with an acknowledgement and
    ``ponr_charge``).
    """

    key: str
    name: str
    kind: TaskKind = "automatic"
    handler: str | None = None
    depends_on: tuple[str | TaskDependencyDef, ...] = ()
    actions: tuple[LineAction, ...] = TEMPLATE_ACTIONS
    duration: timedelta | None = None
    sla: timedelta | None = None
    role: str | None = None
    ponr: PonrKind | None = None
    ponr_charge: Decimal | None = None  # a soft PONR's one-time charge, in the offering's currency

    def dependencies(self) -> tuple[TaskDependencyDef, ...]:
        return tuple(d if isinstance(d, TaskDependencyDef) else TaskDependencyDef(d) for d in self.depends_on)


@dataclass(frozen=True)
class SpecificationDef:
    key: str
    kind: SpecKind
    name: str
    characteristics: tuple[CharacteristicDef, ...] = ()
    relationships: tuple[SpecRelationshipDef, ...] = ()
    tasks: tuple[TaskTemplate, ...] = ()
    version: str = "1.0"
    description: str = ""
    constraints: tuple[DependentConstraint, ...] = ()  # between characteristics, for every offering


@dataclass(frozen=True)
class EntitlementDef:
    """An entitlement granted by a sold product: a fixed quantity, or one read from a characteristic."""

    name: str
    unit: str = "unit"
    quantity: int = 1
    quantity_from: str | None = None


@dataclass(frozen=True)
class OfferingDef:
    key: str
    name: str
    product_spec: str
    one_time_price: Decimal = Decimal("0")
    recurring_price: Decimal = Decimal("0")
    currency: str = "EUR"
    recurring_period: str = "month"
    min_quantity: int = 1
    max_quantity: int = 1
    contract_term_months: int = 12
    entitlements: tuple[EntitlementDef, ...] = ()
    description: str = ""
    # The offering's narrowing of its specification's characteristics (TMF620 prodSpecCharValueUse)
    # and its constraints between characteristics; the registry refuses any that widen.
    characteristics: tuple[CharacteristicConstraint, ...] = ()
    constraints: tuple[DependentConstraint, ...] = ()
    # Offerings of one family (e.g. the fibre speed tiers) may replace each other on an installed
    # product: a modify line naming another offering of the product's family is a tier change.
    family: str | None = None
    # A one-time fee charged when a submitted line of this offering is cancelled (None: free).
    cancellation_fee: Decimal | None = None
    # A one-time fee charged on a suspend line of a product of this offering (None: free).
    suspension_fee: Decimal | None = None


@dataclass(frozen=True)
class AttributeMapping:
    """Attribute propagation (core/catalog/propagation.py): a value of ``source_characteristic``
    recorded on a ``source_spec`` domain order (a task's output) or supplied to a line of that
    product specification flows to ``target_characteristic`` of the same line's ``target_spec``
    domain orders (and to the line itself when ``target_spec`` is its product specification).
    ``mode``: ``default`` sets it where it has no value, ``set`` overwrites it, ``validate`` only
    compares (a mismatch is recorded as an error event and changes nothing). The registry refuses
    mappings that form a cycle."""

    source_spec: str
    source_characteristic: str
    target_spec: str
    target_characteristic: str
    mode: Literal["default", "set", "validate"] = "default"


@dataclass(frozen=True)
class CatalogContribution:
    pack: str
    specifications: tuple[SpecificationDef, ...] = ()
    offerings: tuple[OfferingDef, ...] = field(default_factory=tuple)
    # Pricing (catalog/prices.py): price lists, and the decision tables of automatic adjustments
    # (promotions, rules) this pack adds to ``pricing.adjustments`` (core/pricing/tables.py).
    price_lists: tuple[PriceListDef, ...] = ()
    adjustment_tables: tuple[str, ...] = ()
    # Attribute propagation between specifications' characteristics (core/catalog/propagation.py).
    attribute_mappings: tuple[AttributeMapping, ...] = ()
