"""The loader: untrusted YAML in, a validated Scenario or a ScenarioError naming FILE:LINE:COLUMN: path: what."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from strategies import MINIMAL, MINIMAL_TEXT, minimal_with_junk, mutated_minimal, override_texts, yaml_like_text

from escalsim.errors import Problem, ScenarioError
from escalsim.scenario.loader import load_scenario
from escalsim.scenario.source import MAX_BYTES

TREATY = """
treaties:
  pact:
    label: Mutual defence
    parties: [a, b]
    steps:
      - id: signed
        date: 2024-06-01
      - id: ratified
        after: [signed]
        delay_days: 30
    casus_foederis: "level >= rung('crisis')"
"""
SECOND_OPTION = """
  a_withdraws:
    actor: a
    label: withdraw from the border
    when: "b_mobilised >= 1"
    probability: 0.25
    effects:
      - stop_flow: a_to_border
"""


# ---------------------------------------------------------------- helpers


def variant(*edits: tuple[str, str], text: str = MINIMAL_TEXT) -> str:
    """text with each (old, new) replaced; old must occur exactly once, so a test cannot silently miss."""
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


def write(tmp_path: Path, text: str | bytes, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path | str, overrides=()) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    problems = info.value.problems
    assert problems, "a ScenarioError must carry at least one problem"
    assert str(info.value) == "\n".join(str(p) for p in problems)
    return problems


def only_problem(path: Path | str, overrides=()) -> Problem:
    problems = problems_of(path, overrides)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def position(text: str, needle: str, occurrence: int = 1, after: str = "") -> tuple[int, int]:
    """1-based (line, column) where needle starts (its occurrence-th time, after `after`) in text."""
    at = text.index(after) - 1 if after else -1
    for _ in range(occurrence):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def assert_problem(problem: Problem, path: Path | str, text: str | None, needle: str | None, dotted: str,
                   *fragments: str, occurrence: int = 1, after: str = "") -> None:
    """The problem is in this file, at needle's line and column (1:1 if None), about this path, saying these."""
    line, column = position(text, needle, occurrence, after) if needle is not None else (1, 1)
    assert (problem.file, problem.line, problem.column) == (str(path), line, column), str(problem)
    assert problem.path == dotted, str(problem)
    for fragment in fragments:
        assert fragment in problem.message, f"{fragment!r} not in {problem}"
    shown = f"{path}:{line}:{column}: {dotted}: " if dotted else f"{path}:{line}:{column}: "
    assert str(problem).startswith(shown)


def check_one(tmp_path, text, needle, dotted, *fragments, occurrence=1, after="", overrides=()):
    path = write(tmp_path, text)
    assert_problem(only_problem(path, overrides), path, text, needle, dotted, *fragments, occurrence=occurrence,
                   after=after)


# ---------------------------------------------------------------- the valid example


def test_minimal_loads():
    s = load_scenario(MINIMAL)
    assert s.name == "minimal" and s.start == dt.date(2025, 1, 1) and s.horizon == 365
    assert [r.id for r in s.ladder.rungs] == ["peace", "crisis", "war"]
    assert s.options["b_mobilises"].probability == 0.5
    assert s.deployments["a_to_border"].from_ == "a"


def test_minimal_with_treaty_and_second_option_loads(tmp_path):
    text = variant(("      - ladder: crisis\n", "      - ladder: crisis\n" + SECOND_OPTION)) + TREATY
    s = load_scenario(write(tmp_path, text))
    assert [st.id for st in s.treaties["pact"].steps] == ["signed", "ratified"]
    assert s.options["a_withdraws"].probability == 0.25


def test_utf8_bom_and_crlf_are_accepted(tmp_path):
    text = MINIMAL_TEXT.replace("\n", "\r\n")
    assert load_scenario(write(tmp_path, b"\xef\xbb\xbf" + text.encode())).name == "minimal"


# ---------------------------------------------------------------- unknown keys, everywhere, with suggestions


@pytest.mark.parametrize(
    ("old", "new", "needle", "dotted", "hint", "allowed"),
    [
        ("horizon_days: 365", "horizon_dayz: 365", "horizon_dayz", "horizon_dayz", "horizon_days",
         "escalsim, extends, name"),
        ("      label: Peace", "      lable: Peace", "lable", "ladder.rungs[0].lable", "label",
         "id, label, description, escalate"),
        ("    probability: 0.5 ", "    probabilty: 0.5 ", "probabilty", "options.b_mobilises.probabilty",
         "probability", "actor, label, when, probability, hazard"),
        ("      - ladder: crisis", "      - ladderr: crisis", "ladderr", "options.b_mobilises.effects[1].ladderr",
         "ladder", "set, add, ladder, ladder_step"),
        ("    lag_days: 10", "    lag_dyas: 10", "lag_dyas", "observations.b_sees_troops.lag_dyas", "lag_days",
         "observer, of, label, lag_days"),
        ("      batch_size: 100", "      batch_sise: 100", "batch_sise", "deployments.a_to_border.flow.batch_sise",
         "batch_size", "start, until, batch_size"),
        ("  a: {label: State A}", "  a: {lable: State A}", "lable", "actors.a.lable", "label", "label, description"),
    ],
)
def test_unknown_key(tmp_path, old, new, needle, dotted, hint, allowed):
    text = variant((old, new))
    path = write(tmp_path, text)
    problem = [p for p in problems_of(path) if "unknown key" in p.message]
    assert len(problem) == 1
    assert_problem(problem[0], path, text, needle, dotted, f"unknown key '{dotted.rsplit('.', 1)[-1]}'",
                   f"(did you mean '{hint}'?)", "allowed here: " + allowed)


def test_unknown_key_in_a_distribution(tmp_path):
    text = variant(("lag_days: 10", "lag_days: {dist: uniform, low: 1, hihg: 2, per: use}"))
    path = write(tmp_path, text)
    problems = problems_of(path)
    base = "observations.b_sees_troops.lag_days"
    unknown = [p for p in problems if p.path == base + ".hihg"]
    assert len(unknown) == 1
    assert_problem(unknown[0], path, text, "hihg", base + ".hihg", "unknown key 'hihg'", "did you mean 'high'?",
                   "allowed here: per, clip, source, dist, low, high")
    missing = [p for p in problems if p.path == base + ".high"]
    assert len(missing) == 1 and "missing required key 'high'" in missing[0].message
    assert len(problems) == 2


def test_unknown_key_in_a_hazard(tmp_path):
    text = variant(("escalate: {per_year: 0.5,", "escalate: {per_yaer: 0.5,"))
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert any(p.path == "ladder.rungs[0].escalate.per_yaer" and "did you mean 'per_year'?" in p.message
               and (p.line, p.column) == position(text, "per_yaer") for p in problems), problems


def test_no_suggestion_for_a_key_like_nothing(tmp_path):
    check_one(tmp_path, variant(("horizon_days: 365", "horizon_days: 365\nzzzzqqq: 1")), "zzzzqqq", "zzzzqqq",
              "unknown key 'zzzzqqq'; allowed here: escalsim")


# ---------------------------------------------------------------- wrong types and values out of range


