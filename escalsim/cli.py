"""The `escalsim` command line: validate scenario files, trace one run, print the JSON Schema."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

import click
from click.core import ParameterSource

from escalsim import __version__
from escalsim.engine.core import InjectionError, compile_model, simulate
from escalsim.engine.story import json_lines, story
from escalsim.engine.world import RunawayError
from escalsim.errors import ScenarioError
from escalsim.montecarlo.store import JOB, read_manifest
from escalsim.outputs.tables import summary, summary_frame, write_csv
from escalsim.scenario.loader import load_scenario
from escalsim.scenario.schema import Injection, Scenario

EXIT_INVALID = 1
EXIT_INTERRUPTED = 130

SET_HELP = "Override a value of the file, e.g. --set deployments.dprk_to_russia.flow.cap=15000 (repeatable)."


def _load(path: str, overrides: tuple[str, ...] = ()) -> Scenario:
    """Load or exit 1 with every problem printed as FILE:LINE:COLUMN: path: message."""
    try:
        return load_scenario(path, overrides)
    except ScenarioError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_INVALID)


def parse_injection(text: str, scenario: Scenario) -> Injection:
    """'option@2024-11-15' or 'option@30' (a day number) -> Injection."""
    option, sep, when = text.partition("@")
    if not sep or not option or not when:
        raise click.BadParameter(f"{text!r}: expected OPTION@DATE or OPTION@DAY, e.g. seoul_lethal_aid@2024-11-15")
    if option not in scenario.options:
        from escalsim.scenario.conditions import suggest

        hint = suggest(option, scenario.options)
        raise click.BadParameter(f"{text!r}: unknown option '{option}'" + (f" (did you mean '{hint}'?)" if hint else "")
                                 + "; options: " + ", ".join(scenario.options))
    try:
        day = scenario.day_of(dt.date.fromisoformat(when)) if "-" in when.lstrip("-") else float(when)
    except ValueError:
        raise click.BadParameter(f"{text!r}: {when!r} is neither a date (YYYY-MM-DD) nor a day number") from None
    return Injection(day=day, option=option) if 0 <= day < scenario.horizon else _outside(text, scenario)


def _outside(text: str, scenario: Scenario):
    raise click.BadParameter(f"{text!r}: the day must fall within the scenario (day 0 to {scenario.horizon:g})")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="escalsim")
def main() -> None:
    """Escalation scenarios as discrete-event Monte Carlo models.

    Exit codes: 0 success, 1 invalid scenario or results directory, 2 bad command-line usage,
    130 interrupted (finished runs are kept).
    """


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check scenario FILES; print every problem as FILE:LINE:COLUMN: path: message."""
    bad = 0
    for path in files:
        try:
            s = load_scenario(path)
        except ScenarioError as exc:
            bad += 1
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            continue
        click.echo(f"{path}: ok ({s.name}: {len(s.ladder.rungs)} rungs, {len(s.actors)} actors, "
                   f"{len(s.options)} options, {len(s.treaties)} treaties, {s.horizon:g} days)")
    if bad:
        click.echo(f"{bad} of {len(files)} file(s) invalid", err=True)
        sys.exit(EXIT_INVALID)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--seed", default=1, show_default=True, type=click.IntRange(0, 2**63 - 1), help="Root seed.")
@click.option("--run", "run_index", default=0, show_default=True, type=click.IntRange(0, 2**63 - 1),
              help="Which run of that seed (run i of a Monte Carlo batch).")
@click.option("--inject", "injections", multiple=True, metavar="OPTION@WHEN",
              help="Force an option on a date or day, e.g. seoul_lethal_aid@2024-11-15 (repeatable).")
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE", help=SET_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON lines instead of text.")
def trace(file: str, seed: int, run_index: int, injections: tuple[str, ...], overrides: tuple[str, ...],
          as_json: bool) -> None:
    """Run FILE once and tell its story day by day, each ladder move with its cause."""
    scenario = _load(file, overrides)
    model = compile_model(scenario)
    forced = [parse_injection(text, scenario) for text in injections]
    try:
        record = simulate(model, seed, run_index, forced, trace=True)
    except InjectionError as exc:
        raise click.BadParameter(str(exc)) from None
    except RunawayError as exc:
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    for line in (json_lines if as_json else story)(model, record):
        click.echo(line)


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to this file instead of stdout.")
@click.option("--variant", is_flag=True, help="The schema of a variant file (one with extends:), where every key "
              "is optional because the base supplies it.")
