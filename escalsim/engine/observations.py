"""Observations (the `observations:` section): an actor learns a variable late and imprecisely."""

from __future__ import annotations

import math
from dataclasses import dataclass

from escalsim.engine.draws import NON_NEGATIVE, Draws, ParamList
from escalsim.engine.element import ElementKind, Planning
from escalsim.engine.record import OBSERVATION
from escalsim.scenario.schema import Observation as ObservationSpec


@dataclass
class ObservationPlan:
    """An observation compiled: who observes which variable, and slots of lag, factor and initial value."""

    id: str
    observer: str
    of: str
    label: str
    lag: int
    factor: int
    round_to: float | None
    initial: int | None
    plist: ParamList


def plan_observation(oid: str, o: ObservationSpec, planning: Planning) -> ObservationPlan:
    """An observation's plan: who observes what, with which lag, noise factor and rounding (as slots)."""
    s = planning.scenario
    plist = ParamList(planning, "observation:" + oid)
    label = o.label or s.variables[o.of].label or o.of
    return ObservationPlan(oid, s.actors[o.observer].label, o.of, label, plist.add(o.lag_days, None, NON_NEGATIVE),
                           plist.add(o.factor, None, NON_NEGATIVE),
                           o.round_to, None if o.initial is None else plist.add(o.initial), plist)


class Observer:
    """Learns each change of a variable after a lag, scaled by a noise factor; never goes back in time."""

    __slots__ = ("world", "plan", "latest_seen", "r", "lag", "lag_draw", "factor", "factor_draw", "id", "round_to")

    def __init__(self, world, plan: ObservationPlan):
        self.world, self.plan = world, plan
        self.id, self.round_to = plan.id, plan.round_to  # read on every update learnt
        draws = Draws(world, plan.plist.key, plan.plist)
        self.latest_seen = -math.inf
        initial = world.values[plan.of] if plan.initial is None else draws(plan.initial)
        world.values[plan.id] = self._rounded(initial)
        world.change_listeners[plan.of].append(self.changed)
        self.r = draws.opened()  # every change draws the lag and the factor: resolved once, here
        self.lag, self.lag_draw = draws.resolve(plan.lag)
        self.factor, self.factor_draw = draws.resolve(plan.factor)

    def _rounded(self, value: float) -> float:
        step = self.plan.round_to
        return value if step is None else round(value / step) * step

    def changed(self, value: float) -> None:
        """Called on each change of the observed variable: the observer learns `value` times a drawn
        factor after a drawn lag (days)."""
        lag = self.lag if self.lag_draw is None else self.lag_draw(self.r)
        factor = self.factor if self.factor_draw is None else self.factor_draw(self.r)
        w = self.world
        w.at(lag, self._learn, w.now, value * factor)

    def _learn(self, when: float, estimate: float) -> None:
        if when < self.latest_seen:
            return
        self.latest_seen = when
        step, w = self.round_to, self.world
        if step is not None:  # as _rounded, inline: this runs for every update an observer learns
            estimate = round(estimate / step) * step
        if estimate == w.values[self.id]:  # most updates leave the (rounded) estimate where it was
            return
        if w.trace is not None:
            plan = self.plan
            w.note(OBSERVATION, plan.observer, f"estimates {plan.label} at ~{estimate:,.0f} "
                   f"(true now {w.values[plan.of]:,.0f})")
        w.set(self.id, estimate)


KIND = ElementKind("observations", plan_observation, Observer, starts=False)  # acts when its variable changes
