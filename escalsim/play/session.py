"""The session file of `escalsim play`: what a game was played on, and every step of every branch, in order.

A session file is YAML (a `.json` file is read by the same loader and written as JSON) holding a format marker, the
scenario (its path as given, the SHA-256 of its canonical content and the `--set` overrides), the seed, the turn
length, the teams (team -> actor ids), when the session was created, the current branch, and per branch its origin
(the branch and turn it was forked from), the turns it has ended and its log: moves, passes, look-aheads, turn ends
and notes, each with its team and wall-clock time.

It is read as safely as a scenario (`escalsim.scenario.source`: bounded size, no tags, few aliases, bounded
nesting) and every problem is a ScenarioError located at FILE:LINE:COLUMN. What depends on the scenario (option
and actor ids, days within the horizon) is checked by the game, which locates it with the `where` function that
`load_session` returns. It is written atomically (`save_session`): a crash or a full disk leaves the previous file.
Every string and list is bounded (the MAX_ constants below say how far, and why).
"""

from __future__ import annotations

import datetime as dt
import json
import numbers
import re
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, BinaryIO, Literal, Union

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    StringConstraints,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from escalsim import __version__
from escalsim.errors import Problem, ScenarioError, format_path, shown
from escalsim.montecarlo.files import atomic
from escalsim.scenario.conditions import suggest
from escalsim.scenario.loader import ID_PATTERN, ID_RULE, pydantic_problems
from escalsim.scenario.names import Date, Id, OptionRef, Text
from escalsim.scenario.source import Kind, Source, load_yaml, read_text

__all__ = ["FORMAT", "FORMATS", "MAX_BYTES", "UMPIRE", "AheadEntry", "Branch", "Entry", "Move", "MoveEntry",
           "NextEntry", "NoteEntry", "Origin", "PassEntry", "ScenarioRef", "Session", "Where", "fork", "load_session",
           "now", "problems", "save_session"]

FORMAT = "escalsim-session/1"
FORMATS = (FORMAT,)  # the formats this escalsim reads
UMPIRE = "umpire"  # the team name of the umpire (white cell): it forces and blocks events, with a reason

# Bounds: the file is untrusted input (it travels to researchers and is edited by hand), so every string and list
# is bounded, well above what a session needs: a three-hour game logs a few hundred entries in a few hundred kB.
MAX_BYTES = 5_000_000  # the file; larger is refused before it is parsed
MAX_TURN = 36_525  # a turn lasts at least a day, and a scenario's horizon is at most 36,525 days
MAX_SEED = 2**63 - 1  # as `escalsim run --seed`
MAX_TEAMS = 20  # teams at a table (three or four in practice)
MAX_ACTORS = 200  # actors of one team
MAX_BRANCHES = 200  # branches of one session
MAX_LOG = 20_000  # entries in one branch's log: room for long scripted rehearsals, bounded memory and save time
MAX_OVERRIDES = 200  # --set overrides of the scenario
MAX_FUTURES = 10_000_000  # futures of one look-ahead (2,000 per arm is the target)
MAX_RESULT_VALUES = 10_000  # numbers, strings and collections in one look-ahead's result
MAX_RESULT_DEPTH = 8  # nesting of a look-ahead's result (track -> checkpoint -> quantiles is 3)
MAX_KEY = 200  # characters of a key in a look-ahead's result
MAX_PATH = 4096  # characters of a file path (PATH_MAX on Linux)

SESSION = Kind("a session file", "session files", "a session file",
               f"at least format: {FORMAT}, scenario, seed, turn_days, teams, created, current and branches",
               MAX_BYTES)

HEADER = f"""\
# An escalsim play session ({FORMAT}): the scenario and seed it is played on, the teams, and per branch every
# move, look-ahead and turn end, in order. escalsim rewrites it after every command.
#   continue it:                       escalsim play --resume FILE
#   replay it (the same path exactly): escalsim play --replay FILE
"""

Where = Callable[[tuple], tuple[str, int, int]]
"""The position (file, line, column) of the value at a path such as ("branches", 0, "log", 5, "option") in the
file a session was read from; a path that is not in the file gives the nearest enclosing value's."""


