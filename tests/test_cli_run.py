"""`escalsim run`, `plot` and `report` in-process: summaries, bad input, interruption and resume."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from escalsim.cli import main
from escalsim.montecarlo import batches as runner

MINIMAL = str(Path(__file__).parent.parent / "scenarios" / "minimal.yaml")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "minimal"
    result = invoke("run", MINIMAL, "--runs", 400, "--workers", 1, "--out", out, "--traces", 3)
    assert result.exit_code == 0, result.output
    return out, result.output


def test_run_writes_results_and_prints_a_summary(results_dir):
    out, output = results_dir
    assert output.startswith("Events: probability (%) that each happened by the end of each date")
    assert "at or above each rung" in output
    assert "State B: mobilise along the border" in output and f"Results: {out}" in output
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 400 and list(runs["run"]) == list(range(400))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"] == 400 and manifest["seed"] == 1 and manifest["scenario"] == "minimal"
    for name in ("summary_rungs.csv", "summary_outcomes.csv", "levels.parquet", "traces.parquet"):
        assert (out / name).is_file(), name
    assert set(pd.read_parquet(out / "traces.parquet")["run"]) == {0, 1, 2}


def test_progress_goes_to_stderr_and_the_summary_to_stdout(tmp_path):
    """`escalsim run ... > summary.txt` keeps only the summary: the progress bar writes to stderr, and only to a
    terminal (a log file would get a bare `runs` line: a bar cannot redraw itself there)."""
    import os
    import pty
    import subprocess
    import sys

    command = [sys.executable, "-m", "escalsim", "run", MINIMAL, "--runs", "100", "--workers", "1"]
    done = subprocess.run(command + ["--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Events: probability (%)"), done.stdout[:200]
    assert done.stderr == ""
    controller, terminal = pty.openpty()
    with open(terminal, "wb", closefd=True) as stderr:
        done = subprocess.run(command + ["--out", str(tmp_path / "tty")], stdout=subprocess.PIPE, stderr=stderr,
                              text=True, timeout=120)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal's other end is closed and everything was read
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert done.returncode == 0 and "runs" in seen.decode() and "Probability" not in seen.decode()


def test_run_set_changes_the_result(tmp_path):
    result = invoke("run", MINIMAL, "--runs", 200, "--workers", 1, "--out", tmp_path / "a", "--quiet",
                    "--set", "options.b_mobilises.probability=0")
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(tmp_path / "a" / "runs.parquet")["event.b_mobilises"].isna().all()


@pytest.mark.parametrize("args, code, message", [
    (["--runs", "0"], 2, "0 is not in the range"),
    (["--set", "options.b_mobilises.chance=1"], 1, "unknown key 'chance'"),
    (["--set", "nosuch.path=1"], 1, "'nosuch' does not exist"),
    (["--scheduler", "tcp://127.0.0.1:9"], 1, "error:"),
    (["--scheduler", "bogus"], 1, "tcp://host:8786"),
    (["--scheduler", ""], 2, "an address such as tcp://host:8786"),
    (["--precision", "nan"], 2, "nan is not a number"),
    (["--precision", "0.01", "--min-runs", "50", "--max-runs", "20"], 2, "--min-runs 50 is more than --max-runs 20"),
    (["--precision", "0.01", "--runs", "500"], 2, "give --runs or --precision, not both"),
])
def test_run_bad_input(tmp_path, args, code, message):
    result = invoke("run", MINIMAL, "--out", tmp_path / "x", "--quiet", *args)
    assert result.exit_code == code and message in result.output, result.output


def test_run_refuses_an_existing_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = invoke("run", MINIMAL, "--runs", 10, "--out", tmp_path)
    assert result.exit_code == 1 and "not empty" in result.output
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_run_needs_file_or_resume():
    assert invoke("run").exit_code == 2


def test_precision_stops_when_intervals_are_narrow_enough(tmp_path):
    result = invoke("run", MINIMAL, "--precision", 0.05, "--min-runs", 100, "--workers", 1,
                    "--out", tmp_path / "p", "--quiet")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "p" / "manifest.json").read_text())
    assert manifest["stopped_because"].startswith("precision reached")
    # p(1-p) <= 1/4: half-width <= 0.05 needs at most about 1.96^2 / (4 * 0.05^2) = 385 runs
    assert 100 < manifest["runs"] <= 600


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, monkeypatch, results_dir):
    real = runner.run_many

    def interrupted(*args, **kwargs):
        for i, batch in enumerate(real(*args, **kwargs)):
            if i == 2:
                raise KeyboardInterrupt
            yield batch

    monkeypatch.setattr("escalsim.montecarlo.runs.run_many", interrupted)
    out = tmp_path / "r"
    result = invoke("run", MINIMAL, "--runs", 400, "--workers", 1, "--batch-size", 50, "--out", out,
                    "--traces", 3)
    assert result.exit_code == 130 and f"escalsim run --resume {out}" in result.output
    monkeypatch.setattr("escalsim.montecarlo.runs.run_many", real)
    result = invoke("run", "--resume", out, "--workers", 1)
    assert result.exit_code == 0, result.output
    # the rate is over every session's simulating time, and this command's own time is named as such
    assert re.search(r"400 runs, [\d,]+ runs/s over [\d,.]+ s of simulating in all sessions; this command "
                     r"[\d.]+ s\. Results: ", result.output), result.output
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"),
                                  pd.read_parquet(results_dir[0] / "runs.parquet"))


def test_plot_writes_every_kind(results_dir, tmp_path):
    out, _ = results_dir
    result = invoke("plot", out, "--out", tmp_path / "figs", "--format", "svg")
    assert result.exit_code == 0, result.output
    files = [Path(line) for line in result.output.splitlines()]
    stems = {"timeline" if f.stem.startswith("timeline_run") else f.stem for f in files}
    assert stems >= {"fan", "ladder", "first_passage", "max_rung", "drivers", "timeline"}
    assert all(f.suffix == ".svg" and f.stat().st_size > 1000 for f in files)


@pytest.mark.parametrize("args, message", [(["--kind", "pie"], "unknown plot kind 'pie'"),
                                           (["--kind", "timeline", "--run", "999"], "out of range")])
def test_plot_bad_input(results_dir, tmp_path, args, message):
    result = invoke("plot", results_dir[0], "--out", tmp_path, *args)
    assert result.exit_code == 2 and message in result.output


def test_resume_refuses_settings_that_cannot_change(results_dir):
    result = invoke("run", "--resume", results_dir[0], "--seed", 99, "--traces", 0, "--workers", 1)
    assert result.exit_code == 2 and "--seed, --traces cannot change" in result.output, result.output


def test_quiet_still_writes_the_summary_tables(tmp_path):
    result = invoke("run", MINIMAL, "--runs", 100, "--workers", 1, "--out", tmp_path / "q", "--quiet")
    assert result.exit_code == 0 and "Probability" not in result.output, result.output
    assert len(pd.read_csv(tmp_path / "q" / "summary_rungs.csv")) > 0


def test_plot_and_report_without_traces_draw_everything_else(tmp_path):
    out = tmp_path / "t0"
    assert invoke("run", MINIMAL, "--runs", 100, "--workers", 1, "--out", out, "--quiet", "--traces", 0).exit_code == 0
    result = invoke("plot", out, "--out", tmp_path / "figs")
    assert result.exit_code == 0 and "fan" in result.output and "timeline" not in result.output, result.output
    assert invoke("plot", out, "--kind", "timeline").exit_code == 2  # asked for by name: an error
    result = invoke("report", out)
    assert result.exit_code == 0 and (out / "report.html").is_file(), result.output


def test_plot_and_report_to_a_path_that_cannot_be_written(results_dir, tmp_path):
    (tmp_path / "afile").write_text("x")
    result = invoke("plot", results_dir[0], "--kind", "fan", "--out", tmp_path / "afile" / "sub")
    assert result.exit_code == 1 and "error: cannot write the figures" in result.output, result.output
    result = invoke("report", results_dir[0], "--out", tmp_path / "nodir" / "r.html")
    assert result.exit_code == 1 and "error: cannot write the report" in result.output, result.output


def test_plot_and_report_refuse_a_non_results_directory(tmp_path):
    for command in ("plot", "report"):
        result = invoke(command, tmp_path)
        assert result.exit_code == 1 and "error:" in result.output


class _Structure(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for key, value in attrs:
            if key in ("src", "href") and value and not value.startswith(("#", "data:")):
                self.external.append(value)


def test_report_is_one_self_contained_page(results_dir):
    out, _ = results_dir
    result = invoke("report", out)
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    parser = _Structure()
    parser.feed(page)
    assert parser.external == []  # no network needed
    assert parser.tags.count("svg") >= 6 and "table" in parser.tags
    assert "Two states, one border, one year" in page and "State B: mobilise along the border" in page
    assert json.loads((out / "manifest.json").read_text())["scenario_sha256"] in page


def test_report_out_writes_where_asked(results_dir, tmp_path):
    target = tmp_path / "brief.html"
    result = invoke("report", results_dir[0], "--out", target)
    assert result.exit_code == 0 and target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_precision_stops_at_max_runs(tmp_path):
    result = invoke("run", MINIMAL, "--precision", 0.001, "--min-runs", 100, "--max-runs", 150, "--workers", 1,
                    "--out", tmp_path / "m", "--quiet")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["runs"] == 150 and manifest["stopped_because"].startswith("--max-runs 150 reached")


RUNAWAY = """
name: loop
start: 2025-01-01
horizon_days: 30
ladder: {start: a, rungs: [{id: a}, {id: b}]}
actors: {x: {label: X}}
variables: {v: {initial: 0}}
options:
  up: {actor: x, label: up, when: "v == 0", probability: 1, repeatable: true, effects: [{set: {v: 1}}]}
  down: {actor: x, label: down, when: "v == 1", probability: 1, repeatable: true, effects: [{set: {v: 0}}]}
"""


@pytest.mark.parametrize("command", [["trace"], ["run", "--runs", "2", "--workers", "1", "--quiet"]])
def test_runaway_scenario_is_a_clear_error(tmp_path, command):
    """Two repeatable zero-delay options undoing each other never end: exit 1 with advice, no traceback."""
    path = tmp_path / "loop.yaml"
    path.write_text(RUNAWAY)
    extra = ["--out", tmp_path / "out"] if command[0] == "run" else []
    result = invoke(command[0], path, *command[1:], *extra)
    assert result.exit_code == 1 and "give them a delay_days" in result.output
    assert "Traceback" not in result.output
