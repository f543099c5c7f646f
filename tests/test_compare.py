"""Paired comparisons (issue 11, part 2): two arms run with common random numbers (montecarlo.compare), their
table (outputs.comparison), the `compare` command (not registered yet: invoked directly), on small worlds."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from worlds import merge, write

import escalsim
from escalsim.cli.compare_cmd import compare
from escalsim.engine.core import InjectionError
from escalsim.montecarlo.compare import PairedTally, compare_arms
from escalsim.montecarlo.runs import Settings
from escalsim.outputs import comparison
from escalsim.outputs.comparison_report import summary_lines
from escalsim.scenario.moves import Block, Injection

# A moves at a hazard (its first move raises the ladder to mid and adds to x); B answers A's move half the time
# (the ladder to high); B also acts elsewhere, on a clock of its own (y). Forcing A's move reaches A's move, the
# answer, mid, high and x; never B's move elsewhere or y.
WORLD = {
    "checkpoints": {"day_30": 30},
    "variables": {"x": {"initial": 0, "key": True}, "y": {"initial": 0, "key": True}},
    "options": {
        "a_moves": {"actor": "a", "label": "A moves", "when": "day >= 0", "hazard": {"per_month": 0.5},
                    "effects": [{"ladder": "mid"}, {"add": {"x": 1}}]},
        "b_answers": {"actor": "b", "label": "B answers", "when": "happened('a_moves')", "probability": 0.5,
                      "effects": [{"ladder": "high"}]},
        "b_elsewhere": {"actor": "b", "label": "B acts elsewhere", "when": "day >= 0", "hazard": {"per_month": 0.3},
                        "effects": [{"add": {"y": 1}}]},
    },
}
REACHED = {"a_moves", "b_answers", "mid", "high", "x"}
SERIAL = {"workers": 1}


def _scenario(tmp_path, extra=None, name="world.yaml"):
    path = write(tmp_path, merge(WORLD, extra or {}), name)
    return escalsim.load_scenario(path), path


def _results(directory):
    return escalsim.load_results(directory / "a"), escalsim.load_results(directory / "b")


@pytest.fixture(scope="module")
def forced(tmp_path_factory):
    """A 400-pair comparison: B forces A's move on day 10."""
    tmp = tmp_path_factory.mktemp("forced")
    scenario, _ = _scenario(tmp)
    out = compare_arms(scenario, scenario, tmp / "cmp", Settings(runs=400, **SERIAL),
                       Settings(runs=400, injections=[Injection(day=10, option="a_moves")], **SERIAL))
    return _results(out)


def test_identical_arms_give_every_difference_exactly_zero(tmp_path):
    scenario, _ = _scenario(tmp_path)
    table = comparison.compare_results(*_results(compare_arms(scenario, scenario, tmp_path / "cmp",
                                                              Settings(runs=300, **SERIAL))))
    binary = table[table["kind"] != "variable"]
    assert (table["difference"] == 0).all() and (binary["b"] == 0).all() and (binary["c"] == 0).all()
    assert (binary["mcnemar_midp"] == 1).all()
    assert np.allclose(binary["difference"] - binary["low"], binary["high"] - binary["difference"])  # symmetric
    variables = table[table["kind"] == "variable"]
    assert (variables["low"] == 0).all() and (variables["high"] == 0).all()


def test_a_forced_option_changes_exactly_what_it_can_reach(forced):
    a, b = forced
    table = comparison.compare_results(a, b)
    changed = table[~comparison.unchanged(table)]
    assert set(changed["name"]) == REACHED
    still = table[table["name"].isin({"b_elsewhere", "y"})]
    assert len(still) == 3 and (still["difference"] == 0).all() and (still["b"].fillna(0) == 0).all()
    moved = table[(table["name"] == "a_moves")].iloc[0]
    assert moved["value_b"] == 1 and moved["b"] == 0 and moved["c"] > 0 and moved["difference"] > 0
    assert moved["low"] <= moved["difference"] <= moved["high"] and moved["mcnemar_midp"] < 1e-6
    # by day 30, every forced run is at or above mid (forced on day 10), and the answer follows
    mid = table[(table["name"] == "mid") & (table["at"] == "day_30")].iloc[0]
    assert mid["value_b"] == 1 and mid["c"] == mid["pairs"] - mid["a"]
    assert table[table["name"] == "high"]["difference"].gt(0).all()


