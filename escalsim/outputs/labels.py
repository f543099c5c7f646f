"""How the outputs write things: shares as percentages, numbers, days as dates, and names from the manifest.

One function per idea, shared by the figures, the printed tables and the report.
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap

import numpy as np

from escalsim.outputs.contract import event_kinds


# --- shares and numbers ----------------------------------------------------------------------------------
def percent(p: float, decimals: int | None = None, sign: bool = True) -> str:
    """A share (0 to 1) as a percentage: '38%', or with one decimal near 0 and 100% ('0.4%', '99.6%').

    `decimals` fixes the number of decimals instead. Either way a share that is neither 0 nor 1 never reads as
    '0%' or '100%': more decimals are used, up to four ('99.96%'). `sign=False` leaves out the '%'.
    Returns the text; raises TypeError or ValueError if `p` is not a number.
    """
    value = 100 * round(float(p), 9)  # 100.00000000001% of runs (sums of float shares) is 100%
    if decimals is None:
        decimals = 0 if 10 <= value <= 99 or value in (0, 100) else 1
    while 0 < value < 100 and decimals < 4 and round(value, decimals) in (0, 100):
        decimals += 1
    return f"{value:.{decimals}f}" + ("%" if sign else "")


def percent_range(low: float, high: float, decimals: int | None = None) -> str:
    """An interval of shares as '36–40%' (each end as `percent` writes it, one '%' at the end); raises as `percent`."""
    return f"{percent(low, decimals, sign=False)}–{percent(high, decimals)}"


def number(value: float) -> str:
    """A quantity for a label: '12,500' for whole or large numbers, else three significant digits ('0.125')."""
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}"


def wrap(text: str, width: int) -> str:
    """The text broken into lines of at most `width` characters (joined by newlines); '' stays ''."""
    return "\n".join(textwrap.wrap(text, width)) or text


def capitalised(text: str) -> str:
    """The text with its first letter in upper case (the rest untouched, unlike str.capitalize)."""
    return text[:1].upper() + text[1:]


# --- days and dates --------------------------------------------------------------------------------------
def day_dates(manifest: dict, days) -> np.ndarray:
    """Days from the scenario start (finite floats) as datetime64 (seconds), for a matplotlib date axis.

    Takes the manifest (its 'start') and an array-like of days; returns an array of the same length.
    Raises KeyError if the manifest has no 'start'.
    """
    seconds = np.round(np.asarray(days, dtype=float) * 86400.0).astype("int64")
    return np.datetime64(manifest["start"], "s") + seconds.astype("timedelta64[s]")


def day_date(manifest: dict, day: float | None) -> dt.date | None:
    """The calendar date holding `day` (days from the start; day 0.7 is the start date), or None for a missing day
    (None or NaN: a rung never reached, an option that never fired). Raises KeyError without 'start'."""
    if day is None or math.isnan(day):
        return None
    return dt.date.fromisoformat(manifest["start"]) + dt.timedelta(days=math.floor(day))


def date_label(manifest: dict, day: float | None) -> str:
    """The ISO date holding `day` ('2024-12-01'), or '-' for a missing day; raises as `day_date`."""
    date = day_date(manifest, day)
    return "-" if date is None else date.isoformat()


def end_label(manifest: dict, day: float) -> str:
    """The ISO date whose end a mark at `day` reports: a checkpoint or the horizon at day d holds the state at the
    end of day d - 1, so the horizon of a year from 2024-10-15 (day 365) is '2025-10-14'. Raises as `day_date`."""
    return date_label(manifest, day - 1)


# --- names from the manifest -----------------------------------------------------------------------------
def scenario_title(manifest: dict) -> str:
    """The scenario's title, or its name when the file gives no title; raises KeyError without 'scenario'."""
    return manifest.get("title") or manifest["scenario"]


