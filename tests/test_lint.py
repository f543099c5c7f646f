"""Model checks (scenario.lint): each warning fires exactly when it should, is located in the file, and strict mode
flags the numbers without a source."""

from __future__ import annotations

from pathlib import Path

import pytest
from worlds import DROP, merge, write

from escalsim.errors import ScenarioError
from escalsim.scenario.lint import lint_file, strict_problems, warning_line, warnings
from escalsim.scenario.loader import load_scenario

ROOT = Path(__file__).parent.parent


def option(when: str = "x >= 1", **extra) -> dict:
    return {"actor": "a", "label": "an option", "when": when, "probability": 1, **extra}


def warned(tmp_path, extra: dict) -> dict[tuple, str]:
    return dict(warnings(load_scenario(write(tmp_path, extra))))


# a world where x is read (by 'mover', which moves the ladder): no warning
QUIET = {"options": {"mover": option("x >= 1", effects=[{"ladder": "mid"}]),
                     "bumper": option("day >= 10", effects=[{"add": {"x": 1}}])}}


def test_a_world_where_everything_matters_has_no_warning(tmp_path):
    assert warned(tmp_path, QUIET) == {}


def test_an_unread_variable_warns_and_a_read_one_does_not(tmp_path):
    found = warned(tmp_path, merge(QUIET, {"variables": {"unused": {"initial": 0}}}))
    assert list(found) == [("variables", "unused", "[key]")]
    assert "variable 'unused' is never read" in found[("variables", "unused", "[key]")]


@pytest.mark.parametrize("why", [
    {"variables": {"unused": {"initial": 0, "key": True}}},                      # shown in summaries
    {"variables": {"unused": {"initial": 0}}, "observations": {"seen": {"observer": "b", "of": "unused"}},
     "options": {"mover": {"when": "x >= 1 or seen > 3"}}},                       # observed, and the estimate read
    {"variables": {"unused": {"initial": 0}}, "options": {"mover": {"probability": "0.5 + unused"}}},  # a number
])
def test_a_variable_read_some_other_way_does_not_warn(tmp_path, why):
    assert warned(tmp_path, merge(QUIET, why)) == {}


def test_a_disabled_option_never_enabled_warns_and_one_enabled_does_not(tmp_path):
    disabled = merge(QUIET, {"options": {"mover": {"enabled": False}}})
    found = warned(tmp_path, disabled)
    assert list(found) == [("options", "mover", "enabled")]
    assert "disabled (enabled: false) and no effect enables it: it can never fire" in found[("options", "mover",
                                                                                              "enabled")]
    enabled = merge(disabled, {"options": {"bumper": {"effects": [{"add": {"x": 1}}, {"enable": ["mover"]}]}}})
    assert warned(tmp_path, enabled) == {}


@pytest.mark.parametrize("change, path, message", [
    ({"probability": 0}, "probability", "has probability 0"),
    ({"probability": {"dist": "uniform", "low": 0, "high": 0, "per": "run"}}, "probability", "has probability 0"),
    ({"probability": DROP, "hazard": {"per_year": 0}}, "hazard", "has a hazard of 0"),
])
def test_an_option_that_cannot_be_chosen_warns(tmp_path, change, path, message):
    found = warned(tmp_path, merge(QUIET, {"options": {"mover": change}}))
    assert list(found) == [("options", "mover", path)] and message in found[("options", "mover", path)]


def test_a_condition_false_at_the_start_on_what_nothing_changes_warns(tmp_path):
    # 'y' is never written and starts at 0; 'high' is a rung above the start of a ladder nothing else moves
    extra = {"variables": {"y": {"initial": 0, "key": True}},
             "options": {"never": option("y >= 1", effects=[{"ladder": "high"}]),
                         "nor": option("happened('high') and x > 0", effects=[{"set": {"x": 1}}])}}
    found = warned(tmp_path, extra)
    assert set(found) == {("options", "never", "when")}
    assert found[("options", "never", "when")] == (
        "option 'never' can never fire (only an injection can fire it): its condition 'y >= 1' reads only y, which "
        "nothing changes, and is false at the start")


