"""Reading a finished results directory back: its manifest, and the runs, levels and traces as DataFrames."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass
class Results:
    """A finished results directory in memory."""

    directory: Path
    manifest: Manifest
    runs: pd.DataFrame
    levels: pd.DataFrame
    traces: pd.DataFrame


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