def variable_label(manifest: dict, variable: str, unit: bool = False) -> str:
    """A variable's label from the manifest (its id if it has none), with its unit in brackets if `unit` and known."""
    label = manifest.get("labels", {}).get(variable, variable)
    known = manifest.get("units", {}).get(variable) if unit else None
    return f"{label} ({known})" if known else label


def track_prefix(manifest: dict, track: dict) -> str:
    """'' when the results hold one track, else the track's label (its id if none) and ': ', to name it in titles."""
    if len(manifest.get("tracks", [])) <= 1:
        return ""
    return f"{track.get('label') or track['id']}: "


def checkpoint_day(manifest: dict, at: str | None) -> float:
    """The day of a checkpoint name, or of the horizon for None or 'horizon'.

    Raises ValueError naming the checkpoints if `at` is not one of them.
    """
    if at is None or at == "horizon":
        return manifest["horizon_days"]
    days = {c["name"]: c["day"] for c in manifest["checkpoints"]}
    if at not in days:
        raise ValueError(f"unknown checkpoint {at!r}; checkpoints: {', '.join(days) or 'none'} (or None: horizon)")
    return days[at]


def moment_label(manifest: dict, at: str | None) -> str:
    """When a checkpoint (or the horizon, for None) holds its values, in words: 'the end of 2025-06-30
    (checkpoint h1)' or 'the end of 2025-12-31 (the horizon)'. Raises ValueError for an unknown checkpoint."""
    name = "the horizon" if at is None or at == "horizon" else f"checkpoint {at}"
    return f"the end of {end_label(manifest, checkpoint_day(manifest, at))} ({name})"


def event_label(manifest: dict, event: str) -> str:
    """An event's readable label from the manifest ('event_labels', else 'outcome_labels'); a flag, whose label
    is its id, reads 'flag <id> set'; an event without a label keeps its id."""
    label = manifest.get("event_labels", {}).get(event) or manifest.get("outcome_labels", {}).get(event) or event
    if label == event and "event_names" in manifest and event_kinds(manifest).get(event) == "flag":
        return f"flag {event} set"
    return label


# --- moves made in every run -----------------------------------------------------------------------------
def moves_made(manifest: dict, runs=None) -> list[str]:
    """The moves made in every run (the manifest's 'moves': injected decisions, then blocks), one sentence each,
    e.g. 'Seoul: supplies weapons ...: injected on 2024-11-15, unless off the table by then' or 'NATO: ...: blocked
    for the whole run'. With the runs table (its event.* columns), an injection also says in what share of the
    runs it had happened by the end of its day. No moves, or a manifest without 'moves': an empty list."""
    moves = manifest.get("moves") or {}
    lines = []
    for inj in moves.get("injections", []):
        day, when = inj["day"], date_label(manifest, inj["day"])
        if inj.get("override"):
            text = f"forced on {when} (an umpire's override: even if off the table)"
        else:
            text = f"injected on {when}, unless off the table by then (an alternative chosen, or already taken)"
        column = f"event.{inj['option']}"
        if runs is not None and column in runs and len(runs):
            share = float((runs[column].to_numpy(dtype=float) < math.floor(day) + 1).mean())
            text += f"; it had happened by the end of that day in {percent(share)} of runs"
        lines.append(f"{event_label(manifest, inj['option'])}: {text}")
    for block in moves.get("blocks", []):
        start, until = float(block.get("start") or 0.0), block.get("until")
        begin = "" if start <= 0 else f" from {date_label(manifest, start)}"
        if until is None:
            when = f"{begin} to the end of the run" if begin else " for the whole run"
        elif float(until).is_integer():  # blocked until `until`, excluded: through the day before
            when = f"{begin or ' from the start'} through {date_label(manifest, until - 1)}"
        else:
            when = f"{begin or ' from the start'} until part way through {date_label(manifest, until)}"
        lines.append(f"{event_label(manifest, block['option'])}: blocked{when}")
    return lines
