"""`escalsim run`: many runs into a results directory, with a progress bar and a summary."""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path

import click
from click.core import ParameterSource

from escalsim.cli.common import (
    BLOCK_HELP,
    INJECT_HELP,
    OVERRIDE_HELP,
    SET_HELP,
    StdoutError,
    check_moves_or_fail,
    ctrl_c,
    echo,
    exit_interrupted,
    fail,
    load,
    parse_block,
    parse_injection,
    progress_bar,
    stdout_failed,
    warn,
)

# run's parameters a resumed run keeps as they were started (parameter name: its flag); --runs may change how
# many runs there are (never what any run is), down to the runs already saved
FIXED_ON_RESUME = {"injections": "--inject", "blocks": "--block", "override": "--override",
                   "seed": "--seed", "out_dir": "--out", "trace_runs": "--traces", "min_runs": "--min-runs",
                   "max_runs": "--max-runs", "batch_size": "--batch-size", "overrides": "--set",
                   "precision": "--precision"}


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--runs", type=click.IntRange(1, 10**9), help="Number of runs [default: 10,000]. With --resume: "
              "a new target, at least the runs already saved (e.g. the runs done, to finish with them).")
@click.option("--seed", default=1, show_default=True, type=click.IntRange(0, 2**63 - 1), help="Root seed.")
@click.option("--workers", type=click.IntRange(1, 1024), help="Worker processes [default: every core].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="New results directory [default: results/<scenario>-<timestamp>, with -2, -3... if taken].")
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE", help=SET_HELP)
@click.option("--inject", "injections", multiple=True, metavar="EVENT@WHEN", help=INJECT_HELP)
@click.option("--block", "blocks", multiple=True, metavar="EVENT[@FROM..UNTIL]", help=BLOCK_HELP)
@click.option("--override", is_flag=True, help=OVERRIDE_HELP)
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
              help="Continue an interrupted results directory to its requested run count (or to --runs).")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary printed (the summary CSVs are "
              "still written).")
def run(file, runs, seed, workers, out_dir, overrides, injections, blocks, override, precision, min_runs, max_runs,
        scheduler, batch_size, trace_runs, resume_dir, quiet) -> None:
    """Run FILE many times and summarise the outcomes with 95% intervals.

    Results go to a directory (runs.parquet, levels.parquet, traces.parquet, manifest.json and summary CSVs)
    that pandas, polars and DuckDB read directly. The progress bar is drawn on a terminal only. Ctrl-C stops
    cleanly: finished runs are kept, and `escalsim run --resume DIR` completes them with exactly the results an
    uninterrupted run would give, or `escalsim run --resume DIR --runs N` finishes with N runs (at least those
    saved). A run interrupted before it saved anything leaves nothing behind.

    \b
    e.g. escalsim run scenarios/dprk_russia_2024.yaml --runs 2000 --out results/dprk
         escalsim run scenarios/dprk_russia_2024.yaml --runs 2000 --inject seoul_sends_weapons@2024-11-15
    """
    _check_flags(file, resume_dir, runs, precision, min_runs, max_runs, scheduler)
    if resume_dir is not None and runs is None and _summaries_missing(Path(resume_dir)):
        _report(Path(resume_dir), time.perf_counter(), quiet, resumed=True)  # what an interrupted end did not write
        return
    try:
        settings, scenario, where, claimed = _prepare(file, resume_dir, runs, seed, workers, out_dir, overrides,
                                                      precision, min_runs, max_runs, scheduler, batch_size,
                                                      trace_runs, (injections, blocks, override))
    except Exception:
        if not ctrl_c.requested:
            raise
        _interrupted_before_start(resume_dir)
    except KeyboardInterrupt:
        _interrupted_before_start(resume_dir)
    began = time.perf_counter()
    directory = _simulate(scenario, file, where, settings, runs if scenario is None else None, quiet, claimed)
    _report(directory, began, quiet, resumed=resume_dir is not None)


