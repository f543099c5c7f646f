"""The report's tables as HTML, in the order of the printed summary: moves made in every run, the main events by
date, the tracks (at or above each rung by date, first day at or above), the rungs entered with their causes, the
key variables and the decisions taken more than once. Every text from the scenario file is escaped here."""

from __future__ import annotations

import html

import pandas as pd

from escalsim.outputs import analysis
from escalsim.outputs.contract import main_events, shown_rungs
from escalsim.outputs.labels import date_label, end_label, event_label, moves_made, percent, percent_range
from escalsim.outputs.tables import MOST_CAUSES, key_variable_rows, shown_marks
from escalsim.stats import wilson


def e(value) -> str:
    """A value as escaped HTML text (quotes too)."""
    return html.escape(str(value), quote=True)


def share_cell(p: float, low: float, high: float) -> str:
    """'38.1%' over its 95% interval in small print ('36.0–40.2%')."""
    return f"{percent(p, 1)}<br><small>{percent_range(low, high, 1)}</small>"


def table(header: list[str], rows: list[list[str]], css: str = "", nowrap: int = 0) -> str:
    """An HTML table (of CSS class `css`): the header's texts are escaped here, the cells must be HTML already. A
    row of one cell is a heading row across the table (a side, a track). The header cells 1 to `nowrap` (dates)
    are never broken."""
    head = "".join(f'<th class="nw">{e(h)}</th>' if 0 < i <= nowrap else f"<th>{e(h)}</th>"
                   for i, h in enumerate(header))
    body = "".join(f'<tr class="group"><th colspan="{len(header)}">{row[0]}</th></tr>' if len(row) == 1 else
                   "<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table{f' class={css!r}' if css else ''}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def grouped(labelled: list[tuple[str, str]], cells) -> list[list[str]]:
    """Rows of (key, label) pairs: consecutive labels 'Who: what' of one side or track (two or more) under a
    heading row 'Who', each row `[what] + cells(key)` (escaped label, HTML cells)."""
    rows: list[list[str]] = []
    i = 0
    while i < len(labelled):
        who = labelled[i][1].partition(": ")[0] if ": " in labelled[i][1] else ""
        j = i
        while who and j + 1 < len(labelled) and labelled[j + 1][1].startswith(f"{who}: "):
            j += 1
        if j > i:
            rows.append([e(who)])
            rows += [[e(label.partition(": ")[2])] + cells(key) for key, label in labelled[i:j + 1]]
        else:
            rows.append([e(labelled[i][1])] + cells(labelled[i][0]))
        i = j + 1
    return rows


def moves(m: dict, runs: pd.DataFrame | None = None) -> str:
    """'Moves made in every run:' and a list of them (with the runs, how often an injected decision had happened
    by the end of its day), or '' when the runs were made without moves."""
    made = moves_made(m, runs)
    if not made:
        return ""
    items = "".join(f"<li>{e(move)}</li>" for move in made)
    return f'<div class="moves"><p><strong>Moves made in every run:</strong></p><ul>{items}</ul></div>'


def _header(m: dict, first: str, marks) -> list[str]:
    return [first] + [f"by {end_label(m, day)}" for _, day in marks]


def events(runs: pd.DataFrame, m: dict) -> str:
    """The main events: the share of runs in which each had happened by each date (95% intervals), grouped by side;
    those that happened in every run on or before the start are named below, as certain."""
    chosen = main_events(m)
    if not chosen:
        return "<p>The scenario has no options, treaties or flags.</p>"
    certain = set(analysis.certain_events(runs, m, chosen))
    marks = shown_marks(m)
    probs = analysis.event_probabilities(runs, m, [x for x in chosen if x not in certain]).set_index(["event", "by"])
    rows = grouped([(x, event_label(m, x)) for x in probs.index.unique("event")],
                   lambda x: [share_cell(*probs.loc[(x, by), ["p", "low", "high"]]) for by, _ in marks])
    parts = [f"<p>The share of the {len(runs):,} runs in which each event had happened by the end of each date, "
             "and its 95% Wilson interval. Every checkpoint, and every event (treaty steps and deployment stages "
             "too): <code>summary_events.csv</code>.</p>"]
    if rows:
        parts.append(table(_header(m, "event", marks), rows, "events", len(marks)))
    if certain:
        names = "; ".join(event_label(m, x) for x in chosen if x in certain)
        parts.append(f"<p>Certain, so not in the table (in every run, on or before the start): {e(names)}.</p>")
    return "".join(parts)


def tracks(runs: pd.DataFrame, m: dict) -> str:
    """Each rung above its track's start: P(at or above it) by each date, and the first day at or above it."""
    marks = shown_marks(m)
    probs = analysis.rung_probabilities(runs, m).set_index(["rung", "by"])
    fp = analysis.first_passage_quantiles(runs, m).set_index("rung")
    rows = grouped(shown_rungs(m), lambda r: [share_cell(*probs.loc[(r, by), ["p", "low", "high"]]) for by, _ in marks]
                   + [e(date_label(m, fp.loc[r, "median"])),
                      e(f"{date_label(m, fp.loc[r, 'q05'])} – {date_label(m, fp.loc[r, 'q95'])}")])
    intro = ("<p>The share of runs whose track was at or above each rung (on it or on a higher one) at some time by "
             "the end of each date, with 95% Wilson intervals; and the first day at or above it, among the runs "
             "that got there by the horizon.</p>")
    return intro + table(_header(m, "at or above the rung", marks) + ["first day at or above: median", "5–95% range"],
                         rows, "tracks", len(marks))


def entered(runs: pd.DataFrame, m: dict) -> str:
    """Each rung above its track's start: the runs that entered it (were on it), passed over it, and what first put
    the track on it among the runs that entered it; a rung only passed over gets no cause."""
    entries = analysis.rung_entries(runs, m).set_index("rung")
    causes = analysis.entry_causes(runs, m)
    n = len(runs)

    def cells(r: str) -> list[str]:
        x = entries.loc[r]
        passed = share_cell(*wilson(x["passed_over"], n)) if x["passed_over"] else "–"
        return [share_cell(x["p"], x["low"], x["high"]), passed, _causes(x, causes[causes["rung"] == r], n)]

    intro = ("<p>A rung is entered when the track is on it; a jump (several rungs at once) passes over the rungs "
             "between, which are then at or above but never entered, and have no cause. The causes are shares of "
             "the runs that entered the rung; all of them: <code>summary_causes.csv</code>.</p>")
    return intro + table(["rung", "entered (95% CI)", "passed over (95% CI)", "what first put the track on it"],
                         grouped(shown_rungs(m), cells), "entered")


def _causes(entry, causes: pd.DataFrame, n: int) -> str:
    if not entry["entered"]:
        if entry["passed_over"]:
            return f"<em>passed over in {percent(entry['passed_over'] / n)} of runs, never entered</em>"
        return "<em>no run was at or above it</em>"
    shown = len(causes) if len(causes) <= MOST_CAUSES + 1 else MOST_CAUSES
    lines = [f"{percent(c.share)} {e(c.cause)}" for c in causes.head(shown).itertuples()]
    rest = causes.iloc[shown:]
    if len(rest):
        lines.append(f"{percent(rest['share'].sum())} {len(rest)} other causes")
    return "<br>".join(lines)


def key_variables(runs: pd.DataFrame, m: dict) -> str:
    """The key variables' table of `escalsim run`: median [5%, 95%] at each checkpoint (by its date) and the horizon."""
    header, rows = key_variable_rows(runs, m)
    if not rows:
        return "<p>The scenario has no variables to show.</p>"
    days = {c["name"]: c["day"] for c in m["checkpoints"]} | {"horizon": m["horizon_days"]}
    cells = [[f"{e(end_label(m, days[at]))} <small>({e(at)})</small>"] + [e(c) for c in rest] for at, *rest in rows]
    return ("<p>Median across the runs, and in brackets the 5% and 95% quantiles, at the end of each date.</p>"
            + table(["at the end of"] + header[1:], cells, "variables"))


def repeated(runs: pd.DataFrame, m: dict) -> str:
    """The options taken more than once in some run, and how often; '' if the scenario has no options."""
    if not m.get("options"):
        return ""
    counts = analysis.repeated_decisions(runs, m)
    if counts.empty:
        return "<p>Every option was taken at most once per run.</p>"
    rows = [[e(c.label), f"{c.mean:.2f}", percent(c.p), f"{c.mean_when_taken:.2f}", f"{c.max:,}"]
            for c in counts.itertuples()]
    return (table(["decision", "mean times taken", "taken in", "mean times, in the runs that took it",
                   "most in one run"], rows) + "<p>Every other option was taken at most once per run.</p>")
