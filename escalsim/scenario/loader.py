"""Scenario files to validated Scenario objects: extends, --set overrides, typed errors at file:line."""

from __future__ import annotations

import copy
import types
import typing
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, StringConstraints, ValidationError
from pydantic.fields import FieldInfo

from escalsim.errors import Problem, ScenarioError, format_path, shown
from escalsim.scenario.conditions import suggest
from escalsim.scenario.schema import Id, Scenario
from escalsim.scenario.source import Source, fail, load_yaml
from escalsim.scenario.variants import drop_positions, item_index, read_source, scenario_sources

__all__ = ["apply_override", "load_scenario", "pydantic_problems", "read_source", "scenario_sources", "validate"]

ID_PATTERN = next(m.pattern for m in Id.__metadata__ if isinstance(m, StringConstraints))
ID_RULE = next(m.description for m in Id.__metadata__ if isinstance(m, FieldInfo))
SECTIONS = ("checkpoints", "actors", "variables", "deployments", "observations", "options", "treaties")


def load_scenario(path: str | Path, overrides: typing.Sequence[str] = ()) -> Scenario:
    """Read, merge, override and validate a scenario file; raise ScenarioError listing every problem."""
    source = read_source(Path(path))
    for number, text in enumerate(overrides, 1):
        apply_override(source, text, number)
    return validate(source)


def apply_override(source: Source, text: str, number: int = 1) -> None:
    """Apply one `path.to.field=value` (value in YAML syntax) to the data, as if written in the file.

    Problems with it are located at `--set:N:1`, N counting the overrides from 1."""
    where = ("--set", number, 1)
    if "=" not in text:
        fail(*where, f"--set {text!r}: expected path=value, e.g. deployments.dprk_to_russia.schedule.0.size=2000")
    dotted, _, value_text = text.partition("=")
    parts = tuple(int(p) if p.isdigit() else p for p in dotted.strip().split("."))
    if not dotted.strip() or any(p == "" for p in parts):
        fail(*where, f"--set {text!r}: the path is empty or has an empty part")
    if parts[0] == "extends":
        fail(*where, f"--set {text!r}: extends is resolved when the file is read; write it in a scenario file")
    prefix = "value: "
    try:
        value = load_yaml(Path("--set"), prefix + value_text + "\n").data["value"]
    except ScenarioError as exc:  # located in the wrapped text: say which override, and where in its value
        raise ScenarioError([Problem("--set", number, len(dotted) + 1 + max(p.column - len(prefix), 1), p.path,
                                     f"--set {text!r}: {p.message}") for p in exc.problems]) from None
    if _holds_null(value):
        said = "is empty" if not value_text.strip() else "is null (or holds a null)"
        fail(*where, f"--set {text!r}: the value {said}, which would remove '{format_path(parts)}' silently (an "
                     f"unset shell variable?); give a value. To remove a value on purpose, write "
                     f"'{parts[-1]}: null' in a variant file (one with extends:)")
    node = source.data
    for depth, part in enumerate(parts[:-1]):
        node = _descend(node, part, parts[:depth], text, where)
    last = parts[-1]
    _check_slot(node, last, parts[:-1], text, where)
    if isinstance(node, list) and isinstance(last, str):
        parts, last = parts[:-1] + (item_index(node, last),), item_index(node, last)
    node[last] = value
    drop_positions(source, parts)
    source.values[parts] = where
    source.keys[parts] = where


def _holds_null(value) -> bool:
    """Whether a --set value is null or holds one (`cap=`, `cap=null`, `cap=~`, `x={a: }`)."""
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_holds_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_null(v) for v in value)
    return False


def _descend(node, part, done: tuple, text: str, where: tuple):
    _check_slot(node, part, done, text, where)
    if part not in node if isinstance(node, dict) else False:
        fail(*where, f"--set {text!r}: '{format_path(done + (part,))}' does not exist in the scenario")
    if isinstance(node, list) and isinstance(part, str):
        return node[item_index(node, part)]
    return node[part]


def _check_slot(node, part, done: tuple, text: str, where: tuple) -> None:
    path = format_path(done) or "the top level"
    if isinstance(node, list):
        if isinstance(part, str) and item_index(node, part) is not None:
            return
        if not isinstance(part, int) or part >= len(node):
            fail(*where, f"--set {text!r}: {path} is a list of {len(node)}; use an index 0..{len(node) - 1}"
                         " or an item's id (a rung's id, an obligation's party, a stage's name)")
    elif not isinstance(node, dict):
        fail(*where, f"--set {text!r}: {path} is a single value, not a mapping")