@pytest.mark.parametrize(
    ("old", "new", "needle", "dotted", "fragments"),
    [
        ("probability: 0.5 ", "probability: 1.5 ", "1.5", "options.b_mobilises.probability",
         ["a probability must lie in [0, 1]", "1.5"]),
        ("probability: 0.5 ", "probability: -0.1 ", "-0.1", "options.b_mobilises.probability",
         ["a probability must lie in [0, 1]", "-0.1"]),
        ("probability: 0.5 ", "probability: .nan ", ".nan", "options.b_mobilises.probability",
         ["finite number", "nan"]),
        ("probability: 0.5 ", "probability: .inf ", ".inf", "options.b_mobilises.probability",
         ["finite number", "inf"]),
        ("lag_days: 10", "lag_days: -3", "-3", "observations.b_sees_troops.lag_days",
         ["a duration in days must lie in [0,", "-3"]),
        ("lag_days: 10", "lag_days: .inf", ".inf", "observations.b_sees_troops.lag_days", ["finite number", "inf"]),
        ("lag_days: 10", "lag_days: .NaN", ".NaN", "observations.b_sees_troops.lag_days", ["finite number", "nan"]),
        ("lag_days: 10", "lag_days: -.inf", "-.inf", "observations.b_sees_troops.lag_days", ["finite number"]),
        ("horizon_days: 365", "horizon_days: -5", "-5", "horizon_days", ["greater than 0", "-5"]),
        ("horizon_days: 365", "horizon_days: .inf", ".inf", "horizon_days", ["finite number"]),
        ("lag_days: 10", "lag_days: soon", "soon", "observations.b_sees_troops.lag_days",
         ["'soon' is not a number; read as an expression", "unknown variable 'soon'"]),
        ("lag_days: 10", "lag_days: [1, 2]", "[1, 2]", "observations.b_sees_troops.lag_days",
         ["expected a number, a distribution mapping with 'dist:', or an expression in quotes"]),
        ("lag_days: 10", "lag_days: true", "true", "observations.b_sees_troops.lag_days",
         ["expected a number", "True"]),
        ("lag_days: 10", "lag_days:", None, "observations.b_sees_troops.lag_days",
         ["'lag_days' is empty: write its value, or remove the line"]),
        ("title: Two states, one border, one year", "title:", None, "title",
         ["'title' is empty"]),  # an optional field left empty is not "no value", silently
        ("label: mobilise along the border", "label: [mobilise]", "[mobilise]", "options.b_mobilises.label",
         ["valid string"]),
        ("    probability: 0.5 ", "    repeatable: maybe\n    probability: 0.5 ", "maybe",
         "options.b_mobilises.repeatable", ["valid boolean", "'maybe'"]),
        ("escalsim: 1", "escalsim: 2", "2", "escalsim", ["Input should be 1", "got 2"]),
        ("start: 2025-01-01", "start: tomorrow", "tomorrow", "start", ["valid date", "'tomorrow'"]),
        ("    - id: war", "    - id: War", "War", "ladder.rungs[2].id",
         ["lower-case identifier: a letter, then letters, digits or _", "'War'"]),
        ("actors:\n  a: {label: State A}\n  b: {label: State B}", "actors: [a, b]", "[a, b]", "actors",
         ["valid dictionary"]),
    ],
)
def test_bad_value(tmp_path, old, new, needle, dotted, fragments):
    text = variant((old, new))
    if needle is None:  # an empty value: located at the key's line, after the colon
        needle = new.split(":")[0].strip()
        path = write(tmp_path, text)
        problem = only_problem(path)
        assert problem.path == dotted and problem.line == position(text, needle)[0]
        assert all(f in problem.message for f in fragments), problem
        return
    check_one(tmp_path, text, needle, dotted, *fragments, after=new)


def test_a_bad_mapping_key_is_located_at_the_key(tmp_path):
    text = variant(("  q1: 2025-03-31", "  Q1: 2025-03-31"))
    check_one(tmp_path, text, "Q1", "checkpoints.Q1", "the key 'Q1'", "lower-case identifier")


def test_long_values_are_shortened_in_messages(tmp_path):
    text = variant(("title: Two states, one border, one year", "title: " + "x" * 5000))
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert problem.path == "title" and "at most 4000 characters" in problem.message
    assert len(str(problem)) < 300


@pytest.mark.parametrize("dist", ["{dist: normal, mean: 10, sd: 2, per: use}",
                                  "{dist: range90, low: -1, high: 10, shape: normal, per: run}"])
def test_a_delay_that_can_be_negative_is_refused_with_a_hint_to_clip(tmp_path, dist):
    text = variant(("lag_days: 10", f"lag_days: {dist}"))
    check_one(tmp_path, text, "{dist", "observations.b_sees_troops.lag_days",
              "a duration in days must lie in [0,", "-inf", "add clip: [low, high]")


def test_a_clipped_normal_delay_is_accepted(tmp_path):
    text = variant(("lag_days: 10", "lag_days: {dist: normal, mean: 10, sd: 2, per: use, clip: [0, 30]}"))
    s = load_scenario(write(tmp_path, text))
    assert s.observations["b_sees_troops"].lag_days.support() == (0, 30)


def test_misspelt_distribution_name(tmp_path):
    text = variant(("lag_days: 10", "lag_days: {dist: unifrom, low: 1, high: 2, per: use}"))
    check_one(tmp_path, text, "{dist", "observations.b_sees_troops.lag_days", "unknown distribution 'unifrom'",
              "(did you mean 'uniform'?)", "allowed: fixed, uniform, triangular")


def test_distribution_without_dist(tmp_path):
    text = variant(("lag_days: 10", "lag_days: {low: 1, high: 2, per: use}"))
    check_one(tmp_path, text, "{low", "observations.b_sees_troops.lag_days", "needs 'dist:'", "uniform",
              "or write a plain number")


def test_distribution_with_bad_parameters(tmp_path):
    text = variant(("lag_days: 10", "lag_days: {dist: uniform, low: 3, high: 1, per: use}"))
    check_one(tmp_path, text, "{dist", "observations.b_sees_troops.lag_days", "need low <= high")


def test_random_distribution_needs_per(tmp_path):
    text = variant(("lag_days: 10", "lag_days: {dist: uniform, low: 1, high: 2}"))
    check_one(tmp_path, text, "{dist", "observations.b_sees_troops.lag_days.per", "missing required key 'per'",
              "'run'", "'use'")


def test_bad_per_and_bad_clip(tmp_path):
    text = variant(("lag_days: 10", "lag_days: {dist: uniform, low: 1, high: 2, per: once, clip: [0]}"))
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert [p.path for p in problems] == ["observations.b_sees_troops.lag_days.per",
                                          "observations.b_sees_troops.lag_days.clip[1]"]
    assert_problem(problems[0], path, text, "once", problems[0].path, "'run' or 'use'", "'once'")
    assert_problem(problems[1], path, text, "[0]", problems[1].path, "missing item 1")