def now() -> dt.datetime:
    """The current UTC time, to the second: the wall-clock time of an entry or of a session's creation."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


# ---------------------------------------------------------------------------------------------------- field types


def _moment(value):
    """A wall-clock time is a datetime or an ISO 8601 text, never a number (pydantic would read a Unix time)."""
    if isinstance(value, dt.datetime):  # ruamel's TimeStamp (an unquoted time in YAML) as a plain datetime
        return dt.datetime(*value.timetuple()[:6], value.microsecond, tzinfo=value.tzinfo)
    if not isinstance(value, str):
        raise ValueError(f"expected a time written YYYY-MM-DDTHH:MM:SSZ (UTC), not {value!r}")
    return value


def _sha256(value: str) -> str:
    """A SHA-256 as written: 64 lower-case hex digits."""
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError(f"expected the scenario's SHA-256: 64 lower-case hex digits, not {shown(value)}")
    return value


def _relative(value: str) -> str:
    """A figure is a relative path below the session's folder: the file travels, and must not point elsewhere."""
    parts = PurePosixPath(value).parts
    if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value) or ".." in parts or "\\" in value:
        raise ValueError(f"expected a relative path written with / and no '..' (e.g. figures/ahead-3.png), "
                         f"not {value!r}")
    return value


def _result(value: dict) -> dict:
    """A look-ahead's result as plain data (mappings, lists, finite numbers, strings, true/false, null), bounded."""
    budget = [MAX_RESULT_VALUES]
    return _result_value(value, (), budget)


def _result_value(value, path: tuple, budget: list[int]):
    """`value` with tuples as lists and numpy-like numbers as int and float; ValueError naming the path inside."""
    budget[0] -= 1
    where = f" (at {format_path(path)})" if path else ""
    if budget[0] < 0 or len(path) > MAX_RESULT_DEPTH:
        raise ValueError(f"a result holds at most {MAX_RESULT_VALUES:,} values, nested at most "
                         f"{MAX_RESULT_DEPTH} deep{where}")
    if isinstance(value, dict):
        return {_key(k, path): _result_value(v, path + (k,), budget) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_result_value(v, path + (i,), budget) for i, v in enumerate(value)]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) <= 4000:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and abs(float(value)) < float("inf"):
        return float(value)
    quote = " (quote a date to keep it as text)" if isinstance(value, dt.date) else ""
    value = f"the date {value}" if isinstance(value, dt.date) else shown(value)
    raise ValueError(f"{value}{where} cannot be in a result: it holds mappings, lists, finite numbers, texts "
                     f"of at most 4,000 characters, true, false and null{quote}")


def _key(key, path: tuple) -> str:
    """A key of a look-ahead's result: a short text."""
    if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY:
        raise ValueError(f"a key of a result is a text of 1 to {MAX_KEY} characters, not {key!r}"
                         + (f" (at {format_path(path)})" if path else ""))
    return key


Int = Annotated[int, Strict()]  # true, 3.0 and "3" are refused, not read as 1 and 3
Turn = Annotated[Int, Field(ge=0, le=MAX_TURN, description="a turn, counted from 0: how many turns had ended")]
Moment = Annotated[AwareDatetime, BeforeValidator(_moment),
                   Field(description="a wall-clock time with its time zone, e.g. 2026-11-28T11:30:00Z")]
Team = Annotated[Id, Field(description=f"a team of teams:, or {UMPIRE}")]
Reason = Annotated[Text, Field(description=f"why (required for the {UMPIRE}'s moves)")]
Sha256 = Annotated[str, AfterValidator(_sha256),
                   Field(description="SHA-256 of the scenario's canonical content: 64 lower-case hex digits")]
Figure = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PATH), AfterValidator(_relative),
                   Field(description="the look-ahead's figure: a path relative to the session file's folder")]
Result = Annotated[dict[str, Any], AfterValidator(_result),
                   Field(description="what the look-ahead showed: mappings, lists, numbers and strings")]
