"""The summary of a results directory as plain-text tables (the CLI prints them; CSV copies go beside them)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from escalsim.outputs import analysis


def date_label(manifest: dict, day: float) -> str:
    if day is None or (isinstance(day, float) and math.isnan(day)):
        return "-"
    return (dt.date.fromisoformat(manifest["start"]) + dt.timedelta(days=math.floor(day))).isoformat()


def _pct(p: float, low: float, high: float) -> str:
    return f"{100 * p:5.1f} ±{100 * (high - low) / 2:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> Iterator[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    yield "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))
    for row in rows:
        yield "  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(row, widths)))


def shown_marks(manifest: dict, most: int = 5) -> list[tuple[str, float]]:
    """At most `most` dates for a table that fits a terminal: evenly spread checkpoints, then the horizon."""
    checkpoints = [(c["name"], c["day"]) for c in manifest["checkpoints"] if c["day"] < manifest["horizon_days"]]
    if len(checkpoints) >= most:
        step = len(checkpoints) / (most - 1)
        checkpoints = [checkpoints[int(round((i + 1) * step)) - 1] for i in range(most - 1)]
    return checkpoints + [("horizon", manifest["horizon_days"])]


def key_variables(manifest: dict) -> list[str]:
    return manifest.get("key_variables") or [v for v in manifest["readable"] if v != "level"][:4]


def summary(runs: pd.DataFrame, manifest: dict) -> Iterator[str]:
    n = len(runs)
    above = manifest["rungs"][manifest["start_level"] + 1:]
    labels = dict(zip(manifest["rungs"], manifest["rung_labels"]))
    probs = analysis.rung_probabilities(runs, manifest)
    marks = shown_marks(manifest)
    yield (f"Probability (%) of having reached each rung by each date ({n:,} runs; "
           "± is the half-width of the 95% Wilson interval)")
    rows = []
    for r in above:
        sel = probs[probs["rung"] == r].set_index("by")
        rows.append([labels[r]] + [_pct(*sel.loc[by, ["p", "low", "high"]]) for by, _ in marks])
    yield from _table(["rung"] + [date_label(manifest, day - 1) for _, day in marks], rows)
    if len(marks) < len(manifest["checkpoints"]) + 1:
        yield "(every checkpoint, with both interval bounds: summary_rungs.csv)"
    yield ""
    yield "First-passage day of each rung, among runs that reached it (censored at the horizon)"
    fp = analysis.first_passage_quantiles(runs, manifest).set_index("rung")
    rows = [[labels[r], _pct(*fp.loc[r, ["p", "low", "high"]]), date_label(manifest, fp.loc[r, "median"]),
             f"{date_label(manifest, fp.loc[r, 'q05'])} .. {date_label(manifest, fp.loc[r, 'q95'])}"] for r in above]
    yield from _table(["rung", "reached %", "median date", "5%-95% range"], rows)
    variables = key_variables(manifest)
    if variables:
        yield ""
        yield "Key variables: median [5%, 95%]"
        vq = analysis.variable_quantiles(runs, manifest, variables)
        rows = []
        for at in [c["name"] for c in manifest["checkpoints"]] + ["horizon"]:
            sel = vq[vq["at"] == at].set_index("variable")
            rows.append([at] + [f"{sel.loc[v, 'median']:,.0f} [{sel.loc[v, 'q05']:,.0f}, {sel.loc[v, 'q95']:,.0f}]"
                                for v in variables])
        yield from _table(["at"] + [manifest["labels"].get(v, v) for v in variables], rows)
    if manifest["outcomes"]:
        yield ""
        yield "Response options and treaty obligations: how often they fired (%), and when"
        of = analysis.outcome_frequencies(runs, manifest)
        rows = [[o.outcome, _pct(o.p, o.low, o.high), date_label(manifest, o.median_day), f"{o.mean_count:.2f}"]
                for o in of.itertuples()]
        yield from _table(["option / obligation", "fired %", "median date", "mean times"], rows)


def write_csv(runs: pd.DataFrame, manifest: dict, directory: Path) -> list[Path]:
    """The summary tables as CSV files (pandas reads them back), written atomically.

    `runs` needs only the columns of summary_frame; every variable's quantiles are computed from runs.parquet
    one variable at a time, so memory stays modest however many runs and variables there are.
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
    """The columns the printed summary needs (not every variable: memory stays modest for a million runs)."""
    cols = ["run"] + [f"first_passage.{r}" for r in manifest["rungs"]]
    cols += [f"fired.{o}" for o in manifest["outcomes"]] + [f"count.{o}" for o in manifest["outcomes"]]
    for v in key_variables(manifest):
        cols += _variable_columns(manifest, v)
    return pd.read_parquet(Path(directory) / "runs.parquet", columns=cols)