@pytest.mark.parametrize("when, extra", [
    ("y >= 1", {"options": {"other": option("day >= 5", effects=[{"set": {"y": 1}}])}}),   # y is written
    ("y >= 1", {"variables": {"y": {"initial": {"dist": "uniform", "low": 0, "high": 2, "per": "run"}}}}),
    ("y >= 1 or day >= 50", {}),                                                           # time
    ("y < 1", {}),                                                                         # true at the start
    ("happened('f')", {"flags": ["f"], "options": {"other": option("day >= 5", effects=[{"flag": "f"}])}}),
    ("level >= rung('mid')", {"ladder": {"rungs": [{"id": "low", "escalate": {"per_year": 1}}, {"id": "mid"},
                                                   {"id": "high"}]}}),                     # a hazard moves it
    ("resolve > 1", {"parameters": {"resolve": {"dist": "uniform", "low": 0, "high": 2, "per": "run"}}}),
])
def test_a_condition_that_may_hold_does_not_warn(tmp_path, when, extra):
    world = merge({"variables": {"y": {"initial": 0, "key": True}}, "options": {"maybe": option(
        when, effects=[{"add": {"x": 1}}])}}, extra)  # it moves no track itself
    assert ("options", "maybe", "when") not in warned(tmp_path, world)


def test_an_option_that_reaches_nothing_read_warns(tmp_path):
    extra = merge(QUIET, {"variables": {"z": {"initial": 0}}, "options": {"idle": option(effects=[{"set": {"z": 1}}]),
                                                                          "empty": option()}})
    found = warned(tmp_path, extra)
    assert set(found) == {("variables", "z", "[key]"), ("options", "idle", "[key]"), ("options", "empty", "[key]")}
    assert found[("options", "idle", "[key]")].startswith("option 'idle' sets z: its effects reach no track")
    assert found[("options", "empty", "[key]")].startswith("option 'empty' has no effects:")
    # read by a condition, an option without effects matters; through a key variable, an option matters
    assert warned(tmp_path, merge(extra, {"variables": {"z": {"key": True}},
                                          "options": {"mover": {"when": "x >= 1 or happened('empty')"}}})) == {}


TREATY = {"treaties": {"t": {"label": "T", "parties": ["a", "b"], "casus_foederis": "x >= 1",
                             "steps": [{"id": "signed", "date": "2024-12-01"}, {"id": "ratified"}],
                             "obligations": [{"party": "b", "label": "help", "compliance": 0.5,
                                              "effects": [{"ladder": "high"}]}]}}}


@pytest.mark.parametrize("change, path, message", [
    ({}, None, None),
    ({"obligations": [{"party": "b", "label": "help", "compliance": 0, "effects": [{"ladder": "high"}]}]},
     ("obligations", 0, "compliance"), "the obligation of b has compliance 0: it can never be honoured"),
    ({"steps": [{"id": "signed", "date": "2024-12-01"}, {"id": "ratified", "probability": 0}]},
     ("steps", 1, "probability"), "step 'ratified' has probability 0: treaty 't' never comes into force"),
    ({"steps": [{"id": "signed", "date": "2025-06-01"}]}, ("steps", 0, "date"), "dated after the last day"),
    ({"casus_foederis": "y >= 1"}, ("casus_foederis",),
     "the casus foederis of 't' 'y >= 1' reads only y, which nothing changes, and is false at the start: it is never "
     "called, so none of its obligations can ever be honoured"),
    ({"obligations": [{"party": "b", "label": "help", "compliance": 1, "effects": [{"set": {"x": 1}}]}]}, None,
     None),
    ({"obligations": [{"party": "b", "label": "help", "compliance": 1}]}, ("obligations", 0),
     "the obligation of b has no effects: its effects reach no track"),
])
def test_treaty_obligations_that_can_never_act_or_matter_warn(tmp_path, change, path, message):
    world = merge(QUIET, merge(TREATY, {"variables": {"y": {"initial": 0, "key": True}}, "treaties": {"t": change}}))
    found = warned(tmp_path, world)
    if path is None:
        assert found == {}
    else:
        assert list(found) == [("treaties", "t", *path)] and message in found[("treaties", "t", *path)]


