"""The engine against arithmetic: Poisson deployments, hazards, delays, lags, treaties, alternatives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from worlds import model_of, runs, tolerance

from escalsim.engine.core import InjectionError, simulate
from escalsim.scenario.moves import Injection

N = 2000



def fired_day(model, record, i: int) -> float:
    """The day outcome i (options, then obligations) first happened in a run (NaN: never)."""
    return model.day_of_event(record, model.outcomes[i])

def _index(model, name):
    return model.readable.index(name)


def _poisson_world(tmp_path, flow):
    return model_of(tmp_path, {
        "checkpoints": {"d30": "2025-01-30"},  # state at the end of 30 Jan = day 30
        "variables": {"troops": {"initial": 0}},
        "deployments": {"dep": {"from": "a", "to": "b", "total": "troops", "flow": flow}},
    })


@pytest.mark.slow
@pytest.mark.parametrize("flow", [
    {"batch_size": 100, "target": {"total": 1000, "by": 100}},           # rate 1000/(100*100) = 0.1/day
    {"batch_size": 100, "interval_days": {"dist": "exponential", "mean": 10, "per": "use"}},
], ids=["target", "exponential-interval"])
def test_poisson_deployment_mean_and_variance(tmp_path, flow):
    """Total by day t is 100 * Poisson(0.1 t): mean 100 λt, variance 100² λt."""
    model = _poisson_world(tmp_path, flow)
    t, lam, size = 30.0, 0.1, 100.0
    x = np.array([r.checkpoints[0][_index(model, "troops")] for r in runs(model, N)])
    m = lam * t
    mean, var = size * m, size**2 * m
    assert abs(x.mean() - mean) < 4 * math.sqrt(var / N)
    mu4 = size**4 * m * (1 + 3 * m)  # fourth central moment of size * Poisson(m)
    assert abs(x.var(ddof=1) - var) < 4 * math.sqrt((mu4 - var**2) / N)


def test_fixed_schedule_and_cap_are_exact(tmp_path):
    model = model_of(tmp_path, {
        "checkpoints": {"d10": "2025-01-10", "d50": "2025-02-19"},
        "variables": {"troops": {"initial": 0}},
        "deployments": {"dep": {"from": "a", "to": "b", "total": "troops",
                                "schedule": [{"when": "2025-01-05", "size": 1500}],
                                "flow": {"start": 20, "batch_size": 400, "interval_days": 5, "cap": 3000}}},
    })
    r = simulate(model, 1)
    i = _index(model, "troops")
    assert r.checkpoints[0][i] == 1500
    assert r.checkpoints[1][i] == 3000  # 1500 + 400 * 3 + a last batch cut to 300 by the cap


def _hazard_world(tmp_path, hazard):
    return model_of(tmp_path, {"ladder": {"rungs": [{"id": "low", "escalate": hazard}, {"id": "mid"}, {"id": "high"}]}})


@pytest.mark.slow
@pytest.mark.parametrize("hazard, rate", [
    ({"per_day": 0.02}, 0.02),
    ({"per_year": 3.6525}, 0.01),
    ({"probability": 0.5, "within_days": 30}, math.log(2) / 30),
])
def test_exponential_hazard_hitting_probability(tmp_path, hazard, rate):
    """P(first reach 'mid' by t) = 1 - exp(-λt)."""
    model = _hazard_world(tmp_path, hazard)
    first = np.array([r.at_or_above[1] for r in runs(model, N)])
    for t in (10.0, 40.0, 99.0):
        p = 1 - math.exp(-rate * t)
        assert abs(np.mean(first <= t) - p) < tolerance(p, N)


@pytest.mark.slow
def test_competing_hazards_choose_in_proportion(tmp_path):
    """From 'mid' with up u and down d, the first move is up with probability u / (u + d)."""
    model = model_of(tmp_path, {"ladder": {"start": "mid", "rungs": [
        {"id": "low"}, {"id": "mid", "escalate": {"per_day": 0.3}, "deescalate": {"per_day": 0.1}}, {"id": "high"}]}})
    firsts = [r.level_paths[0][1][1] for r in runs(model, N) if len(r.level_paths[0]) > 1]
    assert len(firsts) == N  # a move within 100 days is all but certain (exp(-40))
    assert abs(np.mean(np.array(firsts) == 2) - 0.75) < tolerance(0.75, N)


def _option_world(tmp_path, option, **extra):
    world = {"options": {"go": {"actor": "a", "label": "go", **option}}}
    world.update(extra)
    return model_of(tmp_path, world)


def test_decision_delay_distribution(tmp_path):
    """Triggered on day 10 with certainty; effects after a Uniform(5, 15) delay."""
    model = _option_world(tmp_path, {"when": "day >= 10", "probability": 1,
                                     "delay_days": {"dist": "uniform", "low": 5, "high": 15, "per": "use"},
                                     "effects": [{"ladder": "mid"}]})
    delays = np.array([fired_day(model, r, 0) - 10 for r in runs(model, 500)])
    assert stats.kstest(delays, stats.uniform(5, 10).cdf).pvalue > 1e-3
    first_mid = np.array([r.at_or_above[1] for r in runs(model, 50)])
    assert np.all((first_mid >= 15) & (first_mid <= 25))


def test_probability_once_triggered(tmp_path):
    model = _option_world(tmp_path, {"when": "day >= 10", "probability": 0.3, "effects": [{"ladder": "mid"}]})
    fired = np.array([not math.isnan(fired_day(model, r, 0)) for r in runs(model, N)])
    assert abs(fired.mean() - 0.3) < tolerance(0.3, N)


def test_hazard_while_condition_holds(tmp_path):
    """Hazard 0.02/day only while day < 30: P(fire) = 1 - exp(-0.6); fire times are Exp(0.02) truncated."""
    model = _option_world(tmp_path, {"when": "day < 30", "hazard": {"per_day": 0.02}})
    fired = np.array([fired_day(model, r, 0) for r in runs(model, N)])
    p = 1 - math.exp(-0.6)
    assert abs(np.mean(~np.isnan(fired)) - p) < tolerance(p, N)
    assert np.nanmax(fired) < 30


def test_observation_lag(tmp_path):
    """A batch on day 10 is seen after a Uniform(5, 15) lag; the option reading the estimate fires then."""
    model = model_of(tmp_path, {
        "variables": {"troops": {"initial": 0}},
        "deployments": {"dep": {"from": "a", "to": "b", "total": "troops",
                                "schedule": [{"when": 10, "size": 100}]}},
        "observations": {"seen": {"observer": "b", "of": "troops",
                                  "lag_days": {"dist": "uniform", "low": 5, "high": 15, "per": "use"}}},
        "options": {"react": {"actor": "b", "label": "react", "when": "seen >= 100", "probability": 1}},
    })
    lags = np.array([fired_day(model, r, 0) - 10 for r in runs(model, 500)])
    assert stats.kstest(lags, stats.uniform(5, 10).cdf).pvalue > 1e-3


def test_observation_noise_factor(tmp_path):
    model = model_of(tmp_path, {
        "checkpoints": {"d50": 49},
        "variables": {"troops": {"initial": 1000}},
        "deployments": {"dep": {"from": "a", "to": "b", "total": "troops", "schedule": [{"when": 1, "size": 1000}]}},
        "observations": {"seen": {"observer": "b", "of": "troops", "lag_days": 3,
                                  "factor": {"dist": "uniform", "low": 0.5, "high": 1.5, "per": "use"}}},
    })
    seen = np.array([r.checkpoints[0][_index(model, "seen")] for r in runs(model, N)])
    assert np.all((seen >= 1000) & (seen <= 3000))
    assert abs(seen.mean() - 2000) < 4 * (2000 * (1 / math.sqrt(12))) / math.sqrt(N)


@pytest.mark.slow
def test_treaty_needing_two_ratifications(tmp_path):
    """In force at the later of two Exp ratifications: P(by t) = (1 - e^{-at})(1 - e^{-bt})."""
    model = model_of(tmp_path, {
        "treaties": {"pact": {"label": "Pact", "parties": ["a", "b"], "casus_foederis": "x > 0", "steps": [
            {"id": "ratify_a", "after": [], "delay_days": {"dist": "exponential", "mean": 20, "per": "use"}},
            {"id": "ratify_b", "after": [], "delay_days": {"dist": "exponential", "mean": 40, "per": "use"}}]}},
        "options": {"notice": {"actor": "a", "label": "notice", "when": "happened('pact')", "probability": 1}},
    })
    in_force = np.array([fired_day(model, r, 0) for r in runs(model, N)])
    for t in (20.0, 50.0, 90.0):
        p = (1 - math.exp(-t / 20)) * (1 - math.exp(-t / 40))
        assert abs(np.mean(in_force <= t) - p) < tolerance(p, N)


def test_casus_foederis_obligation_compliance(tmp_path):
    model = model_of(tmp_path, {
        "treaties": {"pact": {"label": "Pact", "parties": ["a", "b"], "casus_foederis": "x > 0",
                              "steps": [{"id": "signed", "date": "2024-06-19"}],
                              "obligations": [{"party": "b", "label": "help", "compliance": 0.6, "delay_days": 2,
                                               "effects": [{"ladder": "high"}]}]}},
        "options": {"attack": {"actor": "a", "label": "attack", "when": "day >= 5", "probability": 1,
                               "effects": [{"set": {"x": 1}}]}},
    })
    results = runs(model, N)
    honoured = np.array([not math.isnan(fired_day(model, r, 1)) for r in results])
    assert abs(honoured.mean() - 0.6) < tolerance(0.6, N)
    assert {fired_day(model, r, 1) for r in results if not math.isnan(fired_day(model, r, 1))} == {7.0}


def test_attrition_expected_survivors(tmp_path):
    """n0 troops in combat lose each at hazard r: after k weekly steps E[casualties] = n0 (1 - e^{-7 r k})."""
    model = model_of(tmp_path, {
        "checkpoints": {"d28": 28},  # end of day 28 = day 29: four weekly steps (days 7, 14, 21, 28)
        "variables": {"troops": {"initial": 0}, "dead": {"initial": 0}, "fighting": {"initial": 0}},
        "deployments": {"dep": {"from": "a", "to": "b", "total": "troops", "schedule": [{"when": 0, "size": 1000}],
                                "stages": [{"name": "combat", "variable": "fighting"}],
                                "attrition": {"rate_per_day": 0.01, "variable": "dead"}}},
    })
    dead = np.array([r.checkpoints[0][_index(model, "dead")] for r in runs(model, 500)])
    p = 1 - math.exp(-0.01 * 28)
    assert abs(dead.mean() - 1000 * p) < 4 * math.sqrt(1000 * p * (1 - p) / 500)
    r = simulate(model, 1)
    values = dict(zip(model.readable, r.checkpoints[0]))
    assert values["troops"] == values["fighting"] == 1000 - values["dead"]


def test_alternatives_in_a_group_fire_at_most_one(tmp_path):
    """Two competing hazards 0.3 and 0.1 per day: the first decision wins with probability 0.75 / 0.25."""
    model = model_of(tmp_path, {"options": {
        "arm": {"actor": "a", "label": "arm", "when": "day >= 1", "hazard": {"per_day": 0.3}, "group": "g",
                "delay_days": 20},
        "talk": {"actor": "a", "label": "talk", "when": "day >= 1", "hazard": {"per_day": 0.1}, "group": "g"}}})
    results = runs(model, N)
    assert all(sum(r.fire_counts) == 1 for r in results)  # decided arm, then talk's hazard cannot fire in the delay
    share = np.mean([r.fire_counts[0] for r in results])
    assert abs(share - 0.75) < tolerance(0.75, N)


def test_time_condition_wakes_exactly_without_polling(tmp_path):
    model = _option_world(tmp_path, {"when": "day > 50", "probability": 1})
    r = simulate(model, 1)
    assert fired_day(model, r, 0) == math.nextafter(50.0, math.inf)
    assert r.events <= 3  # one wake-up and one decision, not a check every day


def test_repeatable_hazard_option_fires_repeatedly(tmp_path):
    """A repeatable hazard option whose condition always holds is a Poisson process: E[count] = λT."""
    model = _option_world(tmp_path, {"when": "level >= 0", "hazard": {"per_day": 0.05}, "repeatable": True,
                                     "effects": [{"add": {"x": 1}}]})
    counts = np.array([r.fire_counts[0] for r in runs(model, 1000)])
    assert abs(counts.mean() - 5.0) < 4 * math.sqrt(5.0 / 1000)


def test_injection_forces_an_option(tmp_path):
    model = _option_world(tmp_path, {"when": "x > 100", "probability": 0.0, "effects": [{"ladder": "high"}]})
    r = simulate(model, 1, injections=[Injection(day=42, option="go")], trace=True)
    assert fired_day(model, r, 0) == 42 and r.max_levels[0] == 2 and r.entered_cause[2].startswith("A: go")
    with pytest.raises(InjectionError, match="unknown option or obligation 'nope'"):
        simulate(model, 1, injections=[Injection(day=1, option="nope")])
    with pytest.raises(InjectionError, match="outside the run"):
        simulate(model, 1, injections=[Injection(day=500, option="go")])


def test_enable_and_disable_options(tmp_path):
    model = model_of(tmp_path, {"options": {
        "first": {"actor": "a", "label": "first", "when": "day >= 5", "probability": 1,
                  "effects": [{"enable": ["second"]}, {"disable": ["third"]}]},
        "second": {"actor": "a", "label": "second", "when": "day >= 1", "probability": 1, "enabled": False},
        "third": {"actor": "a", "label": "third", "when": "day >= 8", "probability": 1}}})
    r = simulate(model, 1)
    assert fired_day(model, r, 0) == 5 and fired_day(model, r, 1) == 5 and math.isnan(fired_day(model, r, 2))


def test_initial_values_are_set_in_file_order_before_the_levels(tmp_path):
    """An initial value given as an expression reads the parameters and the variables set before it (those after
    it are still 0); the levels and rung events are set after the variables (a model sets them in advance only
    when no initial value reads the state: core._initial_state)."""
    model = model_of(tmp_path, {
        "ladder": {"start": "mid", "rungs": [{"id": "low"}, {"id": "mid"}, {"id": "high"}]},
        "parameters": {"p": {"dist": "uniform", "low": 1, "high": 2, "per": "run"}},
        "variables": {"a": {"initial": "b + level * 10 + p"}, "b": {"initial": 5},
                      "d": {"initial": "a + 100 * happened('mid')"}}})
    final = dict(zip(model.readable, simulate(model, 3).final))
    assert 1 <= final["p"] <= 2 and final["a"] == final["p"] and final["d"] == final["a"]
    assert final["b"] == 5 and final["level"] == 1


def test_a_world_keeps_fewer_than_30_attributes(tmp_path):
    """CPython 3.11 keeps up to 29 instance attributes in a layout shared by a class's instances; a 30th turns
    them into a plain dictionary and slows every attribute access of a run (World's docstring)."""
    from escalsim.engine.world import World

    assert len(vars(World(model_of(tmp_path, {}), seed=1, run=0, trace=True))) < 30


def test_scheduled_calls_are_events_simpy_processes(tmp_path):
    """world.at schedules slotted Call objects; SimPy's step must run them in time order, FIFO on ties."""
    from escalsim.engine.world import World

    model = model_of(tmp_path, {})
    world = World(model, seed=1, run=0, trace=False)
    seen = []
    world.at(5, seen.append, "b")
    world.at(1, seen.append, "a")
    world.at(5, seen.append, "c")
    world.at(500, seen.append, "after the horizon")  # not scheduled at all
    assert world.events_scheduled == 3 and world.events_scheduled == 3  # a read changes no count
    world.env.run(until=model.horizon)  # SimPy's own stop event at the horizon takes an id too
    assert seen == ["a", "b", "c"]


@pytest.mark.parametrize("flow, message", [
    ({"batch_size": 0, "target": {"total": 100, "by": 10}}, "batch_size must be more than 0 on average"),
    ({"batch_size": 10, "interval_days": 0}, "interval_days can only be 0"),
])
def test_flows_that_never_end_or_send_nothing_are_refused(tmp_path, flow, message):
    from escalsim.errors import ScenarioError

    with pytest.raises(ScenarioError, match=message):
        model_of(tmp_path, {"variables": {"t": {"initial": 0}},
                            "deployments": {"d": {"from": "a", "to": "b", "total": "t", "flow": flow}}})


def test_a_run_with_too_many_events_stops_with_a_clear_error(tmp_path, monkeypatch):
    from escalsim.engine import world

    monkeypatch.setattr(world, "MAX_EVENTS", 1000)
    model = model_of(tmp_path, {"variables": {"t": {"initial": 0}},
                                "deployments": {"d": {"from": "a", "to": "b", "total": "t",
                                                      "flow": {"batch_size": 1, "interval_days": 0.01}}}})
    with pytest.raises(world.RunawayError, match="more than 1,000 events"):
        simulate(model, 1)


def test_a_finished_run_leaves_no_reference_cycles():
    """Every escalsim object of a run is freed by reference counting when simulate returns (the cyclic GC
    would otherwise traverse each run's ~50 components: a tenth of a run's setup), the world's SimPy environment
    too (world._Environment: SimPy's own binds its classes to itself, a cycle)."""
    import gc
    from pathlib import Path

    from escalsim.engine.core import compile_model
    from escalsim.scenario.loader import load_scenario

    model = compile_model(load_scenario(Path(__file__).parent.parent / "scenarios" / "dprk_russia_2024.yaml"))
    simulate(model, 1, 0)
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for run in range(5):
            simulate(model, 1, run, trace=run == 0)
        gc.collect()
        ours = [o for o in gc.garbage if type(o).__module__.startswith("escalsim")]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()
    assert ours == [], f"{len(ours)} escalsim objects in reference cycles, e.g. {type(ours[0]).__name__}"


def _day_watching_world(tmp_path):
    return model_of(tmp_path, {"variables": {"x": {"initial": 0}}, "options": {
        "tick": {"actor": "a", "label": "tick", "when": "x < 50", "probability": 0.5, "repeatable": True,
                 "delay_days": 1, "effects": [{"add": {"x": 1}}]},
        "once": {"actor": "b", "label": "once", "when": "x >= 3 or day == 20 or day > 40", "probability": 0.6,
                 "effects": [{"ladder": "mid"}]},
        "late": {"actor": "b", "label": "late", "when": "day >= 10 and x >= 2", "hazard": {"per_day": 0.2},
                 "effects": [{"ladder": "high"}]}}})


def test_a_used_up_condition_that_reads_the_day_is_not_checked_again_and_changes_nothing(tmp_path, monkeypatch):
    """A one-shot option's condition comparing the day with constants retires once the option fired: it is not
    evaluated again, and its wake-ups (counted events) fall on the same days as if it had stayed."""
    import dataclasses

    model = _day_watching_world(tmp_path)
    once = next(p for p in model.plans("options") if p.id == "once")
    assert once.when.wake_days == (20, math.nextafter(20, math.inf), math.nextafter(40, math.inf))
    retired = [repr(simulate(model, 3, i, trace=True)) for i in range(200)]
    for p in model.plans("options"):  # no fixed wake-up days: never retired, as before
        monkeypatch.setattr(p, "when", dataclasses.replace(p.when, wake_days=None))
    assert [repr(simulate(model, 3, i, trace=True)) for i in range(200)] == retired
    monkeypatch.undo()
    evaluate, calls = once.when.evaluate, []
    monkeypatch.setattr(once, "when", dataclasses.replace(
        once.when, evaluate=lambda v, t, e: calls.append(t) or evaluate(v, t, e)))
    fired = 0
    for i in range(100):
        calls.clear()
        day = model.day_of_event(simulate(model, 3, i), "once")
        if not math.isnan(day):
            fired += 1
            assert max(calls) <= day
    assert 20 < fired < 100
