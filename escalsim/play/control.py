"""The facilitator's commands: one `execute(line)` for the interactive prompt and for scripts alike, the session
file saved (atomically) after every command that changes it."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import shlex
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from escalsim.engine import Model
from escalsim.montecarlo.backends import Backend
from escalsim.play import session as S
from escalsim.play.ahead import FUTURES, Ahead, counts_of, look_ahead
from escalsim.play.game import UMPIRE, Game, Move, MoveError
from escalsim.play.views import ahead_view, log_view, moves_view, team_view, turn_report, umpire_view

MAX_FUTURES = 100_000
_VERBS = {"inject": "takes", "block": "declines", "force": "forces"}


class CommandError(ValueError):
    """A command the table cannot run: the message says what is allowed."""


@dataclass(frozen=True)
class Command:
    """One command of the prompt: its usage line and what it does (the `help` text)."""

    usage: str
    summary: str


COMMANDS: dict[str, Command] = {
    "help": Command("help [COMMAND]", "list the commands, or explain one"),
    "teams": Command("teams", "the teams and the actors each plays"),
    "look": Command("look [TEAM]", "the situation today: the umpire's view (the truth), or what TEAM knows"),
    "moves": Command("moves [TEAM]", "the options of TEAM (all of them for the umpire): possible now, or what "
                                     "each needs, and what it can lead to"),
    "take": Command("take TEAM OPTION [DATE] [-- REASON]", "TEAM takes OPTION on DATE (default: today; a date "
                                                           "within this turn, YYYY-MM-DD or +DAYS)"),
    "decline": Command("decline TEAM OPTION [until DATE] [-- REASON]", "TEAM rules OPTION out from today, until "
                                                                       "DATE (default: for the rest of the game)"),
    "pass": Command("pass TEAM [-- REASON]", "TEAM makes no move this turn (logged)"),
    "force": Command("force OPTION [DATE] -- REASON", "the umpire makes OPTION happen (even if off the table); the "
                                                      "reason is logged"),
    "block": Command("block OPTION [until DATE] -- REASON", "the umpire rules OPTION out from today; the reason is "
                                                            "logged"),
    "ahead": Command("ahead [take|decline] [TEAM OPTION [DATE|until DATE]] [--futures N] [--all]",
                     "run N futures from today (default 2,000 per arm), with and without the move, paired; show "
                     "each track's and the key events' probabilities with 95% intervals"),
    "next": Command("next", "end the turn: play to the next turn's date and show what happened"),
    "log": Command("log", "the moves made on this branch"),
    "note": Command("note TEXT", "add the umpire's note to the log"),
    "branch": Command("branch NAME [TURN]", "fork the game at the start of TURN (default: this turn) into a new "
                                            "branch NAME, and play on it"),
    "branches": Command("branches", "list the branches"),
    "switch": Command("switch NAME", "play on branch NAME"),
    "compare": Command("compare A B", "two branches side by side: their paths, and their look-aheads at the "
                                      "branch point"),
    "quit": Command("quit", "save and leave (the session file can be resumed with escalsim play --resume)"),
}
ALIASES = {"exit": "quit", "status": "look", "view": "look", "situation": "look", "?": "help"}


def now_utc() -> str:
    """The wall-clock time, as logged with every step."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class Table:
    """A session at the table: the session file's contents, the model, a game per branch and the workers
    that run look-aheads (started on the first look-ahead, kept for the session)."""

    session: S.Session
    path: Path | None
    model: Model
    backend: Callable[[], Backend] | None = None
    save: Callable[[S.Session, Path], None] = S.save_session
    _games: dict[str, Game] = field(default_factory=dict)
    _backend: Backend | None = None
    _aheads: dict = field(default_factory=dict)  # the arm without a move, of the current state (play.ahead)
    done: bool = False
    prefetch: bool = False  # compute the arm without a move in the background while the room talks
    _pending: threading.Thread | None = None

    # --- the game of a branch, rebuilt from its log ---------------------------------------------------------
    def game(self, name: str | None = None) -> Game:
        """The game of a branch (default: the current one), replayed from its log once and kept."""
        name = name or self.session.current
        if name not in self._games:
            self._games[name] = replay_branch(self.model, self.session, self.session.branch(name))
        return self._games[name]

    def close(self) -> None:
        """Stop the look-ahead workers (at once if a background look-ahead is running)."""
        if self._backend is not None:
            self._backend.stop(kill=self._pending is not None and self._pending.is_alive())
            self._backend = None
        self._wait()

    def _workers(self) -> Backend | None:
        if self._backend is None and self.backend is not None:
            self._backend = self.backend()
            self._backend.start()
        return self._backend

    def _wait(self) -> None:
        """Let a background look-ahead finish (its result is in the cache)."""
        if self._pending is not None:
            self._pending.join()
            self._pending = None

    def start_prefetch(self) -> None:
        """Start computing, in the background, the futures without a move from the current state, unless they
        are known already: the next `ahead MOVE` then runs only the arm with the move. A failure there is
        ignored: the arm is computed again when asked."""
        game = self.game()
        if self._pending is not None and not self._pending.is_alive():
            self._wait()  # the last one is done: its arm is in the cache
        if not self.prefetch or self.backend is None or game.over or self._pending is not None:
            return
        copy = Game(game.model, game.seed, game.turn_days, game.teams, list(game.moves), game.turn, game.run)
        if (copy.seed, copy.run, copy.day, tuple(copy.moves), FUTURES) in self._aheads:
            return
        backend, cache = self._workers(), self._aheads

        def work() -> None:
            try:
                look_ahead(copy, None, FUTURES, backend, cache=cache)
            except Exception:  # noqa: BLE001 - stopped workers, a closed pool: recomputed on demand
                cache.clear()

        self._pending = threading.Thread(target=work, name="escalsim-prefetch", daemon=True)
        self._pending.start()

    # --- commands -------------------------------------------------------------------------------------------
    def execute(self, line: str) -> list[str]:
        """Run one command line; returns the lines to show. Raises CommandError (bad command, move refused)."""
        try:
            words = shlex.split(line.split(" -- ", 1)[0] if " -- " in line else line)
        except ValueError as exc:
            raise CommandError(f"cannot read the command: {exc}") from None
        reason = line.split(" -- ", 1)[1].strip() if " -- " in line else ""
        if not words:
            return []
        name = ALIASES.get(words[0].lower(), words[0].lower())
        if name not in COMMANDS:
            from escalsim.scenario.conditions import suggest
            hint = suggest(name, list(COMMANDS))
            raise CommandError(f"no command '{words[0]}'" + (f" (did you mean '{hint}'?)" if hint else "")
                               + "; 'help' lists them")
        try:
            out = list(getattr(self, f"_do_{name}")(words[1:], reason))
            if not self.done:
                self.start_prefetch()
            return out
        except CommandError:
            raise
        except ValueError as exc:  # a move refused (MoveError), or an entry the session file would not take
            raise CommandError(str(exc)) from None

    def _save(self) -> None:
        """Save the session file (atomically); a failed write is reported, and the next command tries again."""
        if self.path is None:
            return
        try:
            self.save(self.session, self.path)
        except OSError as exc:
            raise CommandError(f"{exc}; the game goes on in memory and the next command saves it again "
                               "(free some space, or 'quit' and resume from the last saved file)") from None

    def _record(self, entry) -> None:
        """Add an entry to the current branch's log (a `next` ends its turn), then save."""
        self.session.branch(self.session.current).record(entry)
        self._save()


    def _do_help(self, args: list[str], _reason: str) -> Iterator[str]:
        if args:
            name = ALIASES.get(args[0].lower(), args[0].lower())
            if name not in COMMANDS:
                raise CommandError(f"no command '{args[0]}'; 'help' lists them")
            yield f"{COMMANDS[name].usage}\n  {COMMANDS[name].summary}"
            return
        yield "Commands (help COMMAND for one; a reason goes after ' -- '):"
        for c in COMMANDS.values():
            yield f"  {c.usage:58} {c.summary}"

    def _do_teams(self, _args, _reason) -> Iterator[str]:
        s = self.model.scenario
        for team, actors in self.game().teams.items():
            yield f"  {team}: " + ", ".join(f"{a} ({s.actors[a].label})" for a in actors)
        yield f"  {UMPIRE}: the facilitator (sees the truth; can force or block any event, with a reason)"

    def _since(self, game: Game) -> float:
        return max(0.0, game.day - game.turn_days) if game.turn else 0.0

    def _do_look(self, args, _reason) -> Iterator[str]:
        game = self.game()
        if not args or args[0] == UMPIRE:
            yield from umpire_view(game, self._since(game))
        else:
            yield from team_view(game, self._team(game, args[0]), self._since(game))

    def _team(self, game: Game, name: str, umpire: bool = False) -> str:
        if name in game.teams or (umpire and name == UMPIRE):
            return name
        raise CommandError(f"no team '{name}' (teams: {', '.join(game.teams)}"
                           + (f"; and {UMPIRE}" if umpire else "") + ")")

    def _do_moves(self, args, _reason) -> Iterator[str]:
        game = self.game()
        yield from moves_view(game, self._team(game, args[0], umpire=True) if args else UMPIRE)

    def _day(self, game: Game, text: str) -> float:
        """A date (YYYY-MM-DD) or +DAYS from today, as a game day."""
        if text.startswith("+"):
            try:
                return game.day + float(int(text[1:]))
            except ValueError:
                raise CommandError(f"'{text}' is not +DAYS (e.g. +3)") from None
        try:
            date = dt.date.fromisoformat(text)
        except ValueError:
            raise CommandError(f"'{text}' is not a date: write YYYY-MM-DD (e.g. {game.date()}) or +DAYS") from None
        return float((date - self.model.start).days)

    def _parse_move(self, action: str, args: list[str], reason: str, team: str | None = None) -> Move:
        game = self.game()
        if team is None:
            if len(args) < 2:
                raise CommandError(f"usage: {COMMANDS['take' if action == 'inject' else 'decline'].usage}")
            team, args = self._team(game, args[0]), args[1:]
        elif not args:
            raise CommandError(f"usage: {COMMANDS['force' if action == 'force' else 'block'].usage}")
        option, rest = args[0], args[1:]
        day, until = game.day, None
        if action == "block":
            if rest and rest[0] == "until" and len(rest) == 2:
                until = self._day(game, rest[1])
            elif rest:
                raise CommandError("a decline or block runs from today: write 'until DATE', or nothing")
        elif len(rest) == 1:
            day = self._day(game, rest[0])
        elif rest:
            raise CommandError("too many words: a move takes an option and at most a date")
        return Move(team, action, option, day, until, reason)

    def _commit(self, move: Move) -> Iterator[str]:
        game = self.game()
        status = next((o for o in game.options_of(move.team) if o.option == move.option), None)
        if move.action != "block" and status is not None and status.status.startswith("done"):
            spec = game.model.scenario.options.get(move.option)
            if spec is None or not spec.repeatable:
                raise CommandError(f"{move.option} is {status.status}: a one-shot move happens once")
        if move in game.moves:
            raise CommandError("this move is logged already ('log' lists the moves)")
        game.check(move)
        entry = S.MoveEntry(kind="move", turn=game.turn, team=move.team, action=move.action, option=move.option,
                            day=game.date(move.day), until=None if move.until is None else game.date(move.until),
                            reason=move.reason, at=now_utc())  # refused here (e.g. a reason too long) before the game
        game.commit(move)
        self._record(entry)
        yield f"Logged: {move.team} {_VERBS[move.action]} {move.option}" \
              f" on {game.date(move.day)}" + (f" until {game.date(move.until)}" if move.until is not None else "")
        if move.action != "block" and status is not None and not status.possible:
            yield (f"  (today it {status.status}: it happens on that date because {move.team} decided it, whatever "
                   "the model says; a branch from this turn undoes it)")

    def _do_take(self, args, reason):
        return self._commit(self._parse_move("inject", args, reason))

    def _do_decline(self, args, reason):
        return self._commit(self._parse_move("block", args, reason))

    def _do_force(self, args, reason):
        return self._commit(self._parse_move("force", args, reason, team=UMPIRE))

    def _do_block(self, args, reason):
        return self._commit(self._parse_move("block", args, reason, team=UMPIRE))

    def _do_pass(self, args, reason) -> Iterator[str]:
        game = self.game()
        if game.over:
            raise CommandError("the game is over (the horizon is reached): there is no turn to pass")
        if len(args) != 1:
            raise CommandError(f"usage: {COMMANDS['pass'].usage}")
        team = self._team(game, args[0])
        self._record(S.PassEntry(kind="pass", turn=game.turn, team=team, reason=reason, at=now_utc()))
        yield f"Logged: {team} passes this turn"

    def _do_note(self, args, reason) -> Iterator[str]:
        text = " ".join(args) + (f" -- {reason}" if reason else "")
        if not text.strip():
            raise CommandError(f"usage: {COMMANDS['note'].usage}")
        game = self.game()
        self._record(S.NoteEntry(kind="note", turn=game.turn, team=UMPIRE, text=text, at=now_utc()))
        yield "Noted."

    def _do_ahead(self, args, reason) -> Iterator[str]:
        game = self.game()
        if game.over:
            raise CommandError("the game is over (the horizon is reached): there is no future to look at")
        futures, show_all, words = FUTURES, False, []
        it = iter(args)
        for word in it:
            if word == "--all":
                show_all = True
            elif word == "--futures":
                futures = _count(next(it, ""))
            elif word.startswith("--futures="):
                futures = _count(word.split("=", 1)[1])
            else:
                words.append(word)
        move = None
        if words:
            action = "inject"
            if words[0] in ("take", "decline"):
                action = "inject" if words[0] == "take" else "block"
                words = words[1:]
            move = self._parse_move(action, words, reason)
        ahead = self.look_ahead(game, move, futures)
        figure = self._fan(game, ahead)
        self._record(S.AheadEntry(kind="ahead", turn=game.turn, team=move.team if move else UMPIRE,
                               move=None if move is None else S.Move(
                                   action=move.action, option=move.option, day=game.date(move.day),
                                   until=None if move.until is None else game.date(move.until)),
                               futures=futures, seed_key=seed_key(game), result=counts_of(ahead),
                               figure=figure, at=now_utc()))
        yield from ahead_view(game, ahead, limit=None if show_all else 12)
        if figure:
            yield f"  Fan chart: {self.path.parent / figure}"

    def _fan(self, game: Game, ahead: Ahead) -> str | None:
        """Draw the look-ahead's fan chart beside the session file (None without a session file); returns its
        name, relative to the session file's folder."""
        if self.path is None:
            return None
        from escalsim.outputs.ahead_figure import ahead_fan

        n = sum(1 for b in self.session.branches for e in b.log if e.kind == "ahead") + 1
        path = self.path.with_name(f"{self.path.stem}-ahead-{n}.png")
        tracks = [(t.label, t.rung_labels) for t in game.model.tracks]
        dates = [game.date(ahead.day + k) for k in range(ahead.shares[0].shape[2])]
        move = ahead.move
        arms = [("without the move" if move else "as things stand", ahead.shares[0])]
        if move is not None:
            arms.append((f"with: {move.team} {'declines' if move.action == 'block' else 'takes'} {move.option}",
                         ahead.shares[1]))
        title = f"Look-ahead from {game.date()} ({self.session.current}, turn {game.turn + 1})"
        note = (f"{ahead.futures:,} futures per arm from the session's true state; seed {game.seed}; share of "
                "futures on each rung at the end of each day")
        try:
            ahead_fan(path, title, tracks, dates, arms, note)
        except OSError as exc:
            raise CommandError(f"cannot write the fan chart {path}: {exc.strerror or exc}") from None
        return path.name

    def look_ahead(self, game: Game, move: Move | None, futures: int) -> Ahead:
        """A look-ahead on the workers (started on first use), after any background one."""
        self._wait()
        return look_ahead(game, move, futures, self._workers(), cache=self._aheads)

    def _do_next(self, args, _reason) -> Iterator[str]:
        game = self.game()
        start, _end = game.advance()
        self._record(S.NextEntry(kind="next", turn=game.turn - 1, path=path_digest(game), at=now_utc()))
        yield from turn_report(game, start)

    def _do_log(self, _args, _reason) -> Iterator[str]:
        n = len(self.game().moves)
        yield f"Branch {self.session.current}, {n} move{'' if n == 1 else 's'}:"
        yield from log_view(self.game())

    def _do_branch(self, args, _reason) -> Iterator[str]:
        if not 1 <= len(args) <= 2:
            raise CommandError(f"usage: {COMMANDS['branch'].usage}")
        game = self.game()
        turn = game.turn if len(args) == 1 else _count(args[1], "TURN") - 1
        try:
            new = S.fork(self.session, self.session.current, turn, args[0])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.session.branches.append(new)
        self.session.current = new.name
        self._save()
        yield f"Branch {new.name}: forked from {new.origin.branch} at the start of turn {turn + 1}; now playing on it."

    def _do_branches(self, _args, _reason) -> Iterator[str]:
        for b in self.session.branches:
            origin = f" (from {b.origin.branch}, turn {b.origin.turn + 1})" if b.origin else ""
            mark = "*" if b.name == self.session.current else " "
            yield f" {mark} {b.name}: turn {b.turn + 1}{origin}, {sum(1 for e in b.log if e.kind == 'move')} moves"

    def _do_switch(self, args, _reason) -> Iterator[str]:
        if len(args) != 1:
            raise CommandError(f"usage: {COMMANDS['switch'].usage}")
        self._branch_named(args[0])
        self.session.current = args[0]
        self._save()
        yield f"Now playing on branch {args[0]} (turn {self.game().turn + 1}, {self.game().date()})."

    def _branch_named(self, name: str):
        try:
            return self.session.branch(name)
        except (KeyError, ValueError):
            raise CommandError(f"no branch '{name}' (branches: "
                               f"{', '.join(b.name for b in self.session.branches)})") from None

    def _do_compare(self, args, _reason) -> Iterator[str]:
        if len(args) != 2:
            raise CommandError(f"usage: {COMMANDS['compare'].usage}")
        from escalsim.play.compare import compare_branches
        yield from compare_branches(self, self._branch_named(args[0]), self._branch_named(args[1]))

    def _do_quit(self, _args, _reason) -> Iterator[str]:
        self._save()
        self.done = True
        yield "Session saved." if self.path else "Bye."


