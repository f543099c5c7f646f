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
    """The end of a story: final and highest rung, when and why each rung above the start was first
    reached, what fired and when, and the count of SimPy events."""
    labels = model.rung_labels
    yield f"final rung: {labels[record.final_level]}; highest rung: {labels[record.max_level]}"
    for k, day in enumerate(record.first_passage):
        if not math.isnan(day) and k > model.start_level:
            yield f"  reached {labels[k]} on {model.date_of(day)} (day {day:.0f}) because: {record.first_cause[k]}"
    fired = [(day, name) for name, day in zip(model.outcomes, record.fired) if not math.isnan(day)]
    yield "fired: " + (", ".join(f"{name} ({model.date_of(day)})" for day, name in sorted(fired)) or "nothing")
    yield f"SimPy events: {record.events:,}"


def story(model: Model, record: RunRecord) -> Iterator[str]:
    """A run in plain words: a heading, the start rung, one dated line per trace event, then the summary.
    An untraced record has no event lines."""
    s = model.scenario
    yield f"{s.title or s.name} — seed {record.seed}, run {record.run}, {s.start} to {model.date_of(model.horizon - 1)}"
    yield f"{s.start}  start on rung: {model.rung_labels[model.start_level]}"
    yield from event_lines(model, record)
    yield ""
    yield from summary_lines(model, record)


def json_lines(model: Model, record: RunRecord) -> Iterator[str]:
    """One JSON object per trace event (day, date, kind, subject, text, cause); none for an untraced record."""
    for e in record.trace or ():
        yield json.dumps({"day": round(e.day, 6), "date": model.date_of(e.day).isoformat(), "kind": e.kind,
                          "subject": e.subject, "text": e.text, "cause": e.cause}, ensure_ascii=False)
