"""How figures are written: rounded for files and payloads.

One place for it, so that every file and payload writes a figure the same way. Nothing
here computes a KPI.
"""

from __future__ import annotations


def rounded(name: str, value: object, ratio_digits: int = 4) -> object:
    """A figure rounded for a file or a payload, by what its name says it is.

    Durations (``*_s``) to 0.1 s, minutes and money to 0.01, moments (``*_at``) to 1 ms,
    other fractional figures (ratios) to ``ratio_digits`` decimals; counts as they are.
    """
    if not isinstance(value, float):
        return value
    if name.endswith("_s"):
        return round(value, 1)
    if name.endswith("_minutes") or name == "cost_per_call":
        return round(value, 2)
    if name.endswith("_at"):
        return round(value, 3)
    return round(value, ratio_digits)
