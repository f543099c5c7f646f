"""Named parameters (the `parameters:` section): values drawn once per run, before anything else, readable by
name in conditions and number expressions, and optionally rank-correlated through a Gaussian copula."""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import mul
from statistics import NormalDist

from escalsim.engine.draws import Draws, ParamList
from escalsim.scenario.distributions import Fixed
from escalsim.scenario.parameters import is_per_run_random
from escalsim.scenario.schema import Scenario

_PHI = NormalDist().cdf
_INV_PHI = NormalDist().inv_cdf  # the standard normal's, made once (a NormalDist per draw cost a run 4 objects)


@dataclass(frozen=True)
class CorrelatedGroup:
    """Parameters drawn together: standard normals z = L e from the group's stream, u = Phi(z), value =
    quantile(u) of each parameter's distribution (a Gaussian copula with Spearman's rank correlations)."""

    names: tuple[str, ...]
    key: str                                       # of its random stream
    cholesky: tuple[tuple[float, ...], ...]        # lower-triangular L with L L^T = the normals' correlations
    specs: tuple                                   # each parameter's distribution
    rows: tuple[tuple[float, ...], ...] = ()       # row i of L up to the diagonal (what a run multiplies)
    quantiles: tuple = ()                          # each parameter's u -> quantile(spec, u) (`quantile_of`)


@dataclass(frozen=True)
class ParametersPlan:
    """Every named parameter: drawn alone from its own stream, or in its correlated group."""

    names: list[str]                               # file order (the order of param.<name> columns)
    alone: list[tuple[str, ParamList]]             # drawn from stream "parameter:<name>"
    groups: list[CorrelatedGroup]


def plan_parameters(s: Scenario, planning) -> ParametersPlan:
    """Split the parameters into independent ones and correlated groups (connected by correlations)."""
    groups = _groups(s)
    grouped = {name for group in groups for name in group}
    alone = []
    for name, spec in s.parameters.items():
        if name not in grouped:
            plist = ParamList(None, f"parameter:{name}")  # recorded by name, not as an anonymous value
            plist.add(spec)
            alone.append((name, plist))
    return ParametersPlan(list(s.parameters), alone, [_group(s, names) for names in groups])


def _groups(s: Scenario) -> list[tuple[str, ...]]:
    """Connected components of the correlation graph, each in file order."""
    parent = {name: name for c in s.correlations for name in c.between}

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for c in s.correlations:
        parent[root(c.between[0])] = root(c.between[1])
    comps: dict[str, list[str]] = {}
    for name in s.parameters:
        if name in parent:
            comps.setdefault(root(name), []).append(name)
    return [tuple(names) for names in comps.values()]


def _group(s: Scenario, names: tuple[str, ...]) -> CorrelatedGroup:
    import numpy as np

    matrix = np.eye(len(names))
    for c in s.correlations:
        if c.between[0] in names:
            a, b = names.index(c.between[0]), names.index(c.between[1])
            matrix[a, b] = matrix[b, a] = 2 * math.sin(math.pi * c.rank / 6)  # Spearman -> Pearson of normals
    lower = np.linalg.cholesky(matrix)  # positive definite: checked with the references
    cholesky = tuple(map(tuple, lower.tolist()))
    specs = tuple(s.parameters[n] for n in names)
    return CorrelatedGroup(names, "parameters:" + "+".join(names), cholesky, specs,
                           tuple(row[:i + 1] for i, row in enumerate(cholesky)), tuple(map(quantile_of, specs)))


def draw_parameters(world, plan: ParametersPlan) -> None:
    """Put every parameter's value for this run into world.values (before anything reads them)."""
    values = world.values
    for name, plist in plan.alone:
        constant = plist.constants[0]
        values[name] = Draws(world, plist.key, plist)(0) if constant is None else constant
    for group in plan.groups:
        r = world.stream(group.key)
        normals = [_standard_normal(r) for _ in group.names]
        for name, row, quantile_fn in zip(group.names, group.rows, group.quantiles):
            values[name] = quantile_fn(_PHI(sum(map(mul, row, normals))))  # z = (L e)_i, summed from j = 0


def _standard_normal(r) -> float:
    u = r.random()
    while u == 0.0:
        u = r.random()
    return _INV_PHI(u)


def quantile(spec, u: float) -> float:
    """The u-quantile of a parameter's distribution, clipped as the file says (for the copula)."""
    return quantile_of(spec)(u)


def quantile_of(spec):
    """u -> the u-quantile of a parameter's distribution, clipped as the file says: `quantile` prepared once
    per model (a constant for a number or a fixed value)."""
    if isinstance(spec, (int, float)):
        value = float(spec)
        return lambda u: value
    if isinstance(spec, Fixed) or not is_per_run_random(spec):
        value = spec.support()[0]
        return lambda u: value
    inverse = _QUANTILES[spec.dist]
    low, high = (None, None) if spec.clip is None else spec.clip

    def fn(u: float) -> float:
        value = inverse(spec, min(max(u, 1e-300), 1 - 1e-16))
        value = value if low is None else max(value, low)
        return value if high is None else min(value, high)

    return fn


def _triangular(d, u):
    a, c, b = d.low, d.mode, d.high
    cut = (c - a) / (b - a)
    return a + math.sqrt(u * (b - a) * (c - a)) if u < cut else b - math.sqrt((1 - u) * (b - a) * (b - c))


def _pert(d, u):
    from scipy.special import betaincinv

    span = d.high - d.low
    return d.low + span * betaincinv(1 + d.lamb * (d.mode - d.low) / span, 1 + d.lamb * (d.high - d.mode) / span, u)


def _range90(d, u):
    a, b = d._params()
    x = a + b * _INV_PHI(u)
    return math.exp(x) if d.shape == "lognormal" else x


def _gamma(d, u):
    from scipy.special import gammaincinv

    return d.scale * gammaincinv(d.shape, u)


def _beta(d, u):
    from scipy.special import betaincinv

    return betaincinv(d.a, d.b, u)


_QUANTILES = {
    "uniform": lambda d, u: d.low + u * (d.high - d.low),
    "triangular": _triangular,
    "pert": _pert,
    "normal": lambda d, u: d.mean_ + d.sd * _INV_PHI(u),
    "lognormal": lambda d, u: math.exp(d.mu + d.sigma * _INV_PHI(u)),
    "gamma": _gamma,
    "exponential": lambda d, u: -d.mean_ * math.log1p(-u),
    "beta": _beta,
    "range90": _range90,
    "empirical": lambda d, u: d.values[min(int(u * len(d.values)), len(d.values) - 1)],
}
