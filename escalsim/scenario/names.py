"""The basic types of the scenario language: identifiers, texts, conditions, dates and moments."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

RESERVED = frozenset({"level", "day", "true", "false", "and", "or", "not", "min", "max", "abs",
                      "rung", "days_since", "happened", "in", "is", "if", "else"})


Id = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$"),
    Field(description="lower-case identifier: a letter, then letters, digits or _ (at most 64)"),
]


Text = Annotated[str, StringConstraints(max_length=4000)]


OptionRef = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63})?$"),
    Field(description="an option id, or a treaty obligation written treaty.party"),
]


Expression = Annotated[str, StringConstraints(min_length=1, max_length=1000),
                       Field(description="a condition, e.g. \"us_est_troops >= 5000 and level < rung('x')\"")]


def _not_a_number(value):
    """A date field refuses numbers: pydantic would read 1735689600 (or 0) as a Unix timestamp, silently."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"expected a date written YYYY-MM-DD, not the number {value!r}"
                         " (this field takes a date, not a day number)")
    return value


Date = Annotated[dt.date, BeforeValidator(_not_a_number)]


def _date_or_day(value):
    """One clear message for what is neither a date nor a day number (a union would report one per member)."""
    if isinstance(value, (dt.date, int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str):  # a date in JSON (job.json), or quoted in YAML
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"expected a date (YYYY-MM-DD) or a day number counted from the start, not {value!r}")


When = Annotated[
    dt.date | float,
    BeforeValidator(_date_or_day),
    Field(description="a date (YYYY-MM-DD) or a day number counted from the scenario start"),
]
