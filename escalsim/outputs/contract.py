"""What the outputs read from a results object, checked in one place.

A results object has `runs`, `levels` and `traces` DataFrames and a `manifest` dict (escalsim's Results, or
anything shaped like it); the keys the figures need are those of `records.describe(model)`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

CONTRACT = ("scenario", "title", "start", "horizon_days", "rungs", "rung_labels", "start_level", "checkpoints",
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


def level_grid(results) -> tuple[np.ndarray, np.ndarray]:
    """The level grid as an int matrix (runs x grid days) and the grid's days (from the manifest's grid_step).

    Raises ValueError if the results hold no level grid.
    """
    cols = sorted((c for c in results.levels.columns if re.fullmatch(r"d\d+", c)), key=lambda c: int(c[1:]))
    if not cols or results.levels.empty:
        raise ValueError("the results hold no level grid")
    step = float(results.manifest.get("grid_step", 1.0))
    return results.levels[cols].to_numpy(dtype=np.int16), np.arange(len(cols)) * step


def key_variables(manifest: dict) -> list[str]:
    """The variables the scenario marks `key`, or else the first four readable ones (never the level).

    Raises KeyError if the manifest has neither 'key_variables' nor 'readable'.
    """
    return manifest.get("key_variables") or [v for v in manifest["readable"] if v != "level"][:4]


def text_column(column: pd.Series) -> pd.Series:
    """A column of strings ('' for missing), whether stored as objects, strings or categories (Parquet)."""
    return column.astype(object).where(column.notna(), "").astype(str)
