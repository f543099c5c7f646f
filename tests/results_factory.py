"""Results built in memory from real simulations, shaped like escalsim.store.Results, for tests and plot development."""

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
    """The fields of escalsim.store.Results that the plots read (used until store.py exists)."""

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
    grid = records.level_grid(model, recs, step)
    levels = pd.DataFrame({"run": table["run"].to_numpy()})
    levels = pd.concat([levels, pd.DataFrame(grid, columns=[f"d{j}" for j in range(grid.shape[1])])], axis=1)
    traces = pd.DataFrame(records.trace_rows(model, recs))
    manifest = records.describe(model) | {"seed": seed, "runs": runs, "version": escalsim.__version__,
                                          "grid_step": step, "trace_runs": min(trace_runs, runs)}
    fields = dict(directory=Path(directory or f"/nonexistent/{model.name}"), manifest=manifest, runs=table,
                  levels=levels, traces=traces)
    try:
        from escalsim.montecarlo.store import Results  # the real class once store.py lands
        return Results(**fields)
    except (ImportError, TypeError):  # not there yet, or it needs fields the plots do not read
        return StandInResults(**fields)


def level_matrix(results) -> np.ndarray:
    """The levels table as an int matrix (runs x grid days)."""
    cols = sorted((c for c in results.levels.columns if c != "run"), key=lambda c: int(c[1:]))
    return results.levels[cols].to_numpy()
