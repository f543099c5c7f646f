"""A paired comparison of two results directories run with the same seed (common random numbers): arm A and arm B.

Run i of A and run i of B are a pair. For each binary outcome (each rung above its track's start at or above by
each checkpoint and by the horizon; each event happened by the horizon) a row gives P(A), P(B), the difference
B - A with its 95% interval by Newcombe's (1998) method 10 for paired proportions, the pair counts a (both arms),
b (A only), c (B only), d (neither), McNemar's mid-p and the variance-reduction factor F (how many times the runs
unpaired arms of the same size would need for the same interval). For each key variable at each checkpoint and the
horizon a row gives the means, their paired difference with a Student t interval, and F. An outcome the change
cannot reach is the same in every pair: difference exactly 0, b = c = 0.

`compare_results(a, b)` is the Python API (a DataFrame); `pair(a, b)` says whether two results pair and what is
compared; `write_comparison` writes comparison.csv, .json, .png and .html. The figure and the page are drawn by
`comparison_figure` and `comparison_report`. Like every output, this never simulates and never imports the engine
or the Monte Carlo; a results object is anything with `runs` (DataFrame) and `manifest` (dict).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from escalsim import __version__
from escalsim.outputs.contract import key_variables
from escalsim.outputs.labels import end_label, variable_label
from escalsim.stats import binary_variance_reduction, mcnemar, paired_counts, paired_difference
from escalsim.stats_paired import paired_mean_difference

KIND = "escalsim-comparison"
NEWCOMBE = "Newcombe (1998) method 10 for paired proportions"
PAIRED_T = "paired t (Student, n - 1 df)"
FILES = ("comparison.csv", "comparison.png", "comparison.html", "comparison.json")  # the json last: complete
COUNTS = ["a", "b", "c", "d"]
DESCRIPTION = ["kind", "group", "group_label", "name", "label", "at", "day", "date"]  # every row's first columns


@dataclass
class Pairing:
    """What two results have in common: the first `pairs` runs of each, the checkpoints (name, day) and events
    both record, the key variables of A that B records too, and notes on what differs but still pairs."""

    pairs: int
    runs_a: int
    runs_b: int
    marks: list[tuple[str, float]]
    events: list[str]
    variables: list[str]
    notes: list[str] = field(default_factory=list)


def _name(results, arm: str) -> str:
    directory = getattr(results, "directory", None)
    return str(directory) if directory is not None else f"arm {arm.upper()}"


def pair(a, b) -> Pairing:
    """Check that results `a` and `b` pair run by run and say what can be compared.

    They pair when they have the same seed, start date, horizon and tracks (ids, rungs, starting rungs), and each
    holds runs 0, 1, ... in order; when the run counts differ the common first runs are compared (run i depends
    on the seed and i only, so they still pair) and a note says so. Scenario names may differ (a variant has its
    own); events and checkpoints recorded by one arm only are left out, with a note.

    Takes two results objects; returns a Pairing. Raises ValueError saying why they cannot pair.
    """
    ma, mb = a.manifest, b.manifest
    na, nb = _name(a, "a"), _name(b, "b")
    for m, name in ((ma, na), (mb, nb)):
        missing = [k for k in ("seed", "start", "horizon_days", "tracks", "checkpoints", "event_names") if k not in m]
        if missing:
            raise ValueError(f"{name}: the manifest lacks {', '.join(missing)}")
    if ma["seed"] != mb["seed"]:
        raise ValueError(f"{na} was run with seed {ma['seed']} and {nb} with seed {mb['seed']}: run i of one is not "
                         "run i of the other (runs pair only within one seed)")
    if (ma["start"], ma["horizon_days"]) != (mb["start"], mb["horizon_days"]):
        raise ValueError(f"{na} covers {ma['horizon_days']:g} days from {ma['start']} and {nb} "
                         f"{mb['horizon_days']:g} days from {mb['start']}: the arms must cover the same days")
    if _tracks(ma) != _tracks(mb):
        raise ValueError(f"{na} and {nb} have different tracks (ids, rungs or starting rungs), so their rungs do "
                         "not mean the same")
    runs_a, runs_b = _check_runs(a, na), _check_runs(b, nb)
    pairs = min(runs_a, runs_b)
    if pairs < 2:
        raise ValueError(f"a paired comparison needs at least 2 runs in each arm; {na} has {runs_a:,} and {nb} "
                         f"{runs_b:,}")
    notes = _notes(ma, mb, runs_a, runs_b)
    return Pairing(pairs, runs_a, runs_b, _common_marks(ma, mb, notes), _common_events(ma, mb, notes),
                   [v for v in key_variables(ma) if f"final.{v}" in b.runs.columns], notes)


def _tracks(m: dict) -> list:
    return [(t["id"], list(t["rungs"]), t.get("start", 0)) for t in m["tracks"]]


def _check_runs(results, name: str) -> int:
    """The number of runs, after checking that they are runs 0, 1, ..., n - 1 in order (ValueError if not)."""
    runs = results.runs
    if "run" not in runs.columns:
        raise ValueError(f"{name}: the runs table has no 'run' column")
    index = runs["run"].to_numpy()
    if not np.array_equal(index, np.arange(len(index))):
        raise ValueError(f"{name} does not hold runs 0 to {len(index) - 1:,} in order (a filtered or edited table?): "
                         "its runs cannot be paired by index")
    return len(index)


def _notes(ma: dict, mb: dict, runs_a: int, runs_b: int) -> list[str]:
    notes = []
    if runs_a != runs_b:
        n = min(runs_a, runs_b)
        notes.append(f"A has {runs_a:,} runs and B {runs_b:,}: the first {n:,} runs of each (run indices 0 to "
                     f"{n - 1:,}) are compared")
    if ma.get("scenario") != mb.get("scenario"):
        notes.append(f"the arms are different scenarios: A is {ma.get('scenario')}, B is {mb.get('scenario')}")
    if ma.get("escalsim_version") != mb.get("escalsim_version"):
        notes.append(f"the arms were run by escalsim {ma.get('escalsim_version')} and {mb.get('escalsim_version')}: "
                     "if the engine's random streams changed between them, the runs do not pair")
    return notes


def _common_marks(ma: dict, mb: dict, notes: list[str]) -> list[tuple[str, float]]:
    days_b = {c["name"]: c["day"] for c in mb["checkpoints"]}
    marks = [(c["name"], c["day"]) for c in ma["checkpoints"] if days_b.get(c["name"]) == c["day"]]
    if len(marks) < max(len(ma["checkpoints"]), len(mb["checkpoints"])):
        notes.append("checkpoints that are not the same day in both arms are left out")
    return marks + [("horizon", ma["horizon_days"])]


def _common_events(ma: dict, mb: dict, notes: list[str]) -> list[str]:
    in_b = set(mb["event_names"])
    events = [e for e in ma["event_names"] if e in in_b]
    only = [e for e in ma["event_names"] if e not in in_b] + [e for e in mb["event_names"] if e not in set(events)]
    if only:
        notes.append(f"events recorded by one arm only are left out: {', '.join(only)}")
    return events


def compare_results(a, b, *, method: str = "newcombe", pairing: Pairing | None = None) -> pd.DataFrame:
    """The paired comparison of results `a` (arm A) and `b` (arm B) as a DataFrame, one row per outcome.

    Columns: kind ('rung', 'event' or 'variable'), group (a track id, 'events' or 'variables'), group_label,
    name, label, at (a checkpoint or 'horizon'), day, date (the ISO date whose end it is), pairs, value_a and
    value_b (P(A) and P(B), or the means), difference (B - A), low and high (the 95% interval), half_width,
    interval (its method), a, b, c, d (pairs with the outcome in both arms, A only, B only, neither; empty for
    variables), mcnemar_midp, factor (variance of the difference of unpaired arms of the same size over that of
    paired arms: unpaired arms would need `factor` times the runs; inf when the pairs never disagree but the
    outcome varies, NaN when it never varies), var_paired and var_independent (per pair).

    `method` is the interval of a paired proportion ('newcombe', the default, or 'tango'); `pairing` a Pairing
    already computed. Raises ValueError when the results do not pair (see `pair`), KeyError for a missing column.
    """
    p = pairing or pair(a, b)
    ra, rb = _first(a.runs, p.pairs), _first(b.runs, p.pairs)
    rows, xa, xb = _binary_rows(a.manifest, b.manifest, p, ra, rb)
    frame = pd.concat([_binary_frame(rows, xa, xb, method), _variable_frame(a.manifest, p, ra, rb)],
                      ignore_index=True)
    for column in COUNTS:
        frame[column] = frame[column].astype("Int64")
    return frame


def _first(runs: pd.DataFrame, n: int) -> pd.DataFrame:
    return runs.iloc[:n]


def _binary_rows(ma: dict, mb: dict, p: Pairing, ra: pd.DataFrame, rb: pd.DataFrame):
    """The binary rows' descriptions and the per-run outcomes of each arm (lists of boolean arrays)."""
    rows, xa, xb = [], [], []
    for track in ma["tracks"]:
        for k in range(track.get("start", 0) + 1, len(track["rungs"])):
            rung = track["rungs"][k]
            first_a, first_b = ra[f"at_or_above.{rung}"].to_numpy(), rb[f"at_or_above.{rung}"].to_numpy()
            for at, day in p.marks:
                rows.append(_row("rung", track["id"], track.get("label") or track["id"], rung,
                                 track["rung_labels"][k], at, day, ma))
                xa.append(first_a < day)
                xb.append(first_b < day)
    labels = {**mb.get("event_labels", {}), **ma.get("event_labels", {})}
    for event in p.events:
        rows.append(_row("event", "events", "Events", event, labels.get(event, event), "horizon",
                         ma["horizon_days"], ma))
        xa.append(ra[f"event.{event}"].notna().to_numpy())
        xb.append(rb[f"event.{event}"].notna().to_numpy())
    return rows, xa, xb