Action = Annotated[Literal["inject", "force", "block"], Field(description="inject, force (the umpire only) or block")]
Option = Annotated[OptionRef, Field(description="an option of the scenario, or a treaty obligation treaty.party")]
Day = Annotated[Date, Field(description="the day it is made (a block: the first day blocked)")]
Until = Annotated[Date | None, Field(description="a block's last day; none: to the horizon")]


# --------------------------------------------------------------------------------------------------------- models


class Record(BaseModel):
    """Base of the session's models: unknown keys are errors, assignments are validated, and an optional field
    left empty (None) is not written, so the file shows what was said."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_serializer(mode="wrap")
    def _without_empty(self, handler):
        data = handler(self)
        fields = type(self).model_fields
        return {k: v for k, v in data.items() if v is not None or k not in fields or fields[k].is_required()}


def _check_until(cls, until: dt.date | None, info: ValidationInfo) -> dt.date | None:
    """`until` belongs to a block, and ends after the day the block starts."""
    if until is None:
        return until
    if info.data.get("action", "block") != "block":
        raise ValueError(f"until is only for action: block (a block lasts from day until until); "
                         f"{info.data['action']} happens on its day")
    day = info.data.get("day")
    if day is not None and until <= day:
        raise ValueError(f"until ({until}) must be after day ({day}): the block lasts from day until until")
    return until


class Move(Record):
    """A move: inject an option (a team's actor takes it on `day` if it can), force it (the umpire: it happens on
    `day`, whatever the model says), or block it from `day` (until `until`, or to the horizon)."""

    action: Action
    option: Option
    day: Day
    until: Until = None

    _until = field_validator("until")(_check_until)


class MoveEntry(Record):
    """A move committed by a team, or by the umpire with a reason."""

    kind: Literal["move"] = "move"
    turn: Turn
    team: Team
    action: Action
    option: Option
    day: Day
    until: Until = None
    reason: Reason = Field("", validate_default=True)
    at: Moment

    _until = field_validator("until")(_check_until)

    @field_validator("reason")
    @classmethod
    def _umpire_says_why(cls, reason: str, info: ValidationInfo) -> str:
        if info.data.get("team") == UMPIRE and not reason.strip():
            raise ValueError(f"the {UMPIRE}'s move needs a reason (e.g. reason: \"the room agrees\"): the "
                             "log says why the model was overridden")
        return reason

    def move(self) -> Move:
        """The move itself, without who, when and why."""
        return Move(action=self.action, option=self.option, day=self.day, until=self.until)


class PassEntry(Record):
    """A team that commits nothing this turn."""

    kind: Literal["pass"] = "pass"
    turn: Turn
    team: Team
    reason: Reason = ""
    at: Moment


class AheadEntry(Record):
    """A look-ahead shown to the room: futures from the turn's state, with and without `move` (none: the
    futures as they stand), and what was shown."""

    kind: Literal["ahead"] = "ahead"
    turn: Turn
    team: Team
    move: Move | None = Field(description="the move looked at; null: no move")
    futures: Int = Field(ge=1, le=MAX_FUTURES, description="futures per arm")
    seed_key: str = Field(min_length=1, max_length=200, description="what the futures' random streams derive from")
    result: Result
    figure: Figure | None = None
    at: Moment


class NextEntry(Record):
    """The end of turn `turn`: the world advanced to the next turn date."""

    kind: Literal["next"] = "next"
    turn: Turn
    path: Sha256 | None = Field(None, description="sha256 of the path revealed when the turn ended (every event "
                                                  "before the new turn date): a replay must give the same")
    at: Moment


class NoteEntry(Record):
    """A note for the record (e.g. the umpire's ruling, a team's intent)."""

    kind: Literal["note"] = "note"
    turn: Turn
    team: Team
    text: Text = Field(min_length=1)
    at: Moment


KINDS = {"move": MoveEntry, "pass": PassEntry, "ahead": AheadEntry, "next": NextEntry, "note": NoteEntry}


class _UnknownKind(Record):
    """Stands for a log entry without a known kind, to say which kinds there are."""

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, data):
        kind = data.get("kind") if isinstance(data, dict) else None
        allowed = "; allowed: " + ", ".join(KINDS)
        if kind is None:
            raise ValueError("a log entry needs a kind" + allowed)
        hint = suggest(str(kind), KINDS)
        raise ValueError(f"unknown kind {kind!r}" + (f" (did you mean '{hint}'?)" if hint else "") + allowed)


def _kind_of(value) -> str | None:
    """The tag of a log entry: its kind, or 'unknown-kind'; None (not a mapping) is pydantic's error."""
    if isinstance(value, dict):
        return value.get("kind") if value.get("kind") in KINDS else "unknown-kind"
    return getattr(value, "kind", None)


