"""Wilson intervals, and the estimates of scenarios/minimal.yaml against its hand-computed answers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from escalsim.engine.core import compile_model, simulate
from escalsim.montecarlo import records
from escalsim.montecarlo.precision import Tally
from escalsim.outputs import analysis
from escalsim.scenario.loader import load_scenario
from escalsim.stats import wilson, wilson_half_width

MINIMAL = Path(__file__).parent.parent / "scenarios" / "minimal.yaml"


def test_wilson_known_values():
    p, low, high = wilson(5, 10)
    assert p == 0.5 and low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    _, low, high = wilson(0, 20)
    assert low == 0 and high == pytest.approx(0.1611, abs=1e-4)


def _exact_coverage(p: float, n: int) -> float:
    k = np.arange(n + 1)
    _, low, high = wilson(k, n)
    return float(np.sum(stats.binom.pmf(k, n, p) * ((low <= p) & (p <= high))))


@pytest.mark.slow
@pytest.mark.parametrize("p, n", [(0.5, 50), (0.1, 200), (0.02, 1000)])
def test_wilson_coverage(p, n):
    """The exact coverage is near 95%, and simulated coverage agrees with it within sampling error."""
    exact = _exact_coverage(p, n)
    assert 0.92 < exact < 0.975
    reps = 20_000
    k = np.random.default_rng(2024).binomial(n, p, size=reps)
    _, low, high = wilson(k, n)
    covered = np.mean((low <= p) & (p <= high))
    assert abs(covered - exact) < 4 * math.sqrt(exact * (1 - exact) / reps)


def test_tally_finds_the_widest_interval():
    tally = Tally(rungs=["a"], marks=[("horizon", 10.0)], events=["o"])
    tally.add({"run": np.arange(4), "at_or_above.a": np.array([0.0, 0, 0, 0]), "entered.a": np.zeros(4),
               "event.o": np.array([1.0, np.nan, 2.0, np.nan])})
    name, half = tally.widest()
    assert name == "o happened by horizon" and half == pytest.approx(wilson_half_width(2, 4))


# --- scenarios/minimal.yaml by hand --------------------------------------------------------------------
# Peace -> crisis: a background hazard λ = 0.5/365.25 per day, or B mobilising: B sees the 5th batch of a
# Poisson(0.1/day) flow 10 days late (Gamma(5, scale 10) + 10) and then mobilises with probability 0.5.
# Crisis -> war: hazard μ = 1/365.25 per day.
LAM, MU = 0.5 / 365.25, 1.0 / 365.25


def _p_crisis_by(t: float) -> float:
    seen = stats.gamma(5, scale=10).cdf(t - 10) if t > 10 else 0.0
    return 1 - math.exp(-LAM * t) * (1 - 0.5 * seen)


def _p_war_by(t: float) -> float:
    density = lambda s: (_p_crisis_by(s + 1e-4) - _p_crisis_by(s - 1e-4)) / 2e-4  # noqa: E731
    value, _ = integrate.quad(lambda s: density(s) * (1 - math.exp(-MU * (t - s))), 0, t, limit=200, points=[10])
    return value


@pytest.fixture(scope="module")
def minimal_runs():
    model = compile_model(load_scenario(MINIMAL))
    recs = [simulate(model, 2024, i) for i in range(4000)]
    return pd.DataFrame(records.columns(model, recs)), records.describe(model)


@pytest.mark.slow
def test_minimal_matches_hand_computed_probabilities(minimal_runs):
    runs, manifest = minimal_runs
    table = analysis.rung_probabilities(runs, manifest).set_index(["rung", "by"])
    for by, day in [("q1", 90.0), ("h1", 181.0), ("horizon", 365.0)]:
        for rung, exact in (("crisis", _p_crisis_by(day)), ("war", _p_war_by(day))):
            row = table.loc[(rung, by)]
            # 4 standard errors: the check fails with probability ~6e-5 per comparison when the model is right
            assert abs(row.p - exact) < 4 * math.sqrt(exact * (1 - exact) / row.runs), (rung, by, row.p, exact)


@pytest.mark.slow
def test_minimal_option_frequency(minimal_runs):
    """B mobilises with probability 0.5 x P(it sees 500 troops in time) = 0.5 x P(Gamma(5, 10) + 10 < 365)."""
    runs, manifest = minimal_runs
    row = analysis.outcome_frequencies(runs, manifest).set_index("outcome").loc["b_mobilises"]
    exact = 0.5 * stats.gamma(5, scale=10).cdf(355)
    assert abs(row.p - exact) < 4 * math.sqrt(exact * (1 - exact) / len(runs))
    assert row.low <= row.p <= row.high
