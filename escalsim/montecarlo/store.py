"""The results directory: batches streamed to chunk files, consolidated into Parquet tables and a manifest.

Layout while running: job.json (what is run), progress.json (how far it got), chunks/*.parquet (one set per
batch). `finalize` writes runs.parquet, levels.parquet, traces.parquet and, last, manifest.json, then removes
the rest. Every file is written to NAME.tmp, fsynced and renamed, so an interruption leaves whole files only.
Nothing here simulates.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from escalsim import __version__
from escalsim.montecarlo import records
from escalsim.montecarlo.batches import Batch, Job, model_of
from escalsim.scenario.schema import Scenario

FORMAT = 1
KIND = "escalsim-results"
JOB, PROGRESS, MANIFEST, CHUNKS = "job.json", "progress.json", "manifest.json", "chunks"
RUNS, LEVELS, TRACES = "runs.parquet", "levels.parquet", "traces.parquet"
ROW_GROUP = 65_536                    # rows per Parquet row group: fixed, so files do not depend on batch sizes
COMPRESSION = "zstd"
_CHUNK = re.compile(r"^(runs|levels|traces)-(\d+)-(\d+)\.parquet$")
_ARROW = {"int64": pa.int64(), "uint64": pa.uint64(), "int32": pa.int32(), "int16": pa.int16(),
          "float64": pa.float64(), "str": pa.string()}
_CATEGORY = pa.dictionary(pa.int32(), pa.string())
TRACE_SCHEMA = pa.schema([("run", pa.int64()), ("day", pa.float64()), ("date", pa.string()),
                          ("kind", pa.string()), ("subject", pa.string()), ("text", pa.string()),
                          ("cause", pa.string())])


class ResultsError(ValueError):
    """A directory that is not (or not yet, or no longer) usable as escalsim results."""


class ResultsWriteError(OSError):
    """Writing the results failed (e.g. disk full); what was written before is intact."""


# --- files -------------------------------------------------------------------------------------------------

def _atomic(path: Path, write: Callable[[BinaryIO], None], sync_dir: bool = True) -> None:
    """Write path via path.tmp + fsync + rename: readers see the old file or the whole new one.

    sync_dir=False leaves the rename to be made durable by a later fsync of the directory.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        if sync_dir:
            _fsync_dir(path.parent)
    except OSError as exc:
        _discard(tmp)
        where = path.parent.parent if path.parent.name == CHUNKS else path.parent
        raise _write_error(exc, f"cannot write {path.name} in results directory {where}") from exc
    except BaseException:  # e.g. Ctrl-C while writing: leave no half-written file behind
        _discard(tmp)
        raise


def _write_error(exc: OSError, what: str) -> ResultsWriteError:
    message = f"{what}: {exc.strerror or exc}; the runs saved before are intact"
    return ResultsWriteError(exc.errno, message) if exc.errno is not None else ResultsWriteError(message)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _write_json(path: Path, doc: dict) -> None:
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a file name that is not UTF-8 (Python keeps its bytes as surrogates): \u escapes
        data = json.dumps(doc, indent=1).encode()
    _atomic(path, lambda fh: fh.write(data + b"\n"))


def _read_json(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path} cannot be read: {exc}") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise ResultsError(f"{path} is not an escalsim results file")
    return doc


def _write_chunk(path: Path, table: pa.Table) -> None:
    _atomic(path, lambda fh: pq.write_table(table, fh, compression=COMPRESSION), sync_dir=False)


def _is_results_dir(directory: Path) -> bool:
    return any(_has_kind(directory / name) for name in (MANIFEST, JOB))


def _has_kind(path: Path) -> bool:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("kind") == KIND
    except (OSError, ValueError, AttributeError):
        return False


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# --- batches as tables -------------------------------------------------------------------------------------

def _runs_table(names: dict[str, str], columns: dict) -> pa.Table:
    return pa.table({k: pa.array(columns[k], type=_ARROW[t]) for k, t in names.items()})


