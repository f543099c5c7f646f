"""`escalsim play` driven as a facilitator drives it: the real program in a pseudo-terminal (pexpect), through a
short game of two branches: help, moves, the umpire's and a team's views (checked against the session's own Game),
a look-ahead, moves committed and refused, Tab completion, turns played, a branch, the process killed with SIGKILL
and resumed, Ctrl-C at the prompt, quit; then --replay of the session file, and the same game from a --script,
which must give the same log and the same path. Plus the command line's misuse (usage errors, an existing session
file, an unknown actor, a damaged session file).

Timeouts (TIMEOUT seconds per expected answer) only guard against a hang: nothing here asserts wall-clock time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
import pytest

from escalsim.engine import compile_model
from escalsim.play.ahead import stored_rows
from escalsim.play.control import replay_branch
from escalsim.play.game import Game
from escalsim.play.session import AheadEntry, MoveEntry, NextEntry, PassEntry, Session, load_session
from escalsim.scenario.loader import load_scenario

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "dprk_russia_2024.yaml"
TEAMS = ["seoul=rok,nis", "washington=usa,nato,us_intel", "moscow=russia,dprk,belarus", "kyiv=ukraine"]
SEED = "7"
TURN = "4w"  # two turns reach 2024-12-10, when Seoul's estimates of the North Korean troops lag the truth
SESSION = "game.yaml"
TIMEOUT = 120  # seconds per expected answer: a hang guard only (the machine may be loaded)
COLUMNS = 200  # wide enough that readline never wraps or redraws a typed command
START = ["play", str(SCENARIO), "--seed", SEED, "--turn", TURN, *[a for t in TEAMS for a in ("--teams", t)],
         "--session", SESSION, "--workers", "1"]

PROMPT = r"\[([A-Za-z0-9_]+) (\d{4}-\d{2}-\d{2})\] > "
ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[=>])")  # readline's bracketed paste, keypad and meta-key codes
EVENT = re.compile(r"^  \d{4}-\d{2}-\d{2}  ")  # an event line: "  2024-10-15  Washington: ..."

# The game played at the prompt, in order (the kill, the resume and Ctrl-C fall between them): the commands
# that change the session, then again without the refused ones as a --script.
AHEAD = "ahead washington washington_allows_deep_strikes --futures 100"
TAKE = "take washington washington_allows_deep_strikes -- the room agreed"
DECLINE = "decline washington washington_confirms until 2024-12-01 -- wait for proof"
REFUSED = ["take seoul washington_allows_deep_strikes",  # not one of Seoul's options
           "take kyiv kyiv_warns_of_world_war 2025-03-01"]  # a date outside the turn
PASSES = ["pass kyiv -- nothing to add", "pass moscow"]
OTHER = "take seoul seoul_sends_weapons -- the other choice"


def env() -> dict[str, str]:
    """The child's environment: a fixed terminal, and this checkout's escalsim first on the path."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "COLUMNS": str(COLUMNS), "LINES": "50", "TERM": "xterm", "PYTHONPATH": path,
            "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}


def clean(text: str) -> str:
    """Terminal output as plain lines: no escape codes, \\n line ends."""
    return ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "")


def events(text: str) -> list[str]:
    """The event lines of a turn report or a replay."""
    return [line for line in text.splitlines() if EVENT.match(line)]