def _row(kind: str, group: str, group_label: str, name: str, label: str, at: str, day: float, m: dict) -> dict:
    return {"kind": kind, "group": group, "group_label": group_label, "name": name, "label": label, "at": at,
            "day": float(day), "date": end_label(m, day)}


def _binary_frame(rows: list[dict], xa: list, xb: list, method: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=DESCRIPTION)
    if not rows:
        return frame
    counts = paired_counts(np.array(xa), np.array(xb), axis=-1)
    a, b, c, d = (np.asarray(x) for x in counts)
    n = a + b + c + d
    diff = paired_difference(a, c, b, d, method=method)  # A and B swapped: p_B - p_A, with b and c as counted
    vr = binary_variance_reduction(a, b, c, d)
    frame["pairs"] = n
    frame["value_a"], frame["value_b"] = (a + b) / n, (a + c) / n
    frame["difference"], frame["low"], frame["high"] = diff.estimate, diff.low, diff.high
    frame["half_width"] = (diff.high - diff.low) / 2
    frame["interval"] = NEWCOMBE if method == "newcombe" else "Tango (1998) score interval for paired proportions"
    frame["a"], frame["b"], frame["c"], frame["d"] = a, b, c, d
    frame["mcnemar_midp"] = mcnemar(b, c).p_value
    frame["factor"], frame["var_paired"], frame["var_independent"] = vr.factor, vr.var_paired, vr.var_independent
    return frame