def test_pairing_shrinks_the_variance_of_a_shared_consequence(forced):
    table = comparison.compare_results(*forced)
    answered = table[(table["name"] == "b_answers")].iloc[0]
    # B's answer is drawn from B's own stream in both arms: when A moved anyway, the answer is the same in both
    assert answered["factor"] > 1
    same = table[table["name"] == "b_elsewhere"].iloc[0]
    assert math.isinf(same["factor"])  # the outcome varies, the pairs never disagree


def test_the_python_api_returns_dataframes(forced):
    a, b = forced
    table = comparison.compare_results(a, b)
    assert isinstance(table, pd.DataFrame)
    for column in ("kind", "label", "at", "value_a", "value_b", "difference", "low", "high", "a", "b", "c", "d",
                   "mcnemar_midp", "factor", "interval"):
        assert column in table.columns
    assert set(table["kind"]) == {"rung", "event", "variable"}
    assert (table.loc[table["kind"] != "variable", "interval"] == comparison.NEWCOMBE).all()
    top = comparison.main_rows(table, 3)
    assert isinstance(top, pd.DataFrame) and len(top) == 3
    assert list(top["difference"].abs()) == sorted(top["difference"].abs(), reverse=True)
    tango = comparison.compare_results(a, b, method="tango")
    assert np.allclose(tango["difference"], table["difference"], equal_nan=True)


def test_the_stopping_rule_counts_what_the_table_reports(forced):
    a, b = forced
    table = comparison.compare_results(a, b)
    model = escalsim.compile_model(escalsim.load_scenario(a.directory.parent.parent / "world.yaml"))
    tally = PairedTally.of(model, model)
    tally.add({c: a.runs[c].to_numpy() for c in a.runs.columns}, {c: b.runs[c].to_numpy() for c in b.runs.columns})
    binary = table[table["kind"] != "variable"]
    assert len(tally.outcomes) == len(binary)
    assert tally.widest()[1] == pytest.approx(binary["half_width"].max())


def test_precision_adds_pairs_until_every_half_width_is_reached(tmp_path):
    scenario, _ = _scenario(tmp_path)
    out = compare_arms(scenario, scenario, tmp_path / "cmp", Settings(min_runs=100, max_runs=5000, **SERIAL),
                       Settings(injections=[Injection(day=10, option="a_moves")], **SERIAL), precision=0.04)
    a, b = _results(out)
    assert len(a.runs) == len(b.runs) > 100
    assert a.manifest["stopped_because"].startswith("precision reached")
    table = comparison.compare_results(a, b)
    assert table.loc[table["kind"] != "variable", "half_width"].max() <= 0.04


def test_bad_settings_and_moves_leave_nothing_behind(tmp_path):
    scenario, _ = _scenario(tmp_path)
    with pytest.raises(InjectionError):
        compare_arms(scenario, scenario, tmp_path / "x", Settings(runs=10, **SERIAL),
                     Settings(runs=10, injections=[Injection(day=10, option="nobody")], **SERIAL))
    with pytest.raises(ValueError, match="same seed"):
        compare_arms(scenario, scenario, tmp_path / "x", Settings(runs=10, **SERIAL), Settings(runs=10, seed=2))
    other = escalsim.load_scenario(write(tmp_path, merge(WORLD, {"horizon_days": 50}), "short.yaml"))
    with pytest.raises(ValueError, match="same days"):
        compare_arms(scenario, other, tmp_path / "x", Settings(runs=10, **SERIAL))
    assert not (tmp_path / "x").exists()


