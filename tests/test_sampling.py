"""Tests for escalsim.sampling: keyed streams, samplers against scipy, parameter helpers.

Statistical tests use fixed seeds and bounds set by the sampling error before they were run:
means within 4 standard errors, variances within 4 standard errors of the sample variance,
KS and chi-square goodness-of-fit p-values above 1e-3.
"""

from __future__ import annotations

import hashlib
import math
import struct

import numpy as np
import pytest
from scipy import stats

from escalsim import sampling as s
from escalsim.sampling import discrete

SEED = 20240601  # fixed before the tests were first run; never changed to make one pass
N = 20_000  # draws per parameter set
P_MIN = 1e-3  # goodness-of-fit p-value threshold


class FixedRandom:
    """Stand-in for a stream that returns given numbers and counts the calls."""

    def __init__(self, values):
        self._values = iter(values)
        self.calls = 0

    def random(self) -> float:
        self.calls += 1
        return next(self._values)


def draw(name: str, args: tuple, n: int = N, run: int = 0) -> np.ndarray:
    sampler = getattr(s, name)
    r = s.stream(SEED, run, f"test:{name}:{args}")
    return np.array([sampler(r, *args) for _ in range(n)], dtype=float)


def assert_moments(x: np.ndarray, dist) -> None:
    """Sample mean and variance within 4 standard errors of the distribution's."""
    n = len(x)
    mean, var, kurt = (float(v) for v in dist.stats(moments="mvk"))
    assert abs(x.mean() - mean) < 4 * math.sqrt(var / n)
    sd_of_var = var * math.sqrt(kurt / n + 2.0 / (n - 1))  # kurt: excess kurtosis
    assert abs(x.var(ddof=1) - var) < 4 * sd_of_var


def chisquare_pvalue(x: np.ndarray, dist) -> float:
    """Chi-square goodness of fit of integer draws, bins merged to expect at least 5 draws."""
    n = len(x)
    ks = np.arange(int(dist.ppf(1e-12)), int(dist.ppf(1 - 1e-12)) + 1)
    cdf, sf = dist.cdf(ks), dist.sf(ks)
    edges, prev = [], 0.0
    for k, c, tail in zip(ks, cdf, sf):
        if n * (c - prev) >= 5 and n * tail >= 5:
            edges.append(k)
            prev = c
    edges = np.array(edges)
    probs = np.diff(np.concatenate([[0.0], dist.cdf(edges), [1.0]]))
    observed = np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(probs))
    return stats.chisquare(observed, n * probs).pvalue


def pert_dist(low, mode, high, lamb=4.0):
    span = high - low
    a, b = 1 + lamb * (mode - low) / span, 1 + lamb * (high - mode) / span
    return stats.beta(a, b, loc=low, scale=span)


CONTINUOUS = [
    ("uniform", (-2.0, 5.0), stats.uniform(-2.0, 7.0)),
    ("triangular", (0.0, 1.0, 4.0), stats.triang(0.25, loc=0.0, scale=4.0)),
    ("triangular", (0.0, 0.0, 1.0), stats.triang(0.0, loc=0.0, scale=1.0)),
    ("triangular", (-1.0, 3.0, 3.0), stats.triang(1.0, loc=-1.0, scale=4.0)),
    ("pert", (0.0, 2.0, 10.0), pert_dist(0.0, 2.0, 10.0)),
    ("pert", (5.0, 5.0, 6.0), pert_dist(5.0, 5.0, 6.0)),
    ("pert", (0.0, 3.0, 4.0, 2.0), pert_dist(0.0, 3.0, 4.0, 2.0)),
    ("normal", (3.0, 2.0), stats.norm(3.0, 2.0)),
    ("lognormal", (0.5, 0.8), stats.lognorm(0.8, scale=math.exp(0.5))),
    ("gamma", (0.3, 2.0), stats.gamma(0.3, scale=2.0)),
    ("gamma", (1.0, 1.5), stats.gamma(1.0, scale=1.5)),
    ("gamma", (2.5, 0.5), stats.gamma(2.5, scale=0.5)),
    ("gamma", (50.0, 2.0), stats.gamma(50.0, scale=2.0)),
    ("beta", (0.5, 0.5), stats.beta(0.5, 0.5)),
    ("beta", (0.3, 2.0), stats.beta(0.3, 2.0)),
    ("beta", (2.0, 5.0), stats.beta(2.0, 5.0)),
    ("beta", (1.0, 1.0), stats.beta(1.0, 1.0)),
    ("exponential", (0.3,), stats.expon(scale=1 / 0.3)),
]


