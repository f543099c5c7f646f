"""Interval estimates for probabilities from Monte Carlo runs. A leaf: imports nothing from the package.

Besides the Wilson interval of one proportion, this holds the statistics of a paired comparison with common
random numbers: arms A and B run with the same seed run by run, so run i of A and run i of B are a pair. For a
binary outcome the n pairs make a 2x2 table of counts: a (both arms), b (A only), c (B only), d (neither).
Every function takes scalars or numpy arrays of counts (broadcast together) and returns numpy values. scipy
is imported only inside the functions that need it: the Monte Carlo imports this module for `wilson` alone.
"""

from __future__ import annotations

from typing import NamedTuple

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


# ---------------------------------------------------------------------------------------------------------------
# Paired binary outcomes
# ---------------------------------------------------------------------------------------------------------------


class PairedCounts(NamedTuple):
    """The paired 2x2 table: a (both arms), b (A only), c (B only), d (neither)."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray


class PairedDifference(NamedTuple):
    """Estimate of p_A - p_B = (b - c) / n with the low and high ends of its confidence interval."""

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray


class McNemar(NamedTuple):
    """McNemar's test: discordant pairs b + c, the statistic (b - c)^2 / (b + c) and the two-sided p-value."""

    discordant: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray


class VarianceReduction(NamedTuple):
    """Per-pair variances of the difference without pairing and with it, and their ratio (the factor)."""

    factor: np.ndarray
    var_independent: np.ndarray
    var_paired: np.ndarray


def _counts(*counts) -> list[np.ndarray]:
    """Broadcast counts to float arrays of one shape.

    Parameters
    ----------
    *counts : array_like
        Non-negative counts (scalars or arrays).

    Returns
    -------
    list of numpy.ndarray
        The counts as float arrays broadcast together.

    Raises
    ------
    ValueError
        If a count is negative or the shapes do not broadcast.
    """
    arrays = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in counts))
    if any(np.any(x < 0) for x in arrays):
        raise ValueError("counts must be non-negative")
    return arrays


