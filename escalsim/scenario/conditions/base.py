"""What the condition language is made of: its limits and names, its errors, and a parsed `Expr`."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_LENGTH = 1000


MAX_DEPTH = 50


FUNCTIONS = ("min", "max", "abs", "rung", "days_since", "happened", "before", "date")


ALLOWED = (
    "allowed: numbers, variable names, + - * /, comparisons, and/or/not, "
    "min/max/abs/rung/days_since/happened/before/date"
)


Values = dict[str, float]


Fn = Callable[[Values, float, Values], Any]


BOOLS = {"true": True, "false": False, "True": True, "False": False}


STRING_FUNCTIONS = {"rung": "rung", "days_since": "event", "happened": "event", "before": "event", "date": "date"}


NUMERIC_FUNCTIONS = {"min": (min, 2, None), "max": (max, 2, None), "abs": (abs, 1, 1)}


TIME_RULE = (
    "{term} can only be one side of a single comparison whose other side does not use "
    "time, e.g. day >= 60 or days_since('x') > 30 (not in arithmetic, function "
    "arguments, chained comparisons or alone as a condition)"
)


class ExprError(ValueError):
    """A bad expression: .message (what is wrong, what is allowed), .column (0-based, or None)."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.column = column

    def __reduce__(self) -> tuple:
        return (type(self), (self.message, self.column))


@dataclass(frozen=True)
class Expr:
    """A parsed condition; ``evaluate(values, now, event_times)`` gives its value."""

    text: str
    variables: frozenset[str]
    events: frozenset[str]
    uses_time: bool
    evaluate: Fn = field(repr=False, compare=False)
    next_change: Callable[[Values, float, Values], float] = field(repr=False, compare=False)
    # with time terms that compare `day` with constants only: the days next_change can return, in order
    # (closures.fixed_wake_days); else None
    wake_days: tuple[float, ...] | None = field(default=None, repr=False, compare=False)


def suggest(name: str, choices: Iterable[str]) -> str | None:
    """Return the choice closest to ``name`` (a likely typo), or None."""
    matches = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None
