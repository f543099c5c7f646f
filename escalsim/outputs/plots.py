"""The figures of a set of results, in one place: each figure function draws on an Axes (made if not given) and
returns it, never simulating; `PLOTS` names them for the CLI, `draw_all` and `save_all` draw many at once.

The figures live in modules by theme (`events`, `fan`, `passage`, `variables`, `drivers`, `timeline`); this module is
their public face (`escalsim.plots`), with the shared look (`style`) and checks (`contract`) they use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from matplotlib.figure import Figure

from escalsim.outputs.contract import CONTRACT, check_results, key_variables
from escalsim.outputs.drivers import escalation_drivers
from escalsim.outputs.events import MOST_EVENTS, RULE, chosen_events, event_curves
from escalsim.outputs.fan import fan_chart, ladder_probabilities
from escalsim.outputs.labels import capitalised, end_label, moment_label, track_prefix, variable_label
from escalsim.outputs.passage import first_passage_curves, log_scale, max_rung_histogram
from escalsim.outputs.style import DPI, FIGSIZE, OKABE_ITO, footer, new_figure, rung_colours
from escalsim.outputs.timeline import check_traced, run_timeline, traced_runs
from escalsim.outputs.variables import middle_checkpoint, middle_reason, variable_distribution

__all__ = ["PLOTS", "FORMATS", "save_all", "draw_all", "drawings", "Drawing", "event_curves", "chosen_events",
           "fan_chart", "ladder_probabilities",
           "first_passage_curves", "max_rung_histogram", "variable_distribution", "escalation_drivers",
           "run_timeline", "traced_runs", "key_variables", "rung_colours", "new_figure", "footer", "CONTRACT", "DPI",
           "FIGSIZE", "OKABE_ITO"]

PLOTS = {
    "events": event_curves,               # the main events' probabilities by date (all tracks together)
    "fan": fan_chart,
    "ladder": ladder_probabilities,
    "first_passage": first_passage_curves,
    "max_rung": max_rung_histogram,
    "variables": variable_distribution,   # one figure per key variable at the horizon, one at the middle checkpoint
    "drivers": escalation_drivers,
    "timeline": run_timeline,             # one traced run (the first, unless `run` is given)
}
FORMATS = ("png", "svg", "pdf")


def save_all(results, out_dir, kinds: Iterable[str] | None = None, fmt: str = "png", run: int | None = None
             ) -> list[Path]:
    """Draw each kind into its own figure and write it under `out_dir` (made if missing), atomically.

    Takes a results object, the folder, the kinds (None or a list holding 'all': every kind), the file format
    (png, svg or pdf) and the run for the timeline (default: the first traced run); returns the files written.
    Raises ValueError for an unknown format, kind or run, or results the figures cannot read, before any file
    is written; OSError if a file cannot be written.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    figures = list(draw_all(results, kinds, run))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [_save(fig, out / f"{stem}.{fmt}", fmt) for stem, fig in figures]


def draw_all(results, kinds: Iterable[str] | None = None, run: int | None = None) -> Iterator[tuple[str, Figure]]:
    """(file stem, figure) for each kind, drawn on slide-sized figures outside pyplot.

    Takes the same results, kinds and run as `save_all`. Every argument is checked before the first figure is
    drawn: raises ValueError for an unknown kind or run, or results the figures cannot read. Without a traced
    run, 'all' leaves out the timeline.
    """
    for drawing in drawings(results, kinds, run):
        fig = new_figure(results)
        drawing.draw(fig.add_subplot())
        yield drawing.stem, fig


class Drawing(NamedTuple):
    """A figure to draw: its file stem, a caption in words (labels, not ids) and draw(ax), which returns the Axes."""

    stem: str
    caption: str
    draw: Callable


