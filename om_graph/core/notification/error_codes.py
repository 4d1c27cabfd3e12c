"""Error codes of the event hub: refused registrations and admin actions on deliveries."""

from __future__ import annotations

from enum import StrEnum


class NotificationErrorCode(StrEnum):
    INVALID_CALLBACK = "INVALID_CALLBACK"  # a listener's callback is not an absolute http(s) URL
    INVALID_HUB_QUERY = "INVALID_HUB_QUERY"  # a listener's query is not one the hub understands (eventType=A,B)
    UNKNOWN_LISTENER = "UNKNOWN_LISTENER"  # no such (active, own) listener
    UNKNOWN_DELIVERY = "UNKNOWN_DELIVERY"  # no such delivery (hubDeliveryRetry, hubDeliverySkip)
    DELIVERY_NOT_DEAD = "DELIVERY_NOT_DEAD"  # only a dead delivery is retried or skipped by hand
