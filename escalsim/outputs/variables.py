"""The distribution of a variable across the runs at a checkpoint or at the horizon."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.ticker import MaxNLocator, PercentFormatter

from escalsim.outputs.contract import check_results
from escalsim.outputs.labels import (
    capitalised,
    checkpoint_day,
    end_label,
    moment_label,
    number,
    percent,
    variable_label,
)
from escalsim.outputs.style import BAND, INK, LABEL, NOTE, TICK, axes_for, clean_axes, titles

ATOM = 0.1  # a single value held by this share of the runs is drawn apart from the smoothed density
DENSITY_BINS = 2048  # the smoothed density is a Gaussian kernel over a histogram of this many bins (binned KDE)


def variable_distribution(results, variable: str, at: str | None = None, ax=None, note: str = ""):
    """Histogram (and density) of a variable at a checkpoint name or the horizon, with median and 90% interval.

    Takes a results object, a variable id from the manifest's 'readable', a checkpoint name (None or 'horizon':
    the horizon), an optional Axes and a note for a second subtitle line (e.g. why this checkpoint); returns the
    Axes. Raises ValueError for an unknown variable or checkpoint, a manifest that lacks what figures read, or
    results without runs.
    """
    check_results(results)
    m = results.manifest
    x = _variable_values(results, variable, at)
    ax = axes_for(ax, results)
    bins = _bins(x)
    heights = _histogram(ax, x, bins)
    _density(ax, x, bins)
    q05, median, q95 = np.quantile(x, [0.05, 0.5, 0.95])
    ax.axvspan(q05, q95, color="#f0b35a", alpha=0.2, lw=0, zorder=1,
               label=f"middle 90% of runs: {number(q05)} to {number(q95)}")
    ax.axvline(median, color="#b2420e", lw=2.2, ls="--", zorder=4, label=f"median: {number(median)}")
    ax.set_xlabel(variable_label(m, variable, unit=True), fontsize=LABEL, color=INK)
    ax.set_ylabel("Share of runs", fontsize=LABEL, color=INK)
    ax.set_ylim(0, max(heights.max(), 1e-9) * 1.35)  # headroom for the legend
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0 if heights.max() >= 5 else None))
    if np.all(x == np.round(x)):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: number(v)))
    clean_axes(ax)
    titles(ax, capitalised(variable_label(m, variable)),
           f"At {moment_label(m, at)}, across {len(x):,} runs" + (f"\n{note}" if note else ""))
    ax.legend(loc="upper right", fontsize=NOTE + 1, framealpha=0.9, edgecolor="none")
    return ax


def middle_checkpoint(manifest: dict) -> str | None:
    """The checkpoint nearest the middle of the run (the earlier of two as near), among those before the horizon,
    or None if there is none: a key variable drawn there and at the horizon shows how it moved over the run."""
    before = [c for c in manifest["checkpoints"] if c["day"] < manifest["horizon_days"]]
    if not before:
        return None
    return min(before, key=lambda c: abs(c["day"] - manifest["horizon_days"] / 2))["name"]


def middle_reason(manifest: dict) -> str:
    """Why `middle_checkpoint` was chosen, in words, naming the horizon's date to compare with."""
    return (f"The checkpoint nearest the middle of the run, to compare with the horizon "
            f"({end_label(manifest, manifest['horizon_days'])})")


def _histogram(ax, x: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Bars as shares of the runs (labelled when there are few, or when one value holds many runs)."""
    few = len(bins) <= 13
    heights, _, bars = ax.hist(x, bins=bins, weights=np.full(len(x), 100.0 / len(x)), color="#8fb3d3", zorder=2,
                               edgecolor="white", lw=0.8, rwidth=0.6 if few else None, label="runs (histogram)")
    if few:
        ax.bar_label(bars, [percent(h / 100) if h else "" for h in heights], fontsize=TICK, color=INK, padding=3)
    else:
        value, share = _atom(x)
        if share >= ATOM:
            ax.annotate(f"{percent(share)} of runs: exactly {number(value)}", (value, heights.max()),
                        xytext=(10, -4), textcoords="offset points", va="top", fontsize=TICK, color=INK)
    return heights


def _atom(x: np.ndarray) -> tuple[float, float]:
    """The most frequent value and its share of the runs."""
    values, counts = np.unique(x, return_counts=True)
    return float(values[counts.argmax()]), float(counts.max() / len(x))


def _density(ax, x: np.ndarray, bins: np.ndarray) -> None:
    """A Gaussian KDE scaled to the bars, of the values other than a heavy single value; none if degenerate.

    Binned: the kernel runs over a histogram of DENSITY_BINS bins, not over every run, so its cost and the
    figure do not grow with the run count. The bandwidth is scipy's `gaussian_kde` default (Scott's rule: the
    standard deviation times n^(-1/5)); binning moves each value by at most half a bin, a small fraction of the
    bandwidth (below 10% of it up to ten million runs of a variable spread over ten standard deviations).
    """
    value, share = _atom(x)
    rest = x[x != value] if share >= ATOM else x
    if len(np.unique(rest)) < 3 or len(bins) <= 13:
        return
    width = float(np.std(rest, ddof=1)) * len(rest) ** -0.2
    if not np.isfinite(width) or width <= 0:
        return
    counts, edges = np.histogram(rest, bins=DENSITY_BINS, range=(float(rest.min()), float(rest.max())))
    centres = (edges[:-1] + edges[1:]) / 2
    grid = np.linspace(bins[0], bins[-1], 400)
    kernel = np.exp(-0.5 * ((grid[:, None] - centres[None, :]) / width) ** 2) / (width * np.sqrt(2 * np.pi))
    density = kernel @ counts / len(rest)
    label = "smoothed (KDE)" if share < ATOM else "smoothed (KDE) of the other runs"
    ax.plot(grid, density * 100 * np.diff(bins).mean() * len(rest) / len(x), color=BAND, lw=2.2, zorder=3,
            label=label)


def _variable_values(results, variable: str, at: str | None) -> np.ndarray:
    """The variable's value in every run at the checkpoint (or the horizon); raises ValueError for unknown names."""
    m = results.manifest
    if variable not in m["readable"]:
        raise ValueError(f"unknown variable {variable!r}; the results hold: {', '.join(m['readable'])}")
    checkpoint_day(m, at)  # refuses an unknown checkpoint
    column = f"final.{variable}" if at is None or at == "horizon" else f"at.{at}.{variable}"
    return results.runs[column].to_numpy(dtype=float)


def _bins(x: np.ndarray) -> np.ndarray:
    """One bin per value when the values sit on a lattice of at most 60 points (counts, batches of 100, flags),
    else numpy's choice (at most 60 bins)."""
    values = np.unique(x)
    if len(values) == 1:
        return np.array([values[0] - 0.5, values[0] + 0.5])
    step = float(np.min(np.diff(values)))
    points = (values - values[0]) / step
    if np.allclose(points, np.round(points), atol=1e-6) and points[-1] <= 60:
        return values[0] + step * (np.arange(round(points[-1]) + 2) - 0.5)
    edges = np.histogram_bin_edges(x, bins="auto")
    return edges if len(edges) <= 61 else np.linspace(values[0], values[-1], 61)
