"""Error codes of the read side (connections and their cursors)."""

from __future__ import annotations

from enum import StrEnum


class ReadsErrorCode(StrEnum):
    INVALID_CURSOR = "INVALID_CURSOR"