@pytest.mark.parametrize(
    ("old", "needle", "dotted"),
    [
        ("    label: mobilise along the border\n", "actor: b", "options.b_mobilises.label"),
        ("    observer: b\n", "of: troops", "observations.b_sees_troops.observer"),
        ("    total: troops_at_border\n", "from: a", "deployments.a_to_border.total"),
        ("  start: peace\n", "rungs:", "ladder.start"),
    ],
)
def test_missing_required_key(tmp_path, old, needle, dotted):
    text = variant((old, ""))
    check_one(tmp_path, text, needle, dotted, f"missing required key '{dotted.rsplit('.', 1)[-1]}'")


def test_missing_top_level_key_is_at_the_top(tmp_path):
    check_one(tmp_path, variant(("name: minimal\n", "")), None, "name", "missing required key 'name'")


def test_model_rules(tmp_path):
    text = variant(("    probability: 0.5 ", "    hazard: {per_day: 1}\n    probability: 0.5 "))
    check_one(tmp_path, text, "actor: b", "options.b_mobilises", "give exactly one of probability or hazard")
    text = variant(("      - ladder: crisis", "      - {ladder: crisis, flag: x}"))
    check_one(tmp_path, text, "{ladder: crisis", "options.b_mobilises.effects[1]", "exactly one of set, add",
              "(got ladder, flag)")


# ---------------------------------------------------------------- YAML 1.2: the Norway problem and friends


def test_yaml_12_words_are_strings(tmp_path):
    text = variant(("      label: Peace", "      label: NO"), ("title: Two states, one border, one year", "title: yes"),
                   ("  a: {label: State A}", "  a: {label: off}"), ("      label: War", "      label: ="))
    s = load_scenario(write(tmp_path, text))
    assert s.ladder.rungs[0].label == "NO" and s.title == "yes" and s.actors["a"].label == "off"
    assert s.ladder.rungs[2].label == "="


def test_yaml_12_numbers(tmp_path):
    text = variant(("  troops_at_border: {initial: 0,", "  troops_at_border: {initial: 010,"),
                   ("  b_mobilised: {initial: 0,", "  b_mobilised: {initial: 0o10,"))
    s = load_scenario(write(tmp_path, text))
    assert s.variables["troops_at_border"].initial == 10  # not octal, as it was in YAML 1.1
    assert s.variables["b_mobilised"].initial == 8
    text = variant(("  troops_at_border: {initial: 0,", "  troops_at_border: {initial: 1:30,"))
    check_one(tmp_path, text, "1:30", "variables.troops_at_border.initial", "'1:30'")  # not sexagesimal 90


@pytest.mark.parametrize(("word", "value"), [("off", False), ("no", False), ("false", False), ("yes", True),
                                             ("on", True), ("true", True)])
def test_boolean_fields_read_yaml_11_words_as_pydantic_does(tmp_path, word, value):
    # YAML 1.2 reads `off` as the string 'off'; pydantic (lax mode) then reads that string, in a boolean
    # field only, as False: what the author meant. Text fields keep the word (test above).
    text = variant(("    probability: 0.5 ", f"    enabled: {word}\n    probability: 0.5 "))
    assert load_scenario(write(tmp_path, text)).options["b_mobilises"].enabled is value


def test_yaml_11_directive_is_refused(tmp_path):
    text = "%YAML 1.1\n---\n" + variant(("      label: Peace", "      label: NO"))
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert "%YAML 1.1 is not supported" in problem.message and problem.line <= 2
    problem = only_problem(write(tmp_path, "%YAML 1.3\n---\n" + MINIMAL_TEXT))
    assert "YAML" in problem.message and problem.line <= 2
    assert load_scenario(write(tmp_path, "%YAML 1.2\n---\n" + MINIMAL_TEXT)).name == "minimal"


# ---------------------------------------------------------------- unknown references


@pytest.mark.parametrize(
    ("old", "new", "needle", "dotted", "fragments"),
    [
        ("    actor: b\n", "    actor: bb\n", "bb", "options.b_mobilises.actor",
         ["unknown actor 'bb'", "(did you mean 'b'?)", "defined: a, b"]),
        ("    to: a\n", "    to: c\n", "c\n", "deployments.a_to_border.to", ["unknown actor 'c'", "defined: a, b"]),
        ("      - set: {b_mobilised: 1}", "      - set: {b_mobilized: 1}", "b_mobilized",
         "options.b_mobilises.effects[0].set.b_mobilized",
         ["unknown variable 'b_mobilized'", "(did you mean 'b_mobilised'?)", "troops_at_border, b_mobilised"]),
        ("    of: troops_at_border", "    of: troops_at_bordr", "troops_at_bordr", "observations.b_sees_troops.of",
         ["unknown variable 'troops_at_bordr'", "did you mean 'troops_at_border'?"]),
        ("owner: b}", "owner: bb}", "bb}", "variables.b_mobilised.owner", ["unknown actor 'bb'", "did you mean 'b'?"]),
        ("      - ladder: crisis", "      - ladder: crisys", "crisys", "options.b_mobilises.effects[1].ladder",
         ["unknown rung 'crisys'", "(did you mean 'crisis'?)", "defined: peace, crisis, war"]),
        ("  start: peace", "  start: peac", "peac", "ladder.start", ["unknown rung 'peac'", "did you mean 'peace'?"]),
        ("      - ladder: crisis", "      - enable: [b_mobilise]", "b_mobilise]",
         "options.b_mobilises.effects[1].enable[0]", ["unknown option 'b_mobilise'", "did you mean 'b_mobilises'?"]),
        ("      - ladder: crisis", "      - stop_flow: a_to_bordr", "a_to_bordr",
         "options.b_mobilises.effects[1].stop_flow", ["unknown deployment with a flow 'a_to_bordr'",
                                                      "did you mean 'a_to_border'?"]),
        ("      - ladder: crisis", "      - scale_flow: {deployment: a_to_bordr, factor: 2}", "a_to_bordr",
         "options.b_mobilises.effects[1].scale_flow.deployment", ["did you mean 'a_to_border'?"]),
        ("      - ladder: crisis", "      - flag: invasion", "invasion", "options.b_mobilises.effects[1].flag",
         ["unknown flag (declare it under flags:) 'invasion'", "none defined"]),
        ('"b_sees_troops >= 500"', '"b_see_troops >= 500"', '"b_see', "options.b_mobilises.when",
         ["unknown variable 'b_see_troops'", "did you mean 'b_sees_troops'?"]),
        ('"b_sees_troops >= 500"', '"b_sees_troops >= "', '"b_sees', "options.b_mobilises.when",
         ["syntax", "at column"]),
        ('"b_sees_troops >= 500"', "\"__import__('os').system('true')\"", '"__import__', "options.b_mobilises.when",
         ["min, max, abs"]),
        ('"b_sees_troops >= 500"', '"days_since(\'crisys\') > 3"', '"days_since', "options.b_mobilises.when",
         ["crisys", "crisis"]),
    ],
)
def test_unknown_reference(tmp_path, old, new, needle, dotted, fragments):
    check_one(tmp_path, variant((old, new)), needle, dotted, *fragments, after=new)


