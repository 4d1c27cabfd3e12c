"""The simulated southbound side of the pack: deterministic identifiers and simulated systems.

Identifiers: every value a handler "allocates" is derived from the task's idempotency key (plus a
purpose label, so two identifiers of one task differ), never drawn at random: a retried task yields
the same serial, address or number, and a different task yields a different one.

Systems: a :class:`SimulatedSystem` records what handlers did so ``undo`` can release it. Real
deployments replace these with adapters to OSS inventory, the OLT element manager, the HLR, the
logistics provider... keeping the same contract: ``allocate`` with an idempotency key already seen
returns the first record unchanged (a retry is recognised); ``release`` of an unknown or already
released key is a no-op. Per process, in memory.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import threading
from collections.abc import Mapping
from typing import Any

_BASE32 = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: readable on labels and phone calls


def digest(key: str, purpose: str) -> bytes:
    if not key:
        raise ValueError("an idempotency key is required to derive an identifier")
    return hashlib.sha256(f"{purpose}\x1f{key}".encode()).digest()


def as_int(key: str, purpose: str) -> int:
    return int.from_bytes(digest(key, purpose), "big")


def token(key: str, purpose: str, length: int = 8) -> str:
    """An upper-case readable token of ``length`` characters."""
    n = as_int(key, purpose)
    chars = []
    for _ in range(length):
        n, rem = divmod(n, len(_BASE32))
        chars.append(_BASE32[rem])
    return "".join(chars)


def hex_token(key: str, purpose: str, length: int = 8) -> str:
    return digest(key, purpose).hex()[:length].upper()


def digits(key: str, purpose: str, count: int) -> str:
    """``count`` decimal digits (leading zeros kept)."""
    return str(as_int(key, purpose) % 10**count).zfill(count)


def pick(key: str, purpose: str, choices: tuple | list):
    return choices[as_int(key, purpose) % len(choices)]


def luhn_check_digit(number: str) -> str:
    """The Luhn (mod 10) check digit for ``number``, as used on ICCIDs and IMEIs."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 0:  # positions that get doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def host_in_pools(key: str, purpose: str, pools: tuple[str, ...]) -> str:
    """A usable host address (not network or broadcast) from one of ``pools``."""
    networks = [ipaddress.ip_network(p) for p in pools]
    sizes = [net.num_addresses - 2 for net in networks]
    n = as_int(key, purpose) % sum(sizes)
    for net, size in zip(networks, sizes):
        if n < size:
            return str(net.network_address + 1 + n)
        n -= size
    raise AssertionError("unreachable")


def subnet_in_pool(key: str, purpose: str, pool: str, prefix: int) -> str:
    """One ``/prefix`` subnet of ``pool`` (for point-to-point transit links)."""
    net = ipaddress.ip_network(pool)
    count = 2 ** (prefix - net.prefixlen)
    index = as_int(key, purpose) % count
    return str(ipaddress.ip_network((int(net.network_address) + index * 2 ** (net.max_prefixlen - prefix), prefix)))


# --- simulated systems ------------------------------------------------------------------------

log = logging.getLogger(__name__)


class SimulatedSystem:
    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self._active: dict[str, dict[str, Any]] = {}
        self._released: set[str] = set()

    def allocate(self, idempotency_key: str, record: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            existing = self._active.get(idempotency_key)
            if existing is not None:
                return dict(existing)
            self._active[idempotency_key] = dict(record)
            self._released.discard(idempotency_key)
        log.info("%s: allocated %s for %s", self.name, dict(record), idempotency_key)
        return dict(record)

    def release(self, idempotency_key: str) -> bool:
        """Release what ``allocate`` recorded; True if something was released now."""
        with self._lock:
            record = self._active.pop(idempotency_key, None)
            if record is None:
                return False
            self._released.add(idempotency_key)
        log.info("%s: released %s for %s", self.name, record, idempotency_key)
        return True

    def get(self, idempotency_key: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._active.get(idempotency_key)
            return dict(record) if record is not None else None

    def was_released(self, idempotency_key: str) -> bool:
        with self._lock:
            return idempotency_key in self._released

    def active_count(self) -> int:
        with self._lock:
            return len(self._active)

    def clear(self) -> None:
        with self._lock:
            self._active.clear()
            self._released.clear()


NETWORK_INVENTORY = SimulatedSystem("tsm-network-inventory")
"""Access lines, OLT ports, ONTs, static IPs, WAN links, MSISDNs, SIMs."""

ELEMENT_MANAGER = SimulatedSystem("tsm-element-manager")
"""Configuration pushed to network elements (ONT, router ACS, SD-WAN orchestrator, HLR/HSS)."""

LOGISTICS = SimulatedSystem("tsm-logistics")
"""Shipments of CPE to customers and returns."""

BILLING = SimulatedSystem("tsm-billing")

ALL_SYSTEMS = (NETWORK_INVENTORY, ELEMENT_MANAGER, LOGISTICS, BILLING)
