"""Where the runs stand over time: the fan chart of levels and the shares of runs on each rung by date."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import PercentFormatter

from escalsim.outputs.contract import check_results, level_counts, level_rows, quantiles_from_counts, track_of
from escalsim.outputs.labels import day_dates, scenario_title, track_prefix, wrap
from escalsim.outputs.style import (
    BAND,
    INK,
    LABEL,
    NOTE,
    begin,
    clean_axes,
    date_axis,
    ink_on,
    legend_below,
    rung_axis,
    rung_colours,
    steps,
    text_width,
    titles,
)

FAN_BANDS = ((0.025, 0.975, 0.16), (0.10, 0.90, 0.26), (0.25, 0.75, 0.40))  # quantiles and opacity


def fan_chart(results, ax=None, samples: int = 5, track: str | None = None):
    """The escalation level of a track over time: median, 50/80/95% bands of the runs, and a few sample runs.

    Takes a results object, an optional Axes to draw on, how many sample runs to draw and the track's id (None:
    the first); returns the Axes. Raises ValueError if the manifest lacks what figures read, the track is
    unknown, or the results hold no runs or no level grid.
    """
    check_results(results)  # before the grid, whose track the manifest names
    counts, days = level_counts(results, track)  # runs on each rung by day: exact quantiles, any run count
    m, _, ax = begin(results, ax)
    t = track_of(m, track)
    for low_q, high_q, alpha in FAN_BANDS:
        low, high = quantiles_from_counts(counts, [low_q, high_q])
        x, low, high = steps(m, days, low, high)
        ax.fill_between(x, low, high, step="post", color=BAND, alpha=alpha, lw=0,
                        label=f"{round(100 * (high_q - low_q))}% of runs")
    picks = _sample_runs(int(counts[0].sum()), samples)
    offsets = np.linspace(-0.12, 0.12, len(picks)) if len(picks) > 1 else [0.0]
    for j, (row, dy) in enumerate(zip(level_rows(results, picks, track), offsets)):
        x, y = steps(m, days, row + dy)
        ax.step(x, y, where="post", lw=1.0, color="#444444", alpha=0.75,
                label=f"{len(picks)} sample runs (offset slightly)" if j == 0 else "_sample")
    x, median = steps(m, days, quantiles_from_counts(counts, 0.5)[0])
    ax.step(x, median, where="post", lw=3, color="#0b2540", label="median", gid="median")
    lowest = int(np.flatnonzero(counts.sum(axis=0))[0])
    rung_axis(ax, t, min(lowest, t["start"]), len(t["rungs"]) - 1)
    date_axis(ax, m)
    clean_axes(ax)
    titles(ax, f"{track_prefix(m, t)}Escalation over time",
           f"{wrap(scenario_title(m), 100)}\nThe rung each run is on at the end of each day")
    legend_below(ax)
    return ax


def _sample_runs(n: int, samples: int) -> list[int]:
    """A fixed random choice of rows (the same every time for the same run count)."""
    samples = max(0, min(samples, n))
    return sorted(np.random.default_rng(n).choice(n, samples, replace=False).tolist()) if samples else []


def ladder_probabilities(results, ax=None, style: str = "area", track: str | None = None):
    """P(on each rung of a track or higher) by date; 'area' stacks the rungs (top edges = at or above), 'lines'
    draws them.

    Takes a results object, an optional Axes, the style and the track's id (None: the first); returns the Axes.
    Raises ValueError for another style, an unknown track, a manifest that lacks what figures read, or results
    without runs or a level grid.
    """
    if style not in ("area", "lines"):
        raise ValueError(f"style must be 'area' or 'lines', not {style!r}")
    check_results(results)  # before the grid, whose track the manifest names
    counts, days = level_counts(results, track)
    m, _, ax = begin(results, ax)
    t = track_of(m, track)
    colours, labels = rung_colours(t), t["rung_labels"]
    at_or_above = counts[:, ::-1].cumsum(axis=1)[:, ::-1]  # runs on rung k or higher, by day
    above = [at_or_above[:, k] / counts[0].sum() for k in range(len(labels))] + [np.zeros(len(days))]
    for k in range(len(labels)):
        if not (above[k] - above[k + 1]).any() or (style == "lines" and k == 0):
            continue
        if style == "area":
            x, low, high = steps(m, days, above[k + 1], above[k])
            ax.fill_between(x, low, high, step="post", color=colours[k], lw=0, label=labels[k], gid=f"rung:{k}")
        else:
            x, y = steps(m, days, above[k])
            ax.step(x, y, where="post", color=colours[k], lw=2.4, label=f"{labels[k]} or higher", gid=f"rung:{k}")
    ax.set_ylim(0, 1 if style == "area" else min(1.0, max(0.05, 1.1 * max(a.max() for a in above[1:]))))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("Share of runs", fontsize=LABEL, color=INK)
    date_axis(ax, m)
    clean_axes(ax)
    what = "each band's top edge is the share on that rung or higher" if style == "area" else "lines by rung"
    titles(ax, f"{track_prefix(m, t)}Where the runs stand on the ladder",
           f"Share of runs on each rung at the end of each day ({what})")
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1] if style == "lines" else handles, names[::-1] if style == "lines" else names,
              loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=NOTE + 1, frameon=False,
              title="Rung", title_fontsize=NOTE + 1, alignment="left")
    if style == "area":
        ax.figure.draw_without_rendering()  # settle the layout: the labels must fit the final axes
        for k in range(len(labels)):
            _label_band(ax, m, days, above[k + 1], above[k], labels[k], colours[k])
    return ax


def _label_band(ax, manifest: dict, days: np.ndarray, low: np.ndarray, high: np.ndarray, label: str, colour
                ) -> None:
    """The rung's name inside its band, where the band stays thick under the whole text, if there is such a place."""
    inches = ax.get_window_extent().width / ax.figure.dpi
    text_days = (text_width(label, NOTE + 0.5) / 72 + 0.2) * manifest["horizon_days"] / inches
    half = int(np.ceil(text_days / 2 / (days[1] - days[0] if len(days) > 1 else 1)))
    if 2 * half + 1 > len(days):
        return
    thin = np.lib.stride_tricks.sliding_window_view(high - low, 2 * half + 1).min(axis=1)
    i = int(np.argmax(thin))
    if thin[i] >= 0.06:
        j = i + half
        ax.text(day_dates(manifest, [days[j]])[0], (low[j] + high[j]) / 2, label, ha="center", va="center",
                fontsize=NOTE + 0.5, color=ink_on(colour), in_layout=False)
