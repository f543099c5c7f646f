"""Sequential stopping: running counts of every probability `escalsim run` reports, and the widest interval."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from escalsim.stats import wilson_half_width


@dataclass
class Tally:
    """Running counts of the probabilities that `escalsim run` reports, for sequential stopping."""

    rungs: list[str]
    marks: list[tuple[str, float]]  # (checkpoint name or 'horizon', day)
    events: list[str]                # every non-rung event (options, obligations, treaty steps, ...)
    n: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, columns: dict) -> None:
        """Add a batch (columns as in records.columns) to the counts."""
        self.n += len(columns["run"])
        for name, hits in self._events(columns):
            self.counts[name] = self.counts.get(name, 0) + int(np.count_nonzero(hits))

    def _events(self, columns: dict):
        for rung in self.rungs:
            first = columns[f"at_or_above.{rung}"]
            for name, day in self.marks:
                yield f"at or above {rung} by {name}", first < day
        for event in self.events:
            day = columns[f"event.{event}"]
            for name, mark in self.marks:
                yield f"{event} happened by {name}", day < mark
        for rung in self.rungs:
            yield f"{rung} entered", ~np.isnan(columns[f"entered.{rung}"])

    def widest(self) -> tuple[str, float]:
        """The reported probability with the widest 95% interval, and its half-width."""
        if not self.counts:
            return "", float("inf")
        names = list(self.counts)
        widths = wilson_half_width([self.counts[k] for k in names], self.n)
        i = int(np.argmax(widths))
        return names[i], float(widths[i])
