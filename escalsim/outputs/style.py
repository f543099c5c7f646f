"""The look shared by escalsim's figures: sizes, fonts, colours, axes, titles and the footer."""

from __future__ import annotations

import functools

import matplotlib
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from escalsim.outputs.contract import check_results
from escalsim.outputs.labels import day_dates, wrap

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


def rung_colours(ladder: dict) -> list:
    """One colour per rung of a ladder (a track of the manifest, or a manifest of one track), the same in every
    figure: a sequential colour-blind-safe map, darker = higher. Returns RGBA tuples, lowest rung first; raises
    KeyError without 'rungs'."""
    cmap = matplotlib.colormaps[RUNG_MAP]
    return [cmap(x) for x in np.linspace(*RUNG_RANGE, len(ladder["rungs"]))]


def axes_for(ax, results):
    """The caller's Axes if given, else a new slide-sized figure's Axes (with the footer) made through pyplot."""
    if ax is not None:
        return ax
    fig, ax = plt.subplots(figsize=FIGSIZE, layout="constrained")
    footer(fig, results)
    return ax


def begin(results, ax) -> tuple[dict, int, object]:
    """What every figure starts with: (manifest, number of runs, Axes), the Axes being `axes_for(ax, results)`.

    Raises ValueError (from `check_results`) before anything is drawn if the figures cannot read the results.
    """
    n = check_results(results)
    return results.manifest, n, axes_for(ax, results)


def new_figure(results) -> Figure:
    """A slide-sized figure outside pyplot (nothing to close, no GUI), with the results' footer."""
    fig = Figure(figsize=FIGSIZE, layout="constrained")
    footer(fig, results)
    return fig


def footer(fig, results) -> None:
    """Scenario, run count and seed in small print at the bottom of `fig` (space kept by the layout).

    Raises KeyError if the manifest has no 'scenario'.
    """
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


def titles(ax, title: str, subtitle: str = "") -> None:
    """A bold title and a grey subtitle (may hold newlines) above the Axes, both left-aligned."""
    lines = subtitle.count("\n") + 1 if subtitle else 0
    ax.set_title(title, loc="left", fontsize=TITLE, fontweight="bold", color=INK, pad=10 + 17 * lines)
    if subtitle:
        ax.annotate(subtitle, xy=(0, 1), xycoords="axes fraction", xytext=(0, 7), textcoords="offset points",
                    fontsize=SUBTITLE, color=MUTED, va="bottom", ha="left")


def legend_below(ax, handles=None, labels=None, ncols=(5, 3, 2, 1), below: float = 0.11, **kwargs):
    """A legend centred under the Axes, in as many columns (of `ncols`, tried in order) as fit inside the figure.

    Takes the Axes, optional handles and labels (default: the Axes' own), the column counts to try, how far
    below the Axes it starts (a fraction of the Axes' height) and any other Legend keyword; returns the Legend.
    The figure is laid out (drawn without rendering) to measure the legend, which must be `inside` the figure;
    the fewest columns are kept if none fits.
    """
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    style = {"fontsize": NOTE + 1, "frameon": False} | kwargs
    fig = ax.figure
    for ncol in ncols:
        legend = ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -below), ncol=ncol, **style)
        fig.draw_without_rendering()
        if inside(legend):
            break
    return legend


def inside(artist, margin: float = 0.01) -> bool:
    """Whether a drawn artist lies inside its figure, at least `margin` (a fraction of the figure's width and
    height) from every edge. Takes an artist of a figure laid out already (drawn, or drawn without rendering)."""
    box, fig = artist.get_window_extent(), artist.figure.bbox
    dx, dy = margin * fig.width, margin * fig.height
    return box.x0 >= dx and box.x1 <= fig.width - dx and box.y0 >= dy and box.y1 <= fig.height - dy


def ink_on(colour) -> str:
    """White or near-black text, whichever reads better on `colour` (by relative luminance)."""
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in matplotlib.colors.to_rgb(colour))
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.18 else INK


def clean_axes(ax, grid_axis: str = "y") -> None:
    """The house style on an Axes: no top and right spines, light grid lines along `grid_axis` ('x', 'y', 'both')."""
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=TICK, colors=INK)
    ax.grid(axis=grid_axis, color=GRID, lw=0.8)
    ax.set_axisbelow(True)


def date_axis(ax, manifest: dict) -> None:
    """A date x-axis from the scenario's start to its horizon, with concise tick labels."""
    locator = mdates.AutoDateLocator(minticks=5, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlim(*day_dates(manifest, [0.0, manifest["horizon_days"]]))
    ax.set_xlabel("Date", fontsize=LABEL, color=INK)


def rung_axis(ax, ladder: dict, lo: int, hi: int) -> None:
    """A y-axis of rungs `lo` to `hi` (indices into the ladder: a track of the manifest), each tick named by its
    label."""
    labels = ladder["rung_labels"]
    ax.set_yticks(range(lo, hi + 1), [wrap(labels[k], 26) for k in range(lo, hi + 1)])
    ax.set_ylim(lo - 0.5, hi + 0.5)
    ax.set_ylabel("Escalation rung", fontsize=LABEL, color=INK)


def steps(manifest: dict, days: np.ndarray, *ys: np.ndarray):
    """x (dates) and y arrays for where='post' steps, closed at the horizon (each grid day drawn over its day).

    Takes the grid's days and any number of y arrays of the same length; returns (x, *ys), each one longer.
    """
    x = day_dates(manifest, np.append(days, manifest["horizon_days"]))
    return (x, *(np.append(y, y[-1]) for y in ys))


@functools.lru_cache(maxsize=4096)
def text_width(text: str, size: float) -> float:
    """Width of a line of text at `size` points, in points, measured without drawing."""
    return _TEXT.get_text_width_height_descent(text, FontProperties(size=size), ismath=False)[0]
