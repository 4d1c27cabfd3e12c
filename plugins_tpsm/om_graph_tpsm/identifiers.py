"""Deterministic identifiers: derived from a stable key (a task's idempotency key, or a natural
key such as a tenant domain), never random, so a retried task yields the same value."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_BASE32 = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def as_int(key: str, purpose: str) -> int:
    if not key:
        raise ValueError("a key is required to derive an identifier")
    return int.from_bytes(hashlib.sha256(f"{purpose}\x1f{key}".encode()).digest(), "big")


def token(key: str, purpose: str, length: int = 8) -> str:
    n = as_int(key, purpose)
    out = []
    for _ in range(length):
        n, rem = divmod(n, len(_BASE32))
        out.append(_BASE32[rem])
    return "".join(out)


def digits(key: str, purpose: str, count: int) -> str:
    return str(as_int(key, purpose) % 10**count).zfill(count)


def slug(text: str, max_length: int = 40) -> str:
    """Lower-case DNS-label-safe slug: 'ACME Corp. (NL)' -> 'acme-corp-nl'."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_length].strip("-")
