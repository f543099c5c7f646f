"""How soon and how far: first passage of each rung by date, and the highest rung the runs reached."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import PercentFormatter

from escalsim.outputs.labels import day_dates, end_label, percent, percent_range, wrap
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


def first_passage_curves(results, ax=None):
    """For each rung above the start: P(reached by each date), with 95% Wilson bands, censored at the horizon.

    Takes a results object and an optional Axes; returns the Axes. Raises ValueError if the manifest lacks
    what figures read or the results hold no runs.
    """
    m, n, ax = begin(results, ax)
    colours, horizon, top = rung_colours(m), m["horizon_days"], 0.05
    for k in range(m["start_level"] + 1, len(m["rungs"])):
        first = results.runs[f"first_passage.{m['rungs'][k]}"].to_numpy(dtype=float)
        reached = np.sort(first[~np.isnan(first)])
        days = np.concatenate([[0.0], reached, [horizon]])
        hits = np.concatenate([[0], np.arange(1, len(reached) + 1), [len(reached)]])
        p, low, high = wilson(hits, n)
        x = day_dates(m, days)
        ax.fill_between(x, low, high, step="post", color=colours[k], alpha=0.2, lw=0)
        _, lo_end, hi_end = wilson(len(reached), n)
        ax.step(x, p, where="post", color=colours[k], lw=2.4, gid=f"rung:{k}",
                label=f"{wrap(m['rung_labels'][k], 30)}\n{percent(p[-1])} ({percent_range(lo_end, hi_end)})")
        top = max(top, float(high.max()))
    ax.set_ylim(0, min(1.0, top * 1.08))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("Share of runs that have reached the rung", fontsize=LABEL, color=INK)
    date_axis(ax, m)
    clean_axes(ax)
    titles(ax, "How soon each rung is reached",
           f"Cumulative probability by date; shaded: 95% Wilson interval. Censored at the horizon "
           f"({end_label(m, horizon)}):\na run that had not reached a rung by then counts as not reaching it.")
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], names[::-1], loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=NOTE + 0.5,
              frameon=False, title="Reached by the horizon\n(95% interval)", title_fontsize=NOTE + 1,
              alignment="left", labelspacing=0.9)
    return ax


def max_rung_histogram(results, ax=None):
    """How far up the ladder the runs got: the share of runs whose highest rung is each rung, with 95% CIs.

    Takes a results object and an optional Axes; returns the Axes. Raises ValueError if the manifest lacks
    what figures read or the results hold no runs.
    """
    m, n, ax = begin(results, ax)
    ks = np.arange(min(m["start_level"], int(results.runs["max_level"].min())), len(m["rungs"]))
    counts = np.array([np.count_nonzero(results.runs["max_level"].to_numpy() == k) for k in ks])
    p, low, high = wilson(counts, n)
    colours = rung_colours(m)
    ax.barh(ks, 100 * p, height=0.7, color=[colours[k] for k in ks], edgecolor="none", gid="max_rung")
    ax.errorbar(100 * p, ks, xerr=100 * np.clip([p - low, high - p], 0, None), fmt="none", ecolor="#333333",
                elinewidth=1.2, capsize=4)
    for k, share, hi, count in zip(ks, p, high, counts):
        ax.text(100 * hi + 1, k, f"{percent(share)}  ({count:,})", va="center", fontsize=TICK, color=INK)
    rung_axis(ax, m, int(ks[0]), int(ks[-1]))
    ax.set_ylabel("Highest rung reached", fontsize=LABEL, color=INK)
    ax.set_xlim(0, min(100.0, 100 * float(high.max())) * 1.22 + 1)
    ax.xaxis.set_major_formatter(PercentFormatter(100))
    ax.set_xlabel("Share of runs (bars sum to 100%; whiskers: 95% Wilson interval)", fontsize=LABEL, color=INK)
    clean_axes(ax, grid_axis="x")
    titles(ax, "How far up the ladder the runs went",
           f"Highest rung reached by {end_label(m, m['horizon_days'])}, out of {n:,} runs (run count in brackets)")
    return ax