def _ratio(num, den):
    """num / den, with x / 0 = inf for x > 0 and 0 / 0 = nan."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(num, dtype=float) / np.asarray(den, dtype=float)


def _out(cls, *values):
    """An instance of the result tuple cls; 0-d arrays become numpy scalars, as `wilson` returns for scalars."""
    return cls(*(np.asarray(v)[()] for v in values))


def paired_counts(outcome_a, outcome_b, axis: int = -1) -> PairedCounts:
    """Count the paired 2x2 table from per-run binary outcomes of the two arms.

    Parameters
    ----------
    outcome_a, outcome_b : array_like of bool or {0, 1}
        The outcome of each run in arm A and in arm B, of one shape; element i of both is pair i.
    axis : int, optional
        The axis along which runs lie (default: the last); other axes are kept, e.g. one per variable.

    Returns
    -------
    PairedCounts
        Integer counts a (both), b (A only), c (B only), d (neither).

    Raises
    ------
    ValueError
        If the shapes differ or an outcome is not 0/1 (e.g. NaN for a missing value).
    """
    xa, xb = np.asarray(outcome_a), np.asarray(outcome_b)
    if xa.shape != xb.shape:
        raise ValueError(f"arms A and B have different shapes: {xa.shape} and {xb.shape}")
    if not (np.isin(xa, (0, 1)).all() and np.isin(xb, (0, 1)).all()):
        raise ValueError("outcomes must be boolean or 0/1")
    xa, xb = xa.astype(bool), xb.astype(bool)
    return _out(PairedCounts, *(np.sum(m, axis=axis) for m in (xa & xb, xa & ~xb, ~xa & xb, ~xa & ~xb)))


def _newcombe(a, b, c, d, z):
    """Newcombe's (1998) method 10; the arguments are broadcast float arrays. See `paired_difference`."""
    n = a + b + c + d
    p_a, low_a, high_a = wilson(a + b, n, z)
    p_b, low_b, high_b = wilson(a + c, n, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        cross = a * d - b * c
        cross = np.where(cross > 0, np.maximum(cross - n / 2, 0), cross)  # Newcombe's correction of phi
        margins = (a + b) * (c + d) * (a + c) * (b + d)
        phi = np.where(margins > 0, cross / np.sqrt(margins), 0.0)
        diff = p_a - p_b
        down_a, up_a, down_b, up_b = p_a - low_a, high_a - p_a, p_b - low_b, high_b - p_b
        below = np.sqrt(np.maximum(down_a**2 - 2 * phi * down_a * up_b + up_b**2, 0))
        above = np.sqrt(np.maximum(up_a**2 - 2 * phi * up_a * down_b + down_b**2, 0))
    return _out(PairedDifference, diff, np.clip(diff - below, -1, 1), np.clip(diff + above, -1, 1))


def _tango_score(delta: float, b: float, c: float, n: float) -> float:
    """Tango's score statistic for H0: p_A - p_B = delta; it decreases in delta and is 0 at (b - c) / n."""
    num = b - c - n * delta
    if num == 0:
        return 0.0
    # Restricted maximum likelihood estimate q of P(B only) under H0: the non-negative root of
    # 2n q^2 + qb q + qc = 0 (Tango 1998), computed without cancellation.
    qb = -b - c + (2 * n - b + c) * delta
    qc = -c * delta * (1 - delta)
    root = np.sqrt(max(qb * qb - 8 * n * qc, 0.0))
    q = (root - qb) / (4 * n) if qb <= 0 else -2 * qc / (qb + root)
    var = n * (2 * q + delta * (1 - delta))
    return num / np.sqrt(var) if var > 0 else np.copysign(np.inf, num)


def _tango_limits(b: float, c: float, n: float, z: float) -> tuple[float, float]:
    """Tango's interval for one table: the deltas where the score statistic equals +z and -z."""
    from scipy import optimize

    est, edge = (b - c) / n, 1e-12
    low, high = -1.0, 1.0
    if est > -1 and _tango_score(-1 + edge, b, c, n) > z:
        low = optimize.brentq(lambda t: _tango_score(t, b, c, n) - z, -1 + edge, est, xtol=1e-13)
    if est < 1 and _tango_score(1 - edge, b, c, n) < -z:
        high = optimize.brentq(lambda t: _tango_score(t, b, c, n) + z, est, 1 - edge, xtol=1e-13)
    return low, high


def _tango(b, c, n, z):
    """Tango's (1998) score interval; a root search per distinct (b, c, n). See `paired_difference`."""
    est = _ratio(b - c, n)
    low, high = np.full(est.shape, np.nan), np.full(est.shape, np.nan)
    ok = n > 0
    if ok.any():
        keys, inverse = np.unique(np.stack([b[ok], c[ok], n[ok]], axis=-1), axis=0, return_inverse=True)
        limits = np.array([_tango_limits(*key, z) for key in keys])
        low[ok], high[ok] = limits[inverse.ravel(), 0], limits[inverse.ravel(), 1]
    return _out(PairedDifference, est, low, high)


def paired_difference(a, b, c, d, *, z: float = Z95, method: str = "newcombe") -> PairedDifference:
    """Estimate p_A - p_B = (b - c) / n from a paired 2x2 table, with a confidence interval for paired data.

    method="newcombe" (the default) is Newcombe's method 10 (Newcombe 1998, Stat Med 17:2635-2650): the
    square-and-add of the two arms' Wilson intervals with the phi correlation of the table, phi's numerator
    ad - bc taken as max(ad - bc - n/2, 0) when positive, and phi = 0 when a margin is empty. It is the
    default because it is closed-form (vectorised, no root search, defined for every table with n > 0,
    including b = c = 0 and n = 1), it is built from the same Wilson intervals that the single-arm estimates
    carry (`wilson`), and Newcombe's evaluation found its coverage close to nominal.
    method="tango" is Tango's score interval (Tango 1998, Stat Med 17:891-908): the set of deltas that the
    score test (restricted maximum likelihood of the discordant cells) does not reject; its statistic at
    delta = 0 is McNemar's. It needs a root search (scipy.optimize.brentq) per distinct (b, c, n).

    Parameters
    ----------
    a, b, c, d : array_like
        Pair counts: both arms (a), A only (b), B only (c), neither (d); scalars or arrays, broadcast together.
    z : float, optional
        The standard normal quantile of the two-sided level (default 1.96 for 95 %).
    method : {"newcombe", "tango"}, optional
        The interval (default "newcombe").

    Returns
    -------
    PairedDifference
        (estimate, low, high), each of the broadcast shape; all NaN where n = a + b + c + d is 0.

    Raises
    ------
    ValueError
        If a count is negative, the shapes do not broadcast, or the method is unknown.
    """
    a, b, c, d = _counts(a, b, c, d)
    if method == "newcombe":
        return _newcombe(a, b, c, d, z)
    if method == "tango":
        return _tango(b, c, a + b + c + d, z)
    raise ValueError(f"unknown method {method!r}: expected 'newcombe' or 'tango'")


def mcnemar(b, c, *, method: str = "midp") -> McNemar:
    """McNemar's test of p_A = p_B from the discordant pair counts.

    The statistic is always the uncorrected chi-square (b - c)^2 / (b + c) (0 when b + c = 0). The p-value is
    two-sided and, by default, the exact binomial mid-p: conditional on m = b + c discordant pairs, b is
    Binomial(m, 1/2) under H0, and p = 2 [P(X < min(b, c)) + P(X = min(b, c)) / 2], capped at 1. The mid-p
    is the default because the exact conditional p is conservative for small m and the chi-square is an
    approximation. The p-value is 1 when there are no discordant pairs.

    Parameters
    ----------
    b, c : array_like
        Discordant pair counts: A only (b) and B only (c); whole numbers, scalars or arrays.
    method : {"midp", "exact", "chi2"}, optional
        Mid-p (default), exact conditional binomial (2 P(X <= min(b, c))), or chi-square with 1 df.

    Returns
    -------
    McNemar
        (discordant, statistic, p_value), each of the broadcast shape.

    Raises
    ------
    ValueError
        If a count is negative, the shapes do not broadcast, or the method is unknown.
    """
    from scipy import stats

    b, c = _counts(b, c)
    m, k = b + c, np.minimum(b, c)
    statistic = np.where(m > 0, _ratio((b - c) ** 2, m), 0.0)
    if method == "midp":
        p = 2 * (stats.binom.cdf(k - 1, m, 0.5) + 0.5 * stats.binom.pmf(k, m, 0.5))
    elif method == "exact":
        p = 2 * stats.binom.cdf(k, m, 0.5)
    elif method == "chi2":
        p = stats.chi2.sf(statistic, 1)
    else:
        raise ValueError(f"unknown method {method!r}: expected 'midp', 'exact' or 'chi2'")
    return _out(McNemar, m, statistic, np.where(m > 0, np.minimum(p, 1.0), 1.0))


def binary_variance_reduction(a, b, c, d) -> VarianceReduction:
    """How much pairing shrinks the variance of the estimated difference of a binary outcome.

    Per pair, unpaired arms give Var_indep = pA (1 - pA) + pB (1 - pB) and paired arms give the variance of
    the per-pair difference, Var_paired = (b + c)/n - ((b - c)/n)^2 (plug-in estimates, divisor n). The factor
    Var_indep / Var_paired is also how many times more runs unpaired arms would need for the same interval
    width. It is 1 for independent arms (in expectation, up to O(1/n) bias of a ratio) and grows as the arms'
    outcomes become positively correlated. When Var_paired = 0: the factor is inf if Var_indep > 0 (the arms
    agree in every run, b = c = 0, but the outcome varies between runs, so pairing removes all the noise), and
    NaN if Var_indep = 0 too (neither arm varies: nothing to reduce) or n = 0.

    Parameters
    ----------
    a, b, c, d : array_like
        Pair counts: both arms (a), A only (b), B only (c), neither (d); scalars or arrays.

    Returns
    -------
    VarianceReduction
        (factor, var_independent, var_paired), each of the broadcast shape.

    Raises
    ------
    ValueError
        If a count is negative or the shapes do not broadcast.
    """
    a, b, c, d = _counts(a, b, c, d)
    n = a + b + c + d
    p_a, p_b, diff = _ratio(a + b, n), _ratio(a + c, n), _ratio(b - c, n)
    var_independent = p_a * (1 - p_a) + p_b * (1 - p_b)
    var_paired = np.maximum(_ratio(b + c, n) - diff**2, 0.0)
    return _out(VarianceReduction, _ratio(var_independent, var_paired), var_independent, var_paired)
