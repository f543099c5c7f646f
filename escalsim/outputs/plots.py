"""Figures of a set of results: each function draws on an Axes (made if not given) and returns it; never simulates."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import matplotlib
import matplotlib.patches
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter
from scipy import stats

from escalsim.outputs.style import (  # noqa: F401 - part of this module's public face
    BAND,
    CONTRACT,
    DPI,
    FIGSIZE,
    INK,
    LABEL,
    MUTED,
    NOTE,
    OKABE_ITO,
    OTHER,
    TICK,
    _axes,
    _check,
    _clean,
    _date_axis,
    _dates,
    _day_date,
    _ink_on,
    _levels,
    _number,
    _pct,
    _rung_axis,
    _steps,
    _text_width,
    _titles,
    _wrap,
    footer,
    new_figure,
    rung_colours,
)
from escalsim.outputs.timeline import _check_traced, _ranges, run_timeline, traced_runs  # noqa: F401 - public here too
from escalsim.stats import wilson

# --- fan chart -------------------------------------------------------------------------------------------
FAN_BANDS = ((0.025, 0.975, 0.16), (0.10, 0.90, 0.26), (0.25, 0.75, 0.40))  # quantiles and opacity


def fan_chart(results, ax=None, samples: int = 5):
    """The escalation level over time: median, 50/80/95% bands of the runs, and a few sample runs."""
    _check(results)
    m = results.manifest
    grid, days = _levels(results)
    ax = _axes(ax, results)
    for low_q, high_q, alpha in FAN_BANDS:
        low, high = np.quantile(grid, [low_q, high_q], axis=0)
        x, low, high = _steps(m, days, low, high)
        ax.fill_between(x, low, high, step="post", color=BAND, alpha=alpha, lw=0,
                        label=f"{round(100 * (high_q - low_q))}% of runs")
    picks = _sample_runs(len(grid), samples)
    offsets = np.linspace(-0.12, 0.12, len(picks)) if len(picks) > 1 else [0.0]
    for j, (i, dy) in enumerate(zip(picks, offsets)):
        x, y = _steps(m, days, grid[i] + dy)
        ax.step(x, y, where="post", lw=1.0, color="#444444", alpha=0.75,
                label=f"{len(picks)} sample runs (offset slightly)" if j == 0 else "_sample")
    x, median = _steps(m, days, np.median(grid, axis=0))
    ax.step(x, median, where="post", lw=3, color="#0b2540", label="median", gid="median")
    _rung_axis(ax, m, min(int(grid.min()), m["start_level"]), len(m["rungs"]) - 1)
    _date_axis(ax, m)
    _clean(ax)
    _titles(ax, "Escalation over time", f"{m['title']}: the rung each run is on, day by day")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=5, fontsize=NOTE + 1, frameon=False)
    return ax


def _sample_runs(n: int, samples: int) -> list[int]:
    """A fixed random choice of rows (the same every time for the same run count)."""
    samples = max(0, min(samples, n))
    return sorted(np.random.default_rng(n).choice(n, samples, replace=False).tolist()) if samples else []


# --- ladder probabilities by date ------------------------------------------------------------------------
def ladder_probabilities(results, ax=None, style: str = "area"):
    """P(on each rung or higher) by date; 'area' stacks the rungs (top edges = at or above), 'lines' draws them."""
    if style not in ("area", "lines"):
        raise ValueError(f"style must be 'area' or 'lines', not {style!r}")
    _check(results)
    m = results.manifest
    grid, days = _levels(results)
    ax = _axes(ax, results)
    colours, labels = rung_colours(m), m["rung_labels"]
    above = [np.mean(grid >= k, axis=0) for k in range(len(labels))] + [np.zeros(grid.shape[1])]
    for k in range(len(labels)):
        if not (above[k] - above[k + 1]).any() or (style == "lines" and k == 0):
            continue
        if style == "area":
            x, low, high = _steps(m, days, above[k + 1], above[k])
            ax.fill_between(x, low, high, step="post", color=colours[k], lw=0, label=labels[k], gid=f"rung:{k}")
        else:
            x, y = _steps(m, days, above[k])
            ax.step(x, y, where="post", color=colours[k], lw=2.4, label=f"{labels[k]} or higher", gid=f"rung:{k}")
    ax.set_ylim(0, 1 if style == "area" else min(1.0, max(0.05, 1.1 * max(a.max() for a in above[1:]))))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("Share of runs", fontsize=LABEL, color=INK)
    _date_axis(ax, m)
    _clean(ax)
    what = "each band's top edge is the share on that rung or higher" if style == "area" else "lines by rung"
    _titles(ax, "Where the runs stand on the ladder", f"Share of runs on each rung at the end of each day ({what})")
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
    text_days = (_text_width(label, NOTE + 0.5) / 72 + 0.2) * manifest["horizon_days"] / inches
    half = int(np.ceil(text_days / 2 / (days[1] - days[0] if len(days) > 1 else 1)))
    if 2 * half + 1 > len(days):
        return
    thin = np.lib.stride_tricks.sliding_window_view(high - low, 2 * half + 1).min(axis=1)
    i = int(np.argmax(thin))
    if thin[i] >= 0.06:
        j = i + half
        ax.text(_dates(manifest, [days[j]])[0], (low[j] + high[j]) / 2, label, ha="center", va="center",
                fontsize=NOTE + 0.5, color=_ink_on(colour), in_layout=False)


# --- first passage ---------------------------------------------------------------------------------------
def first_passage_curves(results, ax=None):
    """For each rung above the start: P(reached by each date), with 95% Wilson bands, censored at the horizon."""
    m = results.manifest
    n = _check(results)
    ax = _axes(ax, results)
    colours, horizon, top = rung_colours(m), m["horizon_days"], 0.05
    for k in range(m["start_level"] + 1, len(m["rungs"])):
        first = results.runs[f"first_passage.{m['rungs'][k]}"].to_numpy(dtype=float)
        reached = np.sort(first[~np.isnan(first)])
        days = np.concatenate([[0.0], reached, [horizon]])
        hits = np.concatenate([[0], np.arange(1, len(reached) + 1), [len(reached)]])
        p, low, high = wilson(hits, n)
        x = _dates(m, days)
        ax.fill_between(x, low, high, step="post", color=colours[k], alpha=0.2, lw=0)
        _, lo_end, hi_end = wilson(len(reached), n)
        ax.step(x, p, where="post", color=colours[k], lw=2.4, gid=f"rung:{k}",
                label=f"{_wrap(m['rung_labels'][k], 30)}\n{_pct(p[-1])} ({_pct(lo_end)[:-1]}–{_pct(hi_end)})")
        top = max(top, float(high.max()))
    ax.set_ylim(0, min(1.0, top * 1.08))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("Share of runs that have reached the rung", fontsize=LABEL, color=INK)
    _date_axis(ax, m)
    _clean(ax)
    end = _day_date(m, horizon - 1)
    _titles(ax, "How soon each rung is reached",
            f"Cumulative probability by date; shaded: 95% Wilson interval. Censored at the horizon ({end}):\n"
            "a run that had not reached a rung by then counts as not reaching it.")
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], names[::-1], loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=NOTE + 0.5,
              frameon=False, title="Reached by the horizon\n(95% interval)", title_fontsize=NOTE + 1,
              alignment="left", labelspacing=0.9)
    return ax


# --- maximum rung ----------------------------------------------------------------------------------------
def max_rung_histogram(results, ax=None):
    """How far up the ladder the runs got: the share of runs whose highest rung is each rung, with 95% CIs."""
    m = results.manifest
    n = _check(results)
    ax = _axes(ax, results)
    ks = np.arange(min(m["start_level"], int(results.runs["max_level"].min())), len(m["rungs"]))
    counts = np.array([np.count_nonzero(results.runs["max_level"].to_numpy() == k) for k in ks])
    p, low, high = wilson(counts, n)
    colours = rung_colours(m)
    ax.barh(ks, 100 * p, height=0.7, color=[colours[k] for k in ks], edgecolor="none", gid="max_rung")
    ax.errorbar(100 * p, ks, xerr=100 * np.clip([p - low, high - p], 0, None), fmt="none", ecolor="#333333",
                elinewidth=1.2, capsize=4)
    for k, share, hi, count in zip(ks, p, high, counts):
        ax.text(100 * hi + 1, k, f"{_pct(share)}  ({count:,})", va="center", fontsize=TICK, color=INK)
    _rung_axis(ax, m, int(ks[0]), int(ks[-1]))
    ax.set_ylabel("Highest rung reached", fontsize=LABEL, color=INK)
    ax.set_xlim(0, min(100.0, 100 * float(high.max())) * 1.22 + 1)
    ax.xaxis.set_major_formatter(PercentFormatter(100))
    ax.set_xlabel("Share of runs (bars sum to 100%; whiskers: 95% Wilson interval)", fontsize=LABEL, color=INK)
    _clean(ax, grid_axis="x")
    end = _day_date(m, m["horizon_days"] - 1)
    _titles(ax, "How far up the ladder the runs went",
            f"Highest rung reached by {end}, out of {n:,} runs (run count in brackets)")
    return ax


# --- variables -------------------------------------------------------------------------------------------
def variable_distribution(results, variable: str, at: str | None = None, ax=None):
    """Histogram (and density) of a variable at a checkpoint name or the horizon, with median and 90% interval."""
    _check(results)
    m = results.manifest
    x, when = _variable_values(results, variable, at)
    ax = _axes(ax, results)
    bins = _bins(x)
    heights = _histogram(ax, x, bins)
    _density(ax, x, bins)
    q05, median, q95 = np.quantile(x, [0.05, 0.5, 0.95])
    ax.axvspan(q05, q95, color="#f0b35a", alpha=0.2, lw=0, zorder=1,
               label=f"middle 90% of runs: {_number(q05)} to {_number(q95)}")
    ax.axvline(median, color="#b2420e", lw=2.2, ls="--", zorder=4, label=f"median: {_number(median)}")
    ax.set_xlabel(_variable_label(m, variable), fontsize=LABEL, color=INK)
    ax.set_ylabel("Share of runs", fontsize=LABEL, color=INK)
    ax.set_ylim(0, max(heights.max(), 1e-9) * 1.35)  # headroom for the legend
    ax.yaxis.set_major_formatter(PercentFormatter(100, decimals=0 if heights.max() >= 5 else None))
    if np.all(x == np.round(x)):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: _number(v)))
    _clean(ax)
    label = m.get("labels", {}).get(variable, variable)
    _titles(ax, label[:1].upper() + label[1:], f"{when}, across {len(x):,} runs")
    ax.legend(loc="upper right", fontsize=NOTE + 1, framealpha=0.9, edgecolor="none")
    return ax


def _histogram(ax, x: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """Bars as shares of the runs (labelled when there are few, or when one value holds many runs)."""
    few = len(bins) <= 13
    heights, _, bars = ax.hist(x, bins=bins, weights=np.full(len(x), 100.0 / len(x)), color="#8fb3d3", zorder=2,
                               edgecolor="white", lw=0.8, rwidth=0.6 if few else None, label="runs (histogram)")
    if few:
        ax.bar_label(bars, [_pct(h / 100) if h else "" for h in heights], fontsize=TICK, color=INK, padding=3)
    else:
        value, share = _atom(x)
        if share >= ATOM:
            ax.annotate(f"{_pct(share)} of runs: exactly {_number(value)}", (value, heights.max()),
                        xytext=(10, -4), textcoords="offset points", va="top", fontsize=TICK, color=INK)
    return heights


ATOM = 0.1  # a single value held by this share of the runs is drawn apart from the smoothed density


def _atom(x: np.ndarray) -> tuple[float, float]:
    """The most frequent value and its share of the runs."""
    values, counts = np.unique(x, return_counts=True)
    return float(values[counts.argmax()]), float(counts.max() / len(x))


def _density(ax, x: np.ndarray, bins: np.ndarray) -> None:
    """A Gaussian KDE scaled to the bars, of the values other than a heavy single value; none if degenerate."""
    value, share = _atom(x)
    rest = x[x != value] if share >= ATOM else x
    if len(np.unique(rest)) < 3 or len(bins) <= 13:
        return
    try:
        kde = stats.gaussian_kde(rest)
    except np.linalg.LinAlgError:
        return
    grid = np.linspace(bins[0], bins[-1], 400)
    label = "smoothed (KDE)" if share < ATOM else "smoothed (KDE) of the other runs"
    ax.plot(grid, kde(grid) * 100 * np.diff(bins).mean() * len(rest) / len(x), color=BAND, lw=2.2, zorder=3,
            label=label)


def _variable_values(results, variable: str, at: str | None) -> tuple[np.ndarray, str]:
    m = results.manifest
    if variable not in m["readable"]:
        raise ValueError(f"unknown variable {variable!r}; the results hold: {', '.join(m['readable'])}")
    if at is None or at == "horizon":
        day, column, name = m["horizon_days"], f"final.{variable}", "the horizon"
    else:
        days = {c["name"]: c["day"] for c in m["checkpoints"]}
        if at not in days:
            raise ValueError(f"unknown checkpoint {at!r}; checkpoints: {', '.join(days) or 'none'} (or None: horizon)")
        day, column, name = days[at], f"at.{at}.{variable}", f"checkpoint {at}"
    return results.runs[column].to_numpy(dtype=float), f"At the end of {_day_date(m, day - 1)} ({name})"


def _variable_label(manifest: dict, variable: str) -> str:
    label = manifest.get("labels", {}).get(variable, variable)
    unit = manifest.get("units", {}).get(variable)
    return f"{label} ({unit})" if unit else label


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


def key_variables(manifest: dict) -> list[str]:
    """The variables marked `key`, or else the first four."""
    return manifest.get("key_variables") or [v for v in manifest["readable"] if v != "level"][:4]


# --- what drove escalation -------------------------------------------------------------------------------
MAX_CAUSES, MIN_CAUSE_SHARE = 8, 0.03


def escalation_drivers(results, ax=None):
    """For each rung above the start, what first moved the world onto it, as shares of the runs that got there."""
    m = results.manifest
    n = _check(results)
    ax = _axes(ax, results)
    ks = list(range(m["start_level"] + 1, len(m["rungs"])))
    causes = {k: _strings(results.runs[f"first_cause.{m['rungs'][k]}"]) for k in ks}
    shown = _main_causes(causes)
    palette = {c: OKABE_ITO[i % len(OKABE_ITO)] for i, c in enumerate(shown)} | {"other": OTHER}
    used: set[str] = set()
    for k in ks:
        counts = causes[k][causes[k] != ""].map(lambda c: c if c in shown else "other").value_counts()
        used |= set(counts.index)
        _driver_bar(ax, k, counts, palette)
        reached = int(counts.sum())
        note = f"{_pct(reached / n)} of runs ({reached:,})" if reached else "never reached"
        ax.text(101.5, k, note, va="center", fontsize=NOTE, color=MUTED)
    handles = [matplotlib.patches.Patch(color=palette[c], label=_wrap(c[:1].upper() + c[1:], 60))
               for c in palette if c in used]
    if ks:
        _rung_axis(ax, m, ks[0], ks[-1])
    ax.set_xlim(0, 100)
    ax.xaxis.set_major_formatter(PercentFormatter(100))
    ax.set_xlabel("Share of the runs that reached the rung", fontsize=LABEL, color=INK)
    _clean(ax, grid_axis="x")
    _titles(ax, "What pushed the world onto each rung",
            "The first cause of reaching each rung (right: how many runs reached it by the horizon)")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=NOTE,
              frameon=False)
    return ax


def _strings(column: pd.Series) -> pd.Series:
    """A column of strings ('' for missing), whether stored as objects, strings or categories."""
    return column.astype(object).where(column.notna(), "").astype(str)


def _driver_bar(ax, k: int, counts, palette: dict) -> None:
    """One rung's bar: a segment per cause, in legend order, as shares of the runs that reached the rung."""
    reached, left = counts.sum(), 0.0
    for cause, colour in palette.items():
        share = counts.get(cause, 0) / reached if reached else 0.0
        if share:
            ax.barh(k, 100 * share, left=left, height=0.7, color=colour, edgecolor="white", lw=0.8,
                    gid=f"rung:{k}|{cause}")
            if share >= 0.07:
                ax.text(left + 50 * share, k, _pct(share), ha="center", va="center", fontsize=NOTE,
                        color=_ink_on(colour))
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


