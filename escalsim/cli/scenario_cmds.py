"""Commands on scenario files: `validate`, `trace` (one run told day by day) and `schema`."""

from __future__ import annotations

import json
import sys

import click

from escalsim.cli.common import (
    BLOCK_HELP,
    EXIT_INVALID,
    INJECT_HELP,
    OVERRIDE_HELP,
    SET_HELP,
    check_moves_or_fail,
    echo,
    load,
    parse_block,
    parse_injection,
    warn,
    write_file,
)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--strict", is_flag=True, help="Also require a source: on every number (its own, or on the option, "
              "deployment, rung, ... around it; a YAML comment does not count); exit 1 if one has none.")
def validate(files: tuple[str, ...], strict: bool) -> None:
    """Check scenario FILES; print every problem as FILE:LINE:COLUMN: path: message, and warnings about the
    model (a variable nothing reads, an option that reaches nothing or can never fire) as
    FILE:LINE:COLUMN: path: warning: message. Warnings alone leave the exit code at 0.

    \b
    e.g. escalsim validate scenarios/minimal.yaml
         escalsim validate --strict scenarios/dprk_russia_2024.yaml
    """
    from escalsim.errors import ScenarioError
    from escalsim.scenario.lint import lint_file, warning_line

    bad = 0
    for path in files:
        try:
            result = lint_file(path)
        except ScenarioError as exc:
            bad += 1
            for problem in exc.problems:
                warn(str(problem))
            continue
        for problem in result.warnings:
            warn(warning_line(problem))
        if strict and result.strict:
            bad += 1
            for problem in result.strict:
                warn(str(problem))
            continue
        s = result.scenario
        tracks = s.track_specs
        rungs = sum(len(track.rungs) for track in tracks.values())
        shape = f"{rungs} rungs" if len(tracks) == 1 else f"{len(tracks)} tracks, {rungs} rungs"
        echo(f"{path}: ok ({s.name}: {shape}, {len(s.actors)} actors, {len(s.options)} options, "
             f"{len(s.treaties)} treaties, {s.horizon:g} days)")
    if bad:
        warn(f"{bad} of {len(files)} file(s) invalid")
        sys.exit(EXIT_INVALID)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--seed", default=1, show_default=True, type=click.IntRange(0, 2**63 - 1), help="Root seed.")
@click.option("--run", "run_index", default=0, show_default=True, type=click.IntRange(0, 2**63 - 1),
              help="Which run of that seed (run i of a Monte Carlo batch).")
@click.option("--inject", "injections", multiple=True, metavar="EVENT@WHEN", help=INJECT_HELP)
@click.option("--block", "blocks", multiple=True, metavar="EVENT[@FROM..UNTIL]", help=BLOCK_HELP)
@click.option("--override", is_flag=True, help=OVERRIDE_HELP)
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE", help=SET_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON lines instead of text.")
def trace(file: str, seed: int, run_index: int, injections: tuple[str, ...], blocks: tuple[str, ...],
          override: bool, overrides: tuple[str, ...], as_json: bool) -> None:
    """Run FILE once and tell its story day by day, each ladder move with its cause.

    \b
    e.g. escalsim trace scenarios/dprk_russia_2024.yaml --seed 3 --inject seoul_sends_weapons@2024-11-15
         escalsim trace scenarios/dprk_russia_2024.yaml --block washington_allows_deep_strikes@..2025-01-01
    """
    from escalsim.engine import InjectionError, compile_model, simulate
    from escalsim.engine.story import json_lines, story
    from escalsim.engine.world import RunawayError

    scenario = load(file, overrides)
    model = compile_model(scenario)
    forced = [parse_injection(text, scenario, override) for text in injections]
    declined = [parse_block(text, scenario) for text in blocks]
    check_moves_or_fail(scenario, forced, declined)
    try:
        record = simulate(model, seed, run_index, forced, trace=True, blocks=declined)
    except InjectionError as exc:
        raise click.BadParameter(str(exc)) from None
    except RunawayError as exc:
        warn(f"{file}: {exc}")
        sys.exit(EXIT_INVALID)
    for line in (json_lines if as_json else story)(model, record):
        echo(line)


@click.command()
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of stdout (whole or "
              "not at all).")
@click.option("--variant", is_flag=True, help="The schema of a variant file (one with extends:), where every key "
              "is optional because the base supplies it.")
def schema(out: str | None, variant: bool) -> None:
    """Print the JSON Schema of scenario files (for editors: yaml-language-server).

    \b
    e.g. escalsim schema --out scenario.schema.json
    """
    text = schema_text(variant)
    if out:
        write_file(out, text, "the schema")
    else:
        echo(text, nl=False)


def schema_text(variant: bool = False) -> str:
    """The JSON Schema of scenario files, as indented JSON ending in a newline; `variant` drops every
    `required`, for files with extends:."""
    from escalsim.scenario.schema import Scenario

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
