"""Untrusted YAML in, plain data out: bounded, tag-free, YAML 1.2, with the position of every value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

from escalsim.errors import Problem, ScenarioError, format_path

MAX_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000
MAX_ALIASES = 100
STANDARD_TAGS = {None, "!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                 "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map",
                 "tag:yaml.org,2002:seq"}


@dataclass
class Source:
    """Plain data read from one or more files, with where each value and key came from."""

    data: object
    values: dict[tuple, tuple[str, int, int]] = field(default_factory=dict)
    keys: dict[tuple, tuple[str, int, int]] = field(default_factory=dict)

    def where(self, path: tuple, key: bool = False) -> tuple[str, int, int]:
        """Position of the value at path (or of its key); falls back to the nearest enclosing value."""
        if key and path in self.keys:
            return self.keys[path]
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, ("<unknown>", 1, 1))


def fail(file: str, line: int, column: int, message: str, path: str = ""):
    raise ScenarioError([Problem(file, line, column, path, message)])


def read_text(path: Path) -> str:
    """The file's text, refusing what is too big, binary or not UTF-8."""
    name = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        fail(name, 1, 1, f"cannot read the file: {exc.strerror or exc}")
    if len(raw) > MAX_BYTES:
        fail(name, 1, 1, f"file is larger than {MAX_BYTES:,} bytes; a scenario should be far smaller")
    if b"\x00" in raw:
        fail(name, 1, 1, "file is binary (contains NUL bytes); a scenario is UTF-8 YAML text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        fail(name, line, 1, f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})")
    if not text.strip():
        fail(name, 1, 1, "file is empty; a scenario needs at least name, start, horizon_days, ladder and actors")
    return text


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    return yaml


def _scan_events(text: str, name: str) -> None:
    """Refuse explicit tags, many aliases and deep nesting before anything is constructed."""
    depth = aliases = 0
    for event in _yaml().parse(text):
        mark = event.start_mark
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.tag not in STANDARD_TAGS:
            tag = getattr(event.tag, "value", event.tag)
            fail(name, mark.line + 1, mark.column + 1,
                 f"YAML tag {tag!r} is not allowed: scenarios hold plain mappings, lists, numbers and strings")
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                fail(name, mark.line + 1, mark.column + 1, f"nesting deeper than {MAX_DEPTH} levels")
        elif type(event).__name__ in ("MappingEndEvent", "SequenceEndEvent"):
            depth -= 1
        elif isinstance(event, AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                fail(name, mark.line + 1, mark.column + 1, f"more than {MAX_ALIASES} aliases (*name)")


def load_yaml(path: Path, text: str | None = None) -> Source:
    """Parse one file into a Source; every failure is a ScenarioError located in the file."""
    name = str(path)
    text = read_text(path) if text is None else text
    try:
        _scan_events(text, name)
        doc = _yaml().load(text)
    except ScenarioError:
        raise
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x).replace("\n", " ")
        if "duplicate key" in what:
            what += " (each key may appear once in a mapping)"
        fail(name, line, col, f"YAML error: {what}")
    except (YAMLError, ValueError, RecursionError) as exc:
        fail(name, 1, 1, f"YAML error: {exc}")
    if not isinstance(doc, CommentedMap):
        fail(name, 1, 1, "a scenario file is a YAML mapping (key: value lines) at the top level")
    source = Source(data=None)
    source.values[()] = (name, 1, 1)
    budget = [MAX_NODES]
    source.data = _plain(doc, (), source, name, budget)
    return source


def _plain(node, path: tuple, source: Source, name: str, budget: list[int]):
    budget[0] -= 1
    if budget[0] < 0:
        fail(name, 1, 1, f"more than {MAX_NODES:,} values (aliases expanding?)")
    if isinstance(node, CommentedMap):
        out = {}
        for key, value in node.items():
            if not isinstance(key, str):
                line, col = node.lc.key(key)
                fail(name, line + 1, col + 1, f"key {key!r} is not a string; keys are names",
                     format_path(path))
            kline, kcol = node.lc.key(key)
            vline, vcol = node.lc.value(key)
            source.keys[path + (key,)] = (name, kline + 1, kcol + 1)
            source.values[path + (key,)] = (name, vline + 1, vcol + 1)
            out[key] = _plain(value, path + (key,), source, name, budget)
        return out
    if isinstance(node, CommentedSeq):
        out = []
        for i, value in enumerate(node):
            line, col = node.lc.item(i)
            source.values[path + (i,)] = (name, line + 1, col + 1)
            out.append(_plain(value, path + (i,), source, name, budget))
        return out
    if node is None or isinstance(node, (bool, dt.date)):
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    fail(*source.where(path), f"unsupported YAML value of type {type(node).__name__}", format_path(path))
