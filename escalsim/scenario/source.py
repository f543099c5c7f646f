"""Untrusted YAML in, plain data out: bounded, tag-free, YAML 1.2, with the position of every value."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar, merge_attrib
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingStartEvent,
    ScalarEvent,
)

from escalsim.errors import Problem, ScenarioError, format_path

MAX_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000
MAX_ALIASES = 100
MAX_DIGITS = 400  # Python refuses to convert integers of more than 4300 digits; no scenario needs 400
LONG_INTEGER = re.compile(r"[-+]?[0-9][0-9_]*")
STANDARD_TAGS = {None, "!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                 "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map",
                 "tag:yaml.org,2002:seq"}


@dataclass(frozen=True)
class Kind:
    """What a kind of file holds, for the limits and messages of read_text and load_yaml."""

    noun: str  # "a scenario"
    plural: str  # "scenarios"
    file: str  # "a scenario file"
    needs: str  # what an empty file lacks
    max_bytes: int = MAX_BYTES


SCENARIO = Kind("a scenario", "scenarios", "a scenario file", "at least name, start, horizon_days, ladder and actors")


@dataclass
class Source:
    """Plain data read from one or more files, with where each value and key came from."""

    data: object
    values: dict[tuple, tuple[str, int, int]] = field(default_factory=dict)
    keys: dict[tuple, tuple[str, int, int]] = field(default_factory=dict)
    removed: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # list items a variant removed

    def where(self, path: tuple, key: bool = False) -> tuple[str, int, int]:
        """Position of the value at path (or of its key); falls back to the nearest enclosing value."""
        if key and path in self.keys:
            return self.keys[path]
        while path not in self.values and path:
            path = path[:-1]
        return self.values.get(path, ("<unknown>", 1, 1))


def fail(file: str, line: int, column: int, message: str, path: str = ""):
    """Raise ScenarioError with one problem at file:line:column (and the path, if given); never returns."""
    raise ScenarioError([Problem(file, line, column, path, message)])


def read_text(path: Path, kind: Kind = SCENARIO) -> str:
    """The file's text, refusing what is too big (over kind.max_bytes), binary or not UTF-8."""
    name = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(kind.max_bytes + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        fail(name, 1, 1, f"cannot read the file: {getattr(exc, 'strerror', None) or exc}")
    if len(raw) > kind.max_bytes:
        fail(name, 1, 1, f"file is larger than {kind.max_bytes:,} bytes; {kind.noun} should be far smaller")
    if b"\x00" in raw:
        fail(name, 1, 1, f"file is binary (contains NUL bytes); {kind.noun} is UTF-8 YAML text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        fail(name, line, 1, f"file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})")
    if not text.strip():
        fail(name, 1, 1, f"file is empty; {kind.noun} needs {kind.needs}")
    return text


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    return yaml


