"""Named parameters and numbers as expressions: one draw shared by every use, recorded with the run, rank
correlation met within Monte Carlo error, values clipped to their field's domain, mistakes located."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from worlds import model_of, runs, write

from escalsim.errors import ScenarioError
from escalsim.scenario.loader import load_scenario

N = 2000
U01 = {"dist": "uniform", "low": 0, "high": 1, "per": "run"}


def _values(model, record) -> dict[str, float]:
    return dict(zip(model.readable, record.final))


def _params(model, record) -> dict[str, float]:
    return dict(zip(model.param_columns, record.params))


def test_every_use_of_a_parameter_is_the_same_draw_and_is_recorded(tmp_path):
    model = model_of(tmp_path, {
        "parameters": {"resolve": U01},
        "variables": {"y": {"initial": "resolve"}},
        "options": {"go": {"actor": "a", "label": "go", "when": "day >= 1", "probability": 1,
                           "effects": [{"set": {"x": "2 * resolve"}}]}}})
    seen = set()
    for r in runs(model, 200):
        values, params = _values(model, r), _params(model, r)
        assert values["y"] == params["resolve"] and values["x"] == 2 * params["resolve"]
        assert values["resolve"] == params["resolve"]  # readable in conditions, constant through the run
        seen.add(params["resolve"])
    assert len(seen) == 200  # a new draw in every run


def test_a_value_drawn_once_per_run_in_place_is_recorded_as_the_run_used_it(tmp_path):
    """An option on day 5 with a per-run delay fires on day 5 + delay: its param column holds that delay. An
    option that never fires still has its per-run value recorded (its stream opened after the run)."""
    model = model_of(tmp_path, {"options": {
        "go": {"actor": "a", "label": "go", "when": "day >= 5", "probability": 1,
               "delay_days": {"dist": "uniform", "low": 1, "high": 10, "per": "run"}},
        "never": {"actor": "a", "label": "never", "when": "x > 1", "probability": 1,
                  "delay_days": {"dist": "uniform", "low": 1, "high": 10, "per": "run"}}}})
    assert model.param_columns == ["options.go.delay_days", "options.never.delay_days"]
    for r in runs(model, 100):
        params = _params(model, r)
        assert model.day_of_event(r, "go") == 5 + params["options.go.delay_days"]
        assert 1 <= params["options.never.delay_days"] <= 10 and math.isnan(model.day_of_event(r, "never"))


def test_a_requested_rank_correlation_is_met_within_monte_carlo_error(tmp_path):
    """Spearman's rho over N runs, compared on Fisher's z scale: var(atanh(r_s)) ~ 1.06 / (n - 3)."""
    model = model_of(tmp_path, {
        "parameters": {"a": U01, "b": {"dist": "lognormal", "mu": 0, "sigma": 1, "per": "run"}, "c": U01},
        "correlations": [{"between": ["a", "b"], "rank": 0.6}]})
    draws = np.array([r.params for r in runs(model, N)])
    rho_ab = stats.spearmanr(draws[:, 0], draws[:, 1]).statistic
    rho_ac = stats.spearmanr(draws[:, 0], draws[:, 2]).statistic
    half = 4 * math.sqrt(1.06 / (N - 3))
    assert abs(math.atanh(rho_ab) - math.atanh(0.6)) < half
    assert abs(math.atanh(rho_ac)) < half  # c is drawn alone
    assert stats.kstest(draws[:, 0], stats.uniform().cdf).pvalue > 1e-3   # margins kept
    assert stats.kstest(np.log(draws[:, 1]), stats.norm().cdf).pvalue > 1e-3


@pytest.mark.parametrize(("probability", "expected"), [("1.5 * (x + 1)", 1.0), ("-3", 0.0), ("0 / 0", 0.0)])
def test_an_expression_is_clipped_to_its_fields_domain(tmp_path, probability, expected):
    model = model_of(tmp_path, {"options": {"go": {"actor": "a", "label": "go", "when": "day >= 1",
                                                   "probability": probability}}})
    fired = np.mean([not math.isnan(model.day_of_event(r, "go")) for r in runs(model, 50)])
    assert fired == expected


def test_a_probability_can_depend_on_state(tmp_path):
    """P(go) = 0.2 + 0.1 * strain with strain set to 4 before the option is considered: 0.6."""
    model = model_of(tmp_path, {
        "variables": {"strain": {"initial": 4}},
        "options": {"go": {"actor": "a", "label": "go", "when": "day >= 1", "probability": "0.2 + 0.1 * strain"}}})
    fired = np.array([not math.isnan(model.day_of_event(r, "go")) for r in runs(model, N)])
    assert abs(fired.mean() - 0.6) < 4 * math.sqrt(0.6 * 0.4 / N)


@pytest.mark.parametrize(("extra", "message"), [
    ({"parameters": {"p": {"dist": "uniform", "low": 0, "high": 1, "per": "use"}}},
     "a parameter is drawn once per run"),
    ({"parameters": {"x": 1}}, "'x' is already a variable, estimate or track"),
    ({"parameters": {"p": "2 * x"}}, "a parameter is a number or a distribution"),
    ({"parameters": {"p": 3, "q": U01}, "correlations": [{"between": ["p", "q"], "rank": 0.5}]},
     "unknown parameter drawn at random once per run 'p'"),
    ({"parameters": {"p": U01, "q": U01, "r": U01}, "correlations": [
        {"between": ["p", "q"], "rank": 0.9}, {"between": ["q", "r"], "rank": 0.9},
        {"between": ["p", "r"], "rank": -0.9}]}, "cannot hold together"),
    ({"options": {"go": {"actor": "a", "label": "go", "when": "day > 1", "probability": "resolv"}},
      "parameters": {"resolve": U01}}, "did you mean 'resolve'"),
    ({"options": {"go": {"actor": "a", "label": "go", "when": "day > 1", "probability": "day / 100"}}},
     "time"),
])
def test_parameter_mistakes_are_located_errors(tmp_path, extra, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, extra))
    assert message in str(info.value)
    assert all(p.line for p in info.value.problems)


def test_an_alias_of_a_per_run_distribution_is_refused_with_the_parameter_as_the_fix(tmp_path):
    text = (write(tmp_path, {}).read_text().rstrip()[:-1]  # reopen the top mapping of the JSON-as-YAML file
            + ',\n "options": {\n  "go": {"actor": "a", "label": "go", "when": "day > 1",\n'
            '   "probability": &p {"dist": "uniform", "low": 0, "high": 1, "per": "run"}},\n'
            '  "again": {"actor": "a", "label": "again", "when": "day > 2", "probability": *p}}\n}\n')
    path = tmp_path / "alias.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    problem = info.value.problems[0]
    assert "declare it once under parameters:" in problem.message and problem.path == "options.again.probability"
    assert problem.line == text.count("\n", 0, text.index("*p")) + 1
