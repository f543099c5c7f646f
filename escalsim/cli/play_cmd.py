"""`escalsim play`: a wargame session at the table, interactive or from a script; resume and replay a session."""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import click

from escalsim.cli.common import EXIT_CODES, EXIT_INVALID, SET_HELP, check_output_file, echo, fail, load, warn

PLAY_HELP = f"""Play a wargame on one run of a scenario, turn by turn.

The umpire (facilitator) drives the session at a prompt: 'look' shows the situation (the truth for the umpire,
'look TEAM' what a team's intelligence knows), 'moves TEAM' the team's options, 'ahead TEAM OPTION' runs 2,000
futures from today with and without the move, 'take'/'decline'/'pass' log the teams' moves, 'next' plays to the
next turn, 'branch' forks the game from a turn, 'help' lists the rest. The session file is saved after every
command: 'escalsim play --resume SESSION' continues it, 'escalsim play --replay SESSION' checks that it
replays to the same path, 'escalsim report --session SESSION' writes the after-action report.

\b
Examples:
  escalsim play scenarios/dprk_russia_2024.yaml --seed 7 --teams seoul=rok,nis --teams kyiv=ukraine
  escalsim play scenarios/dprk_russia_2024.yaml --script scenarios/play/dprk_first_turns.yaml --session game.yaml
  escalsim play --replay game.yaml

A script is a YAML file whose `commands:` list holds the commands as typed, e.g. commands: ["moves seoul",
"ahead seoul seoul_sends_weapons", "take seoul seoul_sends_weapons -- the room agreed", "next"]; it stops at
the first refused command (exit 1).

{EXIT_CODES}"""
MAX_SCRIPT_LINES = 10_000
TURN = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$")


def _turn_days(text: str) -> int:
    m = TURN.match(text)
    if not m or int(m.group(1)) < 1:
        raise click.BadParameter(f"'{text}' is not a turn length: write days (14, 14d) or weeks (2w)")
    return int(m.group(1)) * (7 if m.group(2) == "w" else 1)


@click.command(help=PLAY_HELP)
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--seed", default=1, show_default=True, type=click.IntRange(0, 2**63 - 1),
              help="The seed of the run played.")
@click.option("--turn", "turn", default="14d", show_default=True, metavar="DAYS",
              help="Game time per turn: days (14, 14d) or weeks (2w).")
@click.option("--teams", "teams", multiple=True, metavar="NAME=ACTOR,ACTOR",
              help="A team and the scenario actors it plays (repeatable); default: the scenario's teams:, else one "
                   "team per actor with options or observations.")
@click.option("--session", "session_path", type=click.Path(dir_okay=False),
              help="The session file to write (default: FILE's name with -seed-S.session.yaml, here).")
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE", help=SET_HELP)
@click.option("--script", type=click.Path(dir_okay=False, exists=True),
              help="Run the commands of this YAML list instead of prompting (rehearsal, tests, replay).")
@click.option("--resume", type=click.Path(dir_okay=False, exists=True), metavar="SESSION",
              help="Continue a session file (its scenario, seed, teams and moves).")
@click.option("--replay", type=click.Path(dir_okay=False, exists=True), metavar="SESSION",
              help="Replay a session file: check that every branch reproduces the path played, and print it.")
@click.option("--workers", type=click.IntRange(1, 512), default=None,
              help="Processes for look-ahead futures (default: every core).")
def play(file, seed, turn, teams, session_path, overrides, script, resume, replay, workers) -> None:
    from escalsim.engine import compile_model
    from escalsim.play import session as S
    from escalsim.play.control import Table, now_utc
    from escalsim.play.game import MoveError, parse_teams

    if sum(x is not None for x in (file, resume, replay)) != 1:
        fail("give a scenario FILE to start a session, or --resume SESSION, or --replay SESSION (one of them)", 2)
    source = resume or replay
    if source is not None:
        session, scenario, where = open_session(Path(source), "its moves would not replay to the same path")
        path = Path(source)
    else:
        scenario = load(file, overrides)
        path = Path(session_path) if session_path else Path(f"{Path(file).stem}-seed-{seed}.session.yaml")
        check_output_file(path, "the session file", replaceable=True)
        if path.exists():
            fail(f"{path} exists: continue it with --resume {path}, or give another --session")
        try:
            turn_days = _turn_days(turn)
        except click.BadParameter as exc:
            fail(str(exc.message), 2)
    model = compile_model(scenario)
    if source is None:
        try:
            table_teams = parse_teams(teams, model)
        except MoveError as exc:
            fail(str(exc), 2)
        ref = S.ScenarioRef(path=file, sha256=scenario_digest(scenario), overrides=list(overrides))
        session = S.Session(scenario=ref, seed=seed, turn_days=turn_days, teams=table_teams, created=now_utc(),
                            current="main",
                            branches=[S.Branch(name="main", origin=None, turn=0, log=[])])
    table = Table(session, None if replay else path, model, backend=lambda: _backend(workers))
    if source is not None:
        replay_or_exit(table, session, where)
    if replay:
        _print_replay(table)
        return
    lines = _script_lines(script) if script else None  # a bad script is refused before any file is written
    try:
        if source is None:
            S.save_session(session, path)
        if lines is not None:
            _run_script(table, lines, script)
        else:
            from escalsim.play.prompt import Prompt
            table.prefetch = True
            table.start_prefetch()
            Prompt(table, echo).cmdloop()
    finally:
        table.close()