@pytest.fixture(scope="module")
def single_runs(tmp_path_factory):
    """Single results directories: seed 1 with 150 and 100 runs, seed 2, and another track layout."""
    tmp = tmp_path_factory.mktemp("single")
    scenario, _ = _scenario(tmp)
    tracks = escalsim.load_scenario(write(tmp, merge(WORLD, {"options": {"b_answers": {"effects": [
        {"ladder": "mid"}]}}, "ladder": {"rungs": [{"id": "low"}, {"id": "mid"}, {"id": "high"}, {"id": "top"}]}}),
        "four.yaml"))
    dirs = {}
    for key, sc, seed, runs in (("s1", scenario, 1, 150), ("s1_short", scenario, 1, 100), ("s2", scenario, 2, 100),
                                ("four", tracks, 1, 100)):
        dirs[key] = escalsim.run(sc, tmp / key, Settings(runs=runs, seed=seed, **SERIAL))
    return dirs


def test_directories_pair_only_when_their_runs_do(single_runs):
    load = {k: escalsim.load_results(v) for k, v in single_runs.items()}
    with pytest.raises(ValueError, match="seed 1 .* seed 2"):
        comparison.pair(load["s1"], load["s2"])
    with pytest.raises(ValueError, match="different tracks"):
        comparison.pair(load["s1"], load["four"])
    p = comparison.pair(load["s1"], load["s1_short"])  # different run counts: the common first runs
    assert p.pairs == 100 and any("first 100 runs" in n for n in p.notes)
    table = comparison.compare_results(load["s1"], load["s1_short"])
    assert (table["pairs"] == 100).all() and (table["difference"] == 0).all()
    shuffled = load["s1"]
    shuffled.runs = shuffled.runs.iloc[::-1].reset_index(drop=True)
    with pytest.raises(ValueError, match="in order"):
        comparison.pair(shuffled, load["s1_short"])


def _invoke(*args):
    return CliRunner().invoke(compare, [str(a) for a in args], prog_name="escalsim compare")


def test_the_command_end_to_end(tmp_path):
    _, path = _scenario(tmp_path)
    out = tmp_path / "cmp"
    r = _invoke(path, "--inject", "a_moves@2025-01-11", "--block", "b_answers@2025-02-01", "--runs", 200,
                "--workers", 2, "--out", out)
    assert r.exit_code == 0, r.output
    assert "A: A moves" in r.output and "b = c = 0" in r.output and "Newcombe" in r.output
    for name in comparison.FILES:
        assert (out / name).is_file()
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["pairs"] == 200 and meta["change"] == "--inject a_moves@2025-01-11, --block b_answers@2025-02-01.."
    assert escalsim.load_results(out / "b").manifest["moves"]["blocks"][0]["start"] == 31
    assert "<svg" in (out / "comparison.html").read_text()
    again = _invoke(out / "a", out / "b", "--out", tmp_path / "again", "--quiet")
    assert again.exit_code == 0, again.output
    first, second = (pd.read_csv(d / "comparison.csv") for d in (out, tmp_path / "again"))
    pd.testing.assert_frame_equal(first, second)


def test_lines_printed_put_the_largest_difference_first(forced):
    a, b = forced
    table = comparison.compare_results(a, b)
    meta = comparison.describe(a, b, comparison.pair(a, b), table)
    lines = list(summary_lines(table, meta, a.manifest, top=2))
    assert lines[0].startswith("Paired comparison of 400 runs (seed 1)")
    assert lines[3].startswith("A: A moves")  # forced in every run: the largest difference