def schema(out: str | None, variant: bool) -> None:
    """Print the JSON Schema of scenario files (for editors: yaml-language-server)."""
    text = schema_text(variant)
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)


def schema_text(variant: bool = False) -> str:
    doc = Scenario.model_json_schema(by_alias=True)
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "escalsim scenario variant" if variant else "escalsim scenario"
    if variant:
        _drop_required(doc)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _drop_required(node) -> None:
    """A variant overrides any part of its base, so nothing in it is required."""
    if isinstance(node, dict):
        node.pop("required", None)
        for value in node.values():
            _drop_required(value)
    elif isinstance(node, list):
        for value in node:
            _drop_required(value)



# run's parameters a resumed run keeps as they were started (parameter name: its flag)
FIXED_ON_RESUME = {"seed": "--seed", "out_dir": "--out", "trace_runs": "--traces", "min_runs": "--min-runs",
                   "max_runs": "--max-runs", "batch_size": "--batch-size", "overrides": "--set", "runs": "--runs",
                   "precision": "--precision"}


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--runs", type=click.IntRange(1, 10**9), help="Number of runs [default: 10,000].")
@click.option("--seed", default=1, show_default=True, type=click.IntRange(0, 2**63 - 1), help="Root seed.")
@click.option("--workers", type=click.IntRange(1, 1024), help="Worker processes [default: every core].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="New results directory [default: results/<scenario>-<timestamp>].")
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE", help=SET_HELP)
@click.option("--precision", type=click.FloatRange(1e-4, 0.5),
              help="Add runs until every reported probability's 95% half-width is at most this (e.g. 0.01).")
@click.option("--min-runs", default=1_000, show_default=True, type=click.IntRange(1),
              help="With --precision: runs before the first check.")
@click.option("--max-runs", default=1_000_000, show_default=True, type=click.IntRange(1),
              help="With --precision: never more runs than this.")
@click.option("--scheduler", metavar="ADDRESS",
              help="Run on a Dask cluster: tcp://host:8786, or 'local' for a LocalCluster on this machine.")
@click.option("--batch-size", type=click.IntRange(1), help="Runs per task [default: chosen from runs and workers].")
@click.option("--traces", "trace_runs", default=10, show_default=True, type=click.IntRange(0),
              help="Keep the event traces of the first K runs.")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, exists=True),
              help="Continue an interrupted results directory to its requested run count.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary printed (the summary CSVs are "
              "still written).")