def test_declared_flags(tmp_path):
    text = variant(("actors:\n", "flags: [invasion_started]\nactors:\n"),
                   ("      - ladder: crisis", "      - flag: invasion_started"))
    assert load_scenario(write(tmp_path, text)).flags == ["invasion_started"]
    text = variant(("actors:\n", "flags: [invasion_started]\nactors:\n"),
                   ("      - ladder: crisis", "      - flag: invasion_startd"))
    check_one(tmp_path, text, "invasion_startd", "options.b_mobilises.effects[1].flag",
              "unknown flag (declare it under flags:) 'invasion_startd'", "did you mean 'invasion_started'?")


@pytest.mark.parametrize(
    ("old", "new", "needle", "dotted", "fragments"),
    [
        ("after: [signed]", "after: [signd]", "signd", "treaties.pact.steps[1].after[0]",
         ["unknown earlier step 'signd'", "did you mean 'signed'?"]),
        ("after: [signed]", "after: [ratified]", "ratified]", "treaties.pact.steps[1].after[0]",
         ["unknown earlier step 'ratified'"]),
        ("parties: [a, b]", "parties: [a, bb]", "bb", "treaties.pact.parties[1]", ["unknown actor 'bb'"]),
        ("\"level >= rung('crisis')\"", "\"level >= rung('crisys')\"", "\"level", "treaties.pact.casus_foederis",
         ["crisys", "did you mean 'crisis'?"]),
        ("\"level >= rung('crisis')\"", '"level >="', '"level', "treaties.pact.casus_foederis", ["syntax"]),
        ("\"level >= rung('crisis')\"", "\"open('/etc/passwd')\"", "\"open", "treaties.pact.casus_foederis",
         ["unknown function 'open'"]),
        ("      - id: ratified", "      - id: signed", "signed\n        after", "treaties.pact.steps[1].id",
         ["step 'signed' appears twice"]),
    ],
)
def test_unknown_reference_in_a_treaty(tmp_path, old, new, needle, dotted, fragments):
    text = variant((old, new), text=MINIMAL_TEXT + TREATY)
    check_one(tmp_path, text, needle, dotted, *fragments, after=new)


def test_a_name_used_twice_is_located_where_it_is_reused(tmp_path):
    text = variant(("  b_mobilises:\n", "  crisis:\n"), ('"b_sees_troops >= 500"', '"b_sees_troops >= 500"'))
    check_one(tmp_path, text, "crisis:\n", "options.crisis", "the name 'crisis' is used twice")
    text = variant(("    - id: war", "    - id: crisis"))
    check_one(tmp_path, text, "crisis", "ladder.rungs[2].id", "rung 'crisis' appears twice", after="label: Crisis")


def test_reserved_word_as_variable(tmp_path):
    text = variant(("  b_mobilised: {", "  level: {"), ("{b_mobilised: 1}", "{level: 1}"))
    check_one(tmp_path, text, "level", "variables.level", "reserved word")


# ---------------------------------------------------------------- the YAML itself: untrusted input


def test_duplicate_key(tmp_path):
    text = variant(("horizon_days: 365", "horizon_days: 365\nhorizon_days: 300"))
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert (problem.file, problem.line) == (str(path), position(text, "horizon_days", 2)[0])
    assert 'duplicate key "horizon_days"' in problem.message and "each key may appear once" in problem.message


def test_duplicate_key_deep_inside(tmp_path):
    text = variant(("    lag_days: 10", "    lag_days: 10\n    lag_days: 11"))
    problem = only_problem(write(tmp_path, text))
    assert problem.line == position(text, "lag_days: 11")[0] and "duplicate key" in problem.message


@pytest.mark.parametrize(
    "value",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        "!!python/object/new:os.system [touch {marker}]",
        "!!python/name:os.system ''",
        "!<tag:yaml.org,2002:python/object/apply:os.system> [touch {marker}]",
        "!!binary aGVsbG8=",
        "!!set {{a, b}}",
        "!!omap [a: 1]",
        "!!timestamp 2025-01-01",
        "!foo bar",
        "!foo {{a: 1}}",
    ],
)
def test_tags_that_construct_objects_are_refused(tmp_path, value):
    marker = tmp_path / "ran"
    text = variant(("title: Two states, one border, one year", "title: " + value.format(marker=marker)))
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert (problem.line, problem.column) == position(text, "!")
    assert "YAML tag" in problem.message and "is not allowed" in problem.message
    assert not marker.exists()


def test_tag_in_a_custom_tag_directive_is_refused(tmp_path):
    text = "%TAG !e! tag:example.com,2000:\n---\n" + variant(("title: Two", "title: !e!thing Two"))
    problem = only_problem(write(tmp_path, text))
    assert "tag:example.com,2000:thing" in problem.message and problem.line == position(text, "!e!thing")[0]


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        name, prev = chr(ord("a") + i), chr(ord("a") + i - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("prefix", ["", MINIMAL_TEXT + "bomb:\n  "])
def test_billion_laughs_fails_fast(tmp_path, prefix, monkeypatch):
    """Refused by the scan of parser events, before anything is constructed (bounded work: no expansion)."""
    from escalsim.scenario import source

    def no_construction(*_args, **_kwargs):
        raise AssertionError("the document was constructed: the aliases were not refused first")

    monkeypatch.setattr(source.YAML, "load", no_construction)
    text = billion_laughs() if not prefix else prefix + billion_laughs().replace("\n", "\n  ")
    problem = only_problem(write(tmp_path, text))
    assert "aliases" in problem.message


def test_many_aliases_are_refused(tmp_path):
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 150) + "]\n"
    assert "more than 100 aliases" in only_problem(write(tmp_path, text)).message


def test_recursive_alias_is_refused(tmp_path):
    for text in ("a: &a [1, *a]\n", "a: &a {b: *a}\n"):
        problem = only_problem(write(tmp_path, text))
        assert problem.line == 1 and "contains it" in problem.message


def test_merge_keys_work_and_point_where_they_were_written(tmp_path):
    text = variant(("actors:\n  a: {label: State A}\n  b: {label: State B}",
                    "actors:\n  a: &actor {label: State A}\n  b: {<<: *actor, description: B}"))
    s = load_scenario(write(tmp_path, text))
    assert s.actors["b"].label == "State A" and s.actors["b"].description == "B"
    text = variant(("actors:\n  a: {label: State A}\n  b: {label: State B}",
                    "actors:\n  a: &actor {label: State A, labl: x}\n  b: {<<: *actor}"))
    problems = problems_of(write(tmp_path, text))
    assert {p.path for p in problems} == {"actors.a.labl", "actors.b.labl"}
    assert {(p.line, p.column) for p in problems} == {position(text, "labl")}


class ParsedTooFar(Exception):
    """Raised by count_parser_events once parsing has gone on far longer than any refusal needs."""


@pytest.fixture
def count_parser_events(monkeypatch):
    """A list whose one number counts the YAML events handed out by ruamel's parser, by load and parse alike;
    past `limit` events the parser stops with ParsedTooFar: a guard against runaway parsing in work, not time."""
    from ruamel.yaml.parser import Parser

    count, limit = [0], 1_000
    get_event = Parser.get_event

    def counting(self):
        count[0] += 1
        if count[0] > limit:
            raise ParsedTooFar(f"more than {limit:,} YAML events")
        return get_event(self)

    monkeypatch.setattr(Parser, "get_event", counting)
    return count


