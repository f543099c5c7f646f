"""What drove escalation: for each rung above the start, the causes that first took the world there."""

from __future__ import annotations

import matplotlib.patches
from matplotlib.ticker import PercentFormatter

from escalsim.outputs.contract import text_column
from escalsim.outputs.labels import capitalised, percent, wrap
from escalsim.outputs.style import (
    INK,
    LABEL,
    MUTED,
    NOTE,
    OKABE_ITO,
    OTHER,
    begin,
    clean_axes,
    ink_on,
    rung_axis,
    titles,
)

MAX_CAUSES, MIN_CAUSE_SHARE = 8, 0.03


def escalation_drivers(results, ax=None):
    """For each rung above the start, what first moved the world onto it, as shares of the runs that got there.

    Takes a results object and an optional Axes; returns the Axes. Raises ValueError if the manifest lacks
    what figures read or the results hold no runs.
    """
    m, n, ax = begin(results, ax)
    ks = list(range(m["start_level"] + 1, len(m["rungs"])))
    causes = {k: text_column(results.runs[f"first_cause.{m['rungs'][k]}"]) for k in ks}
    shown = _main_causes(causes)
    palette = {c: OKABE_ITO[i % len(OKABE_ITO)] for i, c in enumerate(shown)} | {"other": OTHER}
    used: set[str] = set()
    for k in ks:
        counts = causes[k][causes[k] != ""].map(lambda c: c if c in shown else "other").value_counts()
        used |= set(counts.index)
        _driver_bar(ax, k, counts, palette)
        reached = int(counts.sum())
        note = f"{percent(reached / n)} of runs ({reached:,})" if reached else "never reached"
        ax.text(101.5, k, note, va="center", fontsize=NOTE, color=MUTED)
    handles = [matplotlib.patches.Patch(color=palette[c], label=wrap(capitalised(c), 60))
               for c in palette if c in used]
    if ks:
        rung_axis(ax, m, ks[0], ks[-1])
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(100))
    ax.set_xlabel("Share of the runs that reached the rung", fontsize=LABEL, color=INK)
    clean_axes(ax, grid_axis="x")
    titles(ax, "What pushed the world onto each rung",
           "The first cause of reaching each rung (right: how many runs reached it by the horizon)")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=NOTE,
              frameon=False)
    return ax


def _driver_bar(ax, k: int, counts, palette: dict) -> None:
    """One rung's bar: a segment per cause, in legend order, as shares of the runs that reached the rung."""
    reached, left = counts.sum(), 0.0
    for cause, colour in palette.items():
        share = counts.get(cause, 0) / reached if reached else 0.0
        if share:
            ax.barh(k, 100 * share, left=left, height=0.7, color=colour, edgecolor="white", lw=0.8,
                    gid=f"rung:{k}|{cause}")
            if share >= 0.07:
                ax.text(left + 50 * share, k, percent(share), ha="center", va="center", fontsize=NOTE,
                        color=ink_on(colour))
        left += 100 * share


def _main_causes(causes: dict) -> list[str]:
    """Causes worth their own colour: the most frequent (in runs), each at least MIN_CAUSE_SHARE of some rung's."""
    totals: dict[str, int] = {}
    for series in causes.values():
        counts = series[series != ""].value_counts()
        for cause, count in counts.items():
            if count >= MIN_CAUSE_SHARE * counts.sum() and cause not in ("other", "start"):
                totals[cause] = totals.get(cause, 0) + int(count)
    return sorted(totals, key=lambda c: -totals[c])[:MAX_CAUSES]
