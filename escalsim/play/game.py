"""A wargame played on one run of a scenario: turns, moves, what each team knows, what happened and why.

The game is the run (scenario, seed, moves) revealed turn by turn. What the table sees at the start of a turn is
the run cut at that day (`Model` with its horizon moved to the turn's day): a run is causal, so the part of the
full run before a day depends only on the moves made before it, and a replay of the same moves gives the same
path. Nothing after the current day is ever computed for display.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from escalsim.engine import Model, RunRecord, simulate
from escalsim.engine.core import InjectionError, check_moves
from escalsim.engine.record import DECISION, LADDER, OBLIGATION, OBSERVATION, TREATY, TraceEvent
from escalsim.scenario import conditions as expressions
from escalsim.scenario.graph import influence_graph, reach_of
from escalsim.scenario.moves import Block, Injection

UMPIRE = "umpire"
ACTIONS = ("inject", "force", "block")
PUBLIC_KINDS = (DECISION, OBLIGATION, TREATY, LADDER)  # what every team sees happen; the rest is the umpire's


class MoveError(ValueError):
    """A move the game cannot take (names no option of the team, a day outside the turn, ...): the message says
    what is allowed."""


@dataclass(frozen=True)
class Move:
    """A committed move: `team` injects (takes) or blocks (declines until `until`) an option or obligation on
    `day`; the umpire may also `force` one (an override, fired even if off the table). `reason` is logged."""

    team: str
    action: str
    option: str
    day: float
    until: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class OptionStatus:
    """One move a team has at the current day, as the `moves` command lists it."""

    option: str
    actor: str
    label: str
    status: str          # "possible now", "needs: <condition>", "done <date>", "off the table", "declined until"
    possible: bool
    reaches: tuple[str, ...]  # tracks and options the influence graph says it can lead to
    does: tuple[str, ...] = ()  # what it changes directly (the graph's edges out of it: "sets x", ...)


def engine_moves(moves: Iterable[Move]) -> tuple[tuple[Injection, ...], tuple[Block, ...]]:
    """The engine's injections and blocks for a list of moves (in order)."""
    injections, blocks = [], []
    for m in moves:
        if m.action == "block":
            blocks.append(Block(option=m.option, start=m.day, until=m.until))
        else:
            injections.append(Injection(day=m.day, option=m.option, override=m.action == "force"))
    return tuple(injections), tuple(blocks)


def default_teams(model: Model) -> dict[str, list[str]]:
    """The scenario's `teams:`, else one team per actor that owns an option or observes something, named after
    the actor."""
    s = model.scenario
    if s.teams:
        return {team: list(actors) for team, actors in s.teams.items()}
    owners = {o.actor for o in s.options.values()} | {o.observer for o in s.observations.values()}
    return {a: [a] for a in s.actors if a in owners}