def validate(source: Source) -> Scenario:
    """The checked scenario, or a ScenarioError listing every problem, references in the valid parts included."""
    from escalsim.scenario.references import check_references  # check imports the expression language

    try:
        scenario = Scenario.model_validate(source.data)
    except ValidationError as exc:
        problems = pydantic_problems(source, exc)
        rest, left_out = _without_bad_parts(source.data, exc.errors())
        if rest is not None:
            groups = _groups_of(source.data, left_out)
            problems += [_problem(source, p, m) for p, m in check_references(rest)
                         if not _mentions(m, left_out) and not any(f"group '{g}'" in m for g in groups)]
        raise ScenarioError(problems) from None
    problems = [_problem(source, p, m) for p, m in check_references(scenario)]
    if problems:
        raise ScenarioError(problems)
    return scenario


def _without_bad_parts(data: dict, errors: list) -> tuple[Scenario | None, set[str]]:
    """The scenario without the entries (an option, a variable...) that failed validation, to check the rest.

    None if a failure is outside such an entry (a misspelt section, the ladder, the dates): what is left
    would then report references to things that are there but broken.
    """
    data, left_out = copy.deepcopy(data), set()
    for _ in range(5):
        for err in errors:
            path, _ = _data_path(tuple(err["loc"]))
            if len(path) < 2 or path[0] not in SECTIONS or not isinstance(data.get(path[0]), dict):
                return None, left_out
            data[path[0]].pop(path[1], None)
            left_out.add(str(path[1]))
        try:
            return Scenario.model_validate(data), left_out
        except ValidationError as exc:
            errors = exc.errors()
    return None, left_out


def _groups_of(data: dict, names: set[str]) -> set[str]:
    """The `group:` of each left-out option: the options left in such a group may now look alone, and an
    error about that would be a knock-on of the first (e.g. of --set options.x.probability=1.5)."""
    options = data.get("options")
    if not isinstance(options, dict):
        return set()
    return {entry["group"] for name, entry in options.items()
            if str(name) in names and isinstance(entry, dict) and isinstance(entry.get("group"), str)}


def _mentions(message: str, names: set[str]) -> bool:
    """Whether a reference problem is about a left-out entry ('x', or 'x.stage' for events)."""
    return any(f"'{name}'" in message or f"'{name}." in message for name in names)


def _problem(source: Source, path: tuple, message: str, key: bool = False) -> Problem:
    if path and path[-1] == "[key]":  # check.KEY: the problem is the name, so point at it
        path, key = path[:-1], True
    file, line, column = source.where(path, key=key)
    for name, (vfile, vline, _vcol) in source.removed.items():
        if f"'{name}'" in message and message.startswith("unknown"):
            message += f" ('{name}' was removed by the variant at {vfile}:{vline})"
    return Problem(file, line, column, format_path(path), message)


def _data_path(loc: tuple, root: type[BaseModel] = Scenario) -> tuple[tuple, bool]:
    """A pydantic location (in a `root` model) as a path in the data: without union tags ('uniform', 'number'),
    and whether the error is about the mapping key at the path (pydantic's '[key]') rather than its value."""
    annotation: Any = root
    path: list = []
    for part in loc:
        if part == "[key]":
            return tuple(path), True
        tagged = _tagged(annotation, part)
        if tagged is not None:
            annotation = tagged
            continue
        annotation = _step(annotation, part)
        path.append(part)
    return tuple(path), False


def pydantic_problems(source: Source, exc: ValidationError, root: type[BaseModel] = Scenario) -> list[Problem]:
    """Each error of validating `root` (the scenario, or another file's model such as a play session) as a
    Problem located in the source it was read from."""
    return [_pydantic_problem(source, err, root) for err in exc.errors()]


