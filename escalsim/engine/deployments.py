"""Deployments (the `deployments:` section): forces sent in batches or a flow, through stages, with attrition."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from math import expm1

from escalsim import sampling
from escalsim.engine.draws import NON_NEGATIVE, Draws, ParamList
from escalsim.engine.element import ElementKind, Planning
from escalsim.engine.record import ATTRITION, DEPLOYMENT
from escalsim.sampling.discrete import binomial_checked
from escalsim.scenario.parameters import mean as param_mean
from escalsim.scenario.schema import Deployment as DeploymentSpec


@dataclass
class DeploymentPlan:
    """A deployment compiled: days instead of dates, parameter slots instead of parameters."""

    id: str
    title: str
    unit: str
    total: str
    schedule: list[tuple[float, int]]            # (day, size slot)
    stages: list[tuple[str, int | None, str | None]]  # (name, days slot, variable)
    flow_start: float = 0.0
    flow_until: float = math.inf
    size_slot: int | None = None
    interval_slot: int | None = None
    poisson_rate: float | None = None           # batches per day, from a target
    cap: float = math.inf
    attrition: tuple[int, float, str] | None = None  # (rate slot, step days, casualties variable)
    plist: ParamList = field(default_factory=ParamList)
    stage_events: list[str] = field(init=False)  # "<deployment>.<stage>", the event of first entry

    def __post_init__(self):
        self.stage_events = [f"{self.id}.{name}" for name, _, _ in self.stages]


def plan_deployment(did: str, d: DeploymentSpec, planning: Planning) -> DeploymentPlan:
    """A deployment's plan: dates turned into days, parameters into slots, a target into a Poisson rate."""
    s = planning.scenario
    plist = ParamList(planning, "deployment:" + did)
    title = d.label or f"{s.actors[d.from_].label} → {s.actors[d.to].label}"
    plan = DeploymentPlan(did, title, d.unit, d.total,
                          [(s.day_of(b.when), plist.add(b.size, None, NON_NEGATIVE)) for b in d.schedule],
                          [(st.name, None if st.days is None else plist.add(st.days, None, NON_NEGATIVE), st.variable)
                           for st in d.stages],
                          plist=plist)
    if d.flow is not None:
        f = d.flow
        plan.flow_start = s.day_of(f.start) if f.start is not None else 0.0
        plan.flow_until = s.day_of(f.until) if f.until is not None else math.inf
        plan.size_slot = plist.add(f.batch_size, None, NON_NEGATIVE)
        plan.cap = f.cap if f.cap is not None else math.inf
        if f.interval_days is not None:
            plan.interval_slot = plist.add(f.interval_days, None, NON_NEGATIVE)
        else:
            by = s.day_of(f.target.by)
            before = sum(param_mean(b.size) for b in d.schedule if s.day_of(b.when) <= by)
            missing = max(f.target.total - before, 0.0)
            plan.poisson_rate = missing / (param_mean(f.batch_size) * (by - plan.flow_start))
    if d.attrition is not None:
        plan.attrition = (plist.add(d.attrition.rate_per_day, None, NON_NEGATIVE), d.attrition.every_days,
                          d.attrition.variable)
    return plan