@pytest.mark.parametrize(("name", "args", "dist"), CONTINUOUS,
                         ids=[f"{n}{a}" for n, a, _ in CONTINUOUS])
def test_continuous_sampler_matches_distribution(name, args, dist):
    x = draw(name, args)
    assert_moments(x, dist)
    assert stats.kstest(x, dist.cdf).pvalue > P_MIN


DISCRETE = [
    ("poisson", (0.3,), stats.poisson(0.3)),
    ("poisson", (4.0,), stats.poisson(4.0)),
    ("poisson", (9.99,), stats.poisson(9.99)),
    ("poisson", (10.0,), stats.poisson(10.0)),
    ("poisson", (37.5,), stats.poisson(37.5)),
    ("poisson", (2500.0,), stats.poisson(2500.0)),
    ("binomial", (1, 0.3), stats.binom(1, 0.3)),
    ("binomial", (7, 0.5), stats.binom(7, 0.5)),
    ("binomial", (20, 0.1), stats.binom(20, 0.1)),
    ("binomial", (30, 0.97), stats.binom(30, 0.97)),
    ("binomial", (5000, 0.0019), stats.binom(5000, 0.0019)),
    ("binomial", (1000, 0.01), stats.binom(1000, 0.01)),
    ("binomial", (100, 0.5), stats.binom(100, 0.5)),
    ("binomial", (100_000, 0.003), stats.binom(100_000, 0.003)),
    ("binomial", (100_000, 0.4), stats.binom(100_000, 0.4)),
    ("binomial", (100_000, 0.9999), stats.binom(100_000, 0.9999)),
]


@pytest.mark.parametrize(("name", "args", "dist"), DISCRETE,
                         ids=[f"{n}{a}" for n, a, _ in DISCRETE])
def test_discrete_sampler_matches_distribution(name, args, dist):
    x = draw(name, args)
    assert np.all(x == np.round(x))
    assert_moments(x, dist)
    assert chisquare_pvalue(x, dist) > P_MIN


REJECTION = [
    ("gamma", (0.7, 1.0), stats.gamma(0.7)),
    ("beta", (0.4, 3.0), stats.beta(0.4, 3.0)),
    ("poisson", (10.0,), stats.poisson(10.0)),
    ("poisson", (400.0,), stats.poisson(400.0)),
    ("binomial", (200, 0.05), stats.binom(200, 0.05)),
    ("binomial", (60_000, 0.37), stats.binom(60_000, 0.37)),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "args", "dist"), REJECTION,
                         ids=[f"{n}{a}" for n, a, _ in REJECTION])
def test_rejection_sampler_large_sample(name, args, dist):
    x = draw(name, args, n=400_000, run=1)
    assert_moments(x, dist)
    if name in ("poisson", "binomial"):
        assert chisquare_pvalue(x, dist) > P_MIN
    else:
        assert stats.kstest(x, dist.cdf).pvalue > P_MIN


# --- exactness of the transformed-rejection samplers, by integration ----------------------------
# PTRS and BTRS propose k from a first uniform u and accept it if the second uniform passes a test
# that is monotone in it.  So the chance that one round returns k is the integral, over the u that
# propose k, of the share of second uniforms accepted; the method is exact if and only if that is
# proportional to pmf(k).  Found by bisection and Gauss-Legendre quadrature, it is accurate to
# ~1e-10: a hat below the pmf or a squeeze above it (e.g. Hörmann's PTRS constants unmodified,
# 2e-5 at lam = 10, k = 16) shows up.

ALMOST_ONE = 1.0 - 2.0**-53
GAUSS_NODES, GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(12)


def first_round(sampler, args, u, v):
    """What the sampler returns if it accepts in its first round from uniforms u, v; else None."""
    try:
        return sampler(FixedRandom([u, v]), *args)
    except StopIteration:
        return None


def acceptance(sampler, args, u):
    """Share of second uniforms that the first round accepts, given the first uniform u."""
    if first_round(sampler, args, u, 0.0) is not None:
        return 1.0
    if first_round(sampler, args, u, ALMOST_ONE) is None:
        return 0.0
    lo, hi = 0.0, ALMOST_ONE
    for _ in range(45):
        mid = 0.5 * (lo + hi)
        if first_round(sampler, args, u, mid) is None:
            lo = mid
        else:
            hi = mid
    return 1.0 - hi