def run(file, runs, seed, workers, out_dir, overrides, precision, min_runs, max_runs, scheduler, batch_size,
        trace_runs, resume_dir, quiet) -> None:
    """Run FILE many times and summarise the outcomes with 95% intervals.

    Results go to a directory (runs.parquet, levels.parquet, traces.parquet, manifest.json and summary CSVs)
    that pandas, polars and DuckDB read directly. Ctrl-C stops cleanly: finished runs are kept, and
    `escalsim run --resume DIR` completes them with exactly the results an uninterrupted run would give.
    """
    from escalsim.montecarlo import runs as montecarlo
    from escalsim.montecarlo.batches import BackendError
    from escalsim.montecarlo.store import ResultsError

    if (resume_dir is None) == (file is None):
        raise click.UsageError("give a scenario FILE, or --resume DIR (not both)")
    ctx = click.get_current_context()
    given = [flag for name, flag in FIXED_ON_RESUME.items()
             if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT]
    if resume_dir is not None and given:
        raise click.UsageError(f"--resume continues a run as it was started: {', '.join(given)} cannot change "
                               "(only --workers and --scheduler may)")
    if precision is not None and not math.isfinite(precision):
        raise click.BadParameter(f"{precision} is not a number", param_hint="--precision")
    if precision is not None and runs:
        raise click.UsageError("--precision chooses the number of runs (between --min-runs and --max-runs): "
                               "give --runs or --precision, not both")
    if precision is not None and min_runs > max_runs:
        raise click.UsageError(f"--min-runs {min_runs:,} is more than --max-runs {max_runs:,}")
    if scheduler is not None and not scheduler.strip():
        raise click.BadParameter("an address such as tcp://host:8786, or 'local'", param_hint="--scheduler")
    settings = montecarlo.Settings(
        runs=runs or montecarlo.DEFAULT_RUNS, seed=seed, workers=workers, scheduler=scheduler,
        batch_size=batch_size, trace_runs=trace_runs, precision=precision, min_runs=min_runs, max_runs=max_runs,
        overrides=list(overrides))
    scenario = None if file is None else _load(file, overrides)
    where = Path(resume_dir) if scenario is None else Path(out_dir or montecarlo.default_out_dir(scenario.name))
    began = time.perf_counter()
    try:
        with montecarlo.click_progress("runs", not quiet) as progress:
            if scenario is not None:
                directory = montecarlo.run(scenario, where, settings, file, progress)
            else:
                directory = montecarlo.resume(where, settings, progress)
    except KeyboardInterrupt:
        if (where / JOB).is_file():
            click.echo(f"\ninterrupted: finished runs are kept in {where}. Continue with: "
                       f"escalsim run --resume {where}", err=True)
        else:
            click.echo("\ninterrupted before any run was saved: nothing to resume", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except (ResultsError, BackendError, OSError, RunawayError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    manifest = read_manifest(directory)
    try:  # the summary tables are part of the results, --quiet or not
        runs_frame = summary_frame(directory, manifest)
        write_csv(runs_frame, manifest, directory)
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted while writing the summary tables: the {manifest['runs']:,} runs are complete "
                   f"in {directory} (runs.parquet, manifest.json); summary_*.csv may be missing", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except OSError as exc:
        click.echo(f"error: cannot write the summary tables in {directory}: {exc.strerror or exc}; the runs "
                   "(runs.parquet, manifest.json) are complete and intact", err=True)
        sys.exit(EXIT_INVALID)
    if not quiet:
        for line in summary(runs_frame, manifest):
            click.echo(line)
        click.echo("")
    click.echo(f"{manifest['stopped_because']}: {manifest['runs']:,} runs, {manifest['runs_per_s']:,.0f} runs/s, "
               f"{time.perf_counter() - began:.1f} s. Results: {directory}")


def _results(directory: str):
    from escalsim.montecarlo.store import ResultsError, load_results

    try:
        return load_results(directory)
    except ResultsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="fan, ladder, first_passage, max_rung, variables, drivers, timeline or all (repeatable) "
                   "[default: all].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Figure folder [default: DIR/figures].")
@click.option("--format", "fmt", default="png", show_default=True, type=click.Choice(["png", "svg", "pdf"]))
@click.option("--run", "run_index", type=click.IntRange(0), help="The run drawn by the timeline [default: the "
              "first traced run].")
def plot(directory: str, kinds: tuple[str, ...], out_dir: str | None, fmt: str, run_index: int | None) -> None:
    """Draw figures from a results DIRECTORY (never re-simulates)."""
    from escalsim.outputs import plots

    results = _results(directory)
    try:
        paths = plots.save_all(results, out_dir or Path(directory) / "figures", kinds or None, fmt, run_index)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    except OSError as exc:
        click.echo(f"error: cannot write the figures: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    for path in paths:
        click.echo(str(path))


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--out", type=click.Path(dir_okay=False), help="The page to write [default: DIR/report.html].")
def report(directory: str, out: str | None) -> None:
    """Write a self-contained HTML report (figures embedded, no network needed) of a results DIRECTORY."""
    from escalsim.outputs.report import write_report

    results = _results(directory)
    try:
        click.echo(str(write_report(results, out)))
    except (ValueError, OSError) as exc:
        click.echo(f"error: cannot write the report: {exc}", err=True)
        sys.exit(EXIT_INVALID)
