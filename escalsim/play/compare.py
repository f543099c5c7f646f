"""Two branches of a session side by side: their moves, their paths (what happened, by date), where the tracks
stand, and the look-aheads shown at the turn where they part."""

from __future__ import annotations

from collections.abc import Iterator

from escalsim.play import session as S
from escalsim.play.ahead import stored_rows
from escalsim.play.views import event_line, move_text


def parting_turn(a: S.Branch, b: S.Branch) -> int:
    """The turn at whose start two branches part (0 if neither was forked from the other)."""
    for x, y in ((a, b), (b, a)):
        if x.origin is not None and x.origin.branch == y.name:
            return x.origin.turn
    if a.origin is not None and b.origin is not None and a.origin.branch == b.origin.branch:
        return min(a.origin.turn, b.origin.turn)
    return 0


def compare_branches(table, a: S.Branch, b: S.Branch) -> Iterator[str]:
    """The comparison as text lines (table: a play.control.Table)."""
    turn = parting_turn(a, b)
    games = [table.game(a.name), table.game(b.name)]
    start = turn * games[0].turn_days
    yield f"Branches {a.name} and {b.name} part at the start of turn {turn + 1} ({games[0].date(start)})."
    for branch, game in zip((a, b), games):
        yield ""
        yield f"{branch.name}: {game.turn} turns played, to {game.date()}"
        moves = [m for m in game.moves if m.day >= start]
        yield "  moves since they part: " + ("; ".join(f"{m.team} {move_text(game, m)} on {game.date(m.day)}"
                                                      for m in moves) or "none")
        yield "  tracks: " + "; ".join(f"{label}: {rung}" for label, rung in game.levels())
        events = game.happened(start)
        yield f"  what happened since they part ({len(events)} events):"
        for e in events:
            yield "  " + event_line(game, e, causes=True)
    yield ""
    yield from _aheads(a, b, turn)


def _aheads(a: S.Branch, b: S.Branch, turn: int) -> Iterator[str]:
    """The look-aheads each branch showed at the parting turn, by the last date, side by side."""
    found = []
    for branch in (a, b):
        entries = [e for e in branch.log if e.kind == "ahead" and e.turn == turn]
        found.append(entries[-1] if entries else None)
    if not any(found):
        yield f"No look-ahead was shown at turn {turn + 1} on either branch ('ahead' there records one)."
        return
    yield f"Look-aheads shown at turn {turn + 1} (the last on each branch), probability by the last date:"
    tables = []
    for entry in found:
        if entry is None:
            tables.append({})
            continue
        tables.append({rows[-1].what: rows[-1].p if rows[-1].p_move is None else rows[-1].p_move
                       for rows in stored_rows(entry.result)})
    names = [f"{br.name}" + (f" ({e.move.action} {e.move.option})" if e is not None and e.move else "")
             for br, e in zip((a, b), found)]
    yield f"  {'':58} {names[0][:22]:>22} {names[1][:22]:>22}"
    for what in dict.fromkeys([*tables[0], *tables[1]]):
        cells = [f"{100 * t[what]:.1f}%" if what in t else "—" for t in tables]
        if cells[0] != cells[1]:
            yield f"  {what[:58]:58} {cells[0]:>22} {cells[1]:>22}"
