"""Many runs of a scenario into a new results directory (`run`), or an interrupted one completed (`resume`), with
progress reports and sequential stopping on precision."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from escalsim.montecarlo.backends import Backend, backend_for
from escalsim.montecarlo.batches import run_many
from escalsim.montecarlo.files import ResultsError
from escalsim.montecarlo.jobspec import StopRule
from escalsim.montecarlo.precision import Tally
from escalsim.montecarlo.store import ResultsWriter
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

    def stop_rule(self) -> StopRule:
        """The settings that decide how many runs there are, as kept in job.json for a resume."""
        return StopRule(precision=self.precision, min_runs=self.min_runs, max_runs=self.max_runs,
                        batch_size=self.batch_size)


Progress = Callable[[int, int, float], None]  # (runs done in this session, runs planned, runs/s)


def default_out_dir(name: str) -> Path:
    """results/<scenario>-<local time to the second>: where `escalsim run` writes without --out."""
    return Path("results") / f"{name}-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}"


def check_new_directory(directory: Path) -> None:
    """A new run never overwrites anything: the directory must not exist or be empty (else ResultsError)."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        kind = "results directory" if (directory / "manifest.json").exists() else "directory"
        raise ResultsError(f"{directory} is an existing {kind} that is not empty; choose another --out "
                           "(or continue an interrupted run with --resume)")


def run(scenario: Scenario, out: str | Path | None = None, settings: Settings | None = None,
        source_file: str | Path | None = None, progress: Progress | None = None) -> Path:
    """Run a scenario many times into a new results directory and return its path (Python API and CLI).

    `out` defaults to `default_out_dir`; `source_file` (the scenario's file) is recorded with its bases in the
    manifest; `progress(done, planned, runs_per_s)` is called after every batch. Raises ResultsError for an
    unusable directory, files.ResultsWriteError when the disk refuses, backends.BackendError when the workers
    cannot run, and KeyboardInterrupt leaves the saved runs resumable."""
    settings = settings or Settings()
    directory = Path(out) if out is not None else default_out_dir(scenario.name)
    check_new_directory(directory)
    sources = scenario_sources(Path(source_file)) if source_file else {}
    first = settings.min_runs if settings.precision else settings.runs
    with backend_for(settings.scheduler, settings.workers) as backend:
        writer = ResultsWriter.create(
            directory, scenario=scenario, sources=sources, seed=settings.seed, runs=first, backend=backend.name,
            workers=backend.workers, trace_runs=settings.trace_runs, grid_step=settings.grid_step,
            overrides=settings.overrides, settings=settings.stop_rule())
        return _continue(writer, backend, progress)


def resume(directory: str | Path, settings: Settings | None = None, progress: Progress | None = None) -> Path:
    """Continue an interrupted results directory to its requested run count (same results as uninterrupted);
    of `settings`, only `workers` and `scheduler` are used. Raises as `run` does."""
    writer = ResultsWriter.resume(Path(directory))
    settings = settings or Settings()
    with backend_for(settings.scheduler, settings.workers) as backend:
        writer.backend, writer.workers = backend.name, backend.workers  # the manifest names what finished it
        return _continue(writer, backend, progress)


def _continue(writer: ResultsWriter, backend: Backend, progress: Progress | None) -> Path:
    s = writer.settings
    model = writer.model
    tally = Tally(model.rungs, model.checkpoints + [("horizon", model.horizon)], model.events)
    names = ["run"] + [f"at_or_above.{r}" for r in model.rungs] + [f"event.{e}" for e in model.events]
    for columns in writer.done_columns(names):
        tally.add(columns)
    began = time.perf_counter()
    stopped = None
    while stopped is None:
        _run_to_target(writer, backend, tally, s.batch_size, progress)
        stopped = _stop_reason(writer, tally, s)
    return writer.finalize(wall_time=time.perf_counter() - began, stopped_because=stopped)


def _stop_reason(writer: ResultsWriter, tally: Tally, s: StopRule) -> str | None:
    """None to go on (after raising the target), else why the run ends."""
    precision = s.precision
    if not precision:
        return f"the requested {writer.target:,} runs are done"
    name, half = tally.widest()
    if half <= precision:
        return f"precision reached: the widest 95% half-width is {half:.4f} ({name}) <= {precision}"
    if writer.target >= s.max_runs:
        return (f"--max-runs {s.max_runs:,} reached with the widest 95% half-width still {half:.4f} ({name}),"
                f" above {precision}")
    n = writer.target
    writer.set_target(min(s.max_runs, max(math.ceil(n * (half / precision) ** 2), n + n // 4)))
    return None


def _run_to_target(writer: ResultsWriter, backend: Backend, tally: Tally, batch_size: int | None,
                   progress: Progress | None) -> None:
    start, stop = writer.next_run, writer.target
    began = time.perf_counter()
    for batch in run_many(writer.job, start, stop, backend, batch_size):
        writer.append(batch)
        tally.add(batch.columns)
        if progress is not None:
            done = writer.next_run - start
            progress(done, stop - start, done / max(time.perf_counter() - began, 1e-9))


__all__ = ["DEFAULT_RUNS", "Settings", "run", "resume"]
