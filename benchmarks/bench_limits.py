"""What the schema's size caps cost (issue 14): the default scenario scaled toward its caps, each size run for real
by `escalsim run FILE --runs N --workers 2 --quiet --out DIR` (a child process), then, at the last size,
`escalsim report` and `escalsim plot`.

    PYTHONPATH=. python benchmarks/bench_limits.py --runs 1000 o1 o5 o13 o27 c100 v30 v58
    PYTHONPATH=. python benchmarks/bench_limits.py --runs 1000 --report o27
    PYTHONPATH=. python benchmarks/bench_limits.py --runs 10000 v3c156     # at the cap of 10,000 checkpoint values
    PYTHONPATH=. python benchmarks/bench_limits.py --runs 200 h36525       # a 100-year horizon

A size is a word: `o<k>` repeats the options k times (benchmarks/bench_load.py's `scaled`; o27 is 999 options, the
cap is 1,000), `v<m>` makes m copies of every variable (17 a copy; the copies of copy c are set and added to by the
options' copy c, so they vary from run to run where there are that many option copies, and are constant beyond),
`c<n>` gives the scenario n checkpoints (its 13, then evenly spaced days), `h<days>` a horizon of that many days
instead of one year (the cap is 36,525). They combine: `o27v30c100`. A size over a
limit (e.g. c400 or v58c400: checkpoints x values over 10,000) is printed as refused, with the loader's message.

Printed per size: options, values a condition may read (variables, observations, tracks, parameters), checkpoints,
the file's KB, its load time in this process (best of 3), the run's wall time and ms a run, the peak resident memory
(VmHWM, sampled from /proc every 50 ms) of the parent and of the largest worker, runs.parquet's columns, a row's
bytes in memory, the rows of a row group (`escalsim.montecarlo.parquet.group_rows`: at most 65,536, at least 4,096,
else as many as fit 64 MiB) and what such a group takes in memory (MiB), runs.parquet's bytes a run on disk, and
levels.parquet's (each track's daily level). Wall times are noisy on a loaded machine; memory and sizes are not.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

import pyarrow.parquet as pq
from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import scaled  # noqa: E402

from escalsim.errors import ScenarioError  # noqa: E402
from escalsim.montecarlo.parquet import group_rows  # noqa: E402
from escalsim.parquet_table import value_bytes  # noqa: E402
from escalsim.scenario.loader import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SIZE = re.compile(r"^(?:o(\d+))?(?:v(\d+))?(?:c(\d+))?(?:h(\d+))?$")
COPY = re.compile(r"_copy(\d+)$")


def build(options: int = 1, variables: int = 1, checkpoints: int = 0, horizon: int = 0) -> str:
    """The default scenario with its options repeated `options` times, `variables` copies of its variables and (if
    given) `checkpoints` checkpoints and a horizon of `horizon` days."""
    yaml = YAML(typ="rt", pure=True)
    doc = yaml.load(scaled(options))
    originals = list(doc["variables"])
    for c in range(1, variables):
        for name in originals:
            spec = dict(doc["variables"][name])
            spec.pop("key", None)
            doc["variables"][f"{name}_v{c}"] = spec
    for name, spec in doc["options"].items():  # option copy c sets the variables' copy c
        m = COPY.search(name)
        if m and int(m.group(1)) < variables:
            for effect in spec.get("effects") or []:
                for verb in ("set", "add"):
                    if isinstance(effect.get(verb), dict):
                        effect[verb] = {f"{k}_v{m.group(1)}" if k in originals else k: v
                                        for k, v in effect[verb].items()}
    if checkpoints:
        have = list(doc["checkpoints"])
        for i in range(checkpoints - len(have)):
            doc["checkpoints"][f"cp{i}"] = round(1 + i * 363 / max(1, checkpoints - len(have)), 2)
    if horizon:
        del doc["end"]
        doc.insert(list(doc).index("start") + 1, "horizon_days", horizon)
    out = StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def measure(args: list[str], every: float = 0.05) -> tuple[float, int, int, int]:
    """Run `python -m escalsim ARGS`: (wall seconds, exit code, parent's VmHWM, largest descendant's VmHWM), KB."""
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "escalsim", *args], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks: dict[int, int] = {}
    while proc.poll() is None:
        for pid in [proc.pid, *_descendants(proc.pid)]:
            hwm = _hwm(pid)
            if hwm:
                peaks[pid] = max(peaks.get(pid, 0), hwm)
        time.sleep(every)
    wall = time.perf_counter() - began
    if proc.returncode:
        print(proc.stderr.read().decode()[-2000:], file=sys.stderr)
    parent = peaks.pop(proc.pid, 0)
    return wall, proc.returncode, parent, max(peaks.values(), default=0)


def _descendants(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [d for c in map(int, children) for d in (c, *_descendants(c))]


def _hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="+")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--report", action="store_true", help="also time escalsim report and plot at the last size")
    ns = parser.parse_args()
    print(f"{'size':>10} {'opts':>5} {'vars':>5} {'cps':>4} {'KB':>5} {'load s':>6} {'run s':>6} {'ms/run':>6} "
          f"{'parent MB':>9} {'worker MB':>9} {'columns':>7} {'row KB':>6} {'rg rows':>7} {'rg MB':>5} {'B/run':>6} "
          f"{'lvl B/run':>9}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = None
        for size in ns.sizes:
            m = SIZE.match(size)
            if not m or not size:
                sys.exit(f"not a size: {size}")
            o, v, c, h = (int(g) if g else None for g in m.groups())
            path = Path(tmp) / f"{size}.yaml"
            path.write_text(build(o or 1, v or 1, c or 0, h or 0), encoding="utf-8")
            load = float("inf")
            try:
                for _ in range(3):
                    began = time.perf_counter()
                    scenario = load_scenario(path)
                    load = min(load, time.perf_counter() - began)
            except ScenarioError as exc:
                print(f"{size:>10} refused: {exc}", flush=True)
                continue
            out = Path(tmp) / f"out-{size}"
            wall, rc, parent, worker = measure(["run", str(path), "--runs", str(ns.runs), "--workers", "2",
                                                "--quiet", "--out", str(out)])
            if rc:
                print(f"{size:>10} failed (exit {rc}) after {wall:.0f} s; parent {parent / 1024:.0f} MB, "
                      f"worker {worker / 1024:.0f} MB", flush=True)
                out = None
                continue
            meta = pq.ParquetFile(out / "runs.parquet").metadata
            nbytes = (out / "runs.parquet").stat().st_size
            readable = (sum(1 for name in meta.schema.names if name.startswith("final.")))
            schema = meta.schema.to_arrow_schema()
            width, rows = sum(value_bytes(f.type) for f in schema), group_rows(schema)
            print(f"{size:>10} {len(scenario.options):>5} {readable:>5} {len(scenario.checkpoints):>4} "
                  f"{path.stat().st_size / 1000:>5.0f} {load:>6.2f} {wall:>6.1f} {1000 * wall / ns.runs:>6.1f} "
                  f"{parent / 1024:>9.0f} {worker / 1024:>9.0f} {meta.num_columns:>7} "
                  f"{width / 1000:>6.1f} {rows:>7} {rows * width / 2**20:>5.0f} {nbytes / ns.runs:>6.0f} "
                  f"{(out / 'levels.parquet').stat().st_size / ns.runs:>9.0f}", flush=True)
        if ns.report and out is not None:
            for name, args in (("report", ["report", str(out), "--out", str(out / "report.html")]),
                               ("plot", ["plot", str(out), "--out", str(out / "figures")])):
                wall, rc, parent, worker = measure(args)
                made = out / "report.html" if name == "report" else out / "figures"
                size_mb = (made.stat().st_size if made.is_file() else
                           sum(f.stat().st_size for f in made.glob("*"))) / 1e6 if made.exists() else 0
                print(f"{name}: exit {rc}, {wall:.1f} s, peak {max(parent, worker) / 1024:.0f} MB, "
                      f"output {size_mb:.1f} MB", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
