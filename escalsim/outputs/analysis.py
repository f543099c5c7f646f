"""Statistics of many runs: event and rung probabilities by date (with Wilson intervals), rungs entered and their
causes, first-passage and variable quantiles, and how often decisions were taken."""

from __future__ import annotations

import numpy as np
import pandas as pd

from escalsim.outputs.contract import event_kinds, main_events, text_counts
from escalsim.outputs.labels import event_label
from escalsim.stats import Z95, wilson  # noqa: F401 - Z95 and wilson are read here by notebooks

QUANTILES = (0.05, 0.5, 0.95)
NO_CAUSE = "no cause recorded"  # a rung entered, but its cause column is empty


def marks(manifest: dict) -> list[tuple[str, float]]:
    """(name, day) of every checkpoint, then ('horizon', its day): the moments the probabilities are reported by."""
    return [(c["name"], c["day"]) for c in manifest["checkpoints"]] + [("horizon", manifest["horizon_days"])]


def event_probabilities(runs: pd.DataFrame, manifest: dict, events: list[str] | None = None) -> pd.DataFrame:
    """P(each event happened by each checkpoint and by the horizon), with Wilson bounds.

    'By a checkpoint' means before its day (the end of the day before), as for rungs; an event before the start
    (a negative day) has happened by every checkpoint. Takes the runs table (its event.* columns), the manifest
    and the events (None: every event of the manifest); returns one row per event and mark (event, kind, label,
    by, day, runs, hits, p, low, high, certain: True for an event that happened in every run on or before the
    start). Raises KeyError if a column or manifest key is missing.
    """
    kinds, n = event_kinds(manifest), len(runs)
    rows = []
    for event in manifest["event_names"] if events is None else events:
        first = runs[f"event.{event}"].to_numpy(dtype=float)
        certain = bool(n) and bool(np.all(first <= 0))  # NaN (never) compares False
        for name, day in marks(manifest):
            k = int(np.count_nonzero(first < day))
            p, lo, hi = wilson(k, n)
            rows.append({"event": event, "kind": kinds.get(event, "flag"), "label": event_label(manifest, event),
                         "by": name, "day": day, "runs": n, "hits": k, "p": float(p), "low": float(lo),
                         "high": float(hi), "certain": certain})
    return pd.DataFrame(rows)


def certain_events(runs: pd.DataFrame, manifest: dict, events: list[str] | None = None) -> list[str]:
    """The events (of `events`, None: the main events) that happened in every run on or before the start: given,
    not an outcome of the runs. Raises KeyError if an event column is missing."""
    chosen = main_events(manifest) if events is None else events
    return [e for e in chosen if len(runs) and bool(np.all(runs[f"event.{e}"].to_numpy(dtype=float) <= 0))]