def _prepare(file, resume_dir, runs, seed, workers, out_dir, overrides, precision, min_runs, max_runs, scheduler,
             batch_size, trace_runs, moves):
    """The settings, the scenario (None for a resume), the directory, and whether it is a default one claimed
    here; exit 1 with the reason when the scenario or the directory cannot be used."""
    from escalsim.montecarlo import runs as montecarlo
    from escalsim.montecarlo.files import ResultsError

    settings = montecarlo.Settings(
        runs=runs or montecarlo.DEFAULT_RUNS, seed=seed, workers=workers, scheduler=scheduler,
        batch_size=batch_size, trace_runs=trace_runs, precision=precision, min_runs=min_runs, max_runs=max_runs,
        overrides=list(overrides))
    scenario = None if file is None else load(file, overrides)
    if scenario is not None:
        injections, blocks, override = moves
        settings.injections = [parse_injection(text, scenario, override) for text in injections]
        settings.blocks = [parse_block(text, scenario) for text in blocks]
        check_moves_or_fail(scenario, settings.injections, settings.blocks)
    claimed = False
    try:
        if scenario is None:
            where = Path(resume_dir)
        elif out_dir:
            where = Path(out_dir)
            montecarlo.check_new_directory(where)
        else:
            where, claimed = montecarlo.claim_default_dir(scenario.name), True
    except ResultsError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot create a results directory under {Path('results').absolute()}: {exc.strerror or exc}")
    return settings, scenario, where, claimed


def _check_flags(file, resume_dir, runs, precision, min_runs, max_runs, scheduler) -> None:
    """Refuse combinations of flags that cannot work together (click.UsageError, exit 2)."""
    if (resume_dir is None) == (file is None):
        raise click.UsageError("give a scenario FILE, or --resume DIR (not both)")
    ctx = click.get_current_context()
    given = [flag for name, flag in FIXED_ON_RESUME.items()
             if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT]
    if resume_dir is not None and given:
        raise click.UsageError(f"--resume continues a run as it was started: {', '.join(given)} cannot change "
                               "(only --runs, --workers and --scheduler may)")
    if precision is not None and not math.isfinite(precision):
        raise click.BadParameter(f"{precision} is not a number", param_hint="--precision")
    if precision is not None and runs:
        raise click.UsageError("--precision chooses the number of runs (between --min-runs and --max-runs): "
                               "give --runs or --precision, not both")
    if precision is not None and min_runs > max_runs:
        raise click.UsageError(f"--min-runs {min_runs:,} is more than --max-runs {max_runs:,}")
    if scheduler is not None and not scheduler.strip():
        raise click.BadParameter("an address such as tcp://host:8786, or 'local'", param_hint="--scheduler")


def _simulate(scenario, file: str | None, where: Path, settings, runs: int | None, quiet: bool,
              claimed: bool) -> Path:
    """Run (or resume) into `where` with a progress bar; exit 130 on Ctrl-C, 1 on a failure, each time saying
    what the directory now holds."""
    from escalsim.engine.world import RunawayError
    from escalsim.montecarlo import runs as montecarlo
    from escalsim.montecarlo.backends import BackendError
    from escalsim.montecarlo.files import ResultsError

    try:
        with ctrl_c, progress_bar("runs", not quiet) as bar:
            def progress(done: int, total: int, rate: float) -> None:
                ctrl_c.check()  # after each saved batch: a Ctrl-C that something swallowed stops the run here
                if bar is not None:
                    bar(done, total, rate)

            if scenario is not None:
                directory = montecarlo.run(scenario, where, settings, file, progress)
            else:
                directory = montecarlo.resume(where, settings, progress, runs=runs)
            ctrl_c.check()  # pressed while the tables were written, and lost: the results are complete, say so
            return directory
    except Exception as exc:
        _forget(where, claimed)
        if ctrl_c.requested:  # whatever a library made of the Ctrl-C, it is one
            warn("\n" + _interrupted(where))
            exit_interrupted()
        if isinstance(exc, (ResultsError, RunawayError)):
            fail(str(exc))
        if isinstance(exc, (BackendError, OSError)):
            fail(f"{_described(exc)}{_kept(where)}")
        raise
    except KeyboardInterrupt:
        _forget(where, claimed)
        warn("\n" + _interrupted(where))
        exit_interrupted()


def _described(exc: Exception) -> str:
    """An error's message without Python's '[Errno N]' prefix; a plain OSError's with the file it names."""
    from escalsim.montecarlo.files import ResultsWriteError

    if isinstance(exc, ResultsWriteError):
        return exc.strerror or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": {exc.filename}" if exc.filename else "")
    return str(exc)


def _forget(where: Path, claimed: bool) -> None:
    """Remove the default directory this run claimed if it is still empty (nothing was saved in it)."""
    if claimed:
        with contextlib.suppress(OSError):
            where.rmdir()