def _pydantic_problem(source: Source, err: dict, root: type[BaseModel]) -> Problem:
    loc = tuple(err["loc"])
    path, about_key = _data_path(loc, root)
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        allowed = allowed_keys(loc[:-1], root)
        hint = (suggest(str(path[-1]), allowed) or _nested_hint(str(path[-1]), loc[:-1], root)) if allowed else None
        message = f"unknown key '{path[-1]}'" + (f" (did you mean '{hint}'?)" if hint else "")
        if allowed:
            message += "; allowed here: " + ", ".join(allowed)
        return _problem(source, path, message, key=True)
    if kind == "missing":
        if isinstance(path[-1], int):
            return _problem(source, path, f"missing item {path[-1]} (counting from 0) of the list")
        field = _field(loc, root)
        about = f": {field.description}" if field is not None and field.description else ""
        return _problem(source, path, f"missing required key '{path[-1]}'{about}")
    if kind in ("too_long", "too_short"):  # pydantic's "Dictionary should have at most 400 items after validation"
        ctx = err.get("ctx", {})
        what = "entries" if ctx.get("field_type") == "Dictionary" else "items"
        limit = f"at most {ctx['max_length']:,}" if kind == "too_long" else f"at least {ctx['min_length']:,}"
        count = ctx.get("actual_length")
        if count is None and isinstance(err.get("input"), (dict, list)):  # newer pydantic stops counting at the cap
            count = len(err["input"])
        written = f"{count:,} {what}" if count is not None else \
            f"too {'many' if kind == 'too_long' else 'few'} {what}"
        return _problem(source, path, f"{written}; {limit} are allowed here")
    message = msg.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == ID_PATTERN:
        message = "expected a " + ID_RULE
    value = err.get("input")
    if about_key:
        message = f"the key {shown(path[-1])}: {message}"
    elif kind != "value_error" and (isinstance(value, (str, int, float, bool)) or value is None):
        message += f" (got {shown(value)})"
    return _problem(source, path, message, key=about_key)


def allowed_keys(loc: tuple, root: type[BaseModel] = Scenario) -> list[str]:
    """The keys the scenario format (or the `root` model's) allows at a pydantic location (for 'did you mean')."""
    model = _model_of(_walk(loc, root))
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _nested_hint(key: str, loc: tuple, root: type[BaseModel]) -> str | None:
    """A key written flat that lives deeper: 'target_total' is 'flow.target.total' under a deployment."""
    deeper = {}
    for first in allowed_keys(loc, root):
        for second in allowed_keys((*loc, first), root):
            deeper[f"{first}_{second}"] = f"{first}.{second}"
            for third in allowed_keys((*loc, first, second), root):
                deeper[f"{first}_{second}_{third}"] = f"{first}.{second}.{third}"
    flat = [k for k in deeper if k.endswith(key)] or list(deeper)
    hint = suggest(key, flat)
    return None if hint is None else deeper[hint]


def _members(annotation) -> list:
    """The alternatives of a (possibly annotated, possibly nested) union, keeping their Tag annotations."""
    inner = _strip(annotation)
    if typing.get_origin(inner) in (typing.Union, types.UnionType):
        members = []
        for arg in typing.get_args(inner):
            members += _members(arg) if _tag(arg) is None else [arg]
        return members
    return [annotation]


def _tag(annotation) -> str | None:
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in typing.get_args(annotation)[1:]:
            if isinstance(meta, pydantic.Tag):
                return meta.tag
    return None


def _strip(annotation):
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _tagged(annotation, part):
    """The member of a tagged union (a distribution) named by part, if part is one of its tags."""
    for member in _members(annotation):
        if _tag(member) == part:
            return member
    return None


def _field(loc: tuple, root: type[BaseModel]) -> FieldInfo | None:
    """The model field at a pydantic location, if there is one."""
    model = _model_of(_walk(loc[:-1], root))
    return None if model is None else next(
        (f for n, f in model.model_fields.items() if loc[-1] in (n, f.alias)), None)


def _walk(loc: tuple, root: type[BaseModel]):
    annotation: Any = root
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return None
    return annotation


def _step(annotation, part):
    tagged = _tagged(annotation, part)
    if tagged is not None:
        return tagged
    for member in _members(annotation):
        inner = _strip(member)
        origin = typing.get_origin(inner)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            for name, field in inner.model_fields.items():
                if part in (name, field.alias):
                    return field.annotation
        elif origin is dict and isinstance(part, str):
            return typing.get_args(inner)[1]
        elif origin is list and isinstance(part, int):
            return typing.get_args(inner)[0]
    return None


def _model_of(annotation):
    for member in _members(annotation):
        inner = _strip(member)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return None