def _grid_chunk(start: int, grid: np.ndarray) -> pa.Table:
    """A chunk's level grid as one fixed-size binary cell per run (a wide table is slow to write per batch)."""
    runs, days = grid.shape
    cells = pa.FixedSizeBinaryArray.from_buffers(pa.binary(days), runs,
                                                 [None, pa.py_buffer(np.ascontiguousarray(grid, np.int8))])
    return pa.table({"run": pa.array(np.arange(start, start + runs, dtype=np.int64)), "grid": cells})


def _grid_columns(schema: pa.Schema) -> Callable[[pa.Table], pa.Table]:
    """Grid cells back to one int8 column per day: 'd0', 'd1', ..."""
    days = len(schema) - 1

    def convert(table: pa.Table) -> pa.Table:
        cells = table.column("grid").combine_chunks()
        grid = np.frombuffer(cells.buffers()[1], np.int8, count=len(cells) * days, offset=cells.offset * days)
        grid = grid.reshape(len(cells), days)
        return pa.table([table.column("run")] + [pa.array(grid[:, k]) for k in range(days)], schema=schema)

    return convert


def _chunk_name(kind: str, start: int, stop: int) -> str:
    return f"{kind}-{start:012d}-{stop:012d}.parquet"


# --- the writer --------------------------------------------------------------------------------------------

