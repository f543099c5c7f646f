"""A job's runs cut into batches, simulated on a backend (`backends`) and yielded in run order; nothing about
files."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from escalsim.engine import Model, compile_model, simulate
from escalsim.engine.core import check_moves
from escalsim.montecarlo import records
from escalsim.montecarlo.backends import Backend
from escalsim.scenario.moves import Block, Injection
from escalsim.scenario.schema import Scenario

MIN_BATCH, MAX_BATCH = 100, 1000     # per task: below ~100 runs pool overheads show; above 1000 progress is coarse
TASKS_PER_WORKER = 4                 # enough tasks to balance the load

@dataclass(frozen=True)
class Job:
    """What to run: a validated scenario, a seed and the moves (injected decisions, blocks) made in every run;
    runs below `trace_runs` keep their traces."""

    scenario: Scenario
    seed: int
    trace_runs: int = 10
    grid_step: float = records.GRID_STEP_DAYS
    injections: tuple[Injection, ...] = ()
    blocks: tuple[Block, ...] = ()


@dataclass
class Batch:
    """The results of runs [start, stop), in run-index order."""

    start: int
    stop: int
    columns: dict          # records.columns(...)
    grid: np.ndarray       # records.level_grid(...): int8, runs x grid days
    traces: dict           # records.trace_rows(...): empty lists when no run of the batch is traced
    events: int            # total SimPy events

    def __len__(self) -> int:
        return self.stop - self.start


_MODELS: dict[str, Model] = {}       # compiled models of this process, by scenario hash
_MODEL_CACHE_SIZE = 8


def model_of(scenario: Scenario) -> Model:
    """The compiled model of a scenario, compiled once per process."""
    key = hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()
    model = _MODELS.get(key)
    if model is None:
        if len(_MODELS) >= _MODEL_CACHE_SIZE:
            _MODELS.pop(next(iter(_MODELS)))
        model = _MODELS[key] = compile_model(scenario)
    return model


def run_batch(job: Job, start: int, stop: int) -> Batch:
    """Simulate runs [start, stop) of the job; runs in worker processes."""
    model = model_of(job.scenario)
    check_moves(model, job.injections, job.blocks)  # once for the batch, not in each run
    recs = [simulate(model, job.seed, i, job.injections, i < job.trace_runs, job.blocks, checked=True)
            for i in range(start, stop)]
    return Batch(start=start, stop=stop, columns=records.columns(model, recs),
                 grid=records.level_grid(model, recs, job.grid_step), traces=records.trace_rows(model, recs),
                 events=sum(r.events for r in recs))


def auto_batch_size(runs: int, workers: int) -> int:
    """Runs per task: about TASKS_PER_WORKER tasks per worker, kept within [MIN_BATCH, MAX_BATCH]."""
    share = math.ceil(max(runs, 1) / (TASKS_PER_WORKER * max(workers, 1)))
    return max(1, min(max(share, MIN_BATCH), MAX_BATCH, max(runs, 1)))


def batch_ranges(start: int, stop: int, size: int) -> Iterator[tuple[int, int]]:
    """[start, stop) cut into consecutive ranges of `size` runs (the last may be shorter)."""
    for a in range(start, stop, size):
        yield a, min(a + size, stop)


def run_many(job: Job, start: int, stop: int, backend: Backend, batch_size: int | None = None) -> Iterator[Batch]:
    """Yield the batches of runs [start, stop) strictly in run-index order, a bounded number in flight.

    The backend is started (and stopped at the end) here if it was not entered with `with` already.
    Raises ValueError at once for a bad range or batch_size; while iterating, what the backend raises
    (BackendError).
    """
    if not 0 <= start <= stop:
        raise ValueError(f"bad run range [{start}, {stop})")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    return _batches(job, start, stop, backend, batch_size or auto_batch_size(stop - start, backend.workers))


def _batches(job: Job, start: int, stop: int, backend: Backend, size: int) -> Iterator[Batch]:
    if backend.started:
        yield from backend.map_ordered(run_batch, job, batch_ranges(start, stop, size))
    else:
        with backend:
            yield from backend.map_ordered(run_batch, job, batch_ranges(start, stop, size))
