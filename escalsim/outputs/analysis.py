"""Statistics of many runs: rung probabilities by date (with Wilson intervals), first-passage and variable quantiles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from escalsim.stats import Z95, wilson  # noqa: F401 - Z95 and wilson are read here by notebooks

QUANTILES = (0.05, 0.5, 0.95)


def rung_probabilities(runs: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """P(at or above each rung at some time up to each checkpoint and the horizon), with Wilson bounds.

    'By a date' means the rung was reached on or before the end of that day (first passage), so the
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
        q = np.quantile(reached, QUANTILES) if len(reached) else [np.nan] * len(QUANTILES)
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
        p, lo, hi = wilson(len(fired), n)
        count = runs.get(f"count.{outcome}")
        rows.append({"outcome": outcome, "p": float(p), "low": float(lo), "high": float(hi),
                     "median_day": float(np.median(fired)) if len(fired) else np.nan,
                     "mean_count": float(count.mean()) if count is not None else np.nan})
    return pd.DataFrame(rows)


def _rungs(manifest: dict):
    """(track id, rung id, rung label) of every rung, track by track, lowest first."""
    for track in manifest["tracks"]:
        for rung, label in zip(track["rungs"], track["rung_labels"]):
            yield track["id"], rung, label
