"""Defects reported by users (issue 13, "Every command fails cleanly"), each as it was reported: a silent wrong
result, a misleading message, a run that could not be finished, an example in --help that did not work."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from escalsim.cli import main
from escalsim.montecarlo import batches

ROOT = Path(__file__).parent.parent
MINIMAL = str(ROOT / "scenarios" / "minimal.yaml")
DPRK = str(ROOT / "scenarios" / "dprk_russia_2024.yaml")
COMMANDS = list(main.commands)  # in the order `escalsim --help` lists them: run comes before plot and report


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# --- --set: an empty or null value, a value error with knock-on errors --------------------------------------------


@pytest.mark.parametrize("value", ["", "null", "~", "Null", "{low: 1, high: }"])
def test_an_empty_or_null_set_value_is_an_error(value):
    """`--set ...cap=` (e.g. `cap=$CAP` with CAP unset) exited 0 and removed the cap."""
    result = invoke("trace", DPRK, "--set", f"deployments.dprk_to_russia.flow.cap={value}")
    assert result.exit_code == 1, result.output
    assert "would remove 'deployments.dprk_to_russia.flow.cap' silently" in result.output
    assert "write 'cap: null' in a variant file (one with extends:)" in result.output


def test_a_value_is_removed_on_purpose_in_a_variant_file(tmp_path):
    """What the --set error advises works: `cap: null` in a variant removes the cap its base gives."""
    shutil.copy(DPRK, tmp_path / "base.yaml")
    flow = "deployments:\n  dprk_to_russia:\n    flow:\n      cap: {}\n"
    (tmp_path / "capped.yaml").write_text("extends: base.yaml\nname: capped\n" + flow.format(15000))
    (tmp_path / "uncapped.yaml").write_text("extends: capped.yaml\nname: uncapped\n" + flow.format("null"))
    from escalsim.scenario.loader import load_scenario

    assert load_scenario(tmp_path / "capped.yaml").deployments["dprk_to_russia"].flow.cap == 15000
    assert load_scenario(tmp_path / "uncapped.yaml").deployments["dprk_to_russia"].flow.cap is None


def test_a_set_value_error_has_no_knock_on_errors():
    """`--set options.seoul_sends_weapons.probability=1.5` also blamed the untouched file ("group
    'seoul_response' has no other option"), and said "can be [1.5, 1.5]" of one value."""
    result = invoke("trace", DPRK, "--set", "options.seoul_sends_weapons.probability=1.5")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("--set:1:1: options.seoul_sends_weapons.probability: a probability must lie in [0, 1]")
    assert "1.5" in lines[0] and "[1.5, 1.5]" not in lines[0]


# --- --inject -----------------------------------------------------------------------------------------------------


def test_an_inject_date_without_dashes_is_refused_with_a_hint():
    """`--inject X@20241115` was read as day 20,241,115 (and refused as outside the scenario, with no hint)."""
    result = invoke("trace", DPRK, "--inject", "seoul_sends_weapons@20241115")
    assert result.exit_code == 2
    assert "would be day 20,241,115; write a date as YYYY-MM-DD" in result.output and "2024-11-15" in result.output


# --- every example in --help works ----------------------------------------------------------------------------


def help_text(*command: str) -> str:
    """A command's --help, unwrapped (wide), so that an example is never cut at a hyphen."""
    result = CliRunner().invoke(main, [*command, "--help"], terminal_width=1000, max_content_width=1000)
    assert result.exit_code == 0, result.output
    return result.output


def examples() -> tuple[list[str], list[tuple[str, str]]]:
    """Command lines shown in any --help (a line starting with `escalsim ` or `e.g. escalsim `), and each option
    example (`e.g. --set X`, `e.g. --inject X`)."""
    lines, options = [], []
    for command in [[]] + [[c] for c in COMMANDS]:
        for line in help_text(*command).splitlines():
            option = re.match(r"\s*(--set|--inject)\b.*?e\.g\. (?:--\w+ )?(\S+?)[,;)]?(?:\s|$)", line)
            if option:
                options.append(option.groups())
            line = line.strip().removeprefix("e.g. ")
            if line.startswith("escalsim "):
                lines.append(line)
    return lines, options


def test_help_shows_examples_of_every_command_and_option():
    lines, options = examples()
    assert {line.split()[1] for line in lines} == set(COMMANDS), lines
    assert {flag for flag, _ in options} == {"--set", "--inject"}, options


@pytest.mark.parametrize("flag, value", sorted(set(examples()[1])))
def test_every_set_and_inject_example_is_accepted_by_the_default_scenario(flag, value):
    """`trace --help` gave `seoul_lethal_aid@2024-11-15`, an option that does not exist."""
    result = invoke("trace", DPRK, flag, value)
    assert result.exit_code == 0, result.output


def test_every_command_line_in_help_runs(tmp_path, monkeypatch):
    """Run each `escalsim ...` line of every --help, in order (run before plot and report), where the paths
    they name exist: a copy of scenarios/, and a small results directory of the default scenario for each
    results/NAME an example reads without making it. --runs is cut to 40 (the examples are about what is
    accepted, not about scale)."""
    from escalsim.montecarlo.runs import Settings, run
    from escalsim.scenario.loader import load_scenario

    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    lines, _ = examples()
    for line in sorted(lines, key=lambda text: COMMANDS.index(text.split()[1])):
        words = shlex.split(line)
        shell = [i for i, word in enumerate(words) if word in ("|", ">", ">>", "<", "&&", ";")]
        args = words[1:shell[0] if shell else None]  # the escalsim part of a shell line (`... | dot -Tsvg`)
        args = [("40" if i and args[i - 1] == "--runs" else a) for i, a in enumerate(args)]
        if args[0] != "run":
            for word in args:
                if word.startswith("results/") and not Path(word).exists():
                    run(load_scenario(DPRK), word, Settings(runs=40, workers=1, trace_runs=3))
        if args[0] == "run" or args[0] == "compare" and not Path(args[1]).is_dir():
            args += ["--workers", "1", "--quiet"]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, f"{line}\n{result.output}"


# --- run: directories -----------------------------------------------------------------------------------------


def test_two_runs_in_the_same_second_get_two_default_directories(tmp_path, monkeypatch):
    """Without --out the directory was results/<name>-<second>: a second run in that second failed with a
    message about chunks and job.json.tmp."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("escalsim.montecarlo.runs.default_out_dir", lambda name: Path("results") / f"{name}-now")
    outputs = [invoke("run", MINIMAL, "--runs", 20, "--workers", 1, "--quiet") for _ in range(3)]
    assert [r.exit_code for r in outputs] == [0, 0, 0], [r.output for r in outputs]
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["minimal-now", "minimal-now-2",
                                                                        "minimal-now-3"]
    assert all((tmp_path / "results" / name / "manifest.json").is_file()
               for name in ("minimal-now", "minimal-now-2", "minimal-now-3"))


def test_claiming_default_directories_is_atomic(tmp_path, monkeypatch):
    from escalsim.montecarlo.runs import claim_default_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("escalsim.montecarlo.runs.default_out_dir", lambda name: Path("results") / f"{name}-now")
    (tmp_path / "results" / "x-now-2").mkdir(parents=True)  # e.g. taken by another process meanwhile
    assert [claim_default_dir("x").name for _ in range(3)] == ["x-now", "x-now-3", "x-now-4"]


def test_run_out_dev_null_is_not_called_a_directory(tmp_path):
    (tmp_path / "null").symlink_to("/dev/null")  # never the device itself: a faulty run must not replace it
    result = invoke("run", MINIMAL, "--runs", 10, "--out", tmp_path / "null")
    assert result.exit_code == 1 and f"{tmp_path}/null exists and is not a directory" in result.output
    assert "existing directory" not in result.output


def interrupted_after(monkeypatch, batches_done: int):
    """Make the next run raise KeyboardInterrupt once `batches_done` batches are saved."""
    real = batches.run_many

    def interrupted(*args, **kwargs):
        for i, batch in enumerate(real(*args, **kwargs)):
            if i == batches_done:
                raise KeyboardInterrupt
            yield batch
        raise KeyboardInterrupt  # fewer batches than that

    monkeypatch.setattr("escalsim.montecarlo.runs.run_many", interrupted)
    return real


def test_ctrl_c_before_any_run_is_saved_keeps_nothing_and_says_so(tmp_path, monkeypatch):
    """It said "finished runs are kept ... --resume", and the same --out was then refused."""
    real = interrupted_after(monkeypatch, 0)
    out = tmp_path / "out"
    result = invoke("run", MINIMAL, "--runs", 400, "--workers", 1, "--out", out)
    assert result.exit_code == 130, result.output
    assert "interrupted before any run was saved: nothing is kept" in result.output
    assert "--resume" not in result.output and "finished runs" not in result.output
    assert not out.exists()
    monkeypatch.setattr("escalsim.montecarlo.runs.run_many", real)
    again = invoke("run", MINIMAL, "--runs", 40, "--workers", 1, "--out", out, "--quiet")
    assert again.exit_code == 0, again.output


def test_ctrl_c_before_any_run_is_saved_in_an_empty_out_leaves_it_empty(tmp_path, monkeypatch):
    interrupted_after(monkeypatch, 0)
    result = invoke("run", MINIMAL, "--runs", 400, "--workers", 1, "--out", tmp_path)
    assert result.exit_code == 130 and f"nothing is kept; {tmp_path} can be used again" in result.output
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_before_any_run_in_a_default_directory_removes_it(tmp_path, monkeypatch):
    interrupted_after(monkeypatch, 0)
    monkeypatch.chdir(tmp_path)
    result = invoke("run", MINIMAL, "--runs", 400, "--workers", 1)
    assert result.exit_code == 130 and "nothing is kept" in result.output
    assert list((tmp_path / "results").iterdir()) == []


def test_a_write_failure_before_any_run_is_saved_leaves_nothing(tmp_path, monkeypatch):
    from escalsim.montecarlo import store
    from escalsim.montecarlo.files import ResultsWriteError

    def full(*args, **kwargs):
        raise ResultsWriteError(28, "cannot write runs-0-100.parquet in results directory X: No space left on device")

    monkeypatch.setattr(store, "write_chunk", full)
    out = tmp_path / "out"
    result = invoke("run", MINIMAL, "--runs", 400, "--workers", 1, "--out", out)
    assert result.exit_code == 1 and "No space left on device; no run was saved" in result.output, result.output
    assert "intact" not in result.output and not out.exists()


# --- run: an interrupted directory can be finished with the runs done ---------------------------------------------


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("whole") / "r"
    result = invoke("run", MINIMAL, "--runs", 400, "--workers", 1, "--batch-size", 50, "--out", out, "--quiet",
                    "--traces", 3)
    assert result.exit_code == 0, result.output
    return pd.read_parquet(out / "runs.parquet")


def test_resume_with_runs_finishes_with_the_runs_done(tmp_path, monkeypatch, uninterrupted):
    """`timeout -s INT 12 escalsim run ... --runs 100000000` kept 6,000 runs that plot and report refused
    ("incomplete") and `--resume DIR --runs 6000` refused too: there was no way to use them."""
    real = interrupted_after(monkeypatch, 2)
    out = tmp_path / "r"
    result = invoke("run", MINIMAL, "--runs", 400, "--workers", 1, "--batch-size", 50, "--out", out, "--traces", 3)
    assert result.exit_code == 130
    assert f"interrupted: 100 of 400 runs are saved in {out}. Continue with: escalsim run --resume {out}" \
           in result.output, result.output
    assert f"or finish with the runs done: escalsim run --resume {out} --runs 100" in result.output
    monkeypatch.setattr("escalsim.montecarlo.runs.run_many", real)
    refused = invoke("report", out)
    assert refused.exit_code == 1 and f"`escalsim run --resume {out} --runs 100` finishes it" in refused.output
    too_few = invoke("run", "--resume", out, "--runs", 99)
    assert too_few.exit_code == 1 and "holds 100 runs already; --runs must be at least that" in too_few.output
    done = invoke("run", "--resume", out, "--runs", 100, "--workers", 1, "--quiet")
    assert done.exit_code == 0, done.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"] == manifest["target_runs"] == 100
    assert manifest["stopped_because"].startswith("the requested 100 runs are done (the target was 400")
    # the same runs as the first 100 of an uninterrupted run: --runs changes how many, not what any run is
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), uninterrupted.iloc[:100],
                                  check_categorical=False)


def test_resume_with_more_runs_adds_the_same_runs(tmp_path, monkeypatch, uninterrupted):
    real = interrupted_after(monkeypatch, 2)
    out = tmp_path / "r"
    assert invoke("run", MINIMAL, "--runs", 200, "--workers", 1, "--batch-size", 50, "--out", out,
                  "--traces", 3).exit_code == 130
    monkeypatch.setattr("escalsim.montecarlo.runs.run_many", real)
    done = invoke("run", "--resume", out, "--runs", 400, "--workers", 1, "--quiet")
    assert done.exit_code == 0, done.output
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), uninterrupted, check_categorical=False)


def test_ctrl_c_while_finalizing_then_resume(tmp_path, monkeypatch, uninterrupted):
    from escalsim.montecarlo import store

    real, calls = store.stream, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # runs.parquet written, levels.parquet under way
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "stream", interrupted)
    out = tmp_path / "r"
    result = invoke("run", MINIMAL, "--runs", 400, "--workers", 1, "--batch-size", 50, "--out", out, "--traces", 3)
    assert result.exit_code == 130
    assert (f"interrupted while writing the final tables: all 400 runs are saved in {out}; "
            f"`escalsim run --resume {out}` writes the tables") in result.output, result.output
    assert not list(out.rglob("*.tmp"))
    monkeypatch.setattr(store, "stream", real)
    done = invoke("run", "--resume", out, "--workers", 1, "--quiet")
    assert done.exit_code == 0, done.output
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), uninterrupted, check_categorical=False)


def test_ctrl_c_while_loading_the_scenario(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("escalsim.scenario.loader.load_scenario", interrupted)
    result = invoke("run", MINIMAL, "--out", tmp_path / "o")
    assert result.exit_code == 130 and "interrupted before any run started: nothing was written" in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", [["validate", MINIMAL], ["trace", MINIMAL], ["schema"]])
def test_ctrl_c_in_any_command_exits_130(command, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("escalsim.cli.scenario_cmds.echo", interrupted)  # each of them prints a result
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 130 and result.output.strip().endswith("interrupted"), result.output
    assert "Traceback" not in result.output and "Aborted" not in result.output


# --- documented exit codes ------------------------------------------------------------------------------------


def test_exit_codes_are_documented_alike_in_help_and_readme():
    from escalsim.cli.common import EXIT_CODES

    assert EXIT_CODES in " ".join(help_text().split())
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert EXIT_CODES.replace("`", "") in readme.replace("`", ""), "README's exit-code line differs from --help"


# --- a Ctrl-C that a library loses or turns into another error is still one ---------------------------------------


def test_a_ctrl_c_a_library_swallowed_stops_the_run_at_the_next_batch(tmp_path, monkeypatch):
    """pydantic swallowed a KeyboardInterrupt raised in a discriminator while it serialized the scenario (once in
    about 30 interrupted runs): the run went on for good. Simulated: SIGINT lands and the exception is lost."""
    from escalsim.cli.common import ctrl_c

    real = batches.run_many

    def swallowing(*args, **kwargs):
        for i, batch in enumerate(real(*args, **kwargs)):
            if i == 2:
                try:
                    ctrl_c._handle(2, None)
                except KeyboardInterrupt:
                    pass  # what the library did
            yield batch

    monkeypatch.setattr("escalsim.montecarlo.runs.run_many", swallowing)
    out = tmp_path / "r"
    result = invoke("run", MINIMAL, "--runs", 1000, "--workers", 1, "--batch-size", 50, "--out", out)
    assert result.exit_code == 130, result.output
    assert "interrupted: 150 of 1,000 runs are saved" in result.output
    assert json.loads((out / "progress.json").read_text())["next_run"] == 150


def test_a_ctrl_c_turned_into_another_error_is_reported_as_an_interruption(tmp_path, monkeypatch):
    """pydantic turned a KeyboardInterrupt raised while it built a validator (at import) into a SchemaError."""
    from escalsim.cli.common import ctrl_c

    def interrupted_import(*args, **kwargs):
        ctrl_c.requested = True
        raise RuntimeError("Error building 'model' validator: KeyboardInterrupt")

    monkeypatch.setattr("escalsim.scenario.loader.load_scenario", interrupted_import)
    for command in (["run", MINIMAL, "--out", tmp_path / "o"], ["trace", MINIMAL]):
        result = invoke(*command)
        assert result.exit_code == 130 and "RuntimeError" not in result.output, result.output
        assert "interrupted" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_a_ctrl_c_that_could_not_be_raised_is_not_printed(tmp_path, monkeypatch):
    """'Exception ignored in: _param_tag ... KeyboardInterrupt' with a traceback: the interrupt is kept, the
    traceback is not shown."""
    import sys
    import types

    real = batches.run_many

    def unraisable(*args, **kwargs):
        for i, batch in enumerate(real(*args, **kwargs)):
            if i == 1:
                sys.unraisablehook(types.SimpleNamespace(exc_type=KeyboardInterrupt, exc_value=KeyboardInterrupt(),
                                                         exc_traceback=None, err_msg=None, object=None))
            yield batch

    monkeypatch.setattr("escalsim.montecarlo.runs.run_many", unraisable)
    # as in a terminal: a test run started in the background (`cmd &` in a script) inherits SIGINT ignored, and
    # then no Ctrl-C can reach escalsim, which rightly leaves its guard off
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        result = invoke("run", MINIMAL, "--runs", 1000, "--workers", 1, "--batch-size", 50, "--out", tmp_path / "r")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert result.exit_code == 130 and "interrupted: 100 of 1,000 runs are saved" in result.output, result.output
    assert "Exception ignored" not in result.output and "Traceback" not in result.output


def test_ctrl_c_before_a_resume_starts_says_the_directory_is_unchanged(tmp_path, monkeypatch):
    """It said "nothing was written", which read as if the runs saved before were lost."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("escalsim.cli.run_cmd._prepare", interrupted)
    result = invoke("run", "--resume", tmp_path)
    assert result.exit_code == 130, result.output
    assert f"interrupted before the resume started: {tmp_path} is unchanged, its saved runs with it" in result.output


def test_an_interrupted_comparison_names_the_command_that_writes_it(tmp_path, monkeypatch):
    """It said only "no comparison file was kept", though both arms were complete and one command finishes."""
    from escalsim.montecarlo.runs import Settings, run
    from escalsim.scenario.loader import load_scenario

    a = run(load_scenario(MINIMAL), tmp_path / "a", Settings(runs=60, workers=1, trace_runs=0))
    b = run(load_scenario(MINIMAL), tmp_path / "b", Settings(runs=60, workers=1, trace_runs=0))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("escalsim.outputs.comparison.write_comparison", interrupted)
    result = invoke("compare", a, b, "--out", tmp_path / "c", "--quiet")
    assert result.exit_code == 130, result.output
    assert (f"no comparison file was kept; both arms are complete: `escalsim compare {a} {b} --out NEW_DIR` "
            "writes it again") in result.output, result.output


@pytest.mark.parametrize("command", ["trace", "run"])
@pytest.mark.parametrize("flag, move", [("--inject", "X@2024-11-15"), ("--block", "X")])
def test_a_bad_move_names_its_flag(command, flag, move, tmp_path):
    """`trace --inject X@...` said only "Invalid value: 'X@...'", without the flag (compare named it)."""
    extra = ["--seed", 1] if command == "trace" else ["--runs", 10, "--workers", 1, "--out", tmp_path / "o"]
    result = invoke(command, MINIMAL, flag, move, *extra)
    assert result.exit_code == 2 and f"Invalid value for '{flag}': '{move}'" in result.output, result.output