class Terminal:
    """`escalsim play ARGS` in a pseudo-terminal: run a command, get what it printed before the next prompt."""

    def __init__(self, args: list[str], cwd: Path):
        self.child = pexpect.spawn(sys.executable, ["-m", "escalsim", *args], cwd=str(cwd), env=env(),
                                   encoding="utf-8", timeout=TIMEOUT, dimensions=(50, COLUMNS))
        self.intro = self._answer()

    def _answer(self) -> str:
        """What is printed up to the next prompt; the prompt's branch and date are kept."""
        try:
            self.child.expect(PROMPT)
        except (pexpect.TIMEOUT, pexpect.EOF) as exc:
            tail = clean(str(self.child.before))[-3000:]
            raise AssertionError(f"no prompt ({type(exc).__name__}); the program printed:\n{tail}") from None
        self.branch, self.date = self.child.match.group(1), self.child.match.group(2)
        return clean(self.child.before)

    def run(self, line: str) -> str:
        """Type a command and Enter; its output (the echoed command line removed)."""
        self.child.sendline(line)
        out = self._answer()
        echoed, _, rest = out.partition("\n")
        assert echoed.strip() == line, f"the terminal echoed {echoed!r} for {line!r}"
        return rest

    def waiting_for_a_key(self) -> None:
        """Wait until the program sleeps in readline's select() for a key, so that a signal sent now interrupts
        it. (CPython's readline prints the prompt before it calls select(): a SIGINT in between is only noticed
        at the next key, so a Ctrl-C sent the instant the prompt shows can be held until then.) Linux's /proc
        says where the process sleeps; elsewhere, a pause."""
        proc = Path(f"/proc/{self.child.pid}")
        for _ in range(TIMEOUT * 100):
            try:
                state = (proc / "stat").read_text().rsplit(") ", 1)[1].split()[0]
                where = (proc / "wchan").read_text()
            except (OSError, IndexError):
                break
            if state == "S" and ("poll" in where or "select" in where):
                return
            if state == "S" and where.strip() in ("", "0"):  # the kernel does not say where: a grace period
                break
            time.sleep(0.01)
        time.sleep(0.5)

    def finish(self) -> int | None:
        """Wait for the program to end; its exit status."""
        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus


@dataclass
class Played:
    """What the interactive game showed, and the files it left."""

    folder: Path
    first_prompt: tuple[str, str] = ("", "")
    out: dict[str, str] = field(default_factory=dict)   # a label -> the command's output
    shown: dict[str, list[str]] = field(default_factory=dict)  # a branch -> event lines shown by its `next`s
    committed: list[str] = field(default_factory=list)  # the commands, in order, that a script repeats
    snapshots: dict[str, Path] = field(default_factory=dict)  # the session file at points of the game
    killed_by: int | None = None
    resumed_prompt: tuple[str, str] = ("", "")
    quit_status: int | None = None
    quit_signal: int | None = None


def play(term: Terminal, played: Played, label: str, line: str, script: bool = True) -> str:
    """Run a command at the prompt, keep its output (and the event lines of a `next`)."""
    out = term.run(line)
    played.out[label] = out
    if line == "next":
        played.shown.setdefault(term.branch, []).extend(events(out))
    if script:
        played.committed.append(line)
    return out


def snapshot(played: Played, name: str) -> Path:
    """A copy of the session file as it is now."""
    copy = played.folder / f"snapshot-{name}.yaml"
    shutil.copyfile(played.folder / SESSION, copy)
    played.snapshots[name] = copy
    return copy


