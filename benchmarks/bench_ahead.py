"""How fast `ahead` answers in `escalsim play`: futures per arm from a game at turn 4 of the default scenario.

    python benchmarks/bench_ahead.py [--futures 2000] [--workers 2] [--turn 4] [--repeat 3]

The issue's target: 2,000 futures per arm in at most 3 s on 2 cores. Measured, with the look-ahead's worker
pool started and warm (a session starts it on its first look-ahead and keeps it): (1) the first `ahead MOVE` of
a turn, which runs both arms (without the move and with it); (2) a second `ahead MOVE` in the same turn, which
reuses the arm without the move (the same futures: see escalsim.play.ahead) and runs one arm; (3) the cost of a
future (a run forked on the turn's day) against a plain run of the same scenario, in one process. Load average
is printed: on a shared machine the absolute times move with it, the ratio (3) much less.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from escalsim.engine import compile_model, simulate  # noqa: E402
from escalsim.engine.core import Fork  # noqa: E402
from escalsim.montecarlo.backends import backend_for  # noqa: E402
from escalsim.play.ahead import look_ahead  # noqa: E402
from escalsim.play.game import Game, Move, parse_teams  # noqa: E402
from escalsim.scenario.loader import load_scenario  # noqa: E402

DEFAULT = ROOT / "scenarios" / "dprk_russia_2024.yaml"
TEAMS = ["seoul=rok,nis", "washington=usa,nato,us_intel", "moscow=russia,dprk,belarus", "kyiv=ukraine"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--futures", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--turn", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    model = compile_model(load_scenario(DEFAULT))
    game = Game(model, 7, 14.0, parse_teams(TEAMS, model))
    for _ in range(args.turn - 1):
        game.advance()
    moves = [Move("washington", "inject", "washington_allows_deep_strikes", game.day),
             Move("seoul", "block", "seoul_expands_nonlethal_aid", game.day)]
    print(f"game at turn {args.turn} ({game.date()}), {args.futures:,} futures per arm, {args.workers} workers; "
          f"load average {os.getloadavg()[0]:.2f}")
    with backend_for(None, args.workers) as backend:
        look_ahead(game, None, 4 * args.workers, backend)  # warm the workers (imports, compiled model)
        for r in range(args.repeat):
            cache: dict = {}
            t0 = time.perf_counter()
            look_ahead(game, moves[0], args.futures, backend, cache=cache)
            t1 = time.perf_counter()
            look_ahead(game, moves[1], args.futures, backend, cache=cache)
            t2 = time.perf_counter()
            print(f"  repeat {r + 1}: first ahead MOVE (two arms) {t1 - t0:.2f} s; another MOVE, the arm without "
                  f"it reused {t2 - t1:.2f} s   (load {os.getloadavg()[0]:.2f})")
    n = 300
    t0 = time.process_time()
    for i in range(n):
        simulate(model, 7, i)
    plain = (time.process_time() - t0) / n
    t0 = time.process_time()
    for i in range(n):
        simulate(model, 7, 0, fork=Fork(game.day, f"ahead {game.day:g} {i}"))
    forked = (time.process_time() - t0) / n
    print(f"  one future {1e3 * forked:.2f} ms CPU, a plain run {1e3 * plain:.2f} ms: ratio {forked / plain:.3f}")


if __name__ == "__main__":
    main()
