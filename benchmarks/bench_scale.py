"""Memory and time of each step after the simulation, by run count (issue 14): `escalsim run`, then `plot`,
`report` and a `load_results` column query, each in its own process, with the peak RSS of every process.

    PYTHONPATH=. python benchmarks/bench_scale.py --runs 10000 --dir /tmp/scale
    PYTHONPATH=. python benchmarks/bench_scale.py --runs 100000 --dir /tmp/scale
    PYTHONPATH=. nohup python benchmarks/bench_scale.py --runs 1000000 --dir /tmp/scale > scale-1e6.log 2>&1 &

Each step's figures are appended as one JSON line to DIR/bench.jsonl (and printed): wall time, the peak RSS of
the step's own process (VmHWM, sampled every 0.1 s; the largest of the process tree as a check, from
getrusage(RUSAGE_CHILDREN)) and, for `escalsim run`, the peak of each worker. `--steps` picks steps: `simulate`
(the runs and their Parquet tables only, through the Python API: `escalsim run` without its summary) and
`summary` (the summary and CSVs of `escalsim run`, on the directory `simulate` wrote) split `run` in two, so a
long simulation can be made once and summarised by newer code; `finish` is `escalsim run --resume DIR --runs N` on
an interrupted directory DIR/runsN (renamed after its N runs saved): the final tables and the summary, as
`escalsim run` ends.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "dprk_russia_2024.yaml"
STEPS = ("run", "simulate", "finish", "summary", "plot", "report", "query")
PY = [sys.executable]

SIMULATE = """
import sys, escalsim
escalsim.run(escalsim.load_scenario(sys.argv[1]), sys.argv[2], escalsim.Settings(runs=int(sys.argv[3]), workers=2),
             source_file=sys.argv[1])
"""
SUMMARY = """
import sys
from pathlib import Path
from escalsim._memory import give_back_freed_memory
give_back_freed_memory()  # as the escalsim program does (the query below is the Python API: it does not)
from escalsim.cli.run_cmd import _report
_report(Path(sys.argv[1]), 0.0, quiet=False)
"""
QUERY = """
import sys, escalsim
r = escalsim.load_results(sys.argv[1], columns=["run", "at_or_above.nuclear_use", "final.dprk_casualties"])
x = r.runs["at_or_above.nuclear_use"]
print(len(r.runs), int(x.notna().sum()), float(r.runs["final.dprk_casualties"].median()))
"""


def commands(step: str, runs: int, out: Path) -> list[str]:
    """The command line of a step."""
    cli = PY + ["-m", "escalsim"]
    return {
        "run": cli + ["run", str(SCENARIO), "--runs", str(runs), "--out", str(out), "--workers", "2", "--quiet"],
        "simulate": PY + ["-c", SIMULATE, str(SCENARIO), str(out), str(runs)],
        "finish": cli + ["run", "--resume", str(out), "--runs", str(runs), "--workers", "2", "--quiet"],
        "summary": PY + ["-c", SUMMARY, str(out)],
        "plot": cli + ["plot", str(out), "--format", "svg", "--out", str(out / "figures")],
        "report": cli + ["report", str(out)],
        "query": PY + ["-c", QUERY, str(out)],
    }[step]


def hwm(pid: int) -> int | None:
    """The peak resident set size of a process in bytes (VmHWM), or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def children(pid: int) -> list[int]:
    """The direct children of a process (Linux)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def measure(cmd: list[str], log: Path) -> dict:
    """Run a command; its wall time, exit code, its own peak RSS and that of each descendant seen."""
    began = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        peaks: dict[int, int] = {}
        while proc.poll() is None:
            stack = [proc.pid]
            while stack:
                pid = stack.pop()
                value = hwm(pid)
                if value is not None:
                    peaks[pid] = max(peaks.get(pid, 0), value)
                stack += children(pid)
            time.sleep(0.1)
    wall = time.perf_counter() - began
    tree_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: KiB; the largest so far
    own = peaks.pop(proc.pid, 0)
    return {"rc": proc.returncode, "wall_s": round(wall, 2), "peak_rss_mib": round(own / 2**20, 1),
            "other_processes_peak_rss_mib": sorted((round(v / 2**20, 1) for v in peaks.values()), reverse=True),
            "largest_process_so_far_mib": round(tree_max / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True, help="Where the results directories go.")
    parser.add_argument("--steps", default="run,plot,report,query",
                        help=f"Comma-separated steps among {', '.join(STEPS)}.")
    args = parser.parse_args()
    out = args.dir / f"runs{args.runs}"
    args.dir.mkdir(parents=True, exist_ok=True)
    for step in args.steps.split(","):
        record = {"runs": args.runs, "step": step, **measure(commands(step, args.runs, out),
                                                            args.dir / f"runs{args.runs}-{step}.log")}
        if step == "report" and (out / "report.html").is_file():
            record["report_html_mb"] = round((out / "report.html").stat().st_size / 1e6, 2)
        if step in ("run", "simulate", "finish") and (out / "runs.parquet").is_file():
            record["bytes_per_run"] = {name: round((out / name).stat().st_size / args.runs, 1)
                                       for name in ("runs.parquet", "levels.parquet", "traces.parquet")}
        line = json.dumps(record)
        print(line, flush=True)
        with open(args.dir / "bench.jsonl", "a") as fh:
            fh.write(line + "\n")
        if record["rc"]:
            sys.exit(f"{step} failed (exit {record['rc']}): see {args.dir}/runs{args.runs}-{step}.log")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    main()
