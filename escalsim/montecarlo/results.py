"""Reading a finished results directory back: its manifest, and the runs, levels and traces as DataFrames
(`load_results`, for small results or a few columns) or as tables read a column or a row group at a time
(`open_results`, whatever the run count)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from escalsim.manifest import Manifest
from escalsim.montecarlo.files import (
    LEVELS,
    MANIFEST,
    PROGRESS,
    RUNS,
    TRACES,
    ResultsError,
    check_format,
    has_kind,
    read_json,
)
from escalsim.parquet_table import ParquetTable


class Results:
    """A finished results directory: its manifest, and the runs, levels and traces tables.

    Each table is a DataFrame in memory, or a `ParquetTable` read from the file when used (a column at a time,
    or a row group at a time); the outputs accept either.
    """

    def __init__(self, directory, manifest: Manifest, runs, levels=None, traces=None):
        self.directory = Path(directory)
        self.manifest = manifest
        self.runs = runs
        self.levels = levels if levels is not None else pd.DataFrame()
        self.traces = traces if traces is not None else pd.DataFrame()

    def __repr__(self) -> str:
        kinds = ", ".join(type(t).__name__ for t in (self.runs, self.levels, self.traces))
        return f"Results({str(self.directory)!r}: {len(self.runs):,} runs; runs, levels, traces as {kinds})"


def read_manifest(directory) -> Manifest:
    """The manifest of a complete results directory; ResultsError says why another one cannot be read."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ResultsError(f"{directory} is not a directory")
    if not (directory / MANIFEST).is_file():
        if has_kind(directory / PROGRESS):
            progress = read_json(directory / PROGRESS)
            done, target = progress.get("next_run"), progress.get("target_runs")
            finish = (f", or `escalsim run --resume {directory} --runs {done}` finishes it with the runs done"
                      if isinstance(done, int) and done > 0 else "")
            raise ResultsError(f"{directory} is incomplete: {done} of {target} runs done; "
                               f"`escalsim run --resume {directory}` continues it{finish}")
        raise ResultsError(f"{directory} is not an escalsim results directory (no {MANIFEST})")
    manifest = read_json(directory / MANIFEST)
    check_format(directory, manifest.get("format"))
    _check_manifest(directory, manifest)
    return manifest


_MANIFEST_TYPES: list = []  # the TypeAdapter of Manifest, made at first use


def _check_manifest(directory: Path, manifest: dict) -> None:
    """Raise ResultsError unless every key of the manifest has its type (strictly: `"lots"` is not a run
    count) and the counts are not negative: a manifest edited by hand or damaged was read until something
    failed far from it, in a traceback or a misleading message."""
    from pydantic import TypeAdapter, ValidationError

    if not _MANIFEST_TYPES:
        _MANIFEST_TYPES.append(TypeAdapter(Manifest))
    try:
        _MANIFEST_TYPES[0].validate_python(manifest, strict=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(map(str, err["loc"]))
        raise ResultsError(f"{directory / MANIFEST} is damaged: {where}: {err['msg'].lower()} "
                           f"(found {err.get('input')!r:.60}); make the results again") from None
    for key in ("runs", "target_runs", "trace_runs", "seed"):
        if manifest[key] < 0:
            raise ResultsError(f"{directory / MANIFEST} is damaged: {key} is {manifest[key]}, below 0; make the "
                               "results again")


def load_results(directory, columns: Sequence[str] | None = None) -> Results:
    """Read a complete results directory into memory; ResultsError says why another one cannot be read.

    Without `columns`, the runs, levels and traces are DataFrames: about 3 KB per run, for small results.
    With `columns` (e.g. `["run", "at_or_above.nuclear_use"]`), the runs DataFrame holds only those columns of
    runs.parquet (8 bytes per run and number column), levels is not read (a `ParquetTable`, read when used) and
    traces (a few runs, whatever the run count) is a DataFrame. Raises ResultsError for a column runs.parquet does
    not have.
    """
    directory = Path(directory)
    if isinstance(columns, str):  # one column named, not a sequence of its letters
        columns = [columns]
    manifest = read_manifest(directory)
    try:
        if columns is None:
            tables = [pd.read_parquet(directory / name) for name in (RUNS, LEVELS, TRACES)]
        else:
            runs = ParquetTable(directory / RUNS, list(columns)).read()
            if not (directory / LEVELS).is_file():
                raise FileNotFoundError(f"{directory / LEVELS} is missing")
            tables = [runs, ParquetTable(directory / LEVELS, deferred=True), pd.read_parquet(directory / TRACES)]
    except KeyError as exc:
        raise ResultsError(f"{directory}: {exc.args[0]}") from None
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(f"{directory}: the result tables cannot be read: {exc}") from None
    return Results(directory, manifest, *tables)


def open_results(directory) -> Results:
    """A complete results directory whose runs and levels are read when used, a column or a row group at a time
    (`ParquetTable`s), so that summaries, figures and reports need memory for one column of the runs, not for
    every run's record; traces (a few runs, whatever the run count) are read into a DataFrame. ResultsError says
    why another directory cannot be read."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    try:
        runs, levels = ParquetTable(directory / RUNS), ParquetTable(directory / LEVELS)
        traces = pd.read_parquet(directory / TRACES)
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(f"{directory}: the result tables cannot be read: {exc}") from None
    return Results(directory, manifest, runs, levels, traces)
