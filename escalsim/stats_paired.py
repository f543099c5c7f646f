"""Paired comparison of a continuous outcome between two arms run with common random numbers, and run planning.

A leaf: imports nothing from the package (the binary-outcome counterparts, which build on the Wilson interval,
are in `escalsim.stats`). Arms A and B run with the same seed run by run, so run i of A and run i of B are a
pair; the comparison works on the per-pair differences.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

Z95 = 1.959963984540054  # the same 95 % quantile as escalsim.stats.Z95 (a leaf does not import it)


class PairedMeanDifference(NamedTuple):
    """Mean of X_A - X_B with its t-interval, the variances of the difference and their ratio (the factor)."""

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    var_paired: np.ndarray
    var_independent: np.ndarray
    factor: np.ndarray


def _ratio(num, den):
    """num / den, with x / 0 = inf for x > 0 and 0 / 0 = nan."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(num, dtype=float) / np.asarray(den, dtype=float)


def paired_mean_difference(x_a, x_b, *, z: float = Z95, axis: int = -1) -> PairedMeanDifference:
    """Mean difference of a paired continuous outcome with a t-interval, and the variance reduction of pairing.

    With D = X_A - X_B per pair and n pairs, the interval is mean(D) +- t * sd(D) / sqrt(n), t the Student
    quantile with n - 1 degrees of freedom at the two-sided level that z has under the normal (z = 1.96: 95 %).
    The factor is (Var(X_A) + Var(X_B)) / Var(X_A - X_B) (sample variances, divisor n - 1): the variance of
    the difference of unpaired arms over that of paired arms, so also how many times more runs unpaired arms
    would need for the same interval width. It is 1 for independent arms (in expectation, up to O(1/n) bias
    of a ratio) and large for strongly positively correlated ones; inf when every pair differs by the same
    amount but the outcome varies, NaN when neither arm varies. NaN values propagate.

    Parameters
    ----------
    x_a, x_b : array_like
        The outcome of each run in arm A and in arm B, of one shape; element i of both is pair i.
    z : float, optional
        The standard normal quantile of the two-sided level (default 1.96 for 95 %).
    axis : int, optional
        The axis along which runs lie (default: the last); other axes are kept, e.g. one per variable.

    Returns
    -------
    PairedMeanDifference
        (estimate, low, high, var_paired, var_independent, factor); var_paired is the per-pair Var(X_A - X_B).

    Raises
    ------
    ValueError
        If the shapes differ or there are fewer than two pairs.
    """
    from scipy import stats  # here, not at the top: importing scipy.stats takes about a second

    x_a, x_b = np.asarray(x_a, dtype=float), np.asarray(x_b, dtype=float)
    if x_a.shape != x_b.shape:
        raise ValueError(f"arms A and B have different shapes: {x_a.shape} and {x_b.shape}")
    n = x_a.shape[axis] if x_a.ndim else 1
    if n < 2:
        raise ValueError(f"a paired t-interval needs at least two pairs, got {n}")
    diff = x_a - x_b
    estimate = diff.mean(axis=axis)
    var_paired = diff.var(axis=axis, ddof=1)
    var_independent = x_a.var(axis=axis, ddof=1) + x_b.var(axis=axis, ddof=1)
    half = stats.t.ppf(stats.norm.cdf(z), n - 1) * np.sqrt(var_paired / n)
    return PairedMeanDifference(
        estimate, estimate - half, estimate + half, var_paired, var_independent, _ratio(var_independent, var_paired)
    )


def runs_needed(variance, half_width, *, z: float = Z95):
    """Runs (pairs) needed for a confidence interval of the given half-width: ceil(z^2 Var / eps^2), at least 2.

    The normal approximation n = z^2 Var / eps^2 for a mean of n independent per-run (per-pair) values of
    variance Var. For a paired comparison pass the per-pair variance of the difference (`var_paired` of
    `paired_mean_difference`, or of `escalsim.stats.binary_variance_reduction` for a binary outcome, e.g. from
    a pilot batch); for unpaired arms, with n runs in each, pass Var(X_A) + Var(X_B). The ratio of the two
    answers is the variance-reduction factor. For a binary outcome near 0 or 1 the normal approximation
    understates the runs a Wilson or Newcombe interval needs for that half-width.

    Parameters
    ----------
    variance : array_like
        Per-run variance (>= 0, finite); scalars or arrays.
    half_width : array_like
        Target half-width eps of the interval (> 0); broadcast with variance.
    z : float, optional
        The standard normal quantile of the two-sided level (default 1.96 for 95 %).

    Returns
    -------
    numpy.ndarray
        Integer run counts (int64) of the broadcast shape.

    Raises
    ------
    ValueError
        If a variance is negative or not finite, or a half-width is not positive.
    """
    variance, half_width = np.broadcast_arrays(np.asarray(variance, dtype=float), np.asarray(half_width, dtype=float))
    if not (np.isfinite(variance).all() and (variance >= 0).all()):
        raise ValueError("variance must be finite and non-negative")
    if not (half_width > 0).all():
        raise ValueError("half_width must be positive")
    return np.maximum(np.ceil(z * z * variance / half_width**2), 2).astype(np.int64)
