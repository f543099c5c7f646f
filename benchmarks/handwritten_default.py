"""A hand-written SimPy model of scenarios/dprk_russia_2024.yaml, and a benchmark of its cost per SimPy event.

The one scenario written by hand as a competent SimPy user would, without escalsim: processes that `yield
env.timeout(...)`, a `simpy.Event` waking a process when its condition becomes true, an `Interrupt` when a pending
hazard's condition stops holding, plain state in a dict, Python's C-level `random.Random`. Its time per run, timed
in the same process as escalsim's engine (benchmarks/bench_engine.py --handwritten), is the yardstick of the
engine's speed on this scenario.

    python benchmarks/handwritten_default.py --runs 2000

It models the scenario as committed in 55404b5 (three tracks: widening, means, indo_pacific; named parameters; 37
options), with escalsim's semantics (docs/scenario-language.md); day 0 = 2024-10-15, horizon day 365.
PARAMETERS, drawn first: attrition rate (range90 lognormal), replacement pace and Russian shortfall rate (uniform),
rank-correlated with the first (0.6, 0.4) through a Gaussian copula: normals by inversion (NormalDist), correlated
by a Cholesky factor of 2 sin(pi rho / 6). deployment(): 1,500 troops on days 0 and 5, then Poisson batches from
day 10 at the rate that sends the 7,000 still missing for 10,000 by 31 December (over the mean batch and 67 days),
Triangular(1000, 1500, 2500) each, no cap; scale() multiplies the rate and restarts the clock (an interrupt).
batch(): transit, training, combat, where attrition() takes Binomial(n, 1 - exp(-14 rate factor)) every 14 days.
Each change of an observed variable sends a report (a Timeout with a callback) that lands after the lag, dropped if
older than the latest learnt. OPTIONS: conditions are lambdas over the state; flush(), once after each event's
changes, re-checks those reading what changed: a rising edge wakes the option's process (a chance draw, or an Exp
wait for a hazard), a falling edge interrupts a pending hazard; then delay, groups (deciding takes the alternatives
off the table, even mid-delay), effects. Events the conditions read (an option fired, a flag, first troops in
combat, the new year) are 0/1 entries of the state. treaty(): steps (chances, delays), in force, casus foederis
(watched like a condition), obligations. track(): on each track, Exp(up + down) on the current rung, woken or
interrupted to redraw when an effect moves the track onto or off a rung with background hazards. Per rung, the
first day at or above it and the first day on it (entered). checkpoints(): 13 snapshots; the one at the end of 31
December (day 78) also marks the new year (`day >= date('2025-01-01')`).

Events are counted at no cost: each SimPy event takes an id from env._eid when scheduled, so processed = ids taken -
events still queued at the horizon - 1 (run()'s `until`). CountingEnvironment (counting in step()) checks this on
other runs and breaks the count down by event type.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import time
from collections import Counter, namedtuple
from collections.abc import Callable
from statistics import NormalDist

import simpy
from bare import bare_simpy_us_per_event  # benchmarks/bare.py, beside this file (no escalsim)

START, HORIZON, MONTH, YEAR = dt.date(2024, 10, 15), 365.0, 365.25 / 12, 365.25
CHECKPOINT_DATES = ("2024-10-31", "2024-11-30", "2024-12-31", "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30",
                    "2025-05-31", "2025-06-30", "2025-07-31", "2025-08-31", "2025-09-30", "2025-10-14")
CHECKPOINTS = [(dt.date.fromisoformat(d) - START).days + 1.0 for d in CHECKPOINT_DATES]  # at the end of the day
DEC_END = CHECKPOINT_DATES.index("2024-12-31")  # day 78.0, also the start of 1 January 2025
TRACKS = {"widening": ("foreign_troops_deployed", "foreign_troops_in_combat", "state_joins_war", "nato_direct"),
          "means": ("conventional_war", "deep_strikes", "nuclear_signalling", "nuclear_use"),
          "indo_pacific": ("korea_baseline", "dprk_gains_russian_tech", "dprk_weapons_advance",
                           "korea_military_crisis")}
TRACK_IDS = tuple(TRACKS)
WIDENING, MEANS, INDO = range(3)
RUNGS = [r for rungs in TRACKS.values() for r in rungs]
RUNG = {r: (t, k) for t, rungs in enumerate(TRACKS.values()) for k, r in enumerate(rungs)}
TOP = [len(rungs) - 1 for rungs in TRACKS.values()]
INITIAL = {"dprk_in_russia": 0, "dprk_in_combat": 0, "dprk_casualties": 0, "denial": 1, "us_confirmed": 0,
           "ukraine_appeals": 0, "rok_lethal_aid": 0, "rok_nonlethal_expanded": 0, "ukraine_capacity": 0,
           "western_deep_strikes": 0, "ukraine_holds_kursk": 1, "dprk_in_ukraine": 0, "russian_manpower_strain": 1,
           "tech_transfer": 0, "nuclear_tech_transfer": 0, "belarus_in_war": 0, "nato_involved": 0,
           "us_est_troops": 0, "nis_est_troops": 0, "nis_est_casualties": 0, "widening": 0, "means": 0,
           "indo_pacific": 0,
           # events the conditions read, as 0/1: first troops in combat, the new year, a flag, options fired
           "combat_began": 0, "new_year": 0, "state_formally_joined": 0, "kyiv_reports_dprk_combat": 0,
           "kyiv_asks_seoul_for_weapons": 0, "moscow_threatens_seoul": 0, "moscow_requests_more_troops": 0,
           "pyongyang_replacements_only": 0, "pyongyang_sends_second_contingent": 0}
KEYS = list(INITIAL)

SCHEDULED, FLOW_START, STEP = 1500, 10.0, 14.0  # deployment dprk_to_russia; STEP: attrition every 14 days
BATCH = (1000.0, 2500.0, 1500.0)  # random.triangular(low, high, mode)
FLOW_RATE = (10000 - 2 * SCHEDULED) / (sum(BATCH) / 3 * ((dt.date(2024, 12, 31) - START).days - FLOW_START))
NEW_YEAR = (dt.date(2025, 1, 1) - START).days
ATTRITION_MU = (math.log(0.0008) + math.log(0.004)) / 2  # range90 lognormal: 5% and 95% quantiles
ATTRITION_SIGMA = (math.log(0.004) - math.log(0.0008)) / (2 * NormalDist().inv_cdf(0.95))
_A, _B = 2 * math.sin(math.pi * 0.6 / 6), 2 * math.sin(math.pi * 0.4 / 6)  # normals' correlations (Spearman 0.6, 0.4)
_L22 = math.sqrt(1 - _A * _A)
_L32 = -_A * _B / _L22  # replacement pace and shortfall rate are uncorrelated: 0 = _A _B + _L22 _L32
_L33 = math.sqrt(1 - _B * _B - _L32 * _L32)
YES_TO_MORE_TROOPS, MAJOR_SUPPLY, NONLETHAL_SUPPLY = 0.75, 1.0, 0.25  # fixed parameters
# observations: (estimate, lag: triangular (low, high, mode), factor: lognormal(0, sigma), clip, per run?, round to)
OBS = (("us_est_troops", (2, 14, 7), 0.15, (0.7, 1.4), True, 1000),
       ("nis_est_troops", (1, 10, 4), 0.10, (0.8, 1.25), True, 1000),
       ("nis_est_casualties", (7, 45, 20), 0.25, (0.5, 2.0), False, 100))
TROOPS, CASUALTIES = (0, 1), (2,)


PHI, INV_PHI = NormalDist().cdf, NormalDist().inv_cdf


def normal(r: random.Random) -> float:
    """A standard normal by inversion."""
    u = r.random()
    while u == 0.0:
        u = r.random()
    return INV_PHI(u)


def pert(r: random.Random, low: float, mode: float, high: float) -> float:
    span = high - low
    return low + span * r.betavariate(1 + 4 * (mode - low) / span, 1 + 4 * (high - mode) / span)


def binomial(r: random.Random, n: int, p: float) -> int:
    """Inversion when n p < 10 (exact); above, a rounded normal (exact mean and variance, approximate shape)."""
    if n * p >= 10:
        return min(n, max(0, round(r.gauss(n * p, math.sqrt(n * p * (1 - p))))))
    s, f, u, k = p / (1 - p), (1 - p) ** n, r.random(), 0
    while u > f and k < n:
        u -= f
        k += 1
        f *= (n + 1) * s / k - s
    return k


def u(low: float, high: float) -> Callable[[random.Random], float]:
    """A delay in days drawn anew at each use."""
    return lambda r: r.uniform(low, high)


def per_run(low: float, high: float, unit: float) -> Callable[[Run], float]:
    """A rate per `unit` days drawn once per run, as a daily rate."""
    return lambda m: m.r.uniform(low, high) / unit


def within(p: float, days: float) -> float:
    return -math.log1p(-p) / days


# when: the condition; p: its chance each time it becomes true (a number, or m -> chance read then), or rate: a daily
# hazard while it holds (a number, or m -> rate, drawn once per run); delay: per-use draw r -> days; fx: the effects
Option = namedtuple("Option", "id when p rate delay group repeat fx", defaults=(None, None, None, None, False, None))


OPTIONS = (
    # Kyiv
    Option("kyiv_warns_of_world_war", lambda v: v["us_confirmed"] >= 1 or v["nis_est_troops"] >= 1000, p=1.0,
           delay=u(0, 3), fx=lambda m: m.set("ukraine_appeals", 1)),
    Option("kyiv_reports_dprk_combat", lambda v: v["combat_began"] == 1, p=1.0, delay=u(1, 10),
           fx=lambda m: m.raise_to(WIDENING, 1)),
    Option("kyiv_asks_seoul_for_weapons", lambda v: v["ukraine_appeals"] >= 1 and v["kyiv_reports_dprk_combat"] == 1,
           p=0.9, delay=u(3, 21)),
    # Seoul
    Option("seoul_sends_weapons", lambda v: v["kyiv_asks_seoul_for_weapons"] == 1 or v["tech_transfer"] >= 1,
           rate=per_run(0.03, 0.1, MONTH), delay=u(0, 7), group="seoul_response",
           fx=lambda m: (m.set("rok_lethal_aid", 1), m.add("ukraine_capacity", MAJOR_SUPPLY))),
    Option("seoul_expands_nonlethal_aid", lambda v: v["nis_est_troops"] >= 3000, rate=0.1 / MONTH,
           group="seoul_response",
           fx=lambda m: (m.set("rok_nonlethal_expanded", 1), m.add("ukraine_capacity", NONLETHAL_SUPPLY))),
    # Washington and NATO
    Option("washington_confirms", lambda v: v["us_est_troops"] >= 1000, p=1.0, fx=lambda m: m.set("us_confirmed", 1)),
    Option("washington_allows_deep_strikes", lambda v: v["ukraine_appeals"] >= 1 and (
        v["kyiv_reports_dprk_combat"] == 1 or v["us_est_troops"] >= 10000), rate=per_run(0.03, 0.2, MONTH),
           delay=u(2, 10), fx=lambda m: (m.set("western_deep_strikes", 1), m.add("ukraine_capacity", MAJOR_SUPPLY),
                                         m.raise_to(MEANS, 1))),
    Option("nato_sends_troops", lambda v: v["state_formally_joined"] == 1, rate=within(0.2, 90), delay=u(7, 45),
           group="nato_response", fx=lambda m: (m.set("nato_involved", 1), m.raise_to(WIDENING, 3))),
    Option("nato_arms_not_troops", lambda v: v["state_formally_joined"] == 1, rate=within(0.6, 60),
           group="nato_response", fx=lambda m: m.add("ukraine_capacity", MAJOR_SUPPLY)),
    Option("nato_border_clash", lambda v: v["belarus_in_war"] >= 1, rate=0.3 / YEAR,
           fx=lambda m: (m.set("nato_involved", 1), m.raise_to(WIDENING, 3))),
    # Moscow: the war, the troops, the nuclear threat
    Option("moscow_nuclear_signal", lambda v: v["western_deep_strikes"] >= 1, p=0.6, delay=u(0, 14),
           fx=lambda m: m.raise_to(MEANS, 2)),
    Option("moscow_nuclear_alert", lambda v: v["widening"] >= 3, p=0.8, delay=u(0, 7),
           fx=lambda m: m.raise_to(MEANS, 2)),
    Option("moscow_signalling_fades", lambda v: v["means"] == 2 and v["western_deep_strikes"] >= 1,
           rate=within(0.5, 90), repeat=True, fx=lambda m: m.move(MEANS, 1)),
    Option("moscow_signalling_fades_without_strikes", lambda v: v["means"] == 2 and v["western_deep_strikes"] < 1,
           rate=within(0.5, 90), repeat=True, fx=lambda m: m.move(MEANS, 0)),
    Option("moscow_nuclear_use", lambda v: v["means"] >= 2, rate=per_run(0.005, 0.04, YEAR),
           fx=lambda m: m.raise_to(MEANS, 3)),
    Option("moscow_nuclear_use_against_nato", lambda v: v["means"] >= 2 and v["widening"] >= 3,
           rate=per_run(0.05, 0.3, YEAR), fx=lambda m: m.raise_to(MEANS, 3)),
    Option("moscow_recruitment_shortfall", lambda v: v["russian_manpower_strain"] < 5,
           rate=lambda m: m.shortfall_rate / MONTH, repeat=True, fx=lambda m: m.add("russian_manpower_strain", 1)),
    Option("moscow_needs_replacements", lambda v: v["dprk_casualties"] >= 2000, p=1.0,
           fx=lambda m: m.add("russian_manpower_strain", 1)),
    Option("moscow_losses_mount", lambda v: v["ukraine_capacity"] >= 1, rate=0.2 / MONTH,
           fx=lambda m: m.add("russian_manpower_strain", 1)),
    Option("moscow_requests_more_troops", lambda v: v["russian_manpower_strain"] >= 3, rate=0.5 / MONTH),
    Option("moscow_retakes_kursk", lambda v: v["ukraine_holds_kursk"] >= 1
           and v["dprk_in_combat"] >= 3000 + 2000 * v["ukraine_capacity"], rate=per_run(0.08, 0.3, MONTH),
           fx=lambda m: (m.set("ukraine_holds_kursk", 0), m.scale_attrition(m.r.uniform(0.5, 1.0)))),
    Option("moscow_sends_dprk_into_ukraine", lambda v: v["ukraine_holds_kursk"] < 1 and v["dprk_in_combat"] >= 1000,
           rate=within(0.25, 180), fx=lambda m: m.set("dprk_in_ukraine", 1)),
    Option("moscow_acknowledges_deployment", lambda v: v["denial"] >= 1 and v["nis_est_casualties"] >= 1000,
           rate=0.2 / MONTH, fx=lambda m: m.set("denial", 0)),
    # Moscow and Pyongyang: technology for troops, and the answer to Seoul
    Option("moscow_pays_in_technology", lambda v: v["kyiv_reports_dprk_combat"] == 1, rate=per_run(0.03, 0.15, MONTH),
           fx=lambda m: (m.add("tech_transfer", 1), m.raise_to(INDO, 1))),
    Option("moscow_pays_for_second_contingent", lambda v: v["pyongyang_sends_second_contingent"] == 1, p=0.7,
           delay=u(30, 120), fx=lambda m: (m.add("tech_transfer", 1), m.raise_to(INDO, 1))),
    Option("moscow_shares_nuclear_technology", lambda v: (v["tech_transfer"] >= 2 and v["rok_nonlethal_expanded"] < 1)
           or v["tech_transfer"] >= 3, rate=0.3 / YEAR, fx=lambda m: m.set("nuclear_tech_transfer", 1)),
    Option("moscow_retaliates_against_seoul", lambda v: v["rok_lethal_aid"] >= 1, p=0.6, delay=u(7, 60),
           fx=lambda m: (m.add("tech_transfer", 1), m.raise_to(INDO, 1))),
    Option("moscow_threatens_seoul", lambda v: v["rok_lethal_aid"] >= 1, p=0.9, delay=u(0, 7)),
    Option("pyongyang_demonstrates_advance", lambda v: v["tech_transfer"] >= 1, rate=per_run(0.03, 0.12, MONTH),
           fx=lambda m: m.raise_to(INDO, 2)),
    Option("pyongyang_shows_nuclear_advance", lambda v: v["nuclear_tech_transfer"] >= 1, rate=0.5 / YEAR,
           fx=lambda m: m.raise_to(INDO, 2)),
    Option("pyongyang_provokes_seoul", lambda v: v["rok_lethal_aid"] >= 1 and v["moscow_threatens_seoul"] == 1
           and v["indo_pacific"] >= 1, rate=0.4 / YEAR, fx=lambda m: m.move(INDO, m.v["indo_pacific"] + 1)),
    # Pyongyang: the troops
    Option("pyongyang_replacements_only", lambda v: v["dprk_in_russia"] + v["dprk_casualties"] >= 10000
           or v["new_year"] == 1, p=1.0, fx=lambda m: m.scale(m.replacement_pace)),
    Option("pyongyang_sends_second_contingent", lambda v: v["moscow_requests_more_troops"] == 1
           and v["pyongyang_replacements_only"] == 1,
           p=lambda m: YES_TO_MORE_TROOPS - m.seoul_deterrence * m.v["rok_lethal_aid"], delay=u(7, 30),
           fx=lambda m: (m.scale(3.0), m.add("russian_manpower_strain", -2))),
    Option("pyongyang_second_contingent_sent", lambda v: v["pyongyang_sends_second_contingent"] == 1, p=1.0,
           delay=u(60, 120), fx=lambda m: m.scale(0.3333)),
    Option("pyongyang_declares_war", lambda v: v["dprk_in_ukraine"] >= 1 and v["denial"] < 1, p=0.35, delay=u(0, 30),
           fx=lambda m: (m.set("state_formally_joined", 1), m.raise_to(WIDENING, 2))),
    # Minsk
    Option("minsk_joins_war", lambda v: v["us_confirmed"] >= 1 and v["kyiv_reports_dprk_combat"] == 1,
           rate=per_run(0.01, 0.06, YEAR), group="belarus_joins",
           fx=lambda m: (m.set("belarus_in_war", 1), m.set("state_formally_joined", 1), m.raise_to(WIDENING, 2))),
    Option("minsk_joins_after_nato", lambda v: v["nato_involved"] >= 1, p=0.4, delay=u(3, 30), group="belarus_joins",
           fx=lambda m: (m.set("belarus_in_war", 1), m.raise_to(WIDENING, 2))),
)
CASUS = len(OPTIONS)  # the treaty's casus foederis, watched like the options' conditions
CONDITIONS = [o.when for o in OPTIONS] + [lambda v: v["ukraine_holds_kursk"] >= 1 or v["western_deep_strikes"] >= 1]
READERS: dict[str, list[int]] = {}  # variable -> conditions reading it (the string constants of their code)
for _i, _when in enumerate(CONDITIONS):
    for _name in {c for c in _when.__code__.co_consts if c in INITIAL}:
        READERS.setdefault(_name, []).append(_i)
GROUPS = {o.group: [i for i, x in enumerate(OPTIONS) if x.group == o.group] for o in OPTIONS if o.group}
OBLIGATIONS = (("dprk", 0.8, lambda r: pert(r, 14, 60, 200),
                lambda m: (m.set("denial", 0), m.scale(1.5), m.raise_to(WIDENING, 1))),
               ("russia", 0.5, lambda r: r.uniform(30, 180),
                lambda m: (m.add("tech_transfer", 1), m.raise_to(INDO, 1))))  # (party, compliance, delay, effects)
HAZARD, DELAY = 1, 2  # phases of an option's process


class Watch:
    """One run's state of a watched condition (an option's `when`, or the casus foederis) and its process."""

    __slots__ = ("cond", "holds", "enabled", "done", "waiting", "wake", "phase", "proc", "rate")

    def __init__(self, cond, holds: bool, rate: float | None = None):
        self.cond, self.holds, self.enabled, self.rate = cond, holds, True, rate
        self.done = self.waiting = False
        self.wake = self.proc = self.phase = None


class Run:
    """One run of the scenario: the state, and the processes that change it."""

    def __init__(self, r: random.Random, env: simpy.Environment):
        self.r, self.env, self.v = r, env, dict(INITIAL)
        # parameters: a Gaussian copula over (attrition rate, replacement pace, shortfall rate), then the rest
        z1, z2, z3 = normal(r), normal(r), normal(r)
        self.attrition_rate = math.exp(ATTRITION_MU + ATTRITION_SIGMA * z1)
        self.replacement_pace = 0.05 + 0.2 * PHI(_A * z1 + _L22 * z2)
        self.shortfall_rate = 0.15 + 0.25 * PHI(_B * z1 + _L32 * z2 + _L33 * z3)
        self.seoul_deterrence = r.uniform(0, 0.3)
        self.dirty: list[str] = []
        self.at_or_above = [0.0 if k == 0 else math.nan for rungs in TRACKS.values() for k in range(len(rungs))]
        self.entered = list(self.at_or_above)
        self.max_levels = [0, 0, 0]
        self.fired, self.snaps = {}, []
        self.factor, self.attrition_factor = 1.0, 1.0
        self.flow_on = self.flow_kicked = self.attrition_on = False
        self.attrition_p = -math.expm1(-self.attrition_rate * STEP)
        self.obs_factor = [self.factor_draw(o) if o[4] else None for o in OBS]
        self.latest = [-math.inf] * len(OBS)
        # background hazards per track and rung (daily rates; none above the top rung or below the bottom one)
        self.up = [[0.0, 0.0, 0.15 / YEAR, 0.0], [0.0, 0.1 / YEAR, 0.0, 0.0],
                   [0.0, 0.0, r.uniform(0.05, 0.25) / YEAR, 0.0]]
        self.down = [[0.0, 0.0, 0.0, 0.1 / MONTH], [0.0] * 4, [0.0, 0.0, 0.0, 0.5 / MONTH]]
        self.track_timed = [False] * 3   # the track's process waits on a hazard (a Timeout), not an idle Event
        self.track_kicked = [False] * 3
        self.track_idle: list = [None] * 3
        v = self.v
        self.watches = [Watch(o.when, o.when(v), o.rate(self) if callable(o.rate) else o.rate) for o in OPTIONS]
        self.watches.append(Watch(CONDITIONS[CASUS], CONDITIONS[CASUS](v)))
        process = env.process
        self.track_procs = [process(self.track(t)) for t in range(3)]  # first: waiting before any effect moves a track
        for w, o in zip(self.watches, OPTIONS):
            w.proc = process(self.option(w, o))
        self.flow_proc = process(self.deployment())
        process(self.treaty())
        process(self.checkpoints())

    # --- state changes: effects mark what they change; flush() then re-checks the conditions reading it -----------
    def set(self, name: str, value: float) -> None:
        if self.v[name] != value:
            self.v[name] = value
            self.dirty.append(name)

    def add(self, name: str, value: float) -> None:
        self.v[name] += value
        self.dirty.append(name)

    def flush(self) -> None:
        v, watches = self.v, self.watches
        for name in self.dirty:
            for i in READERS.get(name, ()):
                w = watches[i]
                if w.done:
                    continue
                holds = w.cond(v)
                if holds != w.holds:
                    w.holds = holds
                    if holds:
                        if w.waiting and w.enabled:
                            w.waiting = False
                            w.wake.succeed()
                    elif w.phase == HAZARD:  # the hazard's clock stops
                        w.phase = None
                        w.proc.interrupt()
        self.dirty.clear()

    # --- tracks ---------------------------------------------------------------------------------------------------
    def raise_to(self, t: int, rung: int) -> None:
        if self.v[TRACK_IDS[t]] < rung:
            self.move(t, rung)

    def move(self, t: int, new: int, background: bool = False) -> None:
        """Put track t on rung `new` (clamped): rungs passed on the way up are at or above from now, the rung
        landed on is entered; an effect's move wakes the track's process to redraw its background hazards."""
        new = max(0, min(new, TOP[t]))
        name = TRACK_IDS[t]
        if new == self.v[name]:
            return
        now, k0 = self.env.now, 4 * t
        if self.entered[k0 + new] != self.entered[k0 + new]:
            self.entered[k0 + new] = now
        if new > self.max_levels[t]:
            for k in range(self.max_levels[t] + 1, new + 1):
                self.at_or_above[k0 + k] = now
            self.max_levels[t] = new
        self.v[name] = new
        self.dirty.append(name)
        if not background and not self.track_kicked[t]:
            if self.track_timed[t]:
                self.track_kicked[t] = True
                self.track_procs[t].interrupt()
            elif self.up[t][new] + self.down[t][new] > 0:
                self.track_kicked[t] = True
                self.track_idle[t].succeed()

    def track(self, t: int):
        env, r, v, name, up, down = self.env, self.r, self.v, TRACK_IDS[t], self.up[t], self.down[t]
        while True:
            level = v[name]
            rate = up[level] + down[level]
            try:
                if rate > 0:
                    self.track_timed[t] = True
                    yield env.timeout(r.expovariate(rate))
                    self.track_timed[t] = False
                else:
                    self.track_idle[t] = env.event()
                    yield self.track_idle[t]
                    self.track_kicked[t] = False
                    continue  # moved onto a rung with hazards
            except simpy.Interrupt:
                self.track_timed[t] = self.track_kicked[t] = False
                continue
            self.move(t, level + (1 if r.random() * rate < up[level] else -1), background=True)
            self.flush()

    # --- the deployment -------------------------------------------------------------------------------------------
    def scale(self, factor: float) -> None:
        """Multiply the flow's rate; the clock to the next batch restarts. (A scaling before day 10 would start
        the flow at once in escalsim; none can happen here: the earliest, the treaty's, comes after day 18.)"""
        self.factor *= factor
        if self.flow_on and not self.flow_kicked:
            self.flow_kicked = True
            self.flow_proc.interrupt()

    def scale_attrition(self, factor: float) -> None:
        self.attrition_factor *= factor
        self.attrition_p = -math.expm1(-self.attrition_rate * self.attrition_factor * STEP)

    def deployment(self):
        env, r = self.env, self.r
        self.dispatch(SCHEDULED)
        yield env.timeout(5)
        self.dispatch(SCHEDULED)
        yield env.timeout(FLOW_START - env.now)
        self.flow_on = True
        while True:
            try:
                yield env.timeout(r.expovariate(FLOW_RATE * self.factor))
            except simpy.Interrupt:
                self.flow_kicked = False
                continue
            self.dispatch(r.triangular(*BATCH))

    def dispatch(self, size: float) -> None:
        size = round(size)
        if size > 0:
            self.v["dprk_in_russia"] += size
            self.report(TROOPS, self.v["dprk_in_russia"])
            self.dirty.append("dprk_in_russia")
            self.flush()
            self.env.process(self.batch(size))

    def batch(self, n: int):
        env, r, v = self.env, self.r, self.v
        yield env.timeout(r.uniform(3, 10))  # transit
        yield env.timeout(pert(r, 21, 35, 80))  # training
        v["dprk_in_combat"] += n
        self.dirty.append("dprk_in_combat")
        self.set("combat_began", 1)
        self.flush()
        if not self.attrition_on:
            self.attrition_on = True
            env.process(self.attrition())

    def attrition(self):
        env, r, v = self.env, self.r, self.v
        while True:
            yield env.timeout(STEP)
            n = v["dprk_in_combat"]
            if n <= 0:
                self.attrition_on = False
                return
            lost = binomial(r, n, self.attrition_p)
            if lost:
                v["dprk_in_combat"] = n - lost
                v["dprk_in_russia"] -= lost
                v["dprk_casualties"] += lost
                self.report(TROOPS, v["dprk_in_russia"])
                self.report(CASUALTIES, v["dprk_casualties"])
                self.dirty += ("dprk_in_combat", "dprk_in_russia", "dprk_casualties")
                self.flush()

    # --- observations ---------------------------------------------------------------------------------------------
    def factor_draw(self, o: tuple) -> float:
        return min(max(self.r.lognormvariate(0.0, o[2]), o[3][0]), o[3][1])

    def report(self, which: tuple[int, ...], value: float) -> None:
        env, r = self.env, self.r
        for k in which:
            f = self.obs_factor[k] or self.factor_draw(OBS[k])
            env.timeout(r.triangular(*OBS[k][1]), (k, env.now, value * f)).callbacks.append(self.learn)

    def learn(self, event: simpy.Event) -> None:
        k, when, estimate = event.value
        if when < self.latest[k]:
            return  # a late report of an older change
        self.latest[k] = when
        name, step = OBS[k][0], OBS[k][5]
        estimate = round(estimate / step) * step
        if estimate != self.v[name]:
            self.v[name] = estimate
            self.dirty.append(name)
            self.flush()

    # --- options --------------------------------------------------------------------------------------------------
    def option(self, w: Watch, o):
        env, r = self.env, self.r
        consider = w.holds  # it may hold from the start
        while True:
            if not consider:
                w.waiting, w.wake = True, env.event()
                yield w.wake  # a rising edge of the condition
                if not (w.holds and w.enabled):
                    continue
            consider = False
            try:
                if w.rate is not None:
                    w.phase = HAZARD
                    yield env.timeout(r.expovariate(w.rate))
                elif o.p != 1.0 and r.random() >= (o.p(self) if callable(o.p) else o.p):
                    continue  # declined: reconsidered on the next rising edge
                w.phase = DELAY
                for i in GROUPS.get(o.group, ()):  # the alternatives are off the table, even if already decided
                    other = self.watches[i]
                    if other is not w and other.enabled:
                        other.enabled = False
                        if other.phase is not None:
                            other.phase = None
                            other.proc.interrupt()
                if o.delay is not None:
                    yield env.timeout(o.delay(r))
            except simpy.Interrupt:  # the condition failed (hazard) or an alternative was chosen
                consider = w.holds and w.enabled
                continue
            w.phase, w.done = None, not o.repeat
            self.fired.setdefault(o.id, env.now)
            if o.id in self.v:  # happened('kyiv_reports_dprk_combat') and the like
                self.set(o.id, 1)
            if o.fx is not None:
                o.fx(self)
            self.flush()
            if w.done:
                return
            consider = w.holds and w.enabled

    # --- the treaty -----------------------------------------------------------------------------------------------
    def treaty(self):
        """The Duma ratifies on day 9, then the Federation Council and Putin sign; Pyongyang's decree comes after the
        June signing (counted from day 0); instruments are exchanged once both are done: then it is in force."""
        env, r = self.env, self.r
        if r.random() >= 0.98 * 0.99 * 0.99:  # one of the three steps with a chance does not happen
            return
        russia = 9.0 + r.triangular(5, 35, 14) + r.triangular(1, 21, 7)
        yield env.timeout(max(russia, r.triangular(7, 90, 30)) + r.triangular(3, 45, 14))
        self.fired["dprk_russia_treaty"] = env.now
        casus = self.watches[CASUS]
        if not casus.holds:
            casus.waiting, casus.wake = True, env.event()
            yield casus.wake
        casus.done = True
        for party, compliance, delay, fx in OBLIGATIONS:
            if r.random() < compliance:
                env.process(self.honour(party, delay(r), fx))

    def honour(self, party: str, delay: float, fx):
        yield self.env.timeout(delay)
        self.fired["dprk_russia_treaty." + party] = self.env.now
        fx(self)
        self.flush()

    def checkpoints(self):
        for day in CHECKPOINTS:
            yield self.env.timeout(day - self.env.now)
            self.snaps.append(tuple(self.v.values()))
            if day == NEW_YEAR:  # `day >= date('2025-01-01')`: the end of 31 December is the start of 1 January
                self.v["new_year"] = 1
                self.dirty.append("new_year")
                self.flush()