@pytest.mark.parametrize("text", ["a: " + "[" * 100 + "]" * 100 + "\n",
                                  "".join("  " * i + f"k{i}:\n" for i in range(60)) + "  " * 60 + "x: 1\n",
                                  "a: " + "[" * 200_000 + "\n"], ids=["flow", "block", "200k"])
def test_deep_nesting_is_refused_fast(tmp_path, text, count_parser_events):
    """Refused while reading, at the first level too deep: bounded work, whatever the machine's load (time
    belongs in benchmarks). Parsed in full, these texts give 207, 188 and about 400,000 events."""
    from escalsim.scenario.source import MAX_DEPTH

    problem = only_problem(write(tmp_path, text))
    assert "nesting deeper than" in problem.message
    # at most a key and a collection per level, and the stream, document and top mapping opening
    assert 0 < count_parser_events[0] <= 2 * (MAX_DEPTH + 1) + 4


@pytest.mark.parametrize(("content", "fragment"), [
    (b"", "file is empty"),
    (b"   \n\n \t \n", "file is empty"),
    (b"# only a comment\n", "YAML mapping"),
    (b"- a\n- b\n", "YAML mapping"),
    (b"just words\n", "YAML mapping"),
    (b"42\n", "YAML mapping"),
    (b"name: x\x00\n", "binary"),
    (b"\x7fELF\x02\x01\x01\x00\x00", "binary"),
    (b"a: 1\n" + b"x" * (MAX_BYTES + 10), "larger than"),
])
def test_not_a_scenario_at_all(tmp_path, content, fragment):
    path = write(tmp_path, content)
    assert_problem(only_problem(path), path, None, None, "", fragment)


class _CountedReads:
    """A file opened by the loader, recording how many bytes each read asks for."""

    def __init__(self, handle, reads: list):
        self.handle, self.reads = handle, reads

    def read(self, n: int = -1) -> bytes:
        self.reads.append(n)
        return self.handle.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()


def test_huge_file_is_refused_fast(tmp_path, monkeypatch):
    """Refused after reading at most MAX_BYTES + 1 bytes, never parsed (bounded work, not a time limit)."""
    from escalsim.scenario import source

    path = write(tmp_path, "a: " + "x" * 5_000_000)
    reads: list = []
    monkeypatch.setattr(source, "open", lambda file, mode="r": _CountedReads(open(file, mode), reads), raising=False)
    monkeypatch.setattr(source, "_scan_events", lambda *_: pytest.fail("the file was parsed"))
    assert "larger than 1,000,000 bytes" in only_problem(path).message
    assert reads == [source.MAX_BYTES + 1]


def test_non_utf8_is_located(tmp_path):
    text = variant(("title: Two states", "title: Caf\udce9 states"))
    path = write(tmp_path, text.encode("utf-8", "surrogateescape"))
    problem = only_problem(path)
    assert (problem.line, problem.column) == (position(text, "title")[0], 1)
    assert "not UTF-8" in problem.message and "0xe9" in problem.message


@pytest.mark.parametrize(("old", "new", "needle", "fragment"), [
    ("horizon_days: 365", "horizon_days: 365\n1: x", "1: x", "key 1 is not a string"),
    ("  q1: 2025-03-31", "  2025-03-31: q1", "2025-03-31: q1", "is not a string"),
    ("horizon_days: 365", "horizon_days: 365\n~: x", "~", "key None is not a string"),
    ("horizon_days: 365", "horizon_days: 365\n? [a, b]\n: x", "[a, b]", "a key is a list or a mapping"),
    ("  start: peace\n  rungs:", "  start: peace\n? rungs:", "rungs:\n", "a key is a list or a mapping"),
    ("horizon_days: 365", "horizon_days: 365\nx: &k {a: [1]}\n*k : 1", "*k", "a key is a list or a mapping"),
    ("horizon_days: 365", "horizon_days: 365\n{a: 1}: 1", "{a", "a key is a list or a mapping"),
    ("horizon_days: 365", "horizon_days: 365\ntrue: x", "true", "key True is not a string; keys are names"),
    ("total: 3650,", "total: 3,650,", "650", "write 3650"),
])
def test_non_string_key(tmp_path, old, new, needle, fragment):
    text = variant((old, new))
    problem = only_problem(write(tmp_path, text))
    assert (problem.line, problem.column) == position(text, needle) and fragment in problem.message


@pytest.mark.parametrize(("old", "new", "needle", "fragment"), [
    ("start: 2025-01-01", "start: 2025-02-30", "2025-02-30", "day is out of range"),
    # signs or base prefixes with only underscores: ruamel's int constructor raises IndexError (found by fuzzing)
    ("lag_days: 10", "lag_days: -_", "-_", "'-_' looks like a number but is not one"),
    ("lag_days: 10", "lag_days: 0x_", "0x_", "quote it ('0x_')"),
    ("lag_days: 10", "lag_days: 1" + "0" * 5000, "10000", "more than 400 digits"),
    ("horizon_days: 365", "horizon_days: 365\n  bad indent: 1", "bad", "YAML error"),
    ("actors:\n  a:", "actors:\n\ta:", "\ta", "indent with spaces"),
    ("horizon_days: 365", "horizon_days: 365\nhorizon_days: 300", "horizon_days: 300",
     'duplicate key "horizon_days" (each key may appear once in a mapping)'),
    ("title: Two states, one border, one year", "title: [unclosed", None, "YAML error"),
    ("horizon_days: 365", "horizon_days: 365\n---\nname: second", "---", "single document"),
])
def test_broken_yaml_is_located(tmp_path, old, new, needle, fragment):
    text = variant((old, new))
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert problem.file == str(path) and fragment in problem.message
    if needle is not None:
        assert problem.line == position(text, needle)[0]
    assert 1 <= problem.line <= text.count("\n") + 1


def test_a_checkpoint_that_is_neither_a_date_nor_a_day_gets_one_message(tmp_path):
    text = variant(("h1: 2025-06-30", "h1: end of june"))
    check_one(tmp_path, text, "end of june", "checkpoints.h1",
              "expected a date (YYYY-MM-DD) or a day number counted from the start, not 'end of june'")


def test_horizon_days_and_end_together_point_at_end(tmp_path):
    text = variant(("horizon_days: 365", "horizon_days: 365\nend: 2025-12-31"))
    check_one(tmp_path, text, "2025-12-31", "end", "give exactly one of horizon_days or end, not both")


def test_end_is_the_last_day_simulated(tmp_path):
    """As the language doc says: start 2025-01-01 and end 2025-12-31 make 365 days, and a checkpoint may sit
    on the end date."""
    text = variant(("horizon_days: 365", "end: 2025-12-31"), ("h1: 2025-06-30", "h1: 2025-12-31"))
    s = load_scenario(write(tmp_path, text))
    assert s.horizon == 365 and s.day_of(s.checkpoints["h1"]) == 364