Entry = Annotated[
    Union[  # noqa: UP007 - each member tagged
        Annotated[MoveEntry, Tag("move")],
        Annotated[PassEntry, Tag("pass")],
        Annotated[AheadEntry, Tag("ahead")],
        Annotated[NextEntry, Tag("next")],
        Annotated[NoteEntry, Tag("note")],
        Annotated[_UnknownKind, Tag("unknown-kind")],
    ],
    Discriminator(_kind_of, custom_error_type="log_entry",
                  custom_error_message="a log entry is a mapping with kind: " + ", ".join(KINDS)),
]


class Origin(Record):
    """Where a branch was forked: at the start of turn `turn` of branch `branch`, sharing its earlier turns."""

    branch: Id
    turn: Turn


class Branch(Record):
    """One line of play: its origin, the turns it has ended, and its log in order."""

    name: Id
    origin: Origin | None = Field(description="the branch and turn it was forked from; null: played from the start")
    turn: Turn = Field(description="turns ended (the log's next entries); the game date is start + turn * turn_days")
    log: list[Entry] = Field(default_factory=list, max_length=MAX_LOG)

    def moves(self) -> list[MoveEntry]:
        """The moves committed, in order."""
        return [entry for entry in self.log if isinstance(entry, MoveEntry)]

    def record(self, entry: MoveEntry | PassEntry | AheadEntry | NextEntry | NoteEntry) -> None:
        """Append an entry of the current turn; a NextEntry ends the turn. ValueError for another turn's entry."""
        if entry.turn != self.turn:
            raise ValueError(f"branch '{self.name}' is in turn {self.turn}; an entry of turn {entry.turn} "
                             "cannot be added")
        if len(self.log) >= MAX_LOG:
            raise ValueError(f"branch '{self.name}' has {MAX_LOG:,} entries, the most a branch holds; fork it")
        self.log.append(entry)
        if isinstance(entry, NextEntry):
            self.turn += 1


class ScenarioRef(Record):
    """The scenario played: its path as given, the hash of its canonical content, and the --set overrides."""

    path: str = Field(min_length=1, max_length=MAX_PATH, description="the scenario file, as given on the command line")
    sha256: Sha256
    overrides: list[Annotated[Text, Field(min_length=1)]] = Field(
        default_factory=list, max_length=MAX_OVERRIDES, description="--set path=value overrides, in order")


class Session(Record):
    """A game: what it is played on, the teams, and its branches (the first one played from the start)."""

    format: Literal["escalsim-session/1"] = Field(FORMAT, description="the session file format")
    scenario: ScenarioRef
    seed: Int = Field(ge=0, le=MAX_SEED)
    turn_days: Int = Field(ge=1, le=MAX_TURN, description="game days per turn")
    teams: dict[Id, Annotated[list[Id], Field(min_length=1, max_length=MAX_ACTORS)]] = Field(
        min_length=1, max_length=MAX_TEAMS, description="each team's actors (ids of the scenario's actors)")
    created: Moment
    current: Id = Field(description="the branch being played")
    branches: list[Branch] = Field(min_length=1, max_length=MAX_BRANCHES)

    def branch(self, name: str | None = None) -> Branch:
        """The branch called `name` (the current one by default); ValueError naming the branches if none is."""
        name = self.current if name is None else name
        for branch in self.branches:
            if branch.name == name:
                return branch
        raise ValueError(f"no branch '{name}'; the branches are: " + ", ".join(b.name for b in self.branches))