def _scan_events(text: str, name: str, kind: Kind) -> None:
    """Refuse explicit tags, other YAML versions, many or expanding aliases, deep nesting and keys that are
    lists or mappings, before anything is constructed."""
    aliases = nodes = 0
    sizes: dict[str, int] = {}  # anchor -> how many values it stands for once expanded
    collections: set[str] = set()  # anchors of lists and mappings
    open_: list[list] = []  # collections being read: [anchor, values before it, next is a key (None: a list)]
    for event in _yaml().parse(text):
        mark = event.start_mark
        where = (name, mark.line + 1, mark.column + 1)
        if isinstance(event, DocumentStartEvent) and event.version not in (None, (1, 2)):
            version = ".".join(str(v) for v in event.version)
            fail(*where, f"%YAML {version} is not supported: {kind.plural} are read as YAML 1.2 (remove the directive)")
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.tag not in STANDARD_TAGS:
            tag = getattr(event.tag, "value", event.tag)
            fail(*where, f"YAML tag {tag!r} is not allowed: {kind.plural} hold plain mappings, lists, numbers and "
                 "strings")
        if isinstance(event, (ScalarEvent, CollectionStartEvent, AliasEvent)) and open_ and open_[-1][2] is not None:
            is_key, open_[-1][2] = open_[-1][2], not open_[-1][2]
            if is_key and (isinstance(event, CollectionStartEvent)
                           or isinstance(event, AliasEvent) and event.anchor in collections):
                fail(*where, "a key is a list or a mapping; keys are names")
        if isinstance(event, ScalarEvent):
            nodes += 1
            if event.anchor:
                sizes[event.anchor] = 1
                collections.discard(event.anchor)
            if event.style is None and len(event.value) > MAX_DIGITS and LONG_INTEGER.fullmatch(event.value):
                fail(*where, f"a number with more than {MAX_DIGITS} digits")
        elif isinstance(event, CollectionStartEvent):
            nodes += 1
            open_.append([event.anchor, nodes, True if isinstance(event, MappingStartEvent) else None])
            if len(open_) > MAX_DEPTH:
                fail(*where, f"nesting deeper than {MAX_DEPTH} levels")
        elif isinstance(event, CollectionEndEvent):
            anchor, before, _ = open_.pop()
            if anchor:
                sizes[anchor] = nodes - before + 1
                collections.add(anchor)
        elif isinstance(event, AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                fail(*where, f"more than {MAX_ALIASES} aliases (*name)")
            if any(anchor == event.anchor for anchor, _, _ in open_):
                fail(*where, f"alias *{event.anchor} refers to a collection that contains it")
            nodes += sizes.get(event.anchor, 1)
        if nodes > MAX_NODES:
            fail(*where, f"more than {MAX_NODES:,} values once aliases are expanded")


# What ruamel's constructors raise for a plain scalar they cannot read: a date that does not exist
# (ValueError), or signs and underscores without digits such as `-_` or `0x_` (IndexError, ruamel 0.18)
CONSTRUCTION_ERRORS = (ValueError, IndexError, OverflowError)


def _locate_bad_scalar(text: str, name: str) -> tuple[str, int, int, str]:
    """Where the first plain scalar is that cannot be read on its own (e.g. the date 2025-02-30), and its text."""
    for event in _yaml().parse(text):
        if isinstance(event, ScalarEvent) and event.style is None and event.value[:1] in tuple("0123456789+-."):
            try:
                _yaml().load(event.value)
            except (YAMLError, *CONSTRUCTION_ERRORS):
                return name, event.start_mark.line + 1, event.start_mark.column + 1, event.value
    return name, 1, 1, ""


def _explained(what: str) -> str:
    """ruamel's message, shortened where it dumps a whole value, with the usual cause where there is one."""
    duplicate = re.search(r'found duplicate key "([^"]*)"', what)
    if duplicate:
        return f'duplicate key "{duplicate[1]}" (each key may appear once in a mapping)'
    if "'\\t'" in what:
        return what + " (indent with spaces: YAML does not allow tabs there)"
    if "mapping values are not allowed here" in what:
        return what + " (a ':' missing after a key on the line above? quote a value that holds ': ')"
    return what


def load_yaml(path: Path, text: str | None = None, kind: Kind = SCENARIO) -> Source:
    """Parse one file (a scenario unless `kind` says otherwise) into a Source; every failure is a ScenarioError
    located in the file."""
    name = str(path)
    text = read_text(path, kind) if text is None else text
    try:
        _scan_events(text, name, kind)
        doc = _yaml().load(text)
    except ScenarioError:
        raise
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x).replace("\n", " ")
        fail(name, line, col, f"YAML error: {_explained(what)}")
    except CONSTRUCTION_ERRORS as exc:  # raised while constructing a value, e.g. a date that does not exist
        file, line, col, value = _locate_bad_scalar(text, name)
        if any(word in str(exc) for word in ("day", "month", "year")):
            what = f"{exc} (a date is written YYYY-MM-DD and must exist; quote a value that should stay text)"
        elif isinstance(exc, ValueError) or not value:
            what = f"{repr(value) if value else 'a value'} cannot be read: {exc} (quote a value that should stay text)"
        else:  # IndexError: ruamel took a sign or base prefix with no digits for a number
            what = (f"{value!r} looks like a number but is not one; write the number, or quote it "
                    f"('{value}') if it is text")
        fail(file, line, col, f"YAML error: {what}")
    except (YAMLError, RecursionError, AssertionError, TypeError) as exc:  # ruamel asserts on %YAML 1.3
        fail(name, 1, 1, f"YAML error: {exc}")
    if not isinstance(doc, CommentedMap):
        fail(name, 1, 1, f"{kind.file} is a YAML mapping (key: value lines) at the top level")
    source = Source(data=None)
    source.values[()] = (name, 1, 1)
    budget = [MAX_NODES]
    source.data = _plain(doc, (), source, name, budget, {})
    return source


def _plain(node, path: tuple, source: Source, name: str, budget: list[int], seen: dict):
    budget[0] -= 1
    if budget[0] < 0:
        fail(name, 1, 1, f"more than {MAX_NODES:,} values (aliases expanding?)")
    if isinstance(node, CommentedMap):
        _shared_draw(node, path, source, seen)
        out = {}
        for key, value in node.items():
            kline, kcol, vline, vcol = _positions(node, key)
            if not isinstance(key, str):
                comma = " (a number written with a comma, like 3,650? write 3650)" if type(key) is int else ""
                fail(name, kline + 1, kcol + 1, f"key {key!r} is not a string; keys are names{comma}",
                     format_path(path))
            source.keys[path + (key,)] = (name, kline + 1, kcol + 1)
            source.values[path + (key,)] = (name, vline + 1, vcol + 1)
            out[key] = _plain(value, path + (key,), source, name, budget, seen)
        return out
    if isinstance(node, CommentedSeq):
        out = []
        for i, value in enumerate(node):
            line, col = node.lc.item(i)
            source.values[path + (i,)] = (name, line + 1, col + 1)
            out.append(_plain(value, path + (i,), source, name, budget, seen))
        return out
    if node is None or isinstance(node, (bool, dt.date)):
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, TaggedScalar):  # plain `=` or `<<` as a value: YAML 1.1 types; in 1.2 just text
        return str(node.value)
    fail(*source.where(path), f"unsupported YAML value of type {type(node).__name__}", format_path(path))


def _shared_draw(node: CommentedMap, path: tuple, source: Source, seen: dict) -> None:
    """Refuse a YAML alias (*name) of a distribution drawn once per run: it looks like one shared value, but
    each place would draw its own (the same mapping object meets us twice)."""
    if node.get("per") != "run" or "dist" not in node:
        return
    first = seen.setdefault(id(node), path)
    if first != path:
        shown = format_path(first)
        fail(*source.where(path, key=True), f"an alias of the distribution at {shown} (drawn once per run) would be a "
             "separate draw here, not the same value: declare it once under parameters: and write its name in "
             "both places", format_path(path))


def _positions(node: CommentedMap, key) -> tuple[int, int, int, int]:
    """0-based (key line, key column, value line, value column); a key merged in by `<<:` is where it was written."""
    own = node.lc.data or {}
    if key in own:
        return tuple(own[key])
    for merged in getattr(node, merge_attrib, ()):
        if isinstance(merged, CommentedMap) and key in merged:
            return _positions(merged, key)
    return node.lc.line, node.lc.col, node.lc.line, node.lc.col
