"""Escalation tracks: a jump enters only the rung it lands on; several tracks move independently; bad files."""

from __future__ import annotations

import math

import pytest
from worlds import TRACKS, merge, model_of, write

from escalsim.engine.core import simulate
from escalsim.engine.story import story
from escalsim.errors import ScenarioError
from escalsim.scenario.loader import load_scenario


def _jump_world(tmp_path):
    """One option that raises the ladder from 'low' straight to 'high' on day 10, passing over 'mid'."""
    return model_of(tmp_path, {"options": {"go": {"actor": "a", "label": "jump", "when": "day >= 10",
                                                  "probability": 1, "effects": [{"ladder": "high"}]}}})


def test_a_jump_enters_only_the_rung_it_lands_on(tmp_path):
    model = _jump_world(tmp_path)
    r = simulate(model, 1, trace=True)
    low, mid, high = (model.rungs.index(x) for x in ("low", "mid", "high"))
    assert r.at_or_above[mid] == r.at_or_above[high] == 10          # at or above both from day 10
    assert math.isnan(r.entered[mid]) and r.entered_cause[mid] == ""  # passed over: never on it, no cause
    assert r.entered[high] == 10 and r.entered_cause[high] == "A: jump"
    assert r.entered[low] == 0 and r.entered_cause[low] == "start"
    text = "\n".join(story(model, r))
    assert "entered high on 2025-01-11 (day 10) because: A: jump" in text
    assert "passed over mid on 2025-01-11 (day 10): never on it" in text
    assert "because: A: jump" not in text.split("passed over mid")[1].splitlines()[0]


def test_a_rung_entered_on_the_way_down_is_entered(tmp_path):
    model = model_of(tmp_path, {"options": {
        "up": {"actor": "a", "label": "up", "when": "day >= 10", "probability": 1, "effects": [{"ladder": "high"}]},
        "down": {"actor": "a", "label": "down", "when": "day >= 20", "probability": 1,
                 "effects": [{"ladder_set": "mid"}]}}})
    r = simulate(model, 1)
    mid = model.rungs.index("mid")
    assert r.entered[mid] == 20 and r.entered_cause[mid] == "A: down" and r.at_or_above[mid] == 10
    assert r.final_levels == (1,) and r.max_levels == (2,)


def test_two_tracks_move_independently(tmp_path):
    model = model_of(tmp_path, merge(TRACKS, {"options": {
        "widen": {"actor": "a", "label": "widen", "when": "day >= 5", "probability": 1,
                  "effects": [{"step": {"track": "wide", "by": 2}}]},
        "escalate": {"actor": "b", "label": "escalate", "when": "wide >= rung('w2')", "probability": 1,
                     "delay_days": 3, "effects": [{"ladder": "m1"}]}}}))
    assert [t.id for t in model.tracks] == ["wide", "means"] and model.rungs == ["w0", "w1", "w2", "w3", "m0", "m1"]
    r = simulate(model, 1, trace=True)
    assert r.final_levels == (2, 1) and r.max_levels == (2, 1)
    assert r.entered[model.rungs.index("w2")] == 5 and math.isnan(r.entered[model.rungs.index("w1")])
    assert r.entered[model.rungs.index("m1")] == 8 and r.entered_cause[model.rungs.index("m1")] == "B: escalate"
    assert r.level_paths == (((0.0, 0), (5.0, 2)), ((0.0, 0), (8.0, 1)))
    assert "Widening: up to w2 (from w0)" in [f"{e.subject}: {e.text}" for e in r.trace]


@pytest.mark.parametrize(("extra", "message"), [
    ({"options": {"go": {"actor": "a", "label": "go", "when": "day > 1", "probability": 1,
                         "effects": [{"ladder_step": 1}]}}},
     "with several tracks, say which one moves: write step: {track: wide, by: 1}"),
    ({"tracks": {"means": {"rungs": [{"id": "m0"}, {"id": "w1"}]}}}, "rung 'w1' is already a rung of track 'wide'"),
    ({"variables": {"wide": {"initial": 0}}}, "'wide' is already a variable or an observation"),
    ({"options": {"go": {"actor": "a", "label": "go", "when": "level > 0", "probability": 1}}},
     "unknown"),
    ({"options": {"go": {"actor": "a", "label": "go", "when": "day > 1", "probability": 1,
                         "effects": [{"step": {"track": "wdie", "by": 1}}]}}}, "did you mean 'wide'"),
])
def test_track_mistakes_are_located_errors(tmp_path, extra, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, merge(TRACKS, extra)))
    assert message in str(info.value)


