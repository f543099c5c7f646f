"""Commands on scenario files: `validate`, `trace` (one run told day by day) and `schema`."""

from __future__ import annotations

import json
import sys

import click

from escalsim.cli.common import EXIT_INVALID, SET_HELP, load, parse_injection
from escalsim.engine import InjectionError, compile_model, simulate
from escalsim.engine.story import json_lines, story
from escalsim.engine.world import RunawayError
from escalsim.errors import ScenarioError
from escalsim.scenario.loader import load_scenario
from escalsim.scenario.schema import Scenario


@click.command()
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


@click.command()
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
    scenario = load(file, overrides)
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


@click.command()
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
    """The JSON Schema of scenario files, as indented JSON ending in a newline; `variant` drops every
    `required`, for files with extends:."""
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



