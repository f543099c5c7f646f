"""Response options (the `options:` section): an actor's move, considered when its condition holds, decided by
chance or a hazard, fired after a delay; alternatives in a `group:` exclude each other."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from escalsim import sampling
from escalsim.engine.draws import NON_NEGATIVE, PROBABILITY, Draws, ParamList, add_hazard
from escalsim.engine.effects import Apply, apply_all, compile_effects
from escalsim.engine.element import ElementKind, Planning
from escalsim.engine.record import DECISION, DECLINE, INJECTION, OPTION
from escalsim.engine.world import Watch
from escalsim.scenario.schema import ResponseOption


@dataclass
class OptionPlan:
    """An option compiled: its parsed condition, slots of its chance or hazard and delay, and its effects."""

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
    lazy: bool = field(init=False)  # its Draws is made on first use (see __post_init__)

    def __post_init__(self):
        self.line = f"{self.actor}: {self.label}"
        self.key = "option:" + self.id
        # made when first needed: most options of a run are never considered, and a Draws with neither
        # expressions evaluated at creation nor per-run values to record is the same whenever it is made
        self.lazy = not self.plist.bound and not self.plist.recorded


def plan_option(oid: str, o: ResponseOption, planning: Planning) -> OptionPlan:
    """An option's plan: its parsed condition, and its chance or hazard, delay and effects as slots."""
    s, parse = planning.scenario, planning.parse
    plist = ParamList(planning, "option:" + oid)
    chance = None if o.probability is None else plist.add(o.probability, None, PROBABILITY)
    hazard = None if o.hazard is None else add_hazard(plist, o.hazard)
    delay = plist.add(o.delay_days, None, NON_NEGATIVE)
    effects = compile_effects(o.effects, plist, planning)
    return OptionPlan(oid, s.actors[o.actor].label, o.label, parse(o.when), chance, hazard, delay,
                      o.group, o.repeatable, o.enabled, effects, plist)


class Option(Watch):
    """One actor's possible move: considered when its condition becomes true, fired after the decision delay.
    Created once per run, registered in the world (for injections and effects) and in its group."""

    __slots__ = ("plan", "draws", "enabled", "fired", "phase", "token", "decided_on", "blocked")

    def __init__(self, world, plan: OptionPlan):
        self.plan = plan
        self.draws = None if plan.lazy else Draws(world, plan.key, plan.plist)
        self.enabled = plan.enabled
        self.fired = 0
        self.phase = None  # None, "hazard" (waiting for the hazard to strike) or "delay" (decided)
        self.token = 0
        self.decided_on = math.nan
        self.blocked = 0  # moves declining the option now (a block may overlap another)
        Watch.__init__(self, world, plan.when)  # named, not super(): a run creates every option
        world.options[plan.id] = self
        if plan.group:
            world.groups[plan.group].append(self)

    def _draws(self) -> Draws:
        """The option's Draws, made now (a lazy plan's, on first use)."""
        self.draws = draws = Draws(self.world, self.plan.key, self.plan.plist)
        return draws

    def on_change(self, holds: bool) -> None:
        """Consider the option when its condition becomes true; when it becomes false, stop a hazard still
        running (a decision already taken still fires)."""
        if holds:
            self._consider()
        elif self.phase == "hazard":
            self._cancel()

    def _cancel(self) -> None:
        self.phase = None
        self.token += 1

    def _consider(self) -> None:
        if not self.enabled or self.phase is not None or (self.fired and not self.plan.repeatable) or self.blocked:
            return  # off the table, already waiting or decided, used up, or declined by a move
        plan, draws = self.plan, self.draws or self._draws()
        if plan.chance is not None:
            if draws.chance(plan.chance):
                self._decide()
            elif self.world.trace is not None:
                self.world.note(DECLINE, plan.actor, f"considers and declines: {plan.label}",
                                f"condition became true: {plan.when.text}")
            return
        self.phase, self.token = "hazard", self.token + 1
        wait = sampling.exponential(draws.rng(), draws(plan.hazard))
        self.world.at(wait, self._hazard_strikes, self.token)

    def reforked(self) -> None:
        """At a fork, a running hazard's wait is drawn again (exponential: memoryless); a decision already
        taken keeps the day it will be carried out."""
        if self.phase == "hazard":
            self.phase = None
            self._consider()

    def _hazard_strikes(self, token: int) -> None:
        if token == self.token:
            self._decide()

    def _decide(self) -> None:
        self.phase, self.token = "delay", self.token + 1
        self.decided_on = self.world.now
        if self.plan.group:
            self._end_alternatives()
        self.world.at((self.draws or self._draws())(self.plan.delay), self._fire_if_current, self.token)

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
        if plan.group:
            self._end_alternatives()
        draws = self.draws or self._draws()
        if w.trace is None:
            apply_all(plan.effects, w, draws, plan.line)
        else:  # the decision is listed before what its effects set off, and names them
            if cause is None:
                cause = f"decided {w.model.date_of(self.decided_on)} once {plan.when.text}"
            idx = len(w.trace)
            w.note(DECISION, plan.actor, plan.label, cause)
            done = apply_all(plan.effects, w, draws, plan.line)
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

    def cancel_pending(self, cause: str) -> None:
        """Drop a decision taken but not yet carried out (in its delay); the option stays possible: with a hazard
        its clock restarts now if its condition holds, with a probability it is considered again the next time
        its condition becomes true. Alternatives already taken off the table by the decision stay off."""
        if self.phase != "delay":
            return
        self._cancel()
        self.world.note(OPTION, self.plan.actor, f"decision dropped before it was carried out: {self.plan.label}",
                        cause)
        if self.state and self.plan.hazard is not None:  # a hazard runs while the condition holds; a chance is
            self._consider()                              # taken again when the condition next becomes true

    def force(self, cause: str, override: bool = False) -> None:
        """An injected decision: fire now whatever the condition and chance, unless a one-shot option was
        already used, or the option is off the table (its alternative chosen, or disabled) or blocked by a move:
        then the injection is refused and noted, unless it is an umpire's override, noted as such."""
        plan, w = self.plan, self.world
        if self.fired and not plan.repeatable:
            w.note(INJECTION, plan.actor, f"injection ignored, already done: {plan.label}", cause)
            return
        if (not self.enabled or self.blocked) and not override:
            why = "blocked by a move" if self.blocked else "off the table"
            w.note(INJECTION, plan.actor, f"injection refused, {why}: {plan.label}", cause)
            return
        if not self.enabled or self.blocked:
            cause = f"umpire override ({cause})"
        self.fire(cause)

    def block(self, on: bool, cause: str) -> None:
        """Start (on) or end a move's block: while blocked the option cannot be chosen, and a decision pending
        when the block starts is dropped; when the last block ends, it is considered again if its condition
        holds."""
        self.blocked += 1 if on else -1
        if on:
            self._cancel()
            self.world.note(OPTION, self.plan.actor, f"declined for now: {self.plan.label}", cause)
        elif not self.blocked and self.state:
            self._consider()

    def set_enabled(self, enabled: bool, cause: str) -> None:
        """Put the option on or off the table. Off cancels a running hazard and a decision not yet
        fired, and is noted in the trace; on considers the option at once if its condition holds."""
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if not enabled:
            self._cancel()
            self.world.note(OPTION, self.plan.actor, f"off the table: {self.plan.label}", cause)
        elif self.state:
            self._consider()


KIND = ElementKind("options", plan_option, Option, starts=False)  # acts when its condition changes
