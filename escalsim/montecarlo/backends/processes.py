"""The local process pool backend: a pool broken by a dead worker is replaced and its lost batches resubmitted."""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from escalsim.montecarlo.backends.base import Backend, BackendError, available_cores, in_order, window_limit

MAX_ATTEMPTS = 3                     # times a batch may be lost with a dead worker before giving up
KILL_AFTER = 10.0                    # seconds a terminated worker has to end before it is killed (SIGKILL)


def worker_signals() -> None:
    """A worker's signals: Ctrl-C is left to the parent, which cancels the work and stops the workers; SIGTERM
    ends the worker, whatever handler the parent had when it forked it (a test runner's or a library's: a
    worker that inherited a handler which does not exit kept `terminate` from stopping it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _terminated(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM while a pool runs: stop as after Ctrl-C (see ProcessBackend.start)


def _forget_cancelled(pool: ProcessPoolExecutor) -> None:
    """Before a pool's workers are killed: give each work item whose future we cancelled a fresh future in its
    place. Killed workers make the pool's manager thread set BrokenProcessPool on every item it still holds, and
    on a cancelled future that raises InvalidStateError in that thread, printed as "Exception in thread"
    (CPython before 3.12); the fresh futures take the error, and nobody waits for them."""
    for item in list(getattr(pool, "_pending_work_items", {}).values()):  # list(): one step, under the GIL
        if item.future.cancelled():
            item.future = Future()


class ProcessBackend(Backend):
    """A local process pool of `workers` processes (default: every core this process may use), started with
    `start_method` (fork, spawn, forkserver; default: the platform's)."""

    name = "processes"

    def __init__(self, workers: int | None = None, start_method: str | None = None):
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers or available_cores()
        self.context = multiprocessing.get_context(start_method)  # ValueError for an unknown method
        self.start_method = self.context.get_start_method()
        self.restarts = 0            # pools replaced after a worker died
        self._pool: ProcessPoolExecutor | None = None
        self._sigterm = None  # SIGTERM's handler before `start` took it over, while the pool runs

    @property
    def started(self) -> bool:
        """Whether the pool exists."""
        return self._pool is not None

    def start(self) -> None:
        """Start a pool of `workers` processes. Until `stop`, a SIGTERM to this process (`kill PID`, a supervisor
        stopping it) is taken as Ctrl-C when it would otherwise end the process at once: the pool is then stopped
        and its workers with it, instead of being left blocked, sending batches nobody reads."""
        self._pool = ProcessPoolExecutor(self.workers, mp_context=self.context, initializer=worker_signals)
        if threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            self._sigterm = signal.signal(signal.SIGTERM, _terminated)

    def stop(self, kill: bool) -> None:
        """Shut the pool down, cancelling queued batches; `kill` terminates the workers first."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if self._sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._sigterm)
            self._sigterm = None
        processes = list((getattr(pool, "_processes", None) or {}).values())
        if kill:  # interrupted or failed: do not wait for batches nobody will read
            _forget_cancelled(pool)
            for p in processes:
                p.terminate()
            for p in processes:
                p.join(KILL_AFTER)
                if p.is_alive():  # SIGTERM handled and ignored by the batch's own code: no worker is left behind
                    p.kill()
                    p.join()
            # A worker stopped while it sent a batch leaves half a message in the result pipe, and the pool's
            # manager thread waiting for the rest for ever (shutdown then never returns). With every worker
            # gone, ours is the last end that writes to that pipe: closed, the thread reads the pipe's end,
            # takes the pool for broken and cleans it up.
            writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
            if writer is not None:
                writer.close()
        pool.shutdown(wait=True, cancel_futures=True)
        for p in processes:
            p.join()

    def map_ordered(self, fn: Callable, job: Any, ranges: Iterator[tuple[int, int]]) -> Iterator[Any]:
        """As Backend.map_ordered; the batches of a dead worker run again on a new pool.
        Raises BackendError if not started, or when a batch was lost MAX_ATTEMPTS times."""
        if self._pool is None:
            raise BackendError("start the ProcessBackend first: `with ProcessBackend() as backend: ...`")

        def result(window: deque) -> Any:
            try:
                return window[0][1].result()
            except BrokenProcessPool:
                self._replace_pool(fn, job, window)
                return None

        def cancel(futures: list) -> None:
            for future in futures:
                future.cancel()

        return in_order(ranges, window_limit(self.workers), lambda r: self._submit(fn, job, r), result, cancel)

    def _submit(self, fn: Callable, job: Any, r: tuple[int, int]) -> Future:
        try:
            return self._pool.submit(fn, job, *r)
        except BrokenProcessPool as exc:  # broke since the last result: fail like the tasks already in it
            future: Future = Future()
            future.set_exception(exc)
            return future

    def _replace_pool(self, fn: Callable, job: Any, window: deque) -> None:
        """A worker died: all unfinished futures of the pool fail; run them again on a fresh pool."""
        lost = [entry for entry in window if not _done_without_error(entry[1])]
        for (a, b), _future, attempts in lost:
            if attempts >= MAX_ATTEMPTS:
                raise BackendError(
                    f"worker processes died {attempts} times while runs {a} to {b - 1} were in progress "
                    "(killed by the system, e.g. out of memory?); giving up")
        self.stop(kill=True)
        self.start()
        self.restarts += 1
        for entry in lost:
            entry[1:] = [self._submit(fn, job, entry[0]), entry[2] + 1]


def _done_without_error(future: Future) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None
