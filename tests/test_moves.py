"""Moves in the engine: injected decisions and blocks (declined moves), alternatives kept exclusive, an
umpire's override recorded, obligations injected and blocked."""

from __future__ import annotations

import math

import pytest
from worlds import model_of, write

from escalsim.engine.core import InjectionError, simulate
from escalsim.scenario.moves import Block, Injection


def _group_world(tmp_path):
    return model_of(tmp_path, {"options": {
        "arm": {"actor": "a", "label": "arm", "when": "day >= 10", "probability": 1, "group": "g",
                "effects": [{"ladder": "high"}]},
        "talk": {"actor": "a", "label": "talk", "when": "day >= 50", "probability": 1, "group": "g",
                 "effects": [{"ladder": "mid"}]}}})


def test_injecting_the_second_alternative_after_the_first_fired_is_refused_and_noted(tmp_path):
    model = _group_world(tmp_path)
    r = simulate(model, 1, injections=[Injection(day=20, option="talk")], trace=True)
    assert model.day_of_event(r, "arm") == 10 and math.isnan(model.day_of_event(r, "talk"))
    assert any(e.text == "injection refused, off the table: talk" for e in r.trace)


def test_an_umpire_override_fires_it_and_says_so(tmp_path):
    model = _group_world(tmp_path)
    r = simulate(model, 1, injections=[Injection(day=20, option="talk", override=True)], trace=True)
    assert model.day_of_event(r, "talk") == 20
    assert any(e.cause.startswith("umpire override") for e in r.trace if e.kind == "decision")


def test_a_block_declines_the_option_in_its_window_only(tmp_path):
    model = _group_world(tmp_path)
    r = simulate(model, 1, blocks=[Block(option="arm", start=0, until=30)])
    assert model.day_of_event(r, "arm") == 30  # considered again when the block ends (its condition holds)
    r = simulate(model, 1, blocks=[Block(option="arm")])  # declined for the whole run: the alternative comes
    assert math.isnan(model.day_of_event(r, "arm")) and model.day_of_event(r, "talk") == 50
    r = simulate(model, 1, blocks=[Block(option="arm")],
                 injections=[Injection(day=5, option="arm", override=True)], trace=True)
    assert model.day_of_event(r, "arm") == 5  # an umpire may override a block; the trace says so
    assert any(e.cause.startswith("umpire override") for e in r.trace if e.kind == "decision")


def test_a_block_drops_a_pending_decision(tmp_path):
    model = model_of(tmp_path, {"options": {"slow": {"actor": "a", "label": "slow", "when": "day >= 1",
                                                     "probability": 1, "delay_days": 20}}})
    assert model.day_of_event(simulate(model, 1), "slow") == 21
    r = simulate(model, 1, blocks=[Block(option="slow", start=5, until=40)])
    assert model.day_of_event(r, "slow") == 60  # decided again when the block ends (day 40), fired 20 days later


def test_moves_on_treaty_obligations(tmp_path):
    model = model_of(tmp_path, {"treaties": {"pact": {
        "label": "Pact", "parties": ["a", "b"], "casus_foederis": "day >= 10",
        "steps": [{"id": "signed", "date": "2025-01-01"}],
        "obligations": [{"party": "b", "label": "help", "compliance": 1, "delay_days": 2}]}}})
    assert model.day_of_event(simulate(model, 1), "pact.b") == 12
    assert math.isnan(model.day_of_event(simulate(model, 1, blocks=[Block(option="pact.b")]), "pact.b"))
    r = simulate(model, 1, injections=[Injection(day=3, option="pact.b")])
    assert model.day_of_event(r, "pact.b") == 3


@pytest.mark.parametrize(("moves", "message"), [
    ({"injections": [Injection(day=1, option="nope")]}, "injection names unknown option or obligation 'nope'"),
    ({"blocks": [Block(option="arm", start=500)]}, "block day 500 is outside the run"),
])
def test_bad_moves_are_refused(tmp_path, moves, message):
    with pytest.raises(InjectionError, match=message):
        simulate(_group_world(tmp_path), 1, **moves)


@pytest.mark.parametrize(("moves", "message"), [
    ({"injections": [Injection(day=5, option="arm"), Injection(day=6, option="talk")]},
     "arm and talk are alternatives .group g.: inject one, or make the second an umpire's override"),
    ({"injections": [Injection(day=5, option="arm")], "blocks": [Block(option="arm", start=0, until=10)]},
     "arm is both injected on day 5 and blocked then"),
    ({"blocks": [Block(option="arm", start=20, until=10)]}, "ends .day 10. before it starts"),
    ({"injections": [Injection(day=1, option="amr")]}, "did you mean 'arm'"),
])
def test_conflicting_moves_are_refused_before_any_run(tmp_path, moves, message):
    from escalsim.engine.core import check_moves

    with pytest.raises(InjectionError, match=message):
        check_moves(_group_world(tmp_path), **moves)


def test_moves_in_a_monte_carlo_are_recorded_and_make_every_run(tmp_path):
    import escalsim

    scenario = escalsim.load_scenario(write(tmp_path, {"options": {
        "go": {"actor": "a", "label": "go", "when": "x > 5", "probability": 1, "effects": [{"ladder": "mid"}]}}}))
    settings = escalsim.Settings(runs=50, seed=3, workers=1, injections=[Injection(day=7, option="go")])
    results = escalsim.load_results(escalsim.run(scenario, tmp_path / "r", settings))
    assert (results.runs["event.go"] == 7).all()
    assert results.manifest["moves"] == {"injections": [{"day": 7.0, "option": "go", "override": False}],
                                         "blocks": []}
    with pytest.raises(InjectionError, match="unknown option or obligation 'og'"):
        escalsim.run(scenario, tmp_path / "bad", escalsim.Settings(runs=5, injections=[Injection(day=1, option="og")]))
    assert not (tmp_path / "bad").exists()
