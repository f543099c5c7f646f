"""Response options (conditions, chance or hazard, delay, alternatives) and treaties (steps, casus foederis)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from escalsim import sampling
from escalsim.draws import Draws, ParamList
from escalsim.effects import Apply, apply_all, compile_effects
from escalsim.schema import Hazard, ResponseOption, Scenario, Treaty
from escalsim.world import Watch

DAYS_PER = {"per_day": 1.0, "per_month": 365.25 / 12, "per_year": 365.25}


def add_hazard(plist: ParamList, h: Hazard) -> int:
    """Register a hazard as a daily rate (a chance p within d days is the rate -ln(1-p)/d)."""
    if h.probability is not None:
        days = h.within_days
        return plist.add(h.probability, lambda p: sampling.rate_from_probability(p, days))
    key = next(k for k in DAYS_PER if getattr(h, k) is not None)
    unit = DAYS_PER[key]
    return plist.add(getattr(h, key), lambda x: x / unit)


@dataclass
class OptionPlan:
    id: str
    actor: str
    label: str
    when: object
    chance: int | None
    hazard: int | None
    delay: int
    group: str | None
    repeatable: bool
    enabled: bool
    effects: list[Apply]
    plist: ParamList
    line: str = field(init=False)  # "Actor: label", the cause its effects pass on (e.g. to the ladder)
    key: str = field(init=False)   # of its random stream

    def __post_init__(self):
        self.line = f"{self.actor}: {self.label}"
        self.key = "option:" + self.id


def plan_option(oid: str, o: ResponseOption, s: Scenario, parse) -> OptionPlan:
    plist = ParamList()
    chance = None if o.probability is None else plist.add(o.probability)
    hazard = None if o.hazard is None else add_hazard(plist, o.hazard)
    delay = plist.add(o.delay_days)
    effects = compile_effects(o.effects, plist, [r.id for r in s.ladder.rungs])
    return OptionPlan(oid, s.actors[o.actor].label, o.label, parse(o.when), chance, hazard, delay,
                      o.group, o.repeatable, o.enabled, effects, plist)


class Option(Watch):
    """One actor's possible move: considered when its condition becomes true, fired after the decision delay."""

    __slots__ = ("plan", "draws", "enabled", "fired", "phase", "token", "decided_on")

    def __init__(self, world, plan: OptionPlan):
        self.plan = plan
        self.draws = Draws(world, plan.key, plan.plist)
        self.enabled = plan.enabled
        self.fired = 0
        self.phase = None  # None, "hazard" (waiting for the hazard to strike) or "delay" (decided)
        self.token = 0
        self.decided_on = math.nan
        super().__init__(world, plan.when)

    def on_change(self, holds: bool) -> None:
        if holds:
            self._consider()
        elif self.phase == "hazard":
            self._cancel()

    def _cancel(self) -> None:
        self.phase = None
        self.token += 1

    def _consider(self) -> None:
        if not self.enabled or self.phase is not None or (self.fired and not self.plan.repeatable):
            return  # off the table, already waiting or decided, or used up
        plan = self.plan
        if plan.chance is not None:
            if self.draws.chance(plan.chance):
                self._decide()
            elif self.world.trace is not None:
                self.world.note("decline", plan.actor, f"considers and declines: {plan.label}",
                                f"condition became true: {plan.when.text}")
            return
        self.phase, self.token = "hazard", self.token + 1
        wait = sampling.exponential(self.draws.rng(), self.draws(plan.hazard))
        self.world.at(wait, self._hazard_strikes, self.token)

    def _hazard_strikes(self, token: int) -> None:
        if token == self.token:
            self._decide()

    def _decide(self) -> None:
        self.phase, self.token = "delay", self.token + 1
        self.decided_on = self.world.env._now
        if self.plan.group:
            self._end_alternatives()
        self.world.at(self.draws(self.plan.delay), self._fire_if_current, self.token)

    def _fire_if_current(self, token: int) -> None:
        if token == self.token:
            self.fire(None)

    def fire(self, cause: str | None) -> None:
        """Fire now; `cause` is what the trace says led here (None: the decision taken after the delay)."""
        w, plan = self.world, self.plan
        w.count_action(plan.id)
        self.phase, self.token = None, self.token + 1
        self.fired += 1
        if not plan.repeatable:
            self.retire()  # a one-shot option never looks at its condition again
        w.happen(plan.id)
        w.fire_days.setdefault(plan.id, w.env._now)
        if plan.group:
            self._end_alternatives()
        if w.trace is None:
            apply_all(plan.effects, w, self.draws, plan.line)
        else:  # the decision is listed before what its effects set off, and names them
            if cause is None:
                cause = f"decided {w.model.date_of(self.decided_on)} once {plan.when.text}"
            idx = len(w.trace)
            w.note("decision", plan.actor, plan.label, cause)
            done = apply_all(plan.effects, w, self.draws, plan.line)
            w.trace[idx] = w.trace[idx].with_text(plan.label + (" → " + "; ".join(done) if done else ""))
        if plan.repeatable:
            w.flush()  # the effects may have changed this option's own condition
            if self.state:
                self._consider()

    def _end_alternatives(self) -> None:
        """Options in the same group are alternatives: choosing this one takes the others off the table."""
        for other in self.world.groups[self.plan.group]:
            if other is not self:
                other.set_enabled(False, f"alternative chosen: {self.plan.label}")

    def force(self, cause: str) -> None:
        """An injected decision: fire now whatever the condition, unless a one-shot option was already used."""
        if self.fired and not self.plan.repeatable:
            self.world.note("injection", self.plan.actor, f"injection ignored, already done: {self.plan.label}",
                            cause)
            return
        self.fire(cause)

    def set_enabled(self, enabled: bool, cause: str) -> None:
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if not enabled:
            self._cancel()
            self.world.note("option", self.plan.actor, f"off the table: {self.plan.label}", cause)
        elif self.state:
            self._consider()