def test_ladder_and_tracks_together_are_refused(tmp_path):
    with pytest.raises(ScenarioError, match="give exactly one of ladder: .one track. or tracks: .several."):
        load_scenario(write(tmp_path, {"tracks": TRACKS["tracks"]}))


def test_date_and_before_in_conditions(tmp_path):
    """date() is a day number from the start (BASE starts 2025-01-01); before('a', 'b') is true once a happened
    if b had not happened before it."""
    model = model_of(tmp_path, {"options": {
        "first": {"actor": "a", "label": "first", "when": "day >= date('2025-01-11')", "probability": 1},
        "second": {"actor": "a", "label": "second", "when": "day >= 20", "probability": 1},
        "ordered": {"actor": "b", "label": "ordered", "when": "before('first', 'second')", "probability": 1},
        "reversed": {"actor": "b", "label": "reversed", "when": "before('second', 'first')", "probability": 1}}})
    r = simulate(model, 1)
    assert model.day_of_event(r, "first") == 10 and model.day_of_event(r, "ordered") == 10
    assert math.isnan(model.day_of_event(r, "reversed"))


@pytest.mark.parametrize(("when", "message"), [
    ("day >= date('2025-13-01')", "is not a date written YYYY-MM-DD"),
    ("before('first')", "before() takes two quoted event names"),
    ("before('first', 'nope')", "unknown event 'nope'"),
])
def test_date_and_before_mistakes(tmp_path, when, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_scenario(write(tmp_path, {"options": {
            "first": {"actor": "a", "label": "first", "when": "day > 1", "probability": 1},
            "go": {"actor": "a", "label": "go", "when": when, "probability": 1}}}))


# --- effects on deployments, decisions and obligations ----------------------------------------------------------

def _combat_world(tmp_path, effects, **extra):
    """1000 troops arrive on day 0, train 10 days, then fight (attrition 1%/day in weekly steps); an option on
    day 30 applies `effects`."""
    return model_of(tmp_path, {
        "checkpoints": {"d29": 29, "d60": 60},
        "variables": {"troops": {"initial": 0}, "training": {"initial": 0}, "fighting": {"initial": 0},
                      "dead": {"initial": 0}},
        "deployments": {"dep": {"from": "a", "to": "b", "total": "troops", "schedule": [{"when": 0, "size": 1000}],
                                "stages": [{"name": "training", "days": 10, "variable": "training"},
                                           {"name": "combat", "variable": "fighting"}],
                                "attrition": {"rate_per_day": 0.01, "variable": "dead"}}},
        "options": {"go": {"actor": "a", "label": "go", "when": "day >= 30", "probability": 1, "effects": effects}},
        **extra})


def _at(model, record, checkpoint: int, name: str) -> float:
    return record.checkpoints[checkpoint][model.readable.index(name)]


def test_withdraw_out_of_the_country_and_back_to_an_earlier_stage(tmp_path):
    model = _combat_world(tmp_path, [{"withdraw": {"deployment": "dep", "share": 0.5}}])
    r = simulate(model, 3)
    before = _at(model, r, 0, "fighting")
    assert _at(model, r, 1, "troops") <= before - round(before * 0.5) + 0.0 and _at(model, r, 1, "troops") >= 0
    assert _at(model, r, 1, "troops") == _at(model, r, 1, "fighting")  # the rest stays in combat
    model = _combat_world(tmp_path, [{"withdraw": {"deployment": "dep", "to": "training"}}])
    r = simulate(model, 3)
    # all of them back in training on day 30, in combat again from day 40; the total never drops for it
    assert _at(model, r, 1, "troops") == 1000 - _at(model, r, 1, "dead")


def test_a_ceasefire_stops_losses_and_a_resumed_flow_sends_again(tmp_path):
    model = _combat_world(tmp_path, [{"scale_attrition": {"deployment": "dep", "factor": 0}}])
    for r in (simulate(model, seed) for seed in range(20)):
        assert _at(model, r, 1, "dead") == _at(model, r, 0, "dead")  # no losses after day 30
    model = model_of(tmp_path, {
        "checkpoints": {"d19": 19, "d40": 40},
        "variables": {"troops": {"initial": 0}},
        "deployments": {"dep": {"from": "a", "to": "b", "total": "troops",
                                "flow": {"batch_size": 100, "interval_days": 5}}},
        "options": {"stop": {"actor": "a", "label": "stop", "when": "day >= 10", "probability": 1,
                             "effects": [{"stop_flow": "dep"}, {"scale_flow": {"deployment": "dep", "factor": 3}}]},
                    "again": {"actor": "a", "label": "again", "when": "day >= 20", "probability": 1,
                              "effects": [{"resume_flow": "dep"}]}}})
    r = simulate(model, 1)
    assert _at(model, r, 0, "troops") == 200   # days 5 and 10 (the stop comes after the batch of day 10)
    assert _at(model, r, 1, "troops") == 200 + 400  # days 25, 30, 35, 40: the rate before the stop, not x3


def test_cancel_drops_a_pending_decision_and_obligations_can_be_suspended(tmp_path):
    model = model_of(tmp_path, {
        "treaties": {"pact": {"label": "Pact", "parties": ["a", "b"], "casus_foederis": "x > 0",
                              "steps": [{"id": "signed", "date": "2024-06-19"}],
                              "obligations": [{"party": "b", "label": "help", "compliance": 1, "delay_days": 5}]}},
        "options": {
            "slow": {"actor": "a", "label": "slow", "when": "day >= 1", "probability": 1, "delay_days": 20,
                     "effects": [{"ladder": "high"}]},
            "attack": {"actor": "a", "label": "attack", "when": "day >= 5", "probability": 1,
                       "effects": [{"set": {"x": 1}}, {"cancel": ["slow"]}]},
            "suspend": {"actor": "b", "label": "suspend", "when": "day >= 7", "probability": 1,
                        "effects": [{"disable": ["pact.b"]}]}}})
    r = simulate(model, 1, trace=True)
    assert math.isnan(model.day_of_event(r, "slow")) and r.max_levels == (0,)
    assert model.day_of_event(r, "pact.casus_foederis") == 5 and math.isnan(model.day_of_event(r, "pact.b"))
    assert any("suspended: help" in e.text for e in r.trace)


def test_an_injected_obligation_is_honoured_on_its_day(tmp_path):
    from escalsim.scenario.moves import Injection

    model = model_of(tmp_path, {"treaties": {"pact": {
        "label": "Pact", "parties": ["a", "b"], "casus_foederis": "x > 0",
        "steps": [{"id": "signed", "date": "2025-01-01"}],
        "obligations": [{"party": "b", "label": "help", "compliance": 0, "effects": [{"ladder": "mid"}]}]}}})
    r = simulate(model, 1, injections=[Injection(day=12, option="pact.b")])
    assert model.day_of_event(r, "pact.b") == 12 and r.entered_cause[model.rungs.index("mid")] == "B: help"


@pytest.mark.parametrize(("effects", "message"), [
    ([{"set": {"troops": 5}}], "'troops' is kept by deployment 'dep'"),
    ([{"withdraw": {"deployment": "dep", "to": "combat"}}], "unknown earlier stage 'combat'"),
    ([{"scale_attrition": {"deployment": "nope", "factor": 0}}], "unknown deployment with attrition 'nope'"),
    ([{"cancel": ["goo"]}], "did you mean 'go'"),
])
def test_deployment_effect_mistakes(tmp_path, effects, message):
    with pytest.raises(ScenarioError, match=message):
        _combat_world(tmp_path, effects)
