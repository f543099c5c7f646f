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
