"""The command line, in-process with click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from escalsim.cli import main, schema_text

ROOT = Path(__file__).parent.parent
MINIMAL = str(ROOT / "scenarios" / "minimal.yaml")


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.mark.parametrize("command", [[], ["validate"], ["trace"], ["schema"]])
def test_help_everywhere(cli, command):
    result = cli(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


def test_validate_good_files(cli):
    result = cli("validate", *sorted(str(p) for p in (ROOT / "scenarios").glob("*.yaml")))
    assert result.exit_code == 0, result.output
    assert "minimal.yaml: ok" in result.output


def test_validate_bad_file_exit_1_with_location_and_suggestion(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    text = Path(MINIMAL).read_text().replace("    probability: 0.5", "    probabilty: 0.5")
    bad.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith("    probabilty: 0.5"))
    result = cli("validate", MINIMAL, bad)
    assert result.exit_code == 1
    assert f"{bad}:{line}:5: options.b_mobilises.probabilty: unknown key 'probabilty' " \
           "(did you mean 'probability'?)" in result.output
    assert "Traceback" not in result.output


def test_validate_missing_file(cli, tmp_path):
    result = cli("validate", tmp_path / "nope.yaml")
    assert result.exit_code == 1 and "cannot read the file" in result.output


def test_trace_tells_a_dated_story(cli):
    result = cli("trace", MINIMAL, "--seed", 1)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("2025-01-01  start on rung: Peace")
    assert any("State B: mobilise along the border → b_mobilised = 1; ladder: crisis" in line for line in lines)
    assert any(line.endswith("[because: State B: mobilise along the border]") for line in lines)
    assert "SimPy events:" in lines[-1]


def test_trace_json_lines_are_the_same_events(cli):
    text = cli("trace", MINIMAL, "--seed", 2).output
    rows = [json.loads(line) for line in cli("trace", MINIMAL, "--seed", 2, "--json").output.splitlines()]
    assert rows and {"day", "date", "kind", "subject", "text", "cause"} <= set(rows[0])
    assert all(f"{row['date']}  {row['subject']}: {row['text']}" in text for row in rows)


def test_trace_injection_and_set(cli):
    result = cli("trace", MINIMAL, "--inject", "b_mobilises@2025-01-10", "--set", "ladder.rungs.0.escalate.per_year=0")
    assert result.exit_code == 0, result.output
    assert "2025-01-10  State B: mobilise along the border" in result.output
    assert "injected decision for 2025-01-10 (day 9)" in result.output


@pytest.mark.parametrize("inject, message", [
    ("b_mobilise@3", "did you mean 'b_mobilises'?"),
    ("b_mobilises", "expected EVENT@DATE"),
    ("b_mobilises@2030-01-01", "within the scenario"),
    ("b_mobilises@soon", "neither a date"),
])
def test_trace_bad_injection_exit_2(cli, inject, message):
    result = CliRunner().invoke(main, ["trace", MINIMAL, "--inject", inject])
    assert result.exit_code == 2 and message in result.output


@pytest.mark.parametrize("block, message", [
    ("b_mobilise", "did you mean 'b_mobilises'?"),
    ("b_mobilises@2025-03-01..2025-02-01", "must end after it starts"),
    ("b_mobilises@20250301", "write a date as YYYY-MM-DD"),
])
def test_trace_bad_block_exit_2(cli, block, message):
    result = CliRunner().invoke(main, ["trace", MINIMAL, "--block", block])
    assert result.exit_code == 2 and message in result.output


def test_run_takes_moves_and_records_them(cli, tmp_path):
    out = tmp_path / "r"
    result = CliRunner().invoke(main, ["run", MINIMAL, "--runs", "40", "--workers", "1", "--out", str(out), "--quiet",
                                       "--inject", "b_mobilises@2025-02-01", "--block", "b_mobilises@2025-03-01"])
    assert result.exit_code == 0, result.output
    import json

    import pandas as pd

    moves = json.loads((out / "manifest.json").read_text())["moves"]
    assert moves["injections"] == [{"day": 31.0, "option": "b_mobilises", "override": False}]
    assert moves["blocks"] == [{"option": "b_mobilises", "start": 59.0, "until": None}]
    assert (pd.read_parquet(out / "runs.parquet")["event.b_mobilises"] <= 31).all()
    again = CliRunner().invoke(main, ["run", "--resume", str(out), "--inject", "b_mobilises@2025-02-01"])
    assert again.exit_code == 2 and "--inject" in again.output


def test_trace_bad_set_exit_1(cli):
    result = cli("trace", MINIMAL, "--set", "options.b_mobilises.probability=2")
    assert result.exit_code == 1 and "--set:1:1: options.b_mobilises.probability" in result.output


def test_schema_is_json_and_matches_the_committed_file(cli):
    result = cli("schema")
    doc = json.loads(result.output)
    assert doc["title"] == "escalsim scenario" and "ladder" in doc["properties"] and "actors" in doc["required"]
    assert (ROOT / "docs" / "scenario.schema.json").read_text() == schema_text(), \
        "regenerate with: escalsim schema --out docs/scenario.schema.json"


def test_variant_schema_requires_nothing(cli):
    doc = json.loads(cli("schema", "--variant").output)
    assert "required" not in json.dumps(doc) and doc["title"] == "escalsim scenario variant"
    assert (ROOT / "docs" / "scenario-variant.schema.json").read_text() == schema_text(variant=True), \
        "regenerate with: escalsim schema --variant --out docs/scenario-variant.schema.json"


def test_scenarios_point_editors_at_the_schema():
    for path in (ROOT / "scenarios").glob("*.yaml"):
        text = path.read_text()
        schema = "scenario-variant" if "\nextends:" in text else "scenario"
        assert text.startswith(f"# yaml-language-server: $schema=../docs/{schema}.schema.json\n"), path


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "escalsim", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "escalsim" in out.stdout


def test_schema_out_writes_the_file(cli, tmp_path):
    target = tmp_path / "s.json"
    assert cli("schema", "--out", target).exit_code == 0
    assert target.read_text() == schema_text()


def test_trace_run_index_selects_another_world(cli):
    first, other = cli("trace", MINIMAL, "--seed", 1, "--run", 0).output, cli("trace", MINIMAL, "--seed", 1,
                                                                                "--run", 5).output
    assert "seed 1, run 5" in other and first != other