def _backend(workers):
    from escalsim.montecarlo.backends import backend_for
    return backend_for(None, workers)


def scenario_digest(scenario) -> str:
    """The SHA-256 a session file records of its scenario (of the scenario as loaded, overrides applied)."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()


def open_session(source: Path, consequence: str):
    """(session, scenario) of a session file, or exit 1: the file's located problems, or a scenario changed since
    the session was played (`consequence` says what that would spoil)."""
    from escalsim.errors import ScenarioError
    from escalsim.play.session import load_session

    try:
        session, where = load_session(source)
    except ScenarioError as exc:
        for problem in exc.problems:
            warn(str(problem))
        sys.exit(EXIT_INVALID)
    scenario = load(_scenario_path(session, source), tuple(session.scenario.overrides))
    digest = scenario_digest(scenario)
    if digest != session.scenario.sha256:
        fail(f"{source}: the scenario {session.scenario.path} has changed since the session was played (sha256 "
             f"{digest[:12]}… now, {session.scenario.sha256[:12]}… then): {consequence}; use the scenario file of "
             "the session")
    return session, scenario, where


def replay_or_exit(table, session, where) -> None:
    """Rebuild every branch of a session from its log, or exit 1 at the first entry that does not replay,
    located in the session file (FILE:LINE:COLUMN)."""
    from escalsim.play.control import ReplayError

    for i, branch in enumerate(session.branches):
        try:
            table.game(branch.name)
        except ReplayError as exc:
            file, line, column = where(("branches", i, "log", exc.index))
            fail(f"{file}:{line}:{column}: {exc}")


def _scenario_path(session, source: Path) -> str:
    """The session's scenario: as given when it was started (from here), else beside the session file."""
    given = Path(session.scenario.path)
    if given.exists() or given.is_absolute():
        return str(given)
    beside = source.parent / given
    return str(beside) if beside.exists() else str(given)


def _run_script(table, lines: list[tuple[int, str]], script: str) -> None:
    from escalsim.play.prompt import run_script

    failed = run_script(table, lines, script, echo, warn)
    if failed is not None:
        sys.exit(EXIT_INVALID)


def _script_lines(script: str) -> list[tuple[int, str]]:
    """The commands of a script file (`commands:`, a YAML list of strings), with their line numbers; exit 1 with
    the file's line for anything else."""
    from escalsim.errors import ScenarioError
    from escalsim.scenario.source import Kind, load_yaml

    kind = Kind("a play script", "play scripts", "a play script", "a list of commands under 'commands:'")
    try:
        source = load_yaml(Path(script), kind=kind)
    except ScenarioError as exc:
        for problem in exc.problems:
            warn(str(problem))
        sys.exit(EXIT_INVALID)
    data = source.data
    extra = sorted(set(data) - {"commands"})
    if extra or not isinstance(data.get("commands"), list):
        _file, line, _col = source.where((extra[0],) if extra else ("commands",), key=bool(extra))
        found = f" (found {', '.join(repr(k) for k in extra)})" if extra else ""
        fail(f"{script}:{line}: a play script holds one key, commands: a list of commands as typed at the "
             f"prompt, e.g. commands: [\"moves seoul\", \"next\"]{found}")
    commands = data["commands"]
    if len(commands) > MAX_SCRIPT_LINES:
        fail(f"{script}: {len(commands):,} commands; a script holds at most {MAX_SCRIPT_LINES:,}")
    out = []
    for i, item in enumerate(commands):
        _file, line, _col = source.where(("commands", i))
        if not isinstance(item, str):
            fail(f"{script}:{line}: item {i + 1} is not a command (a string), e.g. \"next\"")
        out.append((line, item))
    return out


def _print_replay(table) -> None:
    from escalsim.play.views import event_line

    for b in table.session.branches:
        game = table.game(b.name)
        origin = f", forked from {b.origin.branch} at turn {b.origin.turn + 1}" if b.origin else ""
        echo(f"Branch {b.name}{origin}: {game.turn} turns to {game.date()}, {len(game.moves)} moves")
        for e in game.happened(0.0):
            echo(event_line(game, e, causes=True))
    echo(f"Replayed {len(table.session.branches)} branch(es): every turn's path is the one played.")
