"""How much common random numbers save in `escalsim compare`: runs and wall time to a +-1-point 95% interval on
the main differences of two standard comparisons of the default scenario, paired against independent arms.

    python benchmarks/bench_compare.py [--pilot 2000] [--workers 2] [--half-width 0.01] [--main 5] [--verify]

For each comparison (a Seoul move: --inject seoul_sends_weapons@2024-11-15; a parameter change: --set
parameters.seoul_deterrence.high=0.6, Seoul's deterrence of a second contingent up to 60 points instead of 30) a
pilot of paired runs gives, for each main difference (the largest absolute differences of probabilities by the
horizon), the per-pair variance of B - A with pairing and with independent arms of the same size, so the runs
each arm needs for the half-width (escalsim.stats_paired.runs_needed, normal approximation), their ratio (the
variance-reduction factor F) and, from the pilot's measured speed, the wall time to that answer. `--verify` then
runs the paired answer for real (both arms, the runs the widest main difference needs) and prints its wall time
and the half-widths reached. Klein et al. (2024, arXiv:2409.02086) report factors above 10 for common random
numbers where a change's effects are local.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import escalsim  # noqa: E402
from escalsim.montecarlo.compare import compare_arms  # noqa: E402
from escalsim.montecarlo.runs import Settings  # noqa: E402
from escalsim.outputs.comparison import compare_results, main_rows, unchanged  # noqa: E402
from escalsim.scenario.moves import Injection  # noqa: E402
from escalsim.stats_paired import runs_needed  # noqa: E402

DEFAULT = ROOT / "scenarios" / "dprk_russia_2024.yaml"
COMPARISONS = {
    "Seoul move: --inject seoul_sends_weapons@2024-11-15": {"inject": ("seoul_sends_weapons", "2024-11-15")},
    "parameter: --set parameters.seoul_deterrence.high=0.6": {"set": "parameters.seoul_deterrence.high=0.6"},
}


def arms(change: dict, runs: int, workers: int):
    """(scenario A, scenario B, settings A, settings B) of one standard comparison."""
    base = escalsim.load_scenario(DEFAULT)
    overrides = [change["set"]] if "set" in change else []
    variant = escalsim.load_scenario(DEFAULT, overrides=overrides) if overrides else base
    moves = []
    if "inject" in change:
        option, date = change["inject"]
        moves = [Injection(option=option, day=base.day_of(dt.date.fromisoformat(date)))]
    a = Settings(runs=runs, seed=1, workers=workers, trace_runs=0)
    b = Settings(runs=runs, seed=1, workers=workers, trace_runs=0, overrides=overrides, injections=moves)
    return base, variant, a, b


def run_pairs(change: dict, runs: int, workers: int, folder: Path):
    """Run `runs` pairs into a new folder; returns (results A, results B, wall seconds)."""
    scenario_a, scenario_b, settings_a, settings_b = arms(change, runs, workers)
    began = time.perf_counter()
    out = compare_arms(scenario_a, scenario_b, folder, settings_a, settings_b)
    wall = time.perf_counter() - began
    return escalsim.load_results(out / "a"), escalsim.load_results(out / "b"), wall


def needs(table, half_width: float, most: int):
    """The main differences (changed in some pair, largest first) with the runs each arm needs, paired and not."""
    rows = main_rows(table)
    rows = rows[~unchanged(rows)].head(most).copy()
    rows["paired_runs"] = runs_needed(rows["var_paired"].to_numpy(), half_width)
    rows["independent_runs"] = runs_needed(rows["var_independent"].to_numpy(), half_width)
    return rows


def track_needs(table, half_width: float):
    """On each track, the rung whose probability by the horizon changed most (if any changed), with the runs each
    arm needs: how far the change moves escalation, which the main differences (often the move itself) hide."""
    rows = main_rows(table, kinds=("rung",))
    rows = rows[~unchanged(rows)].drop_duplicates("group").copy()
    rows["paired_runs"] = runs_needed(rows["var_paired"].to_numpy(), half_width)
    rows["independent_runs"] = runs_needed(rows["var_independent"].to_numpy(), half_width)
    return rows


def _print_rows(title: str, rows) -> None:
    print(f"  {title:58} {'B - A':>7} {'F':>7} {'paired':>9} {'independent':>12}")
    for r in rows.itertuples():
        label = r.label if len(r.label) <= 58 else r.label[:55] + "..."
        print(f"  {label:58} {100 * r.difference:+7.1f} {r.factor:7.1f} {r.paired_runs:9,} {r.independent_runs:12,}")


def report(name: str, table, rows, wall: float, pilot: int, half_width: float) -> dict:
    """Print one comparison's figures; return them as a record."""
    per_run = wall / (2 * pilot)  # seconds per run (both arms counted) on this machine and these workers
    paired, independent = int(rows["paired_runs"].max()), int(rows["independent_runs"].max())
    print(f"\n{name}: pilot {pilot:,} pairs in {wall:.1f} s ({2 * pilot / wall:,.0f} runs/s)")
    _print_rows("main difference (by the horizon)", rows)
    binary = table[table["kind"] != "variable"]
    changed = binary[~unchanged(binary)]
    factors = changed["factor"].to_numpy()
    finite = factors[np.isfinite(factors)]
    variables = table[(table["kind"] == "variable") & (table["at"] == "horizon")]
    print(f"  runs per arm for ±{100 * half_width:g} point(s) on all of them: paired {paired:,}, independent "
          f"{independent:,} ({independent / paired:.1f}x); wall time on these workers: paired "
          f"{2 * paired * per_run:,.0f} s, independent {2 * independent * per_run:,.0f} s")
    print(f"  F over the {len(changed)} probabilities that changed: median {np.median(finite):.1f}, "
          f"range {finite.min():.1f} to {finite.max():.1f}; {len(binary) - len(changed)} of {len(binary)} never "
          f"changed (b = c = 0); key variables at the horizon: "
          + ", ".join(f"{r.name} {r.factor:.0f}" for r in variables.itertuples()))
    tracks = track_needs(table, half_width)
    if len(tracks):
        _print_rows("largest change on each track (at or above, by the horizon)", tracks)
    return {"comparison": name, "pilot_pairs": pilot, "pilot_wall_s": round(wall, 2),
            "paired_runs": paired, "independent_runs": independent,
            "paired_wall_s": round(2 * paired * per_run, 1), "independent_wall_s": round(2 * independent * per_run, 1),
            "median_factor": float(np.median(finite)), "main": [
                {"label": r.label, "difference": r.difference, "factor": r.factor, "paired_runs": int(r.paired_runs),
                 "independent_runs": int(r.independent_runs)} for r in rows.itertuples()],
            "tracks": [{"track": r.group_label, "rung": r.label, "difference": r.difference, "factor": r.factor,
                        "paired_runs": int(r.paired_runs), "independent_runs": int(r.independent_runs)}
                       for r in tracks.itertuples()],
            "variable_factors": {r.name: r.factor for r in variables.itertuples()}}


