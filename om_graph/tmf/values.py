"""Small value conventions of the TMF documents: UTC date-times with ``Z``, ``*Ref`` objects."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def iso(value: datetime | None) -> str | None:
    """A stored (naive UTC) time as TMF writes it: ``2026-12-03T09:40:00.123Z``."""
    if value is None:
        return None
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def ref(ref_id: object, href: str | None, ref_type: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": str(ref_id), "@type": ref_type}
    if href is not None:
        body["href"] = href
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def number(raw: object) -> int | None:
    """An id of ours in a path or reference (ASCII digits, as the core issues them), else None."""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    return None


_AMOUNTS = ("value", "taxRate", "percentage")


def amounts(prices: Any) -> Any:
    """TMF-shaped prices as the documents type them: the core stores amounts, tax rates and
    percentages as exact decimal strings (``"49.00"``); ``Money.value``, ``Price.taxRate`` and
    ``percentage`` are JSON numbers."""
    if isinstance(prices, list):
        return [amounts(item) for item in prices]
    if not isinstance(prices, dict):
        return prices
    return {
        key: _number_of(value) if key in _AMOUNTS and isinstance(value, str) else amounts(value) for key, value in prices.items()
    }


def _number_of(text: str) -> Any:
    try:
        return float(Decimal(text))
    except (InvalidOperation, ValueError):
        return text


def value_type(value: Any) -> str:
    """A characteristic value's type when its specification declares none (in the catalog's words)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string"
