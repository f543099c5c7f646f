"""escalsim's CPU time per run over the hand-written SimPy model's (benchmarks/handwritten_default.py), measured
in one process in alternating blocks, so that a change of the machine's load falls on both models alike.

    PYTHONPATH=. python benchmarks/bench_ratio.py [--blocks 20] [--block-runs 100] [--repeats 3]

Each repeat runs `blocks` blocks of `block-runs` runs of each model: escalsim first in even blocks, the
hand-written model first in odd ones, summing `time.process_time()` (CPU time of this process, not wall time)
per model. escalsim runs seed 1, runs 0, 1, 2, ... of the default scenario (scenarios/dprk_russia_2024.yaml);
the hand-written model draws from `random.Random(1)`. It prints one JSON line per repeat (µs per run of each
model and the ratio). Under load the ratio moves by several per cent between repeats; instruction counts
(callgrind, docs/benchmarks.md) do not.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # handwritten_default, beside this file

import handwritten_default as hand  # noqa: E402

from escalsim.engine.core import compile_model, simulate  # noqa: E402
from escalsim.scenario.loader import load_scenario  # noqa: E402

DEFAULT = HERE.parent / "scenarios" / "dprk_russia_2024.yaml"


def measure(model, blocks: int, block_runs: int, first_run: int, r: random.Random) -> tuple[float, float]:
    """(escalsim CPU seconds, hand-written CPU seconds) over `blocks` alternating blocks."""
    spent = [0.0, 0.0]
    run = first_run

    def escalsim_block() -> None:
        nonlocal run
        t = time.process_time()
        for i in range(run, run + block_runs):
            simulate(model, 1, i)
        spent[0] += time.process_time() - t
        run += block_runs

    def hand_block() -> None:
        t = time.process_time()
        for _ in range(block_runs):
            hand.simulate(r)
        spent[1] += time.process_time() - t

    for b in range(blocks):
        order = (escalsim_block, hand_block) if b % 2 == 0 else (hand_block, escalsim_block)
        for block in order:
            block()
    return spent[0], spent[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=20)
    ap.add_argument("--block-runs", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scenario", type=Path, default=DEFAULT)
    args = ap.parse_args()
    model = compile_model(load_scenario(args.scenario))
    r = random.Random(1)
    for i in range(50):  # warm-up of both
        simulate(model, 1, i)
        hand.simulate(r)
    runs = args.blocks * args.block_runs
    for k in range(args.repeats):
        mine, theirs = measure(model, args.blocks, args.block_runs, k * runs, r)
        print(json.dumps({"runs_each": runs, "escalsim_us_per_run": round(mine / runs * 1e6, 1),
                          "handwritten_us_per_run": round(theirs / runs * 1e6, 1),
                          "ratio": round(mine / theirs, 3)}), flush=True)


if __name__ == "__main__":
    main()
