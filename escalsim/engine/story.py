"""One run told in plain words with dates, or as JSON lines."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

from escalsim.engine import Model, RunRecord
from escalsim.engine.record import CAUSED_KINDS


def event_lines(model: Model, record: RunRecord) -> Iterator[str]:
    """'2024-10-29  DPRK → Russia: batch of 1,800 troops arrives (total 4,600)', one per event, with causes."""
    for e in record.trace or ():
        line = f"{model.date_of(e.day)}  {e.subject}: {e.text}"
        if e.cause and e.kind in CAUSED_KINDS:
            line += f"  [because: {e.cause}]"
        yield line


def summary_lines(model: Model, record: RunRecord) -> Iterator[str]:
    """The end of a story: per track, its final and highest rung and each rung entered after the start (when and
    by what cause; a rung a jump passed over is said to be passed over, with no cause); then the decisions taken
    (options and obligations) and when, and the count of SimPy events."""
    for t, track in enumerate(model.tracks):
        labels = track.rung_labels
        name = "" if len(model.tracks) == 1 else f"{track.label}: "
        yield (f"{name}final rung: {labels[record.final_levels[t]]}; "
               f"highest rung: {labels[record.max_levels[t]]}")
        for k in range(track.start + 1, record.max_levels[t] + 1):
            g = track.offset + k
            entered, above = record.entered[g], record.at_or_above[g]
            if not math.isnan(entered):
                yield (f"  entered {labels[k]} on {model.date_of(entered)} (day {entered:.0f}) "
                       f"because: {record.entered_cause[g]}")
            else:
                yield f"  passed over {labels[k]} on {model.date_of(above)} (day {above:.0f}): never on it"
    days = dict(zip(model.events, record.event_days))
    fired = [(days[name], name) for name in model.outcomes if not math.isnan(days[name])]
    yield "fired: " + (", ".join(f"{name} ({model.date_of(day)})" for day, name in sorted(fired)) or "nothing")
    yield f"SimPy events: {record.events:,}"


def story(model: Model, record: RunRecord) -> Iterator[str]:
    """A run in plain words: a heading, the start rung of each track, one dated line per trace event, then the
    summary. An untraced record has no event lines."""
    s = model.scenario
    yield f"{s.title or s.name} — seed {record.seed}, run {record.run}, {s.start} to {model.date_of(model.horizon - 1)}"
    for track in model.tracks:
        yield (f"{s.start}  start on rung: {track.rung_labels[track.start]}" if len(model.tracks) == 1
               else f"{s.start}  {track.label} starts on rung: {track.rung_labels[track.start]}")
    yield from event_lines(model, record)
    yield ""
    yield from summary_lines(model, record)


def json_lines(model: Model, record: RunRecord) -> Iterator[str]:
    """One JSON object per trace event (day, date, kind, subject, text, cause); none for an untraced record."""
    for e in record.trace or ():
        yield json.dumps({"day": round(e.day, 6), "date": model.date_of(e.day).isoformat(), "kind": e.kind,
                          "subject": e.subject, "text": e.text, "cause": e.cause}, ensure_ascii=False)
