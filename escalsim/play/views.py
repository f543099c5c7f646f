"""What the screen shows: the umpire's view (the truth, said so), a team's view (its own intelligence, late and
imprecise), the moves a team has, a look-ahead's answer, the log. Plain text lines, no colour codes, so the same
lines go to a projector, a script's output and a test."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from escalsim.engine.record import CAUSED_KINDS, OBSERVATION, TraceEvent
from escalsim.play.ahead import Ahead
from escalsim.play.game import UMPIRE, Game, Move

_TRUTH = re.compile(r" \(true now [^)]*\)$")


def header(game: Game, who: str) -> str:
    """'Turn 3 — 2024-11-12 (day 28 of 365) — umpire's view: the truth'."""
    turn = f"Turn {game.turn + 1}" if not game.over else "Game over"
    return f"{turn} — {game.date()} (day {game.day:g} of {game.model.horizon:g}) — {who}"


def event_line(game: Game, e: TraceEvent, causes: bool) -> str:
    """One dated event; with `causes`, the cause of a caused kind (the umpire's view)."""
    text = e.text
    if not causes:  # a team sees what was done, not the model's bookkeeping behind it
        text = _TRUTH.sub("", text) if e.kind == OBSERVATION else text.split(" → ")[0]
    line = f"  {game.date(e.day)}  {e.subject}: {text}"
    if causes and e.cause and e.kind in CAUSED_KINDS:
        line += f"  [because: {e.cause}]"
    return line


def tracks(game: Game) -> Iterator[str]:
    """Each track's rung today (every team sees where the tracks stand)."""
    for label, rung in game.levels():
        yield f"  {label}: {rung}"


def umpire_view(game: Game, since: float) -> Iterator[str]:
    """The truth today: what happened since `since` with true causes, the tracks, every variable with the
    estimates each side has of it."""
    yield header(game, "umpire's view: the truth (not for the teams)")
    yield "Tracks:"
    yield from tracks(game)
    yield from _happened(game, since, None)
    yield "The truth, and what each side estimates:"
    for label, value, estimates in game.truth():
        seen = "; ".join(f"{name} ~{estimate:,.0f}" for name, estimate in estimates)
        yield f"  {label}: {value:,.0f}" + (f"   (estimates: {seen})" if seen else "")


def opening(game: Game, branch: str) -> Iterator[str]:
    """What the screen shows when a session starts or resumes: the date, the tracks, the teams."""
    yield header(game, f"branch {branch}")
    yield "Tracks:"
    yield from tracks(game)
    s = game.model.scenario
    yield "Teams: " + "; ".join(f"{team} ({', '.join(s.actors[a].label or a for a in actors)})"
                                for team, actors in game.teams.items())
    yield "'look' shows the situation (the truth), 'look TEAM' what a team knows, 'moves TEAM' its options."


def turn_report(game: Game, since: float) -> Iterator[str]:
    """What `next` shows: the new date, the tracks, what happened in the turn just played with its true causes,
    and what each team's intelligence reported in it (the umpire's screen)."""
    yield header(game, "what happened (umpire's view: the truth, with causes)")
    yield "Tracks:"
    yield from tracks(game)
    yield from _happened(game, since, None)
    learnt = []
    for team in game.teams:
        for label, value, day in game.estimates(team):
            if day is not None and since <= day < game.day:
                learnt.append(f"  {team}: {label} ~{value:,.0f} (learnt {game.date(day)})")
    yield "What the teams' intelligence reported:" if learnt else "No team's intelligence reported anything new."
    yield from learnt
    yield "('look TEAM' shows a team's view; 'look' the whole truth.)"


def team_view(game: Game, team: str, since: float) -> Iterator[str]:
    """What `team` knows today: the tracks, the public events since `since`, and its intelligence's latest
    estimates with the day each was learnt (never the true values)."""
    actors = ", ".join(game.model.scenario.actors[a].label or a for a in game.teams[team])
    yield header(game, f"{team}'s view ({actors}): what it knows, not the truth")
    yield "Tracks:"
    yield from tracks(game)
    yield from _happened(game, since, team)
    estimates = game.estimates(team)
    yield "Its intelligence estimates:" if estimates else "It has no intelligence estimates of its own."
    for label, value, learnt in estimates:
        when = f"learnt {game.date(learnt)}" if learnt is not None else "since the start"
        yield f"  {label}: ~{value:,.0f} ({when})"


def _happened(game: Game, since: float, team: str | None) -> Iterator[str]:
    events = game.happened(since, team=team)
    start = "the start" if since <= 0 else str(game.date(since))
    yield f"Since {start}:" if events else f"Nothing {'it saw ' if team else ''}happened since {start}."
    for e in events:
        yield event_line(game, e, causes=team is None)


