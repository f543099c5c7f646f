"""The distributions a number in a scenario may be: one pydantic model per `dist:`, with its support, sampler and
mean. Every model is `Strict`: unknown keys are errors, values frozen once validated."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from escalsim import sampling

Finite = Annotated[float, Field(allow_inf_nan=False)]
Sampler = Callable[[Any], float]


class Strict(BaseModel):
    """Base of every scenario model: unknown keys are errors, values are frozen after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _bounds(clip: tuple[float | None, float | None]) -> tuple[float, float]:
    """A clip's (low, high), an open side as -inf or inf."""
    return (-math.inf if clip[0] is None else clip[0]), (math.inf if clip[1] is None else clip[1])


class _Dist(Strict):
    per: Literal["run", "use"] = Field(
        description="'run': drawn once per run (uncertainty about the world); "
        "'use': drawn anew each time the value is used (variability)."
    )
    clip: tuple[Finite | None, Finite | None] | None = Field(
        None, description="[low, high] bounds applied to every draw; null for no bound on that side"
    )
    source: str | None = Field(None, description="where the numbers come from, or why they are assumed")

    @model_validator(mode="after")
    def _clip_order(self):
        if self.clip is not None and None not in self.clip and self.clip[0] > self.clip[1]:
            raise ValueError(f"clip is [low, high], got [{self.clip[0]:g}, {self.clip[1]:g}]: "
                             f"write [{self.clip[1]:g}, {self.clip[0]:g}]")
        return self

    def _support(self) -> tuple[float, float]:
        raise NotImplementedError

    def support(self) -> tuple[float, float]:
        """Smallest interval holding every draw, after clipping."""
        low, high = self._support()
        if self.clip is not None:
            if self.clip[0] is not None:
                low, high = max(low, self.clip[0]), max(high, self.clip[0])
            if self.clip[1] is not None:
                low, high = min(low, self.clip[1]), min(high, self.clip[1])
        return low, high

    def _raw(self) -> Sampler:
        raise NotImplementedError

    def sampler(self) -> Sampler:
        raw = self._raw()
        if self.clip is None:
            return raw
        low, high = _bounds(self.clip)
        return lambda r: min(max(raw(r), low), high)

    def mean(self) -> float:
        """Mean of the unclipped distribution (used to turn targets into rates)."""
        raise NotImplementedError


def _ordered(*names: str):
    def check(self):
        values = [getattr(self, n) for n in names]
        if any(a > b for a, b in zip(values, values[1:])):
            raise ValueError(f"need {' <= '.join(names)}, got {', '.join(f'{n}={v}' for n, v in zip(names, values))}")
        return self

    return model_validator(mode="after")(check)


class Fixed(Strict):
    """A constant written as a distribution: every draw is `value` (per is accepted and ignored)."""

    dist: Literal["fixed"]
    value: Finite
    source: str | None = None
    per: Literal["run", "use"] | None = None

    def support(self):
        """(value, value)."""
        return self.value, self.value

    def sampler(self) -> Sampler:
        """A draw function that takes a random stream and returns `value`."""
        value = self.value
        return lambda r: value

    def mean(self) -> float:
        """The value."""
        return self.value


class Uniform(_Dist):
    """Uniform between low and high."""

    dist: Literal["uniform"]
    low: Finite
    high: Finite
    _check = _ordered("low", "high")

    def _support(self):
        return self.low, self.high

    def _raw(self):
        return sampling.uniform_sampler(self.low, self.high)

    def mean(self):
        """(low + high) / 2."""
        return (self.low + self.high) / 2


class Triangular(_Dist):
    """Triangular between low and high, most likely at mode."""

    dist: Literal["triangular"]
    low: Finite
    mode: Finite
    high: Finite
    _check = _ordered("low", "mode", "high")

    def _support(self):
        return self.low, self.high

    def _raw(self):
        return sampling.triangular_sampler(self.low, self.mode, self.high)

    def mean(self):
        """(low + mode + high) / 3."""
        return (self.low + self.mode + self.high) / 3


class Pert(_Dist):
    """PERT (a scaled beta) between low and high, most likely at mode."""

    dist: Literal["pert"]
    low: Finite
    mode: Finite
    high: Finite
    lamb: Finite = Field(4.0, gt=0, description="shape weight of the mode (4 is the classic PERT)")
    _check = _ordered("low", "mode", "high")

    def _support(self):
        return self.low, self.high

    def _raw(self):
        return sampling.pert_sampler(self.low, self.mode, self.high, self.lamb)

    def mean(self):
        """(low + lamb * mode + high) / (lamb + 2)."""
        return (self.low + self.lamb * self.mode + self.high) / (self.lamb + 2)


class Normal(_Dist):
    """Normal with this mean and standard deviation sd."""

    dist: Literal["normal"]
    mean_: Finite = Field(alias="mean")
    sd: Finite = Field(ge=0)

    def _support(self):
        return (-math.inf, math.inf) if self.sd > 0 else (self.mean_, self.mean_)

    def _raw(self):
        return sampling.normal_sampler(self.mean_, self.sd)

    def sampler(self) -> Sampler:
        if self.clip is None:
            return self._raw()
        return sampling.normal_sampler(self.mean_, self.sd, clip=_bounds(self.clip))

    def mean(self):
        """The mean."""
        return self.mean_


