"""RunRecords to columns: the runs table, the level on a day grid, and trace rows (plain numpy and lists)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from escalsim.engine import Model, RunRecord

GRID_STEP_DAYS = 1.0


def column_names(model: Model) -> dict[str, str]:
    """Every column of runs.parquet with its numpy dtype, in order. Ids never hold dots, so names are unambiguous."""
    cols = {"run": "int64", "seed": "uint64", "final_level": "int16", "max_level": "int16", "events": "int64"}
    cols.update({f"first_passage.{r}": "float64" for r in model.rungs})
    cols.update({f"first_cause.{r}": "str" for r in model.rungs})
    for name, _day in model.checkpoints:
        cols.update({f"at.{name}.{v}": "float64" for v in model.readable})
    cols.update({f"final.{v}": "float64" for v in model.readable})
    cols.update({f"fired.{o}": "float64" for o in model.outcomes})
    cols.update({f"count.{o}": "int32" for o in model.outcomes})
    return cols


def columns(model: Model, records: Sequence[RunRecord]) -> dict[str, np.ndarray | list[str]]:
    """One array per column (strings as lists), rows in the order given."""
    n = len(records)
    out: dict[str, np.ndarray | list[str]] = {
        "run": np.fromiter((r.run for r in records), np.int64, n),
        "seed": np.fromiter((r.seed for r in records), np.uint64, n),
        "final_level": np.fromiter((r.final_level for r in records), np.int16, n),
        "max_level": np.fromiter((r.max_level for r in records), np.int16, n),
        "events": np.fromiter((r.events for r in records), np.int64, n),
    }
    _block(out, "first_passage.{}", model.rungs, [r.first_passage for r in records], np.float64)
    for k, rung in enumerate(model.rungs):
        out[f"first_cause.{rung}"] = [r.first_cause[k] for r in records]
    for c, (name, _day) in enumerate(model.checkpoints):
        _block(out, f"at.{name}.{{}}", model.readable, [r.checkpoints[c] for r in records], np.float64)
    _block(out, "final.{}", model.readable, [r.final for r in records], np.float64)
    _block(out, "fired.{}", model.outcomes, [r.fired for r in records], np.float64)
    _block(out, "count.{}", model.outcomes, [r.fire_counts for r in records], np.int32)
    return out


def _block(out: dict, pattern: str, names: Sequence[str], rows: list[tuple], dtype) -> None:
    table = np.array(rows, dtype=dtype).reshape(len(rows), len(names))
    for j, name in enumerate(names):
        out[pattern.format(name)] = np.ascontiguousarray(table[:, j])


def grid_days(model: Model, step: float = GRID_STEP_DAYS) -> np.ndarray:
    """Days at which the level is sampled: 0, step, 2 step, ... before the horizon."""
    return np.arange(0.0, model.horizon, step)


def level_grid(model: Model, records: Sequence[RunRecord], step: float = GRID_STEP_DAYS) -> np.ndarray:
    """int8 matrix runs x grid days: the rung each run was on at the end of each grid day."""
    days = grid_days(model, step)
    grid = np.empty((len(records), len(days)), dtype=np.int8)
    for i, record in enumerate(records):
        change_days = np.fromiter((d for d, _ in record.level_path), np.float64)
        levels = np.fromiter((lv for _, lv in record.level_path), np.int8)
        idx = np.searchsorted(change_days, days + step, side="left") - 1  # last change before the day ends
        grid[i] = levels[np.maximum(idx, 0)]
    return grid


def trace_rows(model: Model, records: Sequence[RunRecord]) -> dict[str, list]:
    """Long table of the traces of the records that have one."""
    rows: dict[str, list] = {k: [] for k in ("run", "day", "date", "kind", "subject", "text", "cause")}
    for record in records:
        for e in record.trace or ():
            for key, value in zip(rows, (record.run, e.day, model.date_of(e.day).isoformat(), e.kind, e.subject,
                                         e.text, e.cause)):
                rows[key].append(value)
    return rows


def describe(model: Model) -> dict:
    """What a reader of the results needs to know about the model (stored in manifest.json)."""
    s = model.scenario
    return {
        "scenario": model.name, "title": s.title, "description": s.description,
        "start": model.start.isoformat(), "horizon_days": model.horizon,
        "rungs": model.rungs, "rung_labels": model.rung_labels, "start_level": model.start_level,
        "checkpoints": [{"name": name, "day": day} for name, day in model.checkpoints],
        "readable": model.readable, "labels": model.labels,
        "key_variables": [k for k, v in s.variables.items() if v.key],
        "outcomes": model.outcomes,
        "outcome_labels": {**{o.id: f"{o.actor}: {o.label}" for o in model.plans("options")},
                           **{ob.event: f"{ob.party}: {ob.label}"
                              for t in model.plans("treaties") for ob in t.obligations}},
    }
