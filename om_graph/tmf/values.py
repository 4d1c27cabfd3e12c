"""Small value conventions of the TMF documents: UTC date-times with ``Z``, ``*Ref`` objects."""

from __future__ import annotations

from datetime import datetime
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
