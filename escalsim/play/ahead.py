"""Look-ahead: N futures of the game from today, with and without a move, paired.

Future i of a look-ahead on day T is the session's run forked on T into branch "ahead T i" (`engine.Fork`): it
shares the session's past exactly (its events, and the random values it has drawn: the scenario's per-run
parameters, the delays already set in motion) and differs only after T. The arm with the move and the arm
without it use the same branches, so future i of both arms shares every random draw the move does not disturb
(common random numbers): the difference of two probabilities is estimated from paired runs, with Newcombe's
interval for paired proportions.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from escalsim.engine import simulate
from escalsim.engine.core import Fork, check_moves
from escalsim.montecarlo import records
from escalsim.montecarlo.backends import Backend
from escalsim.montecarlo.batches import batch_ranges, model_of
from escalsim.play.game import Game, Move, engine_moves
from escalsim.scenario.moves import Block, Injection
from escalsim.scenario.schema import Scenario
from escalsim.stats import paired_difference, wilson

FUTURES = 2000  # per arm: a probability's 95% interval is then at most ±2.2 points


@dataclass(frozen=True)
class FutureJob:
    """Futures of one run (seed, run) forked on `day`, with one set of moves (injections and blocks)."""

    scenario: Scenario
    seed: int
    run: int
    day: float
    injections: tuple[Injection, ...]
    blocks: tuple[Block, ...]


def branch_name(day: float, i: int) -> str:
    """The branch of future i of a look-ahead on `day` (the same for both arms: they pair)."""
    return f"ahead {day:g} {i}"


def run_futures(job: FutureJob, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Futures [start, stop) (in a worker; the moves checked by `arm`): the first day of every rung (at or above)
    and event in a (futures x (rungs + events)) array, and the daily rung of every track (futures x tracks x
    days)."""
    model = model_of(job.scenario)
    recs = [simulate(model, job.seed, job.run, job.injections, False, job.blocks,
                     Fork(job.day, branch_name(job.day, i)), checked=True) for i in range(start, stop)]
    firsts = np.array([r.at_or_above + r.event_days for r in recs], dtype=np.float64)
    return firsts, records.level_grid(model, recs, 1.0)


Arm = tuple[np.ndarray, np.ndarray]  # run_futures' two arrays, for every future of one arm


def arm(game: Game, moves: list[Move], futures: int, backend: Backend | None = None) -> Arm:
    """The futures of the game from today with these moves (all checked first: InjectionError)."""
    injections, blocks = engine_moves(moves)
    check_moves(game.model, injections, blocks)
    job = FutureJob(game.model.scenario, game.seed, game.run, game.day, injections, blocks)
    size = max(1, math.ceil(futures / (4 * (backend.workers if backend else 1))))
    ranges = batch_ranges(0, futures, size)
    parts = list(backend.map_ordered(run_futures, job, ranges) if backend is not None else
                 (run_futures(job, a, b) for a, b in ranges))
    return np.concatenate([f for f, _ in parts]), np.concatenate([g for _, g in parts])


@dataclass(frozen=True)
class Row:
    """One probability of the look-ahead: without the move, and with it (and the paired difference)."""

    what: str            # e.g. "Widening of the war at or above Foreign troops in combat" or an event's label
    mark: str            # "by 2024-12-31"
    p: float
    p_low: float
    p_high: float
    p_move: float | None = None
    diff: float | None = None
    diff_low: float | None = None
    diff_high: float | None = None
    counts: tuple[int, ...] = ()  # (k,) without a move; (k without, k with, k in both) with one; of Ahead.futures


@dataclass
class Ahead:
    """A look-ahead's answer: its rows, and per arm the share of futures on each rung of each track by day."""

    day: float
    futures: int
    move: Move | None
    marks: list[tuple[str, float]]
    rows: list[Row]
    shares: list[np.ndarray] = field(default_factory=list)  # per arm: tracks x rungs (max) x days from `day`
    seconds: float = 0.0


