"""Results built in memory from real simulations, shaped like escalsim's Results (results format 2), for tests and
plot development."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import escalsim
from escalsim.engine.core import compile_model, simulate
from escalsim.montecarlo import records
from escalsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parent.parent / "scenarios"
MINIMAL = SCENARIOS / "minimal.yaml"
DPRK = SCENARIOS / "dprk_russia_2024.yaml"


@dataclass
class StandInResults:
    """The fields of escalsim.montecarlo.results.Results that the plots read (if that class cannot be used)."""

    directory: Path
    manifest: dict
    runs: pd.DataFrame
    levels: pd.DataFrame
    traces: pd.DataFrame


def build_results(scenario: Path = MINIMAL, runs: int = 300, seed: int = 2024, trace_runs: int = 10,
                  directory: Path | None = None, step: float = records.GRID_STEP_DAYS):
    """Simulate `runs` runs of a scenario file (the first `trace_runs` traced) and assemble their tables."""
    model = compile_model(load_scenario(scenario))
    recs = [simulate(model, seed, i, trace=i < trace_runs) for i in range(runs)]
    dtypes = records.column_names(model)
    cols = records.columns(model, recs)
    table = pd.DataFrame({k: pd.Series(cols[k], dtype=object if dtypes[k] == "str" else dtypes[k]) for k in dtypes})
    grid = records.level_grid(model, recs, step)  # runs x tracks x days: one row per run and track, as stored
    runs_n, tracks_n, days_n = grid.shape
    levels = pd.DataFrame({"run": np.repeat(table["run"].to_numpy(), tracks_n),
                           "track": np.tile([t.id for t in model.tracks], runs_n)})
    levels = pd.concat([levels, pd.DataFrame(grid.reshape(runs_n * tracks_n, days_n),
                                             columns=[f"d{j}" for j in range(days_n)])], axis=1)
    traces = pd.DataFrame(records.trace_rows(model, recs))
    manifest = records.describe(model) | {"seed": seed, "runs": runs, "version": escalsim.__version__,
                                          "grid_step": step, "trace_runs": min(trace_runs, runs)}
    fields = dict(directory=Path(directory or f"/nonexistent/{model.name}"), manifest=manifest, runs=table,
                  levels=levels, traces=traces)
    try:
        from escalsim.montecarlo.results import Results
        return Results(**fields)
    except (ImportError, TypeError):  # not there yet, or it needs fields the plots do not read
        return StandInResults(**fields)


def level_matrix(results, track: str | None = None) -> np.ndarray:
    """One track's rows of the levels table (None: the first track) as an int matrix (runs x grid days)."""
    levels = results.levels
    levels = levels[levels["track"] == (track or results.manifest["tracks"][0]["id"])]
    cols = sorted((c for c in levels.columns if c not in ("run", "track")), key=lambda c: int(c[1:]))
    return levels[cols].to_numpy()
