"""The summary tables as CSV files beside the results, each column named for what it counts (`p_happened`,
`p_at_or_above`, `p_entered`), and runs.parquet as the table the printed summary reads (a column at a time)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from escalsim.outputs import analysis
from escalsim.outputs.labels import end_label, event_label
from escalsim.parquet_table import ParquetTable

CSV_FILES = ("summary_events.csv", "summary_rungs.csv", "summary_first_passage.csv", "summary_entered.csv",
             "summary_causes.csv", "summary_variables.csv", "summary_outcomes.csv")


def csv_tables(runs: pd.DataFrame, manifest: dict, variables: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every summary CSV by file name, in CSV_FILES order, from the runs table (the columns of `summary_frame`),
    the manifest and the variables' quantiles (`analysis.variable_quantiles`). Raises KeyError if a column or a
    manifest key is missing."""
    events = analysis.event_probabilities(runs, manifest)
    events.insert(events.columns.get_loc("day") + 1, "date", [end_label(manifest, d) for d in events["day"]])
    rungs = analysis.rung_probabilities(runs, manifest)
    rungs.insert(rungs.columns.get_loc("day") + 1, "date", [end_label(manifest, d) for d in rungs["day"]])
    outcomes = analysis.outcome_frequencies(runs, manifest)
    outcomes.insert(1, "label", [event_label(manifest, o) for o in outcomes["outcome"]])
    return {
        "summary_events.csv": events.rename(columns={"hits": "happened", "p": "p_happened"}),
        "summary_rungs.csv": rungs.rename(columns={"hits": "at_or_above", "p": "p_at_or_above"}),
        "summary_first_passage.csv": analysis.first_passage_quantiles(runs, manifest).rename(columns={
            "p": "p_at_or_above_by_horizon", "q05": "first_day_at_or_above_q05",
            "median": "first_day_at_or_above_median", "q95": "first_day_at_or_above_q95"}),
        "summary_entered.csv": analysis.rung_entries(runs, manifest).rename(columns={"p": "p_entered"}),
        "summary_causes.csv": analysis.entry_causes(runs, manifest).rename(columns={
            "runs": "runs_entered_by_it", "share": "share_of_runs_entered"}),
        "summary_variables.csv": variables,
        "summary_outcomes.csv": outcomes.rename(columns={"p": "p_happened", "median_day": "median_first_day"}),
    }


def write_csv(runs, manifest: dict, directory: Path) -> list[Path]:
    """The summary tables as CSV files beside the results (pandas reads them back), written atomically.

    `runs` is the runs table (a DataFrame with at least the columns the tables read, or `summary_frame`'s table,
    read a column at a time); every variable's quantiles are computed from runs.parquet one column at a time, so
    memory stays modest however many runs and variables there are. Returns the paths written (CSV_FILES, events
    first); raises OSError if a file cannot be read or written (no half-written table is left).
    """
    directory = Path(directory)
    whole = _whole_file(runs, directory) or summary_frame(directory, manifest)
    variables = analysis.variable_quantiles(whole, manifest, manifest["readable"])
    paths = []
    for name, frame in csv_tables(runs, manifest, variables).items():
        path = directory / name
        tmp = path.with_suffix(".csv.tmp")
        try:
            frame.to_csv(tmp, index=False)
            tmp.replace(path)
        except BaseException:  # a full disk, Ctrl-C: no half-written table left behind
            tmp.unlink(missing_ok=True)
            raise
        paths.append(path)
    return paths


def _whole_file(runs, directory: Path) -> ParquetTable | None:
    """`runs` if it is already DIRECTORY/runs.parquet opened whole (summary_frame's table), else None: opening the
    file again would parse its footer again, ~40 MB for a million runs (80 row groups x 576 columns)."""
    if isinstance(runs, ParquetTable) and runs.path == directory / "runs.parquet" and runs.columns == runs.names:
        return runs
    return None


def variable_columns(manifest: dict, variable: str) -> list[str]:
    """The columns of runs.parquet holding a variable: at each checkpoint (at.<name>.<variable>) and final."""
    return [f"at.{c['name']}.{variable}" for c in manifest["checkpoints"]] + [f"final.{variable}"]


def summary_frame(directory: Path, manifest: dict) -> ParquetTable:
    """DIRECTORY/runs.parquet as the table the printed summary and the CSVs read: a `ParquetTable`, which reads
    each column when it is used (one column of the runs in memory at a time, not every run's record: a million
    runs take 8 MB a column). `manifest` is unused, kept for the callers. Raises OSError or an Arrow error if
    the file cannot be read."""
    del manifest
    return ParquetTable(Path(directory) / "runs.parquet")