def _count(text: str, what: str = "--futures") -> int:
    try:
        n = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise CommandError(f"{what} takes a whole number, not '{text}'") from None
    if not 1 <= n <= MAX_FUTURES:
        raise CommandError(f"{what} must be between 1 and {MAX_FUTURES:,}, not {n:,}")
    return n


def seed_key(game: Game) -> str:
    """Where a look-ahead's futures come from: future i is run `run` of `seed` forked today into branch
    'ahead DAY i' (see play.ahead)."""
    return f"seed {game.seed}, run {game.run}, branches 'ahead {game.day:g} 0..N-1'"


def path_digest(game: Game) -> str:
    """A fingerprint of the path revealed so far (every trace event before today): a replay must match it."""
    h = hashlib.sha256()
    for e in game.now.trace or ():
        h.update(repr((round(e.day, 9), e.kind, e.subject, e.text, e.cause)).encode())
    return h.hexdigest()


def replay_branch(model: Model, session: S.Session, branch: S.Branch) -> Game:
    """A branch's game rebuilt from its log: every move checked again, every turn's path compared with the
    fingerprint saved when it was played (ReplayError at the first difference)."""
    game = Game(model, session.seed, float(session.turn_days), {k: list(v) for k, v in session.teams.items()})
    for i, entry in enumerate(branch.log):
        if entry.kind == "move":
            day = float((entry.day - model.start).days)
            until = None if entry.until is None else float((entry.until - model.start).days)
            while game.turn < entry.turn:
                game.advance()
            try:
                game.commit(Move(entry.team, entry.action, entry.option, day, until, entry.reason))
            except MoveError as exc:
                raise ReplayError(branch.name, i, f"the move cannot be replayed: {exc}") from None
        elif entry.kind == "next":
            while game.turn <= entry.turn:
                game.advance()
            if entry.path is not None and entry.path != path_digest(game):
                raise ReplayError(branch.name, i, f"the path up to {game.date()} differs from the one played "
                                  "(another escalsim version, or a changed scenario)")
    while game.turn < branch.turn:
        game.advance()
    return game


class ReplayError(ValueError):
    """A session's log that does not replay: which branch and entry, and why."""

    def __init__(self, branch: str, index: int, message: str):
        super().__init__(f"branch {branch}, log entry {index + 1}: {message}")
        self.branch, self.index = branch, index


def no_nan(x: float) -> float | None:
    """None for NaN (JSON has no NaN)."""
    return None if isinstance(x, float) and math.isnan(x) else x