# ------------------------------------------------------------------------------- checks across the whole session


def problems(session: Session) -> list[tuple[tuple, str]]:
    """What is inconsistent within a session, as (path, message): a team that does not exist, an actor in two
    teams, a log whose turns do not add up, a branch forked from nowhere or whose shared turns were edited."""
    found = [*_team_problems(session), *_branch_problems(session)]
    if found:  # an entry wrong in a parent is also a difference in its forks: say it once
        return found
    return [problem for i in range(len(session.branches)) for problem in _fork_problems(session, i)]


def _team_problems(session: Session) -> Iterator[tuple[tuple, str]]:
    owner: dict[str, str] = {}
    for team, actors in session.teams.items():
        if team == UMPIRE:
            yield ("teams", team), f"'{UMPIRE}' is the umpire's name, not a team's: name the team otherwise"
        for i, actor in enumerate(actors):
            if actor in owner:
                yield ("teams", team, i), f"actor '{actor}' is already in team '{owner[actor]}': an actor plays " \
                                          "for one team"
            owner.setdefault(actor, team)


def _branch_problems(session: Session) -> Iterator[tuple[tuple, str]]:
    names = [branch.name for branch in session.branches]
    if session.current not in names:
        yield ("current",), f"no branch '{session.current}'; the branches are: " + ", ".join(names)
    for i, branch in enumerate(session.branches):
        if branch.name in names[:i]:
            yield ("branches", i, "name"), f"a second branch called '{branch.name}': branch names are unique"
        yield from _origin_problems(session, i)
        yield from _log_problems(session, i)


def _parent(session: Session, i: int) -> tuple[int, Branch] | None:
    """The index and branch that branch i was forked from, if it is listed before it."""
    origin = session.branches[i].origin
    earlier = [b.name for b in session.branches[:i]]
    if origin is None or origin.branch not in earlier:
        return None
    j = earlier.index(origin.branch)
    return j, session.branches[j]


def _origin_problems(session: Session, i: int) -> Iterator[tuple[tuple, str]]:
    branch, here = session.branches[i], ("branches", i)
    if branch.origin is None:
        return
    found = _parent(session, i)
    if found is None:
        earlier = ", ".join(b.name for b in session.branches[:i])
        yield here + ("origin", "branch"), (f"no branch '{branch.origin.branch}' before this one to fork from (a "
                                            f"fork is listed after its parent); earlier: {earlier}")
        return
    parent, turn = found[1], branch.origin.turn
    if turn > parent.turn:
        yield here + ("origin", "turn"), (f"branch '{parent.name}' has ended {_turns(parent.turn)}; a fork is "
                                          f"from one of turns 0..{parent.turn}")
    if turn > branch.turn:
        yield here + ("turn",), f"a branch forked at turn {turn} has ended at least {_turns(turn)}, not {branch.turn}"


def _fork_problems(session: Session, i: int) -> Iterator[tuple[tuple, str]]:
    """A fork's log begins with its parent's turns before the fork, unchanged."""
    found = _parent(session, i)
    if found is None:
        return
    (j, parent), branch, turn = found, session.branches[i], session.branches[i].origin.turn
    here = ("branches", i)
    shared, own = _before(parent, turn), _before(branch, turn)
    for k in range(max(len(shared), len(own))):
        if k >= len(shared) or k >= len(own) or shared[k] != own[k]:
            yield here + ("log", k), (f"differs from entry {k} of branch '{parent.name}' (branches[{j}]), forked at "
                                      f"turn {turn}: the turns before a fork are the parent's, unchanged")
            return


def _before(branch: Branch, turn: int) -> list:
    """The entries of a branch's turns before `turn` (their `next` entries included)."""
    return [entry for entry in branch.log if entry.turn < turn]


