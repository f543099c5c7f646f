"""Commands on a results directory: `plot` and `report` (they never simulate)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from escalsim.cli.common import check_output_file, echo, fail, results_or_exit, why, write_file


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

    started = time.time()
    try:
        paths = plots.save_all(results, folder, kinds or None, fmt, run_index)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    except OSError as exc:  # each figure is written whole or not at all: say which ones this command wrote
        written = sorted(f.name for f in folder.glob(f"*.{fmt}") if f.stat().st_mtime >= started - 1) \
            if folder.is_dir() else []
        done = f"; written before it, complete: {', '.join(written)}" if written else "; no figure was written"
        fail(f"cannot write the figures in {folder}: {why(exc)}{done}")
    for path in paths:
        echo(str(path))


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, exists=True))
@click.option("--session", "session", type=click.Path(dir_okay=False, exists=True), metavar="SESSION",
              help="A session file of escalsim play: write its after-action report instead (no DIRECTORY).")
@click.option("--out", type=click.Path(dir_okay=False), help="The page to write [default: DIR/report.html; with "
              "--session, the session file's name with -report.html, beside it].")
def report(directory: str | None, session: str | None, out: str | None) -> None:
    """Write a self-contained HTML report (figures embedded, no network needed) of a results DIRECTORY, or the
    after-action report of a play SESSION: each branch's path with its moves, each team's decisions beside what
    it knew and the truth, each look-ahead beside what then happened, the branches compared.

    \b
    e.g. escalsim report results/dprk
         escalsim report --session game.yaml
    """
    if (directory is None) == (session is None):
        fail("give a results DIRECTORY or --session SESSION (one of them), e.g. escalsim report results/dprk, "
             "or escalsim report --session game.yaml", 2)
    if session is not None:
        _session_report(Path(session), out)
        return
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


def _session_report(source: Path, out: str | None) -> None:
    """The after-action report of a session file, beside it by default; exit 1 for a damaged session, a scenario
    changed since the game, a log that does not replay or a page that cannot be written."""
    from escalsim.cli.play_cmd import open_session, replay_or_exit
    from escalsim.engine import compile_model
    from escalsim.play.control import Table
    from escalsim.play.report import render

    target = check_output_file(out or source.with_name(f"{source.stem}-report.html"), "the report",
                               replaceable=True)
    session, scenario, where = open_session(source, "the report would not show the game played")
    model = compile_model(scenario)
    table = Table(session, None, model)
    replay_or_exit(table, session, where)
    page = render(session, model, source, table)
    write_file(target, page, "the report")
    echo(str(target))
