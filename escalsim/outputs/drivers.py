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
    legend_below,
    rung_axis,
    titles,
)

MAX_CAUSES, MIN_CAUSE_SHARE = 8, 0.03
NO_CAUSE = "no cause recorded"  # a run at or above a rung whose first_cause is empty


def escalation_drivers(results, ax=None):
    """For each rung above the start, what first took the world to it or higher, as shares of the runs that got
    there; each bar's main causes have their own colour (the same in every bar), minor ones are grouped as 'other'.

    Takes a results object and an optional Axes; returns the Axes. Raises ValueError if the manifest lacks
    what figures read or the results hold no runs.
    """
    m, n, ax = begin(results, ax)
    ks = list(range(m["start_level"] + 1, len(m["rungs"])))
    causes = {k: _causes(results.runs, m["rungs"][k]) for k in ks}
    shown = _main_causes(causes)
    palette = {c: OKABE_ITO[i % len(OKABE_ITO)] for i, c in enumerate(shown)} | {"other": OTHER}
    used: set[str] = set()
    for k in ks:
        counts = causes[k].map(lambda c: c if c in shown else "other").value_counts()
        used |= set(counts.index)
        _driver_bar(ax, k, counts, palette)
        note = f"{percent(len(causes[k]) / n)} of runs ({len(causes[k]):,})" if len(causes[k]) else "never reached"
        ax.text(101.5, k, note, va="center", fontsize=NOTE, color=MUTED)
    handles = [matplotlib.patches.Patch(color=palette[c], label=wrap(capitalised(c), 60))
               for c in palette if c in used]
    if ks:
        rung_axis(ax, m, ks[0], ks[-1])
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(100))
    ax.set_xlabel("Share of the runs that reached the rung or a higher one", fontsize=LABEL, color=INK)
    clean_axes(ax, grid_axis="x")
    titles(ax, "What took the world to each rung or higher",
           "The first cause of being on the rung or a higher one (right: how many runs got there by the horizon)")
    legend_below(ax, handles, [h.get_label() for h in handles], ncols=(2, 1), below=0.13, fontsize=NOTE)
    return ax


def _causes(runs, rung: str):
    """The first cause of each run that was ever at or above the rung ('no cause recorded' where it is empty)."""
    reached = runs[f"first_passage.{rung}"].notna().to_numpy()
    causes = text_column(runs[f"first_cause.{rung}"])[reached]
    return causes.where(causes != "", NO_CAUSE)


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
    """Causes worth their own colour, at most MAX_CAUSES: every bar's largest cause first, then every bar's second
    largest, and so on, among causes holding at least MIN_CAUSE_SHARE of their bar. A cause rare overall but
    main in a rare rung's bar keeps its colour."""
    ranked = [_ranked(series) for series in causes.values()]
    shown: list[str] = []
    for depth in range(max(map(len, ranked), default=0)):
        for causes_of_bar in ranked:
            if depth < len(causes_of_bar) and causes_of_bar[depth] not in shown:
                shown.append(causes_of_bar[depth])
    return shown[:MAX_CAUSES]


def _ranked(series) -> list[str]:
    """A bar's causes from the most to the least frequent (ties by name), those below MIN_CAUSE_SHARE left out."""
    counts = series.value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [c for c, k in ordered if k >= MIN_CAUSE_SHARE * counts.sum() and c not in ("other", "start")]
