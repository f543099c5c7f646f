"""What the outputs read from a results object, checked in one place.

A results object has `runs`, `levels` and `traces` tables and a `manifest` dict (escalsim's Results, or
anything shaped like it); the keys the figures need are those of `records.describe(model)` (results format 2:
escalation tracks, each an ordered ladder of rungs; `levels` holds one row per run and track). A table is a
DataFrame, or anything that gives a column by name (`runs["event.x"]`) and its length, like
`escalsim.parquet_table.ParquetTable`; a table with `batches()` is read a row group at a time where the whole
would grow with the run count (the level grid: `level_counts`, `level_rows`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pandas as pd

CONTRACT = ("scenario", "title", "start", "horizon_days", "tracks", "rungs", "rung_labels", "checkpoints",
            "readable", "labels")  # manifest keys the figures read (records.describe), plus seed and runs


def check_results(results) -> int:
    """The number of runs, after checking that the manifest has what the figures read.

    Raises ValueError naming the missing manifest keys, or saying that the results hold no runs.
    """
    missing = [k for k in CONTRACT if k not in results.manifest]
    if missing:
        raise ValueError(f"the results manifest lacks {', '.join(missing)} (the keys of records.describe(model))")
    n = len(results.runs)
    if n == 0:
        raise ValueError("the results hold no runs")
    return n


def track_of(manifest: dict, track: str | None = None) -> dict:
    """A track of the manifest (id, label, rungs, rung_labels, start: the index of its starting rung); None: the
    first. Raises ValueError naming the tracks for an unknown id."""
    tracks = {t["id"]: t for t in manifest["tracks"]}
    if track is None:
        return manifest["tracks"][0]
    if track not in tracks:
        raise ValueError(f"unknown track {track!r}; the results hold: {', '.join(tracks)}")
    return tracks[track]


def above_start(track: dict) -> list[int]:
    """The indices (in the track) of the rungs above the track's starting rung."""
    return list(range(track["start"] + 1, len(track["rungs"])))


def shown_rungs(manifest: dict) -> list[tuple[str, str]]:
    """(rung id, label) of every rung above its track's start, track by track; with several tracks each label
    begins with its track's label ('Widening: W2')."""
    prefix = len(manifest["tracks"]) > 1
    return [(t["rungs"][k], f"{t.get('label') or t['id']}: {t['rung_labels'][k]}" if prefix else t["rung_labels"][k])
            for t in manifest["tracks"] for k in above_start(t)]


def track_levels(results, track: str | None = None) -> pd.DataFrame:
    """The rows of `results.levels` of one track (None: the first), one per run, in the order stored.

    Raises ValueError for an unknown track or if the results hold no level grid for it.
    """
    t = track_of(results.manifest, track)
    levels = results.levels
    if "track" in levels.columns:
        levels = levels[levels["track"].astype(str).to_numpy() == t["id"]]
    if levels.empty:
        raise ValueError(f"the results hold no level grid for track {t['id']!r}")
    return levels