class Deployment:
    """Forces sent in batches; each batch goes through the stages; the last stage suffers attrition."""

    def __init__(self, world, plan: DeploymentPlan):
        self.world, self.plan = world, plan
        self.draws = draws = Draws(world, plan.plist.key, plan.plist)
        # batches, stage moves and attrition steps draw on most of a run's events: the stream is opened and
        # the parameters are resolved once (the same draws as opening the stream at the first draw)
        self.r = draws.rng()
        self.stage_days = [None if slot is None else draws.resolve(slot) for _, slot, _ in plan.stages]
        self.size = None if plan.size_slot is None else draws.resolve(plan.size_slot)
        self.attrition_rate = None if plan.attrition is None else draws.resolve(plan.attrition[0])
        self.in_stage = [0] * len(plan.stages)
        self.last = len(plan.stages) - 1  # the stage that suffers attrition, and its variable (read every step)
        self.last_var = plan.stages[-1][2] if plan.stages else None
        self.sent = 0
        self.factor = 1.0
        self.factor_before_stop = 1.0
        self.attrition_factor = 1.0
        self.flow_token = 0
        self.attrition_running = False

    def start(self) -> None:
        """Schedule the planned batches and the flow's first batch."""
        w, plan = self.world, self.plan
        for day, slot in plan.schedule:
            w.at(max(day, 0.0), self._scheduled, slot)
        if plan.size_slot is not None:
            w.at(plan.flow_start, self._next_batch, self.flow_token)

    def reforked(self) -> None:
        """At a fork, the wait for a Poisson flow's next batch is drawn again (exponential: memoryless); fixed
        or non-exponential intervals keep the batch already planned."""
        plan = self.plan
        if plan.size_slot is not None and plan.interval_slot is None and self.factor \
                and self.world.now >= plan.flow_start:
            self.flow_token += 1
            self._next_batch(self.flow_token)

    def _scheduled(self, slot: int) -> None:
        self.dispatch(self.draws(slot), "planned batch")

    def _next_batch(self, token: int) -> None:
        """Schedule the flow's next batch after one interval (at the current rate)."""
        if token != self.flow_token or self.factor == 0:
            return
        plan = self.plan
        if plan.interval_slot is not None:
            wait = self.draws(plan.interval_slot) / self.factor
        else:
            wait = sampling.exponential(self.r, plan.poisson_rate * self.factor)
        if self.world.now + wait <= plan.flow_until:
            self.world.at(wait, self._flow_batch, token)

    def _flow_batch(self, token: int) -> None:
        if token != self.flow_token:
            return
        room = self.plan.cap - self.sent
        if room <= 0:
            return
        size, draw = self.size
        self.dispatch(min(size if draw is None else draw(self.r), room), "flow")
        self._next_batch(token)

    def scale(self, factor: float, cause: str) -> None:
        """Multiply the batch rate (0 stops the flow); the clock to the next batch restarts now. A stopped flow
        stays stopped (resume it first)."""
        if self.factor == 0:
            self.world.note(DEPLOYMENT, self.plan.title, f"flow stopped: rate x{factor:.3g} has no effect", cause)
            return
        if factor == 0:
            self.factor_before_stop, self.factor = self.factor, 0.0
        else:
            self.factor *= factor
        self.flow_token += 1
        self._next_batch(self.flow_token)

    def resume(self, cause: str) -> None:
        """A stopped flow sends batches again at its rate before it stopped; the clock restarts now."""
        if self.factor != 0:
            return
        self.factor = self.factor_before_stop
        self.flow_token += 1
        self._next_batch(self.flow_token)

    def withdraw(self, share: float, to: int | None, cause: str) -> int:
        """Take round(share x the forces in the last stage) out of it: out of the country (the total falls), or
        back to stage `to`, which they go through again. Returns how many."""
        w, plan = self.world, self.plan
        last = len(plan.stages) - 1
        n = int(round(self.in_stage[last] * share))
        if n <= 0:
            return 0
        self.in_stage[last] -= n
        stage_var = plan.stages[last][2]
        if stage_var is not None:
            w.set(stage_var, w.values[stage_var] - n)
        if to is None:
            w.set(plan.total, w.values[plan.total] - n)
        else:
            self._enter(to, n)
        return n

    def scale_attrition(self, factor: float) -> None:
        """Multiply the attrition rate from now on (0 stops losses; a later factor > 0 cannot restart a rate of
        0, since 0 times anything is 0: give the rate back with the inverse factor of an earlier cut)."""
        self.attrition_factor *= factor
        attrition = self.plan.attrition
        if attrition is not None and self.attrition_factor > 0 and not self.attrition_running \
                and self.in_stage[-1] > 0:
            self.attrition_running = True
            self.world.at(attrition[1], self._attrition)

    def dispatch(self, size: float, why: str) -> None:
        """Send a batch of `size` forces (rounded; nothing if that is 0 or less): add it to the total,
        record the deployment's event, put it in the first stage. `why` is shown in the trace."""
        w, plan = self.world, self.plan
        size = int(round(size))
        if size <= 0:
            return
        self.sent += size
        w.set(plan.total, w.values[plan.total] + size)
        if plan.id not in w.event_times:  # happen() records the first time only; skip the call after it
            w.happen(plan.id)
        if w.trace is not None:
            w.note(DEPLOYMENT, plan.title, f"batch of {size:,} {plan.unit} arrives "
                   f"(total {w.values[plan.total]:,.0f})", why)
        if plan.stages:
            self._enter(0, size)

    def _enter(self, k: int, size: int) -> None:
        w, plan = self.world, self.plan
        name, days_slot, var = plan.stages[k]
        self.in_stage[k] += size
        if var is not None:
            w.set(var, w.values[var] + size)
        event = plan.stage_events[k]
        if event not in w.event_times:
            w.happen(event)
        if k > 0 and w.trace is not None:
            w.note(DEPLOYMENT, plan.title, f"{size:,} {plan.unit} move on to {name} "
                   f"(now {self.in_stage[k]:,} in {name})")
        if days_slot is not None:
            days, draw = self.stage_days[k]
            w.at(days if draw is None else draw(self.r), self._leave, k, size)
        elif plan.attrition is not None and not self.attrition_running and self.attrition_factor > 0:
            self.attrition_running = True
            w.at(plan.attrition[1], self._attrition)

    def _leave(self, k: int, size: int) -> None:
        var = self.plan.stages[k][2]
        self.in_stage[k] -= size
        if var is not None:
            self.world.set(var, self.world.values[var] - size)
        self._enter(k + 1, size)

    def _attrition(self) -> None:
        """One step of casualties in the last stage: Binomial(n, 1 - exp(-rate * step))."""
        last = self.last
        n = self.in_stage[last]
        if n <= 0 or self.attrition_factor == 0:
            self.attrition_running = False
            return
        w, plan = self.world, self.plan
        _, step, casualties_var = plan.attrition
        rate, draw = self.attrition_rate
        p = -expm1(-(rate if draw is None else draw(self.r)) * self.attrition_factor * step)
        lost = binomial_checked(self.r, n, p)  # n > 0 forces; 0 <= p < 1
        if lost:
            self.in_stage[last] -= lost
            stage_var, values = self.last_var, w.values
            if stage_var is not None:
                w.set(stage_var, values[stage_var] - lost)
            w.set(plan.total, values[plan.total] - lost)
            w.set(casualties_var, values[casualties_var] + lost)
            if w.trace is not None:
                w.note(ATTRITION, plan.title, f"{lost:,} casualties in {plan.stages[last][0]} "
                       f"(total {w.values[casualties_var]:,.0f})")
        w.at(step, self._attrition)


def create_deployment(world, plan: DeploymentPlan) -> Deployment:
    """A deployment in one run, registered in the world for the effects that scale or stop its flow."""
    deployment = world.deployments[plan.id] = Deployment(world, plan)
    return deployment


KIND = ElementKind("deployments", plan_deployment, create_deployment)
