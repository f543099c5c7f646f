"""Many runs of one scenario in batches: serially, on a local process pool or on Dask; nothing about files.

A backend is a context manager with `name`, `workers`, `started` and `map_ordered(fn, job, ranges)`, which
yields fn(job, start, stop) for each range, in order, with a bounded number of ranges in flight.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from escalsim import __version__
from escalsim.engine.core import Model, compile_model, simulate
from escalsim.montecarlo import records
from escalsim.scenario.schema import Scenario

MIN_BATCH, MAX_BATCH = 100, 1000     # per task: below ~100 runs pool overheads show; above 1000 progress is coarse
TASKS_PER_WORKER = 4                 # enough tasks to balance the load
IN_FLIGHT_PER_WORKER = 3             # tasks submitted ahead of the one awaited: memory stays flat
MAX_ATTEMPTS = 3                     # times a batch may be lost with a dead worker before giving up
DASK_CONNECT_TIMEOUT = 10.0          # seconds


class BackendError(RuntimeError):
    """A backend that cannot start or connect, or whose workers keep dying."""


@dataclass(frozen=True)
class Job:
    """What to run: a validated scenario and a seed; runs below `trace_runs` keep their traces."""

    scenario: Scenario
    seed: int
    trace_runs: int = 10
    grid_step: float = records.GRID_STEP_DAYS


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
    recs = [simulate(model, job.seed, i, trace=i < job.trace_runs) for i in range(start, stop)]
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


def run_many(job: Job, start: int, stop: int, backend, batch_size: int | None = None) -> Iterator[Batch]:
    """Yield the batches of runs [start, stop) strictly in run-index order, a bounded number in flight.

    The backend is started (and stopped at the end) here if it was not entered with `with` already.
    """
    if not 0 <= start <= stop:
        raise ValueError(f"bad run range [{start}, {stop})")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    return _batches(job, start, stop, backend, batch_size or auto_batch_size(stop - start, backend.workers))


def _batches(job: Job, start: int, stop: int, backend, size: int) -> Iterator[Batch]:
    if backend.started:
        yield from backend.map_ordered(run_batch, job, batch_ranges(start, stop, size))
    else:
        with backend:
            yield from backend.map_ordered(run_batch, job, batch_ranges(start, stop, size))


class SerialBackend:
    """Everything in this process, one batch after another."""

    name = "serial"
    workers = 1
    started = True

    def __enter__(self) -> SerialBackend:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def map_ordered(self, fn: Callable, job: Job, ranges: Iterator[tuple[int, int]]) -> Iterator[Batch]:
        for a, b in ranges:
            yield fn(job, a, b)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which cancels the work and stops them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while starting processes that should leave it to this one (main thread only)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: leave the signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class ProcessBackend:
    """A local process pool; a pool broken by a dead worker is replaced and its unfinished batches resubmitted."""

    name = "processes"

    def __init__(self, workers: int | None = None, start_method: str | None = None):
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers or available_cores()
        self.context = multiprocessing.get_context(start_method)  # ValueError for an unknown method
        self.start_method = self.context.get_start_method()
        self.restarts = 0            # pools replaced after a worker died
        self._pool: ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        return self._pool is not None

    def __enter__(self) -> ProcessBackend:
        if self._pool is None:
            self._pool = self._new_pool()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop(kill=exc_type is not None)

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=self.context, initializer=_ignore_sigint)

    def _stop(self, kill: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        if kill:  # interrupted or failed: do not wait for batches nobody will read
            for p in processes:
                p.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
        for p in processes:
            p.join()

    def map_ordered(self, fn: Callable, job: Job, ranges: Iterator[tuple[int, int]]) -> Iterator[Batch]:
        if self._pool is None:
            raise BackendError("start the ProcessBackend first: `with ProcessBackend() as backend: ...`")
        window: deque[list] = deque()          # [range, future, attempts], in run-index order
        limit = max(2, IN_FLIGHT_PER_WORKER * self.workers)
        try:
            while True:
                while len(window) < limit and (r := next(ranges, None)) is not None:
                    window.append([r, self._submit(fn, job, r), 1])
                if not window:
                    return
                try:
                    batch = window[0][1].result()
                except BrokenProcessPool:
                    self._replace_pool(fn, job, window)
                    continue
                window.popleft()
                yield batch
        finally:
            for _r, future, _n in window:
                future.cancel()

    def _submit(self, fn: Callable, job: Job, r: tuple[int, int]) -> Future:
        try:
            return self._pool.submit(fn, job, *r)
        except BrokenProcessPool as exc:  # broke since the last result: fail like the tasks already in it
            future: Future = Future()
            future.set_exception(exc)
            return future

    def _replace_pool(self, fn: Callable, job: Job, window: deque) -> None:
        """A worker died: all unfinished futures of the pool fail; run them again on a fresh pool."""
        lost = [entry for entry in window if not _done_without_error(entry[1])]
        for (a, b), _future, attempts in lost:
            if attempts >= MAX_ATTEMPTS:
                raise BackendError(
                    f"worker processes died {attempts} times while runs {a} to {b - 1} were in progress "
                    "(killed by the system, e.g. out of memory?); giving up")
        self._stop(kill=True)
        self._pool = self._new_pool()
        self.restarts += 1
        for entry in lost:
            entry[1:] = [self._submit(fn, job, entry[0]), entry[2] + 1]


def _done_without_error(future: Future) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


def _escalsim_version() -> str:
    from escalsim import __version__ as version

    return version


def _check_address(address: str) -> None:
    """A malformed address is refused before Client sees it: some (tcp://host:notaport) hang its connection."""
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except ValueError as exc:
        raise BackendError(f"{address!r} is not a Dask scheduler address ({exc}); a scheduler's address looks "
                           "like tcp://host:8786, or use 'local'") from None


class DaskBackend:
    """A dask.distributed cluster: "local" starts a LocalCluster of processes, else a scheduler address."""

    name = "dask"
    RETRIES = 2           # task exceptions retried; lost workers are handled by the scheduler (allowed-failures)

    def __init__(self, address: str, workers: int | None = None, timeout: float = DASK_CONNECT_TIMEOUT):
        self.address = address
        self.timeout = timeout
        self.workers = workers or available_cores()  # a LocalCluster: a worker per core, like the process pool
        self.client = None
        self.cluster = None

    @property
    def started(self) -> bool:
        return self.client is not None

    def __enter__(self) -> DaskBackend:
        if self.client is None:
            self._start()
        return self

    def _start(self) -> None:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise BackendError("the Dask backend needs dask.distributed: pip install 'escalsim[dask]'") from exc
        try:
            if self.address == "local":
                with _sigint_ignored():  # the workers inherit it: Ctrl-C is for this process, which stops them
                    self.cluster = LocalCluster(n_workers=self.workers, processes=True, threads_per_worker=1,
                                                dashboard_address=":0")  # any free port: 8787 may be taken
                self.client = Client(self.cluster)
            else:
                _check_address(self.address)
                try:
                    self.client = Client(self.address, timeout=self.timeout)
                except (OSError, TimeoutError) as exc:
                    raise BackendError(f"could not reach the Dask scheduler at {self.address} within "
                                       f"{self.timeout:g} s: {exc}") from None
                except Exception as exc:  # a malformed address, or a server that does not speak Dask
                    raise BackendError(f"could not connect to a Dask scheduler at {self.address} "
                                       f"({type(exc).__name__}: {exc}); a scheduler's address looks like "
                                       "tcp://host:8786") from None
                try:  # a scheduler without workers would take the runs and never run them
                    self.client.wait_for_workers(1, timeout=self.timeout)
                except (OSError, TimeoutError):
                    raise BackendError(f"the Dask scheduler at {self.address} has no workers (waited "
                                       f"{self.timeout:g} s); start some with: dask worker {self.address}") from None
                self.workers = sum(self.client.nthreads().values()) or 1
            self._check_workers()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _check_workers(self) -> None:
        """Every worker must run this escalsim version, or the runs would not be the same bit for bit."""
        try:
            versions = self.client.run(_escalsim_version)
        except ImportError as exc:
            raise BackendError(f"the Dask workers at {self.address} cannot import escalsim ({exc}); "
                               f"install escalsim {__version__} on them") from None
        wrong = {w: v for w, v in versions.items() if v != __version__}
        if wrong:
            raise BackendError(f"Dask workers run other escalsim versions than {__version__}: {wrong}")

    def __exit__(self, *exc) -> None:
        client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def map_ordered(self, fn: Callable, job: Job, ranges: Iterator[tuple[int, int]]) -> Iterator[Batch]:
        if self.client is None:
            raise BackendError("start the DaskBackend first: `with DaskBackend(address) as backend: ...`")
        from distributed import KilledWorker

        window: deque = deque()
        limit = max(2, IN_FLIGHT_PER_WORKER * self.workers)
        try:
            while True:
                while len(window) < limit and (r := next(ranges, None)) is not None:
                    window.append((r, self.client.submit(fn, job, *r, pure=False, retries=self.RETRIES)))
                if not window:
                    return
                (a, b), future = window[0]
                try:
                    batch = future.result()
                except KilledWorker as exc:
                    raise BackendError(f"Dask workers kept dying while running runs {a} to {b - 1}: {exc}") from None
                window.popleft()
                future.release()
                yield batch
        finally:
            if window and self.client is not None:
                self.client.cancel([f for _r, f in window])
