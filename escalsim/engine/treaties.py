"""Treaties (the `treaties:` section): steps bring a treaty into force; its casus foederis calls each party's
obligation, honoured with a compliance probability after a delay."""

from __future__ import annotations

from dataclasses import dataclass, field

from escalsim.engine.draws import NON_NEGATIVE, PROBABILITY, Draws, ParamList
from escalsim.engine.effects import Apply, apply_all, compile_effects
from escalsim.engine.element import ElementKind, Planning
from escalsim.engine.record import OBLIGATION, TREATY
from escalsim.engine.world import Watch
from escalsim.scenario.schema import Treaty


@dataclass
class StepPlan:
    """A treaty step compiled: its event, its day if dated, the steps it waits for, slots of delay and chance."""

    event: str
    label: str
    day: float | None
    after: list[int]
    delay: int
    chance: int


@dataclass
class ObligationPlan:
    """An obligation compiled: its event, the party, slots of compliance and delay, and its effects
    (whose parameters are in its own `plist`)."""

    event: str
    party: str
    label: str
    compliance: int
    delay: int
    effects: list[Apply]
    plist: ParamList


@dataclass
class TreatyPlan:
    """A treaty compiled: its steps, its parsed casus foederis and its obligations."""

    id: str
    label: str
    steps: list[StepPlan]
    casus: object
    obligations: list[ObligationPlan]
    plist: ParamList = field(default_factory=ParamList)
    followers: list[list[int]] = field(init=False)  # per step, the undated steps that wait for it, in order

    def __post_init__(self):
        self.followers = [[j for j, other in enumerate(self.steps) if i in other.after and other.day is None]
                          for i in range(len(self.steps))]


def plan_treaty(tid: str, t: Treaty, planning: Planning) -> TreatyPlan:
    """A treaty's plan: its steps in order (dated or after others), its casus foederis, each obligation."""
    s = planning.scenario
    plist = ParamList(planning, "treaty:" + tid)
    ids = [st.id for st in t.steps]
    steps = []
    for i, st in enumerate(t.steps):
        after = [ids.index(a) for a in st.after] if st.after is not None else ([i - 1] if i and not st.date else [])
        steps.append(StepPlan(f"{tid}.{st.id}", st.label or st.id, None if st.date is None else s.day_of(st.date),
                              after, plist.add(st.delay_days, None, NON_NEGATIVE),
                              plist.add(st.probability, None, PROBABILITY)))
    obligations = []
    for ob in t.obligations:
        op = ParamList(planning, f"treaty:{tid}:{tid}.{ob.party}")
        obligations.append(ObligationPlan(f"{tid}.{ob.party}", s.actors[ob.party].label, ob.label,
                                          op.add(ob.compliance, None, PROBABILITY),
                                          op.add(ob.delay_days, None, NON_NEGATIVE),
                                          compile_effects(ob.effects, op, planning), op))
    return TreatyPlan(tid, t.label, steps, planning.parse(t.casus_foederis), obligations, plist)


