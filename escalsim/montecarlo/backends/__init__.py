"""Where batches of runs are computed: one `Backend` protocol (base.py), one class per backend."""

from __future__ import annotations

from escalsim.montecarlo.backends.base import Backend, BackendError, available_cores
from escalsim.montecarlo.backends.dask import DaskBackend
from escalsim.montecarlo.backends.processes import ProcessBackend
from escalsim.montecarlo.backends.serial import SerialBackend

__all__ = ["Backend", "BackendError", "DaskBackend", "ProcessBackend", "SerialBackend", "available_cores",
           "backend_for"]


def backend_for(scheduler: str | None, workers: int | None) -> Backend:
    """The backend for a Dask scheduler address (or "local"), else a process pool of `workers` (default:
    every core this process may use), or this process alone for one worker."""
    if scheduler:
        return DaskBackend(scheduler, workers)
    workers = workers or available_cores()
    return SerialBackend() if workers == 1 else ProcessBackend(workers)