def level_grid(results, track: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One track's level grid (None: the first track) as an int matrix (runs x grid days) of rung indices in the
    track, and the grid's days (from the manifest's grid_step).

    Raises ValueError for an unknown track or if the results hold no level grid.
    """
    levels = track_levels(results, track)
    cols = sorted((c for c in levels.columns if re.fullmatch(r"d\d+", c)), key=lambda c: int(c[1:]))
    if not cols:
        raise ValueError("the results hold no level grid")
    step = float(results.manifest.get("grid_step", 1.0))
    return levels[cols].to_numpy(dtype=np.int16), np.arange(len(cols)) * step


def _levels_batches(results) -> Iterator[pd.DataFrame]:
    """The levels table one part at a time: its row groups if it streams them, else the whole DataFrame."""
    levels = results.levels
    yield from (levels.batches() if hasattr(levels, "batches") else [levels])


def _day_columns(columns) -> list[str]:
    return sorted((c for c in columns if re.fullmatch(r"d\d+", c)), key=lambda c: int(c[1:]))


def _track_rows(batch: pd.DataFrame, track_id: str, first: bool) -> pd.DataFrame:
    """The rows of a levels batch that belong to a track (all of them if the table has no track column and the
    track is the first)."""
    if "track" not in batch.columns:
        return batch if first else batch.iloc[:0]
    return batch[batch["track"].astype(str).to_numpy() == track_id]


def level_counts(results, track: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """How many runs were on each rung of a track (None: the first) at the end of each grid day, and the grid's
    days: an int64 matrix (grid days x rungs of the track) and the days (from the manifest's grid_step).

    The level is a rung index, so these counts say exactly what the level grid says of the runs as a whole
    (shares by rung, quantiles) in memory that does not grow with the run count: the levels table is read a row
    group at a time, once for every track (the counts are kept on the results object).

    Raises ValueError for an unknown track or if the results hold no level grid for it.
    """
    t = track_of(results.manifest, track)
    cache = getattr(results, "_escalsim_level_counts", None)
    if cache is None or cache[0] is not results.levels:
        cache = (results.levels, _count_levels(results))
        try:
            results._escalsim_level_counts = cache
        except AttributeError:  # a results object that takes no new attribute: count again next time
            pass
    counts, days = cache[1]
    if t["id"] not in counts or not counts[t["id"]].sum():
        raise ValueError(f"the results hold no level grid for track {t['id']!r}")
    return counts[t["id"]], days


SLICE = 4_096  # level rows turned into integers at a time by `level_counts`


def _count_levels(results) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per track, the runs on each rung at the end of each grid day (one pass over the levels table)."""
    tracks = results.manifest["tracks"]
    counts: dict[str, np.ndarray] = {}
    cols: list[str] = []
    for batch in _levels_batches(results):
        cols = cols or _day_columns(batch.columns)
        if not cols:
            raise ValueError("the results hold no level grid")
        for i, t in enumerate(tracks):
            rungs = len(t["rungs"])
            rows = _track_rows(batch, t["id"], i == 0)[cols]
            offsets = np.arange(len(cols), dtype=np.int32) * rungs  # day j, rung r -> j * rungs + r
            for start in range(0, len(rows), SLICE):  # a few MB at a time, whatever the row group's size
                grid = rows.iloc[start:start + SLICE].to_numpy(dtype=np.int32)
                if grid.min() < 0 or grid.max() >= rungs:
                    raise ValueError(f"the level grid of track {t['id']!r} holds rung indices outside 0 to {rungs - 1}")
                add = np.bincount((grid + offsets).ravel(), minlength=len(cols) * rungs).reshape(len(cols), rungs)
                counts[t["id"]] = counts[t["id"]] + add if t["id"] in counts else add
    step = float(results.manifest.get("grid_step", 1.0))
    return counts, np.arange(len(cols)) * step


def level_rows(results, positions, track: str | None = None) -> np.ndarray:
    """The level grid rows at the given positions among a track's rows (in the order stored; None: the first
    track), as an int16 matrix (positions x grid days), reading the levels table a row group at a time.

    Raises ValueError for an unknown track, or a position beyond the track's rows.
    """
    t = track_of(results.manifest, track)
    first = t["id"] == results.manifest["tracks"][0]["id"]
    wanted = np.asarray(positions, dtype=np.int64)
    rows: dict[int, np.ndarray] = {}
    seen = 0
    for batch in _levels_batches(results):
        part = _track_rows(batch, t["id"], first)
        inside = wanted[(wanted >= seen) & (wanted < seen + len(part))]
        if len(inside):
            grid = part[_day_columns(part.columns)].to_numpy(dtype=np.int16)
            rows.update({int(p): grid[p - seen] for p in inside})
        seen += len(part)
    missing = [int(p) for p in wanted if int(p) not in rows]
    if missing:
        raise ValueError(f"the results hold {seen} level rows for track {t['id']!r}; no row {missing[0]}")
    if not len(wanted):
        return np.empty((0, 0), dtype=np.int16)
    return np.array([rows[int(p)] for p in wanted], dtype=np.int16)


def run_position(results, run: int, track: str | None = None) -> int:
    """The position of a run among a track's rows of the levels table (None: the first track). Raises ValueError if
    the run has no row."""
    t = track_of(results.manifest, track)
    first = t["id"] == results.manifest["tracks"][0]["id"]
    seen = 0
    for batch in _levels_batches(results):
        part = _track_rows(batch, t["id"], first)
        hit = np.flatnonzero(part["run"].to_numpy() == run)
        if len(hit):
            return seen + int(hit[0])
        seen += len(part)
    raise ValueError(f"run {run} has no row in the level grid of track {t['id']!r}")


def quantiles_from_counts(counts: np.ndarray, q) -> np.ndarray:
    """The q-quantiles (numpy's default, linear interpolation between order statistics) of integer values given as
    counts: `counts[j, r]` values equal to r in row j; returns one row per q. The same numbers as `np.quantile` of
    the values themselves, from the counts alone."""
    n = counts.sum(axis=1)
    cum = np.cumsum(counts, axis=1)
    out = []
    for quantile in np.atleast_1d(q):
        pos = quantile * (n - 1)
        below = np.floor(pos).astype(np.int64)
        frac = pos - below
        a = _order_statistic(cum, below)
        b = _order_statistic(cum, np.minimum(below + 1, n - 1))
        diff = b - a
        out.append(np.where(frac >= 0.5, b - diff * (1 - frac), a + diff * frac))  # numpy's own lerp
    return np.array(out, dtype=float)


def _order_statistic(cum: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The k-th smallest value (0-based) of each row, from the row's cumulative counts by value."""
    return (cum <= k[:, None]).sum(axis=1).astype(float)


def key_variables(manifest: dict) -> list[str]:
    """The variables the scenario marks `key`, or else the first four readable ones (never a track's level).

    Raises KeyError if the manifest has neither 'key_variables' nor 'readable'.
    """
    tracks = {t["id"] for t in manifest.get("tracks", [])} | {"level"}
    return manifest.get("key_variables") or [v for v in manifest["readable"] if v not in tracks][:4]


EVENT_KINDS = ("option", "obligation", "treaty", "casus_foederis", "flag", "step", "deployment", "stage")
MAIN_KINDS = ("option", "obligation", "treaty", "casus_foederis", "flag")  # the events users ask about


def event_kinds(manifest: dict) -> dict[str, str]:
    """The kind of every event of the manifest's 'event_names', in that order: 'option', 'obligation' (a treaty
    obligation honoured), 'treaty' (in force), 'casus_foederis', 'flag', 'step' (a treaty's step), 'deployment'
    (its first batch) or 'stage' (a deployment's first forces in a stage).

    Taken from the manifest's 'event_kinds' if it has them, else read from the names: options are listed, an
    obligation is an outcome that is no option, a treaty is the name before '.casus_foederis', a deployment a
    name with stages ('<deployment>.<stage>') or labelled '...: first forces arrive', and the rest are flags.
    Raises KeyError if the manifest has no 'event_names'.
    """
    names = manifest["event_names"]
    given = manifest.get("event_kinds")
    if given:
        return {e: given.get(e, "flag") for e in names}
    options, outcomes = set(manifest.get("options", [])), set(manifest.get("outcomes", []))
    labels = manifest.get("event_labels", {})
    treaties = {e.removesuffix(".casus_foederis") for e in names if e.endswith(".casus_foederis")}
    parents = {e.split(".", 1)[0] for e in names if "." in e}
    kinds = {}
    for e in names:
        head = e.split(".", 1)[0]
        if e in options:
            kinds[e] = "option"
        elif e in outcomes and e not in options:
            kinds[e] = "obligation"
        elif e in treaties:
            kinds[e] = "treaty"
        elif head in treaties:
            kinds[e] = "casus_foederis" if e == f"{head}.casus_foederis" else "step"
        elif "." in e:
            kinds[e] = "stage"
        elif e in parents or labels.get(e, "").endswith(": first forces arrive"):
            kinds[e] = "deployment"
        else:
            kinds[e] = "flag"
    return kinds


def main_events(manifest: dict) -> list[str]:
    """The events users ask about, in the manifest's order: options fired, obligations honoured, treaties in
    force, casus foederis invoked and flags set (not treaty steps, deployments or their stages)."""
    return [e for e, kind in event_kinds(manifest).items() if kind in MAIN_KINDS]


def text_column(column: pd.Series) -> pd.Series:
    """A column of strings ('' for missing), whether stored as objects, strings or categories (Parquet)."""
    return column.astype(object).where(column.notna(), "").astype(str)


def text_counts(column: pd.Series, rows: np.ndarray) -> dict[str, int]:
    """How many of the rows selected (a boolean mask) hold each string of the column ('' for missing): what
    `text_column(column)[rows].value_counts()` says, strings no row holds left out. A categorical column (a
    Parquet dictionary, as the runs table stores text) is counted on its integer codes, without a string object
    per run (text_column makes two or three arrays of a million Python objects for a million runs)."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return {str(c): int(k) for c, k in text_column(column)[rows].value_counts().items()}
    codes = np.asarray(column.cat.codes)[rows].astype(np.int64) + 1  # 0: missing
    found = np.bincount(codes, minlength=len(column.cat.categories) + 1)
    counts: dict[str, int] = {}
    for label, k in zip([""] + [str(c) for c in column.cat.categories], found.tolist()):
        if k:
            counts[label] = counts.get(label, 0) + k
    return counts
