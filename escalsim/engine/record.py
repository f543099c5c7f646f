"""What one run produces: its RunRecord (the summary row and the level's path) and, when traced, its events."""

from __future__ import annotations

from dataclasses import dataclass

# kinds of trace events (TraceEvent.kind), the words the trace, the timeline and the report use
DECISION, DECLINE, OPTION, INJECTION = "decision", "decline", "option", "injection"
OBLIGATION, TREATY, LADDER = "obligation", "treaty", "ladder"
DEPLOYMENT, ATTRITION, OBSERVATION = "deployment", "attrition", "observation"
CAUSED_KINDS = (LADDER, DECISION, OBLIGATION, OPTION, INJECTION)  # kinds whose cause the story prints


@dataclass(frozen=True)
class TraceEvent:
    """One thing that happened: when, what kind, who, what, and why."""

    day: float
    kind: str
    subject: str
    text: str
    cause: str = ""

    def with_text(self, text: str) -> TraceEvent:
        """A copy with `text` instead."""
        return TraceEvent(self.day, self.kind, self.subject, text, self.cause)



@dataclass(frozen=True)
class RunRecord:
    """What one run produced: the summary row, each track's path, and (if asked) the trace. Rung tuples follow
    `Model.rungs` (every track's rungs, track by track); event tuples follow `Model.events`."""

    seed: int
    run: int
    final_levels: tuple[int, ...]           # each track's rung at the horizon
    max_levels: tuple[int, ...]             # each track's highest rung
    at_or_above: tuple[float, ...]          # first day each rung's track was at or above it (nan: never)
    entered: tuple[float, ...]              # first day each rung's track was on it (nan: never; a jump passes over)
    entered_cause: tuple[str, ...]          # what put the track on the rung that first time ("" if never)
    checkpoints: tuple[tuple[float, ...], ...]  # readable values at each checkpoint (model.readable order)
    final: tuple[float, ...]                # readable values at the horizon
    event_days: tuple[float, ...]           # first day each event happened (nan: never; < 0: before the start)
    fire_counts: tuple[int, ...]            # times each option fired, in Model.options order
    events: int                             # SimPy events processed
    level_paths: tuple[tuple[tuple[float, int], ...], ...]  # per track, (day, new rung) at each change
    params: tuple[float, ...]               # values drawn once per run, in Model.param_columns order
    trace: tuple[TraceEvent, ...] | None