@pytest.fixture(scope="module")
def played(tmp_path_factory) -> Played:
    """A short game at the prompt: two turns on main, a branch from turn 1 with another move, the process killed
    (SIGKILL) after an answer, resumed, interrupted with Ctrl-C at the prompt, one more turn, quit."""
    p = Played(tmp_path_factory.mktemp("pty"))
    term = Terminal(START, p.folder)
    p.first_prompt = (term.branch, term.date)
    p.out["intro"] = term.intro
    for label, line in [("help", "help"), ("moves seoul", "moves seoul")]:
        play(term, p, label, line)
    play(term, p, "look seoul start", "look seoul")
    play(term, p, "look start", "look")
    snapshot(p, "start")
    play(term, p, "ahead", AHEAD)
    snapshot(p, "after ahead")

    term.child.send("mov\t")  # Tab completes the command's name
    term.child.expect("moves")
    term.child.sendline(" seoul")
    p.out["tab"] = term._answer()
    p.committed.append("moves seoul")

    play(term, p, "take", TAKE)
    play(term, p, "decline", DECLINE)
    for i, line in enumerate(REFUSED):
        play(term, p, f"refused {i}", line, script=False)
    for i, line in enumerate(PASSES):
        play(term, p, f"pass {i}", line)
    snapshot(p, "turn 1 moves")
    play(term, p, "next 1", "next")
    play(term, p, "next 2", "next")
    play(term, p, "look seoul later", "look seoul")
    play(term, p, "look later", "look")
    snapshot(p, "later")
    play(term, p, "branch", "branch alt 1")
    play(term, p, "other move", OTHER)
    play(term, p, "alt next 1", "next")
    play(term, p, "log before kill", "log", script=False)
    play(term, p, "branches before kill", "branches", script=False)
    snapshot(p, "before kill")
    p.out["prompt before kill"] = f"{term.branch} {term.date}"

    term.child.kill(signal.SIGKILL)  # a closed laptop, a crash: after the answer, mid-session
    term.child.expect(pexpect.EOF)
    term.child.close()
    p.killed_by = term.child.signalstatus

    term = Terminal(["play", "--resume", SESSION, "--workers", "1"], p.folder)
    p.resumed_prompt = (term.branch, term.date)
    play(term, p, "log after resume", "log", script=False)
    play(term, p, "branches after resume", "branches", script=False)
    term.waiting_for_a_key()
    term.child.sendintr()  # Ctrl-C at the prompt
    p.out["ctrl-c"] = term._answer()
    p.out["alive after ctrl-c"] = str(term.child.isalive())
    play(term, p, "alt next 2", "next")
    play(term, p, "log at the end", "log", script=False)
    term.child.sendline("quit")
    p.committed.append("quit")
    p.quit_status = term.finish()
    p.quit_signal = term.child.signalstatus
    return p


@pytest.fixture(scope="module")
def model():
    return compile_model(load_scenario(SCENARIO))


def game_at(model, snapshot: Path, branch: str = "main") -> Game:
    """The session's Game as the program had it when the snapshot was saved, rebuilt in-process."""
    session, _where = load_session(snapshot)
    return replay_branch(model, session, session.branch(branch))


def escalsim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """`escalsim ARGS` without a terminal (stdin empty), its output captured."""
    return subprocess.run([sys.executable, "-m", "escalsim", *args], cwd=cwd, env=env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=TIMEOUT)


def replayed(done: subprocess.CompletedProcess) -> dict[str, list[str]]:
    """The event lines of each branch in `escalsim play --replay`'s output."""
    paths: dict[str, list[str]] = {}
    branch = None
    for line in done.stdout.splitlines():
        m = re.match(r"Branch ([A-Za-z0-9_]+)[:,]", line)
        if m:
            branch = m.group(1)
            paths[branch] = []
        elif EVENT.match(line):
            assert branch is not None, f"an event before any branch: {line!r}"
            paths[branch].append(line)
    return paths


def comparable(session: Session) -> dict:
    """A session without what the wall clock decides: when it was created, each entry's `at`, and how many
    seconds each look-ahead took."""
    data = session.model_dump(mode="json")
    data.pop("created")
    for branch in data["branches"]:
        for entry in branch["log"]:
            entry.pop("at")
            if entry["kind"] == "ahead":
                entry["result"].pop("seconds", None)
    return data


# ------------------------------------------------------------------------------------------- the game at the prompt


def test_the_session_starts_at_the_scenarios_first_day_and_help_lists_the_commands(played):
    """The first prompt names the branch and the scenario's start date; `help` lists every command."""
    assert played.first_prompt == ("main", "2024-10-15")
    assert "'help' lists the commands" in played.out["intro"]
    help_text = played.out["help"]
    for command in ["help", "teams", "look [TEAM]", "moves [TEAM]", "take TEAM OPTION", "decline TEAM OPTION",
                    "pass TEAM", "force OPTION", "block OPTION", "ahead", "next", "log", "note TEXT",
                    "branch NAME", "branches", "switch NAME", "compare A B", "quit"]:
        assert re.search(rf"^  {re.escape(command)}", help_text, re.M), f"help does not list {command!r}"


