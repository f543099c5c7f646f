"""escalsim: escalation scenarios as discrete-event Monte Carlo models.

    import escalsim
    scenario = escalsim.load_scenario("scenarios/minimal.yaml", overrides=["options.b_mobilises.probability=0.8"])
    record = escalsim.simulate(escalsim.compile_model(scenario), seed=1, trace=True)   # one run
    results = escalsim.load_results(escalsim.run(scenario, "results/demo", escalsim.Settings(runs=2000)))
    escalsim.plots.fan_chart(results)
"""

from __future__ import annotations

import importlib

from escalsim import _startup  # noqa: F401  (first: Ctrl-C while the `escalsim` program starts; see there)

#: The package version: setup.cfg reads it, results manifests record it, Dask workers must match it.
__version__ = "0.2.0"

_EXPORTS = {
    "load_scenario": "escalsim.scenario.loader", "ScenarioError": "escalsim.errors",
    "compile_model": "escalsim.engine", "simulate": "escalsim.engine",
    "Injection": "escalsim.scenario.moves", "Block": "escalsim.scenario.moves",
    "run": "escalsim.montecarlo.runs", "resume": "escalsim.montecarlo.runs", "Settings": "escalsim.montecarlo.runs",
    "load_results": "escalsim.montecarlo.results", "open_results": "escalsim.montecarlo.results",
    "Results": "escalsim.montecarlo.results",
    "compare_arms": "escalsim.montecarlo.compare", "compare_results": "escalsim.outputs.comparison",
}
_SUBMODULES = {"plots": "escalsim.outputs.plots", "analysis": "escalsim.outputs.analysis",
               "report": "escalsim.outputs.report", "tables": "escalsim.outputs.tables",
               "story": "escalsim.engine.story"}

__all__ = sorted(_EXPORTS) + sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name: str):
    """Import on first use, so that `escalsim validate` does not pay for pandas, pyarrow and matplotlib."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(_SUBMODULES[name])
    raise AttributeError(f"module 'escalsim' has no attribute {name!r}")
