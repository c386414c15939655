"""Statistics the benchmarks share."""

from __future__ import annotations

import statistics


def percentile(values: list[float], pct: float) -> float:
    """The ``pct``-th percentile of ``values`` (``statistics.quantiles``, inclusive method: within the measured
    range); 0.0 for no values."""
    if len(values) < 2:
        return values[0] if values else 0.0
    if pct >= 100:
        return max(values)
    if pct <= 0:
        return min(values)
    cut = statistics.quantiles(values, n=1000, method="inclusive")
    return cut[round(pct * 10) - 1]
