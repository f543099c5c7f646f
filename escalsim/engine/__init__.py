"""One seeded run of a scenario: `compile_model` plans every element once, `simulate` runs it in SimPy.

`core` holds the Model and the run; `world` the state of one run; one module per scenario element, named after
its section of the file (`deployments`, `observations`, `options`, `treaties`, `ladder`), registered in
`elements`; `effects` what options and obligations do; `story` a run told in words. The engine reads and writes
no files and imports nothing from the Monte Carlo or the outputs.
"""

from escalsim.engine.core import InjectionError, Model, compile_model, simulate
from escalsim.engine.record import RunRecord, TraceEvent

__all__ = ["InjectionError", "Model", "RunRecord", "TraceEvent", "compile_model", "simulate"]
