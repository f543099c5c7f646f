"""What drove escalation: for each rung above a track's start, what first put the track on it (a jump past a rung
never enters it: such runs are shown as passed over)."""

from __future__ import annotations

import matplotlib.patches
import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter

from escalsim.outputs.contract import above_start, text_counts, track_of
from escalsim.outputs.labels import capitalised, percent, track_prefix, wrap
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
NO_CAUSE = "no cause recorded"  # entered, but the cause is empty
PASSED = "passed over: a jump went past it, never on it"
PASSED_COLOUR = "#eeeeee"


def escalation_drivers(results, ax=None, track: str | None = None):
    """For each rung of a track above its start, among the runs that were at or above it: what first put the track
    on it, or 'passed over' when a jump went past it. Shares of those runs; each bar's main causes have their own
    colour (the same in every bar), minor ones are grouped as 'other'.

    Takes a results object, an optional Axes and the track's id (None: the first); returns the Axes. Raises
    ValueError for an unknown track, a manifest that lacks what figures read or results without runs.
    """
    m, n, ax = begin(results, ax)
    t = track_of(m, track)
    ks = above_start(t)
    causes = {k: _cause_counts(results.runs, t["rungs"][k]) for k in ks}
    shown = _main_causes(causes)
    palette = {c: OKABE_ITO[i % len(OKABE_ITO)] for i, c in enumerate(shown)} | {PASSED: PASSED_COLOUR, "other": OTHER}
    used: set[str] = set()
    for k in ks:
        counts = causes[k].groupby(lambda c: c if c in shown or c == PASSED else "other").sum()
        used |= set(counts.index)
        _driver_bar(ax, k, counts, palette)
        runs = int(causes[k].sum())
        note = f"{percent(runs / n)} of runs ({runs:,})" if runs else "never at or above"
        ax.text(101.5, k, note, va="center", fontsize=NOTE, color=MUTED)
    handles = [matplotlib.patches.Patch(facecolor=palette[c], hatch=_hatch(c), edgecolor="#999999" if _hatch(c) else
                                        palette[c], label=wrap(capitalised(c), 60)) for c in palette if c in used]
    if ks:
        rung_axis(ax, t, ks[0], ks[-1])
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(100))
    ax.set_xlabel("Share of the runs that were on the rung or a higher one", fontsize=LABEL, color=INK)
    clean_axes(ax, grid_axis="x")
    titles(ax, f"{track_prefix(m, t)}What first put the track on each rung",
           "Among the runs that were on the rung or a higher one by the horizon (counted on the right): the cause\n"
           "of first stepping onto it, or passed over when a jump went past it")
    legend_below(ax, handles, [h.get_label() for h in handles], ncols=(2, 1), below=0.13, fontsize=NOTE)
    return ax


def _cause_counts(runs, rung: str) -> pd.Series:
    """Among the runs ever at or above the rung, how many the cause that first put them on the rung, PASSED if they
    never were on it (a jump went past), NO_CAUSE if they were but the cause is empty: counts by cause (none
    zero), counted on the column's codes, never a string per run."""
    reached = runs[f"at_or_above.{rung}"].notna().to_numpy()
    entered = runs[f"entered.{rung}"].notna().to_numpy()
    counts = text_counts(runs[f"cause.{rung}"], reached & entered)
    if "" in counts:
        counts[NO_CAUSE] = counts.get(NO_CAUSE, 0) + counts.pop("")
    passed = int(np.count_nonzero(reached & ~entered))
    if passed:
        counts[PASSED] = counts.get(PASSED, 0) + passed
    return pd.Series(counts, dtype="int64")


def _hatch(cause: str) -> str | None:
    return "//" if cause == PASSED else None


def _driver_bar(ax, k: int, counts, palette: dict) -> None:
    """One rung's bar: a segment per cause, in legend order, as shares of the runs that reached the rung."""
    reached, left = counts.sum(), 0.0
    for cause, colour in palette.items():
        share = counts.get(cause, 0) / reached if reached else 0.0
        if share:
            ax.barh(k, 100 * share, left=left, height=0.7, color=colour, edgecolor="#999999" if _hatch(cause) else
                    "white", hatch=_hatch(cause), lw=0.8, gid=f"rung:{k}|{cause}")
            if share >= 0.07:
                ax.text(left + 50 * share, k, percent(share), ha="center", va="center", fontsize=NOTE,
                        color=ink_on(colour))
        left += 100 * share


def _main_causes(causes: dict) -> list[str]:
    """Causes worth their own colour, at most MAX_CAUSES: every bar's largest cause first, then every bar's second
    largest, and so on (at each rank, the larger share of its bar first), among causes holding at least
    MIN_CAUSE_SHARE of their bar. A cause rare overall but main in a rare rung's bar keeps its colour."""
    ranked = [_ranked(series) for series in causes.values()]
    shown: list[str] = []
    for depth in range(max(map(len, ranked), default=0)):
        at_depth = sorted((r[depth] for r in ranked if depth < len(r)), key=lambda item: (-item[1], item[0]))
        shown += [cause for cause, _share in at_depth if cause not in shown]
    return list(dict.fromkeys(shown))[:MAX_CAUSES]


def _ranked(counts: pd.Series) -> list[tuple[str, float]]:
    """A bar's causes (counts by cause) and their shares of it, from the largest (ties by name), those below
    MIN_CAUSE_SHARE and the runs that passed over the rung left out."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(c, k / counts.sum()) for c, k in ordered
            if k >= MIN_CAUSE_SHARE * counts.sum() and c not in ("other", "start", PASSED)]
