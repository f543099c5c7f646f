"""One run's timeline for briefings: its rung as a step line and its key events as dated labels."""

from __future__ import annotations

import re

import matplotlib
import matplotlib.dates as mdates
import matplotlib.patches
import numpy as np

from escalsim.outputs.contract import check_results, level_rows, run_position, track_of
from escalsim.outputs.labels import day_date, day_dates, scenario_title, track_prefix, wrap
from escalsim.outputs.style import (
    INK,
    KIND_COLOURS,
    KIND_NAMES,
    MUTED,
    NOTE,
    TICK,
    TIMELINE_KINDS,
    begin,
    clean_axes,
    date_axis,
    legend_below,
    rung_axis,
    steps,
    text_width,
    titles,
)

# --- one run's timeline ----------------------------------------------------------------------------------
LADDER_MOVE = re.compile(r"^(up|down) to (.+?)(?: \(from .*\))?$")
MAX_BAND, MIN_RUNG_HEIGHT = 0.7, 0.45            # event labels take at most 70% of the height; rungs >= 0.45 in
PRIORITY = {"treaty": 0, "decision": 1, "obligation": 2, "injection": 3, "ladder": 4}  # dropped first: lowest
LABEL_FITS = ((10.5, 100), (10.5, 80), (10.5, 64), (10, 54), (9, 46), (8.5, 40))  # (points, characters) to try


def run_timeline(results, run: int, ax=None, track: str | None = None):
    """One traced run for a briefing: a track's rung as a step line, and the run's key events as dated labels below.

    Takes a results object, the run's index, an optional Axes and the track's id (None: the first); returns the
    Axes. Raises ValueError if the run is not held or has no stored trace, the track is unknown, the manifest
    lacks what figures read, or there is no level grid.
    """
    check_results(results)
    items, treaty = _key_events(results, run)
    m, _, ax = begin(results, ax)
    t = track_of(m, track)
    level = level_rows(results, [run_position(results, run, track)], track)[0]
    days = np.arange(len(level)) * float(m.get("grid_step", 1.0))
    x, y = steps(m, days, level)
    ax.step(x, y, where="post", color=INK, lw=2.6, gid="level")
    lo = min(int(level.min()), t["start"])
    hi = min(len(t["rungs"]) - 1, int(level.max()) + 1)
    rung_axis(ax, t, lo, hi)
    ax.set_ylabel("")
    date_axis(ax, m)
    clean_axes(ax)
    final, top = t["rung_labels"][int(level[-1])], t["rung_labels"][int(level.max())]
    reach = f"{track_prefix(m, t)}Highest rung: {top}" + ("" if final == top else f"; at the horizon: {final}")
    subtitle = f"{wrap(scenario_title(m), 110)}\n{reach}"
    titles(ax, f"One simulated course of events (run {run})", subtitle)
    _kind_legend(ax, items, treaty)
    hidden = _place_labels(ax, m, items, lo, hi)
    if hidden:  # beside the footer: nothing drawn now may move the layout the labels were fitted to
        ax.figure.text(0.99, 0.008, f"{hidden} minor events not shown (escalsim trace lists them all)",
                       fontsize=NOTE - 1, color=MUTED, ha="right", va="bottom", in_layout=False)
    return ax


def traced_runs(results) -> list[int]:
    """The indices of the runs whose full trace is stored in `results.traces`, in increasing order."""
    return sorted(int(r) for r in results.traces["run"].unique()) if len(results.traces) else []


def check_traced(results, run: int) -> None:
    """Check that `run` is one of the results' runs and has a stored trace; returns None.

    Raises ValueError naming the runs held, or the runs that have traces.
    """
    held = results.runs["run"].to_numpy()
    if len(held) == 0 or run not in held:
        span = f"runs {held.min()} to {held.max()}" if len(held) else "no runs"
        raise ValueError(f"run {run} is out of range: the results hold {span}")
    traced = traced_runs(results)
    if run not in traced:
        which = f"traces are stored for runs {_ranges(traced)}" if traced else "no run has a stored trace"
        raise ValueError(f"run {run} has no stored trace; {which}")