def rung_probabilities(runs: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """P(at or above each rung at some time up to each checkpoint and the horizon), with Wilson bounds.

    'By a date' means the track was at or above the rung before the end of that day (first passage), so the
    probability never falls over time even when the world later de-escalates. Takes the runs table (its
    at_or_above.* columns) and the manifest; returns one row per rung and mark (track, rung, label, by, day,
    runs, hits, p, low, high). Raises KeyError if a column or manifest key is missing.
    """
    n = len(runs)
    marks = [(c["name"], c["day"]) for c in manifest["checkpoints"]] + [("horizon", manifest["horizon_days"])]
    rows = []
    for track, rung, label in _rungs(manifest):
        first = runs[f"at_or_above.{rung}"].to_numpy()
        for name, day in marks:
            k = int(np.count_nonzero(first < day))
            p, lo, hi = wilson(k, n)
            rows.append({"track": track, "rung": rung, "label": label, "by": name, "day": day, "runs": n, "hits": k,
                         "p": float(p), "low": float(lo), "high": float(hi)})
    return pd.DataFrame(rows)


def first_passage_quantiles(runs: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """For each rung: P(at or above it by the horizon), and the 5/50/95% first-passage day among runs that got there.

    Takes the runs table and the manifest; returns one row per rung (track, rung, label, p, low, high, q05, median,
    q95; NaN days for a rung never reached). Raises KeyError if a column or manifest key is missing.
    """
    rows = []
    for track, rung, label in _rungs(manifest):
        first = runs[f"at_or_above.{rung}"].to_numpy()
        reached = first[~np.isnan(first)]
        p, lo, hi = wilson(len(reached), len(first))
        # `reached` is this function's own copy: quantile may sort it in place (8 MB less at a million runs)
        q = np.quantile(reached, QUANTILES, overwrite_input=True) if len(reached) else [np.nan] * len(QUANTILES)
        rows.append({"track": track, "rung": rung, "label": label, "p": float(p), "low": float(lo), "high": float(hi),
                     "q05": q[0], "median": q[1], "q95": q[2]})
    return pd.DataFrame(rows)


def variable_quantiles(runs: pd.DataFrame, manifest: dict, variables: list[str]) -> pd.DataFrame:
    """5/50/95% quantiles and mean of variables at each checkpoint and at the horizon.

    Takes the runs table (at.<checkpoint>.<variable> and final.<variable> columns), the manifest and the variable
    ids; returns one row per variable and mark (variable, at, mean, q05, median, q95). Raises KeyError if a
    column is missing.
    """
    rows = []
    marks = [(c["name"], f"at.{c['name']}.") for c in manifest["checkpoints"]] + [("horizon", "final.")]
    for var in variables:
        for name, prefix in marks:
            x = runs[prefix + var].to_numpy()
            q = np.quantile(x, QUANTILES)
            rows.append({"variable": var, "at": name, "mean": float(x.mean()), "q05": q[0], "median": q[1],
                         "q95": q[2]})
    return pd.DataFrame(rows)


def outcome_frequencies(runs: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """How often each response option and treaty obligation fired, when (median first day), and how many times.

    Takes the runs table (event.* columns, and count.* of the options) and the manifest; returns one row per
    outcome (outcome, p, low, high, median_day, mean_count: NaN for what has no count, an obligation, which
    happens at most once). Raises KeyError if an event column or a manifest key is missing.
    """
    rows = []
    n = len(runs)
    for outcome in manifest["outcomes"]:
        day = runs[f"event.{outcome}"].to_numpy()
        fired = day[~np.isnan(day)]
        del day  # before the count column is read
        p, lo, hi = wilson(len(fired), n)
        count = runs.get(f"count.{outcome}")
        rows.append({"outcome": outcome, "p": float(p), "low": float(lo), "high": float(hi),
                     "median_day": float(np.median(fired, overwrite_input=True)) if len(fired) else np.nan,
                     "mean_count": float(count.mean()) if count is not None else np.nan})
    return pd.DataFrame(rows)


def rung_entries(runs: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """For each rung above its track's start, by the horizon: how many runs were at or above it, how many entered
    it (were on it), and how many passed over it (at or above it without ever being on it: a jump went past).

    Takes the runs table (at_or_above.* and entered.* columns) and the manifest; returns one row per rung (track,
    rung, label, runs, at_or_above, entered, passed_over, p: the share that entered it, low, high: its Wilson
    bounds, p_passed_over). Raises KeyError if a column or manifest key is missing.
    """
    n, rows = len(runs), []
    for track, rung, label in _rungs(manifest, above_start=True):
        above = runs[f"at_or_above.{rung}"].notna().to_numpy()
        entered = runs[f"entered.{rung}"].notna().to_numpy()
        k = int(np.count_nonzero(entered))
        passed = int(np.count_nonzero(above & ~entered))
        p, lo, hi = wilson(k, n)
        rows.append({"track": track, "rung": rung, "label": label, "runs": n, "at_or_above": int(above.sum()),
                     "entered": k, "passed_over": passed, "p": float(p), "low": float(lo), "high": float(hi),
                     "p_passed_over": passed / n if n else np.nan})
    return pd.DataFrame(rows)


def entry_causes(runs: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """What first put each track on each rung above its start, among the runs that entered the rung (never a
    cause for a run that only passed over it).

    Takes the runs table (entered.* and cause.* columns) and the manifest; returns one row per rung and cause,
    most frequent first (track, rung, label, cause, runs: of that cause, share: of the runs that entered the
    rung); a rung no run entered has no row. An entry whose cause is empty counts as NO_CAUSE. Raises KeyError if
    a column or manifest key is missing.
    """
    rows = []
    for track, rung, label in _rungs(manifest, above_start=True):
        entered = runs[f"entered.{rung}"].notna().to_numpy()
        counts = text_counts(runs[f"cause.{rung}"], entered)  # counted on the codes: no string per run
        if "" in counts:
            counts[NO_CAUSE] = counts.get(NO_CAUSE, 0) + counts.pop("")
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        rows += [{"track": track, "rung": rung, "label": label, "cause": cause, "runs": int(k),
                  "share": k / entered.sum()} for cause, k in ordered]
    return pd.DataFrame(rows, columns=["track", "rung", "label", "cause", "runs", "share"])


def repeated_decisions(runs: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """The options taken more than once in some run: how many times on average, across all runs and across the
    runs that took them, and at most. Options never repeated are left out (each fired at most once per run).

    Takes the runs table (count.* columns of the options) and the manifest; returns one row per such option
    (option, label, mean, p: share of runs that took it, mean_when_taken, max). Raises KeyError if a count
    column is missing.
    """
    rows = []
    for option in manifest.get("options", []):
        count = runs[f"count.{option}"].to_numpy()
        if len(count) and count.max() > 1:
            taken = count[count > 0]
            rows.append({"option": option, "label": event_label(manifest, option), "mean": float(count.mean()),
                         "p": len(taken) / len(count), "mean_when_taken": float(taken.mean()),
                         "max": int(count.max())})
    return pd.DataFrame(rows, columns=["option", "label", "mean", "p", "mean_when_taken", "max"])


def _rungs(manifest: dict, above_start: bool = False):
    """(track id, rung id, rung label) of every rung (or of those above each track's start), track by track,
    lowest first."""
    for track in manifest["tracks"]:
        for k, (rung, label) in enumerate(zip(track["rungs"], track["rung_labels"])):
            if not above_start or k > track["start"]:
                yield track["id"], rung, label
