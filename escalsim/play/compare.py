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
    """The last look-ahead shown at the parting turn (on either branch), each branch read in the arm it then
    followed: with the move if it made it, else without; the probability by the last date, with its interval."""
    entries = [e for branch in (a, b) for e in branch.log if e.kind == "ahead" and e.turn == turn]
    if not entries:
        yield f"No look-ahead was shown at turn {turn + 1} on either branch ('ahead' there records one)."
        return
    entry = next((e for e in reversed(entries) if e.move is not None), entries[-1])
    rows = stored_rows(entry.result)
    if not rows:
        yield f"The look-ahead shown at turn {turn + 1} has no result this escalsim can read."
        return
    arms = [made_move(branch, entry) for branch in (a, b)]
    what = "no move" if entry.move is None else f"{entry.team} {entry.move.action} {entry.move.option}"
    yield (f"The look-ahead shown at turn {turn + 1} ({what}, {entry.futures:,} futures), each branch read in the arm "
           f"it followed: {a.name} {'with' if arms[0] else 'without'} the move, {b.name} "
           f"{'with' if arms[1] else 'without'} it; probability by {rows[0][-1].mark} (95% interval):")
    yield f"  {'':58} {a.name[:24]:>24} {b.name[:24]:>24}"
    for forecast in rows:
        last = forecast[-1]
        cells = [_cell(last, took) for took in arms]
        if (last.p_move if arms[0] else last.p) != (last.p_move if arms[1] else last.p):
            yield f"  {last.what[:58]:58} {cells[0]:>24} {cells[1]:>24}"
    if arms[0] == arms[1]:
        yield "  (both branches followed the same arm: the look-ahead does not tell them apart)"


def made_move(branch: S.Branch, entry: S.AheadEntry) -> bool:
    """Whether a branch made the move a look-ahead looked at, in the turn it was shown."""
    if entry.move is None:
        return False
    m = entry.move
    return any(x.kind == "move" and x.turn == entry.turn and (x.action, x.option, x.day, x.until) ==
               (m.action, m.option, m.day, m.until) for x in branch.log)


def _cell(r, with_move: bool) -> str:
    if not with_move:
        return f"{100 * r.p:.1f}% ({100 * r.p_low:.1f}-{100 * r.p_high:.1f})"
    return f"{100 * r.p_move:.1f}%"