def _lock_job(directory: Path) -> int | None:
    """Hold job.json locked while this process writes the directory, so that a second escalsim process
    resuming it at the same time is refused. POSIX record locks belong to the process and end with it (no stale
    lock after a crash); where there are none (Windows), nothing is locked. A raw descriptor, not a file
    object: a writer abandoned by an interruption must not warn about an unclosed file."""
    if fcntl is None:
        return None
    fd = os.open(directory / JOB, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise ResultsError(f"{directory} is being written by another escalsim process; wait for it to finish, "
                           "or stop it, before resuming") from None
    return fd


class ResultsWriter:
    """Appends batches to a results directory in run order and consolidates them at the end."""

    def __init__(self, directory: Path, job: dict, progress: dict):
        self.directory = directory
        self._lock = _lock_job(directory)
        self.scenario = Scenario.model_validate_json(job["scenario"])
        self.sources: dict[str, str] = job["sources"]
        self.overrides: list[str] = job["overrides"]
        self.seed: int = job["seed"]
        self.trace_runs: int = job["trace_runs"]
        self.grid_step: float = job["grid_step"]
        self.backend: str = job["backend"]          # may be changed before finalize, e.g. after a resume
        self.workers: int = job["workers"]
        self.settings: dict = job.get("settings") or {}   # the caller's own, kept for a resume
        self._job = job
        self.next_run: int = progress["next_run"]
        self.target: int = progress["target_runs"]
        self.events: int = progress["events"]
        self.earlier_wall_time: float = progress["elapsed_s"]   # time spent by interrupted sessions
        self._opened = time.monotonic()
        self.model = model_of(self.scenario)
        self.names = records.column_names(self.model)

    @property
    def job(self) -> Job:
        """The Job that produces these results (to continue after a resume)."""
        return Job(self.scenario, self.seed, self.trace_runs, self.grid_step)

    @property
    def chunks_dir(self) -> Path:
        return self.directory / CHUNKS

    @classmethod
    def create(cls, directory: Path, *, scenario: Scenario, sources: dict[str, str], seed: int, runs: int,
               backend: str, workers: int, trace_runs: int, grid_step: float, overrides: list[str],
               settings: dict | None = None) -> ResultsWriter:
        """Start a new results directory (an earlier escalsim results directory there is replaced).

        settings: anything JSON the caller wants back on a resume (e.g. stopping rules); also in the manifest.
        """
        directory = Path(directory)
        if runs < 0:
            raise ValueError(f"runs must not be negative, not {runs}")
        created = not directory.exists()
        _prepare(directory)
        job = {"kind": KIND, "format": FORMAT, "escalsim_version": __version__, "created": _utc_now(),
               "scenario": scenario.model_dump_json(), "sources": dict(sources), "overrides": list(overrides),
               "seed": seed, "trace_runs": trace_runs, "grid_step": grid_step, "backend": backend,
               "workers": workers, "settings": dict(settings or {})}
        progress = {"kind": KIND, "next_run": 0, "target_runs": runs, "events": 0, "elapsed_s": 0.0}
        try:
            _write_json(directory / JOB, job)
            _write_json(directory / PROGRESS, progress)
        except BaseException:  # e.g. Ctrl-C or a full disk: leave no directory that cannot be resumed
            for name in (JOB, PROGRESS):
                _discard(directory / name)
            shutil.rmtree(directory / CHUNKS, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):
                    directory.rmdir()
            raise
        return cls(directory, job, progress)

    @classmethod
    def resume(cls, directory: Path) -> ResultsWriter:
        """Reopen an interrupted results directory; `next_run` is where to continue."""
        directory = Path(directory)
        if (directory / MANIFEST).is_file() and _has_kind(directory / MANIFEST):
            raise ResultsError(f"{directory} is complete; there is nothing to resume")
        if not (directory / JOB).is_file():
            raise ResultsError(f"{directory} is not an escalsim results directory (no {JOB})")
        job, progress = _read_json(directory / JOB), _read_json(directory / PROGRESS)
        _check_format(directory, job.get("format"))
        if job["escalsim_version"] != __version__:
            raise ResultsError(f"{directory} was started by escalsim {job['escalsim_version']}; this is "
                               f"{__version__}, whose runs may differ: start again instead of resuming")
        try:
            writer = cls(directory, job, progress)
        except ResultsError:  # e.g. another process is writing it
            raise
        except (KeyError, TypeError, ValueError) as exc:  # edited by hand, or written by something else
            raise ResultsError(f"{directory} is damaged ({JOB} or {PROGRESS}: {type(exc).__name__}: {exc}); "
                               "start the run again in a new directory") from None
        writer._tidy()
        return writer

    def _tidy(self) -> None:
        """Remove half-written files and chunks written after the last progress update."""
        self._chunk_ranges()  # raises if the chunks are gone or damaged (those from next_run on do not count)
        for path in [*self.directory.glob("*.tmp"), *self.chunks_dir.glob("*.tmp")]:
            _discard(path)
        for path in self.chunks_dir.iterdir():
            m = _CHUNK.match(path.name)
            if m and int(m[2]) >= self.next_run:
                _discard(path)

    def _chunk_ranges(self) -> list[tuple[int, int]]:
        """The saved batches, checked to cover runs 0 to next_run exactly once."""
        if not self.chunks_dir.is_dir():
            raise ResultsError(f"{self.directory} is finalized (or its chunks were removed); nothing to add")
        ranges = sorted((int(m[2]), int(m[3])) for p in self.chunks_dir.iterdir()
                        if (m := _CHUNK.match(p.name)) and m[1] == "runs" and int(m[2]) < self.next_run)
        expected = 0
        for a, b in ranges:
            if a != expected or not (self.chunks_dir / _chunk_name("levels", a, b)).is_file():
                raise ResultsError(f"{self.directory} is damaged: the saved runs near run {expected} are missing")
            expected = b
        if expected != self.next_run:
            raise ResultsError(f"{self.directory} is damaged: runs {expected} to {self.next_run - 1} are missing")
        return ranges

    def set_target(self, runs: int) -> None:
        """Change the number of runs aimed at (it may grow, e.g. until a precision is reached)."""
        if runs < self.next_run:
            raise ValueError(f"{self.next_run} runs are already saved; the target cannot be {runs}")
        self.target = runs
        self._save_progress()

    def append(self, batch: Batch) -> None:
        """Save a batch (it must start at next_run) as whole chunk files, then record the progress."""
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
            _write_chunk(self.chunks_dir / _chunk_name("traces", a, b),
                         pa.table(batch.traces, schema=TRACE_SCHEMA))
        _write_chunk(self.chunks_dir / _chunk_name("levels", a, b), _grid_chunk(a, batch.grid))
        _write_chunk(self.chunks_dir / _chunk_name("runs", a, b), _runs_table(self.names, batch.columns))
        try:
            _fsync_dir(self.chunks_dir)  # the chunks are durable before the progress file counts them
        except OSError as exc:
            raise _write_error(exc, f"cannot write results directory {self.directory}") from exc
        self.next_run, self.events = b, self.events + batch.events
        self._save_progress()

    def _save_progress(self) -> None:
        _write_json(self.directory / PROGRESS, {
            "kind": KIND, "next_run": self.next_run, "target_runs": self.target, "events": self.events,
            "elapsed_s": self.earlier_wall_time + time.monotonic() - self._opened})

    @property
    def complete(self) -> bool:
        return self.next_run >= self.target

    def done_columns(self, names: list[str]) -> Iterator[dict[str, np.ndarray]]:
        """The saved runs' columns, batch by batch (e.g. to recount a summary after a resume)."""
        for a, b in self._chunk_ranges():
            path = self.chunks_dir / _chunk_name("runs", a, b)
            try:
                table = pq.read_table(path, columns=names)
            except (OSError, pa.ArrowException) as exc:
                raise ResultsError(f"{path} is damaged ({exc}); start the run again in a new directory") from None
            yield {name: table.column(name).to_numpy() for name in names}

    @staticmethod
    def read_manifest(directory) -> dict:
        return read_manifest(directory)

    def finalize(self, *, wall_time: float, stopped_because: str) -> Path:
        """Consolidate the chunks into the Parquet tables and the manifest; return the results directory.

        wall_time is this session's; the time of interrupted earlier sessions is added to it.
        """
        ranges = self._chunk_ranges()
        chunk = self.chunks_dir
        string_cols = [k for k, t in self.names.items() if t == "str"]
        dictionaries = _distinct([chunk / _chunk_name("runs", a, b) for a, b in ranges], string_cols)
        schema = pa.schema([(k, _CATEGORY if t == "str" else _ARROW[t]) for k, t in self.names.items()])
        _stream(self.directory / RUNS, schema, _read_chunks(chunk, "runs", ranges),
                lambda t: _encode(t, schema, dictionaries), run_encoding=True)
        days = records.grid_days(self.model, self.grid_step)
        levels_schema = pa.schema([("run", pa.int64())] + [(f"d{k}", pa.int8()) for k in range(len(days))])
        _stream(self.directory / LEVELS, levels_schema, _read_chunks(chunk, "levels", ranges),
                _grid_columns(levels_schema), run_encoding=True)
        _stream(self.directory / TRACES, TRACE_SCHEMA, _read_chunks(chunk, "traces", ranges, optional=True))
        total = self.earlier_wall_time + wall_time
        manifest = self._manifest(total, stopped_because, days)
        _write_json(self.directory / MANIFEST, manifest)
        shutil.rmtree(chunk, ignore_errors=True)
        for name in (JOB, PROGRESS):
            _discard(self.directory / name)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None
        return self.directory

    def _manifest(self, wall_time: float, stopped_because: str, days) -> dict:
        return {
            "kind": KIND, "format": FORMAT, "escalsim_version": __version__,
            "created": _utc_now(), "started": self._job["created"], "stopped_because": stopped_because,
            **records.describe(self.model),
            "scenario_sha256": _sha256(self._job["scenario"]),
            "sources": {name: {"sha256": _sha256(text), "text": text} for name, text in self.sources.items()},
            "overrides": self.overrides, "settings": self.settings,
            "seed": self.seed, "runs": self.next_run, "target_runs": self.target,
            "trace_runs": self.trace_runs, "grid_step": self.grid_step,
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
        if not _is_results_dir(directory):
            shown = ", ".join(sorted(p.name for p in directory.iterdir())[:5])
            raise ResultsError(f"{directory} is not empty and is not an escalsim results directory "
                               f"(it holds {shown}, ...); choose a new or empty directory")
        for name in (MANIFEST, JOB, PROGRESS, RUNS, LEVELS, TRACES):
            _discard(directory / name)
        for path in directory.glob("*.tmp"):
            _discard(path)
        shutil.rmtree(directory / CHUNKS, ignore_errors=True)
    try:
        (directory / CHUNKS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(exc, f"cannot create results directory {directory}") from exc


def _check_format(directory: Path, version) -> None:
    if version != FORMAT:
        raise ResultsError(f"{directory} holds results in format {version}; this escalsim ({__version__}) "
                           f"reads format {FORMAT}")


def _read_chunks(chunk_dir: Path, kind: str, ranges, optional: bool = False) -> Iterator[pa.Table]:
    for a, b in ranges:
        path = chunk_dir / _chunk_name(kind, a, b)
        if optional and not path.is_file():
            continue
        yield pq.read_table(path)


def _distinct(paths: list[Path], cols: list[str]) -> dict[str, pa.Array]:
    """Sorted distinct values of each string column over all chunks (one column at a time is small)."""
    seen: dict[str, set] = {c: set() for c in cols}
    for path in paths:
        table = pq.read_table(path, columns=cols)
        for c in cols:
            seen[c].update(table.column(c).unique().to_pylist())
    return {c: pa.array(sorted(v), pa.string()) for c, v in seen.items()}


def _encode(table: pa.Table, schema: pa.Schema, dictionaries: dict[str, pa.Array]) -> pa.Table:
    """String columns as indices into one sorted dictionary per column (pandas: a category)."""
    cols = []
    for field in schema:
        col = table.column(field.name).combine_chunks()
        if field.name in dictionaries:
            values = dictionaries[field.name]
            col = pa.DictionaryArray.from_arrays(pc.index_in(col, value_set=values).cast(pa.int32()), values)
        cols.append(col)
    return pa.table(cols, schema=schema)


def _stream(path: Path, schema: pa.Schema, tables: Iterator[pa.Table], convert: Callable | None = None,
            run_encoding: bool = False) -> None:
    """Write the tables to one Parquet file in row groups of ROW_GROUP rows, holding one group at a time."""
    options = {"compression": COMPRESSION}
    if run_encoding:  # run numbers count up: delta encoding stores them in a few bits each
        options.update(use_dictionary=[f.name for f in schema if f.name != "run"],
                       column_encoding={"run": "DELTA_BINARY_PACKED"})

    def write(fh: BinaryIO) -> None:
        with pq.ParquetWriter(fh, schema, **options) as writer:
            for group in _row_groups(tables):
                writer.write_table(convert(group) if convert else group.cast(schema), row_group_size=ROW_GROUP)

    _atomic(path, write)


def _row_groups(tables: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """The rows of the tables regrouped into tables of ROW_GROUP rows (the last may be shorter)."""
    pending: list[pa.Table] = []
    rows = 0
    for table in tables:
        pending.append(table)
        rows += table.num_rows
        while rows >= ROW_GROUP:
            group = pa.concat_tables(pending)
            pending, rows = [group.slice(ROW_GROUP)], rows - ROW_GROUP
            yield group.slice(0, ROW_GROUP)
    if rows:
        yield pa.concat_tables(pending)


# --- reading -----------------------------------------------------------------------------------------------

@dataclass
class Results:
    """A finished results directory in memory."""

    directory: Path
    manifest: dict
    runs: pd.DataFrame
    levels: pd.DataFrame
    traces: pd.DataFrame


def read_manifest(directory) -> dict:
    """The manifest of a complete results directory; ResultsError says why another one cannot be read."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ResultsError(f"{directory} is not a directory")
    if not (directory / MANIFEST).is_file():
        if _has_kind(directory / PROGRESS):
            progress = _read_json(directory / PROGRESS)
            raise ResultsError(f"{directory} is incomplete: {progress['next_run']} of {progress['target_runs']} "
                               f"runs done; `escalsim run --resume {directory}` continues it")
        raise ResultsError(f"{directory} is not an escalsim results directory (no {MANIFEST})")
    manifest = _read_json(directory / MANIFEST)
    _check_format(directory, manifest.get("format"))
    return manifest


def load_results(directory) -> Results:
    """Read a complete results directory; ResultsError says why another one cannot be read."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    try:
        tables = [pd.read_parquet(directory / name) for name in (RUNS, LEVELS, TRACES)]
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(f"{directory}: the result tables cannot be read: {exc}") from None
    return Results(directory, manifest, *tables)
