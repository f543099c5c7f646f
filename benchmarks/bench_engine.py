"""Engine speed, measured as ratios within one process: model cost per SimPy event over a bare timeout loop,
fixed cost per run, and (with --parallel) runs/s at 1 and 2 workers and on Dask.

    python benchmarks/bench_engine.py [--runs 3000] [--parallel] [--handwritten]

Timings on a shared machine are noisy; instruction counts are not. The ratio by callgrind (deterministic):

    for n in 0 100; do valgrind --tool=callgrind python benchmarks/bench_engine.py --only-model $n; done
    for n in 0 20000; do valgrind --tool=callgrind python benchmarks/bench_engine.py --only-bare $n; done

ratio = ((model_100 - model_0) / events) / ((bare_20000 - bare_0) / 20000), with events as printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import simpy
from bare import bare_simpy_us_per_event  # benchmarks/bare.py, beside this file

from escalsim import __version__
from escalsim.engine.core import compile_model, simulate
from escalsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "scenarios" / "dprk_russia_2024.yaml"
EMPTY = """
name: empty
start: 2025-01-01
horizon_days: 365
ladder: {start: a, rungs: [{id: a}, {id: b}]}
actors: {x: {label: X}}
"""


def model_us_per_event(model, runs: int) -> tuple[float, float, float]:
    """(µs per SimPy event, µs per run, events per run) over `runs` runs."""
    events = 0
    t = time.perf_counter()
    for i in range(runs):
        events += simulate(model, 1, i).events
    dt = time.perf_counter() - t
    return dt / events * 1e6, dt / runs * 1e6, events / runs


def fixed_cost_us(runs: int = 20_000) -> float:
    """A run of a scenario in which nothing happens: environment, seeding, record."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "empty.yaml"
        path.write_text(EMPTY)
        model = compile_model(load_scenario(path))
    t = time.perf_counter()
    for i in range(runs):
        simulate(model, 1, i)
    return (time.perf_counter() - t) / runs * 1e6


def best_of(fn, repeat: int):
    return min((fn() for _ in range(repeat)), key=lambda r: r if isinstance(r, float) else r[0])


def parallel(model_path: Path, runs: int) -> dict:
    from escalsim.montecarlo.backends import DaskBackend, ProcessBackend, SerialBackend
    from escalsim.montecarlo.batches import Job, run_many

    job = Job(load_scenario(model_path), seed=1, trace_runs=0)
    out = {}
    for name, make in [("serial", SerialBackend), ("processes_1", lambda: ProcessBackend(1)),
                       ("processes_2", lambda: ProcessBackend(2)), ("dask_local_2", lambda: DaskBackend("local"))]:
        with make() as backend:
            list(run_many(job, 0, min(200, runs), backend))  # warm up workers and caches
            t = time.perf_counter()
            done = sum(b.stop - b.start for b in run_many(job, 0, runs, backend))
            out[name] = done / (time.perf_counter() - t)
    out["efficiency_2_workers"] = out["processes_2"] / (2 * out["processes_1"])
    out["dask_over_processes_wall"] = out["processes_2"] / out["dask_local_2"]
    return out


def handwritten(runs: int, escalsim_us_per_run: float, bare: float) -> dict:
    """The same scenario written by hand in plain SimPy (benchmarks/handwritten_default.py), timed here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("handwritten_default", ROOT / "benchmarks" / "handwritten_default.py")
    hw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hw)
    hw.time_model(min(runs, 200), 1)  # warm-up
    seconds, events, _ = min((hw.time_model(runs, 1) for _ in range(3)), key=lambda x: x[0])
    per_run = seconds / runs * 1e6
    return {"handwritten_us_per_run": round(per_run, 1), "handwritten_events_per_run": round(events / runs, 1),
            "handwritten_overhead_ratio": round(seconds / events * 1e6 / bare, 2),
            "escalsim_over_handwritten_per_run": round(escalsim_us_per_run / per_run, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3000)
    ap.add_argument("--scenario", type=Path, default=DEFAULT)
    ap.add_argument("--parallel", action="store_true", help="also measure process pools and Dask")
    ap.add_argument("--handwritten", action="store_true",
                    help="also time the default scenario written by hand in plain SimPy (same process)")
    ap.add_argument("--only-model", type=int, metavar="N", help="just N runs (after one warm-up), for callgrind")
    ap.add_argument("--only-bare", type=int, metavar="N", help="just N bare SimPy events, for callgrind")
    args = ap.parse_args()
    if args.only_bare is not None:
        if args.only_bare:  # 0: imports only, the baseline to subtract
            bare_simpy_us_per_event(args.only_bare)
        return
    model = compile_model(load_scenario(args.scenario))
    if args.only_model is not None:
        simulate(model, 1, 0)
        print("events", sum(simulate(model, 1, i).events for i in range(args.only_model)))
        return
    bare = statistics.median(bare_simpy_us_per_event() for _ in range(3))
    per_event, per_run, events = best_of(lambda: model_us_per_event(model, args.runs), 3)
    fixed = best_of(fixed_cost_us, 3)
    result = {
        "date": time.strftime("%Y-%m-%d"), "escalsim": __version__, "python": platform.python_version(),
        "simpy": simpy.__version__, "cpus": os.cpu_count(), "scenario": args.scenario.name,
        "bare_simpy_us_per_event": round(bare, 3), "model_us_per_event": round(per_event, 3),
        "overhead_ratio": round(per_event / bare, 2), "events_per_run": round(events, 1),
        "us_per_run": round(per_run, 1), "runs_per_s_1_core": round(1e6 / per_run, 1),
        "events_per_s_1_core": round(1e6 / per_event), "fixed_cost_us_per_run": round(fixed, 1),
    }
    if args.handwritten:
        result.update(handwritten(args.runs, per_run, bare))
    if args.parallel:
        result.update({k: round(v, 3) for k, v in parallel(args.scenario, max(args.runs, 2000)).items()})
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