def _variable_frame(ma: dict, p: Pairing, ra: pd.DataFrame, rb: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for v in p.variables:
        for at, day in p.marks:
            column = "final." + v if at == "horizon" else f"at.{at}.{v}"
            xa, xb = ra[column].to_numpy(dtype=float), rb[column].to_numpy(dtype=float)
            r = paired_mean_difference(xb, xa)  # B - A
            rows.append(_row("variable", "variables", "Key variables", v, variable_label(ma, v, unit=True), at,
                             day, ma) | {
                "pairs": len(xa), "value_a": float(np.mean(xa)), "value_b": float(np.mean(xb)),
                "difference": float(r.estimate), "low": float(r.low), "high": float(r.high),
                "half_width": float((r.high - r.low) / 2), "interval": PAIRED_T, "factor": float(r.factor),
                "var_paired": float(r.var_paired), "var_independent": float(r.var_independent)})
    return pd.DataFrame(rows)


def main_rows(table: pd.DataFrame, top: int | None = None, kinds=("rung", "event")) -> pd.DataFrame:
    """The rows of `kinds` at the horizon, the largest absolute difference first (then by label); at most `top`."""
    rows = table[table["kind"].isin(kinds) & (table["at"] == "horizon")]
    order = rows.assign(_size=rows["difference"].abs()).sort_values(["_size", "label"], ascending=[False, True],
                                                                    kind="stable")
    return order.drop(columns="_size").head(top if top is not None else len(order))


def unchanged(table: pd.DataFrame) -> pd.Series:
    """Which rows are the same in every pair: binary rows with b = c = 0, variables whose every pair is equal."""
    binary = table["b"].fillna(0).eq(0) & table["c"].fillna(0).eq(0) & table["kind"].ne("variable")
    same = table["kind"].eq("variable") & table["difference"].eq(0) & table["var_paired"].eq(0)
    return binary | same


def describe(a, b, p: Pairing, table: pd.DataFrame) -> dict:
    """What comparison.json records: the arms (directory, scenario, runs, seed, overrides and moves), what B
    changes, the pairs compared, the methods, the notes and the main rows."""
    ma, mb = a.manifest, b.manifest
    arms = {arm: {"directory": _name(r, arm), "scenario": r.manifest.get("scenario"),
                  "title": r.manifest.get("title"), "runs": n, "stopped_because": r.manifest.get("stopped_because"),
                  "overrides": r.manifest.get("overrides", []), "moves": r.manifest.get("moves", {}),
                  "scenario_sha256": r.manifest.get("scenario_sha256")}
            for arm, r, n in (("a", a, p.runs_a), ("b", b, p.runs_b))}
    binary = table[table["kind"] != "variable"]
    return {"kind": KIND, "escalsim_version": __version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "seed": ma["seed"], "pairs": p.pairs, "arms": arms, "change": change_text(ma, mb),
            "difference": "B - A", "interval": {"probability": NEWCOMBE, "mean": PAIRED_T, "level": 0.95},
            "test": "McNemar's exact mid-p (two-sided)",
            "factor": "variance of B - A with independent arms of the same size / with paired arms",
            "widest_half_width": float(binary["half_width"].max()) if len(binary) else None,
            "outcomes": int(len(binary)), "unchanged": int(unchanged(binary).sum()), "notes": p.notes,
            "main": json.loads(main_rows(table, 10).to_json(orient="records"))}


def change_text(ma: dict, mb: dict) -> str:
    """What arm B changes against arm A: 'variant NAME' when its scenario has another name, then command-line flags
    ('--inject seoul_sends_weapons@2024-11-15'); 'nothing' when the arms are the same scenario with the same moves
    and overrides."""
    parts = []
    if ma.get("scenario") != mb.get("scenario"):
        parts.append(f"variant {mb.get('scenario')}")
    for flag, items in (("--set", "overrides"), ("--inject", "injections"), ("--block", "blocks")):
        texts_a, texts_b = _texts(ma, items), _texts(mb, items)
        parts += [f"{flag} {t}" for t in texts_b if t not in texts_a]
        parts += [f"without A's {flag} {t}" for t in texts_a if t not in texts_b]
    return ", ".join(parts) or "nothing"


def _texts(m: dict, items: str) -> list[str]:
    if items == "overrides":
        return list(m.get("overrides") or [])
    moves = (m.get("moves") or {}).get(items) or []
    if items == "injections":
        return [f"{x['option']}@{_when(m, x['day'])}" + (" (override)" if x.get("override") else "") for x in moves]
    return [x["option"] + _window(m, x.get("start") or 0, x.get("until")) for x in moves]


def _window(m: dict, start: float, until: float | None) -> str:
    """A block's window as --block writes it: '' for the whole run, else '@FROM..UNTIL' ('@FROM..' to the end)."""
    if not start and until is None:
        return ""
    return f"@{_when(m, start)}..{'' if until is None else _when(m, until)}"


def _when(m: dict, day: float) -> str:
    """A day as the date it starts (whole days) or as a day number."""
    if float(day).is_integer():
        return (dt.date.fromisoformat(m["start"]) + dt.timedelta(days=int(day))).isoformat()
    return f"{day:g}"


def write_comparison(a, b, directory: str | Path, *, table: pd.DataFrame | None = None,
                     pairing: Pairing | None = None) -> list[Path]:
    """Write comparison.csv (every row), comparison.png (the figure), comparison.html (the page) and, last,
    comparison.json (`describe`) into `directory`; each file whole or not at all. Returns the paths.

    Raises ValueError when the results do not pair, OSError when a file cannot be written (the files already
    written stay: the caller decides, as `escalsim compare` removes them all).
    """
    from escalsim.outputs.comparison_figure import save_figure
    from escalsim.outputs.comparison_report import render

    directory = Path(directory)
    p = pairing or pair(a, b)
    table = compare_results(a, b, pairing=p) if table is None else table
    meta = describe(a, b, p, table)
    paths = [directory / name for name in FILES]
    _atomic(paths[0], lambda tmp: table.to_csv(tmp, index=False))
    _atomic(paths[1], lambda tmp: save_figure(table, meta, a.manifest, tmp))
    _atomic(paths[2], lambda tmp: Path(tmp).write_text(render(table, meta, a.manifest), encoding="utf-8"))
    _atomic(paths[3], lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n",
                                                       encoding="utf-8"))
    return paths


def _atomic(path: Path, write) -> None:
    """write(tmp) to a temporary file beside `path`, then rename it over `path`; no partial file is left."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
