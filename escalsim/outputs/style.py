"""Shared look of escalsim's figures: sizes, fonts, colours, axes, dates and footers (internal to plots/timeline)."""

from __future__ import annotations

import functools
import math
import re
import textwrap

import matplotlib
import matplotlib.dates as mdates
import matplotlib.patches
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

FIGSIZE = (12.0, 6.75)           # 16:9, slide size
DPI = 150
TITLE, SUBTITLE, LABEL, TICK, NOTE = 16, 12.5, 13, 12, 10.5
INK, MUTED, GRID = "#222222", "#555555", "#e4e4e4"
BAND = "#2a5c8a"                 # fan chart bands and medians: one calm blue
RUNG_MAP, RUNG_RANGE = "inferno", (0.82, 0.12)  # low rungs pale orange, high rungs dark: sequential, CVD-safe
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
OTHER = "#bbbbbb"
_TEXT = TextToPath()             # measures label widths before drawing
KIND_COLOURS = {"decision": "#0072B2", "obligation": "#E69F00", "treaty": "#CC79A7", "injection": "#000000",
                "ladder": "#D55E00"}
KIND_NAMES = {"decision": "decision", "obligation": "treaty obligation", "treaty": "treaty step",
              "injection": "injected decision", "ladder": "move on the ladder"}
TIMELINE_KINDS = tuple(KIND_COLOURS)


# --- shared pieces ---------------------------------------------------------------------------------------
def rung_colours(manifest: dict) -> list:
    """One colour per rung, the same in every figure: a sequential colour-blind-safe map, darker = higher."""
    cmap = matplotlib.colormaps[RUNG_MAP]
    return [cmap(x) for x in np.linspace(*RUNG_RANGE, len(manifest["rungs"]))]


def _axes(ax, results):
    """The caller's Axes, or a new slide-sized figure (with the footer) made through pyplot."""
    if ax is not None:
        return ax
    fig, ax = plt.subplots(figsize=FIGSIZE, layout="constrained")
    footer(fig, results)
    return ax


def new_figure(results) -> Figure:
    """A slide-sized figure outside pyplot (nothing to close, no GUI), with the footer."""
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    footer(fig, results)
    return fig


def footer(fig, results) -> None:
    """Scenario, run count and seed in small print at the bottom of the figure (space kept by the layout)."""
    m = results.manifest
    runs = m.get("runs", len(results.runs))
    text = f"{m['scenario']}  ·  {runs:,} runs  ·  seed {m.get('seed', '?')}"
    version = m.get("escalsim_version") or m.get("version")
    if version:
        text += f"  ·  escalsim {version}"
    fig.text(0.01, 0.008, text, fontsize=NOTE - 1, color=MUTED, ha="left", va="bottom")
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set"):
        engine.set(rect=(0, 0.035, 1, 0.965))


def _titles(ax, title: str, subtitle: str = "") -> None:
    """A bold title and a grey subtitle above the axes, both left-aligned."""
    lines = subtitle.count("\n") + 1 if subtitle else 0
    ax.set_title(title, loc="left", fontsize=TITLE, fontweight="bold", color=INK, pad=10 + 17 * lines)
    if subtitle:
        ax.annotate(subtitle, xy=(0, 1), xycoords="axes fraction", xytext=(0, 7), textcoords="offset points",
                    fontsize=SUBTITLE, color=MUTED, va="bottom", ha="left")


def _ink_on(colour) -> str:
    """White or near-black text, whichever reads better on the colour (by relative luminance)."""
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in matplotlib.colors.to_rgb(colour))
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.18 else INK


def _clean(ax, grid_axis: str = "y") -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=TICK, colors=INK)
    ax.grid(axis=grid_axis, color=GRID, lw=0.8)
    ax.set_axisbelow(True)


def _start(manifest: dict) -> np.datetime64:
    return np.datetime64(manifest["start"], "s")


def _dates(manifest: dict, days) -> np.ndarray:
    """Days from the start (floats, finite) as datetime64 for a matplotlib date axis."""
    seconds = np.round(np.asarray(days, dtype=float) * 86400.0).astype("int64")
    return _start(manifest) + seconds.astype("timedelta64[s]")


def _day_date(manifest: dict, day: float) -> str:
    """ISO date of the day holding `day` (checkpoints are taken at the end of the day before their `day`)."""
    return str(_dates(manifest, [math.floor(day)])[0].astype("datetime64[D]"))


def _date_axis(ax, manifest: dict) -> None:
    locator = mdates.AutoDateLocator(minticks=5, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlim(*_dates(manifest, [0.0, manifest["horizon_days"]]))
    ax.set_xlabel("Date", fontsize=LABEL, color=INK)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _rung_axis(ax, manifest: dict, lo: int, hi: int) -> None:
    labels = manifest["rung_labels"]
    ax.set_yticks(range(lo, hi + 1), [_wrap(labels[k], 26) for k in range(lo, hi + 1)])
    ax.set_ylim(lo - 0.5, hi + 0.5)
    ax.set_ylabel("Escalation rung", fontsize=LABEL, color=INK)


CONTRACT = ("scenario", "title", "start", "horizon_days", "rungs", "rung_labels", "start_level", "checkpoints",
            "readable", "labels")  # manifest keys the figures read (records.describe), plus seed and runs


def _check(results) -> int:
    """The number of runs, after checking that the manifest has what the figures read."""
    missing = [k for k in CONTRACT if k not in results.manifest]
    if missing:
        raise ValueError(f"the results manifest lacks {', '.join(missing)} (the keys of records.describe(model))")
    n = len(results.runs)
    if n == 0:
        raise ValueError("the results hold no runs")
    return n


def _levels(results) -> tuple[np.ndarray, np.ndarray]:
    """The level grid as an int matrix (runs x grid days) and the grid's days."""
    cols = sorted((c for c in results.levels.columns if re.fullmatch(r"d\d+", c)), key=lambda c: int(c[1:]))
    if not cols or results.levels.empty:
        raise ValueError("the results hold no level grid")
    step = float(results.manifest.get("grid_step", 1.0))
    return results.levels[cols].to_numpy(dtype=np.int16), np.arange(len(cols)) * step


def _steps(manifest: dict, days: np.ndarray, *ys: np.ndarray):
    """x (dates) and y arrays for where='post' steps, closed at the horizon (each grid day drawn over its day)."""
    x = _dates(manifest, np.append(days, manifest["horizon_days"]))
    return (x, *(np.append(y, y[-1]) for y in ys))


def _pct(p: float) -> str:
    """'38%', or one decimal near 0 and 100% ('0.4%', '99.6%')."""
    p = round(float(p), 9)
    return f"{100 * p:.0f}%" if 0.1 <= p <= 0.99 or p in (0, 1) else f"{100 * p:.1f}%"


def _number(v: float) -> str:
    if abs(v) >= 1000 or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:.3g}"


@functools.lru_cache(maxsize=4096)
def _text_width(text: str, size: float) -> float:
    """Width of a line of text in points, measured without drawing."""
    return _TEXT.get_text_width_height_descent(text, FontProperties(size=size), ismath=False)[0]
