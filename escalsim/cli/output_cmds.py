"""Commands on a results directory: `plot` and `report` (they never simulate)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from escalsim.cli.common import EXIT_INVALID, results_or_exit


@click.command()
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

    results = results_or_exit(directory)
    try:
        paths = plots.save_all(results, out_dir or Path(directory) / "figures", kinds or None, fmt, run_index)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    except OSError as exc:
        click.echo(f"error: cannot write the figures: {exc}", err=True)
        sys.exit(EXIT_INVALID)
    for path in paths:
        click.echo(str(path))


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--out", type=click.Path(dir_okay=False), help="The page to write [default: DIR/report.html].")
def report(directory: str, out: str | None) -> None:
    """Write a self-contained HTML report (figures embedded, no network needed) of a results DIRECTORY."""
    from escalsim.outputs.report import write_report

    results = results_or_exit(directory)
    try:
        click.echo(str(write_report(results, out)))
    except (ValueError, OSError) as exc:
        click.echo(f"error: cannot write the report: {exc}", err=True)
        sys.exit(EXIT_INVALID)
