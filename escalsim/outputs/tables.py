"""The summary of a results directory as plain-text tables (the CLI prints them; CSV copies go beside them)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from escalsim.outputs import analysis
from escalsim.outputs.contract import key_variables, shown_rungs
from escalsim.outputs.labels import date_label, end_label, percent


def _pct(p: float, low: float, high: float) -> str:
    """'  5.1 ±1.2': the share and the half-width of its interval, in percentage points, for a column."""
    return f"{percent(p, 1, sign=False):>5} ±{percent((high - low) / 2, 1, sign=False)}"


def _table(header: list[str], rows: list[list[str]]) -> Iterator[str]:
    """Aligned lines: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    yield "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))
    for row in rows:
        yield "  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(row, widths)))


def shown_marks(manifest: dict, most: int = 5) -> list[tuple[str, float]]:
    """At most `most` (name, day) marks for a table that fits a terminal: evenly spread checkpoints before the
    horizon, then ('horizon', its day). Raises KeyError if the manifest lacks checkpoints or horizon_days."""
    checkpoints = [(c["name"], c["day"]) for c in manifest["checkpoints"] if c["day"] < manifest["horizon_days"]]
    if len(checkpoints) >= most:
        step = len(checkpoints) / (most - 1)
        checkpoints = [checkpoints[int(round((i + 1) * step)) - 1] for i in range(most - 1)]
    return checkpoints + [("horizon", manifest["horizon_days"])]


def summary(runs: pd.DataFrame, manifest: dict) -> Iterator[str]:
    """The printed summary of many runs, line by line: rung probabilities by date, first-passage dates, key
    variables by checkpoint, and how often each response option and treaty obligation fired.

    Takes the runs table (the columns of `summary_frame` suffice) and the manifest; yields lines of text.
    Raises KeyError if a column or manifest key is missing.
    """
    yield from _rung_lines(runs, manifest)
    yield ""
    yield from _first_passage_lines(runs, manifest)
    header, rows = key_variable_rows(runs, manifest)
    if rows:
        yield ""
        yield "Key variables: median [5%, 95%]"
        yield from _table(header, rows)
    if manifest["outcomes"]:
        yield ""
        yield from _outcome_lines(runs, manifest)


def _rung_lines(runs: pd.DataFrame, manifest: dict) -> Iterator[str]:
    probs = analysis.rung_probabilities(runs, manifest)
    marks = shown_marks(manifest)
    yield (f"Probability (%) of having reached each rung (or a higher one) by each date ({len(runs):,} runs; "
           "± is the half-width of the 95% Wilson interval)")
    rows = []
    for r, label in shown_rungs(manifest):
        sel = probs[probs["rung"] == r].set_index("by")
        rows.append([label] + [_pct(*sel.loc[by, ["p", "low", "high"]]) for by, _ in marks])
    yield from _table(["rung"] + [end_label(manifest, day) for _, day in marks], rows)
    if len(marks) < len(manifest["checkpoints"]) + 1:
        yield "(every checkpoint, with both interval bounds: summary_rungs.csv)"


def _first_passage_lines(runs: pd.DataFrame, manifest: dict) -> Iterator[str]:
    yield "First day on each rung or a higher one, among the runs that got there (censored at the horizon)"
    fp = analysis.first_passage_quantiles(runs, manifest).set_index("rung")
    rows = [[label, _pct(*fp.loc[r, ["p", "low", "high"]]), date_label(manifest, fp.loc[r, "median"]),
             f"{date_label(manifest, fp.loc[r, 'q05'])} .. {date_label(manifest, fp.loc[r, 'q95'])}"]
            for r, label in shown_rungs(manifest)]
    yield from _table(["rung", "reached %", "median date", "5%-95% range"], rows)


def key_variable_rows(runs: pd.DataFrame, manifest: dict) -> tuple[list[str], list[list[str]]]:
    """The key variables' table: a header ('at', then each variable's label) and one row per checkpoint and the
    horizon, each cell 'median [5%, 95%]' across the runs. No key variables: the header alone and no rows.

    Takes the runs table (with the at.* and final.* columns of the key variables) and the manifest.
    Raises KeyError if a column is missing.
    """
    variables = key_variables(manifest)
    header = ["at"] + [manifest["labels"].get(v, v) for v in variables]
    if not variables:
        return header, []
    vq = analysis.variable_quantiles(runs, manifest, variables)
    rows = []
    for at in [c["name"] for c in manifest["checkpoints"]] + ["horizon"]:
        sel = vq[vq["at"] == at].set_index("variable")
        rows.append([at] + [f"{sel.loc[v, 'median']:,.0f} [{sel.loc[v, 'q05']:,.0f}, {sel.loc[v, 'q95']:,.0f}]"
                            for v in variables])
    return header, rows


def _outcome_lines(runs: pd.DataFrame, manifest: dict) -> Iterator[str]:
    yield "Response options and treaty obligations: how often they fired (%), and when"
    of = analysis.outcome_frequencies(runs, manifest)
    rows = [[o.outcome, _pct(o.p, o.low, o.high), date_label(manifest, o.median_day),
             "-" if math.isnan(o.mean_count) else f"{o.mean_count:.2f}"] for o in of.itertuples()]
    yield from _table(["option / obligation", "fired %", "median date", "mean times"], rows)


def write_csv(runs: pd.DataFrame, manifest: dict, directory: Path) -> list[Path]:
    """The summary tables as CSV files beside the results (pandas reads them back), written atomically.

    `runs` needs only the columns of summary_frame; every variable's quantiles are computed from runs.parquet
    one variable at a time, so memory stays modest however many runs and variables there are. Returns the
    paths written; raises OSError if a file cannot be read or written (no half-written table is left).
    """
    directory = Path(directory)
    variables = pd.concat([analysis.variable_quantiles(_variable_frame(directory, manifest, v), manifest, [v])
                           for v in manifest["readable"]], ignore_index=True)
    tables = {
        "summary_rungs.csv": analysis.rung_probabilities(runs, manifest),
        "summary_first_passage.csv": analysis.first_passage_quantiles(runs, manifest),
        "summary_variables.csv": variables,
        "summary_outcomes.csv": analysis.outcome_frequencies(runs, manifest),
    }
    paths = []
    for name, frame in tables.items():
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


def _variable_columns(manifest: dict, variable: str) -> list[str]:
    return [f"at.{c['name']}.{variable}" for c in manifest["checkpoints"]] + [f"final.{variable}"]


def _variable_frame(directory: Path, manifest: dict, variable: str) -> pd.DataFrame:
    return pd.read_parquet(directory / "runs.parquet", columns=_variable_columns(manifest, variable))


def summary_frame(directory: Path, manifest: dict) -> pd.DataFrame:
    """The columns of DIRECTORY/runs.parquet that the printed summary needs, as a DataFrame (not every variable:
    memory stays modest for a million runs). Raises OSError or an Arrow error if the file cannot be read."""
    options = set(manifest.get("options", []))
    cols = ["run"] + [f"at_or_above.{r}" for r in manifest["rungs"]] + [f"event.{o}" for o in manifest["outcomes"]]
    cols += [f"count.{o}" for o in manifest["outcomes"] if o in options]
    for v in key_variables(manifest):
        cols += _variable_columns(manifest, v)
    return pd.read_parquet(Path(directory) / "runs.parquet", columns=cols)
