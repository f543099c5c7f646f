"""Named parameters (the `parameters:` section): values drawn once per run, before anything else, readable by
name in conditions and number expressions, and optionally rank-correlated through a Gaussian copula."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from escalsim.engine.draws import Draws, ParamList
from escalsim.scenario.distributions import Fixed
from escalsim.scenario.parameters import is_per_run_random
from escalsim.scenario.schema import Scenario

_PHI = NormalDist().cdf


@dataclass(frozen=True)
class CorrelatedGroup:
    """Parameters drawn together: standard normals z = L e from the group's stream, u = Phi(z), value =
    quantile(u) of each parameter's distribution (a Gaussian copula with Spearman's rank correlations)."""

    names: tuple[str, ...]
    key: str                                       # of its random stream
    cholesky: tuple[tuple[float, ...], ...]        # lower-triangular L with L L^T = the normals' correlations
    specs: tuple                                   # each parameter's distribution


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
    return CorrelatedGroup(names, "parameters:" + "+".join(names), tuple(map(tuple, lower.tolist())),
                           tuple(s.parameters[n] for n in names))


def draw_parameters(world, plan: ParametersPlan) -> None:
    """Put every parameter's value for this run into world.values (before anything reads them)."""
    values = world.values
    for name, plist in plan.alone:
        values[name] = Draws(world, plist.key, plist)(0)
    for group in plan.groups:
        r = world.stream(group.key)
        normals = [_standard_normal(r) for _ in group.names]
        for i, (name, spec) in enumerate(zip(group.names, group.specs)):
            z = sum(group.cholesky[i][j] * normals[j] for j in range(i + 1))
            values[name] = quantile(spec, _PHI(z))


def _standard_normal(r) -> float:
    u = r.random()
    while u == 0.0:
        u = r.random()
    return NormalDist().inv_cdf(u)


def quantile(spec, u: float) -> float:
    """The u-quantile of a parameter's distribution, clipped as the file says (for the copula)."""
    if isinstance(spec, (int, float)):
        return float(spec)
    if isinstance(spec, Fixed) or not is_per_run_random(spec):
        return spec.support()[0]
    value = _QUANTILES[spec.dist](spec, min(max(u, 1e-300), 1 - 1e-16))
    if spec.clip is not None:
        low, high = spec.clip
        value = value if low is None else max(value, low)
        value = value if high is None else min(value, high)
    return value


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
    x = a + b * NormalDist().inv_cdf(u)
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
    "normal": lambda d, u: d.mean_ + d.sd * NormalDist().inv_cdf(u),
    "lognormal": lambda d, u: math.exp(d.mu + d.sigma * NormalDist().inv_cdf(u)),
    "gamma": _gamma,
    "exponential": lambda d, u: -d.mean_ * math.log1p(-u),
    "beta": _beta,
    "range90": _range90,
    "empirical": lambda d, u: d.values[min(int(u * len(d.values)), len(d.values) - 1)],
}
