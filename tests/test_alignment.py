"""Common random numbers you can trust: a change in arm B (a move, a parameter) leaves every outcome it cannot
reach (by the influence graph) identical, run by run, to arm A's. An outcome that differs without a path from
the change would mean a shifted random stream (or a path the graph misses): both are bugs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from escalsim.engine import compile_model, simulate
from escalsim.scenario.graph import influence_graph, node_id, reachable
from escalsim.scenario.loader import load_scenario
from escalsim.scenario.moves import Injection

DEFAULT = Path(__file__).parent.parent / "scenarios" / "dprk_russia_2024.yaml"
RUNS = 150


def _same(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


def _unreached(scenario, start: str) -> tuple[list[str], list[str], list[str]]:
    """Options, variables (and estimates) and tracks the change at node `start` cannot reach."""
    graph = influence_graph(scenario)
    reached = set(reachable(graph, start)) | {start}
    options = [o for o in scenario.options if node_id("option", o) not in reached]
    variables = [n.name for n in graph.of_kind("variable", "estimate") if n.id not in reached]
    tracks = [t for t in scenario.track_specs if node_id("track", t) not in reached]
    return options, variables, tracks


def _check(model_a, model_b, moves_b: dict, unreached) -> int:
    options, variables, tracks = unreached
    assert options and variables, "nothing to check: the change reaches everything"
    compared = 0
    for run in range(RUNS):
        a, b = simulate(model_a, 7, run), simulate(model_b, 7, run, **moves_b)
        for name in options:
            assert _same(model_a.day_of_event(a, name), model_b.day_of_event(b, name)), (run, name)
        for name in variables:
            i, j = model_a.readable.index(name), model_b.readable.index(name)
            assert all(_same(x[i], y[j]) for x, y in zip(a.checkpoints, b.checkpoints)), (run, name)
        for t, track in enumerate(model_a.tracks):
            if track.id in tracks:
                assert a.level_paths[t] == b.level_paths[t], (run, track.id)
        compared += 1
    return compared


def test_a_move_leaves_what_it_cannot_reach_identical_run_by_run():
    scenario = load_scenario(DEFAULT)
    model = compile_model(scenario)
    unreached = _unreached(scenario, node_id("option", "moscow_threatens_seoul"))
    moves = {"injections": [Injection(day=31, option="moscow_threatens_seoul")]}
    assert _check(model, model, moves, unreached) == RUNS


@pytest.mark.parametrize(("override", "start"), [
    ("options.moscow_nuclear_signal.probability=0.9", "moscow_nuclear_signal"),       # a changed number
    ("options.moscow_nuclear_alert.enabled=false", "moscow_nuclear_alert"),           # an option taken away
    ("options.extra={actor: russia, label: extra, when: 'day >= 30', probability: 0.5,"
     " delay_days: {dist: uniform, low: 0, high: 9, per: use}}", None),              # an option added
])
def test_a_changed_option_leaves_what_it_cannot_reach_identical_run_by_run(override, start):
    base = load_scenario(DEFAULT)
    changed = load_scenario(DEFAULT, [override])
    if start is None:  # a new option: nothing reads it, so nothing else may change at all
        unreached = (list(base.options), list(base.variables) + list(base.observations), list(base.track_specs))
    else:
        unreached = _unreached(base, node_id("option", start))
    assert _check(compile_model(base), compile_model(changed), {}, unreached) == RUNS


def test_a_parameter_change_leaves_what_it_cannot_reach_identical_run_by_run(tmp_path):
    """A small world: parameter p sets option a's chance; option b (its own hazard, drawn per run) and the
    deployment's casualties cannot be reached from p."""
    from worlds import write

    world = {"parameters": {"p": {"dist": "uniform", "low": 0.2, "high": 0.4, "per": "run"}},
             "variables": {"y": {"initial": 0}, "troops": {"initial": 0}, "dead": {"initial": 0},
                           "fighting": {"initial": 0}},
             "deployments": {"dep": {"from": "a", "to": "b", "total": "troops",
                                     "flow": {"batch_size": 100, "interval_days": {"dist": "exponential",
                                                                                    "mean": 5, "per": "use"}},
                                     "stages": [{"name": "combat", "variable": "fighting"}],
                                     "attrition": {"rate_per_day": 0.01, "variable": "dead"}}},
             "options": {"a": {"actor": "a", "label": "a", "when": "day >= 10", "probability": "p",
                               "effects": [{"set": {"x": 1}}]},
                         "b": {"actor": "b", "label": "b", "when": "troops >= 500",
                               "hazard": {"per_month": {"dist": "uniform", "low": 0.5, "high": 2, "per": "run"}},
                               "effects": [{"set": {"y": 1}}]}}}
    path = write(tmp_path, world)
    base, changed = load_scenario(path), load_scenario(path, ["parameters.p.high=0.9"])
    unreached = _unreached(base, node_id("parameter", "p"))
    assert "b" in unreached[0] and "dead" in unreached[1]
    assert _check(compile_model(base), compile_model(changed), {}, unreached) == RUNS
