"""The `escalsim` command line: validate scenario files, trace one run, print the JSON Schema."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from escalsim import __version__
from escalsim.engine import InjectionError, compile_model, simulate
from escalsim.errors import ScenarioError
from escalsim.loader import load_scenario
from escalsim.schema import Injection, Scenario
from escalsim.story import json_lines, story

EXIT_INVALID = 1

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
        from escalsim.expr import suggest

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

    Exit codes: 0 success, 1 invalid scenario, 2 bad command-line usage.
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

