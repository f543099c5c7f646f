"""The summary of a results directory as plain-text tables (the CLI prints them; CSV copies go beside them).

The summary leads with what users ask ("did Seoul send weapons, and by when?"): the moves made in every run, then
the probability that each main event happened by each date; then the tracks (at or above each rung by each date,
and the first day at or above), the rungs entered with what put the track on them, the key variables, and the
decisions taken more than once in a run.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from escalsim.outputs import analysis
from escalsim.outputs.contract import key_variables, main_events, shown_rungs
from escalsim.outputs.csv_files import summary_frame, write_csv  # noqa: F401 - the CLI reads them here
from escalsim.outputs.labels import (
    date_label,
    end_label,
    event_label,
    moves_made,
    number,
    percent,
    variable_label,
)
from escalsim.outputs.textgrid import Row, label_room, paragraph, table, terminal_width, wrapped

MOST_CAUSES = 3     # causes listed under a rung entered; the rest are counted together
CELL = 11           # '100.0 ±0.1 '
LABEL_MIN = 46      # the first column of a probability table keeps at least this many characters
MOVES_TITLE = "Moves made in every run:"
EVENTS_TITLE = "Events: probability (%) that each happened by the end of each date"
RUNGS_TITLE = ("Tracks: probability (%) of being at or above each rung (on it or on a higher one) by the end of "
               "each date")
PASSAGE_TITLE = "First day at or above each rung: median and 5%-95% range among the runs at or above it by the horizon"
ENTERED_TITLE = "Rungs entered (the track on the rung itself) by the horizon, and what first put the track there"


def _pct(p: float, low: float, high: float) -> str:
    """'  5.1 ±1.2 ': the share and the half-width of its interval, in percentage points, for a column (the same
    width whatever the numbers, so that the shares line up)."""
    return f"{percent(p, 1, sign=False):>5} ±{percent((high - low) / 2, 1, sign=False):<4}"


def shown_marks(manifest: dict, most: int = 5) -> list[tuple[str, float]]:
    """At most `most` (name, day) marks for a table that fits a terminal: checkpoints before the horizon, those
    nearest to evenly spread days (horizon x 1/most, 2/most, ...) if there are more, then ('horizon', its day).
    Raises KeyError if the manifest lacks checkpoints or horizon_days."""
    horizon = manifest["horizon_days"]
    checkpoints = [(c["name"], c["day"]) for c in manifest["checkpoints"] if c["day"] < horizon]
    if len(checkpoints) >= most:
        picks = {min(range(len(checkpoints)), key=lambda j: (abs(checkpoints[j][1] - horizon * i / most), j))
                 for i in range(1, most)}
        checkpoints = [checkpoints[j] for j in sorted(picks)]
    return checkpoints + [("horizon", horizon)]


def fitting_marks(manifest: dict, width: int) -> list[tuple[str, float]]:
    """The marks of a probability table `width` columns wide: as many as leave LABEL_MIN for the labels (3 to 5:
    4 in 100 columns)."""
    return shown_marks(manifest, max(3, min(5, (width - LABEL_MIN) // (CELL + 2))))


def summary(runs: pd.DataFrame, manifest: dict, width: int | None = None) -> Iterator[str]:
    """The printed summary of many runs, line by line: the moves made in every run (if any), the probability of
    each main event by each date, of being at or above each rung by each date, the first day at or above, the
    rungs entered and their causes, the key variables by date and the decisions taken more than once in a run.

    Takes the runs table (the columns of `summary_frame` suffice), the manifest and the width to fit (None: the
    terminal's, 80 to 120 columns); yields lines of text. Raises KeyError if a column or manifest key is missing.
    """
    width = terminal_width(width)
    moves = moves_made(manifest, runs)
    if moves:
        yield MOVES_TITLE
        for move in moves:
            first, *rest = wrapped(move, width, "    ", hang=0)
            yield "  - " + first[4:]
            yield from rest
        yield ""
    for section in (_event_lines, _rung_lines, _first_passage_lines, _entered_lines, _variable_lines,
                    _repeated_lines):
        lines = list(section(runs, manifest, width))
        if lines:
            yield from lines
            if section is not _repeated_lines:
                yield ""


def _marks_header(manifest: dict, first: str, marks: list[tuple[str, float]]) -> list[str]:
    return [first] + [end_label(manifest, day) for _, day in marks]


def _event_lines(runs: pd.DataFrame, manifest: dict, width: int) -> Iterator[str]:
    """The main events (not those certain from the start), by date; the certain ones named in a line below."""
    events = main_events(manifest)
    if not events:
        return
    certain = set(analysis.certain_events(runs, manifest, events))
    marks = fitting_marks(manifest, width)
    probs = analysis.event_probabilities(runs, manifest, [e for e in events if e not in certain])
    yield from paragraph(f"{EVENTS_TITLE} ({len(runs):,} runs; ± is the half-width of the 95% Wilson interval)",
                         width)
    probs = probs.set_index(["event", "by"])
    rows = _grouped([(e, event_label(manifest, e)) for e in probs.index.unique("event")],
                    lambda e: [_pct(*probs.loc[(e, by), ["p", "low", "high"]]) for by, _ in marks])
    if rows:
        yield from table(_marks_header(manifest, "event", marks), rows, width)
    if certain:
        names = "; ".join(event_label(manifest, e) for e in events if e in certain)
        yield from paragraph(f"Certain, so not in the table (in every run, on or before the start): {names}.", width)
    yield from paragraph("(every checkpoint and every event, treaty steps and deployment stages too, with both "
                         "interval bounds: summary_events.csv)", width)


def _grouped(labelled: list[tuple[str, str]], cells, notes=None) -> list[Row]:
    """Table rows of (key, label) pairs, with `cells(key)` and `notes(key)`: two or more consecutive labels 'Who:
    what' of one actor (or track) become a heading 'Who:' and rows 'what' indented under it."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for key, label in labelled:
        who, sep, what = label.partition(": ")
        if sep and groups and groups[-1][0] == who:
            groups[-1][1].append((key, what))
        else:
            groups.append((who if sep else "", [(key, what if sep else label)]))
    rows = []
    for who, items in groups:
        if who and len(items) > 1:
            rows.append(Row(f"{who}:", []))
        for key, what in items:
            label = what if len(items) > 1 or not who else f"{who}: {what}"
            rows.append(Row(label, cells(key), notes(key) if notes else [], 2 if who and len(items) > 1 else 0))
    return rows


def _rung_lines(runs: pd.DataFrame, manifest: dict, width: int) -> Iterator[str]:
    probs = analysis.rung_probabilities(runs, manifest)
    marks = fitting_marks(manifest, width)
    yield from paragraph(f"{RUNGS_TITLE} ({len(runs):,} runs; ± as above)", width)
    probs = probs.set_index(["rung", "by"])
    rows = _grouped(shown_rungs(manifest), lambda r: [_pct(*probs.loc[(r, by), ["p", "low", "high"]])
                                                      for by, _ in marks])
    yield from table(_marks_header(manifest, "at or above the rung", marks), rows, width)
    if len(marks) < len(manifest["checkpoints"]) + 1:
        yield "(every checkpoint, with both interval bounds: summary_rungs.csv)"


def _first_passage_lines(runs: pd.DataFrame, manifest: dict, width: int) -> Iterator[str]:
    yield from paragraph(PASSAGE_TITLE, width)
    fp = analysis.first_passage_quantiles(runs, manifest).set_index("rung")
    rows = _grouped(shown_rungs(manifest), lambda r: [
        date_label(manifest, fp.loc[r, "median"]),
        f"{date_label(manifest, fp.loc[r, 'q05'])} .. {date_label(manifest, fp.loc[r, 'q95'])}"])
    yield from table(["rung", "median date", "5%-95% range"], rows, width)


def _entered_lines(runs: pd.DataFrame, manifest: dict, width: int) -> Iterator[str]:
    """Each rung above its track's start: the share of runs that entered it and that passed over it, and under it
    the main causes among the runs that entered it; a rung only passed over gets no cause."""
    entries = analysis.rung_entries(runs, manifest).set_index("rung")
    causes = analysis.entry_causes(runs, manifest)
    yield from paragraph(f"{ENTERED_TITLE}. Under each rung: the main causes, as shares of the runs that entered it. "
                         "Passed over: at or above it without ever being on it (a jump went past it).", width)
    rows = _grouped(shown_rungs(manifest), lambda r: [
        _pct(*entries.loc[r, ["p", "low", "high"]]),
        percent(entries.loc[r, "p_passed_over"], 1, sign=False) if entries.loc[r, "passed_over"] else "-"],
        lambda r: _cause_notes(entries.loc[r], causes[causes["rung"] == r], len(runs)))
    yield from table(["rung", "entered %", "passed over %"], rows, width)


def _cause_notes(entry, causes: pd.DataFrame, n: int) -> list[str]:
    """The lines under a rung of the entered table: its main causes, or why it has none."""
    if not entry["entered"]:
        if entry["passed_over"]:
            return [f"passed over in {percent(entry['passed_over'] / n)} of runs, never entered"]
        return ["no run was at or above it"]
    shown = len(causes) if len(causes) <= MOST_CAUSES + 1 else MOST_CAUSES  # never '1 other cause'
    notes = [f"{percent(c.share):>5}  {c.cause}" for c in causes.head(shown).itertuples()]
    rest = causes.iloc[shown:]
    if len(rest):
        notes.append(f"{percent(rest['share'].sum()):>5}  {len(rest)} other cause{'s' if len(rest) > 1 else ''}")
    return notes


def key_variable_rows(runs: pd.DataFrame, manifest: dict) -> tuple[list[str], list[list[str]]]:
    """The key variables' table: a header ('at', then each variable's label) and one row per checkpoint and the
    horizon, each cell 'median [5%, 95%]' across the runs. No key variables: the header alone and no rows.

    Takes the runs table (with the at.* and final.* columns of the key variables) and the manifest.
    Raises KeyError if a column is missing.
    """
    variables = key_variables(manifest)
    header = ["at"] + [manifest["labels"].get(v, v) for v in variables]
    if not variables:
        return header, []
    vq = analysis.variable_quantiles(runs, manifest, variables)
    rows = []
    for at in [c["name"] for c in manifest["checkpoints"]] + ["horizon"]:
        sel = vq[vq["at"] == at].set_index("variable")
        rows.append([at] + [_quantiles(sel.loc[v]) for v in variables])
    return header, rows


def _quantiles(row) -> str:
    return f"{number(row['median'])} [{number(row['q05'])}, {number(row['q95'])}]"


def _variable_lines(runs: pd.DataFrame, manifest: dict, width: int) -> Iterator[str]:
    """Key variables (rows) at a few dates (columns): as many dates as fit the width, at least two."""
    variables = key_variables(manifest)
    if not variables:
        return
    vq = analysis.variable_quantiles(runs, manifest, variables).set_index(["variable", "at"])
    for most in (5, 4, 3, 2):
        marks = shown_marks(manifest, most)
        rows = [Row(variable_label(manifest, v), [_quantiles(vq.loc[(v, at)]) for at, _ in marks]) for v in variables]
        header = _marks_header(manifest, "variable", marks)
        if label_room(width, header, rows) >= 24:
            break
    yield from paragraph("Key variables at the end of each date: median [5%, 95%] across the runs", width)
    yield from table(header, rows, width)
    yield "(every checkpoint and every variable: summary_variables.csv)"


def _repeated_lines(runs: pd.DataFrame, manifest: dict, width: int) -> Iterator[str]:
    """The options taken more than once in some run, with how often; a line saying the others were not."""
    if not manifest.get("options"):
        return
    counts = analysis.repeated_decisions(runs, manifest)
    if counts.empty:
        yield "Decisions: every option was taken at most once per run."
        return
    yield from paragraph("Decisions taken more than once in a run: mean times taken (all runs, and the runs that "
                         "took it), and the most in one run", width)
    rows = [Row(c.label, [f"{c.mean:.2f}", percent(c.p), f"{c.mean_when_taken:.2f}", f"{c.max:,}"])
            for c in counts.itertuples()]
    yield from table(["decision", "mean", "taken in", "mean if taken", "most"], rows, width)
    yield "Every other option was taken at most once per run."