class TreatyRun(Watch):
    """Steps bring the treaty into force; once in force, the casus foederis calls each party's obligation."""

    def __init__(self, world, plan: TreatyPlan):
        self.world, self.plan = world, plan
        self.draws = Draws(world, plan.plist.key, plan.plist)
        self.ob_draws = [Draws(world, ob.plist.key, ob.plist) for ob in plan.obligations]
        self.done: set[int] = set()
        self.in_force = self.invoked = False
        self.ob_enabled = [True] * len(plan.obligations)
        self.ob_token = [0] * len(plan.obligations)  # a disabled obligation's pending honour is dropped
        for i, ob in enumerate(plan.obligations):
            world.obligations[ob.event] = (self, i)
        super().__init__(world, plan.casus)

    def start(self) -> None:
        """Complete the steps dated on or before day 0, schedule the later dated ones, and begin the steps
        that wait for no other."""
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
            self.world.note(TREATY, self.plan.label, f"{step.label} does not happen")
            return
        self.world.at(self.draws(step.delay), self._complete, i)

    def _complete(self, i: int, when: float | None = None) -> None:
        w, plan = self.world, self.plan
        step = plan.steps[i]
        self.done.add(i)
        w.happen(step.event, plan.label, when=when)
        if when is None:
            w.note(TREATY, plan.label, step.label)
        for j in plan.followers[i]:
            if j not in self.done and self.done.issuperset(plan.steps[j].after):
                self._begin(j)
        if len(self.done) == len(plan.steps) and not self.in_force:
            self.in_force = True
            w.happen(plan.id, plan.label, when=when)
            w.note(TREATY, plan.label, "in force")
            if self.state:
                self._invoke()

    def on_change(self, holds: bool) -> None:
        """Invoke the casus foederis (once) when it becomes true while the treaty is in force."""
        if holds and self.in_force:
            self._invoke()

    def _invoke(self) -> None:
        if self.invoked:
            return
        self.invoked = True
        self.retire()  # the casus foederis is called once
        w, plan = self.world, self.plan
        w.happen(plan.id + ".casus_foederis", plan.casus.text)
        w.note(TREATY, plan.label, "casus foederis: the parties are called on", plan.casus.text)
        for i, (ob, draws) in enumerate(zip(plan.obligations, self.ob_draws)):
            if not self.ob_enabled[i]:
                w.note(OBLIGATION, ob.party, f"suspended, not called on: {ob.label}", plan.label)
            elif draws.chance(ob.compliance):
                w.at(draws(ob.delay), self._honour, i, self.ob_token[i])
            else:
                w.note(OBLIGATION, ob.party, f"does not honour: {ob.label}", plan.label)

    def set_obligation(self, i: int, enabled: bool, cause: str) -> None:
        """Suspend (or restore) obligation i: a suspended one is not called on, and one already decided but
        not yet carried out is dropped."""
        if enabled == self.ob_enabled[i]:
            return
        self.ob_enabled[i] = enabled
        self.ob_token[i] += 1
        ob = self.plan.obligations[i]
        self.world.note(OBLIGATION, ob.party, f"{'restored' if enabled else 'suspended'}: {ob.label}", cause)

    def block(self, i: int, on: bool, cause: str) -> None:
        """A move declines obligation i (on) or stops declining it: the same as suspending and restoring it."""
        self.set_obligation(i, not on, cause)

    def force(self, i: int, cause: str, override: bool = False) -> None:
        """An injected move: obligation i is honoured now, whatever the treaty's state (once only); refused and
        noted if it is suspended or blocked, unless it is an umpire's override."""
        ob = self.plan.obligations[i]
        if ob.event in self.world.event_times:
            self.world.note(OBLIGATION, ob.party, "injection ignored, already honoured", cause)
        elif not self.ob_enabled[i] and not override:
            self.world.note(OBLIGATION, ob.party, f"injection refused, suspended or blocked: {ob.label}", cause)
        else:
            self._honour(i, self.ob_token[i], cause if self.ob_enabled[i] else f"umpire override ({cause})", True)

    def _honour(self, i: int, token: int, cause: str | None = None, forced: bool = False) -> None:
        if not forced and (token != self.ob_token[i] or not self.ob_enabled[i]):
            return
        ob, draws = self.plan.obligations[i], self.ob_draws[i]
        w = self.world
        w.count_action(ob.event)
        w.happen(ob.event, self.plan.label)
        done = apply_all(ob.effects, w, draws, f"{ob.party}: {ob.label}")
        w.note(OBLIGATION, ob.party, f"honours {self.plan.label}: {ob.label}"
               + (" → " + "; ".join(done) if done else ""), cause or f"casus foederis: {self.plan.casus.text}")


KIND = ElementKind("treaties", plan_treaty, TreatyRun)
