"""`escalsim run`: many runs into a results directory, with a progress bar and a summary."""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import click
from click.core import ParameterSource

from escalsim.cli.common import EXIT_INTERRUPTED, EXIT_INVALID, SET_HELP, load, progress_bar
from escalsim.engine.world import RunawayError
from escalsim.montecarlo.files import JOB
from escalsim.montecarlo.results import read_manifest
from escalsim.outputs.tables import summary, summary_frame, write_csv

# run's parameters a resumed run keeps as they were started (parameter name: its flag)
FIXED_ON_RESUME = {"seed": "--seed", "out_dir": "--out", "trace_runs": "--traces", "min_runs": "--min-runs",
                   "max_runs": "--max-runs", "batch_size": "--batch-size", "overrides": "--set", "runs": "--runs",
                   "precision": "--precision"}


@click.command()
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

    _check_flags(file, resume_dir, runs, precision, min_runs, max_runs, scheduler)
    settings = montecarlo.Settings(
        runs=runs or montecarlo.DEFAULT_RUNS, seed=seed, workers=workers, scheduler=scheduler,
        batch_size=batch_size, trace_runs=trace_runs, precision=precision, min_runs=min_runs, max_runs=max_runs,
        overrides=list(overrides))
    scenario = None if file is None else load(file, overrides)
    where = Path(resume_dir) if scenario is None else Path(out_dir or montecarlo.default_out_dir(scenario.name))
    began = time.perf_counter()
    directory = _simulate(scenario, file, where, settings, quiet)
    manifest = read_manifest(directory)
    runs_frame = _summary_tables(directory, manifest)
    if not quiet:
        for line in summary(runs_frame, manifest):
            click.echo(line)
        click.echo("")
    click.echo(f"{manifest['stopped_because']}: {manifest['runs']:,} runs, {manifest['runs_per_s']:,.0f} runs/s, "
               f"{time.perf_counter() - began:.1f} s. Results: {directory}")


def _check_flags(file, resume_dir, runs, precision, min_runs, max_runs, scheduler) -> None:
    """Refuse combinations of flags that cannot work together (click.UsageError, exit 2)."""
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


def _simulate(scenario, file: str | None, where: Path, settings, quiet: bool) -> Path:
    """Run (or resume) into `where` with a progress bar; exit 130 on Ctrl-C, 1 on a failure."""
    from escalsim.montecarlo import runs as montecarlo
    from escalsim.montecarlo.backends import BackendError
    from escalsim.montecarlo.files import ResultsError

    try:
        with progress_bar("runs", not quiet) as progress:
            if scenario is not None:
                return montecarlo.run(scenario, where, settings, file, progress)
            return montecarlo.resume(where, settings, progress)
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


def _summary_tables(directory: Path, manifest: dict):
    """The summary's runs frame, with its CSVs written (they are part of the results, --quiet or not)."""
    try:
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
    return runs_frame
