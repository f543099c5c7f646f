"""A run is fully determined by (scenario, seed, run, injections); components keep their own streams."""

from __future__ import annotations

from pathlib import Path

from worlds import model_of

from escalsim.engine.core import compile_model, simulate
from escalsim.scenario.loader import load_scenario
from escalsim.scenario.moves import Injection

SCENARIOS = Path(__file__).parent.parent / "scenarios"



def fired_day(model, record, i: int) -> float:
    """The day outcome i (options, then obligations) first happened in a run (NaN: never)."""
    return model.day_of_event(record, model.outcomes[i])

def _minimal(overrides=()):
    return compile_model(load_scenario(SCENARIOS / "minimal.yaml", overrides))


def test_same_seed_same_record_and_trace():
    model = _minimal()
    assert simulate(model, 7, 3, trace=True) == simulate(model, 7, 3, trace=True)
    assert simulate(compile_model(load_scenario(SCENARIOS / "minimal.yaml")), 7, 3) == simulate(model, 7, 3)


def test_different_seeds_or_runs_differ():
    model = _minimal()
    paths = {simulate(model, seed, run).level_paths for seed in (1, 2) for run in range(10)}
    assert len(paths) > 10


def _arrivals(record):
    return [(e.day, e.text) for e in record.trace if e.kind == "deployment"]


def test_changing_one_option_leaves_other_components_draws_alone():
    """Common random numbers: a new probability for B's option changes nothing in A's deployment."""
    base, variant = _minimal(), _minimal(["options.b_mobilises.probability=0.9"])
    changed = 0
    for run in range(30):
        a, b = simulate(base, 5, run, trace=True), simulate(variant, 5, run, trace=True)
        assert _arrivals(a) == _arrivals(b)
        changed += a.event_days != b.event_days
    assert changed > 0  # the variant really is different


def test_adding_an_option_leaves_other_components_draws_alone(tmp_path):
    extra = {"ladder": {"rungs": [{"id": "low", "escalate": {"per_day": 0.05}}, {"id": "mid"}, {"id": "high"}]},
             "variables": {"troops": {"initial": 0}},
             "deployments": {"dep": {"from": "a", "to": "b", "total": "troops",
                                     "flow": {"batch_size": 10, "interval_days": {"dist": "exponential", "mean": 5,
                                                                                  "per": "use"}}}}}
    (tmp_path / "base").mkdir()
    base = model_of(tmp_path / "base", extra)
    extra["options"] = {"noise": {"actor": "b", "label": "noise", "when": "troops > 50", "probability": 0.5,
                                  "effects": [{"add": {"x": 1}}]}}
    more = model_of(tmp_path, extra)
    for run in range(20):
        a, b = simulate(base, 9, run, trace=True), simulate(more, 9, run, trace=True)
        assert _arrivals(a) == _arrivals(b)
        assert a.at_or_above == b.at_or_above


def test_injection_is_part_of_the_run_identity():
    model = _minimal()
    forced = [Injection(day=20, option="b_mobilises")]
    once = simulate(model, 4, 0, forced, trace=True)
    assert once == simulate(model, 4, 0, forced, trace=True)
    assert fired_day(model, once, 0) == 20
    assert once != simulate(model, 4, 0, trace=True)
