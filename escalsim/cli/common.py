"""What the commands share: exit codes, loading a scenario or a results directory with errors printed, moves
parsed from the command line, and the progress bar."""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from collections.abc import Callable, Iterator

import click

from escalsim.errors import ScenarioError
from escalsim.scenario.loader import load_scenario
from escalsim.scenario.schema import Injection, Scenario

EXIT_INVALID = 1
EXIT_INTERRUPTED = 130

SET_HELP = "Override a value of the file, e.g. --set deployments.dprk_to_russia.flow.cap=15000 (repeatable)."


def load(path: str, overrides: tuple[str, ...] = ()) -> Scenario:
    """Load or exit 1 with every problem printed as FILE:LINE:COLUMN: path: message."""
    try:
        return load_scenario(path, overrides)
    except ScenarioError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(EXIT_INVALID)


def parse_injection(text: str, scenario: Scenario) -> Injection:
    """'option@2024-11-15' or 'option@30' (a day number) -> Injection.

    Raises click.BadParameter for another form, an unknown option, or a day outside the scenario."""
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


def results_or_exit(directory: str):
    """The Results of a complete results directory, or exit 1 with the ResultsError printed on stderr."""
    from escalsim.montecarlo.files import ResultsError
    from escalsim.montecarlo.results import load_results

    try:
        return load_results(directory)
    except ResultsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INVALID)




@contextlib.contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int, float], None] | None]:
    """A click progress bar (runs done, runs/s, time left) as a Progress callback, on stderr: stdout keeps
    only the summary, for a pipe or a file."""
    if not enabled:
        yield None
        return
    state: dict = {}

    def update(done: int, total: int, rate: float) -> None:
        bar = state.get("bar")
        if bar is None or state["total"] != total:
            if bar is not None:
                bar.render_finish()
            bar = state["bar"] = click.progressbar(length=total, label=label, show_eta=True, show_pos=True,
                                                   item_show_func=lambda item: item,
                                                   file=sys.stderr)  # looked up now: CliRunner swaps it
            state["total"], state["done"] = total, 0
        bar.current_item = f"{rate:,.0f} runs/s"
        bar.update(done - state["done"])
        state["done"] = done

    try:
        yield update
    finally:
        if state.get("bar") is not None:
            state["bar"].render_finish()