@dataclass
class Game:
    """A session's state on one branch: the scenario's model, the seed, the turn length, the teams (name ->
    actor ids), the moves made so far and the number of turns completed."""

    model: Model
    seed: int
    turn_days: float
    teams: dict[str, list[str]]
    moves: list[Move] = dataclasses.field(default_factory=list)
    turn: int = 0
    run: int = 0

    def __post_init__(self) -> None:
        actors = set(self.model.scenario.actors)
        for team, members in self.teams.items():
            if team == UMPIRE:
                raise MoveError(f"'{UMPIRE}' is the facilitator's name, not a team's")
            unknown = [a for a in members if a not in actors]
            if unknown:
                raise MoveError(f"team {team}: no actor {', '.join(unknown)} in the scenario (actors: "
                                f"{', '.join(sorted(actors))})")
        self._cut: dict[tuple, RunRecord] = {}

    # --- time -----------------------------------------------------------------------------------------------
    @property
    def day(self) -> float:
        """The current game day: the start of the current turn (the horizon once the game is over)."""
        return min(self.turn * self.turn_days, self.model.horizon)

    @property
    def over(self) -> bool:
        """True once the horizon is reached."""
        return self.day >= self.model.horizon

    @property
    def turn_end(self) -> float:
        """The first day of the next turn."""
        return min(self.day + self.turn_days, self.model.horizon)

    def date(self, day: float | None = None):
        """The calendar date of a game day (default: today)."""
        return self.model.date_of(self.day if day is None else day)

    # --- the run, cut at a day ------------------------------------------------------------------------------
    def record_until(self, day: float) -> RunRecord:
        """The run (with its trace) up to `day` (excluded): the moves made before that day, the model's horizon
        moved to it. Cached by day and moves."""
        moves = tuple(m for m in self.moves if m.day < day)
        key = (day, moves)
        if key not in self._cut:
            injections, blocks = engine_moves(moves)
            cut = dataclasses.replace(self.model, horizon=day) if day < self.model.horizon else self.model
            self._cut[key] = simulate(cut, self.seed, self.run, injections, True, blocks)
        return self._cut[key]

    @property
    def now(self) -> RunRecord:
        """The run up to today."""
        return self.record_until(self.day)

    def values(self) -> dict[str, float]:
        """Every readable value today (variables, estimates, track positions): the truth."""
        return dict(zip(self.model.readable, self.now.final))

    def levels(self) -> list[tuple[str, str]]:
        """Each track's label and its rung today."""
        values = self.values()
        return [(t.label, t.rung_labels[int(values[t.id])]) for t in self.model.tracks]

    def happened(self, since: float, until: float | None = None, team: str | None = None) -> list[TraceEvent]:
        """What happened in [since, until) (default: until today), as the umpire (team None) or a team sees it:
        a team sees the public events (decisions, obligations honoured, treaty steps, rung changes) and its own
        intelligence's reports, never deployments, attrition or another team's estimates."""
        until = self.day if until is None else until
        events = [e for e in self.record_until(until).trace or () if since <= e.day < until]
        if team is None:
            return events
        own = self._observer_labels(team)
        return [e for e in events if e.kind in PUBLIC_KINDS or (e.kind == OBSERVATION and e.subject in own)]

    def _observer_labels(self, team: str) -> set[str]:
        s = self.model.scenario
        return {s.actors[a].label for a in self.teams.get(team, ())}

    # --- what each team knows -------------------------------------------------------------------------------
    def estimates(self, team: str) -> list[tuple[str, float, float | None]]:
        """The team's intelligence today: (label, estimate, day it was last learnt or None if never updated)
        for every observation whose observer is one of the team's actors."""
        s, values = self.model.scenario, self.values()
        out = []
        for oid, o in s.observations.items():
            if o.observer not in self.teams.get(team, ()):
                continue
            label = self.model.labels[oid]
            learnt = [e.day for e in self.now.trace or ()
                      if e.kind == OBSERVATION and e.subject == s.actors[o.observer].label
                      and e.text.startswith(f"estimates {_observed_label(s, o)} at ")]
            out.append((label, values[oid], learnt[-1] if learnt else None))
        return out

    def truth(self) -> list[tuple[str, float, list[tuple[str, float]]]]:
        """The umpire's view: every variable's true value today, with the estimates of it (who estimates, value)."""
        s, values = self.model.scenario, self.values()
        seen: dict[str, list[tuple[str, float]]] = {}
        for oid, o in s.observations.items():
            seen.setdefault(o.of, []).append((s.actors[o.observer].label or o.observer, values[oid]))
        return [(self.model.labels[v], values[v], seen.get(v, [])) for v in s.variables]

    # --- moves ----------------------------------------------------------------------------------------------
    def owner(self, option: str) -> str | None:
        """The actor owning an option (or the first party of an obligation treaty.party), None if unknown."""
        s = self.model.scenario
        if option in s.options:
            return s.options[option].actor
        if "." in option:
            treaty, party = option.split(".", 1)
            if treaty in s.treaties and option in self.model.outcomes:
                return party
        return None

    def team_of(self, actor: str) -> str | None:
        """The team playing an actor, or None."""
        return next((t for t, members in self.teams.items() if actor in members), None)

    def options_of(self, team: str) -> list[OptionStatus]:
        """The options (and treaty obligations) of the team's actors, with their status today and reach; the
        umpire gets every one."""
        if team != UMPIRE and team not in self.teams:
            raise MoveError(f"no team '{team}' (teams: {', '.join(self.teams)}; and '{UMPIRE}')")
        out = []
        for name in self.model.outcomes:
            actor = self.owner(name)
            if team == UMPIRE or actor in self.teams[team]:
                out.append(self._status(name, actor or ""))
        return out

    @cached_property
    def _graph(self):
        return influence_graph(self.model.scenario)

    def _status(self, name: str, actor: str) -> OptionStatus:
        s, rec = self.model.scenario, self.now
        days = dict(zip(self.model.events, rec.event_days))
        spec = s.options.get(name)
        label = spec.label if spec is not None else name
        blocked = [m for m in self.moves if m.option == name and m.action == "block" and m.day <= self.day
                   and (m.until is None or m.until > self.day)]
        done = days.get(name, math.nan)
        if not math.isnan(done) and (spec is None or not spec.repeatable):
            status, possible = f"done {self.date(done)}", False
        elif blocked:
            until = blocked[-1].until
            status = "declined" + (f" until {self.date(until)}" if until is not None else " for the rest of the game")
            possible = False
        elif spec is not None and spec.group and any(
                not math.isnan(days.get(o, math.nan)) for o, other in s.options.items()
                if other.group == spec.group and o != name):
            status, possible = "off the table (an alternative was chosen)", False
        elif spec is not None:
            holds = self._holds(spec.when)
            status, possible = ("possible now", True) if holds else (f"needs: {spec.when}", False)
        else:
            status, possible = "an obligation: the umpire may force it", False
        try:
            reach = reach_of(self._graph, name)
            reaches = tuple(list(reach.tracks) + list(reach.options))
            does = tuple(dict.fromkeys(e.reason for e in self._graph.out(reach.start)
                                       if not e.reason.startswith("read")))
        except KeyError:
            reaches, does = (), ()
        return OptionStatus(name, s.actors[actor].label if actor in s.actors else actor, label or name, status,
                            possible, reaches, does)

    def _holds(self, condition: str) -> bool:
        """Whether a condition holds today, on the truth."""
        rec, model = self.now, self.model
        expr = _parse(model, condition)
        values = dict(zip(model.readable, rec.final))
        values.update(zip(model.parameters.names, rec.params))
        times = {e: d for e, d in zip(model.events, rec.event_days) if not math.isnan(d)}
        times.update({r: d for r, d in zip(model.rungs, rec.at_or_above) if not math.isnan(d)})
        return bool(expr.evaluate(values, self.day, times))

    def check(self, move: Move) -> None:
        """Refuse a move the team cannot make now (MoveError, saying what is allowed)."""
        if self.over:
            raise MoveError("the game is over: the horizon is reached")
        if move.action not in ACTIONS or (move.action == "force" and move.team != UMPIRE):
            allowed = "inject or block" + (", or force (the umpire only)" if move.team != UMPIRE else " or force")
            raise MoveError(f"'{move.action}' is no move here: {allowed}")
        if move.team == UMPIRE and not move.reason.strip():
            raise MoveError("the umpire's moves need a reason (it goes in the log)")
        names = [o.option for o in self.options_of(move.team)]
        if move.option not in names:
            hint = expressions.suggest(move.option, names)
            raise MoveError(f"{move.team} has no option '{move.option}'"
                            + (f" (did you mean '{hint}'?)" if hint else "") + f"; its options: {', '.join(names)}")
        if not self.day <= move.day < self.turn_end:
            raise MoveError(f"a move this turn is dated {self.date()} to {self.date(self.turn_end - 1)}, not "
                            f"{self.date(move.day)}")
        if move.until is not None and move.until <= move.day:
            raise MoveError(f"a block must end after it starts ({self.date(move.day)})")
        if move.action == "inject":
            for m in self.moves:
                if m.option == move.option and m.action == "block" and m.day <= move.day < (m.until or math.inf):
                    until = f" until {self.date(m.until)}" if m.until is not None else " for the rest of the game"
                    raise MoveError(f"{move.option} was declined by {m.team} on {self.date(m.day)}{until}: it "
                                    "cannot be taken then (branch from an earlier turn to undo the decline)")
        try:
            check_moves(self.model, *engine_moves([*self.moves, move]))
        except InjectionError as exc:
            raise MoveError(str(exc)) from None

    def commit(self, move: Move) -> None:
        """Make a move (checked first)."""
        self.check(move)
        self.moves.append(move)

    def advance(self) -> tuple[float, float]:
        """End the turn: the game moves to the next turn's day. Returns the days [from, to) now revealed."""
        if self.over:
            raise MoveError("the game is over: the horizon is reached")
        start = self.day
        self.turn += 1
        return start, self.day


