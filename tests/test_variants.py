"""Variants edit the base's lists by id (rungs, steps, obligations, stages), append and remove items, and an
error a variant causes points at the variant's line; --set names list items by id."""

from __future__ import annotations

import json

import pytest
from worlds import BASE, write

from escalsim.errors import ScenarioError
from escalsim.scenario.loader import load_scenario
from escalsim.scenario.variants import read_source


def _variant(tmp_path, text: str):
    write(tmp_path, {"flags": ["calm"], "options": {"go": {
        "actor": "a", "label": "go", "when": "day > 1", "probability": 1,
        "effects": [{"ladder": "mid"}, {"flag": "calm"}]}}}, name="base.yaml")
    path = tmp_path / "variant.yaml"
    path.write_text("extends: base.yaml\n" + text, encoding="utf-8")
    return path


def test_a_rung_is_merged_added_and_removed_by_id(tmp_path):
    s = load_scenario(_variant(tmp_path, "ladder:\n  rungs:\n    mid: {label: Middle}\n    top: {label: Top}\n"
                                         "    low: null\n  start: mid\n"))
    assert [(r.id, r.label) for r in s.ladder.rungs] == [("mid", "Middle"), ("high", None), ("top", "Top")]


def test_a_flag_and_an_effect_are_appended_and_removed(tmp_path):
    s = load_scenario(_variant(tmp_path, "flags: {+append: [storm]}\noptions:\n  go:\n    effects:\n"
                                         "      +remove: [1]\n      +append: [{flag: storm}]\n"))
    assert s.flags == ["calm", "storm"]
    assert [e.model_dump(exclude_none=True) for e in s.options["go"].effects] == [{"ladder": "mid"}, {"flag": "storm"}]


def test_an_error_a_variant_causes_points_at_the_variants_line(tmp_path):
    path = _variant(tmp_path, "ladder:\n  rungs:\n    mid: null\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    problem = next(p for p in info.value.problems if "unknown rung 'mid'" in p.message)
    assert f"was removed by the variant at {path}:4" in problem.message
    path = _variant(tmp_path, "ladder:\n  rungs:\n    mid: {escalate: {per_day: -1}}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert (info.value.problems[0].file, info.value.problems[0].line) == (str(path), 4)


def test_a_variant_that_makes_a_section_too_long_is_named_with_its_line(tmp_path):
    # the base's two checkpoints are fine; the variant adds 399 (the cap is 400): the count is the variant's doing
    write(tmp_path, {"checkpoints": {"c0": 5, "c1": 6}}, name="base.yaml")
    path = tmp_path / "variant.yaml"
    path.write_text("extends: base.yaml\ncheckpoints:\n" + "".join(f"  d{k}: {k + 10}\n" for k in range(399)),
                    encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    problem = info.value.problems[0]
    assert (problem.file, problem.line, problem.path) == (str(path), 3, "checkpoints")
    assert problem.message == "401 entries; at most 400 are allowed here"


def test_a_variant_that_only_changes_an_entry_leaves_the_sections_errors_with_the_base(tmp_path):
    write(tmp_path, {"checkpoints": {"c0": 5, "c1": 6}}, name="base.yaml")
    path = tmp_path / "variant.yaml"
    path.write_text("extends: base.yaml\ncheckpoints:\n  c1: 7\n", encoding="utf-8")
    source = read_source(path)
    assert source.where(("checkpoints",))[0] == str(tmp_path / "base.yaml")
    assert source.where(("checkpoints", "c1"))[:2] == (str(path), 3)


def test_removing_what_is_not_there_is_a_located_error(tmp_path):
    path = _variant(tmp_path, "flags: {+remove: [clam]}\n")
    with pytest.raises(ScenarioError, match="nothing named 'clam' to remove; the list holds: calm") as info:
        load_scenario(path)
    assert info.value.problems[0].file == str(path) and info.value.problems[0].line == 2


def test_set_names_a_list_item_by_its_id(tmp_path):
    path = write(tmp_path, {"treaties": {"pact": {
        "label": "Pact", "parties": ["a", "b"], "casus_foederis": "x > 0",
        "steps": [{"id": "signed", "date": "2025-01-01"}],
        "obligations": [{"party": "b", "label": "help", "compliance": 0.5}]}}})
    s = load_scenario(path, ["treaties.pact.obligations.b.compliance=0.9", "ladder.rungs.mid.label=Middle"])
    assert s.treaties["pact"].obligations[0].compliance == 0.9 and s.ladder.rungs[1].label == "Middle"
    with pytest.raises(ScenarioError, match="or an item's id"):
        load_scenario(path, ["treaties.pact.obligations.c.compliance=0.9"])


def test_a_base_list_replaced_by_a_list_is_still_replaced_whole(tmp_path):
    s = load_scenario(_variant(tmp_path, "flags: [storm]\noptions: {go: {effects: [{ladder: high}]}}\n"))
    assert s.flags == ["storm"] and json.dumps(BASE)  # BASE untouched


def test_null_removes_a_mapping_entry_the_base_gives(tmp_path):
    write(tmp_path, {"checkpoints": {"c0": 5, "c1": 6}}, name="base.yaml")
    path = tmp_path / "variant.yaml"
    path.write_text("extends: base.yaml\ncheckpoints:\n  c0: null\n", encoding="utf-8")
    assert list(load_scenario(path).checkpoints) == ["c1"]
