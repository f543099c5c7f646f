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
    """What one run produced: the summary row, the level's path, and (if asked) the trace."""

    seed: int
    run: int
    final_level: int
    max_level: int
    first_passage: tuple[float, ...]        # day each rung was first reached (nan: never)
    first_cause: tuple[str, ...]            # what first moved the world onto each rung
    checkpoints: tuple[tuple[float, ...], ...]  # readable values at each checkpoint (model.readable order)
    final: tuple[float, ...]                # readable values at the horizon
    fired: tuple[float, ...]                # first day each outcome (option/obligation) happened (nan: never)
    fire_counts: tuple[int, ...]            # times each option fired (obligations: 0 or 1)
    events: int                             # SimPy events processed
    level_path: tuple[tuple[float, int], ...]  # (day, new level) at each change
    trace: tuple[TraceEvent, ...] | None
