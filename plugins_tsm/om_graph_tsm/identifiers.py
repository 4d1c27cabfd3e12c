"""Deterministic identifiers for simulated network inventory.

Every value a handler "allocates" is derived from the task's idempotency key (plus a purpose
label, so two identifiers of one task differ), never drawn at random: a retried task yields the
same serial, address or number, and a different task yields a different one.
"""

from __future__ import annotations

import hashlib
import ipaddress

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