PLOTS = {
    "fan": fan_chart,
    "ladder": ladder_probabilities,
    "first_passage": first_passage_curves,
    "max_rung": max_rung_histogram,
    "variables": variable_distribution,   # one figure per key variable (at the last checkpoint and the horizon)
    "drivers": escalation_drivers,
    "timeline": run_timeline,             # one traced run (the first, unless `run` is given)
}
FORMATS = ("png", "svg", "pdf")


def save_all(results, out_dir, kinds: Iterable[str] | None = None, fmt: str = "png", run: int | None = None
             ) -> list[Path]:
    """Draw each kind (None or 'all': every kind) into its own figure under out_dir; return the files written."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    figures = list(draw_all(results, kinds, run))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [_save(fig, out / f"{stem}.{fmt}", fmt) for stem, fig in figures]


def draw_all(results, kinds: Iterable[str] | None = None, run: int | None = None) -> Iterator[tuple[str, Figure]]:
    """(file stem, figure) for each kind; every argument is checked before the first figure is drawn."""
    every = kinds is None or "all" in kinds
    kinds = list(PLOTS) if every else list(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in PLOTS]
    if unknown:
        raise ValueError(f"unknown plot kind {', '.join(map(repr, unknown))}; choose from {', '.join(PLOTS)}")
    _check(results)
    if every and run is None and not traced_runs(results):
        kinds.remove("timeline")  # no run was traced (--traces 0): every figure there is data for
    for stem, draw in list(_drawings(results, kinds, run)):
        fig = new_figure(results)
        draw(fig.add_subplot())
        yield stem, fig


def _drawings(results, kinds: list[str], run: int | None):
    """(file stem, draw(ax)) for each figure, after checking the timeline's run so nothing is half-written."""
    if "timeline" in kinds:
        traced = traced_runs(results)
        run = run if run is not None else (traced[0] if traced else 0)
        _check_traced(results, run)
    for kind in kinds:
        if kind == "variables":
            yield from _variable_drawings(results)
        elif kind == "timeline":
            yield f"timeline_run{run}", lambda ax, run=run: run_timeline(results, run, ax=ax)
        else:
            yield kind, lambda ax, fn=PLOTS[kind]: fn(results, ax=ax)


def _variable_drawings(results):
    m = results.manifest
    before = [c["name"] for c in m["checkpoints"] if c["day"] < m["horizon_days"]]
    for var in key_variables(m):
        yield f"variables_{var}", lambda ax, v=var: variable_distribution(results, v, ax=ax)
        if before:
            yield (f"variables_{var}_{before[-1]}",
                   lambda ax, v=var, at=before[-1]: variable_distribution(results, v, at=at, ax=ax))


def _save(fig: Figure, path: Path, fmt: str) -> Path:
    """Write atomically: a temporary file beside the target, then os.replace."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    metadata = {"Date": None} if fmt in ("svg", "pdf") else None
    try:
        fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata, facecolor="white")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