def test_moves_lists_a_teams_options_with_their_status(played, model):
    """`moves seoul` lists Seoul's options (its actors' only), each with whether it is possible now or what it
    needs, and what it can lead to; Tab completes `mov` to `moves` and gives the same list."""
    out = played.out["moves seoul"]
    assert out.startswith("seoul's options on 2024-10-15:")
    game = game_at(model, played.snapshots["start"])
    options = game.options_of("seoul")
    assert {o.option for o in options} == {"seoul_sends_weapons", "seoul_expands_nonlethal_aid"}
    for o in options:
        assert re.search(rf"^ [* ] {re.escape(o.option)}  \(Seoul\) ", out, re.M)
        assert f"      {o.status}\n" in out
        assert o.status == "possible now" or o.status.startswith("needs: ")
    assert "can lead to:" in out
    assert "washington_allows_deep_strikes" not in out  # another team's option
    typed, _, shown = played.out["tab"].partition("\n")  # what follows the completed "moves"
    assert typed.strip() == "seoul" and shown == out


@pytest.mark.parametrize("when", ["start", "later"])
def test_a_teams_view_shows_its_estimates_never_the_truth(played, model, when):
    """`look seoul` shows what Seoul's intelligence estimates (as Game.estimates says, with when it was learnt),
    never the truth: no 'true now', no true causes, no truth table, and not the true value of a variable it only
    estimates; `look` (the umpire's view) shows the truth (as Game.truth says) and says so. Later in the game
    (2024-12-10) Seoul's estimate lags the true number, so the two views differ in their numbers too."""
    team_view, umpire = played.out[f"look seoul {when}"], played.out[f"look {when}"]
    game = game_at(model, played.snapshots[when])
    assert team_view != umpire
    assert "seoul's view" in team_view.splitlines()[0] and "not the truth" in team_view.splitlines()[0]
    assert "the truth" in umpire.splitlines()[0]
    assert f"— {game.date()} " in team_view.splitlines()[0] and f"— {game.date()} " in umpire.splitlines()[0]
    for leak in ["true now", "[because:", "The truth", "(estimates:", "US intelligence"]:
        assert leak not in team_view, f"Seoul's view shows {leak!r}"

    truth = {label: value for label, value, _seen in game.truth()}
    for label, value, _seen in game.truth():
        assert f"\n  {label}: {value:,.0f}" in umpire
    differ = []
    for label, estimate, learnt in game.estimates("seoul"):
        when_learnt = "since the start" if learnt is None else f"learnt {game.date(learnt)}"
        assert f"\n  {label}: ~{estimate:,.0f} ({when_learnt})" in team_view
        true = truth[label]
        if f"{true:,.0f}" != f"{estimate:,.0f}":
            differ.append(label)
            assert f"\n  {label}: {true:,.0f}" in umpire
            lines = [line for line in team_view.splitlines() if line.startswith(f"  {label}:")]
            assert lines == [f"  {label}: ~{estimate:,.0f} ({when_learnt})"]
            if abs(true) >= 10:
                assert not re.search(rf"(?<![\d,.~])\b{re.escape(f'{true:,.0f}')}(?![\d,])", team_view), \
                    f"Seoul's view shows the true {label} ({true:,.0f})"
    if when == "later":
        assert differ, "by 2024-12-10 Seoul's estimates should lag the truth (seed 7): nothing compared"


