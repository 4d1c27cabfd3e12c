"""Decimal amounts and their rounding per currency (ISO 4217 minor units).

Rounding is ``ROUND_HALF_UP`` (half away from zero, as PostgreSQL's numeric and
``kernel.models.money`` round), and it happens in one place per amount the API shows: a line's
base amount (unit price x quantity), each price alteration's amount, and each tax-included amount.
Nothing in between is rounded (a percentage is applied to the exact running amount, which is
itself a sum of rounded amounts), so a total is always the exact sum of the amounts it lists.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units of the currencies om-graph knows. A price list in a currency missing here
# is refused when the registry is built.
MINOR_UNITS: dict[str, int] = {
    # 0 decimals
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # 3 decimals
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # 4 decimals
    "CLF": 4, "UYW": 4,
    # 2 decimals
    "AED": 2, "ARS": 2, "AUD": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2,
    "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "MAD": 2,
    "MXN": 2, "MYR": 2, "NGN": 2, "NOK": 2, "NZD": 2, "PHP": 2, "PLN": 2, "QAR": 2, "RON": 2,
    "RUB": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TRY": 2, "TWD": 2, "UAH": 2, "USD": 2,
    "ZAR": 2,
}  # fmt: skip

ZERO = Decimal(0)
HUNDRED = Decimal(100)
_QUANTA = {digits: Decimal(1).scaleb(-digits) for digits in set(MINOR_UNITS.values())}


def minor_units(currency: str) -> int:
    """The currency's decimals; KeyError for a currency om-graph does not know."""
    return MINOR_UNITS[currency]


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` in the currency's minor unit, half away from zero."""
    return amount.quantize(_QUANTA[MINOR_UNITS[currency]], rounding=ROUND_HALF_UP)


def percent_of(amount: Decimal, percentage: Decimal) -> Decimal:
    """``percentage`` % of ``amount``, exact (the caller rounds)."""
    return amount * percentage / HUNDRED


def text(amount: Decimal) -> str:
    """How an amount is stored in JSON: a string, so no binary float ever touches it."""
    return format(amount, "f")