def proposal_start(sampler, args, k):
    """Smallest first uniform that proposes k or more (proposals increase with u)."""
    lo, hi = 2.0**-40, 1.0 - 2.0**-40
    for _ in range(64):
        mid = 0.5 * (lo + hi)
        got = first_round(sampler, args, mid, ALMOST_ONE)  # accepted unless out of range
        if (mid > 0.5) if got is None else got >= k:
            hi = mid
        else:
            lo = mid
    return hi


def one_round_probability(sampler, args, k):
    start, end = proposal_start(sampler, args, k), proposal_start(sampler, args, k + 1)
    cuts = [start] + [c for c in (0.07, 0.5, 0.93) if start < c < end] + [end]  # kinks, squeeze
    total = 0.0
    for lo, hi in zip(cuts, cuts[1:]):
        nodes = lo + (hi - lo) * (GAUSS_NODES + 1.0) / 2.0
        total += (hi - lo) / 2.0 * sum(w * acceptance(sampler, args, u)
                                       for u, w in zip(nodes, GAUSS_WEIGHTS))
    return total


@pytest.mark.parametrize(("name", "args", "dist"), [
    ("poisson", (10.0,), stats.poisson(10.0)),
    ("poisson", (14.05,), stats.poisson(14.05)),
    ("poisson", (29.655,), stats.poisson(29.655)),
    ("poisson", (1000.0,), stats.poisson(1000.0)),
    ("binomial", (20, 0.5), stats.binom(20, 0.5)),
    ("binomial", (1000, 0.01), stats.binom(1000, 0.01)),
    ("binomial", (150, 0.3), stats.binom(150, 0.3)),
    ("binomial", (100_000, 0.4), stats.binom(100_000, 0.4)),
    ("binomial", (100_000, 0.0001), stats.binom(100_000, 0.0001)),
])
def test_transformed_rejection_is_exact(name, args, dist):
    sampler = getattr(s, name)
    lo, hi = int(dist.ppf(1e-6)), int(dist.ppf(1 - 1e-6))
    ks = np.arange(lo, hi + 1) if hi - lo <= 100 else np.linspace(lo, hi, 50).round().astype(int)
    ratios = np.array([one_round_probability(sampler, args, k) / dist.pmf(k) for k in ks])
    assert np.max(np.abs(ratios / ratios.mean() - 1.0)) < 1e-7
    assert 0.5 < ratios.mean() <= 1.0  # the acceptance rate of a round


# --- exact checks of the inversion samplers ------------------------------------------------------

GRID = (np.arange(100_000) + 0.5) / 100_000


@pytest.mark.parametrize(("name", "args", "dist"), [
    ("poisson", (0.0,), stats.poisson(0.0)),
    ("poisson", (2.5,), stats.poisson(2.5)),
    ("poisson", (9.9,), stats.poisson(9.9)),
    ("binomial", (0, 0.4), stats.binom(0, 0.4)),
    ("binomial", (5, 0.3), stats.binom(5, 0.3)),
    ("binomial", (12, 0.9), stats.binom(12, 0.9)),
    ("binomial", (50_000, 0.0001), stats.binom(50_000, 0.0001)),
])
def test_discrete_inversion_gives_exact_pmf(name, args, dist):
    """Over an even grid of uniforms, each value's share is its probability to within 1/grid."""
    r = FixedRandom(GRID)
    x = np.array([getattr(s, name)(r, *args) for _ in GRID])
    assert r.calls == len(GRID)
    values, counts = np.unique(x, return_counts=True)
    assert np.all(np.abs(counts / len(GRID) - dist.pmf(values)) <= 1.0 / len(GRID) + 1e-12)
    assert dist.sf(values.max()) < 1.0 / len(GRID) and dist.cdf(values.min() - 1) < 1.0 / len(GRID)


@pytest.mark.parametrize(("name", "args", "dist"), [
    ("uniform", (-2.0, 5.0), stats.uniform(-2.0, 7.0)),
    ("triangular", (0.0, 1.0, 4.0), stats.triang(0.25, loc=0.0, scale=4.0)),
    ("normal", (3.0, 2.0), stats.norm(3.0, 2.0)),
    ("lognormal", (0.5, 0.8), stats.lognorm(0.8, scale=math.exp(0.5))),
    ("exponential", (0.3,), stats.expon(scale=1 / 0.3)),
])
def test_continuous_inversion_is_the_quantile_function(name, args, dist):
    u = np.array([1e-9, 0.01, 0.2, 0.5, 0.77, 0.99, 1 - 2**-40])
    x = [getattr(s, name)(FixedRandom([v]), *args) for v in u]
    np.testing.assert_allclose(x, dist.ppf(u), rtol=1e-9, atol=1e-12)


