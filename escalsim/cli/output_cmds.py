"""Commands on a results directory: `plot` and `report` (they never simulate)."""

from __future__ import annotations

from pathlib import Path

import click

from escalsim.cli.common import check_output_file, echo, fail, results_or_exit, why


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="events, fan, ladder, first_passage, max_rung, variables, drivers, timeline or all (repeatable) "
                   "[default: all].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Figure folder [default: DIR/figures].")
@click.option("--format", "fmt", default="png", show_default=True, type=click.Choice(["png", "svg", "pdf"]))
@click.option("--run", "run_index", type=click.IntRange(0), help="The run drawn by the timeline [default: the "
              "first traced run].")
def plot(directory: str, kinds: tuple[str, ...], out_dir: str | None, fmt: str, run_index: int | None) -> None:
    """Draw figures from a results DIRECTORY (never re-simulates).

    \b
    e.g. escalsim plot results/dprk --kind fan
    """
    results = results_or_exit(directory, lazy=True)
    folder = Path(out_dir) if out_dir else Path(directory) / "figures"
    if folder.exists() and not folder.is_dir():
        fail(f"cannot write the figures to {folder}: it exists and is not a folder")
    from escalsim.outputs import plots

    try:
        paths = plots.save_all(results, folder, kinds or None, fmt, run_index)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    except OSError as exc:
        fail(f"cannot write the figures in {folder}: {why(exc)}")
    for path in paths:
        echo(str(path))


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option("--out", type=click.Path(dir_okay=False), help="The page to write [default: DIR/report.html].")
def report(directory: str, out: str | None) -> None:
    """Write a self-contained HTML report (figures embedded, no network needed) of a results DIRECTORY.

    \b
    e.g. escalsim report results/dprk
    """
    target = check_output_file(out or Path(directory) / "report.html", "the report", replaceable=True)
    results = results_or_exit(directory, lazy=True)
    from escalsim.outputs.report import write_report

    try:
        written = write_report(results, out)
    except ValueError as exc:
        fail(f"cannot write the report {target}: {exc}")
    except OSError as exc:  # its message may name the report's temporary file: say which page, and why
        fail(f"cannot write the report {target}: {why(exc)}")
    echo(str(written))
