"""Statistics of many runs: Wilson intervals, rung probabilities by date, first-passage and variable quantiles."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
QUANTILES = (0.05, 0.5, 0.95)


def wilson(k, n, z: float = Z95):
    """Wilson score interval for k successes in n trials: (estimate, low, high); works on arrays."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return p, np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def wilson_half_width(k, n, z: float = Z95):
    _, low, high = wilson(k, n, z)
    return (high - low) / 2


@dataclass
class Tally:
    """Running counts of the probabilities that `escalsim run` reports, for sequential stopping."""

    rungs: list[str]
    marks: list[tuple[str, float]]  # (checkpoint name or 'horizon', day)
    outcomes: list[str]
    n: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, columns: dict) -> None:
        """Add a batch (columns as in records.columns) to the counts."""
        self.n += len(columns["run"])
        for name, hits in self._events(columns):
            self.counts[name] = self.counts.get(name, 0) + int(np.count_nonzero(hits))

    def _events(self, columns: dict):
        for rung in self.rungs:
            first = columns[f"first_passage.{rung}"]
            for name, day in self.marks:
                yield f"reach {rung} by {name}", first < day
        for outcome in self.outcomes:
            yield f"fired {outcome}", ~np.isnan(columns[f"fired.{outcome}"])

    def widest(self) -> tuple[str, float]:
        """The reported probability with the widest 95% interval, and its half-width."""
        if not self.counts:
            return "", float("inf")
        names = list(self.counts)
        widths = wilson_half_width([self.counts[k] for k in names], self.n)
        i = int(np.argmax(widths))
        return names[i], float(widths[i])


def rung_probabilities(runs: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """P(at or above each rung at some time up to each checkpoint and the horizon), with Wilson bounds.

    'By a date' means the rung was reached on or before the end of that day (first passage), so the
    probability never falls over time even when the world later de-escalates.
    """
    n = len(runs)
    marks = [(c["name"], c["day"]) for c in manifest["checkpoints"]] + [("horizon", manifest["horizon_days"])]
    rows = []
    for rung, label in zip(manifest["rungs"], manifest["rung_labels"]):
        first = runs[f"first_passage.{rung}"].to_numpy()
        for name, day in marks:
            k = int(np.count_nonzero(first < day))
            p, lo, hi = wilson(k, n)
            rows.append({"rung": rung, "label": label, "by": name, "day": day, "runs": n, "hits": k,
                         "p": float(p), "low": float(lo), "high": float(hi)})
    return pd.DataFrame(rows)


def first_passage_quantiles(runs: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """For each rung: P(reached by the horizon), and the 5/50/95% first-passage day among runs that reached it."""
    rows = []
    for rung, label in zip(manifest["rungs"], manifest["rung_labels"]):
        first = runs[f"first_passage.{rung}"].to_numpy()
        reached = first[~np.isnan(first)]
        p, lo, hi = wilson(len(reached), len(first))
        q = np.quantile(reached, QUANTILES) if len(reached) else [np.nan] * len(QUANTILES)
        rows.append({"rung": rung, "label": label, "p": float(p), "low": float(lo), "high": float(hi),
                     "q05": q[0], "median": q[1], "q95": q[2]})
    return pd.DataFrame(rows)


def variable_quantiles(runs: pd.DataFrame, manifest: dict, variables: list[str]) -> pd.DataFrame:
    """5/50/95% quantiles and mean of variables at each checkpoint and at the horizon."""
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
    """How often each response option and treaty obligation fired, when (median day), and how many times."""
    rows = []
    n = len(runs)
    for outcome in manifest["outcomes"]:
        day = runs[f"fired.{outcome}"].to_numpy()
        fired = day[~np.isnan(day)]
        p, lo, hi = wilson(len(fired), n)
        rows.append({"outcome": outcome, "p": float(p), "low": float(lo), "high": float(hi),
                     "median_day": float(np.median(fired)) if len(fired) else np.nan,
                     "mean_count": float(runs[f"count.{outcome}"].mean())})
    return pd.DataFrame(rows)
