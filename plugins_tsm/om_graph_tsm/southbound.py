"""The simulated southbound side of the pack: deterministic identifiers and simulated systems.

Identifiers: every value a handler "allocates" is derived from the task's idempotency key (plus a
purpose label, so two identifiers of one task differ), never drawn at random: a retried task yields
the same serial, address or number, and a different task yields a different one.

Systems: an :class:`om_graph.api.SimulatedSystem` records what handlers did so ``undo`` can release it. Real
deployments replace these with adapters to OSS inventory, the OLT element manager, the HLR, the
logistics provider... keeping the same contract: ``allocate`` with an idempotency key already seen
returns the first record unchanged (a retry is recognised); ``release`` of an unknown or already
released key is a no-op. Per process, in memory.

Reverse operations: each handler's ``undo`` (handlers_*.py, "undo") calls ``reverse(undo key,
compensated key)`` through ``om_graph.api.released_outcome``: it releases the record of the task
it compensates once per undo key (a retried undo releases nothing more), and an operation the
system no longer has (released already, or never recorded in this process) is a success.
"""

from __future__ import annotations

import ipaddress

from om_graph.api import SimulatedSystem, as_int, digest
from om_graph.api import digits as digits
from om_graph.api import token as token


def hex_token(key: str, purpose: str, length: int = 8) -> str:
    return digest(key, purpose).hex()[:length].upper()


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


# --- simulated systems (om_graph.api.SimulatedSystem) -------------------------------------------

NETWORK_INVENTORY = SimulatedSystem("tsm-network-inventory")
"""Access lines, OLT ports, ONTs, static IPs, WAN links, MSISDNs, SIMs."""

ELEMENT_MANAGER = SimulatedSystem("tsm-element-manager")
"""Configuration pushed to network elements (ONT, router ACS, SD-WAN orchestrator, HLR/HSS)."""

LOGISTICS = SimulatedSystem("tsm-logistics")
"""Shipments of CPE to customers and returns."""

BILLING = SimulatedSystem("tsm-billing")

ALL_SYSTEMS = (NETWORK_INVENTORY, ELEMENT_MANAGER, LOGISTICS, BILLING)
