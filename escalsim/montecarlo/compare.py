"""Two arms of a paired comparison run with common random numbers into one comparison directory.

Arm A is a scenario as it is, arm B the same scenario with a change (a variant file, moves made in every run,
`--set` overrides). Both run with the same seed, and run i of each arm is computed in the same task, so the two
results directories, DIR/a and DIR/b, pair run by run and grow together: at every moment both hold the same run
indices. With a precision to reach, rounds of runs are added to both arms until every paired difference of a
probability that the comparison reports (each rung above its track's start by each checkpoint and the horizon,
and each event happened) has a 95% interval (Newcombe's method 10) of half-width at most the precision.

The comparison tables and figures are drawn by `escalsim.outputs.comparison` from the two directories; this
module never imports the outputs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from escalsim.engine import Model
from escalsim.engine.core import check_moves
from escalsim.montecarlo.backends import Backend, backend_for
from escalsim.montecarlo.batches import Batch, Job, auto_batch_size, batch_ranges, model_of, run_batch
from escalsim.montecarlo.jobspec import StopRule
from escalsim.montecarlo.runs import Progress, Settings, check_new_directory, claim_default_dir
from escalsim.montecarlo.store import ResultsWriter
from escalsim.scenario.loader import scenario_sources
from escalsim.scenario.schema import Scenario
from escalsim.stats import paired_difference

ARMS = ("a", "b")


def run_pair(jobs: tuple[Job, Job], start: int, stop: int) -> tuple[Batch, Batch]:
    """Runs [start, stop) of both arms (in a worker): the two batches of one range, so they pair exactly."""
    return run_batch(jobs[0], start, stop), run_batch(jobs[1], start, stop)


def pairing_problem(a: Model, b: Model) -> str | None:
    """Why the runs of two models cannot be compared day by day and rung by rung, or None if they can.

    The scenario names may differ (a variant usually has its own); the start date, the horizon and the tracks
    (ids, rungs in order, starting rungs) must be the same, else a rung's or a day's meaning differs between arms.
    """
    if a.start != b.start or a.horizon != b.horizon:
        return (f"{a.name} runs {a.horizon:g} days from {a.start} and {b.name} {b.horizon:g} days from {b.start}: "
                "the arms must cover the same days")
    tracks_a = [(t.id, list(t.rungs), t.start) for t in a.tracks]
    tracks_b = [(t.id, list(t.rungs), t.start) for t in b.tracks]
    if tracks_a != tracks_b:
        return (f"{a.name} and {b.name} have different tracks (ids, rungs or starting rungs): "
                f"{_tracks_text(tracks_a)} against {_tracks_text(tracks_b)}")
    return None


def _tracks_text(tracks: list) -> str:
    return "; ".join(f"{tid}: {' < '.join(rungs)} (from {rungs[start]})" for tid, rungs, start in tracks)


@dataclass
class PairedTally:
    """Running paired counts of every probability the comparison reports, for sequential stopping.

    Each outcome is (name, column, day): the run has it when `column` < day (a rung at or above by a mark), or
    when `column` is not NaN for day None (an event happened)."""

    outcomes: list[tuple[str, str, float | None]]
    n: int = 0
    counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))  # A, B, both

    @classmethod
    def of(cls, a: Model, b: Model) -> PairedTally:
        """The tally of two pairable models: rungs above each track's start by each checkpoint and the horizon,
        and the events both arms record."""
        marks = a.checkpoints + [("horizon", a.horizon)]
        outcomes: list[tuple[str, str, float | None]] = [
            (f"at or above {rung} by {name}", f"at_or_above.{rung}", day)
            for track in a.tracks for rung in track.rungs[track.start + 1:] for name, day in marks]
        outcomes += [(f"{event} happened", f"event.{event}", None) for event in a.events if event in set(b.events)]
        return cls(outcomes, counts=np.zeros((len(outcomes), 3), dtype=np.int64))

    def add(self, columns_a: dict, columns_b: dict) -> None:
        """Add the runs of one range of both arms (columns as in records.columns, the same run indices)."""
        if not np.array_equal(columns_a["run"], columns_b["run"]):
            raise ValueError("the arms' batches hold different runs")
        self.n += len(columns_a["run"])
        for k, (_, column, day) in enumerate(self.outcomes):
            xa, xb = _has(columns_a[column], day), _has(columns_b[column], day)
            self.counts[k] += (np.count_nonzero(xa), np.count_nonzero(xb), np.count_nonzero(xa & xb))

    def widest(self) -> tuple[str, float]:
        """The reported difference with the widest 95% interval (Newcombe's method 10), and its half-width."""
        if not self.outcomes or self.n == 0:
            return "", math.inf if self.n == 0 else 0.0
        has_a, has_b, both = self.counts.T
        _, low, high = paired_difference(both, has_a - both, has_b - both, self.n - has_a - has_b + both)
        half = (np.asarray(high) - np.asarray(low)) / 2
        i = int(np.argmax(half))
        return self.outcomes[i][0], float(half[i])


def _has(column: np.ndarray, day: float | None) -> np.ndarray:
    return ~np.isnan(column) if day is None else column < day


def compare_arms(scenario_a: Scenario, scenario_b: Scenario, out: str | Path | None = None,
                 settings_a: Settings | None = None, settings_b: Settings | None = None,
                 precision: float | None = None, *, source_a: str | Path | None = None,
                 source_b: str | Path | None = None, progress: Progress | None = None) -> Path:
    """Run arm A (`scenario_a` with `settings_a`) and arm B (`scenario_b` with `settings_b`) pair by pair into
    OUT/a and OUT/b; return OUT.

    Both arms run with the same seed and the same run indices, in the same tasks, on one backend (the process
    pool or Dask cluster of `settings_a`'s workers and scheduler; its batch size, traces and grid step). Moves
    (`injections`, `blocks`) and `overrides` are each arm's own; overrides must already be applied to the
    scenario (they are recorded, as `run` does). Without a precision both arms make `settings_a.runs` runs;
    with one (`precision`, else `settings_a.precision`), rounds are added to both arms, from
    `settings_a.min_runs` to at most `settings_a.max_runs`, until every reported paired difference's 95%
    half-width is at most it (see `PairedTally`). `out` defaults to a new results/<scenario>-compare-<time>;
    `source_a`/`source_b` (the scenario files) are recorded with their bases; `progress(done, planned,
    pairs_per_s)` is called after every batch of pairs.

    Raises ValueError when the settings do not pair (another seed or run count, a precision given in
    settings_b) or the scenarios cannot be compared (`pairing_problem`), engine.InjectionError for moves that
    cannot be made, ResultsError for an unusable directory, and as `run` does while running. Whenever it stops
    before a first batch of pairs is saved, nothing is left behind; after that, each arm can be completed with
    `escalsim run --resume OUT/a` (and OUT/b) and the two compared as directories.
    """
    settings_a = settings_a or Settings()
    settings_b = settings_b or dataclasses.replace(settings_a, overrides=[], injections=[], blocks=[])
    rule = _stop_rule(settings_a, settings_b, precision)
    models = model_of(scenario_a), model_of(scenario_b)
    problem = pairing_problem(*models)
    if problem:
        raise ValueError(problem)
    for model, settings in zip(models, (settings_a, settings_b)):
        check_moves(model, settings.injections, settings.blocks)
    claimed = out is None
    directory = claim_default_dir(f"{scenario_a.name}-compare") if claimed else Path(out)
    created = claimed or not directory.exists()
    try:
        check_new_directory(directory)
        sources = [scenario_sources(Path(s)) if s else {} for s in (source_a, source_b)]
        return _run_arms(directory, (scenario_a, scenario_b), (settings_a, settings_b), sources, rule, progress)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                directory.rmdir()  # only if nothing was saved in it
        raise


def _stop_rule(settings_a: Settings, settings_b: Settings, precision: float | None) -> StopRule:
    """The stopping rule of the pair (precision None: a fixed number of runs, `settings_a.runs`); ValueError
    when the arms' settings do not pair."""
    if settings_a.seed != settings_b.seed:
        raise ValueError(f"the arms must have the same seed to pair run by run, not {settings_a.seed} and "
                         f"{settings_b.seed}")
    if settings_a.runs != settings_b.runs:
        raise ValueError(f"the arms must make the same runs, not {settings_a.runs} and {settings_b.runs}")
    if settings_b.precision is not None and settings_b.precision != (precision or settings_a.precision):
        raise ValueError("give the precision once (the `precision` argument or settings_a): it applies to the pair")
    precision = precision if precision is not None else settings_a.precision
    if precision is not None:
        Settings(precision=precision, min_runs=settings_a.min_runs, max_runs=settings_a.max_runs)  # checks them
    if precision is None and settings_a.runs < 1:
        raise ValueError("a comparison needs at least one run")
    return StopRule(precision=precision, min_runs=settings_a.min_runs, max_runs=settings_a.max_runs,
                    batch_size=settings_a.batch_size)


def _run_arms(directory: Path, scenarios: tuple[Scenario, Scenario], settings: tuple[Settings, Settings],
              sources: list[dict], rule: StopRule, progress: Progress | None) -> Path:
    """Create both arms' writers on one backend, run the pairs to the stopping rule, finalize both."""
    first = rule.min_runs if rule.precision else settings[0].runs
    kept = rule.model_copy(update={"precision": None})  # a resumed arm finishes its target; it has no rule alone
    s = settings[0]
    with backend_for(s.scheduler, s.workers) as backend:
        writers: list[ResultsWriter] = []
        try:
            for arm, scenario, st, src in zip(ARMS, scenarios, settings, sources):
                writers.append(ResultsWriter.create(
                    directory / arm, scenario=scenario, sources=src, seed=st.seed, runs=first, backend=backend.name,
                    workers=backend.workers, trace_runs=s.trace_runs, grid_step=s.grid_step,
                    overrides=st.overrides, settings=kept, injections=st.injections, blocks=st.blocks))
            tally = PairedTally.of(writers[0].model, writers[1].model)
            began = time.perf_counter()
            stopped = None
            while stopped is None:
                _run_pairs(writers, backend, tally, rule.batch_size, progress)
                stopped = _stop_reason(writers, tally, rule)
            wall = time.perf_counter() - began
            for writer in writers:
                writer.finalize(wall_time=wall, stopped_because=stopped)
        except BaseException:
            for writer in writers:
                writer.close(discard=writer.next_run == 0)
            raise
    return directory


def _run_pairs(writers: list[ResultsWriter], backend: Backend, tally: PairedTally, batch_size: int | None,
               progress: Progress | None) -> None:
    """Run both arms from their next run to their target, range by range, saving and counting each pair."""
    start, stop = writers[0].next_run, writers[0].target
    size = batch_size or auto_batch_size(stop - start, backend.workers)
    jobs = (writers[0].job, writers[1].job)
    began = time.perf_counter()
    for batch_a, batch_b in backend.map_ordered(run_pair, jobs, batch_ranges(start, stop, size)):
        writers[0].append(batch_a)
        writers[1].append(batch_b)
        tally.add(batch_a.columns, batch_b.columns)
        if progress is not None:
            done = writers[0].next_run - start
            progress(done, stop - start, done / max(time.perf_counter() - began, 1e-9))


def _stop_reason(writers: list[ResultsWriter], tally: PairedTally, rule: StopRule) -> str | None:
    """None to go on (both arms' target raised alike), else why the comparison ends."""
    target = writers[0].target
    if not rule.precision:
        return f"the requested {target:,} pairs of runs are done"
    name, half = tally.widest()
    if half <= rule.precision:
        return (f"precision reached: the widest paired 95% half-width is {half:.4f} ({name}; Newcombe's method 10) "
                f"<= {rule.precision}")
    if target >= rule.max_runs:
        return (f"--max-runs {rule.max_runs:,} reached with the widest paired 95% half-width still {half:.4f} "
                f"({name}), above {rule.precision}")
    new = min(rule.max_runs, max(math.ceil(target * (half / rule.precision) ** 2), target + target // 4))
    for writer in writers:
        writer.set_target(new)
    return None


__all__ = ["ARMS", "PairedTally", "compare_arms", "pairing_problem", "run_pair"]
