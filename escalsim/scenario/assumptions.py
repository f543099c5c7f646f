"""The numbers behind a scenario and where they come from: one record per number that carries a `source:` note.

A number's note is its own (a distribution's `source:`) or, failing that, the note of the mapping that holds it
(a batch's `source:` covers its `when` and `size`, a hazard's covers its rate, an option's covers its
`probability`). The scenario's own top-level note describes the whole file and covers no single number. A note
containing the word "assumption" marks an assumption; any other note is a sourced fact.
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel

from escalsim.scenario.parameters import DISTRIBUTIONS, Fixed
from escalsim.scenario.schema import Scenario

ASSUMPTION = re.compile(r"\bassumption", re.IGNORECASE)
_SHOWN_VALUES = 5  # an empirical distribution's values shown before '…'


def assumptions(scenario: Scenario) -> list[dict]:
    """Every sourced number of a validated scenario, in the order of the scenario's fields.

    Takes a Scenario (as `load_scenario` returns it); returns one dict per number: `path` (as `--set` writes it,
    e.g. "deployments.dprk_to_russia.schedule.0.size"), `value` (text: '1500', '2024-10-15',
    'uniform(low=0.03, high=0.1), per run'), `source` (the note), `source_path` (where the note is written: the
    number's own path, or its holder's, e.g. "deployments.dprk_to_russia.schedule.0") and `is_assumption`.
    Numbers without a note
    are left out, and so are numbers inside conditions (`when:` text). A field left at its default is not a
    number the author wrote and is left out; a scenario re-validated from its JSON dump marks every field as
    written, so there a value equal to its default is left out too. Raises nothing for a valid Scenario.
    """
    records: list[dict] = []
    dumped = {"horizon_days", "end"} <= scenario.model_fields_set  # a file cannot set both: a JSON dump does
    for name, value in _written(scenario, dumped):
        _visit(value, name, None, dumped, records)
    return records


def is_assumption(source: str) -> bool:
    """Whether a source note marks an assumption: it contains the word 'assumption' (any case, any ending)."""
    return bool(ASSUMPTION.search(source))


def _visit(value, path: str, note: tuple | None, dumped: bool, records: list[dict]) -> None:
    """Record `value` at `path` if it is a sourced number, or look inside it; `note` is its holder's
    (path, source), or None."""
    if isinstance(value, DISTRIBUTIONS):
        _record(records, path, _distribution_text(value), (path, value.source) if value.source else note)
    elif isinstance(value, BaseModel):
        own = (path, value.source) if getattr(value, "source", None) else None
        for name, item in _written(value, dumped):
            _visit(item, f"{path}.{name}", own, dumped, records)
    elif isinstance(value, dict):
        for key, item in value.items():
            _visit(item, f"{path}.{key}", note, dumped, records)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _visit(item, f"{path}.{i}", note, dumped, records)
    elif _is_number(value) or isinstance(value, dt.date):
        _record(records, path, _text(value), note)


def _written(model: BaseModel, dumped: bool):
    """(name as written in files, value) of the fields the author wrote, the note itself left out."""
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if name == "source" or value is None:
            continue
        if name in model.model_fields_set and not (dumped and not field.is_required() and value == field.default):
            yield field.alias or name, value


def _record(records: list[dict], path: str, value: str, note: tuple | None) -> None:
    if note is not None:
        where, source = note
        records.append({"path": path, "value": value, "source": source, "source_path": where,
                        "is_assumption": is_assumption(source)})


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value) -> str:
    """A number as written in a file ('1500', '0.0008'), a date as ISO, anything else as str()."""
    if _is_number(value):
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _distribution_text(dist) -> str:
    """'triangular(low=1000, mode=1500, high=2500), per use', clipped bounds after; a fixed value as a number."""
    if isinstance(dist, Fixed):
        return _text(dist.value)
    params = []
    for name, field in type(dist).model_fields.items():
        if name not in ("dist", "per", "clip", "source"):
            value = getattr(dist, name)
            shown = [_text(v) for v in value[:_SHOWN_VALUES]] if isinstance(value, list) else None
            if shown is not None:
                value = "[" + ", ".join(shown) + (f", … ({len(value)} values)]" if len(value) > len(shown) else "]")
            params.append(f"{field.alias or name}={_text(value)}")
    text = f"{dist.dist}({', '.join(params)}), per {dist.per}"
    if dist.clip is not None:
        low, high = ("" if bound is None else _text(bound) for bound in dist.clip)
        text += f", clipped to [{low}, {high}]"
    return text
