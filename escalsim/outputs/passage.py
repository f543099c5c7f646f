"""How soon and how far: first passage of each rung by date (at or above it), and the highest rung the runs were on."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, PercentFormatter

from escalsim.outputs.contract import above_start, track_of
from escalsim.outputs.labels import day_dates, end_label, percent, percent_range, track_prefix, wrap
from escalsim.outputs.style import (
    INK,
    LABEL,
    NOTE,
    TICK,
    begin,
    clean_axes,
    date_axis,
    rung_axis,
    rung_colours,
    titles,
)
from escalsim.stats import wilson

RARE = 0.05  # a rung reached by less than this share of the most-reached rung's runs would be a flat line at 0
GRID_POINTS = 400  # first-passage and event curves are drawn at this many steps of the horizon, whatever the run count


def first_passage_curves(results, ax=None, scale: str = "auto", track: str | None = None):
    """For each rung of a track above its start: the share of runs whose track has been on it or higher by each
    date, with 95% Wilson bands, censored at the horizon.

    `scale` is 'linear', 'log' (rare rungs readable: the axis runs from below one run in n to 100%) or 'auto':
    log when some rung reached by any run would otherwise rise less than RARE of the axis. Takes a results object,
    an optional Axes, the scale and the track's id (None: the first); returns the Axes. Raises ValueError for
    another scale, an unknown track, a manifest that lacks what figures read or results without runs.
    """
    if scale not in ("auto", "linear", "log"):
        raise ValueError(f"scale must be 'auto', 'linear' or 'log', not {scale!r}")
    m, n, ax = begin(results, ax)
    t = track_of(m, track)
    colours, horizon, ks = rung_colours(t), m["horizon_days"], above_start(t)
    log = scale == "log" or (scale == "auto" and log_scale(results, track))
    days = passage_grid(horizon)
    top = 0.05
    for k in ks:
        reached = _reached(results.runs[f"at_or_above.{t['rungs'][k]}"])
        hits = np.searchsorted(reached, days, side="right")  # runs at or above the rung by each grid day
        hits[-1] = len(reached)                              # by the end of the horizon: every run that got there
        days_k, hits = changes(days, hits)
        p, low, high = wilson(hits, n)
        x, shown = day_dates(m, days_k), hits > 0 if log else hits >= 0  # log: no band below the axis' floor
        ax.fill_between(x, low, high, where=shown, step="post", color=colours[k], alpha=0.2, lw=0)
        _, lo_end, hi_end = wilson(len(reached), n)
        ax.step(x, p, where="post", color=colours[k], lw=2.4, gid=f"rung:{k}",
                label=f"{wrap(t['rung_labels'][k], 30)}\n{percent(p[-1])} ({percent_range(lo_end, hi_end)})")
        top = max(top, float(high.max()))
    floor = _share_axis(ax, n, top, log)
    date_axis(ax, m)
    clean_axes(ax)
    note = (f"\nLog scale, so that rare rungs show: the bottom edge ({percent(floor)}) is below one run in {n:,}."
            if log else "")
    titles(ax, f"{track_prefix(m, t)}How soon the track is at or above each rung",
           "Share of runs that have been on the rung or higher by each date; shaded: 95% Wilson interval.\n"
           f"Censored at the horizon ({end_label(m, horizon)}): a run not there by then counts as never there.{note}")
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], names[::-1], loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=NOTE + 0.5,
              frameon=False, title="At or above the rung\nby the horizon (95% interval)", title_fontsize=NOTE + 1,
              alignment="left", labelspacing=0.9)
    return ax


def passage_grid(horizon: float) -> np.ndarray:
    """The days at which the first-passage and event curves are evaluated: GRID_POINTS equal steps from 0 to the
    horizon (a step function on a fixed grid: the figure's size does not grow with the run count; a run that got
    there between two grid days counts from the next one, at most horizon / GRID_POINTS days late)."""
    return np.linspace(0.0, float(horizon), GRID_POINTS + 1)


def changes(days: np.ndarray, hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points of a step function (drawn 'post') where its value changes, and its first and last points: the
    same drawing with fewer points."""
    keep = np.ones(len(hits), dtype=bool)
    keep[1:-1] = hits[1:-1] != hits[:-2]
    return days[keep], hits[keep]