def look_ahead(game: Game, move: Move | None = None, futures: int = FUTURES, backend: Backend | None = None,
               marks: int = 2, cache: dict | None = None) -> Ahead:
    """N futures of the game from today, with the moves made so far, and (if given) paired with the same
    futures plus `move`. Probabilities are given by the next `marks` checkpoints after today and the horizon;
    the move is checked as a commit would be (MoveError). With a `cache` (a dict kept by the caller), the arm
    without the move is computed once per (day, moves, futures) and reused: it is the same futures."""
    began = time.perf_counter()
    model, day = game.model, game.day
    if move is not None:
        game.check(move)
    key = (game.seed, game.run, day, tuple(game.moves), futures)
    base = cache.get(key) if cache is not None else None
    if base is None:
        base = arm(game, game.moves, futures, backend)
        if cache is not None:
            cache.clear()  # one entry: the current turn's moves
            cache[key] = base
    arms = [base] + ([arm(game, [*game.moves, move], futures, backend)] if move is not None else [])
    chosen = [(name, d) for name, d in model.checkpoints if d > day][:marks] + [("horizon", model.horizon)]
    rows = _rows(game, [firsts for firsts, _ in arms], chosen)
    return Ahead(day, futures, move, chosen, rows, [_shares(model, levels, day) for _, levels in arms],
                 time.perf_counter() - began)


def _outcomes(game: Game) -> list[tuple[str, int]]:
    """(label, column) of what a look-ahead reports: each rung above each track's current one, then every event
    (option, obligation, treaty step, ...) that has not happened yet."""
    model, rec = game.model, game.now
    out = []
    for t, track in enumerate(model.tracks):
        for k in range(rec.max_levels[t] + 1, len(track.rungs)):
            out.append((f"{track.label} at or above {track.rung_labels[k]}", track.offset + k))
    labels = records.event_labels(model)
    n = len(model.rungs)
    for j, event in enumerate(model.events):
        if math.isnan(rec.event_days[j]) and event not in model.rungs:
            out.append((labels.get(event, event), n + j))
    return out


def _rows(game: Game, arrays: list[np.ndarray], marks: list[tuple[str, float]]) -> list[Row]:
    rows = []
    n = len(arrays[0])
    for label, col in _outcomes(game):
        for name, end in marks:
            mark = f"by {game.date(end - 1)}" + (" (horizon)" if name == "horizon" else "")
            a = arrays[0][:, col] < end
            if len(arrays) == 1:
                rows.append(row(label, mark, n, int(np.count_nonzero(a))))
                continue
            b = arrays[1][:, col] < end
            rows.append(row(label, mark, n, int(np.count_nonzero(a)), int(np.count_nonzero(b)),
                            int(np.count_nonzero(a & b))))
    return rows


def row(what: str, mark: str, n: int, k: int, k_move: int | None = None, both: int | None = None) -> Row:
    """A look-ahead's row from its counts among n futures: k with the outcome without the move, and (paired)
    k_move with it and `both` in both arms: Wilson's interval, and Newcombe's for the paired change."""
    p, low, high = map(float, wilson(k, n))
    if k_move is None:
        return Row(what, mark, p, low, high, counts=(k,))
    diff, dlow, dhigh = paired_difference(both, k_move - both, k - both, n - k - k_move + both)
    return Row(what, mark, p, low, high, k_move / n, float(diff), float(dlow), float(dhigh), (k, k_move, both))


def counts_of(ahead: Ahead) -> dict:
    """A look-ahead as plain data for the session file: the futures per arm, the dates, and per outcome its
    counts by each date ([k] without a move; [k without, k with, k in both] with one), from which `row` gives
    back every number shown, exactly."""
    n = ahead.futures
    by_what: dict[str, list] = {}
    for r in ahead.rows:
        by_what.setdefault(r.what, []).append(list(r.counts))
    marks = list(dict.fromkeys(r.mark for r in ahead.rows))
    return {"futures": n, "seconds": round(ahead.seconds, 3), "marks": marks,
            "outcomes": [{"what": w, "counts": c} for w, c in by_what.items()]}


def stored_rows(result: dict) -> list[list[Row]]:
    """The rows of a look-ahead recorded by `counts_of`, per outcome (one Row per date): the numbers shown; []
    for a result not in that form (hand-edited, or written before it)."""
    try:
        n, marks = int(result["futures"]), [str(m) for m in result["marks"]]
        rows = [[row(str(o["what"]), mark, n, *map(int, cell)) for mark, cell in zip(marks, o["counts"])]
                for o in result["outcomes"]]
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return []
    return [r for r in rows if r and all(0 <= c <= n for x in r for c in x.counts)]


def _shares(model, levels: np.ndarray, day: float) -> np.ndarray:
    """Share of futures on each rung of each track at the end of each day from `day` (tracks x rungs x days)."""
    first = int(math.floor(day))
    lv = levels[:, :, first:]
    top = max(len(t.rungs) for t in model.tracks)
    out = np.zeros((len(model.tracks), top, lv.shape[2]))
    for r in range(top):
        out[:, r, :] = np.mean(lv == r, axis=0)
    return out