def test_datetime_for_a_date(tmp_path):
    text = variant(("start: 2025-01-01", "start: 2025-01-01T10:00:00+01:00"))
    check_one(tmp_path, text, "2025-01-01T", "start", "zero time")


@pytest.mark.parametrize(("second", "column", "fragment"), [
    ("options.nope.x=1", 1, "'options.nope' does not exist"),
    ("ladder.rungs.9.id=x", 1, "ladder.rungs is a list of 3"),
    ("horizon_days.x=1", 1, "horizon_days is a single value"),
    ("title=a: b", 8, "mapping values are not allowed"),
])
def test_a_bad_override_is_located_at_its_own_number(second, column, fragment):
    problem = only_problem(MINIMAL, ["horizon_days=300", second])
    assert (problem.file, problem.line, problem.column) == ("--set", 2, column), str(problem)
    assert fragment in problem.message and repr(second) in problem.message


@pytest.mark.parametrize("number", ["1735689600", "0", "20250101"])
def test_a_number_in_a_date_field_is_refused(tmp_path, number):
    """pydantic would read an integer as a Unix timestamp (0 is 1970-01-01), silently."""
    text = variant(("start: 2025-01-01", f"start: {number}"))
    check_one(tmp_path, text, number, "start", "expected a date written YYYY-MM-DD", "not a day number",
              after="start: ")


@pytest.mark.parametrize(("param", "needle", "fragments"), [
    # mu written as if it were the mean (1500) used to crash with OverflowError
    ("{dist: lognormal, mu: 1500, sigma: 0.3, per: use}", "{dist: lognormal",
     ("e^1502", "mu is the mean of log X", "mu 7.3")),
    ("{dist: uniform, low: 5, high: 15, per: use, clip: [14, 6]}", "{dist: uniform",
     ("clip is [low, high], got [14, 6]: write [6, 14]",)),
])
def test_a_distribution_that_cannot_be_drawn_is_refused(tmp_path, param, needle, fragments):
    text = variant(("lag_days: 10", f"lag_days: {param}"))
    check_one(tmp_path, text, needle, "observations.b_sees_troops.lag_days", *fragments)


def test_missing_file_and_directory(tmp_path):
    for path in (tmp_path / "nope.yaml", tmp_path, "bad\x00name.yaml"):
        problem = only_problem(path)
        assert (problem.file, problem.line, problem.column) == (str(path), 1, 1)
        assert "cannot read the file" in problem.message


# ---------------------------------------------------------------- extends


def base_and_variant(tmp_path, variant_text: str, base_text: str = MINIMAL_TEXT):
    base = write(tmp_path, base_text, "base.yaml")
    return base, write(tmp_path, variant_text, "variant.yaml")


def test_variant_overrides_one_nested_value_and_keeps_the_rest(tmp_path):
    _, path = base_and_variant(tmp_path, "extends: base.yaml\nname: variant\n"
                                         "options:\n  b_mobilises:\n    probability: 0.9\n")
    s, base = load_scenario(path), load_scenario(MINIMAL)
    assert s.name == "variant" and s.extends == "base.yaml"
    assert s.options["b_mobilises"].probability == 0.9
    assert s.options["b_mobilises"].model_copy(update={"probability": 0.5}) == base.options["b_mobilises"]
    assert s.model_dump(exclude={"name", "extends", "options"}) == base.model_dump(exclude={"name", "extends",
                                                                                            "options"})


def test_a_variant_removes_a_base_value_with_null(tmp_path):
    """The one place an empty value means something: in a variant, it removes what the base gives."""
    _, path = base_and_variant(tmp_path, "extends: base.yaml\ntitle: null\n")
    assert load_scenario(path).title is None and load_scenario(MINIMAL).title is not None


def test_variant_replaces_lists_whole(tmp_path):
    _, path = base_and_variant(tmp_path, "extends: base.yaml\nladder:\n  rungs:\n    - id: calm\n    - id: crisis\n"
                                         "    - id: war\n  start: calm\n")
    s = load_scenario(path)
    assert [r.id for r in s.ladder.rungs] == ["calm", "crisis", "war"] and s.ladder.rungs[1].escalate is None


def test_error_in_variant_points_to_the_variant(tmp_path):
    text = "extends: base.yaml\nname: variant\noptions:\n  b_mobilises:\n    probabilty: 0.9\n"
    _, path = base_and_variant(tmp_path, text)
    assert_problem(only_problem(path), path, text, "probabilty", "options.b_mobilises.probabilty",
                   "did you mean 'probability'?")
    text = "extends: base.yaml\noptions:\n  b_mobilises:\n    probability: 1.9\n"
    _, path = base_and_variant(tmp_path, text)
    assert_problem(only_problem(path), path, text, "1.9", "options.b_mobilises.probability", "[0, 1]")


def test_error_in_inherited_content_points_to_the_base(tmp_path):
    base_text = variant(("lag_days: 10", "lag_days: -10"))
    base, path = base_and_variant(tmp_path, "extends: base.yaml\nname: variant\n", base_text)
    assert_problem(only_problem(path), base, base_text, "-10", "observations.b_sees_troops.lag_days", "[0,")


def test_reference_broken_by_the_variant_points_to_the_base_where_it_is_used(tmp_path):
    text = "extends: base.yaml\nladder:\n  rungs:\n    - id: low\n    - id: high\n  start: low\n"
    base, path = base_and_variant(tmp_path, text)
    assert_problem(only_problem(path), base, MINIMAL_TEXT, "crisis\n", "options.b_mobilises.effects[1].ladder",
                   "unknown rung 'crisis'", "defined: low, high", after="- ladder:")


def test_extends_relative_to_the_variant(tmp_path):
    write(tmp_path, MINIMAL_TEXT, "bases/base.yaml")
    path = write(tmp_path, "extends: ../bases/base.yaml\nname: deep\n", "variants/v.yaml")
    assert load_scenario(path).name == "deep"


@pytest.mark.parametrize(("value", "fragment"), [
    ("nothere.yaml", "which is not a file"),
    (".", "which is not a file"),
    ("5", "must be a file name"),
    ("''", "must be a file name"),
    ("[a.yaml]", "must be a file name"),
    ('"a\\0b.yaml"', "cannot be used as a file name"),
    ("a" * 5000, "cannot be used as a file name"),
])
def test_bad_extends(tmp_path, value, fragment):
    text = f"extends: {value}\nname: variant\n"
    path = write(tmp_path, text)
    problem = only_problem(path)
    assert_problem(problem, path, text, value[:5], "extends", fragment)
    assert len(str(problem)) < 400


def test_extends_of_something_that_is_not_a_scenario(tmp_path):
    base = write(tmp_path, "- a list\n", "base.yaml")
    path = write(tmp_path, "extends: base.yaml\n", "variant.yaml")
    assert_problem(only_problem(path), base, None, None, "", "YAML mapping")


def test_extends_symlink_loop(tmp_path):
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    text = "extends: loop.yaml\n"
    assert_problem(only_problem(write(tmp_path, text)), tmp_path / "scenario.yaml", text, "loop", "extends",
                   "cannot be used as a file name")


