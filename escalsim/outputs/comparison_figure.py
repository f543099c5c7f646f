"""The comparison figure: each difference B - A with its 95% interval, grouped per track and for events, the
largest first in each group, with the variance-reduction factor of pairing at the right."""

from __future__ import annotations

from pathlib import Path

import matplotlib.transforms as mtransforms
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from escalsim.outputs import style
from escalsim.outputs.comparison import main_rows, unchanged
from escalsim.outputs.labels import end_label, wrap

MOST_EVENTS = 15          # events shown: those that changed, the largest differences first
LABEL_CHARS = 60
TITLE_CHARS, SUBTITLE_CHARS = 55, 80  # about the width of the Axes beside the labels
UP, DOWN, NEITHER = style.OKABE_ITO[5], style.OKABE_ITO[0], "#888888"


def shown_groups(table: pd.DataFrame, most_events: int = MOST_EVENTS) -> list[tuple[str, pd.DataFrame]]:
    """(group label, rows) in the figure's order: each track's rungs by the horizon (all of them, so a track that
    did not move shows it), then the events that changed in at least one pair (at most `most_events`), each group
    sorted by absolute difference, largest first. Takes a `comparison.compare_results` table."""
    rows = main_rows(table)
    groups = []
    for group in dict.fromkeys(table.loc[table["kind"] == "rung", "group"]):  # the tracks in the results' order
        part = rows[rows["group"] == group]
        groups.append((str(part["group_label"].iloc[0]), part))
    events = rows[(rows["kind"] == "event") & ~unchanged(rows)].head(most_events)
    if len(events):
        groups.append(("Events (those that changed)", events))
    return groups


def figure_height(groups: list[tuple[str, pd.DataFrame]]) -> float:
    """Inches: room for the titles and the footer, and a line per row and group header."""
    lines = sum(len(rows) + 1 for _, rows in groups)
    return max(4.5, 2.2 + 0.3 * lines)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1].rstrip() + "…"


def _factor(f: float) -> str:
    if np.isnan(f):
        return "–"
    if np.isinf(f):
        return "∞"
    return f"{f:,.0f}×" if f >= 10 else f"{f:.1f}×"


def draw(table: pd.DataFrame, meta: dict, manifest: dict, ax, most_events: int = MOST_EVENTS):
    """Draw the differences (percentage points) with their intervals on `ax`; returns the Axes.

    Takes the comparison table, its `comparison.describe` record, arm A's manifest (for dates) and the Axes.
    With no rung above a track's start and no event that changed, the Axes say so instead.
    """
    groups = shown_groups(table, most_events)
    if not groups:
        ax.set_axis_off()
        ax.text(0.5, 0.5, "No rung above a track's start, and no event that changed: nothing to draw",
                ha="center", va="center", fontsize=style.LABEL, color=style.MUTED, transform=ax.transAxes)
        return ax
    labels, y = [], 0
    headers = []
    right = mtransforms.blended_transform_factory(ax.transAxes, ax.transData)
    for title, rows in groups:
        headers.append(y)
        labels.append((y, title))
        for row in rows.itertuples():
            y -= 1
            _draw_row(ax, y, row, right)
            labels.append((y, _short(row.label)))
        y -= 1.4
    ticks, texts = zip(*labels)
    ax.set_yticks(ticks, texts)
    for tick, position in zip(ax.get_yticklabels(), ticks):
        if position in headers:
            tick.set_fontweight("bold")
    ax.set_ylim(y + 0.6, 0.8)
    ax.axvline(0, color=style.INK, lw=1)
    style.clean_axes(ax, "x")
    ax.tick_params(axis="y", length=0, labelsize=style.NOTE + 0.5)
    ax.text(1.005, 1.0, "F", transform=ax.transAxes, fontsize=style.NOTE, color=style.MUTED, va="bottom")
    ax.set_xlabel("B − A, percentage points (95% interval: Newcombe's method 10 for paired proportions)",
                  fontsize=style.LABEL - 1, color=style.INK)
    style.titles(ax, wrap(f"B − A: {meta.get('change', '')}", TITLE_CHARS),
                 wrap(f"Probabilities by the end of {end_label(manifest, manifest['horizon_days'])}, "
                      f"{meta['pairs']:,} paired runs (seed {meta['seed']}). F: unpaired arms would need F times the "
                      "runs for the same interval", SUBTITLE_CHARS))
    return ax


def _draw_row(ax, y: float, row, right) -> None:
    """One difference as a dot with its interval, coloured by the side of 0 the interval lies on."""
    d, low, high = 100 * row.difference, 100 * row.low, 100 * row.high
    colour = UP if low > 0 else DOWN if high < 0 else NEITHER
    ax.errorbar([d], [y], xerr=[[d - low], [high - d]], fmt="o", color=colour, ms=5, capsize=2.5, lw=1.4)
    ax.text(1.005, y, _factor(row.factor), transform=right, fontsize=style.NOTE, color=style.MUTED, va="center")


def new_figure(table: pd.DataFrame, meta: dict, most_events: int = MOST_EVENTS) -> Figure:
    """A figure (outside pyplot) sized for the rows shown, with the comparison's footer."""
    fig = Figure(figsize=(style.FIGSIZE[0], figure_height(shown_groups(table, most_events))), layout="constrained")
    arms = meta.get("arms", {})
    text = (f"A: {arms.get('a', {}).get('scenario', '?')}  ·  B: {meta.get('change', '?')}  ·  {meta['pairs']:,} "
            f"pairs  ·  seed {meta['seed']}  ·  escalsim {meta.get('escalsim_version', '')}")
    fig.text(0.01, 0.005, text if len(text) <= 150 else text[:149] + "…", fontsize=style.NOTE - 1,
             color=style.MUTED, ha="left", va="bottom")
    bottom = 0.3 / fig.get_figheight()  # the footer's line, kept free by the layout
    fig.get_layout_engine().set(rect=(0, bottom, 1, 1 - bottom))
    return fig


def save_figure(table: pd.DataFrame, meta: dict, manifest: dict, path: str | Path, fmt: str | None = None) -> Path:
    """Draw the comparison figure and save it to `path` (its format from `fmt` or the file's suffix); returns the
    path. Raises ValueError as `draw`, OSError when the file cannot be written."""
    fig = new_figure(table, meta)
    draw(table, meta, manifest, fig.add_subplot())
    fig.savefig(path, format=fmt or Path(path).suffix.lstrip(".") or "png", dpi=style.DPI, facecolor="white")
    return Path(path)
