"""RunRecords to columns: the runs table, the level on a day grid, and trace rows (plain numpy and lists)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from escalsim.engine import Model, RunRecord
from escalsim.manifest import ModelDescription
from escalsim.scenario.references import event_kinds

GRID_STEP_DAYS = 1.0


def column_names(model: Model) -> dict[str, str]:
    """Every column of runs.parquet with its numpy dtype, in order. Ids never hold dots, so names are unambiguous.

    Per track: `final.<track>` (with the other readable values) and `max.<track>`, rung indices. Per rung:
    `at_or_above.<rung>` (first day its track was at or above it), `entered.<rung>` (first day on it; NaN if
    never, e.g. passed over by a jump) and `cause.<rung>` (what put the track on it then). Per event (options,
    obligations, treaty steps and entry into force, casus foederis, deployments and their stages, flags):
    `event.<name>` (first day; NaN never; negative: before the start). Per option: `count.<option>`. Per value
    drawn at random once per run: `param.<name>` for a named parameter, `param.<path>` for one written in place
    (e.g. `param.options.seoul_sends_weapons.hazard.per_month`), as the file gives it (before any conversion)."""
    cols = {"run": "int64", "seed": "uint64", "events": "int64"}
    cols.update({f"max.{track.id}": "int16" for track in model.tracks})
    cols.update({f"at_or_above.{r}": "float64" for r in model.rungs})
    cols.update({f"entered.{r}": "float64" for r in model.rungs})
    cols.update({f"cause.{r}": "str" for r in model.rungs})
    for name, _day in model.checkpoints:
        cols.update({f"at.{name}.{v}": "float64" for v in model.readable})
    cols.update({f"final.{v}": "float64" for v in model.readable})
    cols.update({f"event.{e}": "float64" for e in model.events})
    cols.update({f"count.{o}": "int32" for o in model.options})
    cols.update({f"param.{p}": "float64" for p in model.param_columns})
    return cols


def columns(model: Model, records: Sequence[RunRecord]) -> dict[str, np.ndarray | list[str]]:
    """One array per column of `column_names` (strings as lists), rows in the order given."""
    n = len(records)
    out: dict[str, np.ndarray | list[str]] = {
        "run": np.fromiter((r.run for r in records), np.int64, n),
        "seed": np.fromiter((r.seed for r in records), np.uint64, n),
        "events": np.fromiter((r.events for r in records), np.int64, n),
    }
    _block(out, "max.{}", [track.id for track in model.tracks], [r.max_levels for r in records], np.int16)
    _block(out, "at_or_above.{}", model.rungs, [r.at_or_above for r in records], np.float64)
    _block(out, "entered.{}", model.rungs, [r.entered for r in records], np.float64)
    for k, rung in enumerate(model.rungs):
        out[f"cause.{rung}"] = [r.entered_cause[k] for r in records]
    for c, (name, _day) in enumerate(model.checkpoints):
        _block(out, f"at.{name}.{{}}", model.readable, [r.checkpoints[c] for r in records], np.float64)
    _block(out, "final.{}", model.readable, [r.final for r in records], np.float64)
    _block(out, "event.{}", model.events, [r.event_days for r in records], np.float64)
    _block(out, "count.{}", model.options, [r.fire_counts for r in records], np.int32)
    _block(out, "param.{}", model.param_columns, [r.params for r in records], np.float64)
    return out


def _block(out: dict, pattern: str, names: Sequence[str], rows: list[tuple], dtype) -> None:
    table = np.array(rows, dtype=dtype).reshape(len(rows), len(names))
    for j, name in enumerate(names):
        out[pattern.format(name)] = np.ascontiguousarray(table[:, j])


def grid_days(model: Model, step: float = GRID_STEP_DAYS) -> np.ndarray:
    """Days at which the level is sampled: 0, step, 2 step, ... before the horizon."""
    return np.arange(0.0, model.horizon, step)


def level_grid(model: Model, records: Sequence[RunRecord], step: float = GRID_STEP_DAYS) -> np.ndarray:
    """int8 array runs x tracks x grid days: the rung each track of each run was on at the end of each day."""
    days = grid_days(model, step)
    grid = np.empty((len(records), len(model.tracks), len(days)), dtype=np.int8)
    for i, record in enumerate(records):
        for t, path in enumerate(record.level_paths):
            change_days = np.fromiter((d for d, _ in path), np.float64)
            levels = np.fromiter((lv for _, lv in path), np.int8)
            idx = np.searchsorted(change_days, days + step, side="left") - 1  # last change before the day ends
            grid[i, t] = levels[np.maximum(idx, 0)]
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


def describe(model: Model) -> ModelDescription:
    """What a reader of the results needs to know about the model (stored in manifest.json)."""
    s = model.scenario
    specs = s.track_specs
    labels = {o.id: f"{o.actor}: {o.label}" for o in model.plans("options")}
    labels.update({ob.event: f"{ob.party}: {ob.label}" for t in model.plans("treaties") for ob in t.obligations})
    return {
        "scenario": model.name, "title": s.title, "description": s.description,
        "start": model.start.isoformat(), "horizon_days": model.horizon,
        "tracks": [{"id": track.id, "label": track.label, "kind": getattr(specs[track.id], "kind", None),
                    "rungs": track.rungs, "rung_labels": track.rung_labels, "start": track.start}
                   for track in model.tracks],
        "rungs": model.rungs, "rung_labels": model.rung_labels,
        "checkpoints": [{"name": name, "day": day} for name, day in model.checkpoints],
        "readable": model.readable, "labels": model.labels,
        "key_variables": [k for k, v in s.variables.items() if v.key],
        "event_names": model.events, "event_kinds": event_kinds(model.scenario),
        "param_columns": model.param_columns, "options": model.options,
        "outcomes": model.outcomes,
        "outcome_labels": labels,
        "event_labels": event_labels(model),
    }


def event_labels(model: Model) -> dict[str, str]:
    """A readable label for every event: 'Seoul: supplies weapons ...' for an option, 'Treaty: step' for a
    treaty step, '<deployment title>: first forces in <stage>' for a stage, the flag's id for a flag."""
    labels = {e: e for e in model.events}
    labels.update({o.id: f"{o.actor}: {o.label}" for o in model.plans("options")})
    for t in model.plans("treaties"):
        labels[t.id] = f"{t.label}: in force"
        labels[f"{t.id}.casus_foederis"] = f"{t.label}: casus foederis invoked"
        labels.update({st.event: f"{t.label}: {st.label}" for st in t.steps})
        labels.update({ob.event: f"{ob.party}: {ob.label}" for ob in t.obligations})
    for d in model.plans("deployments"):
        labels[d.id] = f"{d.title}: first forces arrive"
        labels.update({event: f"{d.title}: first forces in {name}" for event, (name, _, _) in
                       zip(d.stage_events, d.stages)})
    return labels
