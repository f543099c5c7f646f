"""How likely each event is by each date: the cumulative share of runs in which the main events had happened, with
95% Wilson bands, for at most MOST_EVENTS events chosen by a stated rule (`chosen_events`)."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import PercentFormatter

from escalsim.outputs.contract import main_events
from escalsim.outputs.labels import day_dates, end_label, event_label, percent, wrap
from escalsim.outputs.passage import changes, passage_grid
from escalsim.outputs.style import INK, LABEL, MUTED, NOTE, OKABE_ITO, TICK, begin, clean_axes, date_axis, titles
from escalsim.stats import wilson

MOST_EVENTS = 12
OPEN = (0.01, 0.99)   # an event drawn happened by the horizon in more than 1% and fewer than 99% of the runs
RULE = ("the main events (decisions, obligations honoured, treaties in force, casus foederis, flags) that happened "
        "in 1% to 99% of the runs by the horizon, at most {most}: each side's in turn, its nearest 50% first")
COLOURS = [c for c in OKABE_ITO if c != "#F0E442"]  # Okabe-Ito without its yellow, too pale for a line on white
DASHES = ("-", "--")  # the first 7 events solid, the next ones dashed, in the same colours


def chosen_events(results, most: int = MOST_EVENTS) -> list[str]:
    """The events `event_curves` draws by default, so that every side's decisions show: among the main events
    (options, obligations, treaties in force, casus foederis, flags), those that happened by the horizon in more
    than 1% and fewer than 99% of the runs (the others are flat lines near 0 or 100%), grouped by side (the
    'Seoul' of a label 'Seoul: ...'; an event without one is a side of its own), sides in the scenario's order;
    then each side's most open event (share nearest 50%), each side's second, and so on, up to `most`. Returned
    from the most to the least likely by the horizon.

    Takes a results object; raises KeyError if the manifest lacks 'event_names' or an event column is missing.
    """
    m, runs = results.manifest, results.runs
    shares = {e: float(runs[f"event.{e}"].notna().mean()) for e in main_events(m)}
    sides: dict[str, list[str]] = {}
    for event, share in shares.items():
        if OPEN[0] < share < OPEN[1]:
            who, sep, _ = event_label(m, event).partition(": ")
            sides.setdefault(who if sep else f"\0{event}", []).append(event)
    queues = [sorted(events, key=lambda e: abs(shares[e] - 0.5)) for events in sides.values()]  # stable sort
    kept = [q[depth] for depth in range(max(map(len, queues), default=0)) for q in queues if depth < len(q)]
    return sorted(kept[:most], key=lambda e: -shares[e])


def event_curves(results, ax=None, events: list[str] | None = None):
    """The cumulative share of runs in which each event had happened by each date, with 95% Wilson bands, from the
    start to the horizon (an event before the start counts from the start). Labels from the manifest.

    Takes a results object, an optional Axes and the events to draw (None: `chosen_events`, at most 12; names of
    the manifest's 'event_names'); returns the Axes. Raises ValueError for an unknown event, a manifest that lacks
    what figures read or results without runs.
    """
    m, n, ax = begin(results, ax)
    known = m.get("event_names", [])
    unknown = [e for e in events or [] if e not in known]
    if unknown:
        raise ValueError(f"unknown event {', '.join(map(repr, unknown))}; the results hold: {', '.join(known)}")
    chosen = chosen_events(results) if events is None else list(events)
    horizon = m["horizon_days"]
    for i, event in enumerate(chosen):
        first = results.runs[f"event.{event}"].to_numpy(dtype=float)
        days = np.sort(np.clip(first[~np.isnan(first)], 0.0, horizon))
        steps = passage_grid(horizon)  # a fixed grid: the figure does not grow with the run count
        hits = np.searchsorted(days, steps, side="right")
        hits[-1] = len(days)
        steps, hits = changes(steps, hits)
        p, low, high = wilson(hits, n)
        x, colour = day_dates(m, steps), COLOURS[i % len(COLOURS)]
        ax.fill_between(x, low, high, step="post", color=colour, alpha=0.16, lw=0)
        ax.step(x, p, where="post", color=colour, lw=2.2, ls=DASHES[(i // len(COLOURS)) % 2], gid=f"event:{event}",
                label=_legend_label(m, event, p[-1]))
    ax.set_ylim(0, 1.0)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("Share of runs in which it had happened", fontsize=LABEL, color=INK)
    date_axis(ax, m)
    clean_axes(ax)
    rule = "" if events is not None else "\n" + wrap(f"Shown: {RULE.format(most=MOST_EVENTS)}.", 110)
    titles(ax, "How likely each event is by each date",
           f"Share of the {n:,} runs in which it had happened by each date; shaded: 95% Wilson interval.{rule}")
    if chosen:
        handles, names = ax.get_legend_handles_labels()
        ax.legend(handles, names, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=NOTE - 0.5, frameon=False,
                  title=f"Happened by {end_label(m, horizon)}", title_fontsize=NOTE + 0.5, alignment="left",
                  labelspacing=0.7)
    else:
        ax.text(0.5, 0.5, "No main event happened in 1% to 99% of the runs", transform=ax.transAxes, ha="center",
                fontsize=TICK, color=MUTED)
    return ax


def _legend_label(manifest: dict, event: str, share: float) -> str:
    """The event's label on at most two lines of about 40 characters, its share by the horizon at the end."""
    tail = f"  {percent(share)}"
    lines = wrap(event_label(manifest, event), 40).split("\n")
    if len(lines) > 2:
        lines = [lines[0], lines[1][:39].rstrip() + "…"]
    return "\n".join(lines) + tail
