"""Many runs into a results directory: backends, progress, sequential stopping on precision, interruption."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from escalsim.montecarlo.batches import DaskBackend, ProcessBackend, SerialBackend, available_cores, run_many
from escalsim.montecarlo.precision import Tally
from escalsim.montecarlo.store import ResultsError, ResultsWriter, load_results
from escalsim.scenario.loader import scenario_sources
from escalsim.scenario.schema import Scenario

DEFAULT_RUNS = 10_000


@dataclass
class Settings:
    """How many runs, where, and on what: everything but the scenario itself."""

    runs: int = DEFAULT_RUNS
    seed: int = 1
    workers: int | None = None           # None: every core this process may use
    scheduler: str | None = None         # a Dask address, or "local"
    batch_size: int | None = None
    trace_runs: int = 10
    grid_step: float = 1.0
    precision: float | None = None       # stop when every reported probability's 95% half-width is at most this
    min_runs: int = 1_000
    max_runs: int = 1_000_000
    overrides: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.precision is not None and not 0.0 < self.precision <= 0.5:  # NaN fails this too
            raise ValueError(f"precision is a 95% half-width in (0, 0.5], not {self.precision}")
        if self.precision is not None and not 1 <= self.min_runs <= self.max_runs:
            raise ValueError(f"need 1 <= min_runs <= max_runs, got {self.min_runs} and {self.max_runs}")
        if self.runs < 0:
            raise ValueError(f"runs must not be negative, not {self.runs}")


Progress = Callable[[int, int, float], None]  # (runs done in this session, runs planned, runs/s)


def default_out_dir(name: str) -> Path:
    return Path("results") / f"{name}-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}"


def backend_for(settings: Settings):
    if settings.scheduler:
        return DaskBackend(settings.scheduler, settings.workers)
    workers = settings.workers or available_cores()
    return SerialBackend() if workers == 1 else ProcessBackend(workers)


def check_new_directory(directory: Path) -> None:
    """A new run never overwrites anything: the directory must not exist or be empty."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        kind = "results directory" if (directory / "manifest.json").exists() else "directory"
        raise ResultsError(f"{directory} is an existing {kind} that is not empty; choose another --out "
                           "(or continue an interrupted run with --resume)")


def run(scenario: Scenario, out: str | Path | None = None, settings: Settings | None = None,
        source_file: str | Path | None = None, progress: Progress | None = None) -> Path:
    """Run a scenario many times into a new results directory and return its path (Python API and CLI)."""
    settings = settings or Settings()
    directory = Path(out) if out is not None else default_out_dir(scenario.name)
    check_new_directory(directory)
    sources = scenario_sources(Path(source_file)) if source_file else {}
    first = settings.min_runs if settings.precision else settings.runs
    with backend_for(settings) as backend:
        writer = ResultsWriter.create(
            directory, scenario=scenario, sources=sources, seed=settings.seed, runs=first, backend=backend.name,
            workers=backend.workers, trace_runs=settings.trace_runs, grid_step=settings.grid_step,
            overrides=settings.overrides,
            settings={k: getattr(settings, k) for k in ("precision", "min_runs", "max_runs", "batch_size")})
        return _continue(writer, backend, progress)


def resume(directory: str | Path, settings: Settings | None = None, progress: Progress | None = None) -> Path:
    """Continue an interrupted results directory to its requested run count (same results as uninterrupted)."""
    writer = ResultsWriter.resume(Path(directory))
    with backend_for(settings or Settings()) as backend:
        writer.backend, writer.workers = backend.name, backend.workers  # the manifest names what finished it
        return _continue(writer, backend, progress)


def _continue(writer: ResultsWriter, backend, progress: Progress | None) -> Path:
    s = writer.settings
    model = writer.model
    tally = Tally(model.rungs, model.checkpoints + [("horizon", model.horizon)], model.outcomes)
    names = ["run"] + [f"first_passage.{r}" for r in model.rungs] + [f"fired.{o}" for o in model.outcomes]
    for columns in writer.done_columns(names):
        tally.add(columns)
    began = time.perf_counter()
    stopped = None
    while stopped is None:
        _run_to_target(writer, backend, tally, s.get("batch_size"), progress)
        stopped = _stop_reason(writer, tally, s)
    return writer.finalize(wall_time=time.perf_counter() - began, stopped_because=stopped)


def _stop_reason(writer: ResultsWriter, tally: Tally, s: dict) -> str | None:
    """None to go on (after raising the target), else why the run ends."""
    precision = s.get("precision")
    if not precision:
        return f"the requested {writer.target:,} runs are done"
    name, half = tally.widest()
    if half <= precision:
        return f"precision reached: the widest 95% half-width is {half:.4f} ({name}) <= {precision}"
    if writer.target >= s["max_runs"]:
        return (f"--max-runs {s['max_runs']:,} reached with the widest 95% half-width still {half:.4f} ({name}),"
                f" above {precision}")
    n = writer.target
    writer.set_target(min(s["max_runs"], max(math.ceil(n * (half / precision) ** 2), n + n // 4)))
    return None


def _run_to_target(writer: ResultsWriter, backend, tally: Tally, batch_size: int | None,
                   progress: Progress | None) -> None:
    start, stop = writer.next_run, writer.target
    began = time.perf_counter()
    for batch in run_many(writer.job, start, stop, backend, batch_size):
        writer.append(batch)
        tally.add(batch.columns)
        if progress is not None:
            done = writer.next_run - start
            progress(done, stop - start, done / max(time.perf_counter() - began, 1e-9))


@contextlib.contextmanager
def click_progress(label: str, enabled: bool) -> Iterator[Progress | None]:
    """A click progress bar (runs done, runs/s, time left) as a Progress callback, on stderr: stdout keeps
    only the summary, for a pipe or a file."""
    if not enabled:
        yield None
        return
    import click

    state: dict = {}

    def update(done: int, total: int, rate: float) -> None:
        bar = state.get("bar")
        if bar is None or state["total"] != total:
            if bar is not None:
                bar.render_finish()
            bar = state["bar"] = click.progressbar(length=total, label=label, show_eta=True, show_pos=True,
                                                   item_show_func=lambda item: item,
                                                   file=sys.stderr)  # looked up now: CliRunner swaps it
            state["total"], state["done"] = total, 0
        bar.current_item = f"{rate:,.0f} runs/s"
        bar.update(done - state["done"])
        state["done"] = done

    try:
        yield update
    finally:
        if state.get("bar") is not None:
            state["bar"].render_finish()


__all__ = ["Settings", "run", "resume", "load_results", "DEFAULT_RUNS"]