def _observed_label(s, o) -> str:
    return o.label or s.variables[o.of].label or o.of


def _parse(model: Model, text: str):
    from escalsim.scenario.references import event_names, readable_names, rung_indices
    s = model.scenario
    return expressions.parse(text, variables=readable_names(s) + list(model.parameters.names),
                             events=event_names(s), rungs=rung_indices(s), start=s.start)


def parse_teams(specs: Sequence[str], model: Model) -> dict[str, list[str]]:
    """NAME=ACTOR,ACTOR strings into a team table (MoveError for a bad one); none given: `default_teams` (the
    scenario's `teams:`, or one team per actor)."""
    if not specs:
        return default_teams(model)
    teams: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for spec in specs:
        name, sep, members = spec.partition("=")
        name = name.strip()
        actors = [a.strip() for a in members.split(",") if a.strip()]
        if not sep or not name or not actors:
            raise MoveError(f"--teams takes NAME=ACTOR,ACTOR (e.g. seoul=rok,nis), not '{spec}'")
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
            raise MoveError(f"team name '{name}': write it in lowercase letters, digits and _ (e.g. "
                            f"{re.sub(r'[^a-z0-9_]', '_', name.lower()).strip('_') or 'seoul'})")
        if name in teams:
            raise MoveError(f"team '{name}' is given twice")
        for actor in actors:
            if actor in owner:
                raise MoveError(f"actor '{actor}' is in team '{owner[actor]}' already: an actor plays in one team")
            owner[actor] = name
        teams[name] = actors
    Game(model, 0, 1.0, teams)  # checks the names
    return teams