# A draw is exp(mu + sigma z) with |z| <= 8.3 (the normal quantile of a 53-bit uniform), and the mean is
# exp(mu + sigma^2 / 2): both must stay below the largest float, about e^709.78.
_LOG_MAX = 709.0


def _check_log_scale(mu: float, sigma: float, what: str, hint: str) -> None:
    top = mu + max(8.3 * sigma, sigma * sigma / 2)
    if top > _LOG_MAX:
        raise ValueError(f"with {what}, draws reach about e^{top:.0f}, beyond the largest number (about e^709); "
                         + hint)


class Lognormal(_Dist):
    """Lognormal: log(X) is normal with mean mu and standard deviation sigma."""

    dist: Literal["lognormal"]
    mu: Finite = Field(description="mean of log(X)")
    sigma: Finite = Field(ge=0, description="standard deviation of log(X)")

    @model_validator(mode="after")
    def _scale(self):
        _check_log_scale(self.mu, self.sigma, f"mu={self.mu:g}, sigma={self.sigma:g}",
                         "mu is the mean of log X, so for values around M write mu = ln M (around 1,500: "
                         "mu 7.3), or use dist: range90 with low and high")
        return self

    def _support(self):
        return 0.0, math.inf

    def _raw(self):
        return sampling.normal_sampler(self.mu, self.sigma, log=True)

    def sampler(self) -> Sampler:
        if self.clip is None:
            return self._raw()
        return sampling.normal_sampler(self.mu, self.sigma, log=True, clip=_bounds(self.clip))

    def mean(self):
        """exp(mu + sigma^2 / 2)."""
        return math.exp(self.mu + self.sigma**2 / 2)


class Gamma(_Dist):
    """Gamma with this shape and scale (mean shape * scale)."""

    dist: Literal["gamma"]
    shape: Finite = Field(gt=0)
    scale: Finite = Field(gt=0)

    def _support(self):
        return 0.0, math.inf

    def _raw(self):
        k, theta = self.shape, self.scale
        return lambda r: sampling.gamma(r, k, theta)

    def mean(self):
        """shape * scale."""
        return self.shape * self.scale


class Exponential(_Dist):
    """Exponential with this mean."""

    dist: Literal["exponential"]
    mean_: Finite = Field(alias="mean", gt=0)

    def _support(self):
        return 0.0, math.inf

    def _raw(self):
        rate = 1.0 / self.mean_
        return lambda r: sampling.exponential(r, rate)

    def mean(self):
        """The mean."""
        return self.mean_


class Beta(_Dist):
    """Beta on [0, 1] with shape parameters a and b."""

    dist: Literal["beta"]
    a: Finite = Field(gt=0)
    b: Finite = Field(gt=0)

    def _support(self):
        return 0.0, 1.0

    def _raw(self):
        a, b = self.a, self.b
        return lambda r: sampling.beta(r, a, b)

    def mean(self):
        """a / (a + b)."""
        return self.a / (self.a + self.b)


class Range90(_Dist):
    """An elicited guess: '90% sure it is between low and high'."""

    dist: Literal["range90"]
    low: Finite
    high: Finite
    shape: Literal["lognormal", "normal"] = Field(
        description="lognormal for positive quantities (needs low > 0), normal otherwise"
    )

    @model_validator(mode="after")
    def _check(self):
        if not self.low < self.high:
            raise ValueError(f"need low < high, got low={self.low}, high={self.high}")
        if self.shape == "lognormal" and self.low <= 0:
            raise ValueError(f"a lognormal range needs low > 0, got low={self.low} (use shape: normal)")
        if self.shape == "lognormal":
            _check_log_scale(*self._params(), f"a lognormal range from {self.low:g} to {self.high:g}",
                             "narrow the range or measure in larger units")
        return self

    def _params(self):
        fit = sampling.lognormal_from_90 if self.shape == "lognormal" else sampling.normal_from_90
        return fit(self.low, self.high)

    def _support(self):
        return (0.0, math.inf) if self.shape == "lognormal" else (-math.inf, math.inf)

    def _raw(self):
        return sampling.normal_sampler(*self._params(), log=self.shape == "lognormal")

    def mean(self):
        """Mean of the fitted lognormal or normal."""
        a, b = self._params()
        return math.exp(a + b * b / 2) if self.shape == "lognormal" else a


class Empirical(_Dist):
    """One of the listed values, each as likely."""

    dist: Literal["empirical"]
    values: list[Finite] = Field(min_length=1, max_length=10_000)

    def _support(self):
        return min(self.values), max(self.values)

    def _raw(self):
        values = tuple(self.values)
        n = len(values)
        return lambda r: values[int(r.random() * n)]

    def mean(self):
        """The average of the values."""
        return sum(self.values) / len(self.values)


DISTRIBUTIONS = (Fixed, Uniform, Triangular, Pert, Normal, Lognormal, Gamma, Exponential, Beta, Range90, Empirical)
DIST_NAMES = tuple(m.model_fields["dist"].annotation.__args__[0] for m in DISTRIBUTIONS)