def log_scale(results, track: str | None = None) -> bool:
    """Whether `first_passage_curves` draws a log scale by itself: some rung of the track (None: the first) above
    its start was reached by some run, but by less than RARE of the share of the most-reached rung (on a linear
    axis, a flat line at 0).

    Takes a results object and a track id; raises ValueError for an unknown track, KeyError if an at_or_above
    column is missing.
    """
    t = track_of(results.manifest, track)
    ends = [results.runs[f"at_or_above.{t['rungs'][k]}"].notna().mean() for k in above_start(t)]
    return any(0 < e < RARE * max(ends) for e in ends)


def _reached(first) -> np.ndarray:
    """The first-passage days of the runs that reached a rung, sorted (a column with NaN for never)."""
    first = first.to_numpy(dtype=float)
    return np.sort(first[~np.isnan(first)])


def _share_axis(ax, n: int, top: float, log: bool) -> float:
    """A y-axis of shares: linear from 0 to a little above `top`, or log from below 1/n to 100%; returns its floor."""
    if not log:
        ax.set_ylim(0, min(1.0, top * 1.08))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_ylabel("Share of runs at or above the rung", fontsize=LABEL, color=INK)
        return 0.0
    floor = 10.0 ** np.floor(np.log10(0.5 / n))
    ax.set_yscale("log")
    ax.set_ylim(floor, 1.0)
    ax.yaxis.set_major_locator(LogLocator(base=10))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:g}%"))
    ax.set_ylabel("Share of runs at or above the rung (log scale)", fontsize=LABEL, color=INK)
    return float(floor)


def max_rung_histogram(results, ax=None, track: str | None = None):
    """How far up a track's ladder the runs got: the share of runs whose highest rung is each rung, with 95% CIs.

    Takes a results object, an optional Axes and the track's id (None: the first); returns the Axes. Raises
    ValueError for an unknown track, a manifest that lacks what figures read or results without runs.
    """
    m, n, ax = begin(results, ax)
    t = track_of(m, track)
    highest = results.runs[f"max.{t['id']}"].to_numpy()
    ks = np.arange(min(t["start"], int(highest.min())), len(t["rungs"]))
    counts = np.array([np.count_nonzero(highest == k) for k in ks])
    p, low, high = wilson(counts, n)
    colours = rung_colours(t)
    ax.barh(ks, 100 * p, height=0.7, color=[colours[k] for k in ks], edgecolor="none", gid="max_rung")
    ax.errorbar(100 * p, ks, xerr=100 * np.clip([p - low, high - p], 0, None), fmt="none", ecolor="#333333",
                elinewidth=1.2, capsize=4)
    for k, share, hi, count in zip(ks, p, high, counts):
        ax.text(100 * hi + 1, k, f"{percent(share)}  ({count:,})", va="center", fontsize=TICK, color=INK)
    rung_axis(ax, t, int(ks[0]), int(ks[-1]))
    ax.set_ylabel("Highest rung the track was on", fontsize=LABEL, color=INK)
    ax.set_xlim(0, min(100.0, 100 * float(high.max())) * 1.22 + 1)
    ax.xaxis.set_major_formatter(PercentFormatter(100))
    ax.set_xlabel("Share of runs (bars sum to 100%; whiskers: 95% Wilson interval)", fontsize=LABEL, color=INK)
    clean_axes(ax, grid_axis="x")
    titles(ax, f"{track_prefix(m, t)}How far up the ladder the runs went",
           f"Highest rung each run was on by {end_label(m, m['horizon_days'])}, out of {n:,} runs (run count in "
           "brackets)")
    return ax
