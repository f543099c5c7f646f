"""The results directory being written: batches streamed to chunk files, then consolidated into Parquet tables
and a manifest.

Layout while running: job.json (what is run: `jobspec.JobSpec`), progress.json (how far it got:
`jobspec.Progress`), chunks/*.parquet (one set per batch). `finalize` writes runs.parquet, levels.parquet,
traces.parquet and, last, manifest.json, then removes the rest. Every file is written atomically
(`files.atomic`), so an interruption leaves whole files only. Nothing here simulates.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from escalsim import __version__
from escalsim.manifest import Manifest
from escalsim.montecarlo import records
from escalsim.montecarlo.batches import Batch, Job, model_of
from escalsim.montecarlo.files import (
    CHUNKS,
    FORMAT,
    JOB,
    KIND,
    LEVELS,
    MANIFEST,
    PROGRESS,
    RUNS,
    TRACES,
    ResultsError,
    check_format,
    discard,
    fsync_dir,
    has_kind,
    is_results_dir,
    lock_directory,
    read_json,
    sha256,
    unlock_directory,
    utc_now,
    write_error,
    write_json,
)
from escalsim.montecarlo.files import discard as discard_file
from escalsim.montecarlo.jobspec import JobSpec, Progress, StopRule
from escalsim.montecarlo.parquet import (
    ARROW_TYPES,
    CATEGORY,
    CHUNK_FILE,
    TRACE_SCHEMA,
    chunk_name,
    distinct,
    encode,
    grid_chunk,
    grid_columns,
    levels_schema,
    read_chunks,
    runs_table,
    stream,
    write_chunk,
)
from escalsim.scenario.moves import Block, Injection
from escalsim.scenario.schema import Scenario


class ResultsWriter:
    """Appends batches to a results directory in run order and consolidates them at the end."""

    def __init__(self, directory: Path, spec: JobSpec, progress: Progress, held: tuple[int, int] | None = None):
        """`held`: the directory's lock when `create` took it already (else it is taken here)."""
        self.directory = directory
        self._dir_lock = held if held is not None else lock_directory(directory)
        self.spec = spec
        self.scenario = Scenario.model_validate_json(spec.scenario)
        self.backend: str = spec.backend          # may be changed before finalize, e.g. after a resume
        self.workers: int = spec.workers
        self.next_run: int = progress.next_run
        self.target: int = progress.target_runs
        self.events: int = progress.events
        self.earlier_wall_time: float = progress.elapsed_s   # time spent by interrupted sessions
        self._opened = time.monotonic()
        self.model = model_of(self.scenario)
        self.names = records.column_names(self.model)
        self.created = False                      # whether `create` made the directory itself
        self.retargeted_from: int | None = None   # the target before `retarget`, if it was called

    @property
    def settings(self) -> StopRule:
        """How many runs, kept for a resume: a fixed target or a precision to reach."""
        return self.spec.settings

    @property
    def job(self) -> Job:
        """The Job that produces these results (to continue after a resume)."""
        return Job(self.scenario, self.spec.seed, self.spec.trace_runs, self.spec.grid_step,
                   tuple(self.spec.injections), tuple(self.spec.blocks))

    @property
    def chunks_dir(self) -> Path:
        """Where the batches are saved until `finalize`."""
        return self.directory / CHUNKS

    @classmethod
    def create(cls, directory: Path, *, scenario: Scenario, sources: dict[str, str], seed: int, runs: int,
               backend: str, workers: int, trace_runs: int, grid_step: float, overrides: list[str],
               settings: StopRule | None = None, injections: Sequence[Injection] = (),
               blocks: Sequence[Block] = (), assumptions: Sequence[dict] = ()) -> ResultsWriter:
        """Start a new results directory (an earlier escalsim results directory there is replaced) for `runs`
        runs; `settings` are kept for a resume and shown in the manifest, as are the moves made in every run
        (`injections` and `blocks`).

        Raises ValueError for a negative run count, ResultsError for a directory that is not ours to write,
        and files.ResultsWriteError when the disk refuses (nothing half-written is left)."""
        directory = Path(directory)
        if runs < 0:
            raise ValueError(f"runs must not be negative, not {runs}")
        created = not directory.exists()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise write_error(exc, f"cannot create results directory {directory}") from exc
        held = lock_directory(directory)  # before anything there is looked at or removed
        try:
            _prepare(directory)
        except BaseException:
            unlock_directory(held)
            if created:
                with contextlib.suppress(OSError):
                    directory.rmdir()
            raise
        spec = JobSpec(format=FORMAT, escalsim_version=__version__, created=utc_now(),
                       scenario=scenario.model_dump_json(), sources=dict(sources), overrides=list(overrides),
                       seed=seed, trace_runs=trace_runs, grid_step=grid_step, backend=backend, workers=workers,
                       settings=settings or StopRule(), injections=list(injections), blocks=list(blocks),
                       assumptions=list(assumptions))
        progress = Progress(next_run=0, target_runs=runs, events=0, elapsed_s=0.0)
        try:
            write_json(directory / JOB, spec.model_dump())
            write_json(directory / PROGRESS, progress.model_dump())
        except BaseException:  # e.g. Ctrl-C or a full disk: leave no directory that cannot be resumed
            for name in (JOB, PROGRESS):
                discard(directory / name)
            shutil.rmtree(directory / CHUNKS, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):
                    directory.rmdir()
            unlock_directory(held)
            raise
        writer = cls(directory, spec, progress, held)
        writer.created = created
        return writer

    @classmethod
    def resume(cls, directory: Path) -> ResultsWriter:
        """Reopen an interrupted results directory; `next_run` is where to continue.

        Raises ResultsError for a complete, foreign, damaged or busy directory, or one started by another
        escalsim version (whose runs could differ)."""
        directory = Path(directory)
        if (directory / MANIFEST).is_file() and has_kind(directory / MANIFEST):
            raise ResultsError(f"{directory} is complete; there is nothing to resume")
        if not (directory / JOB).is_file():
            raise ResultsError(f"{directory} is not an escalsim results directory (no {JOB})")
        job, progress = read_json(directory / JOB), read_json(directory / PROGRESS)
        check_format(directory, job.get("format"))
        if job.get("escalsim_version") != __version__:
            raise ResultsError(f"{directory} was started by escalsim {job.get('escalsim_version')}; this is "
                               f"{__version__}, whose runs may differ: start again instead of resuming")
        try:
            writer = cls(directory, JobSpec.model_validate(job), Progress.model_validate(progress))
        except ValidationError as exc:  # edited by hand, or written by something else
            raise ResultsError(f"{directory} is damaged ({JOB} or {PROGRESS}: {_first_error(exc)}); "
                               "start the run again in a new directory") from None
        writer._tidy()
        return writer

    def _tidy(self) -> None:
        """Remove half-written files and chunks written after the last progress update."""
        self._chunk_ranges()  # raises if the chunks are gone or damaged (those from next_run on do not count)
        for path in [*self.directory.glob("*.tmp"), *self.chunks_dir.glob("*.tmp")]:
            discard(path)
        for path in self.chunks_dir.iterdir():
            m = CHUNK_FILE.match(path.name)
            if m and int(m[2]) >= self.next_run:
                discard(path)

    def _chunk_ranges(self) -> list[tuple[int, int]]:
        """The saved batches, checked to cover runs 0 to next_run exactly once."""
        if not self.chunks_dir.is_dir():
            raise ResultsError(f"{self.directory} is finalized (or its chunks were removed); nothing to add")
        ranges = sorted((int(m[2]), int(m[3])) for p in self.chunks_dir.iterdir()
                        if (m := CHUNK_FILE.match(p.name)) and m[1] == "runs" and int(m[2]) < self.next_run)
        expected = 0
        for a, b in ranges:
            if a != expected or not (self.chunks_dir / chunk_name("levels", a, b)).is_file():
                raise ResultsError(f"{self.directory} is damaged: the saved runs near run {expected} are missing")
            expected = b
        if expected != self.next_run:
            raise ResultsError(f"{self.directory} is damaged: runs {expected} to {self.next_run - 1} are missing")
        return ranges

    def retarget(self, runs: int) -> None:
        """Set a new number of runs (at least those saved) that ends the job whatever its stopping rule: how many
        runs there are changes, never what any run is. The manifest's `stopped_because` says so.

        Raises ValueError below the runs already saved, ResultsWriteError if progress.json cannot be written."""
        before = self.target
        self.set_target(runs)
        self.retargeted_from = before

    def _unlock(self) -> None:
        unlock_directory(self._dir_lock)
        self._dir_lock = None

    def close(self, discard: bool = False) -> None:
        """Stop writing (release the lock) without finalizing, e.g. after an interruption. `discard` removes
        what this writer's directory holds of the job when no run was saved yet (job.json, progress.json, the
        chunks, and the directory if `create` made it), so that nothing blocks starting again there."""
        self._unlock()
        if not discard or self.next_run > 0:
            return
        shutil.rmtree(self.chunks_dir, ignore_errors=True)
        for name in (JOB, PROGRESS):
            discard_file(self.directory / name)
        for path in self.directory.glob("*.tmp"):
            discard_file(path)
        if self.created:
            with contextlib.suppress(OSError):
                self.directory.rmdir()

    def set_target(self, runs: int) -> None:
        """Change the number of runs aimed at (it may grow, e.g. until a precision is reached).

        Raises ValueError below the runs already saved, ResultsWriteError if progress.json cannot be written."""
        if runs < self.next_run:
            raise ValueError(f"{self.next_run} runs are already saved; the target cannot be {runs}")
        self.target = runs
        self._save_progress()

    def append(self, batch: Batch) -> None:
        """Save a batch (it must start at next_run) as whole chunk files, then record the progress.

        Raises ValueError for a batch out of place or past the target, ResultsError if the directory is
        finalized, ResultsWriteError when writing fails."""
        if batch.start != self.next_run:
            raise ValueError(f"batch starts at run {batch.start}; the results need run {self.next_run} next")
        if batch.stop > self.target:
            raise ValueError(f"batch ends at run {batch.stop}, beyond the target of {self.target} runs "
                             "(call set_target first)")
        if batch.stop <= batch.start:
            return
        if not self.chunks_dir.is_dir():
            raise ResultsError(f"{self.directory} is finalized; start a new results directory to add runs")
        a, b = batch.start, batch.stop
        if batch.traces.get("run"):
            write_chunk(self.chunks_dir / chunk_name("traces", a, b),
                         pa.table(batch.traces, schema=TRACE_SCHEMA))
        write_chunk(self.chunks_dir / chunk_name("levels", a, b), grid_chunk(a, batch.grid))
        write_chunk(self.chunks_dir / chunk_name("runs", a, b), runs_table(self.names, batch.columns))
        try:
            fsync_dir(self.chunks_dir)  # the chunks are durable before the progress file counts them
        except OSError as exc:
            raise write_error(exc, f"cannot write results directory {self.directory}") from exc
        self.next_run, self.events = b, self.events + batch.events
        self._save_progress()

    def _save_progress(self) -> None:
        write_json(self.directory / PROGRESS, Progress(
            next_run=self.next_run, target_runs=self.target, events=self.events,
            elapsed_s=self.earlier_wall_time + time.monotonic() - self._opened).model_dump())

    def done_columns(self, names: list[str]) -> Iterator[dict[str, np.ndarray]]:
        """The saved runs' columns, batch by batch (e.g. to recount a summary after a resume).

        Raises ResultsError when chunks are missing or damaged."""
        for a, b in self._chunk_ranges():
            path = self.chunks_dir / chunk_name("runs", a, b)
            try:
                table = pq.read_table(path, columns=names)
            except (OSError, pa.ArrowException) as exc:
                raise ResultsError(f"{path} is damaged ({exc}); start the run again in a new directory") from None
            yield {name: table.column(name).to_numpy() for name in names}

    def finalize(self, *, wall_time: float, stopped_because: str) -> Path:
        """Consolidate the chunks into the Parquet tables and the manifest; return the results directory.

        wall_time is this session's; the time of interrupted earlier sessions is added to it.
        """
        ranges = self._chunk_ranges()
        chunk = self.chunks_dir
        string_cols = [k for k, t in self.names.items() if t == "str"]
        dictionaries = distinct([chunk / chunk_name("runs", a, b) for a, b in ranges], string_cols)
        schema = pa.schema([(k, CATEGORY if t == "str" else ARROW_TYPES[t]) for k, t in self.names.items()])
        stream(self.directory / RUNS, schema, read_chunks(chunk, "runs", ranges),
                lambda t: encode(t, schema, dictionaries), run_encoding=True)
        days = records.grid_days(self.model, self.spec.grid_step)
        schema = levels_schema(len(days))
        stream(self.directory / LEVELS, schema, read_chunks(chunk, "levels", ranges),
               grid_columns(schema, [track.id for track in self.model.tracks]), run_encoding=True)
        stream(self.directory / TRACES, TRACE_SCHEMA, read_chunks(chunk, "traces", ranges, optional=True))
        total = self.earlier_wall_time + wall_time
        manifest = self._manifest(total, stopped_because, days)
        write_json(self.directory / MANIFEST, manifest)
        shutil.rmtree(chunk, ignore_errors=True)
        for name in (JOB, PROGRESS):
            discard(self.directory / name)
        self._unlock()
        return self.directory

    def _manifest(self, wall_time: float, stopped_because: str, days) -> Manifest:
        return {
            "kind": KIND, "format": FORMAT, "escalsim_version": __version__,
            "created": utc_now(), "started": self.spec.created, "stopped_because": stopped_because,
            **records.describe(self.model),
            "scenario_sha256": sha256(self.spec.scenario),
            "sources": {name: {"sha256": sha256(text), "text": text} for name, text in self.spec.sources.items()},
            "overrides": self.spec.overrides, "settings": self.spec.settings.model_dump(),
            "moves": {"injections": [m.model_dump() for m in self.spec.injections],
                      "blocks": [m.model_dump() for m in self.spec.blocks]},
            "assumptions": self.spec.assumptions,
            "seed": self.spec.seed, "runs": self.next_run, "target_runs": self.target,
            "trace_runs": self.spec.trace_runs, "grid_step": self.spec.grid_step,
            "grid_start": self.model.start.isoformat(), "grid_days": days.tolist(),
            "backend": self.backend, "workers": self.workers,
            "wall_time_s": round(wall_time, 3),
            "runs_per_s": round(self.next_run / wall_time, 1) if wall_time > 0 else None,
            "events": self.events,
            "columns": dict(self.names),
        }


def _prepare(directory: Path) -> None:
    """An empty directory to write into: new, empty, or an earlier escalsim results directory cleared."""
    if directory.exists() and not directory.is_dir():
        raise ResultsError(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()):
        if not is_results_dir(directory):
            shown = ", ".join(sorted(p.name for p in directory.iterdir())[:5])
            raise ResultsError(f"{directory} is not empty and is not an escalsim results directory "
                               f"(it holds {shown}, ...); choose a new or empty directory")
        for name in (MANIFEST, JOB, PROGRESS, RUNS, LEVELS, TRACES):
            discard(directory / name)
        for path in directory.glob("*.tmp"):
            discard(path)
        shutil.rmtree(directory / CHUNKS, ignore_errors=True)
    try:
        (directory / CHUNKS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(exc, f"cannot create results directory {directory}") from exc


# --- reading -----------------------------------------------------------------------------------------------


def _first_error(exc: ValidationError) -> str:
    """The first problem pydantic found, as 'field: message'."""
    err = exc.errors()[0]
    return f"{'.'.join(map(str, err['loc'])) or 'the file'}: {err['msg']}"
