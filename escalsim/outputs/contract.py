"""What the outputs read from a results object, checked in one place.

A results object has `runs`, `levels` and `traces` DataFrames and a `manifest` dict (escalsim's Results, or
anything shaped like it); the keys the figures need are those of `records.describe(model)` (results format 2:
escalation tracks, each an ordered ladder of rungs; `levels` holds one row per run and track).
"""

from __future__ import annotations

import re

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


def key_variables(manifest: dict) -> list[str]:
    """The variables the scenario marks `key`, or else the first four readable ones (never a track's level).

    Raises KeyError if the manifest has neither 'key_variables' nor 'readable'.
    """
    tracks = {t["id"] for t in manifest.get("tracks", [])} | {"level"}
    return manifest.get("key_variables") or [v for v in manifest["readable"] if v not in tracks][:4]


def text_column(column: pd.Series) -> pd.Series:
    """A column of strings ('' for missing), whether stored as objects, strings or categories (Parquet)."""
    return column.astype(object).where(column.notna(), "").astype(str)