def test_bernoulli_is_u_below_p():
    assert s.bernoulli(FixedRandom([0.299]), 0.3) is True
    assert s.bernoulli(FixedRandom([0.3]), 0.3) is False
    x = [s.bernoulli(FixedRandom([u]), 0.3) for u in GRID]
    assert abs(np.mean(x) - 0.3) <= 1.0 / len(GRID)


def test_normal_redraws_an_exact_zero():
    r = FixedRandom([0.0, 0.5])
    assert s.normal(r, 1.0, 2.0) == 1.0
    assert r.calls == 2


@pytest.mark.parametrize(("name", "args"), [
    ("uniform", (1.0, 2.0)), ("uniform", (2.0, 2.0)),
    ("triangular", (0.0, 1.0, 2.0)), ("triangular", (1.0, 1.0, 1.0)),
    ("normal", (0.0, 1.0)), ("normal", (5.0, 0.0)),
    ("lognormal", (0.0, 1.0)), ("exponential", (2.0,)), ("exponential", (0.0,)),
    ("bernoulli", (0.5,)), ("bernoulli", (0.0,)), ("bernoulli", (1.0,)),
    ("poisson", (3.0,)), ("poisson", (0.0,)),
    ("binomial", (10, 0.2)), ("binomial", (0, 0.2)), ("binomial", (10, 0.0)),
    ("binomial", (10, 1.0)), ("binomial", (10, 0.95)),
])
def test_inversion_samplers_use_one_draw(name, args):
    """Variants that change these parameters keep their streams in step (common random numbers)."""
    r = FixedRandom([0.6180339887])
    getattr(s, name)(r, *args)
    assert r.calls == 1


# --- edge cases and parameter checks -------------------------------------------------------------

def test_degenerate_parameters():
    r = s.stream(SEED, 0, "test:degenerate")
    assert s.uniform(r, 2.0, 2.0) == 2.0
    assert s.triangular(r, 1.5, 1.5, 1.5) == 1.5
    assert s.pert(r, 1.5, 1.5, 1.5) == 1.5
    assert s.normal(r, 4.0, 0.0) == 4.0
    assert s.gamma(r, 2.0, 0.0) == 0.0
    assert s.exponential(r, 0.0) == math.inf
    assert s.exponential(r, math.inf) == 0.0
    assert s.poisson(r, 0.0) == 0
    assert s.bernoulli(r, 0.0) is False
    assert s.bernoulli(r, 1.0) is True
    for n, p, expected in [(0, 0.3, 0), (0, 1.0, 0), (17, 0.0, 0), (17, 1.0, 17), (10**6, 1.0, 10**6)]:
        k = s.binomial(r, n, p)
        assert k == expected and isinstance(k, int)


def test_extreme_parameters_stay_in_range():
    r = s.stream(SEED, 0, "test:extreme")
    assert all(0.0 <= s.beta(r, 0.01, 0.02) <= 1.0 for _ in range(1000))
    assert all(s.gamma(r, 0.001, 1.0) >= 0.0 for _ in range(1000))
    assert abs(s.poisson(r, 1e7) - 1e7) < 6 * math.sqrt(1e7)
    assert abs(s.binomial(r, 10**9, 0.5) - 5e8) < 6 * math.sqrt(2.5e8)
    assert 0 <= s.binomial(r, 10**9, 1e-9) < 20
    assert isinstance(s.poisson(r, 50.0), int) and isinstance(s.binomial(r, 500, 0.5), int)


@pytest.mark.parametrize(("name", "args"), [
    ("triangular", (0.0, 2.0, 1.0)), ("triangular", (1.0, 0.0, 2.0)),
    ("pert", (0.0, 3.0, 2.0)), ("pert", (0.0, 1.0, 2.0, -1.0)),
    ("normal", (0.0, -1.0)), ("normal", (0.0, math.nan)), ("lognormal", (0.0, -1.0)),
    ("gamma", (0.0, 1.0)), ("gamma", (math.nan, 1.0)), ("gamma", (1.0, -1.0)),
    ("beta", (0.0, 1.0)), ("beta", (1.0, -2.0)), ("beta", (math.nan, 1.0)),
    ("exponential", (-1.0,)), ("exponential", (math.nan,)),
    ("poisson", (-1.0,)), ("poisson", (math.nan,)), ("poisson", (math.inf,)),
    ("binomial", (-1, 0.5)), ("binomial", (10, 1.5)), ("binomial", (10, math.nan)),
    ("bernoulli", (-0.1,)), ("bernoulli", (math.nan,)),
])
def test_invalid_parameters_raise(name, args):
    with pytest.raises(ValueError, match="must|need"):
        getattr(s, name)(s.stream(SEED, 0, "test:invalid"), *args)


