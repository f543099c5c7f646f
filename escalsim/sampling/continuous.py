"""Continuous distributions drawn from a stream: inversion where it is exact (one uniform per draw), rejection
for gamma, beta and PERT."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from math import exp, inf, log, log1p, sqrt
from statistics import NormalDist

from escalsim.sampling.streams import RandomSource

# The standard normal quantile: statistics.NormalDist.inv_cdf without its argument checks and method call,
# the C accelerator where built (the same function NormalDist calls, so the same numbers).
_INV_CDF = getattr(statistics, "_normal_dist_inv_cdf", None) or (lambda p, mu, sigma: NormalDist(mu, sigma).inv_cdf(p))
def check_ordered(low: float, mode: float, high: float) -> None:
    """Raise ValueError unless low <= mode <= high."""
    if not low <= mode <= high:
        raise ValueError(f"need low <= mode <= high, got {low}, {mode}, {high}")


def _open_unit(r: RandomSource) -> float:
    """Uniform on (0, 1): ``random()`` with the (probability 2**-53) zero redrawn."""
    u = r.random()
    while u == 0.0:
        u = r.random()
    return u


def uniform_sampler(low: float, high: float) -> Callable[[RandomSource], float]:
    """Uniform on [low, high) as a one-argument draw function (the form the engine calls per use)."""
    span = high - low
    return lambda r: low + span * r.random()


def uniform(r: RandomSource, low: float, high: float) -> float:
    """Uniform on [low, high)."""
    return uniform_sampler(low, high)(r)


def triangular_sampler(low: float, mode: float, high: float) -> Callable[[RandomSource], float]:
    """Triangular on [low, high] peaking at ``mode``, by inversion of its CDF, as a draw function."""
    check_ordered(low, mode, high)
    span, left, right = high - low, mode - low, high - mode

    def draw(r: RandomSource) -> float:
        u = r.random()
        if span == 0.0:
            return low
        us = u * span
        if us < left:
            return low + sqrt(us * left)  # u * span * left, multiplied in that order
        return high - sqrt((1.0 - u) * span * right)

    return draw


def triangular(r: RandomSource, low: float, mode: float, high: float) -> float:
    """Triangular on [low, high] peaking at ``mode``, by inversion of its CDF."""
    return triangular_sampler(low, mode, high)(r)


def pert(r: RandomSource, low: float, mode: float, high: float, lamb: float = 4.0) -> float:
    """Beta-PERT: ``low + (high - low) * Beta(1 + lamb*(mode-low)/span, 1 + lamb*(high-mode)/span)``.

    Raises ValueError unless low <= mode <= high and 0 <= lamb < inf."""
    check_ordered(low, mode, high)
    if not 0.0 <= lamb < inf:
        raise ValueError(f"lamb must be finite and >= 0, got {lamb}")
    span = high - low
    if span == 0.0:
        return low
    x = _std_gamma_ge1(r, 1.0 + lamb * (mode - low) / span)
    y = _std_gamma_ge1(r, 1.0 + lamb * (high - mode) / span)
    return low + span * (x / (x + y))


def normal_sampler(mean: float, sd: float, log: bool = False,
                   clip: tuple[float, float] | None = None) -> Callable[[RandomSource], float]:
    """Normal(mean, sd) by inversion (sd 0 gives ``mean``), or exp of it if ``log``, as a draw function;
    with ``clip`` (low, high), each draw is ``min(max(x, low), high)``, in the same frame.

    Raises ValueError unless sd >= 0."""
    if not sd >= 0.0:
        raise ValueError(f"sd must be >= 0, got {sd}")

    def draw(r: RandomSource) -> float:
        u = r.random()
        while u == 0.0:  # as _open_unit, inline
            u = r.random()
        return mean + sd * _INV_CDF(u, 0.0, 1.0)

    if clip is not None:
        low, high = clip
        if log:
            def clipped(r: RandomSource) -> float:
                u = r.random()
                while u == 0.0:
                    u = r.random()
                return min(max(exp(mean + sd * _INV_CDF(u, 0.0, 1.0)), low), high)
        else:
            def clipped(r: RandomSource) -> float:
                u = r.random()
                while u == 0.0:
                    u = r.random()
                return min(max(mean + sd * _INV_CDF(u, 0.0, 1.0), low), high)
        return clipped
    return (lambda r: exp(draw(r))) if log else draw


def pert_sampler(low: float, mode: float, high: float, lamb: float = 4.0) -> Callable[[RandomSource], float]:
    """Beta-PERT as a draw function: `pert` with its shapes and its two gammas' constants computed once, and
    both Marsaglia-Tsang loops (`_std_gamma_ge1`) in one frame: the same draws, the same numbers.

    Raises ValueError unless low <= mode <= high and 0 <= lamb < inf."""
    check_ordered(low, mode, high)
    if not 0.0 <= lamb < inf:
        raise ValueError(f"lamb must be finite and >= 0, got {lamb}")
    span = high - low
    if span == 0.0:
        return lambda r: low
    dx = 1.0 + lamb * (mode - low) / span - 1.0 / 3.0
    dy = 1.0 + lamb * (high - mode) / span - 1.0 / 3.0
    cx, cy = 1.0 / sqrt(9.0 * dx), 1.0 / sqrt(9.0 * dy)

    def draw(r: RandomSource) -> float:
        while True:  # Gamma(shape x) / Gamma(shape y) as _std_gamma_ge1, written out twice
            u = r.random()
            while u == 0.0:
                u = r.random()
            x = _INV_CDF(u, 0.0, 1.0)
            v = 1.0 + cx * x
            if v <= 0.0:
                continue
            v = v * v * v
            u = 1.0 - r.random()
            x2 = x * x
            if u < 1.0 - 0.0331 * x2 * x2 or log(u) < 0.5 * x2 + dx * (1.0 - v + log(v)):
                gx = dx * v
                break
        while True:
            u = r.random()
            while u == 0.0:
                u = r.random()
            x = _INV_CDF(u, 0.0, 1.0)
            v = 1.0 + cy * x
            if v <= 0.0:
                continue
            v = v * v * v
            u = 1.0 - r.random()
            x2 = x * x
            if u < 1.0 - 0.0331 * x2 * x2 or log(u) < 0.5 * x2 + dy * (1.0 - v + log(v)):
                gy = dy * v
                break
        return low + span * (gx / (gx + gy))

    return draw


def normal(r: RandomSource, mean: float, sd: float) -> float:
    """Normal(mean, sd) by inversion (``statistics.NormalDist.inv_cdf``); sd 0 gives ``mean``."""
    return normal_sampler(mean, sd)(r)


def lognormal(r: RandomSource, mu: float, sigma: float) -> float:
    """exp(Normal(mu, sigma))."""
    return normal_sampler(mu, sigma, log=True)(r)


def _std_gamma_ge1(r: RandomSource, shape: float) -> float:
    """Gamma(shape, 1) for shape >= 1: Marsaglia & Tsang (2000)."""
    d = shape - 1.0 / 3.0
    c = 1.0 / sqrt(9.0 * d)
    while True:
        x = _INV_CDF(_open_unit(r), 0.0, 1.0)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = 1.0 - r.random()  # (0, 1]: log(u) is finite
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2 or log(u) < 0.5 * x2 + d * (1.0 - v + log(v)):
            return d * v


def _log_std_gamma(r: RandomSource, shape: float) -> float:
    """log Gamma(shape, 1); for shape < 1 uses log G(shape+1) + log(U)/shape, free of underflow."""
    if shape >= 1.0:
        return log(_std_gamma_ge1(r, shape))
    g = _std_gamma_ge1(r, shape + 1.0)
    return log(g) + log(1.0 - r.random()) / shape


def gamma(r: RandomSource, shape: float, scale: float) -> float:
    """Gamma with ``shape`` > 0 and ``scale`` >= 0 (mean shape*scale).

    Marsaglia-Tsang; for shape < 1, ``G(shape+1) * U**(1/shape)``, which
    underflows to 0.0 only where the true value is below ~1e-308.

    Raises ValueError unless shape > 0 and scale >= 0.
    """
    if not shape > 0.0:
        raise ValueError(f"shape must be > 0, got {shape}")
    if not scale >= 0.0:
        raise ValueError(f"scale must be >= 0, got {scale}")
    if shape >= 1.0:
        return scale * _std_gamma_ge1(r, shape)
    g = _std_gamma_ge1(r, shape + 1.0)
    return scale * g * (1.0 - r.random()) ** (1.0 / shape)


def beta(r: RandomSource, a: float, b: float) -> float:
    """Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b); in log space when a or b < 1.

    Raises ValueError unless a > 0 and b > 0."""
    if not a > 0.0:
        raise ValueError(f"a must be > 0, got {a}")
    if not b > 0.0:
        raise ValueError(f"b must be > 0, got {b}")
    if a >= 1.0 and b >= 1.0:
        x = _std_gamma_ge1(r, a)
        return x / (x + _std_gamma_ge1(r, b))
    d = _log_std_gamma(r, b) - _log_std_gamma(r, a)  # X/(X+Y) = 1/(1 + exp(d))
    if d > 0.0:
        t = exp(-d)
        return t / (1.0 + t)
    return 1.0 / (1.0 + exp(d))


def exponential(r: RandomSource, rate: float) -> float:
    """Exponential with ``rate`` >= 0 by inversion, ``-log(1-u)/rate``; rate 0 gives ``inf``.

    Raises ValueError unless rate >= 0."""
    if not rate >= 0.0:
        raise ValueError(f"rate must be >= 0, got {rate}")
    u = r.random()
    if rate == 0.0:
        return inf
    return -log1p(-u) / rate