def _log_problems(session: Session, i: int) -> Iterator[tuple[tuple, str]]:
    branch, ended = session.branches[i], 0
    teams = [*session.teams, UMPIRE]
    for k, entry in enumerate(branch.log):
        here = ("branches", i, "log", k)
        if entry.turn != ended:
            yield here + ("turn",), (f"turn {entry.turn} does not follow the log: {_turns(ended)} ended (next "
                                     f"entries) before this entry, so it belongs to turn {ended}")
        ended += isinstance(entry, NextEntry)
        team = getattr(entry, "team", UMPIRE)
        if team not in teams:
            hint = suggest(team, teams)
            yield here + ("team",), f"unknown team '{team}'" + (f" (did you mean '{hint}'?)" if hint else "") + \
                "; teams: " + ", ".join(teams)
        move = entry.move if isinstance(entry, AheadEntry) else entry
        if isinstance(move, (MoveEntry, Move)) and move.action == "force" and team != UMPIRE:
            path = here + (("move", "action") if isinstance(entry, AheadEntry) else ("action",))
            yield path, f"only the {UMPIRE} forces an event; a team injects or blocks (action: inject or block)"
    if branch.turn != ended:
        yield ("branches", i, "turn"), f"turn is {branch.turn}, but the log ends {_turns(ended)} (next entries)"


def _turns(n: int) -> str:
    """'1 turn', '2 turns'."""
    return f"{n} turn" if n == 1 else f"{n} turns"


# ------------------------------------------------------------------------------------------------------- branches


def fork(session: Session, from_branch: str, turn: int, new_name: str) -> Branch:
    """A new branch that replays `from_branch` up to the start of its turn `turn` (the entries of the turns
    before it, their `next` entries included, copied) and goes on from there. The session is not changed: append
    the branch to session.branches. ValueError for an unknown branch, a turn it has not reached, or a name that
    is taken or not an identifier."""
    parent = session.branch(from_branch)
    if not re.fullmatch(ID_PATTERN, new_name or ""):
        raise ValueError(f"branch name {new_name!r}: expected a {ID_RULE}")
    if any(branch.name == new_name for branch in session.branches):
        raise ValueError(f"there is already a branch '{new_name}'; choose another name")
    if isinstance(turn, bool) or not isinstance(turn, int) or not 0 <= turn <= parent.turn:
        raise ValueError(f"branch '{parent.name}' has ended {_turns(parent.turn)}; fork it from a turn in "
                         f"0..{parent.turn}, not {turn!r}")
    log = [entry.model_copy(deep=True) for entry in _before(parent, turn)]
    return Branch(name=new_name, origin=Origin(branch=parent.name, turn=turn), turn=turn, log=log)


# ------------------------------------------------------------------------------------------------------- the file


def load_session(path: str | Path) -> tuple[Session, Where]:
    """The session in a file, and the function giving the position of any value in it (for the game's own
    checks). Raises ScenarioError, located at FILE:LINE:COLUMN, for a file that cannot be read or is larger than
    MAX_BYTES, is not YAML or JSON, is not a session file of a format this escalsim reads, or is not valid.
    It is read by the scenarios' reader (`scenario.source.load_yaml`): bounded, safe, and fast for a well-formed
    file."""
    path = Path(path)
    text = read_text(path, SESSION)
    source = load_yaml(path, text, kind=SESSION)
    _check_format(source)
    try:
        session = Session.model_validate(source.data)
    except ValidationError as exc:
        raise ScenarioError(pydantic_problems(source, exc, Session)) from None
    found = problems(session)
    if found:
        raise ScenarioError([Problem(*source.where(p), format_path(p), message) for p, message in found])
    return session, source.where


def _check_format(source: Source) -> None:
    """Refuse, in one message, a file that is not a session file of a format this escalsim reads."""
    data, understood = source.data, f"the formats escalsim {__version__} reads: " + ", ".join(FORMATS)
    if data.get("format") in FORMATS:
        return
    if "format" in data:
        message = f"format {shown(data['format'])} is not a session format this escalsim reads; {understood}"
    elif "ladder" in data or "actors" in data:
        message = ("this is a scenario, not a session file: start a session with `escalsim play SCENARIO`; a "
                   f"session file begins with format: {FORMAT}")
    else:
        message = f"not an escalsim session file: there is no format: key (a session file begins with format: " \
                  f"{FORMAT}; {understood})"
    where = source.where(("format",)) if "format" in data else source.where(())
    raise ScenarioError([Problem(*where, "format" if "format" in data else "", message)])