def test_warnings_are_located_in_the_file(tmp_path):
    path = write(tmp_path, merge(QUIET, {"variables": {"unused": {"initial": 0}}}))
    result = lint_file(path)
    assert result.strict and len(result.warnings) == 1
    problem = result.warnings[0]
    line = path.read_text().splitlines()[problem.line - 1]
    assert line[problem.column - 1:].startswith('"unused"')
    assert warning_line(problem) == (f"{path}:{problem.line}:{problem.column}: variables.unused: warning: "
                                     f"{problem.message}")
    with pytest.raises(ScenarioError):
        lint_file(write(tmp_path, {"variables": {"x": {"initial": "nope nope"}}}, "bad.yaml"))


def test_strict_flags_a_number_without_a_source(tmp_path):
    world = {"variables": {"x": {"initial": 3}},
             "options": {"o": option(probability=0.5, delay_days={"dist": "uniform", "low": 1, "high": 2,
                                                                  "per": "use"}, effects=[{"add": {"x": 1}}])}}
    found = dict(strict_problems(load_scenario(write(tmp_path, world))))
    assert set(found) == {("variables", "x", "initial"), ("options", "o", "probability"),
                          ("options", "o", "delay_days"), ("options", "o", "effects", 0, "add", "x")}
    assert found[("options", "o", "probability")] == (
        'no source: give the option a source: (options.o), or write the number as {dist: fixed, value: 0.5, '
        'source: "..."} (a YAML comment does not count)')


def test_strict_accepts_a_source_of_its_own_or_of_the_object_around_it(tmp_path):
    world = {"variables": {"x": {"initial": 3, "source": "counted"}},
             "parameters": {"p": {"dist": "fixed", "value": 0.5, "source": "assumption: even odds"}},
             "options": {"o": option(probability="p", source="assumption: the option's numbers",
                                     delay_days={"dist": "uniform", "low": 1, "high": 2, "per": "use",
                                                 "source": "its own"},
                                     effects=[{"add": {"x": 1}}]),
                         "h": {"actor": "a", "label": "h", "when": "x > 0",
                               "hazard": {"per_year": 1, "source": "the hazard's own"}}}}
    assert strict_problems(load_scenario(write(tmp_path, world))) == []
    # the option's source does not cover its hazard: the nearest object that can carry a source does
    world["options"]["h"]["hazard"].pop("source")
    world["options"]["h"]["source"] = "the option's"
    assert [p for p, _ in strict_problems(load_scenario(write(tmp_path, world)))] == [
        ("options", "h", "hazard", "per_year")]


def test_strict_flags_a_parameter_written_as_a_plain_number(tmp_path):
    found = strict_problems(load_scenario(write(tmp_path, {"variables": {"x": {"source": "none yet"}},
                                                           "parameters": {"p": 0.5}})))
    assert found == [(("parameters", "p"), 'no source: write this value as {dist: fixed, value: 0.5, source: "..."} '
                                           "(the scenario's own source: covers no single number)")]


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_the_bundled_scenarios_are_checked(path):
    result = lint_file(path)
    print("\n".join(warning_line(p) for p in result.warnings) or f"{path.name}: no warnings")
    print("\n".join(str(p) for p in result.strict) or f"{path.name}: every number has a source")
    assert all(Path(p.file).is_file() and p.line > 1 for p in result.warnings + result.strict)  # maybe in a base