def test_binomial_needs_an_integer_n():
    with pytest.raises(TypeError):
        s.binomial(s.stream(SEED, 0, "test:invalid"), 10.0, 0.5)
    assert 0 <= s.binomial(s.stream(SEED, 0, "test:invalid"), np.int64(10), 0.5) <= 10


def test_beta_tiny_shapes():
    """Beta(0.1, 0.05) has 11% of its mass within 2**-53 of 1, where doubles round to 1.0, so a KS
    test of the whole sample is invalid: test the draws up to 1 - 1e-6 against the conditional CDF,
    and the share above it by its binomial error."""
    dist, cut = stats.beta(0.1, 0.05), 1.0 - 1e-6
    x = draw("beta", (0.1, 0.05))
    assert np.all((x >= 0.0) & (x <= 1.0))
    assert_moments(x, dist)
    p_above = dist.sf(cut)
    assert abs(np.count_nonzero(x > cut) - N * p_above) < 4 * math.sqrt(N * p_above * (1 - p_above))
    below = x[x <= cut]
    assert stats.kstest(below, lambda v: dist.cdf(v) / dist.cdf(cut)).pvalue > P_MIN


# log k! - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi)/2], computed with mpmath at 50 digits
STIRLING_TAIL = {10: 0.007573675487951841, 11: 0.00694284010720953, 50: 0.0016339659899078578,
                 999: 8.333333055555635e-05, 1000: 8.325008048062296e-05,
                 10**5: 8.333250000805548e-07, 10**9: 8.333333325e-11}


def test_stirling_tail():
    for k in range(10):
        exact = math.lgamma(k + 1) - (k + 0.5) * math.log(k + 1) + (k + 1) - 0.5 * math.log(2 * math.pi)
        assert discrete._stirling_tail(k) == pytest.approx(exact, rel=1e-13)
    for k, exact in STIRLING_TAIL.items():
        assert discrete._stirling_tail(k) == pytest.approx(exact, rel=1e-13)


# --- streams -------------------------------------------------------------------------------------

def first(r, n=5):
    return [r.random() for _ in range(n)]


def test_same_key_same_sequence():
    assert first(s.stream(7, 3, "option:a")) == first(s.stream(7, 3, "option:a"))


@pytest.mark.parametrize(("other"), [(8, 3, "option:a"), (7, 4, "option:a"), (7, 3, "option:b"),
                                     (7, 3, "option:a "), (7, 3, "")])
def test_different_seed_run_or_key_different_sequence(other):
    assert first(s.stream(*other)) != first(s.stream(7, 3, "option:a"))


def test_creation_order_does_not_matter():
    keys = ["deployment:us_7th_fleet", "option:seoul_lethal_aid", "treaty:mdt", "observer:un"]
    forward = {k: s.stream(SEED, 11, k) for k in keys}
    backward = {k: s.stream(SEED, 11, k) for k in reversed(keys)}
    interleaved = {k: [] for k in keys}
    for _ in range(5):
        for k in keys:
            interleaved[k].append(forward[k].random())
    for k in keys:
        assert first(backward[k]) == interleaved[k]


def test_extra_component_does_not_shift_others():
    def world(components):
        return {c: s.normal(s.stream(SEED, 2, c), 0.0, 1.0) for c in components}

    base = world(["option:a", "option:b"])
    extended = world(["option:a", "option:new", "option:b"])
    assert extended["option:a"] == base["option:a"] and extended["option:b"] == base["option:b"]


def test_stream_encoding_is_unambiguous():
    """Inputs that a naive encoding (decimal digits, or variable-width fields, run together) would
    confuse: 1|23 vs 12|3, a key byte that could be read as part of the run or the counter, ..."""
    cases = [(1, 23, "k"), (12, 3, "k"), (1, 2, "3k"), (2, 1, "k"), (1, 2, "k"), (0, 0, ""),
             (0, 0, "\x00"), (0, 0, "\x00" * 8), (256, 0, ""), (0, 1, ""), (1, 0, ""), (0, 256, ""),
             (0, 0, "\x01"), (2**64 - 1, 0, ""), (0, 2**64 - 1, "")]
    blocks = {s.stream_block(a, b, k, 0) for a, b, k in cases}
    blocks |= {s.stream_block(0, 0, "", j) for j in (1, 256)}
    assert len(blocks) == len(cases) + 2
    assert len({tuple(first(s.stream(a, b, k), 8)) for a, b, k in cases}) == len(cases)