def _interrupted(where: Path) -> str:
    """What an interruption leaves in `where`, and what to do with it."""
    from escalsim.montecarlo.runs import saved_runs

    saved = saved_runs(where)
    if saved is None:
        reuse = f"; {where} can be used again" if where.is_dir() else ""
        return f"interrupted before any run was saved: nothing is kept{reuse}"
    if saved.complete:
        return f"interrupted once the results were complete in {where} (the summary was not printed)"
    if saved.runs >= saved.target:
        return (f"interrupted while writing the final tables: all {saved.runs:,} runs are saved in {where}; "
                f"`escalsim run --resume {where}` writes the tables")
    if saved.runs == 0:
        return f"interrupted: no run is saved yet in {where}. Continue with: escalsim run --resume {where}"
    return (f"interrupted: {saved.runs:,} of {saved.target:,} runs are saved in {where}. Continue with: "
            f"escalsim run --resume {where}\n  or finish with the runs done: escalsim run --resume {where} "
            f"--runs {saved.runs}")


def _kept(where: Path) -> str:
    """After a failure: what is saved in `where` and how to go on, or that nothing was kept."""
    from escalsim.montecarlo.runs import saved_runs

    saved = saved_runs(where)
    if saved is None:
        return "; no run was saved"
    if saved.complete:
        return ""
    return (f"; {saved.runs:,} of {saved.target:,} runs are saved in {where}: once the cause is fixed, "
            f"`escalsim run --resume {where}` continues")


def _interrupted_before_start(resume_dir) -> None:
    """Ctrl-C before the first run of this command: nothing was written (a resumed directory is as it was)."""
    if resume_dir is None:
        warn("\ninterrupted before any run started: nothing was written")
    else:
        warn(f"\ninterrupted before the resume started: {resume_dir} is unchanged, its saved runs with it")
    exit_interrupted()


def _summaries_missing(directory: Path) -> bool:
    """Whether `directory` holds complete results (manifest.json) without every summary CSV: the end of a run
    interrupted while it wrote them."""
    from escalsim.outputs.csv_files import CSV_FILES

    return (directory / "manifest.json").is_file() and not all((directory / name).is_file() for name in CSV_FILES)


def _closing_line(manifest: dict, took: float, resumed: bool) -> str:
    """Why the runs stopped, how many, and how fast. The rate is the manifest's, over every session's simulating
    time; after a resume this command's own time is a different figure, and is named so."""
    line = f"{manifest['stopped_because']}: {manifest['runs']:,} runs, {manifest['runs_per_s']:,.0f} runs/s"
    if resumed:
        return line + (f" over {manifest['wall_time_s']:,.1f} s of simulating in all sessions; "
                       f"this command {took:.1f} s.")
    return line + f", {took:.1f} s."


def _report(directory: Path, began: float, quiet: bool, resumed: bool = False) -> None:
    """The summary (unless quiet) and the closing line on stdout, the summary CSVs in the directory."""
    from escalsim.montecarlo.files import ResultsError
    from escalsim.montecarlo.results import read_manifest
    from escalsim.outputs.tables import summary

    try:
        manifest = read_manifest(directory)
    except ResultsError as exc:
        fail(str(exc))
    runs_frame = _summary_tables(directory, manifest)
    try:
        if not quiet:
            for line in summary(runs_frame, manifest):
                echo(line)
            echo("")
        echo(_closing_line(manifest, time.perf_counter() - began, resumed) + f" Results: {directory}")
    except StdoutError as exc:  # a closed pipe ends quietly, as for every command; a full disk is an error
        stdout_failed(exc.error, f"; the results are complete in {directory}")


def _summary_tables(directory: Path, manifest: dict):
    """The summary's runs frame, with its CSVs written (they are part of the results, --quiet or not)."""
    from escalsim.outputs.tables import summary_frame, write_csv

    try:
        runs_frame = summary_frame(directory, manifest)
        write_csv(runs_frame, manifest, directory)
    except KeyboardInterrupt:
        warn(f"\ninterrupted while writing the summary tables: the {manifest['runs']:,} runs are complete "
             f"in {directory} (runs.parquet, manifest.json); summary_*.csv may be missing: "
             f"`escalsim run --resume {directory}` writes them")
        exit_interrupted()
    except OSError as exc:
        fail(f"cannot write the summary tables in {directory}: {exc.strerror or exc}; the runs "
             "(runs.parquet, manifest.json) are complete and intact")
    return runs_frame
