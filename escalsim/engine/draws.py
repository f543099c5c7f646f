"""A component's parameters and its own random stream, created only when a random draw is first needed."""

from __future__ import annotations

from escalsim import sampling
from escalsim.scenario import parameters as P
from escalsim.scenario.schema import Hazard


class ParamList:
    """Compile-time list of a component's parameters; `add` returns the index used to draw it."""

    def __init__(self):
        self.items: list[tuple[object, bool, float | None]] = []  # (sampler, per_run, constant or None)
        self.constants: list[float | None] = []                   # the third column, copied by each run
        self.samplers: list = []                                   # the first column, for per-use draws

    def add(self, param, transform=None) -> int:
        """Register a parameter (optionally mapped through transform, e.g. a hazard into a daily rate)."""
        fn, per_run = P.sampler(param)
        lo, hi = P.support(param)
        constant = lo if lo == hi else None
        if transform is not None:
            raw = fn
            fn = lambda r: transform(raw(r))  # noqa: E731
            constant = None if constant is None else transform(constant)
        self.items.append((fn, per_run, constant))
        self.samplers.append(fn)
        self.constants.append(constant)
        return len(self.items) - 1


DAYS_PER = {"per_day": 1.0, "per_month": 365.25 / 12, "per_year": 365.25}


def add_hazard(plist: ParamList, h: Hazard) -> int:
    """Register a hazard as a daily rate (a chance p within d days is the rate -ln(1-p)/d)."""
    if h.probability is not None:
        days = h.within_days
        return plist.add(h.probability, lambda p: sampling.rate_from_probability(p, days))
    key = next(k for k in DAYS_PER if getattr(h, k) is not None)
    unit = DAYS_PER[key]
    return plist.add(getattr(h, key), lambda x: x / unit)


class Draws:
    """Run-time values of a ParamList: constants free, per-run values drawn once, per-use values each call."""

    __slots__ = ("world", "key", "items", "samplers", "values", "r")

    def __init__(self, world, key: str, plist: ParamList):
        self.world, self.key, self.items, self.samplers = world, key, plist.items, plist.samplers
        self.values = plist.constants.copy()
        self.r = None

    def rng(self):
        """The component's stream; on creation, per-run random parameters are drawn in declaration order."""
        if self.r is None:
            self.r = r = self.world.stream(self.key)
            for i, (fn, per_run, constant) in enumerate(self.items):
                if per_run and constant is None:
                    self.values[i] = fn(r)
        return self.r

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
        p = self(i)
        return p >= 1.0 or (p > 0.0 and (self.r or self.rng()).random() < p)
