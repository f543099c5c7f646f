"""The figures of a set of results, in one place: each figure function draws on an Axes (made if not given) and
returns it, never simulating; `PLOTS` names them for the CLI, `draw_all` and `save_all` draw many at once.

The figures live in modules by theme (`fan`, `passage`, `variables`, `drivers`, `timeline`); this module is
their public face (`escalsim.plots`), with the shared look (`style`) and checks (`contract`) they use.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from matplotlib.figure import Figure

from escalsim.outputs.contract import CONTRACT, check_results, key_variables
from escalsim.outputs.drivers import escalation_drivers
from escalsim.outputs.fan import fan_chart, ladder_probabilities
from escalsim.outputs.passage import first_passage_curves, max_rung_histogram
from escalsim.outputs.style import DPI, FIGSIZE, OKABE_ITO, footer, new_figure, rung_colours
from escalsim.outputs.timeline import check_traced, run_timeline, traced_runs
from escalsim.outputs.variables import variable_distribution

__all__ = ["PLOTS", "FORMATS", "save_all", "draw_all", "fan_chart", "ladder_probabilities", "first_passage_curves",
           "max_rung_histogram", "variable_distribution", "escalation_drivers", "run_timeline", "traced_runs",
           "key_variables", "rung_colours", "new_figure", "footer", "CONTRACT", "DPI", "FIGSIZE", "OKABE_ITO"]

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
    every = kinds is None or "all" in kinds
    kinds = list(PLOTS) if every else list(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in PLOTS]
    if unknown:
        raise ValueError(f"unknown plot kind {', '.join(map(repr, unknown))}; choose from {', '.join(PLOTS)}")
    check_results(results)
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
        check_traced(results, run)
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