def save_session(session: Session, path: str | Path) -> None:
    """Write the session atomically: the file is the previous one or the whole new one, even after a crash. YAML
    with a header saying how to resume and replay it (JSON if the name ends in .json); keys in a fixed order, one
    log entry a line, so two session files compare with diff. Raises ValueError (nothing written) for a session
    that load_session would refuse, and files.ResultsWriteError (an OSError; the previous file intact) naming the
    file and the cause when writing fails (a full disk, a read-only folder)."""
    path = Path(path)
    data = _checked(session)
    text = _json_text(data) if path.suffix.lower() == ".json" else HEADER + "".join(
        line + "\n" for line in _block(data, (), ""))
    atomic(path, lambda fh: _write_all(fh, text.encode("utf-8")),
           what=f"cannot save the session file {path}")


def _write_all(fh: BinaryIO, data: bytes) -> None:
    """Write the file's bytes (separate, so that a test can make the write fail half-way)."""
    fh.write(data)


def _checked(session: Session) -> dict:
    """The session as plain data, validated again (its lists may have been changed in place): a file that is
    saved can be loaded. ValueError listing the problems otherwise."""
    try:
        checked = Session.model_validate(session.model_dump())  # python values: a NaN stays NaN, not null
        found = problems(checked)
    except ValidationError as exc:
        found = [(tuple(err["loc"]), err["msg"]) for err in exc.errors()]
    if found:
        raise ValueError("the session is not valid, so it was not saved: "
                         + "; ".join(f"{format_path(p)}: {message}" for p, message in found))
    return checked.model_dump(mode="json")


# The YAML written: the top level, the teams, the branches and their logs in block style, one key or log entry a
# line; everything deeper (a log entry, the scenario, a team's actors) in flow style on its line. None: any index.
_BLOCK = {(), ("teams",), ("branches",), ("branches", None), ("branches", None, "log")}
_PLAIN = re.compile(r"[a-z][a-z0-9_./-]*")  # identifiers and simple paths, written without quotes, except
_KEYWORDS = {"null", "true", "false", "y", "n", "yes", "no", "on", "off"}  # what YAML 1.1 readers take for null or bool
_UNPRINTABLE = re.compile(  # and the line separators U+2028 and U+2029, which editors and some readers break lines at
    "[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")


def _block(value, path: tuple, indent: str) -> Iterator[str]:
    """The lines of a mapping or list in block style, at `indent`."""
    pairs = value.items() if isinstance(value, dict) else ((None, item) for item in value)
    for key, item in pairs:
        inner = path + (key,)
        lead = "-" if key is None else f"{_scalar(key)}:"
        if inner not in _BLOCK or not item:
            yield f"{indent}{lead} {_flow(item)}"
        elif key is None and isinstance(item, dict):  # "- name: main" then the other keys under "name"
            first, *rest = _block(item, inner, indent + "  ")
            yield f"{indent}- {first.lstrip()}"
            yield from rest
        else:
            yield f"{indent}{lead}"
            yield from _block(item, inner, indent + "  ")


def _flow(value) -> str:
    """A value in YAML flow style, on one line."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value) -> str:
    """A scalar as YAML 1.2 reads it back: identifiers plain, other text double-quoted with escapes."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value)  # finite (validated): 1e-05 and 1e+16 are YAML 1.2 floats
    if _PLAIN.fullmatch(value) and value not in _KEYWORDS:
        return value
    return _printable(json.dumps(value, ensure_ascii=False))


def _printable(text: str) -> str:
    """JSON text with the characters YAML does not allow raw (C1 controls, surrogates, BOM...) escaped."""
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def _json_text(data: dict) -> str:
    """The session as indented JSON that the YAML reader reads back the same."""
    return _printable(json.dumps(data, indent=1, ensure_ascii=False)) + "\n"
