"""Pricing: price lists and their defaulting, offering prices (one-time, recurring, usage),
pricing matrices (decision tables), automatic and manual adjustments applied in a defined order,
TMF622 price shapes per line and order, Decimal arithmetic with ISO 4217 rounding, MACD deltas."""
