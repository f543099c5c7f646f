"""The serial backend: every batch in this process, one after another."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from escalsim.montecarlo.backends.base import Backend


class SerialBackend(Backend):
    """Everything in this process, one batch after another (always started; nothing to stop)."""

    name = "serial"
    workers = 1

    @property
    def started(self) -> bool:
        """Always True."""
        return True

    def start(self) -> None:
        """Nothing to start."""

    def stop(self, kill: bool) -> None:
        """Nothing to stop."""

    def map_ordered(self, fn: Callable, job: Any, ranges: Iterator[tuple[int, int]]) -> Iterator[Any]:
        """fn(job, start, stop) for each range, computed here, one after another."""
        for a, b in ranges:
            yield fn(job, a, b)