@dataclass
class StepPlan:
    event: str
    label: str
    day: float | None
    after: list[int]
    delay: int
    chance: int


@dataclass
class ObligationPlan:
    event: str
    party: str
    label: str
    compliance: int
    delay: int
    effects: list[Apply]
    plist: ParamList


@dataclass
class TreatyPlan:
    id: str
    label: str
    steps: list[StepPlan]
    casus: object
    obligations: list[ObligationPlan]
    plist: ParamList = field(default_factory=ParamList)


def plan_treaty(tid: str, t: Treaty, s: Scenario, parse) -> TreatyPlan:
    plist = ParamList()
    ids = [st.id for st in t.steps]
    rungs = [r.id for r in s.ladder.rungs]
    steps = []
    for i, st in enumerate(t.steps):
        after = [ids.index(a) for a in st.after] if st.after is not None else ([i - 1] if i and not st.date else [])
        steps.append(StepPlan(f"{tid}.{st.id}", st.label or st.id, None if st.date is None else s.day_of(st.date),
                              after, plist.add(st.delay_days), plist.add(st.probability)))
    obligations = []
    for ob in t.obligations:
        op = ParamList()
        obligations.append(ObligationPlan(f"{tid}.{ob.party}", s.actors[ob.party].label, ob.label,
                                          op.add(ob.compliance), op.add(ob.delay_days),
                                          compile_effects(ob.effects, op, rungs), op))
    return TreatyPlan(tid, t.label, steps, parse(t.casus_foederis), obligations, plist)


class TreatyRun(Watch):
    """Steps bring the treaty into force; once in force, the casus foederis calls each party's obligation."""

    def __init__(self, world, plan: TreatyPlan):
        self.world, self.plan = world, plan
        self.draws = Draws(world, "treaty:" + plan.id, plan.plist)
        self.ob_draws = [Draws(world, f"treaty:{plan.id}:{ob.event}", ob.plist) for ob in plan.obligations]
        self.done: set[int] = set()
        self.in_force = self.invoked = False
        super().__init__(world, plan.casus)

    def start(self) -> None:
        for i, step in enumerate(self.plan.steps):
            if step.day is not None:
                if step.day <= 0:
                    self._complete(i, when=step.day)
                else:
                    self.world.at(step.day, self._complete, i)
            elif not step.after:
                self._begin(i)

    def _begin(self, i: int) -> None:
        step = self.plan.steps[i]
        if not self.draws.chance(step.chance):
            self.world.note("treaty", self.plan.label, f"{step.label} does not happen")
            return
        self.world.at(self.draws(step.delay), self._complete, i)

    def _complete(self, i: int, when: float | None = None) -> None:
        w, plan = self.world, self.plan
        step = plan.steps[i]
        self.done.add(i)
        w.happen(step.event, plan.label, when=when)
        if when is None:
            w.note("treaty", plan.label, step.label)
        for j, other in enumerate(plan.steps):
            if i in other.after and j not in self.done and other.day is None and set(other.after) <= self.done:
                self._begin(j)
        if len(self.done) == len(plan.steps) and not self.in_force:
            self.in_force = True
            w.happen(plan.id, plan.label, when=when)
            w.note("treaty", plan.label, "in force")
            if self.state:
                self._invoke()

    def on_change(self, holds: bool) -> None:
        if holds and self.in_force:
            self._invoke()

    def _invoke(self) -> None:
        if self.invoked:
            return
        self.invoked = True
        self.retire()  # the casus foederis is called once
        w, plan = self.world, self.plan
        w.happen(plan.id + ".casus_foederis", plan.casus.text)
        w.note("treaty", plan.label, "casus foederis: the parties are called on", plan.casus.text)
        for ob, draws in zip(plan.obligations, self.ob_draws):
            if draws.chance(ob.compliance):
                w.at(draws(ob.delay), self._honour, ob, draws)
            else:
                w.note("obligation", ob.party, f"does not honour: {ob.label}", plan.label)

    def _honour(self, ob: ObligationPlan, draws: Draws) -> None:
        w = self.world
        w.count_action(ob.event)
        w.happen(ob.event, self.plan.label)
        w.fire_days.setdefault(ob.event, w.env._now)
        done = apply_all(ob.effects, w, draws, f"{ob.party}: {ob.label}")
        w.note("obligation", ob.party, f"honours {self.plan.label}: {ob.label}"
               + (" → " + "; ".join(done) if done else ""), f"casus foederis: {self.plan.casus.text}")