def _ranges(values: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    parts, i = [], 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ", ".join(parts)


def _key_events(results, run: int) -> tuple[list[dict], str]:
    """Decisions, treaty steps, obligations, injections and ladder moves of a run, one label each, and the
    treaty's name if only one treaty appears (its name then goes in the legend, not on every label).

    A ladder move caused by an event on the same day joins that event's label; repeated decisions are
    counted on their first label; a treaty step restated the same day ("in force") is dropped.
    """
    check_traced(results, run)
    t = results.traces[(results.traces["run"] == run) & results.traces["kind"].isin(TIMELINE_KINDS)]
    treaties = t.loc[t["kind"] == "treaty", "subject"].unique()
    treaty = str(treaties[0]) if len(treaties) == 1 else ""
    items: list[dict] = []
    for e in t.sort_values("day", kind="stable").itertuples(index=False):
        what = e.text.split(" → ")[0]
        if e.kind == "ladder":
            if not _join_move(items, e):
                cause = (e.cause or "ladder").capitalize()
                items.append(_item(e.day, "ladder", "", f"{cause}: {_move(e.text)}", _move(e.text)))
        elif e.kind == "treaty":
            if not any(i["kind"] == "treaty" and i["day"] == e.day and what in i["what"] for i in items):
                items.append(_item(e.day, "treaty", "" if treaty else e.subject, what))
        else:
            what = what.replace(treaty, "the treaty") if treaty else what
            same = [i for i in items if (i["kind"], i["who"], i["what"]) == (e.kind, e.subject, what)]
            if same and e.kind == "decision":
                same[0]["count"] += 1
            else:
                items.append(_item(e.day, e.kind, e.subject, what))
    return items, treaty


def _item(day: float, kind: str, who: str, what: str, move: str = "") -> dict:
    return {"day": day, "kind": kind, "who": who, "what": what, "count": 1, "move": move}


def _move(text: str) -> str:
    match = LADDER_MOVE.match(text)
    return f"{'↑' if match.group(1) == 'up' else '↓'} {match.group(2)}" if match else text


def _join_move(items: list[dict], e) -> bool:
    """Attach a ladder move to the same-day event that caused it ('Kyiv: reports ...' caused by Kyiv's decision)."""
    for item in reversed(items):
        if item["day"] != e.day:
            return False
        if item["who"] and not item["move"] and (e.cause or "").startswith(item["who"] + ":"):
            item["move"] = _move(e.text)
            return True
    return False


def _label(item: dict, manifest: dict, chars: int) -> str:
    date = day_date(manifest, item["day"])
    tail = f" (×{item['count']})" if item["count"] > 1 else ""  # a move shows as a triangle and on the step line
    text = f"{item['who']}: {item['what']}" if item["who"] else item["what"]
    room = max(12, chars - len(tail))
    if len(text) > room:
        text = text[:room - 1].rstrip() + "…"
    return f"{date.day} {date:%b}   {text}{tail}"


def _place_labels(ax, manifest: dict, items: list[dict], lo: int, hi: int) -> int:
    """Labels in rows under the step line, each starting at its event's date, packed so that none overlap.

    Tries shorter labels and smaller type until they fit; then leaves out the least important events
    (treaty steps first, ladder moves last). Returns how many were left out.
    """
    fig = ax.figure
    fig.draw_without_rendering()                     # settle the layout to measure the axes
    box = ax.get_window_extent()
    x0, x1 = ax.get_xlim()
    px_per_pt = fig.dpi / 72
    span = hi - lo + 1
    max_band = min(MAX_BAND, 1 - span * MIN_RUNG_HEIGHT * fig.dpi / box.height)
    days_per_pt = (x1 - x0) / box.width * px_per_pt
    items, fits, hidden = list(items), list(LABEL_FITS), 0
    while True:
        for size, chars in fits:
            labels, spans = _spans(items, manifest, chars, size, days_per_pt, x0, x1)
            rows = _rows(spans)
            row_frac = 1.7 * size * px_per_pt / box.height
            band = (max(rows, default=-1) + 1.6) * row_frac if items else 0.0
            if band <= max_band:
                break
        if band <= max_band or len(items) <= 1:
            break
        items.remove(min(items, key=lambda i: PRIORITY[i["kind"] if not i["move"] else "ladder"]))
        fits, hidden = fits[-1:], hidden + 1  # from now on only the smallest type
    ax.set_ylim(hi + 0.5 - span / (1 - band), hi + 0.5)
    ax.axhline(lo - 0.5, color="#bbbbbb", lw=0.8)
    xy = matplotlib.transforms.blended_transform_factory(ax.transData, ax.transAxes)
    for item, label, (_start, _end, right), row in zip(items, labels, spans, rows):
        colour = KIND_COLOURS["ladder"] if item["move"] else KIND_COLOURS[item["kind"]]
        xd, yf = mdates.date2num(day_dates(manifest, [item["day"]])[0]), band - (row + 1.1) * row_frac
        ax.plot([xd], [yf], transform=xy, marker="^" if item["move"].startswith("↑") else "o", ms=7, color=colour,
                clip_on=False, gid=f"event:{item['kind']}")
        ax.annotate(label, (xd, yf), xycoords=xy, xytext=(-6 if right else 6, 0), textcoords="offset points",
                    ha="right" if right else "left", va="center", fontsize=size, color=INK, gid="event-label",
                    in_layout=False)
        if item["move"]:
            ax.axvline(xd, ymin=band, ymax=1, color=colour, lw=1, ls=":", alpha=0.8)
    return hidden


def _kind_legend(ax, items: list[dict], treaty: str) -> None:
    kinds = list(dict.fromkeys("ladder" if i["move"] else i["kind"] for i in items))
    names = KIND_NAMES | ({"treaty": f"{treaty}: step", "obligation": f"{treaty}: obligation"} if treaty else {})
    handles = [matplotlib.lines.Line2D([], [], marker="^" if k == "ladder" else "o", ls="", ms=7,
                                       color=KIND_COLOURS[k], label=names[k]) for k in kinds]
    if handles:
        legend_below(ax, handles, [h.get_label() for h in handles], ncols=(len(handles), 3, 2, 1), below=0.1,
                     fontsize=NOTE, handletextpad=0.2, columnspacing=1.5)
    else:
        ax.text(0.5, 0.25, "no decisions, treaty steps or ladder moves in this run", transform=ax.transAxes,
                ha="center", fontsize=TICK, color=MUTED)


def _spans(items, manifest, chars, size, days_per_pt, x_start, x_end):
    """Each label, and its extent on the date axis (matplotlib date units), right-aligned if it would run off
    the right; a label too long for either side is shortened."""
    labels, spans = [], []
    for item in items:
        x = float(mdates.date2num(day_dates(manifest, [item["day"]])[0]))
        room = max(x_end - x, x - x_start) / days_per_pt
        for n in range(chars, 11, -4):
            label = _label(item, manifest, n)
            width = text_width(label, size) + 22
            if width <= room:
                break
        width *= days_per_pt
        right = x + width > x_end
        labels.append(label)
        spans.append((x - width, x, True) if right else (x, x + width, False))
    return labels, spans


def _rows(spans) -> list[int]:
    """Greedy first-fit: the lowest row where the label overlaps no other label."""
    taken: list[list[tuple[float, float]]] = []
    rows = []
    for start, end, _right in spans:
        for r, row in enumerate(taken):
            if all(end <= a or start >= b for a, b in row):
                row.append((start, end))
                rows.append(r)
                break
        else:
            taken.append([(start, end)])
            rows.append(len(taken) - 1)
    return rows

