"""Pricing settings: how large a manual discount each role may give without approval.

``OM_GRAPH_PRICE_LIMIT_<ROLE>`` (a percentage, e.g. ``OM_GRAPH_PRICE_LIMIT_ORDER_AGENT=10``)
overrides a role's limit. An actor's limit is the largest of its roles'; a manual discount beyond
it is accepted and flags the order (``discount_over_limit``) so that the approval policy requires
approval. A role with the price:adjust permission and no limit has a limit of 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from om_graph.core.kernel.errors import PluginConfigurationError

DEFAULT_DISCOUNT_LIMITS: dict[str, Decimal] = {
    "order_agent": Decimal("10"),
    "order_manager": Decimal("25"),
}
ENV_PREFIX = "OM_GRAPH_PRICE_LIMIT_"


@dataclass(frozen=True)
class PricingSettings:
    discount_limits: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_DISCOUNT_LIMITS))

    def limit_for(self, roles: Iterable[str]) -> Decimal:
        return max((self.discount_limits.get(role, Decimal("0")) for role in roles), default=Decimal("0"))

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> PricingSettings:
        limits = dict(DEFAULT_DISCOUNT_LIMITS)
        for name, value in environ.items():
            if not name.startswith(ENV_PREFIX) or value == "":
                continue
            role = name[len(ENV_PREFIX) :].lower()
            try:
                limit = Decimal(value)
            except InvalidOperation:
                raise PluginConfigurationError(f"{name}: not a percentage: {value!r}") from None
            if not limit.is_finite() or not Decimal(0) <= limit <= Decimal(100):
                raise PluginConfigurationError(f"{name}: a percentage between 0 and 100, not {value!r}")
            limits[role] = limit
        return cls(limits)
