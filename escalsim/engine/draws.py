"""A component's parameters and its own random stream, created only when a random draw is first needed."""

from __future__ import annotations

import math
from functools import partial

from escalsim import sampling
from escalsim.scenario import parameters as P
from escalsim.scenario.schema import Hazard

PROBABILITY = (0.0, 1.0)          # domains an expression's value is clipped to when used
NON_NEGATIVE = (0.0, math.inf)
ANY = (-math.inf, math.inf)


class ParamList:
    """Compile-time list of one component's parameters, drawn from its stream `key`; `add` returns the index
    (slot) used to draw each. `planning` (an element.Planning) parses expressions and names the per-run random
    values to record; without it (tests), expressions are refused and nothing is recorded."""

    def __init__(self, planning=None, key: str = ""):
        self.planning, self.key = planning, key
        self.items: list[tuple] = []                 # (raw sampler, per_run, constant or None, transform or None)
        self.constants: list[float | None] = []      # the third column, copied by each run
        self.samplers: list = []                     # per-use draw functions (transform applied)
        self.expressions: dict[int, tuple] = {}      # slot -> (compiled expression, low, high, transform)
        self.recorded: list[int] = []                # slots of random values drawn once per run
        # what each run needs, prepared here once: (slot, raw sampler, transform) of the random values drawn
        # once per run, in slot order (the first draws of the stream); (slot, value(world), fixed for the run)
        # of the expressions (`_expression_value`)
        self.per_run: list[tuple] = []
        self.bound: list[tuple] = []
        self.dynamic = False                         # an expression to evaluate at each use

    def add(self, param, transform=None, domain: tuple[float, float] = ANY) -> int:
        """Register a parameter (optionally mapped through transform, e.g. a hazard into a daily rate); an
        expression's value is clipped to `domain` (before the transform) when it is used."""
        slot = len(self.items)
        if P.is_expression(param):
            if self.planning is None:
                raise ValueError(f"the expression {param!r} needs a scenario to be read against")
            expr = self.planning.parse(param)
            self.expressions[slot] = (expr, domain[0], domain[1], transform)
            # one that reads only parameters is fixed for the run: evaluated once, when the run creates the Draws
            fixed = (not expr.events and not expr.uses_time
                     and expr.variables <= self.planning.scenario.parameters.keys())
            self.bound.append((slot, _expression_value(expr, domain[0], domain[1], transform), fixed))
            self.dynamic = self.dynamic or not fixed
            self.items.append((None, False, None, transform))
            self.samplers.append(None)
            self.constants.append(None)
            return slot
        fn, per_run = P.sampler(param)
        lo, hi = P.support(param)
        constant = lo if lo == hi else None
        composed = fn
        if transform is not None:
            composed = lambda r: transform(fn(r))  # noqa: E731
            constant = None if constant is None else transform(constant)
        self.items.append((fn, per_run, constant, transform))
        if per_run and constant is None:
            self.per_run.append((slot, fn, transform))
        self.samplers.append(composed)
        self.constants.append(constant)
        if per_run and constant is None and self.planning is not None:
            self.recorded.append(slot)
            self.planning.recorded.append((self.key, slot, self.planning.paths.get(id(param), self.key)))
        return slot


def _expression_value(expr, low: float, high: float, transform):
    """value(world, r=None): an expression slot's value in a world now, clipped to [low, high] (NaN: low), then
    transformed; a run binds it to its world (functools.partial)."""
    evaluate = expr.evaluate

    def value(world, _r=None):
        x = evaluate(world.values, world.now, world.event_times)
        x = low if x != x else min(max(float(x), low), high)
        return x if transform is None else transform(x)

    return value


DAYS_PER = {"per_day": 1.0, "per_month": 365.25 / 12, "per_year": 365.25}


def add_hazard(plist: ParamList, h: Hazard) -> int:
    """Register a hazard as a daily rate (a chance p within d days is the rate -ln(1-p)/d)."""
    if h.probability is not None:
        days = h.within_days
        return plist.add(h.probability, lambda p: sampling.rate_from_probability(p, days), PROBABILITY)
    key = next(k for k in DAYS_PER if getattr(h, k) is not None)
    unit = DAYS_PER[key]
    return plist.add(getattr(h, key), lambda x: x / unit, NON_NEGATIVE)


class Draws:
    """Run-time values of a ParamList: constants free, per-run values drawn once (the first draws of the
    component's stream, whenever it is opened), per-use values and expressions at each call."""

    __slots__ = ("world", "key", "per_run", "samplers", "values", "r", "raw")

    def __init__(self, world, key: str, plist: ParamList):
        self.world = world  # one assignment each: a run creates ~50 of these
        self.key = key
        self.per_run = plist.per_run
        self.samplers = plist.samplers
        self.values = plist.constants.copy()
        self.r = None
        self.raw = None  # per-run random values as the file gives them (before a transform), when recorded
        if plist.bound:  # expressions: one fixed for the run is evaluated now, the others at each use
            if plist.dynamic:
                self.samplers = list(self.samplers)
            for slot, value, fixed in plist.bound:
                if fixed:
                    self.values[slot] = value(world)
                else:
                    self.samplers[slot] = partial(value, world)
        if plist.recorded:
            world.draws[key] = self

    def rng(self):
        """The component's stream; on creation, per-run random parameters are drawn in declaration order."""
        if self.r is None:
            self.r = r = self.world.stream(self.key)
            if self.per_run:
                values = self.values
                raw = self.raw = {}
                for i, fn, transform in self.per_run:
                    x = fn(r)
                    raw[i] = x
                    values[i] = x if transform is None else transform(x)
        return self.r

    def per_run_value(self, slot: int) -> float:
        """The value drawn once per run in `slot`, as the file gives it (before any transform): the stream is
        opened if the run never needed it, which draws the same values it would have drawn."""
        self.rng()
        return self.raw[slot]

    def opened(self):
        """The stream, opened now if any parameter is random (else None): a component that draws on most
        events resolves its parameters once with `resolve`. Opening early gives the same draws as opening at
        the first draw, since a stream draws its per-run values first, whenever it is opened."""
        return self.rng() if None in self.values else None

    def resolve(self, i: int) -> tuple[float | None, object]:
        """(value, None) for a parameter fixed in this run (a constant, or drawn per run; call `opened` first),
        else (None, its draw function): a hot path then calls a sampler only for per-use parameters."""
        value = self.values[i]
        return (value, None) if value is not None else (None, self.samplers[i])

    def __call__(self, i: int) -> float:
        value = self.values[i]
        if value is not None:
            return value
        if self.r is None:
            self.rng()
            value = self.values[i]  # a per-run value is drawn when the stream is created
            if value is not None:
                return value
        return self.samplers[i](self.r)

    def chance(self, i: int) -> bool:
        """True with the probability in slot i; certain outcomes use no random number."""
        p = self.values[i]  # as self(i), without the call for a value fixed in this run
        if p is None:
            p = self(i)
        return p >= 1.0 or (p > 0.0 and (self.r or self.rng()).random() < p)
