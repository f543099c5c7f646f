"""The reference every engine figure is a ratio to: a bare SimPy timeout loop (shared by the benchmarks)."""

from __future__ import annotations

import time

import simpy


def bare_simpy_us_per_event(n: int = 300_000) -> float:
    """µs per event of one process yielding env.timeout(1) in a loop, over n events."""
    def loop(env):
        while True:
            yield env.timeout(1)

    env = simpy.Environment()
    env.process(loop(env))
    t = time.perf_counter()
    env.run(until=n)
    return (time.perf_counter() - t) / n * 1e6