class CountingEnvironment(simpy.Environment):
    """Counts the events step() processes, by type."""

    def __init__(self):
        super().__init__()
        self.kinds: Counter = Counter()

    def step(self):
        self.kinds[type(self._queue[0][3]).__name__] += 1
        super().step()


def simulate(r: random.Random, env: simpy.Environment | None = None) -> tuple[Run, int]:
    """One run; returns it and the number of SimPy events it processed."""
    env = simpy.Environment() if env is None else env
    m = Run(r, env)
    env.run(until=HORIZON)
    m.snaps += [tuple(m.v.values())] * (len(CHECKPOINTS) - len(m.snaps))  # the last checkpoint is the horizon
    return m, next(env._eid) - len(env._queue) - 1


def time_model(runs: int, seed: int) -> tuple[float, int, list]:
    """(seconds, SimPy events processed, per-run results) of `runs` runs drawn from Random(seed). A result is
    (at or above, entered, events fired, checkpoint of 31 December, one year, parameters)."""
    r, kept, events = random.Random(seed), [], 0
    t = time.perf_counter()
    for _ in range(runs):
        m, n = simulate(r)
        events += n
        kept.append((m.at_or_above, m.entered, m.fired, m.snaps[DEC_END], m.snaps[-1],
                     (m.attrition_rate, m.replacement_pace, m.shortfall_rate)))
    return time.perf_counter() - t, events, kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5, help="timings of the model (the best is kept)")
    args = ap.parse_args()

    r, kinds, checked = random.Random(args.seed + 1), Counter(), min(200, args.runs)
    for _ in range(checked):  # the free count against counting in step(), on other runs (also a warm-up)
        env = CountingEnvironment()
        assert simulate(r, env)[1] == sum(env.kinds.values()) - 1  # step() also saw run()'s `until` (an Event)
        kinds += env.kinds
    kinds["Event"] -= checked
    bare = min(bare_simpy_us_per_event(200_000) for _ in range(3))
    seconds, events, kept = min((time_model(args.runs, args.seed) for _ in range(args.repeats)), key=lambda x: x[0])
    per_event, per_run, timeouts = seconds / events * 1e6, seconds / args.runs * 1e6, kinds["Timeout"] / checked
    print(f"bare SimPy loop: {bare:.3f} us/event (best of 3, 200,000 events each)")
    print(f"hand-written model, {args.runs} runs, best of {args.repeats}: {args.runs / seconds:,.0f} runs/s, "
          f"{per_run:.1f} us/run, {events / args.runs:.1f} SimPy events/run (ids taken - still queued - until)")
    print(f"  {per_event:.3f} us/event, per-run setup included: ratio {per_event / bare:.2f} x bare")
    print(f"  per Timeout ({timeouts:.1f}/run, the delays scheduled): {per_run / timeouts:.3f} us, "
          f"ratio {per_run / timeouts / bare:.2f} x bare")
    print(f"  events/run by type (counted in step() over {checked} other runs, same count checked): "
          + ", ".join(f"{k} {c / checked:.1f}" for k, c in kinds.most_common()))

    n = len(kept)
    print(f"\nfidelity, the same {n} runs (seed {args.seed}), +- one standard error:")
    for k, rung in enumerate(RUNGS):
        p = sum(first[k] < HORIZON for first, *_ in kept) / n
        print(f"  P(at or above {rung:<24} by the horizon) {p:.4f} +- {math.sqrt(p * (1 - p) / n):.4f}")
    for name in ("dprk_in_russia", "dprk_casualties"):
        i = KEYS.index(name)
        for label, col in (("2024-12-31", 3), ("one year", 4)):
            xs = [row[col][i] for row in kept]
            mean = sum(xs) / n
            sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
            print(f"  mean {name} at {label:<10} {mean:9.1f} +- {sd / math.sqrt(n):.1f}")


if __name__ == "__main__":
    main()
