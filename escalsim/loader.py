"""Scenario files to validated Scenario objects: extends, --set overrides, typed errors at file:line."""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ValidationError

from escalsim.errors import Problem, ScenarioError, format_path
from escalsim.expr import suggest
from escalsim.schema import Scenario
from escalsim.yamlsrc import Source, fail, load_yaml

MAX_EXTENDS = 8


def load_scenario(path: str | Path, overrides: typing.Sequence[str] = ()) -> Scenario:
    """Read, merge, override and validate a scenario file; raise ScenarioError listing every problem."""
    from escalsim.check import check_references  # check imports the expression language

    source = read_source(Path(path))
    for text in overrides:
        apply_override(source, text)
    scenario = validate(source)
    problems = [_problem(source, p, m) for p, m in check_references(scenario)]
    if problems:
        raise ScenarioError(problems)
    return scenario


def read_source(path: Path, _chain: tuple[Path, ...] = ()) -> Source:
    """One file's data, with `extends:` resolved: the base's data overlaid by this file's."""
    source = load_yaml(path)
    base_name = source.data.get("extends")
    if base_name is None:
        return source
    where = source.where(("extends",))
    if not isinstance(base_name, str) or not base_name.strip():
        fail(*where, "extends must be a file name (a path relative to this file)", "extends")
    base_path = (path.parent / base_name).resolve()
    chain = _chain + (path.resolve(),)
    if base_path in chain:
        fail(*where, "extends makes a cycle: " + " -> ".join(p.name for p in chain + (base_path,)), "extends")
    if len(chain) > MAX_EXTENDS:
        fail(*where, f"more than {MAX_EXTENDS} levels of extends", "extends")
    if not base_path.is_file():
        fail(*where, f"extends names {base_name!r}, which is not a file (looked at {base_path})", "extends")
    base = read_source(base_path, chain)
    base.data.pop("extends", None)
    _overlay(base, source, ())
    return base


def _overlay(base: Source, top: Source, path: tuple) -> None:
    """Merge top into base at path: mappings key by key, anything else replaced whole."""
    top_value = _get(top.data, path)
    base_value = _get(base.data, path) if path else base.data
    if isinstance(top_value, dict) and isinstance(base_value, dict):
        for key in top_value:
            child = path + (key,)
            if child in top.keys:
                base.keys[child] = top.keys[child]
            if key in base_value and isinstance(base_value[key], dict) and isinstance(top_value[key], dict):
                _overlay(base, top, child)
            else:
                _drop_positions(base, child)
                base_value[key] = top_value[key]
                _copy_positions(top, base, child)
    else:
        _set(base.data, path, top_value)


def _get(data, path: tuple):
    for part in path:
        data = data[part]
    return data


def _set(data, path: tuple, value) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _drop_positions(source: Source, path: tuple) -> None:
    for table in (source.values, source.keys):
        for key in [k for k in table if k[: len(path)] == path]:
            del table[key]


def _copy_positions(src: Source, dst: Source, path: tuple) -> None:
    for name in ("values", "keys"):
        table = getattr(src, name)
        getattr(dst, name).update({k: v for k, v in table.items() if k[: len(path)] == path})


def apply_override(source: Source, text: str) -> None:
    """Apply one `path.to.field=value` (value in YAML syntax) to the data, as if written in the file."""
    where = ("--set", 1, 1)
    if "=" not in text:
        fail(*where, f"--set {text!r}: expected path=value, e.g. deployments.dprk_to_russia.flow.cap=15000")
    dotted, _, value_text = text.partition("=")
    parts = tuple(int(p) if p.isdigit() else p for p in dotted.strip().split("."))
    if not dotted.strip() or any(p == "" for p in parts):
        fail(*where, f"--set {text!r}: the path is empty or has an empty part")
    value = load_yaml(Path("--set"), "value: " + value_text + "\n").data["value"]
    node = source.data
    for depth, part in enumerate(parts[:-1]):
        node = _descend(node, part, parts[:depth], text)
    last = parts[-1]
    _check_slot(node, last, parts[:-1], text)
    node[last] = value
    _drop_positions(source, parts)
    source.values[parts] = where
    source.keys[parts] = where


def _descend(node, part, done: tuple, text: str):
    _check_slot(node, part, done, text)
    if part not in node if isinstance(node, dict) else False:
        fail("--set", 1, 1, f"--set {text!r}: '{format_path(done + (part,))}' does not exist in the scenario")
    return node[part]


def _check_slot(node, part, done: tuple, text: str) -> None:
    where = format_path(done) or "the top level"
    if isinstance(node, list):
        if not isinstance(part, int) or part >= len(node):
            fail("--set", 1, 1, f"--set {text!r}: {where} is a list of {len(node)}; use an index 0..{len(node) - 1}")
    elif not isinstance(node, dict):
        fail("--set", 1, 1, f"--set {text!r}: {where} is a single value, not a mapping")


def validate(source: Source) -> Scenario:
    try:
        return Scenario.model_validate(source.data)
    except ValidationError as exc:
        raise ScenarioError([_pydantic_problem(source, err) for err in exc.errors()]) from None


def _problem(source: Source, path: tuple, message: str, key: bool = False) -> Problem:
    file, line, column = source.where(path, key=key)
    return Problem(file, line, column, format_path(path), message)


def _data_path(data, loc: tuple) -> tuple:
    """Pydantic locations include union tags; keep only the parts that exist in the data."""
    path: list = []
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        elif not last:
            continue  # a union tag such as 'uniform' or 'number'
        path.append(part)
    return tuple(path)


def _pydantic_problem(source: Source, err: dict) -> Problem:
    path = _data_path(source.data, tuple(err["loc"]))
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        allowed = allowed_keys(tuple(err["loc"])[:-1])
        hint = suggest(str(path[-1]), allowed) if allowed else None
        message = f"unknown key '{path[-1]}'" + (f" (did you mean '{hint}'?)" if hint else "")
        if allowed:
            message += "; allowed here: " + ", ".join(allowed)
        return _problem(source, path, message, key=True)
    if kind == "missing":
        return _problem(source, path, f"missing required key '{path[-1]}'")
    message = msg.removeprefix("Value error, ")
    value = err.get("input")
    if kind != "value_error" and isinstance(value, (str, int, float, bool)) or value is None:
        message += f" (got {value!r})"
    return _problem(source, path, message)


def allowed_keys(loc: tuple) -> list[str]:
    """The keys the scenario format allows at a pydantic location (for 'did you mean')."""
    annotation: Any = Scenario
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    model = _model_of(annotation)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


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


def _step(annotation, part):
    for member in _members(annotation):
        if _tag(member) == part:
            return member
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
