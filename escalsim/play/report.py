"""The after-action report of a play session: one self-contained HTML page (figures inline, no network) telling
the story of the game from its session file: each branch's path with its moves, each team's decisions beside what
it knew and the truth then, each look-ahead beside what then happened, and the branches compared.

The page is the umpire's record: it shows the truth (hidden values, true causes). Every game is rebuilt from the
session's log (`control.Table`, which replays each branch and checks its path), and every statement about the path
is read from the rebuilt game, never from the look-ahead's forecast.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from matplotlib.figure import Figure

from escalsim import __version__
from escalsim.engine import Model
from escalsim.engine.record import CAUSED_KINDS
from escalsim.montecarlo.records import event_labels
from escalsim.outputs.labels import percent, percent_range, wrap
from escalsim.outputs.report import CSS, inline_svg
from escalsim.outputs.report_tables import e, share_cell, table
from escalsim.outputs.style import INK, MUTED, NOTE, OKABE_ITO, TICK, clean_axes
from escalsim.play import session as S
from escalsim.play.ahead import Row, stored_rows
from escalsim.play.compare import compare_branches, made_move, parting_turn
from escalsim.play.control import Table
from escalsim.play.game import UMPIRE, Game
from escalsim.play.views import move_text

__all__ = ["HAPPENED", "NOT_BY", "NOT_REACHED", "at_turn", "mark_end", "outcome_status", "own_entries", "path_figure",
           "render", "shares_past"]

HAPPENED, NOT_BY, NOT_REACHED = "happened by then", "not by then", "not reached in the game"
FORECAST_NOTE = ("A probability is a forecast over many futures; the played path is one of them. An outcome "
                 "given 10% that happened, or one given 90% that did not, is no error of the forecast: one path "
                 "can neither confirm nor refute a probability.")
EXTRA_CSS = """
.umpire{background:#fdecea;border-left:4px solid #D55E00;padding:.4em 1em;margin:1em 0}
.note{background:#eef4fa;border-left:4px solid #0072B2;padding:.4em 1em;margin:1em 0}
table.story td,table.story th{text-align:left;vertical-align:top} td .happened{font-weight:600;color:#8a3b00}
td .reached{color:#555}
td div.happened,td div.reached{font-size:.9em} table.dated td:first-child{white-space:nowrap}
td div:first-of-type{border-top:1px solid #ccc;margin-top:.3em;padding-top:.2em}
pre{white-space:pre-wrap;font-size:.85em;background:#f6f6f6;padding:.8em}
figure img{max-width:100%}
"""
_MARK = re.compile(r"by (\d{4}-\d{2}-\d{2})")


# --- the session's entries ---------------------------------------------------------------------------------------
def own_entries(branch: S.Branch) -> list[S.Entry]:
    """The entries a branch made itself: a fork's log begins with copies of its parent's turns before the fork."""
    start = branch.origin.turn if branch.origin is not None else 0
    return [entry for entry in branch.log if entry.turn >= start]


def shares_past(session: S.Session, home: S.Branch, ahead: S.AheadEntry, other: S.Branch) -> bool:
    """Whether `other` stood where `home` stood when it showed the look-ahead `ahead`: the same turns before it,
    and the same moves of its turn before it (later moves of that turn are decisions taken after it)."""
    turn, index = ahead.turn, next(i for i, x in enumerate(home.log) if x is ahead)
    if [x for x in other.log if x.turn < turn] != [x for x in home.log if x.turn < turn] or other.turn < turn:
        return False
    before = [x for x in home.log[:index] if x.turn == turn and x.kind == "move"]
    return [x for x in other.log if x.turn == turn and x.kind == "move"][:len(before)] == before


@contextmanager
def at_turn(game: Game, turn: int) -> Iterator[Game]:
    """The game as it stood at the start of `turn` (moves dated later are ignored by what it reveals)."""
    saved, game.turn = game.turn, turn
    try:
        yield game
    finally:
        game.turn = saved


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _move_words(entry: S.MoveEntry | S.Move) -> str:
    verb = {"inject": "takes", "block": "declines", "force": "forces"}[entry.action]
    until = f" until {entry.until}" if entry.until is not None else (" for the rest of the game"
                                                                       if entry.action == "block" else "")
    return f"{verb} {entry.option} on {entry.day}{until}"


def _option_label(model: Model, option: str) -> str:
    spec = model.scenario.options.get(option)
    return f"{option} ({spec.label})" if spec is not None and spec.label else option


# --- what happened by a date -------------------------------------------------------------------------------------
def _outcome_refs(model: Model) -> dict[str, list[tuple[str, int]]]:
    """What a look-ahead's outcome label names in a run record: ('rung', index) or ('event', index)."""
    refs: dict[str, list[tuple[str, int]]] = {}
    for track in model.tracks:
        for k, rung in enumerate(track.rung_labels):
            refs.setdefault(f"{track.label} at or above {rung}", []).append(("rung", track.offset + k))
    labels = event_labels(model)
    for j, event in enumerate(model.events):
        refs.setdefault(labels.get(event, event), []).append(("event", j))
    return refs


def _first_day(game: Game, refs: list[tuple[str, int]]) -> float | None:
    """The first day of an outcome in the game's revealed path (NaN: not yet); None if the label is ambiguous."""
    if len(refs) != 1:
        return None
    kind, i = refs[0]
    rec = game.now
    day = rec.at_or_above[i] if kind == "rung" else rec.event_days[i]
    return math.nan if day is None or math.isnan(day) or day >= game.day else float(day)


def mark_end(model: Model, mark: str) -> float | None:
    """The first day after a look-ahead's mark ('by 2024-11-30 ...' ends with that day); None if unreadable."""
    found = _MARK.match(mark)
    return None if found is None else float((dt.date.fromisoformat(found[1]) - model.start).days + 1)


def outcome_status(game: Game, what: str, mark: str, refs: dict | None = None) -> str:
    """Whether the outcome `what` had happened by the look-ahead's `mark` in the game's path: HAPPENED (with its
    date), NOT_BY, or NOT_REACHED when the game stopped before the mark's end."""
    refs = _outcome_refs(game.model) if refs is None else refs
    end = mark_end(game.model, mark)
    if end is None or what not in refs:
        return "cannot tell (an outcome or date this scenario does not name)"
    day = _first_day(game, refs[what])
    if day is None:
        return "cannot tell (several events share this label)"
    if not math.isnan(day) and day < min(end, game.day):
        return f"{HAPPENED} ({game.date(day)})"  # seen in the game, before the date: whether or not it got there
    if game.day < end:
        return NOT_REACHED  # not seen before the game stopped: what followed is unknown
    return NOT_BY


# --- figures -----------------------------------------------------------------------------------------------------
def path_figure(paths: list[tuple[str, Game]], title: str, moves: bool = True) -> str:
    """Each track's rung over the game's played time as step lines, one line per (name, game); with `moves`, the
    first game's moves marked (team, option, date). Inline SVG."""
    model = paths[0][1].model
    tracks = model.tracks
    fig = Figure(figsize=(12, 1.9 * len(tracks) + 1.6), layout="constrained")
    axes = fig.subplots(len(tracks), 1, sharex=True, squeeze=False)[:, 0]
    end = max(game.day for _, game in paths)
    for t, (ax, track) in enumerate(zip(axes, tracks)):
        for k, (name, game) in enumerate(paths):
            steps = [(d, r) for d, r in game.now.level_paths[t] if d < game.day] or [(0.0, 0)]
            x = [game.date(max(d, 0.0)) for d, _ in steps] + [game.date(game.day)]
            y = [r for _, r in steps] + [steps[-1][1]]
            ax.step(x, y, where="post", lw=2.4, color=OKABE_ITO[k % len(OKABE_ITO)] if len(paths) > 1 else INK,
                    ls="-" if k == 0 else "--", label=name)
        ax.set_yticks(range(len(track.rungs)), [wrap(r, 30) for r in track.rung_labels], fontsize=TICK - 3)
        ax.set_ylim(-0.5, len(track.rungs) - 0.5)
        ax.set_title(track.label, loc="left", fontsize=TICK, color=INK)
        clean_axes(ax)
        ax.tick_params(labelsize=TICK - 3)
    subtitle = _mark_moves(axes, paths[0][1]) if moves and paths[0][1].moves else ""
    axes[-1].set_xlim(model.start, paths[0][1].date(max(end, 1.0)))  # a game not yet played: its first day
    if len(paths) > 1:
        axes[0].legend(fontsize=NOTE, frameon=False, loc="upper left")
    fig.suptitle(title + (f"\nMoves: {subtitle}" if subtitle else ""), x=0.01, ha="left", fontsize=TICK,
                 color=INK)
    return inline_svg(fig)


def _mark_moves(axes, game: Game) -> str:
    """A dotted line at each move's day on every track, numbered on the first; returns the numbered moves' words
    (number, date, team, move) for the subtitle."""
    by_day: dict[float, list[str]] = {}
    for m in game.moves:
        by_day.setdefault(m.day, []).append(f"{m.team} {move_text(game, m)}")
    words = []
    for n, (day, said) in enumerate(sorted(by_day.items()), 1):
        for ax in axes:
            ax.axvline(game.date(day), color=MUTED, ls=":", lw=1.2)
        axes[0].annotate(str(n), xy=(game.date(day), 0.97), xycoords=("data", "axes fraction"), xytext=(3, 0),
                         textcoords="offset points", fontsize=NOTE, fontweight="bold", color=INK, va="top",
                         bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": MUTED})
        words.append(f"({n}) {game.date(day)}: " + "; ".join(said))
    return wrap("   ".join(words), 150)


def _fan_image(folder: Path, figure: str | None) -> str:
    """The look-ahead's fan chart as it was shown, embedded (PNG, base64), or a line saying why not."""
    if figure is None:
        return ""
    path = folder / figure
    try:
        data = path.read_bytes()
    except OSError:
        return f"<p><small>Its fan chart {e(figure)} is not beside the session file.</small></p>"
    if not data.startswith(b"\x89PNG"):
        return f"<p><small>Its fan chart {e(figure)} is not a PNG image; not shown.</small></p>"
    return (f'<figure><img alt="the fan chart shown" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
            f"<figcaption>The fan chart shown at the table ({e(figure)}).</figcaption></figure>")


# --- sections ----------------------------------------------------------------------------------------------------
def _ordered(session: S.Session) -> list[S.Branch]:
    current = session.branch()
    return [current] + [b for b in session.branches if b is not current]


def _origin(session: S.Session, branch: S.Branch) -> str:
    mark = " (the current branch)" if branch.name == session.current else ""
    if branch.origin is None:
        return f"played from the start{mark}"
    return f"forked from {branch.origin.branch} at the start of turn {branch.origin.turn + 1}{mark}"


def _timeline(session: S.Session, branch: S.Branch, game: Game) -> str:
    """One branch's path: the figure, its moves and notes, and the events with their true causes."""
    rows = []
    for x in branch.log:
        if x.kind in ("move", "pass", "note"):
            what = (_move_words(x) if x.kind == "move" else "passes" if x.kind == "pass" else f"note: {x.text}")
            reason = getattr(x, "reason", "")
            rows.append([e(f"{x.turn + 1}"), e(x.team), e(what), e(reason), e(_when(x.at))])
    moves = table(["turn", "who", "decision", "reason", "logged at"], rows, "story") if rows else \
        "<p>No move, pass or note was logged.</p>"
    events = [[e(game.date(x.day)), e(x.subject), e(x.text), e(x.cause if x.kind in CAUSED_KINDS else "")]
              for x in game.happened(0.0)]
    title = f"Branch {branch.name}: {game.turn} turns played, {game.model.start} to {game.date()}"
    return (f"<h3>Branch {e(branch.name)}</h3><p>{e(_origin(session, branch))}; {game.turn} turns played, to "
            f"{e(game.date())}; {len(game.moves)} moves.</p>"
            f"<figure>{path_figure([(branch.name, game)], title)}<figcaption>Each track's rung on the path played "
            f"(the truth), with the moves marked.</figcaption></figure>{moves}"
            f"<h4>What happened ({len(events)} events), and why</h4>"
            + (table(["date", "who", "what", "true cause"], events, "story dated") if events else
               "<p>Nothing happened before the game stopped.</p>"))


def _decisions(session: S.Session, tables: Table) -> str:
    """Per team, each decision it logged (on the branch that made it) beside what it knew then and the truth."""
    parts = []
    for team in [*session.teams, UMPIRE]:
        rows = []
        for branch in _ordered(session):
            game = tables.game(branch.name)
            for x in own_entries(branch):
                if x.kind in ("move", "pass") and x.team == team:
                    with at_turn(game, x.turn) as then:
                        knew, truth = _knowledge(then, team)
                    what = _move_words(x) if x.kind == "move" else "passes"
                    rows.append([e(branch.name), e(f"{x.turn + 1} ({then.date(x.turn * then.turn_days)})"), e(what),
                                 e(x.reason), e(_when(x.at)), knew, truth])
        if team == UMPIRE and not rows:
            continue
        actors = ", ".join(session.teams.get(team, ())) or "the facilitator"
        parts.append(f"<h3>{e(team)} <small>({e(actors)})</small></h3>")
        parts.append(table(["branch", "turn", "decision", "reason", "logged at", "what it knew then",
                            "the truth then"], rows, "story") if rows else "<p>No decision logged.</p>")
    return "".join(parts)


def _knowledge(game: Game, team: str) -> tuple[str, str]:
    """What `team` knew at the game's turn (the tracks, which every team sees, and its intelligence's estimates
    with the day each was learnt) and the truth then (every variable's true value), as two HTML cells."""
    tracks = "<br>".join(f"{e(label)}: {e(rung)}" for label, rung in game.levels())
    truth = "<br>".join(f"{e(label)}: {value:,.0f}" for label, value, _ in game.truth())
    if team == UMPIRE:
        return f"<em>the truth (the umpire sees it)</em><br><small>{tracks}</small>", truth
    estimates = game.estimates(team)
    knew = "<br>".join(f"{e(label)}: ~{value:,.0f} <small>("
                       + (f"learnt {e(game.date(day))}" if day is not None else "since the start") + ")</small>"
                       for label, value, day in estimates) or "<em>no intelligence of its own</em>"
    return f"{knew}<br><small>{tracks}</small>", truth


def _aheads(session: S.Session, tables: Table, folder: Path) -> str:
    """Each look-ahead, once (on the branch that showed it), beside what then happened on every branch that
    stood where it was shown."""
    parts, n = [f'<p class="note">{e(FORECAST_NOTE)}</p>'], 0
    for home in _ordered(session):
        for x in own_entries(home):
            if x.kind == "ahead":
                n += 1
                paths = [b for b in _ordered(session) if shares_past(session, home, x, b)]
                parts.append(_ahead(n, home, x, [(b, tables.game(b.name)) for b in paths], folder))
    return "".join(parts) if n else "<p>No look-ahead was shown during the game.</p>"


def _ahead(n: int, home: S.Branch, x: S.AheadEntry, paths: list[tuple[S.Branch, Game]], folder: Path) -> str:
    model = paths[0][1].model
    start = paths[0][1].date(x.turn * paths[0][1].turn_days)
    what = f"{x.team} {_move_words(x.move)}" if x.move else "no move: the futures as things stood"
    marks, refs = list(x.result.get("marks", [])), _outcome_refs(model)
    followed = "; ".join(f"{b.name}: {_arm(b, x)}" for b, _ in paths)
    rows, quiet = [], 0
    for forecast in stored_rows(x.result):
        outcome = forecast[0].what
        status = {b.name: [outcome_status(game, outcome, m, refs) for m in marks] for b, game in paths}
        if not any(r.p or r.p_move for r in forecast) and \
                not any(s.startswith(HAPPENED) or "it happened" in s for ss in status.values() for s in ss):
            quiet += 1
            continue
        rows.append([e(outcome)] + [_forecast(forecast[k]) + "".join(_status(name, ss[k])
                                                                     for name, ss in status.items())
                                    for k in range(len(marks))])
    head = (f"<h3>Look-ahead {n}: {e(what)}</h3><p>Shown on branch {e(home.name)} at turn {x.turn + 1} ({e(start)}), "
            f"{x.futures:,} futures" + (" per arm, paired" if x.move else "") + f"; logged {e(_when(x.at))}. "
            f"Set beside the path of {e(followed)}. Each cell: the forecast"
            + (" (without the move → with it)" if x.move else "") + "; below the line, what happened on each "
            "path by that date.</p>")
    body = table(["outcome"] + marks, rows, "story") if rows else "<p>Its result lists no outcome.</p>"
    tail = f"<p>{quiet} more outcomes were in none of its futures and did not happen in the game.</p>" if quiet else ""
    return head + _fan_image(folder, x.figure) + body + tail


def _arm(branch: S.Branch, x: S.AheadEntry) -> str:
    """Which of the look-ahead's arms a branch then followed."""
    if x.move is None:
        return "its futures are those of the game as it stood"
    took = made_move(branch, x)
    return "made the move (read the forecast with it)" if took else "did not make it (read the forecast without it)"


def _forecast(r: Row) -> str:
    """A forecast cell: the probability (without the move -> with it) and, in small print, the 95% interval
    without it and the paired change with its 95% interval."""
    if r.p_move is None:
        return share_cell(r.p, r.p_low, r.p_high)
    return (f"{percent(r.p, 1)} → {percent(r.p_move, 1)}<br><small>without: "
            f"{percent_range(r.p_low, r.p_high, 1)}; change {100 * r.diff:+.1f} pts "
            f"({100 * r.diff_low:+.1f} to {100 * r.diff_high:+.1f})</small>")


def _status(branch: str, status: str) -> str:
    css = "happened" if status.startswith(HAPPENED) else "reached"
    return f'<div class="{css}">{e(branch)}: {e(status)}</div>'


def _branches(session: S.Session, tables: Table) -> str:
    """The current branch beside each other one: the paths overlaid, and the comparison `compare` prints."""
    current, others = session.branch(), _ordered(session)[1:]
    if not others:
        return "<p>One branch was played: there is nothing to compare.</p>"
    parts = []
    for other in others:
        turn = parting_turn(current, other)
        games = [(current.name, tables.game(current.name)), (other.name, tables.game(other.name))]
        parting = games[0][1].date(turn * games[0][1].turn_days)
        lines = "\n".join(compare_branches(tables, current, other))
        parts.append(f"<h3>{e(current.name)} and {e(other.name)}</h3><figure>"
                     f"{path_figure(games, f'{current.name} and {other.name}: they part on {parting}', False)}"
                     f"<figcaption>Each track's rung on both paths (solid: {e(current.name)}; dashed: "
                     f"{e(other.name)}).</figcaption></figure><pre>{e(lines)}</pre>")
    return "".join(parts)


def _teams(session: S.Session, model: Model) -> str:
    actors = model.scenario.actors
    rows = [[e(team), e(", ".join(f"{a} ({actors[a].label})" if a in actors else a for a in members))]
            for team, members in session.teams.items()]
    return table(["team", "actors it plays"], rows, "story")


def render(session: S.Session, model: Model, session_path: Path, tables: Table | None = None) -> str:
    """The after-action report of a session (whose scenario compiled to `model`) as one HTML page; `tables`, a
    control.Table of the session whose branches are replayed already, if the caller has one. Raises
    control.ReplayError or game.MoveError if a branch's log does not replay."""
    tables = tables or Table(session, None, model)
    for branch in session.branches:
        tables.game(branch.name)  # every branch replayed (and checked) before anything is written
    s = model.scenario
    title = getattr(s, "title", None) or s.name
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} — after-action report</title><style>{CSS}{EXTRA_CSS}</style></head>
<body><main>
<h1>After-action report: {e(title)}</h1>
<p class="lead">Session {e(Path(session_path).name)}: seed {session.seed}, turns of {session.turn_days} days, from
{e(model.start)}; {len(session.branches)} branch(es), current: {e(session.current)}; started
{e(_when(session.created))}.</p>
<p class="umpire">The umpire's record: this page shows the truth (true values, true causes), which the teams did
not see during the game.</p>
{_teams(session, model)}
<h2>The path played</h2>{"".join(_timeline(session, b, tables.game(b.name)) for b in _ordered(session))}
<h2>Each team's decisions, what it knew, and the truth</h2>
<p>Each decision beside its team's intelligence at the start of that turn (its own estimates, late and imprecise)
and the true values then.</p>{_decisions(session, tables)}
<h2>Look-aheads beside what then happened</h2>{_aheads(session, tables, Path(session_path).parent)}
<h2>The branches compared</h2>{_branches(session, tables)}
</main><footer>escalsim {e(__version__)} — scenario {e(session.scenario.path)} (sha256
<code>{e(session.scenario.sha256)}</code>); every branch replayed from the session's log. Intervals are 95%: Wilson
for a probability, Newcombe (paired) for a change.</footer>
</body></html>
"""