def moves_view(game: Game, team: str) -> Iterator[str]:
    """The team's options: id, label, whether possible now (or what it needs), what it can reach."""
    options = game.options_of(team)
    who = "every option and obligation (umpire)" if team == UMPIRE else f"{team}'s options"
    yield f"{who} on {game.date()}:"
    for o in options:
        mark = "*" if o.possible else " "
        tracks_reached = [t.label for t in game.model.tracks if t.id in o.reaches]
        others = sum(1 for r in o.reaches if r in game.model.options)
        yield f" {mark} {o.option}  ({o.actor}) {o.label}"
        yield f"      {o.status}"
        if o.does:
            yield f"      does: {'; '.join(o.does)}"
        if o.reaches:
            yield (f"      can lead to: {', '.join(tracks_reached) or 'no track'}"
                   + (f"; {others} other option{'s' if others != 1 else ''}" if others else ""))
    yield "(* possible now; take one with: take TEAM OPTION [DATE] -- reason; decline with: decline TEAM OPTION "\
          "[until DATE] -- reason)"


def ahead_view(game: Game, ahead: Ahead, limit: int | None = 12) -> Iterator[str]:
    """A look-ahead in a compact table, one line per outcome and a column per date: each rung above where its
    track stands, then the events that change most with the move (the likeliest without one). With a move each
    cell reads 'without -> with', and the change by the last date has its 95% interval (Newcombe, paired)."""
    move = ahead.move
    what = f"with {move.team} {move_text(game, move)} on {game.date(move.day)}" if move else "as things stand"
    yield (f"Look-ahead from {game.date(ahead.day)}, {what}: {ahead.futures:,} futures"
           + (" per arm, paired" if move else "") + f" ({ahead.seconds:.1f} s)")
    yield "  The futures continue this session's true state (hidden values included): the umpire's instrument."
    by_what: dict[str, list] = {}
    for r in ahead.rows:
        by_what.setdefault(r.what, []).append(r)
    marks = [r.mark for r in next(iter(by_what.values()), [])]
    tracks = [w for w in by_what if " at or above " in w]
    events = [w for w in by_what if " at or above " not in w
              and any(r.p > 0 or (r.p_move or 0) > 0 for r in by_what[w])]
    if move is None:
        events.sort(key=lambda w: -by_what[w][-1].p)
    else:
        events.sort(key=lambda w: -max(abs(r.diff) for r in by_what[w]))
    shown = events if limit is None else events[:limit]
    width = 46
    cell = 15 if move else 7
    yield "  " + " " * width + "".join(f"{m:>{max(cell, len(m)) + 2}}" for m in marks) + (
        "   change by the last date (95% interval)" if move else "   95% interval by the last date")
    for w in tracks + shown:
        rows = by_what[w]
        name = w.replace(" at or above ", " ≥ ")
        name = name if len(name) <= width else name[:width - 1] + "…"
        cells = "".join(f"{_cell(r, move is not None):>{max(cell, len(m)) + 2}}" for r, m in zip(rows, marks))
        last = rows[-1]
        tail = (f"   {100 * last.diff:+5.1f} ({100 * last.diff_low:+.1f} to {100 * last.diff_high:+.1f})" if move
                else f"   {100 * last.p_low:.1f} to {100 * last.p_high:.1f}%")
        yield f"  {name:{width}}{cells}{tail}"
    hidden = len(events) - len(shown)
    if hidden > 0:
        yield f"  ({hidden} more events not shown: add --all)"
    never = len(by_what) - len(tracks) - len(events)
    if never:
        yield f"  ({never} events happened in none of these futures)"


def _cell(r, paired: bool) -> str:
    return f"{100 * r.p:.1f} → {100 * r.p_move:.1f}" if paired else f"{100 * r.p:.1f}%"


def log_view(game: Game) -> Iterator[str]:
    """The moves made on this branch, in order."""
    if not game.moves:
        yield "No moves yet."
    for m in game.moves:
        yield f"  {game.date(m.day)}  {m.team}: {move_text(game, m)}" + (f"  — {m.reason}" if m.reason else "")


def move_text(game: Game, m: Move) -> str:
    """A move in words: 'takes X', 'forces X', 'declines X until DATE'."""
    if m.action == "block":
        until = f" until {game.date(m.until)}" if m.until is not None and not math.isinf(m.until) else ""
        return f"declines {m.option}{until}"
    return ("forces " if m.action == "force" else "takes ") + m.option