def verify(change: dict, rows, runs: int, workers: int, folder: Path) -> dict:
    """Run the paired answer for real: its wall time and the half-widths of the main differences it reaches."""
    a, b, wall = run_pairs(change, runs, workers, folder)
    table = compare_results(a, b).set_index(["kind", "name", "at"])
    reached = [table.loc[(r.kind, r.name, r.at), "half_width"] for r in rows.itertuples()]
    print(f"  verified: {runs:,} pairs in {wall:.1f} s; half-widths of the main differences: "
          + ", ".join(f"{100 * h:.2f}" for h in reached) + " points")
    return {"verified_pairs": runs, "verified_wall_s": round(wall, 2), "verified_half_widths": reached}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pilot", type=int, default=2000, help="pairs of runs in each pilot")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--half-width", type=float, default=0.01, help="target 95%% half-width (0.01: 1 point)")
    parser.add_argument("--main", type=int, default=5, help="how many of the largest differences count as main")
    parser.add_argument("--verify", action="store_true", help="run the paired answer for real and time it")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, change) in enumerate(COMPARISONS.items()):
            a, b, wall = run_pairs(change, args.pilot, args.workers, Path(tmp) / f"pilot{k}")
            table = compare_results(a, b)
            rows = needs(table, args.half_width, args.main)
            record = report(name, table, rows, wall, args.pilot, args.half_width)
            if args.verify:
                record |= verify(change, rows, record["paired_runs"], args.workers, Path(tmp) / f"verify{k}")
            records.append(record)
    if args.json:
        args.json.write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