def test_extends_cycles(tmp_path):
    text = "extends: scenario.yaml\nname: me\n"
    check_one(tmp_path, text, "scenario.yaml", "extends", "extends makes a cycle: scenario.yaml -> scenario.yaml")
    write(tmp_path, "extends: two.yaml\n", "one.yaml")
    two = write(tmp_path, "name: two\nextends: one.yaml\n", "two.yaml")
    problem = only_problem(tmp_path / "one.yaml")
    assert_problem(problem, two, "name: two\nextends: one.yaml\n", "one.yaml", "extends",
                   "cycle: one.yaml -> two.yaml -> one.yaml")


def test_extends_chain_too_deep(tmp_path):
    write(tmp_path, MINIMAL_TEXT, "level20.yaml")
    for i in range(20):
        write(tmp_path, f"extends: level{i + 1}.yaml\n", f"level{i}.yaml")
    problem = only_problem(tmp_path / "level0.yaml")
    assert "more than 8 levels of extends" in problem.message and problem.path == "extends"
    assert load_scenario(tmp_path / "level13.yaml").name == "minimal"  # 7 levels are fine


# ---------------------------------------------------------------- --set overrides


def test_set_changes_a_value(tmp_path):
    s = load_scenario(MINIMAL, ["options.b_mobilises.probability=0.7", "ladder.rungs.0.label=X",
                                "horizon_days = 200", "options.b_mobilises.delay_days=3",
                                "ladder.rungs.1.label=NO", "start=2025-02-01"])
    assert s.options["b_mobilises"].probability == 0.7 and s.ladder.rungs[0].label == "X"
    assert s.horizon == 200 and s.options["b_mobilises"].delay_days == 3 and s.ladder.rungs[1].label == "NO"
    assert s.start == dt.date(2025, 2, 1)
    assert s.ladder.rungs[2].label == "War" and s.options["b_mobilises"].label == "mobilise along the border"


def test_set_a_mapping_and_the_last_one_wins():
    s = load_scenario(MINIMAL, ["observations.b_sees_troops.lag_days={dist: uniform, low: 5, high: 15, per: run}",
                                "options.b_mobilises.probability=0.1", "options.b_mobilises.probability=0.2"])
    assert s.observations["b_sees_troops"].lag_days.high == 15 and s.options["b_mobilises"].probability == 0.2


@pytest.mark.parametrize(("override", "dotted", "fragments"), [
    ("options.b_mobilises.probability=1.7", "options.b_mobilises.probability", ["[0, 1]", "1.7"]),
    ("options.b_mobilises.probability=.nan", "options.b_mobilises.probability", ["finite"]),
    ("observations.b_sees_troops.lag_days={dist: normal, mean: 1, sd: 1, per: use}",
     "observations.b_sees_troops.lag_days", ["add clip"]),
    ("observations.b_sees_troops.lag_days={dist: unifrom}", "observations.b_sees_troops.lag_days",
     ["did you mean 'uniform'?"]),
    ("options.b_mobilises.probabilty=0.7", "options.b_mobilises.probabilty",
     ["unknown key 'probabilty'", "did you mean 'probability'?"]),
    ("options.b_mobilises.actor=bb", "options.b_mobilises.actor", ["unknown actor 'bb'", "did you mean 'b'?"]),
    ("options.b_mobilises.hazard_per_month=0.2", "options.b_mobilises.hazard_per_month",  # written flat
     ["unknown key 'hazard_per_month'", "did you mean 'hazard.per_month'?"]),
    ("horizon_days=NO", "horizon_days", ["valid number", "'NO'"]),
    ("ladder.rungs.0=X", "ladder.rungs[0]", ["valid dictionary"]),
])
def test_set_bad_value_is_validated_like_the_file(override, dotted, fragments):
    problem = only_problem(MINIMAL, [override])
    assert_problem(problem, "--set", None, None, dotted, *fragments)


@pytest.mark.parametrize(("override", "fragments"), [
    ("options.b_mobilise.probability=0.7", ["'options.b_mobilise' does not exist"]),
    ("variables.new_var.initial=3", ["'variables.new_var' does not exist"]),
    ("ladder.rungs.7.label=X", ["ladder.rungs is a list of 3", "0..2"]),
    ("ladder.rungs.-1.label=X", ["ladder.rungs is a list of 3"]),
    ("ladder.rungs.first.label=X", ["ladder.rungs is a list of 3"]),
    ("name.first=X", ["name is a single value"]),
    ("noequals", ["expected path=value"]),
    ("options..probability=1", ["empty part"]),
    ("=1", ["empty part"]),
    ("title=!!python/object/apply:os.system [true]", ["YAML tag"]),
    ("title=[unclosed", ["YAML error"]),
    ("title=1\nname: x\nname: y", ["duplicate key"]),
])
def test_set_bad_override(override, fragments):
    problem = only_problem(MINIMAL, [override])
    assert problem.file == "--set" and problem.line >= 1
    assert all(f in str(problem) for f in fragments), problem
    assert "--set" in str(problem)


# ---------------------------------------------------------------- every problem, not only the first


def test_three_schema_mistakes_give_three_problems(tmp_path):
    text = variant(("horizon_days: 365", "horizon_dayz: 365\nend: 2025-12-31"), ("lag_days: 10", "lag_days: -1"),
                   ("    probability: 0.5 ", "    probability: 1.5 "))
    path = write(tmp_path, text)
    problems = problems_of(path)
    assert [p.path for p in problems] == ["horizon_dayz", "observations.b_sees_troops.lag_days",
                                          "options.b_mobilises.probability"]
    assert [p.line for p in problems] == [position(text, n)[0] for n in ("horizon_dayz", "lag_days", "1.5")]


def test_three_reference_mistakes_give_three_problems(tmp_path):
    text = variant(("    to: a\n", "    to: c\n"), ("    of: troops_at_border", "    of: troops"),
                   ("      - ladder: crisis", "      - ladder: crisys"))
    problems = problems_of(write(tmp_path, text))
    assert [p.path for p in problems] == ["deployments.a_to_border.to", "observations.b_sees_troops.of",
                                          "options.b_mobilises.effects[1].ladder"]


def test_schema_and_reference_mistakes_are_reported_together(tmp_path):
    text = variant(("    to: a\n", "    to: c\n"), ("lag_days: 10", "lag_days: -1"),
                   ("      - ladder: crisis\n", "      - ladder: crisis\n" + SECOND_OPTION.replace("0.25", "2.5")),
                   ('"b_sees_troops >= 500"', '"troops_at_bordr > 1 and b_sees_troops >= 500"'))
    problems = problems_of(write(tmp_path, text))
    # b_sees_troops is broken, so the condition using it is not blamed; a_withdraws is broken, nothing uses it
    assert [p.path for p in problems] == ["deployments.a_to_border.to", "observations.b_sees_troops.lag_days",
                                          "options.b_mobilises.when", "options.a_withdraws.probability"]
    assert "troops_at_bordr" in problems[2].message


