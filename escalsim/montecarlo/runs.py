"""Many runs of a scenario into a new results directory (`run`), or an interrupted one completed (`resume`), with
progress reports and sequential stopping on precision."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from escalsim.engine.core import check_moves
from escalsim.montecarlo.backends import Backend, backend_for
from escalsim.montecarlo.batches import model_of, run_many
from escalsim.montecarlo.files import (
    JOB,
    MANIFEST,
    PROGRESS,
    ResultsError,
    directory_busy,
    has_kind,
    is_results_dir,
    read_json,
)
from escalsim.montecarlo.jobspec import Progress as ProgressRecord
from escalsim.montecarlo.jobspec import StopRule
from escalsim.montecarlo.precision import Tally
from escalsim.montecarlo.store import ResultsWriter
from escalsim.scenario.assumptions import assumptions
from escalsim.scenario.loader import scenario_sources
from escalsim.scenario.moves import Block, Injection
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
    injections: list[Injection] = field(default_factory=list)  # decisions forced in every run (wargame moves)
    blocks: list[Block] = field(default_factory=list)          # moves declined in every run

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
    """results/<scenario>-<local time to the second>: where `escalsim run` writes without --out (see
    `claim_default_dir`, which makes it unique)."""
    return Path("results") / f"{name}-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}"


def claim_default_dir(name: str) -> Path:
    """Create and return a new, empty default results directory: `default_out_dir`, or the same name with -2, -3,
    ... if it is taken. Each name is taken with one mkdir, so two runs started in the same second get two
    directories. Raises OSError when results/ cannot be created or written."""
    base = default_out_dir(name)
    base.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        directory = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            directory.mkdir()
        except FileExistsError:
            continue
        return directory
    raise FileExistsError(errno.EEXIST, "every default results directory name is taken", str(base))


def check_new_directory(directory: Path) -> None:
    """A new run never overwrites anything: the directory must not exist or be empty (else ResultsError)."""
    if directory.exists() and not directory.is_dir():
        raise ResultsError(f"{directory} exists and is not a directory; choose another --out")
    if directory.is_dir() and directory_busy(directory):
        raise ResultsError(f"{directory} is being written by another escalsim process; wait for it to finish "
                           "or stop it, or choose another --out")
    if directory.is_dir() and any(directory.iterdir()):
        if is_results_dir(directory):
            if has_kind(directory / MANIFEST):  # complete: nothing to resume
                raise ResultsError(f"{directory} holds complete escalsim results already; choose another --out")
            raise ResultsError(f"{directory} holds escalsim results already; choose another --out (or continue "
                               f"this interrupted run with `escalsim run --resume {directory}`)")
        raise ResultsError(f"{directory} is an existing directory that is not empty; choose another --out")


@dataclass(frozen=True)
class Saved:
    """What a results directory holds: `runs` saved of `target`, and whether it is complete (finalized)."""

    runs: int
    target: int
    complete: bool


def saved_runs(directory: str | Path) -> Saved | None:
    """What `directory` holds of escalsim runs, or None if it holds none (it is missing, empty, or foreign)."""
    directory = Path(directory)
    if has_kind(directory / MANIFEST):
        manifest = read_json(directory / MANIFEST)
        return Saved(manifest.get("runs", 0), manifest.get("target_runs", 0), True)
    if not has_kind(directory / JOB):
        return None
    try:
        progress = ProgressRecord.model_validate(read_json(directory / PROGRESS))
    except (ResultsError, ValidationError):
        return Saved(0, 0, False)
    return Saved(progress.next_run, progress.target_runs, False)


def run(scenario: Scenario, out: str | Path | None = None, settings: Settings | None = None,
        source_file: str | Path | None = None, progress: Progress | None = None) -> Path:
    """Run a scenario many times into a new results directory and return its path (Python API and CLI).

    `out` defaults to a new `claim_default_dir`; `source_file` (the scenario's file) is recorded with its bases
    in the manifest; `progress(done, planned, runs_per_s)` is called after every batch. Raises ResultsError for
    an unusable directory, files.ResultsWriteError when the disk refuses, backends.BackendError when the workers
    cannot run, and KeyboardInterrupt leaves the saved runs resumable. Whenever it stops before a first batch is
    saved, nothing is left behind: what it created is removed (an --out given empty stays, empty)."""
    settings = settings or Settings()
    check_moves(model_of(scenario), settings.injections, settings.blocks)
    claimed = out is None
    directory = claim_default_dir(scenario.name) if claimed else Path(out)
    try:
        check_new_directory(directory)
        sources = scenario_sources(Path(source_file)) if source_file else {}
        first = settings.min_runs if settings.precision else settings.runs
        with backend_for(settings.scheduler, settings.workers) as backend:
            writer = ResultsWriter.create(
                directory, scenario=scenario, sources=sources, seed=settings.seed, runs=first,
                backend=backend.name, workers=backend.workers, trace_runs=settings.trace_runs,
                grid_step=settings.grid_step, overrides=settings.overrides, settings=settings.stop_rule(),
                injections=settings.injections, blocks=settings.blocks, assumptions=assumptions(scenario))
            try:
                return _continue(writer, backend, progress)
            except BaseException:
                writer.close(discard=writer.next_run == 0)  # nothing saved: nothing that blocks a new run
                raise
    except BaseException:
        if claimed:
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise


def resume(directory: str | Path, settings: Settings | None = None, progress: Progress | None = None,
           runs: int | None = None) -> Path:
    """Continue an interrupted results directory to its requested run count (same results as uninterrupted);
    of `settings`, only `workers` and `scheduler` are used.

    `runs` sets a new target, at least the runs already saved: it changes how many runs there are, never what
    any run is (run i depends on the seed and i only), so `runs` equal to the runs saved finishes a directory
    with them. The runs then stop at that target even if the directory was started with a precision to reach.
    Raises ResultsError for a target below the runs saved, and otherwise as `run` does."""
    writer = ResultsWriter.resume(Path(directory))
    try:
        if runs is not None:
            if runs < writer.next_run:
                raise ResultsError(f"{directory} holds {writer.next_run:,} runs already; --runs must be at least "
                                   f"that (--runs {writer.next_run} finishes with the runs done)")
            writer.retarget(runs)
        settings = settings or Settings()
        with backend_for(settings.scheduler, settings.workers) as backend:
            writer.backend, writer.workers = backend.name, backend.workers  # the manifest names what finished it
            return _continue(writer, backend, progress)
    except BaseException:
        writer.close()
        raise


def _continue(writer: ResultsWriter, backend: Backend, progress: Progress | None) -> Path:
    s = writer.settings
    model = writer.model
    tally = Tally(model.rungs, model.checkpoints + [("horizon", model.horizon)], model.events)
    names = ["run"] + [f"at_or_above.{r}" for r in model.rungs] + [f"entered.{r}" for r in model.rungs] \
        + [f"event.{e}" for e in model.events]
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
    if writer.retargeted_from is not None:
        return (f"the requested {writer.target:,} runs are done (the target was {writer.retargeted_from:,} "
                "until a resume changed it)")
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


__all__ = ["DEFAULT_RUNS", "Saved", "Settings", "claim_default_dir", "resume", "run", "saved_runs"]