def drawings(results, kinds: Iterable[str] | None = None, run: int | None = None) -> list[Drawing]:
    """The figures `draw_all` draws, not drawn yet: one Drawing per figure, in order.

    Takes the same results, kinds and run as `save_all`; raises ValueError for an unknown kind or run, or
    results the figures cannot read. Without a traced run, 'all' leaves out the timeline.
    """
    every = kinds is None or "all" in kinds
    kinds = list(PLOTS) if every else list(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in PLOTS]
    if unknown:
        raise ValueError(f"unknown plot kind {', '.join(map(repr, unknown))}; choose from {', '.join(PLOTS)}")
    check_results(results)
    if every and run is None and not traced_runs(results):
        kinds.remove("timeline")  # no run was traced (--traces 0): every figure there is data for
    if "timeline" in kinds:  # checked before anything is drawn, so nothing is half-written
        traced = traced_runs(results)
        run = run if run is not None else (traced[0] if traced else 0)
        check_traced(results, run)
    found: list[Drawing] = []
    for kind in kinds:
        if kind == "variables":
            found += _variable_drawings(results)
        elif kind == "events":
            found.append(Drawing("events", EVENTS_CAPTION, lambda ax: event_curves(results, ax=ax)))
        elif kind == "timeline":
            found.append(Drawing(f"timeline_run{run}", _timeline_caption(run),
                                 lambda ax, run=run: run_timeline(results, run, ax=ax)))
        else:
            found += _track_drawings(results, kind)
    return found


def _track_drawings(results, kind: str) -> list[Drawing]:
    """One drawing of a kind drawn by track: stem `kind` for results of one track, `kind_<track>` for each of
    several tracks (the caption then starts with the track's label)."""
    m = results.manifest
    if len(m["tracks"]) == 1:
        return [Drawing(kind, CAPTIONS[kind](results, None), lambda ax, fn=PLOTS[kind]: fn(results, ax=ax))]
    return [Drawing(f"{kind}_{t['id']}", track_prefix(m, t) + CAPTIONS[kind](results, t["id"]),
                    lambda ax, fn=PLOTS[kind], track=t["id"]: fn(results, ax=ax, track=track)) for t in m["tracks"]]


EVENTS_CAPTION = ("How likely each event is by each date: the share of runs in which it had happened, with 95% Wilson "
                  f"bands. Shown: {RULE.format(most=MOST_EVENTS)}.")
CAPTIONS = {  # (results, track id or None) -> the caption of a figure drawn by track
    "fan": lambda r, t: ("Escalation over time: the median rung, the bands holding the middle 50%, 80% and 95% of "
                      "the runs at the end of each day, and a few sample runs."),
    "ladder": lambda r, t: ("Share of runs on each rung at the end of each day; each band's top edge is the share of "
                         "runs on that rung or a higher one."),
    "first_passage": lambda r, t: ("Share of runs that have been on each rung or a higher one by each date, with 95% "
                                   "Wilson bands, censored at the horizon"
                                   + (" (log scale, so that rare rungs show)." if log_scale(r, t) else ".")),
    "max_rung": lambda r, t: (f"The highest rung each run was on by the horizon (the end of "
                              f"{end_label(r.manifest, r.manifest['horizon_days'])}), as shares of the runs, with "
                              "95% Wilson intervals."),
    "drivers": lambda r, t: ("What first put the track on each rung, among the runs that were on it or a higher one; "
                             "runs in which a jump went past the rung are shown as passed over."),
}


def _timeline_caption(run: int) -> str:
    return f"One simulated course of events (run {run}, a traced run): its rung day by day and its key events."


def _variable_drawings(results) -> list[Drawing]:
    """Each key variable at the horizon and at the checkpoint nearest the middle of the run (to compare)."""
    m = results.manifest
    middle = middle_checkpoint(m)
    found = []
    for var in key_variables(m):
        label = capitalised(variable_label(m, var))
        found.append(Drawing(f"variables_{var}", f"{label} at {moment_label(m, None)}: {VARIABLE_CAPTION}",
                             lambda ax, v=var: variable_distribution(results, v, ax=ax)))
        if middle:
            why = f"{middle_reason(m)}."
            found.append(Drawing(f"variables_{var}_{middle}",
                                 f"{label} at {moment_label(m, middle)}: {VARIABLE_CAPTION} {why}",
                                 lambda ax, v=var, at=middle, why=why: variable_distribution(results, v, at, ax, why)))
    return found


VARIABLE_CAPTION = "its distribution across the runs, with the median and the middle 90%."


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
