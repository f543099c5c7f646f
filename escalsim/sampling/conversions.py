"""Parameters from what a scenario writes: a 90% range as a normal or lognormal, a chance within some days as a
daily rate, and the mean of each distribution."""

from __future__ import annotations

import inspect
from math import exp, inf, isfinite, log, log1p
from statistics import NormalDist

from escalsim.sampling.continuous import check_ordered

_Z95 = NormalDist().inv_cdf(0.95)
def normal_from_90(low: float, high: float) -> tuple[float, float]:
    """(mean, sd) of the normal with 5% and 95% quantiles ``low`` and ``high``; ValueError unless finite low < high."""
    if not (isfinite(low) and isfinite(high) and low < high):
        raise ValueError(f"need finite low < high, got {low}, {high}")
    return (low + high) / 2.0, (high - low) / (2.0 * _Z95)


def lognormal_from_90(low: float, high: float) -> tuple[float, float]:
    """(mu, sigma) of the lognormal with 5% and 95% quantiles ``low`` and ``high``; ValueError unless
    0 < low < high < inf."""
    if not (0.0 < low < high < inf):
        raise ValueError(f"need 0 < low < high < inf, got {low}, {high}")
    return normal_from_90(log(low), log(high))


def rate_from_probability(p: float, days: float) -> float:
    """Rate λ with 1 - exp(-λ days) = p: λ = -ln(1 - p)/days; p = 1 gives ``inf``.

    Raises ValueError unless 0 <= p <= 1 and 0 < days < inf."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if not 0.0 < days < inf:
        raise ValueError(f"days must be finite and > 0, got {days}")
    if p == 1.0:
        return inf
    return -log1p(-p) / days


def _mean_triangular(low: float, mode: float, high: float) -> float:
    check_ordered(low, mode, high)
    return (low + mode + high) / 3.0


def _mean_pert(low: float, mode: float, high: float, lamb: float = 4.0) -> float:
    check_ordered(low, mode, high)
    return (low + lamb * mode + high) / (lamb + 2.0)


_MEANS = {
    "fixed": lambda value: value,
    "uniform": lambda low, high: (low + high) / 2.0,
    "triangular": _mean_triangular,
    "pert": _mean_pert,
    "normal": lambda mean, sd: mean,
    "lognormal": lambda mu, sigma: exp(mu + sigma * sigma / 2.0),
    "gamma": lambda shape, scale: shape * scale,
    "beta": lambda a, b: a / (a + b),
    "exponential": lambda rate: inf if rate == 0 else 1.0 / rate,
    "poisson": lambda lam: lam,
    "binomial": lambda n, p: n * p,
    "bernoulli": lambda p: p,
}


_MEAN_SIGNATURES = {kind: inspect.signature(fn) for kind, fn in _MEANS.items()}


def mean_of(kind: str, **params: float) -> float:
    """Mean of distribution ``kind`` with the samplers' parameter names (``'fixed'`` takes ``value``).

    Raises ValueError for an unknown kind, parameters that kind does not take, or a triangular or pert
    without low <= mode <= high."""
    try:
        signature = _MEAN_SIGNATURES[kind]
    except KeyError:
        raise ValueError(f"unknown distribution kind {kind!r}; "
                         f"expected one of {', '.join(sorted(_MEANS))}") from None
    try:
        signature.bind(**params)
    except TypeError as err:
        raise ValueError(f"{kind} takes parameters ({', '.join(signature.parameters)}): {err}") from None
    return float(_MEANS[kind](**params))