def test_a_broken_entry_is_not_reported_again_where_it_is_used(tmp_path):
    text = variant(("      - ladder: crisis\n", "      - enable: [a_withdraws]\n"
                    + SECOND_OPTION.replace("0.25", "2.5")))
    assert [p.path for p in problems_of(write(tmp_path, text))] == ["options.a_withdraws.probability"]


def test_misspelt_section_does_not_cascade(tmp_path):
    text = variant(("variables:", "variabels:"))
    problems = problems_of(write(tmp_path, text))
    assert [p.path for p in problems] == ["variabels"] and "did you mean 'variables'?" in problems[0].message


# ---------------------------------------------------------------- properties


def _assert_well_located(problems: list[Problem], path: Path, text: str | None) -> None:
    lines = (text.count("\n") + 1) if text is not None else None
    for problem in problems:
        assert problem.file in (str(path), "--set"), problem
        assert problem.line >= 1 and problem.column >= 1, problem
        if lines is not None and problem.file == str(path):
            assert problem.line <= lines, problem
        assert problem.message


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.binary(max_size=300) | st.binary(max_size=40).map(lambda b: MINIMAL_TEXT.encode()[:400] + b))
def test_arbitrary_bytes_load_or_raise_scenario_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("bytes") / "fuzz.yaml"
    path.write_bytes(content)
    try:
        load_scenario(path)
    except ScenarioError as exc:
        _assert_well_located(exc.problems, path, None)


@settings(deadline=None, max_examples=150)
@given(text=yaml_like_text | minimal_with_junk())
def test_yaml_like_text_loads_or_raises_scenario_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("text") / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_scenario(path)
    except ScenarioError as exc:
        _assert_well_located(exc.problems, path, text)


@settings(deadline=None, max_examples=120)
@given(mutation=mutated_minimal())
def test_mutations_of_minimal_load_or_raise_located_errors(tmp_path_factory, mutation):
    text, done = mutation
    note("\n".join(done) + "\n" + text)
    path = tmp_path_factory.mktemp("mutant") / "mutant.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_scenario(path)
    except ScenarioError as exc:
        _assert_well_located(exc.problems, path, text)
        assert all(re.fullmatch(r"[\w.\[\]-]*", p.path) for p in exc.problems if "[key]" not in p.path)


@settings(deadline=None, max_examples=100)
@given(override=override_texts())
def test_arbitrary_overrides_apply_or_raise_scenario_error(override):
    try:
        load_scenario(MINIMAL, [override])
    except ScenarioError as exc:
        _assert_well_located(exc.problems, MINIMAL, MINIMAL_TEXT)


def test_extends_only_names_yaml_files(tmp_path):
    """A scenario from someone else must not make escalsim read (and echo) an arbitrary file."""
    (tmp_path / "secret.txt").write_text("name: x\n")
    variant = tmp_path / "variant.yaml"
    variant.write_text("extends: secret.txt\nname: v\n")
    with pytest.raises(ScenarioError, match=r"a base scenario is a \.yaml or \.yml file"):
        load_scenario(variant)


def test_scenario_sources_follow_extends():
    from escalsim.scenario.loader import scenario_sources

    sources = scenario_sources(MINIMAL.parent / "dprk_russia_2024_rok_arms_early.yaml")
    assert [Path(p).name for p in sources] == ["dprk_russia_2024_rok_arms_early.yaml", "dprk_russia_2024.yaml"]
    assert all(text.startswith("# yaml-language-server") for text in sources.values())


def test_set_problems_say_which_override():
    with pytest.raises(ScenarioError) as info:
        load_scenario(MINIMAL, overrides=["horizon_days=100", "options.b_mobilises.probability=2"])
    assert str(info.value).startswith("--set:2:1: options.b_mobilises.probability:")


# ---------------------------------------------------------------- things the engine would silently ignore

DEFAULT_TEXT = (MINIMAL.parent / "dprk_russia_2024.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(("old", "new", "needle", "dotted", "fragment"), [
    ("        date: 2024-10-24\n", "        date: 2024-10-24\n        probability: 0.3\n", "id: duma_ratified",
     "treaties.dprk_russia_treaty.steps[1]", "probability would be ignored"),
    ("policy\n    group: seoul_response\n", "policy\n    group: seoul_responce\n", "seoul_responce",
     "options.seoul_sends_weapons.group", "did you mean 'seoul_response'?"),
    ("      - when: 2024-10-20\n", "      - when: 2025-11-20\n", "2025-11-20",
     "deployments.dprk_to_russia.schedule[1].when", "would never arrive"),
    ("      start: 2024-10-25 ", "      until: 2024-10-20\n      start: 2024-10-25 ", "until: 2024-10-20",
     "deployments.dprk_to_russia.flow.until", "must come after the flow starts"),
])
def test_what_the_engine_would_ignore_is_an_error(tmp_path, old, new, needle, dotted, fragment):
    assert DEFAULT_TEXT.count(old) == 1, old
    text = DEFAULT_TEXT.replace(old, new)
    problems = problems_of(write(tmp_path, text))  # a misspelt group: both options are alone in theirs
    assert len(problems) == (2 if "group" in dotted else 1), "\n".join(map(str, problems))
    problem = next(p for p in problems if p.path == dotted)
    assert fragment in problem.message, str(problem)
    assert problem.line == position(text, needle)[0], str(problem)


def test_checkpoints_times_readable_values_are_capped_at_the_record_width(tmp_path):
    """Every checkpoint records every readable value (a column of runs.parquet each): the product is capped at
    MAX_CHECKPOINT_VALUES, so a file of 1,000 variables and 400 checkpoints (400,000 columns, never written in
    minutes: benchmarks/bench_limits.py) is refused at load time, with the numbers, at checkpoints:."""
    from escalsim.scenario.references import readable_names
    from escalsim.scenario.schema import MAX_CHECKPOINT_VALUES

    readable, checkpoints = len(readable_names(load_scenario(MINIMAL))), 200
    cps = "".join(f"\n  c{i}: {1 + i % 300}" for i in range(checkpoints - 2))
    assert MAX_CHECKPOINT_VALUES % checkpoints == 0
    extra = MAX_CHECKPOINT_VALUES // checkpoints - readable
    many = "".join(f"\n  v{i}: {{initial: 0}}" for i in range(extra))
    assert MINIMAL_TEXT.count("\nvariables:") == 1
    at_cap = variant(("h1: 2025-06-30", "h1: 2025-06-30" + cps), text=MINIMAL_TEXT.replace(
        "\nvariables:", "\nvariables:" + many))
    s = load_scenario(write(tmp_path, at_cap))
    assert len(s.checkpoints) * len(readable_names(s)) == MAX_CHECKPOINT_VALUES
    over = at_cap.replace("\nvariables:", "\nvariables:\n  one_more: {initial: 0}")
    values = MAX_CHECKPOINT_VALUES // checkpoints + 1
    check_one(tmp_path, over, "q1: 2025-03-31", "checkpoints", f"{checkpoints} checkpoints x {values} values",
              f"{checkpoints * values:,} columns", f"at most {MAX_CHECKPOINT_VALUES:,}")
