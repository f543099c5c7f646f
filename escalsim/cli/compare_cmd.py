"""`escalsim compare`: a scenario as it is (arm A) against the same scenario changed (arm B: a variant file, moves
made in every run, --set overrides), run pair by pair with common random numbers; or two finished results
directories. Prints the largest paired differences; writes the comparison beside the arms."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
from click.core import ParameterSource

from escalsim.cli.common import (
    BLOCK_HELP,
    INJECT_HELP,
    OVERRIDE_HELP,
    StdoutError,
    check_moves_or_fail,
    echo,
    exit_interrupted,
    fail,
    load,
    parse_block,
    parse_injection,
    progress_bar,
    results_or_exit,
    stdout_failed,
    warn,
    why,
)

SET_EXAMPLE = "parameters.seoul_deterrence.high=0.6"
# the flags that build arm B or run the arms: meaningless when two finished directories are compared
RUN_FLAGS = {"variant": "--variant", "injections": "--inject", "blocks": "--block", "override": "--override",
             "overrides": "--set",
             "runs": "--runs", "precision": "--precision", "min_runs": "--min-runs", "max_runs": "--max-runs",
             "seed": "--seed", "workers": "--workers", "scheduler": "--scheduler", "batch_size": "--batch-size"}


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="FILE | DIR_A DIR_B", type=click.Path())
@click.option("--variant", type=click.Path(dir_okay=False), help="Arm B is this scenario file (e.g. one that "
              "extends FILE) instead of FILE.")
@click.option("--inject", "injections", multiple=True, metavar="EVENT@WHEN", help=f"Arm B: {INJECT_HELP}")
@click.option("--block", "blocks", multiple=True, metavar="EVENT[@FROM..UNTIL]", help=f"Arm B: {BLOCK_HELP}")
@click.option("--override", is_flag=True, help=f"Arm B: {OVERRIDE_HELP}")
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE", help="In arm B, override a value of the "
              f"file, e.g. --set {SET_EXAMPLE} (repeatable).")
@click.option("--runs", type=click.IntRange(2, 10**9), help="Runs in each arm (pairs) [default: 10,000].")
@click.option("--precision", type=click.FloatRange(1e-4, 0.5), help="Add pairs of runs until every reported "
              "difference of probabilities has a 95% half-width of at most this (e.g. 0.01).")
@click.option("--min-runs", default=1_000, show_default=True, type=click.IntRange(2),
              help="With --precision: pairs before the first check.")
@click.option("--max-runs", default=1_000_000, show_default=True, type=click.IntRange(2),
              help="With --precision: never more pairs than this.")
@click.option("--seed", default=1, show_default=True, type=click.IntRange(0, 2**63 - 1), help="Root seed of both "
              "arms.")
@click.option("--workers", type=click.IntRange(1, 1024), help="Worker processes [default: every core].")
@click.option("--scheduler", metavar="ADDRESS", help="Run on a Dask cluster: tcp://host:8786, or 'local'.")
@click.option("--batch-size", type=click.IntRange(1), help="Pairs of runs per task [default: chosen from runs and "
              "workers].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="New comparison directory [default: "
              "results/<scenario>-compare-<timestamp>].")
@click.option("--top", default=12, show_default=True, type=click.IntRange(1), help="Differences printed.")
@click.option("--quiet", is_flag=True, help="No progress bar and no table printed (the files are still written).")
def compare(paths, variant, injections, blocks, override, overrides, runs, precision, min_runs, max_runs, seed, workers,
            scheduler, batch_size, out_dir, top, quiet) -> None:
    """Compare arm A (FILE as it is) with arm B (FILE changed by --variant, --inject, --block or --set), both run
    with the same seed run by run, so each difference is measured on pairs of runs that share their random
    numbers; or compare two finished results directories DIR_A DIR_B (same seed and tracks; if their run counts
    differ, their common first runs).

    Writes DIR/a and DIR/b (results directories) and DIR/comparison.csv (every rung by every checkpoint, every
    event, every key variable at every checkpoint), comparison.json, comparison.png and comparison.html, then
    prints the largest differences B - A with their 95% intervals (Newcombe's method 10 for paired
    proportions), the discordant pairs b (only A) and c (only B), McNemar's mid-p and F, the variance-reduction
    factor: unpaired arms would need F times the runs.

    \b
    e.g. escalsim compare scenarios/dprk_russia_2024.yaml --inject seoul_sends_weapons@2024-11-15 --runs 2000
         escalsim compare results/base results/variant
    """
    form = _form(paths)
    if form == "directories":
        _refuse_run_flags()
        return _compare_directories(paths[0], paths[1], out_dir, top, quiet)
    _check_flags(runs, precision, min_runs, max_runs, scheduler)
    if not (variant or injections or blocks or overrides):
        warn("note: no --variant, --inject, --block or --set: arm B is arm A, and every difference is 0")
    try:
        scenarios, moves, out, claimed = _prepare(paths[0], variant, injections, blocks, override, overrides,
                                                  out_dir)
    except KeyboardInterrupt:
        warn("\ninterrupted before any run started: nothing was written")
        exit_interrupted()
    settings = _settings(runs, precision, min_runs, max_runs, seed, workers, scheduler, batch_size, overrides, moves)
    directory = _simulate(scenarios, (paths[0], variant or paths[0]), settings, out, claimed, quiet)
    _finish(directory / "a", directory / "b", directory, top, quiet)


def _form(paths: tuple[str, ...]) -> str:
    """'scenario' for one file, 'directories' for two directories; click.UsageError (exit 2) otherwise."""
    if len(paths) == 1 and not Path(paths[0]).is_dir():
        return "scenario"
    if len(paths) == 2 and all(Path(p).is_dir() for p in paths):
        return "directories"
    if len(paths) == 1:
        raise click.UsageError(f"{paths[0]} is a directory: give two results directories (DIR_A DIR_B), or a "
                               "scenario FILE")
    if len(paths) == 2:
        missing = next(p for p in paths if not Path(p).is_dir())
        raise click.UsageError(f"{missing} is not a directory: give two results directories (DIR_A DIR_B), or one "
                               "scenario FILE with --variant, --inject, --block or --set")
    raise click.UsageError(f"got {len(paths)} paths: give a scenario FILE, or two results directories DIR_A DIR_B")


def _refuse_run_flags() -> None:
    ctx = click.get_current_context()
    given = [flag for name, flag in RUN_FLAGS.items() if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT]
    if given:
        raise click.UsageError(f"two results directories are compared as they are: {', '.join(given)} apply only "
                               "to a scenario FILE")


def _check_flags(runs, precision, min_runs, max_runs, scheduler) -> None:
    """Refuse flags that cannot work together (click.UsageError, exit 2)."""
    if precision is not None and runs:
        raise click.UsageError("--precision chooses the number of runs (between --min-runs and --max-runs): give "
                               "--runs or --precision, not both")
    if precision is not None and min_runs > max_runs:
        raise click.UsageError(f"--min-runs {min_runs:,} is more than --max-runs {max_runs:,}")
    if scheduler is not None and not scheduler.strip():
        raise click.BadParameter("an address such as tcp://host:8786, or 'local'", param_hint="--scheduler")


# --- arm B's moves ---------------------------------------------------------------------------------------------
def _prepare(file, variant, injections, blocks, override, overrides, out_dir):
    """Both scenarios, arm B's moves and the comparison directory; exit 1 for a scenario or directory that cannot
    be used or arms that cannot pair, exit 2 for a move that cannot be made (naming the flag and its position)."""
    from escalsim.montecarlo.batches import model_of
    from escalsim.montecarlo.compare import pairing_problem

    scenario_a = load(file)
    scenario_b = load(variant or file, overrides)
    problem = pairing_problem(model_of(scenario_a), model_of(scenario_b))
    if problem:
        fail(f"{variant} cannot be compared with {file}: {problem}")
    forced = [_move(parse_injection, "--inject", i, text, scenario_b, override)
              for i, text in enumerate(injections, 1)]
    blocked = [_move(parse_block, "--block", i, text, scenario_b) for i, text in enumerate(blocks, 1)]
    check_moves_or_fail(scenario_b, forced, blocked)
    out, claimed = _directory(out_dir, scenario_a.name)
    return (scenario_a, scenario_b), (forced, blocked), out, claimed


def _move(parse, flag: str, i: int, text: str, scenario, *extra):
    """parse(text, scenario, *extra), its click.BadParameter naming the flag and which of them it is."""
    try:
        return parse(text, scenario, *extra)
    except click.BadParameter as exc:
        raise click.BadParameter(exc.message, param_hint=f"'{flag}' (#{i})") from None


def _directory(out_dir: str | None, name: str) -> tuple[Path, bool]:
    """The comparison directory (new or empty) and whether it is a default one claimed here; exit 1 if unusable."""
    from escalsim.montecarlo.files import ResultsError
    from escalsim.montecarlo.runs import check_new_directory, claim_default_dir

    try:
        if out_dir:
            check_new_directory(Path(out_dir))
            return Path(out_dir), False
        return claim_default_dir(f"{name}-compare"), True
    except ResultsError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot create a comparison directory under {Path('results').absolute()}: {why(exc)}")


def _settings(runs, precision, min_runs, max_runs, seed, workers, scheduler, batch_size, overrides, moves):
    """The settings of arm A and arm B (the same but for B's overrides and moves)."""
    import dataclasses

    from escalsim.montecarlo.runs import DEFAULT_RUNS, Settings

    a = Settings(runs=runs or DEFAULT_RUNS, seed=seed, workers=workers, scheduler=scheduler, batch_size=batch_size,
                 precision=precision, min_runs=min_runs, max_runs=max_runs)
    return a, dataclasses.replace(a, overrides=list(overrides), injections=moves[0], blocks=moves[1])


# --- running and reporting -------------------------------------------------------------------------------------
def _simulate(scenarios, files, settings, out: Path, claimed: bool, quiet: bool) -> Path:
    """Run both arms into `out`; exit 130 on Ctrl-C and 1 on a failure, saying what `out` now holds."""
    from escalsim.engine.world import RunawayError
    from escalsim.montecarlo.backends import BackendError
    from escalsim.montecarlo.compare import compare_arms
    from escalsim.montecarlo.files import ResultsError

    try:
        with progress_bar("pairs", not quiet) as progress:
            return compare_arms(*scenarios, out, *settings, source_a=files[0], source_b=files[1], progress=progress)
    except KeyboardInterrupt:
        _forget(out, claimed)
        warn("\ninterrupted: " + _kept(out))
        exit_interrupted()
    except (ResultsError, RunawayError, BackendError, OSError, ValueError) as exc:
        _forget(out, claimed)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        fail(f"{reason}; {_kept(out)}")


def _forget(out: Path, claimed: bool) -> None:
    if claimed:
        with contextlib.suppress(OSError):
            out.rmdir()  # only if nothing was saved


def _kept(out: Path) -> str:
    """What an interrupted or failed comparison left in `out`, and how to go on."""
    from escalsim.montecarlo.runs import saved_runs

    saved = [saved_runs(out / arm) for arm in ("a", "b")]
    if all(s is None for s in saved):
        return "no run was saved"
    done = min(s.runs for s in saved if s is not None)
    return (f"{done:,} pairs of runs are saved in {out}/a and {out}/b; `escalsim run --resume {out}/a` and "
            f"`escalsim run --resume {out}/b` complete them, then `escalsim compare {out}/a {out}/b --out NEW_DIR` "
            "compares them")


def _compare_directories(dir_a: str, dir_b: str, out_dir: str | None, top: int, quiet: bool) -> None:
    """The two-directory form: refuse (exit 1) directories that do not pair before anything is written."""
    a, b = results_or_exit(dir_a), results_or_exit(dir_b)
    from escalsim.outputs.comparison import pair

    try:
        pairing = pair(a, b)
    except ValueError as exc:
        fail(f"{dir_a} and {dir_b} cannot be compared: {exc}")
    names = [r.manifest["scenario"] for r in (a, b)]
    out, claimed = _directory(out_dir, names[0] if names[0] == names[1] else f"{names[0]}-vs-{names[1]}")
    _write_and_print(a, b, pairing, out, top, quiet, removable=claimed or not out.exists())


def _finish(dir_a: Path, dir_b: Path, out: Path, top: int, quiet: bool) -> None:
    """After the runs: each arm's summary CSVs, then the comparison written and printed."""
    from escalsim.outputs.comparison import pair
    from escalsim.outputs.tables import summary_frame, write_csv

    arms = [results_or_exit(str(d)) for d in (dir_a, dir_b)]
    try:
        for results in arms:
            write_csv(summary_frame(results.directory, results.manifest), results.manifest, results.directory)
    except OSError as exc:
        fail(f"cannot write the summary tables of the arms: {why(exc)}; the runs in {dir_a} and {dir_b} are "
             "complete")
    stopped = arms[0].manifest.get("stopped_because")
    _write_and_print(*arms, pair(*arms), out, top, quiet, removable=False, before=f"{stopped}. " if stopped else "")


def _write_and_print(a, b, pairing, out: Path, top: int, quiet: bool, removable: bool, before: str = "") -> None:
    """Write the comparison files into `out` (removing them all, and `out` if `removable`, if one fails) and print
    the summary, then `before` and where the comparison is."""
    from escalsim.outputs.comparison import FILES, compare_results, describe, write_comparison
    from escalsim.outputs.comparison_report import summary_lines

    table = compare_results(a, b, pairing=pairing)
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_comparison(a, b, out, table=table, pairing=pairing)
    except (OSError, KeyboardInterrupt) as exc:
        for name in FILES:
            (out / name).unlink(missing_ok=True)
        if removable:
            with contextlib.suppress(OSError):
                out.rmdir()
        again = (f"; both arms are complete: `escalsim compare {a.directory} {b.directory} --out NEW_DIR` writes it "
                 "again")
        if isinstance(exc, KeyboardInterrupt):
            warn(f"\ninterrupted while writing the comparison: no comparison file was kept{again}")
            exit_interrupted()
        fail(f"cannot write the comparison in {out}: {why(exc)}; no comparison file was kept{again}")
    meta = describe(a, b, pairing, table)
    try:
        if not quiet:
            for line in summary_lines(table, meta, a.manifest, top):
                echo(line)
            echo("")
        echo(f"{before}Comparison: {out} ({', '.join(FILES)})")
    except StdoutError as exc:
        stdout_failed(exc.error, f"; the comparison is complete in {out}")
