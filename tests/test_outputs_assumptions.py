"""escalsim.scenario.assumptions: one record per sourced number, assumptions told from sourced facts."""

from __future__ import annotations

import textwrap

import pytest
from results_factory import DPRK, MINIMAL

from escalsim.scenario.assumptions import assumptions, is_assumption
from escalsim.scenario.loader import load_scenario
from escalsim.scenario.schema import Scenario


@pytest.fixture(scope="module")
def dprk():
    return {r["path"]: r for r in assumptions(load_scenario(DPRK))}


def test_minimal_lists_its_sourced_numbers_only():
    records = {r["path"]: r for r in assumptions(load_scenario(MINIMAL))}
    assert records["ladder.rungs.0.escalate.per_year"] == {
        "path": "ladder.rungs.0.escalate.per_year", "value": "0.5",
        "source": "assumption: round number for hand arithmetic", "source_path": "ladder.rungs.0.escalate",
        "is_assumption": True}
    assert records["deployments.a_to_border.flow.target.total"]["value"] == "3650"
    assert records["deployments.a_to_border.flow.target.by"]["value"] == "2026-01-01"
    assert records["observations.b_sees_troops.lag_days"]["source"] == "assumption"
    # no note anywhere near them: the option's probability, the flow's batch size (a YAML comment is no note)
    assert "options.b_mobilises.probability" not in records
    assert "deployments.a_to_border.flow.batch_size" not in records


HEAD = """\
escalsim: 1
name: s
start: 2025-01-01
horizon_days: 30
ladder: {start: a, rungs: [{id: a}, {id: b}]}
actors: {x: {label: X}}
"""


def scenario_file(tmp_path, body: str):
    """A small scenario file: HEAD, then `body` (YAML at the top level)."""
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return path


BATCHES = """\
variables: {troops: {initial: 0}}
deployments:
  d:
    from: x
    to: x
    total: troops
    source: "the deployment's own note covers no number of its batches"
    schedule:
      - {when: 2025-01-02, size: 1500, source: "\\"sent in mid-October\\"; assumption: half of the 3,000"}
      - {when: 2025-01-05, size: 1500, source: "\\"3,000 sent\\" (White House)"}
    flow: {batch_size: 100, interval_days: 10, cap: 20000}
"""


def test_a_batch_note_covers_its_date_and_size_and_tells_facts_from_assumptions(tmp_path):
    records = {r["path"]: r for r in assumptions(load_scenario(scenario_file(tmp_path, BATCHES)))}
    first, second = "deployments.d.schedule.0", "deployments.d.schedule.1"
    assert records[f"{first}.size"]["value"] == "1500" and records[f"{first}.size"]["is_assumption"]
    assert records[f"{first}.when"]["value"] == "2025-01-02" and records[f"{first}.when"]["source_path"] == first
    assert not records[f"{second}.size"]["is_assumption"] and "White House" in records[f"{second}.size"]["source"]
    assert "deployments.d.flow.cap" not in records and "deployments.d.flow.batch_size" not in records


def test_distributions_are_written_out_with_their_own_note(dprk):
    batch = dprk["deployments.dprk_to_russia.flow.batch_size"]
    assert batch["value"] == "triangular(low=1000, mode=1500, high=2500), per use"
    assert batch["source_path"] == "deployments.dprk_to_russia.flow.batch_size" and batch["is_assumption"]
    factor = dprk["observations.us_est_troops.factor"]["value"]
    assert factor == "lognormal(mu=0, sigma=0.15), per run, clipped to [0.7, 1.4]"


OPTION = """\
source: "the file's own note covers no single number"
variables: {v: {initial: 0, source: "none at the start"}}
options:
  o: {actor: x, label: acts, when: "v > 1", probability: 0.3, source: "assumption: a guess"}
"""


def test_unsourced_defaulted_and_file_level_numbers_are_left_out(tmp_path):
    records = {r["path"]: r for r in assumptions(load_scenario(scenario_file(tmp_path, OPTION)))}
    assert records["options.o.probability"]["value"] == "0.3" and records["options.o.probability"]["is_assumption"]
    assert "options.o.delay_days" not in records        # not written: the default 0
    assert not [p for p in records if "." not in p]      # start, horizon_days: the file's own note covers none
    assert records["variables.v.initial"]["value"] == "0"  # written, and sourced, though 0 is the default


def test_every_record_says_whether_it_is_an_assumption(dprk):
    for record in dprk.values():
        assert record["source"] and record["is_assumption"] == ("assumption" in record["source"].lower())
    assert sum(r["is_assumption"] for r in dprk.values()) > sum(not r["is_assumption"] for r in dprk.values()) > 10


@pytest.mark.parametrize("source, expected", [("assumption: x", True), ("Assumptions from the author", True),
                                              ("1 on a 0-5 index is an assumption", True),
                                              ("\"quoted from the article\"", False), ("assumed", False)])
def test_the_word_assumption_marks_an_assumption(source, expected):
    assert is_assumption(source) is expected


def test_a_scenario_read_back_from_json_lists_no_default(tmp_path, dprk):
    """The results writer re-validates the scenario from its JSON dump, where every field looks written: values
    equal to their defaults are left out there (the unwritten delay, but also the written initial 0)."""
    scenario = load_scenario(scenario_file(tmp_path, OPTION))
    again = [r["path"] for r in assumptions(Scenario.model_validate_json(scenario.model_dump_json()))]
    assert again == ["options.o.probability"]
    default = assumptions(Scenario.model_validate_json(load_scenario(DPRK).model_dump_json()))
    assert all(dprk[r["path"]] == r for r in default)


def test_an_override_with_a_note_is_listed():
    what_if = "{dist: uniform, low: 0.2, high: 0.6, per: run, source: 'assumption: what-if'}"
    scenario = load_scenario(MINIMAL, overrides=[f"options.b_mobilises.probability={what_if}"])
    record = {r["path"]: r for r in assumptions(scenario)}["options.b_mobilises.probability"]
    assert record["value"] == "uniform(low=0.2, high=0.6), per run" and record["is_assumption"]


def test_effects_and_empirical_values(tmp_path):
    path = scenario_file(tmp_path, """\
        variables: {v: {initial: 2, source: "counted"}}
        options:
          o:
            actor: x
            label: acts
            when: "v > 1"
            probability: {dist: empirical, values: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], per: run, source: "assumption: e"}
            effects:
              - add: {v: {dist: fixed, value: 3, source: "a count"}}
        """)
    records = {r["path"]: r for r in assumptions(load_scenario(path))}
    assert records["variables.v.initial"]["value"] == "2" and not records["variables.v.initial"]["is_assumption"]
    values = "[0.1, 0.2, 0.3, 0.4, 0.5, … (6 values)]"
    assert records["options.o.probability"]["value"] == f"empirical(values={values}), per run"
    assert records["options.o.effects.0.add.v"] == {"path": "options.o.effects.0.add.v", "value": "3",
                                                    "source": "a count", "source_path": "options.o.effects.0.add.v",
                                                    "is_assumption": False}