def test_stream_block_is_the_documented_hash():
    """An independent statement of the scheme: BLAKE2b-512(domain || seed || run || j || key)."""
    def block(seed, run, key, j):
        le = [x.to_bytes(8, "little") for x in (seed, run, j)]
        return hashlib.blake2b(b"escalsim.stream\x00" + b"".join(le) + key.encode("utf-8")).digest()

    for seed, run, key, j in [(0, 0, "", 0), (2024, 7, "option:seoul_lethal_aid", 3),
                              (2**64 - 1, 2**64 - 1, "ü", 2**64 - 1)]:
        assert s.stream_block(seed, run, key, j) == block(seed, run, key, j)


def test_stream_is_the_blocks_in_counter_mode():
    """Uniform i is word i % 8 of block i // 8, as (w >> 11) * 2**-53, across block boundaries."""
    n = 8 * 70
    words = [w for j in range(n // 8) for w in struct.unpack("<8Q", s.stream_block(SEED, 5, "option:x", j))]
    expected = [(w >> 11) * 2.0**-53 for w in words]
    assert first(s.stream(SEED, 5, "option:x"), n) == expected
    assert first(s.run_streams(SEED, 5)("option:x"), n) == expected


def test_stream_crosses_blocks_deterministically():
    assert first(s.stream(SEED, 3, "option:a"), 100) == first(s.stream(SEED, 3, "option:a"), 100)
    streams = s.run_streams(SEED, 3)
    a, b = streams("option:a"), streams("option:a")
    interleaved = []
    for _ in range(50):  # drawing from another stream of the same key does not disturb this one
        interleaved.append(a.random())
        b.random()
        interleaved.append(a.random())
    assert interleaved == first(s.stream(SEED, 3, "option:a"), 100)


def test_uniforms_have_53_bits_in_0_1():
    u = np.array(first(s.stream(SEED, 0, "test:bits"), 20_000))
    assert np.all((u >= 0.0) & (u < 1.0))
    m = u * 2.0**53  # exact: multiples of 2**-53 below 1
    assert np.all(m == np.floor(m))
    # the last of the 53 bits is random too: set in half the draws, within 4 standard errors
    assert abs(np.count_nonzero(m % 2) - len(u) / 2) < 4 * math.sqrt(len(u) / 4)


def test_streams_across_keys_and_runs_look_independent():
    n = 5_000
    firsts = [s.stream(SEED, run, "option:x").random() for run in range(n)]
    firsts += [s.stream(SEED, 0, f"option:{i}").random() for i in range(n)]
    assert stats.kstest(firsts, "uniform").pvalue > P_MIN
    a = first(s.stream(SEED, 0, "deployment:a"), n)
    b = first(s.stream(SEED, 0, "deployment:b"), n)
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / math.sqrt(n)


def test_stream_is_uniform_and_serially_independent():
    """20,000 draws of one stream (2,500 blocks): KS and chi-square (100 bins) against U(0, 1), and
    chi-square of 10,000 consecutive pairs on a 10 x 10 grid (pairs within and across blocks).
    For a uniform, independent stream each p-value is itself uniform on (0, 1), so with this fixed
    seed a correct generator fails a threshold of P_MIN = 1e-3 with probability 1e-3 per test,
    decided once when the test was written; a flaw in the scheme (a biased bit, a repeated or
    correlated block) gives p-values far below it."""
    u = np.array(first(s.stream(SEED, 0, "test:uniformity"), 20_000))
    assert stats.kstest(u, "uniform").pvalue > P_MIN
    assert stats.chisquare(np.bincount((u * 100).astype(int), minlength=100)).pvalue > P_MIN
    pairs = (u[0::2] * 10).astype(int) * 10 + (u[1::2] * 10).astype(int)
    assert stats.chisquare(np.bincount(pairs, minlength=100)).pvalue > P_MIN


def test_stream_golden_values():
    """Pinned: a change here changes every simulated result (hashlib or encoding drift)."""
    assert s.stream_block(0, 0, "", 0).hex() == (
        "bca7bfa96852d24ed449da304657f84a66b43fef20f4b6093a542e4496457a6d"
        "dbf251db31cbe710bd04d7be3e1edf5ffaec72657ac9f0a3256a75a21b8e6d47")
    assert s.stream_block(2**64 - 1, 2**64 - 1, "ü", 2**64 - 1).hex()[:32] == "efdecf7048a6633fce76a2e4f376feac"
    assert first(s.stream(2024, 7, "option:seoul_lethal_aid"), 10) == [
        0.1891587073293397, 0.9230623836623666, 0.31382223198782944, 0.43691721645886483,
        0.2205761143368885, 0.8049732230943741, 0.8364221660995617, 0.03508175608112152,
        0.3828179928695671, 0.7610282243657615]
    assert first(s.run_streams(2024, 7)("treaty:mdt"), 3) == [
        0.8952693465347215, 0.5257535473343778, 0.2246516486315836]


def test_sampler_golden_values():
    """Pinned draws; update deliberately (and say so) if an algorithm or the streams are changed."""
    r = s.stream(2024, 7, "golden")
    floats = [s.uniform(r, 1, 3), s.triangular(r, 1, 2, 5), s.pert(r, 1, 2, 5), s.normal(r, 1, 2),
              s.lognormal(r, 1, 0.5), s.gamma(r, 2.5, 1.0), s.gamma(r, 0.3, 2.0), s.beta(r, 2, 5),
              s.beta(r, 0.5, 0.5), s.exponential(r, 0.3)]
    assert floats == pytest.approx([
        1.7199948244072218, 1.796166743803725, 1.5975441473985812, -1.3859962894007083,
        3.8852269151607475, 2.3122509172838286, 0.0010073919253439914, 0.1982310902454779,
        0.21261432682986173, 0.0174307102842019], rel=1e-12)
    ints = [s.bernoulli(r, 0.3), s.poisson(r, 3.0), s.poisson(r, 250.0), s.binomial(r, 20, 0.1),
            s.binomial(r, 100_000, 0.4), s.binomial(r, 3000, 0.999)]
    assert ints == [False, 2, 261, 3, 39905, 2997]


def streams_of(seed, run, key="k"):
    """The public ways to name a stream (or a block of one), with the same checks."""
    return [lambda: s.stream(seed, run, key), lambda: s.run_streams(seed, run)(key),
            lambda: s.stream_block(seed, run, key, 0)]


@pytest.mark.parametrize("bad", [-1, 2**64, -(2**70)])
def test_streams_reject_out_of_range(bad):
    for make in streams_of(bad, 0):
        with pytest.raises(ValueError, match="seed"):
            make()
    for make in streams_of(0, bad):
        with pytest.raises(ValueError, match="run"):
            make()
    with pytest.raises(ValueError, match="j"):
        s.stream_block(0, 0, "k", bad)


def test_stream_argument_types():
    assert first(s.stream(2**64 - 1, 5, "k")) == first(s.stream(np.uint64(2**64 - 1), np.int64(5), "k"))
    assert s.stream_block(0, 0, "k", np.int64(3)) == s.stream_block(0, 0, "k", 3)
    for seed, run, key in [(1.0, 0, "k"), (True, 0, "k"), (0, False, "k"), (0, 0, b"k"), (0, 0, None)]:
        for make in streams_of(seed, run, key):
            with pytest.raises(TypeError):
                make()
    with pytest.raises(TypeError):
        s.stream_block(0, 0, "k", True)


# --- parameters from judgements and means --------------------------------------------------------

@pytest.mark.parametrize(("low", "high"), [(-1.0, 1.0), (10.0, 250.0), (-300.0, -2.0), (0.0, 1e-6)])
def test_normal_from_90_round_trip(low, high):
    mean, sd = s.normal_from_90(low, high)
    np.testing.assert_allclose(stats.norm(mean, sd).ppf([0.05, 0.95]), [low, high],
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("low", "high"), [(0.1, 10.0), (3.0, 4.0), (1e-3, 1e3), (2.0, 2.0 + 1e-9)])
def test_lognormal_from_90_round_trip(low, high):
    mu, sigma = s.lognormal_from_90(low, high)
    np.testing.assert_allclose(stats.lognorm(sigma, scale=math.exp(mu)).ppf([0.05, 0.95]),
                               [low, high], rtol=1e-12)


@pytest.mark.parametrize(("low", "high"), [(1.0, 1.0), (2.0, 1.0), (math.nan, 1.0), (0.0, math.inf)])
def test_normal_from_90_rejects(low, high):
    with pytest.raises(ValueError, match="low < high"):
        s.normal_from_90(low, high)


@pytest.mark.parametrize(("low", "high"), [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0), (1.0, 1.0),
                                           (1.0, math.inf), (math.nan, 1.0)])
def test_lognormal_from_90_rejects(low, high):
    with pytest.raises(ValueError, match="0 < low < high"):
        s.lognormal_from_90(low, high)


@pytest.mark.parametrize("p", [0.0, 1e-12, 0.01, 0.3, 0.999])
@pytest.mark.parametrize("days", [0.5, 7.0, 365.0])
def test_rate_from_probability(p, days):
    rate = s.rate_from_probability(p, days)
    assert -math.expm1(-rate * days) == pytest.approx(p, rel=1e-12, abs=0.0)


def test_rate_from_probability_edges():
    assert s.rate_from_probability(1.0, 30.0) == math.inf
    for p, days in [(-0.1, 1.0), (1.1, 1.0), (math.nan, 1.0), (0.5, 0.0), (0.5, -1.0), (0.5, math.inf)]:
        with pytest.raises(ValueError, match="must"):
            s.rate_from_probability(p, days)


@pytest.mark.parametrize(("kind", "params", "expected"), [
    ("fixed", {"value": 3.5}, 3.5),
    ("uniform", {"low": -2.0, "high": 5.0}, stats.uniform(-2.0, 7.0).mean()),
    ("triangular", {"low": 0.0, "mode": 1.0, "high": 4.0}, stats.triang(0.25, 0.0, 4.0).mean()),
    ("pert", {"low": 0.0, "mode": 2.0, "high": 10.0}, pert_dist(0.0, 2.0, 10.0).mean()),
    ("pert", {"low": 0.0, "mode": 3.0, "high": 4.0, "lamb": 2.0}, pert_dist(0.0, 3.0, 4.0, 2.0).mean()),
    ("normal", {"mean": 3.0, "sd": 2.0}, 3.0),
    ("lognormal", {"mu": 0.5, "sigma": 0.8}, stats.lognorm(0.8, scale=math.exp(0.5)).mean()),
    ("gamma", {"shape": 0.3, "scale": 2.0}, stats.gamma(0.3, scale=2.0).mean()),
    ("beta", {"a": 0.3, "b": 2.0}, stats.beta(0.3, 2.0).mean()),
    ("exponential", {"rate": 0.3}, 1 / 0.3),
    ("exponential", {"rate": 0.0}, math.inf),
    ("poisson", {"lam": 4.0}, 4.0),
    ("binomial", {"n": 20, "p": 0.1}, 2.0),
    ("bernoulli", {"p": 0.3}, 0.3),
])
def test_mean_of(kind, params, expected):
    assert s.mean_of(kind, **params) == pytest.approx(expected, rel=1e-12)


def test_mean_of_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown distribution kind 'weibull'.*pert"):
        s.mean_of("weibull", shape=1.0)
    with pytest.raises(ValueError, match="uniform takes parameters"):
        s.mean_of("uniform", low=1.0)
    with pytest.raises(ValueError, match="gamma takes parameters"):
        s.mean_of("gamma", shape=1.0, scale=2.0, rate=3.0)
    with pytest.raises(ValueError, match="low <= mode <= high"):
        s.mean_of("triangular", low=0.0, mode=5.0, high=1.0)


@pytest.mark.parametrize(("low", "mode", "high", "lamb"), [(21, 35, 80, 4.0), (0, 0, 1, 4.0), (0, 1, 1, 2.5),
                                                           (3, 3, 3, 4.0), (-5, 2, 40, 0.0)])
def test_pert_sampler_draws_what_pert_draws(low, mode, high, lamb):
    """The per-use PERT draw function: the same numbers from the same uniforms as `pert`, draw for draw."""
    draw = s.pert_sampler(low, mode, high, lamb)
    a, b = s.stream(SEED, 3, "pert"), s.stream(SEED, 3, "pert")
    for _ in range(2000):
        assert draw(a) == s.pert(b, low, mode, high, lamb)
    assert a.random() == b.random()  # and the same number of uniforms


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("clip", [(0.5, 2.0), (-math.inf, 1.1), (0.9, math.inf)])
def test_clipped_normal_sampler_is_the_clip_of_the_draw(log, clip):
    draw, raw = s.normal_sampler(0.0, 0.4, log=log, clip=clip), s.normal_sampler(0.0, 0.4, log=log)
    a, b = s.stream(SEED, 4, "n"), s.stream(SEED, 4, "n")
    for _ in range(2000):
        assert draw(a) == min(max(raw(b), clip[0]), clip[1])