@pytest.mark.parametrize("args, code, message", [
    (["--inject", "a_move@2025-01-11"], 2, "'a_move' (did you mean 'a_moves'?)"),
    (["--inject", "a_moves@20250111"], 2, "would be day 20,250,111"),
    (["--inject", "a_moves@2026-01-01"], 2, "'a_moves@2026-01-01'"),
    (["--block", "a_moves@2025-03-01..2025-02-01"], 2, "'a_moves@2025-03-01..2025-02-01'"),
    (["--block", "a_moves@x"], 2, "'--block' (#1)"),
    (["--inject", "a_moves@2025-01-11", "--inject", "b_answers@20250111"], 2, "'--inject' (#2)"),
    (["--inject", "a_moves@2025-01-11", "--block", "a_moves"], 2, "both injected on day 10 and blocked"),
    (["--set", "options.a_moves.probabilty=1"], 1, "--set:1:1"),
    (["--runs", 10, "--precision", 0.01], 2, "not both"),
])
def test_bad_input_is_refused_before_anything_is_written(tmp_path, args, code, message):
    _, path = _scenario(tmp_path)
    r = _invoke(path, *args, "--out", tmp_path / "cmp")
    assert r.exit_code == code and message in r.output, r.output
    assert not (tmp_path / "cmp").exists()


def test_a_variant_that_does_not_validate_or_pair_is_refused(tmp_path):
    _, path = _scenario(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: world.yaml\nname: bad\noptions:\n  a_moves:\n    probabilty: 1\n", encoding="utf-8")
    r = _invoke(path, "--variant", bad, "--out", tmp_path / "cmp")
    assert r.exit_code == 1 and "bad.yaml:5:" in r.output, r.output
    short = tmp_path / "short.yaml"
    short.write_text("extends: world.yaml\nname: short\nhorizon_days: 50\n", encoding="utf-8")
    r = _invoke(path, "--variant", short, "--out", tmp_path / "cmp")
    assert r.exit_code == 1 and "the arms must cover the same days" in r.output, r.output
    assert not (tmp_path / "cmp").exists()


def test_directories_that_do_not_pair_are_refused_with_the_reason(single_runs, tmp_path):
    r = _invoke(single_runs["s1"], single_runs["s2"], "--out", tmp_path / "cmp")
    assert r.exit_code == 1 and "seed 1" in r.output and "seed 2" in r.output, r.output
    r = _invoke(single_runs["s1"], single_runs["s2"], "--seed", 3)
    assert r.exit_code == 2 and "--seed" in r.output
    r = _invoke(single_runs["s1"], single_runs["s1_short"], "--out", tmp_path / "cmp")
    assert r.exit_code == 0 and "first 100 runs" in r.output, r.output
    r = _invoke(single_runs["s1"], single_runs["s1_short"], "--out", tmp_path / "cmp")
    assert r.exit_code == 1 and "not empty" in r.output, r.output


def test_a_block_over_the_whole_run_removes_what_only_it_does(tmp_path):
    scenario, _ = _scenario(tmp_path)
    out = compare_arms(scenario, scenario, tmp_path / "cmp", Settings(runs=200, **SERIAL),
                       Settings(runs=200, blocks=[Block(option="b_answers")], **SERIAL))
    table = comparison.compare_results(*_results(out))
    answer = table[table["name"] == "b_answers"].iloc[0]
    assert answer["value_b"] == 0 and answer["c"] == 0 and answer["b"] == answer["a"] + answer["b"]
    assert (table.loc[table["name"].isin({"a_moves", "mid", "x", "b_elsewhere", "y"}), "difference"] == 0).all()


def test_an_umpires_override_is_made_in_arm_b_only(tmp_path):
    _, path = _scenario(tmp_path)
    r = _invoke(path, "--inject", "a_moves@2025-01-11", "--block", "a_moves", "--override", "--runs", 20,
                "--workers", 1, "--out", tmp_path / "cmp", "--quiet")
    assert r.exit_code == 0, r.output
    a, b = _results(tmp_path / "cmp")
    assert a.manifest["moves"] == {"injections": [], "blocks": []}
    assert b.manifest["moves"]["injections"][0]["override"] is True
    assert (b.runs["event.a_moves"] == 10).all()  # forced on day 10 through its own block
