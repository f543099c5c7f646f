"""Interval estimates for probabilities from Monte Carlo runs. A leaf: imports nothing from the package."""

from __future__ import annotations

import numpy as np

Z95 = 1.959963984540054


def wilson(k, n, z: float = Z95):
    """Wilson score interval for k successes in n trials: (estimate, low, high); works on arrays."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return p, np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def wilson_half_width(k, n, z: float = Z95):
    """Half the width of the Wilson score interval for k successes in n trials; works on arrays."""
    _, low, high = wilson(k, n, z)
    return (high - low) / 2