def test_ahead_answers_with_the_paired_table_and_logs_it(played):
    """`ahead washington washington_allows_deep_strikes --futures 100` prints each outcome without -> with the
    move and the change by the last date with its 95% interval, draws the fan chart beside the session file, and
    adds the look-ahead (team, move, futures, what was shown) to the session file."""
    out = played.out["ahead"]
    lines = out.splitlines()
    assert lines[0].startswith("Look-ahead from 2024-10-15, with washington takes washington_allows_deep_strikes")
    assert "100 futures per arm, paired" in lines[0]
    assert "change by the last date (95% interval)" in out
    rows = [line for line in lines if "→" in line]
    assert len(rows) >= 5
    cell = r"\d+\.\d → \d+\.\d"
    interval = r"[+-]\d+\.\d \([+-]\d+\.\d to [+-]\d+\.\d\)"
    for row in rows:
        assert re.search(rf"{cell}\s+{interval}$", row), row
    assert any("Washington: allows Ukraine to fire" in row for row in rows)
    figure = re.search(r"Fan chart: (\S+\.png)", out)
    assert figure and Path(figure.group(1)).name == "game-ahead-1.png"
    assert (played.folder / "game-ahead-1.png").stat().st_size > 0

    before, _ = load_session(played.snapshots["start"])
    after, _ = load_session(played.snapshots["after ahead"])
    assert before.branch("main").log == []
    [entry] = after.branch("main").log
    assert isinstance(entry, AheadEntry)
    assert (entry.turn, entry.team, entry.futures, entry.figure) == (0, "washington", 100, "game-ahead-1.png")
    assert (entry.move.action, entry.move.option, str(entry.move.day)) == \
        ("inject", "washington_allows_deep_strikes", "2024-10-15")
    assert entry.result["futures"] == 100 and len(entry.result["marks"]) == 3
    deep = next(rows for rows in stored_rows(entry.result) if rows[0].what.startswith("Washington: allows Ukraine"))
    assert all(len(r.counts) == 3 and r.p_move is not None for r in deep)  # paired counts: without, with, both
    assert deep[-1].diff_low <= deep[-1].diff <= deep[-1].diff_high
    shown = next(row for row in rows if "Washington: allows Ukraine to fire" in row)
    assert f"{100 * deep[-1].p:.1f} → {100 * deep[-1].p_move:.1f}" in shown  # the file gives back what was shown


def test_moves_are_committed_and_a_refused_move_does_not_end_the_game(played):
    """`take`, `decline ... until DATE -- reason` and `pass` are acknowledged and logged with team, date and
    reason; a refused move prints `error:` and why, is not logged, and the next command runs."""
    take = played.out["take"].strip().splitlines()
    assert take[0] == "Logged: washington takes washington_allows_deep_strikes on 2024-10-15"
    assert take[1:] == [] or "because washington decided it, whatever the model says" in take[1]
    assert played.out["decline"].strip() == \
        "Logged: washington declines washington_confirms on 2024-10-15 until 2024-12-01"
    assert played.out["refused 0"].startswith("error: seoul has no option 'washington_allows_deep_strikes'")
    assert played.out["refused 1"].startswith("error: a move this turn is dated 2024-10-15 to ")
    assert played.out["pass 0"].strip() == "Logged: kyiv passes this turn"
    assert played.out["pass 1"].strip() == "Logged: moscow passes this turn"

    session, _ = load_session(played.snapshots["turn 1 moves"])
    log = session.branch("main").log
    assert [type(e) for e in log] == [AheadEntry, MoveEntry, MoveEntry, PassEntry, PassEntry]
    take, decline, kyiv, moscow = log[1:]
    assert (take.team, take.action, take.option, str(take.day), take.reason) == \
        ("washington", "inject", "washington_allows_deep_strikes", "2024-10-15", "the room agreed")
    assert (decline.team, decline.action, decline.option, str(decline.until), decline.reason) == \
        ("washington", "block", "washington_confirms", "2024-12-01", "wait for proof")
    assert (kyiv.team, kyiv.reason, moscow.team, moscow.reason) == ("kyiv", "nothing to add", "moscow", "")


