"""Error codes the access context raises (authentication, token issue)."""

from __future__ import annotations

from enum import StrEnum


class AccessErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    UNKNOWN_ROLE = "UNKNOWN_ROLE"
