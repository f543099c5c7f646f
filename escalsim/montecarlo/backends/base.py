"""The one protocol every backend follows, and the ordered window of batches in flight that they share."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

IN_FLIGHT_PER_WORKER = 3             # tasks submitted ahead of the one awaited: memory stays flat


class BackendError(RuntimeError):
    """A backend that cannot start or connect, or whose workers keep dying."""


class Backend(ABC):
    """Where batches of runs are computed. A context manager: entering starts the workers (if not started
    already), leaving stops them (killing them if the block raised, e.g. on Ctrl-C).

    `map_ordered(fn, job, ranges)` yields fn(job, start, stop) for each (start, stop) range, strictly in the
    order of the ranges, with a bounded number in flight, so memory stays flat whatever the number of runs.
    Adding a backend is a subclass in a module of its own here, and a branch in `backends.backend_for`.
    """

    name: str = ""
    workers: int = 1

    @property
    @abstractmethod
    def started(self) -> bool:
        """Whether the workers are running."""

    @abstractmethod
    def start(self) -> None:
        """Start the workers. Raises BackendError when they cannot be started or reached."""

    @abstractmethod
    def stop(self, kill: bool) -> None:
        """Stop the workers; `kill` does not wait for work in progress."""

    @abstractmethod
    def map_ordered(self, fn: Callable, job: Any, ranges: Iterator[tuple[int, int]]) -> Iterator[Any]:
        """fn(job, start, stop) for each range, yielded in the ranges' order."""

    def __enter__(self) -> Backend:
        if not self.started:
            self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.stop(kill=exc_type is not None)


def in_order(ranges: Iterator[tuple[int, int]], limit: int, submit: Callable[[tuple[int, int]], Any],
             result: Callable[[deque], Any], cancel: Callable[[list], None]) -> Iterator[Any]:
    """The ordered window shared by the parallel backends: keep up to `limit` ranges submitted, and yield the
    result of the oldest first.

    The window holds `[range, future, attempts]` entries in range order. `submit(range)` returns a future;
    `result(window)` returns the oldest entry's result, or None after repairing the window (e.g. resubmitting
    work lost with a dead worker), and raises to give up. On exit, whatever is still in flight is `cancel`led.
    """
    window: deque[list] = deque()
    try:
        while True:
            while len(window) < limit and (r := next(ranges, None)) is not None:
                window.append([r, submit(r), 1])
            if not window:
                return
            batch = result(window)
            if batch is None:
                continue
            window.popleft()
            yield batch
    finally:
        if window:
            cancel([entry[1] for entry in window])


def window_limit(workers: int) -> int:
    """Ranges in flight for this many workers."""
    return max(2, IN_FLIGHT_PER_WORKER * workers)


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