def test_next_reveals_the_turn_and_a_branch_plays_another_move(played):
    """Each `next` moves the date on a turn and shows what happened with true causes (the move taken among
    them); `branch alt 1` forks from the first turn and plays on it, where the other move changes the path."""
    first, second = played.out["next 1"], played.out["next 2"]
    assert first.startswith("Turn 2 — 2024-11-12 ") and second.startswith("Turn 3 — 2024-12-10 ")
    assert "[because: injected decision for 2024-10-15 (day 0)]" in first
    assert "Washington: allows Ukraine to fire US long-range missiles into Russia" in first
    assert played.out["branch"].strip() == \
        "Branch alt: forked from main at the start of turn 1; now playing on it."
    other = played.out["other move"].strip().splitlines()
    assert other[0] == "Logged: seoul takes seoul_sends_weapons on 2024-10-15"
    assert "today it needs: happened('kyiv_asks_seoul_for_weapons')" in other[1]  # taken though not possible yet
    assert "because seoul decided it" in other[1]
    alt = played.out["alt next 1"]
    assert alt.startswith("Turn 2 — 2024-11-12 ")
    assert "Seoul: supplies weapons to Ukraine" in alt
    assert events(alt) != events(first)
    assert played.shown["main"] and played.shown["alt"]


def test_a_killed_session_resumes_where_it_was_with_nothing_lost(played):
    """After SIGKILL (after an answer), `--resume` continues on the same branch and date; `log` and `branches`
    say the same, every entry saved before the kill is in the final file, unchanged; Ctrl-C at the prompt says
    how to leave and the session goes on; `quit` ends with exit status 0."""
    assert played.killed_by == signal.SIGKILL
    assert played.resumed_prompt == ("alt", "2024-11-12")
    assert f"{played.resumed_prompt[0]} {played.resumed_prompt[1]}" == played.out["prompt before kill"]
    assert played.out["log after resume"] == played.out["log before kill"]
    assert "seoul: takes seoul_sends_weapons  — the other choice" in played.out["log after resume"]
    assert played.out["branches after resume"] == played.out["branches before kill"]

    assert "interrupted" in played.out["ctrl-c"] and "'quit' leaves" in played.out["ctrl-c"]
    assert played.out["alive after ctrl-c"] == "True"
    assert played.out["alt next 2"].startswith("Turn 3 — 2024-12-10 ")
    assert (played.quit_status, played.quit_signal) == (0, None)

    before, _ = load_session(played.snapshots["before kill"])
    after, _ = load_session(played.folder / SESSION)
    assert after.current == before.current == "alt"
    assert after.branch("main") == before.branch("main")
    old, new = before.branch("alt").log, after.branch("alt").log
    assert new[:len(old)] == old and isinstance(new[len(old)], NextEntry) and after.branch("alt").turn == 2


@pytest.fixture(scope="module")
def replay(played) -> subprocess.CompletedProcess:
    return escalsim("play", "--replay", SESSION, cwd=played.folder)


def test_replay_prints_every_branch_and_the_path_played(played, replay):
    """`escalsim play --replay` exits 0 and prints each branch's path: event for event, what the `next`s of the
    interactive session showed on that branch (across the kill and the resume)."""
    assert replay.returncode == 0, replay.stderr
    assert "Traceback" not in replay.stderr
    assert "Branch main: 2 turns to 2024-12-10" in replay.stdout
    assert "Branch alt, forked from main at turn 1: 2 turns to 2024-12-10" in replay.stdout
    assert replayed(replay) == played.shown


# ----------------------------------------------------------------------------------------- the same game from a script


@pytest.fixture(scope="module")
def scripted(played, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The interactive game's commands (the refused ones left out) as a --script, in another folder."""
    folder = tmp_path_factory.mktemp("script")
    listed = "".join(f"  - {json.dumps(line)}\n" for line in played.committed)
    (folder / "moves.yaml").write_text("commands:\n" + listed, encoding="utf-8")
    return folder, escalsim(*START, "--script", "moves.yaml", cwd=folder)


def test_a_scripted_session_gives_the_same_log_and_path(played, scripted, replay):
    """The same commands from `--script` exit 0, leave the same session (every move, pass, look-ahead with its
    numbers, turn end with its path fingerprint, branch), wall-clock fields aside, show the same events after each
    `next`, and replay to the same paths."""
    folder, done = scripted
    assert done.returncode == 0, done.stderr
    assert "error:" not in done.stdout and "Traceback" not in done.stderr
    interactive, _ = load_session(played.folder / SESSION)
    script, _ = load_session(folder / SESSION)
    assert comparable(script) == comparable(interactive)

    shown: dict[str, list[str]] = {}
    branch, command = "main", ""
    for line in done.stdout.splitlines():
        m = re.match(PROMPT + "(.*)$", line)
        if m:
            branch, command = m.group(1), m.group(3)
        elif command == "next" and EVENT.match(line):
            shown.setdefault(branch, []).append(line)
    assert shown == played.shown

    again = escalsim("play", "--replay", SESSION, cwd=folder)
    assert again.returncode == 0, again.stderr
    assert again.stdout == replay.stdout


# ---------------------------------------------------------------------------------------------------------- misuse


def test_play_without_a_file_or_a_session_is_a_usage_error(tmp_path):
    """No FILE and no --resume: exit 2 and a message saying what to give."""
    done = escalsim("play", cwd=tmp_path)
    assert done.returncode == 2
    assert "error: give a scenario FILE" in done.stderr and "--resume" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_existing_session_file_is_not_overwritten(tmp_path):
    """--session naming a file that exists: exit 1, the file untouched, and the message says to --resume it."""
    (tmp_path / SESSION).write_text("precious\n", encoding="utf-8")
    done = escalsim(*START, cwd=tmp_path)
    assert done.returncode == 1
    assert f"--resume {SESSION}" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / SESSION).read_text(encoding="utf-8") == "precious\n"


def test_a_team_with_an_unknown_actor_is_a_usage_error(tmp_path):
    """--teams with an actor the scenario does not have: exit 2, naming it and the scenario's actors."""
    done = escalsim("play", str(SCENARIO), "--teams", "seoul=rok,atlantis", "--session", SESSION, cwd=tmp_path)
    assert done.returncode == 2
    assert "atlantis" in done.stderr
    for actor in ["rok", "nis", "usa", "russia", "dprk", "ukraine"]:
        assert re.search(rf"\b{actor}\b", done.stderr.split("actors", 1)[-1]), actor
    assert "Traceback" not in done.stderr
    assert not (tmp_path / SESSION).exists()


def test_a_damaged_session_file_is_refused_at_its_line(played, tmp_path):
    """A session file cut short (a crash of another program, a bad copy) on --resume: exit 1, FILE:LINE and what
    is wrong, no traceback."""
    text = (played.folder / SESSION).read_text(encoding="utf-8")
    cut = text[:text.index('"nothing to add"') + 8]  # inside a quoted reason: the file ends mid-string
    (tmp_path / SESSION).write_text(cut, encoding="utf-8")
    line = cut.count("\n") + 1
    done = escalsim("play", "--resume", SESSION, "--workers", "1", cwd=tmp_path)
    assert done.returncode == 1
    assert re.search(rf"^{re.escape(SESSION)}:{line}:\d+: ", done.stderr, re.M), done.stderr
    assert "Traceback" not in done.stderr


def test_a_hand_edited_move_is_refused_at_its_line(played, tmp_path):
    """A session file whose move was edited by hand into an option its team does not have (valid YAML, a valid
    session, a move the game refuses) on --resume: exit 1, FILE:LINE of that move, no traceback."""
    text = (played.folder / SESSION).read_text(encoding="utf-8")
    edited = text.replace("option: seoul_sends_weapons", "option: seoul_sends_nukes")
    assert edited != text
    (tmp_path / SESSION).write_text(edited, encoding="utf-8")
    line = edited[:edited.index("seoul_sends_nukes")].count("\n") + 1
    done = escalsim("play", "--resume", SESSION, "--workers", "1", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "seoul_sends_nukes" in done.stderr
    assert re.search(rf"{re.escape(SESSION)}:{line}\b", done.stderr), done.stderr
