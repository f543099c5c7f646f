"""Untrusted YAML in, plain data out: bounded, tag-free, YAML 1.2, with the position of every value."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar, merge_attrib
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import ScalarEvent

from escalsim.errors import Problem, ScenarioError, format_path

try:  # libyaml's parser, through ruamel.yaml.clib (ruamel's C extension): the fast path (see `load_yaml`)
    from ruamel.yaml.cyaml import CParser as _LibyamlParser
except ImportError:  # no ruamel.yaml.clib (e.g. PyPy): every file takes ruamel's pure-Python path
    _LibyamlParser = None
_LibyamlError = YAMLError

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


def _scan_events(text: str, name: str, kind: Kind = SCENARIO) -> None:
    """Refuse explicit tags, other YAML versions, many or expanding aliases, deep nesting and keys that are
    lists or mappings, before anything is constructed."""
    check = EventCheck(name, kind)
    for event in _yaml().parse(text):
        check.see(event)


class EventCheck:
    """The safety checks on a stream of parser events, one event at a time (ruamel's or libyaml's: the same
    classes and attributes): explicit tags, other YAML versions, many or expanding aliases, deep nesting, keys
    that are lists or mappings, numbers of too many digits. Raises ScenarioError at the event that breaks one."""

    def __init__(self, name: str, kind: Kind = SCENARIO):
        self.name, self.file_kind = name, kind
        self.aliases = self.nodes = 0
        self.sizes: dict[str, int] = {}  # anchor -> how many values it stands for once expanded
        self.collections: set[str] = set()  # anchors of lists and mappings
        self.open: list[list] = []  # collections being read: [anchor, values before it, next is a key (None: a list)]

    def see(self, event) -> None:
        """Check one event (in the order parsed)."""
        kind = type(event).__name__
        if kind in ("StreamStartEvent", "StreamEndEvent", "DocumentEndEvent"):
            return
        mark = event.start_mark
        where = (self.name, mark.line + 1, mark.column + 1)
        scalar, start = kind == "ScalarEvent", kind in ("MappingStartEvent", "SequenceStartEvent")
        if kind == "DocumentStartEvent" and event.version not in (None, (1, 2)):
            version = ".".join(str(v) for v in event.version)
            fail(*where, f"%YAML {version} is not supported: {self.file_kind.plural} are read as YAML 1.2 (remove "
                 "the directive)")
        if (scalar or start) and event.tag not in STANDARD_TAGS:
            tag = getattr(event.tag, "value", event.tag)
            fail(*where, f"YAML tag {tag!r} is not allowed: {self.file_kind.plural} hold plain mappings, lists, "
                 "numbers and strings")
        open_ = self.open
        if (scalar or start or kind == "AliasEvent") and open_ and open_[-1][2] is not None:
            is_key, open_[-1][2] = open_[-1][2], not open_[-1][2]
            if is_key and (start or kind == "AliasEvent" and event.anchor in self.collections):
                fail(*where, "a key is a list or a mapping; keys are names")
        if scalar:
            self.nodes += 1
            if event.anchor:
                self.sizes[event.anchor] = 1
                self.collections.discard(event.anchor)
            plain = not event.style  # None (ruamel) or '' (libyaml)
            if plain and len(event.value) > MAX_DIGITS and LONG_INTEGER.fullmatch(event.value):
                fail(*where, f"a number with more than {MAX_DIGITS} digits")
        elif start:
            self.nodes += 1
            open_.append([event.anchor, self.nodes, True if kind == "MappingStartEvent" else None])
            if len(open_) > MAX_DEPTH:
                fail(*where, f"nesting deeper than {MAX_DEPTH} levels")
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            anchor, before, _ = open_.pop()
            if anchor:
                self.sizes[anchor] = self.nodes - before + 1
                self.collections.add(anchor)
        elif kind == "AliasEvent":
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                fail(*where, f"more than {MAX_ALIASES} aliases (*name)")
            if any(anchor == event.anchor for anchor, _, _ in open_):
                fail(*where, f"alias *{event.anchor} refers to a collection that contains it")
            self.nodes += self.sizes.get(event.anchor, 1)
        if self.nodes > MAX_NODES:
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
    located in the file.

    A well-formed file is parsed once, by libyaml (`_fast_source`), the safety checks running on its events as
    they come; whatever that path does not read exactly as ruamel's YAML 1.2 round-trip loader would (anchors and
    aliases, merge keys, tags and directives, empty values, tabs and other control characters, YAML 1.1-only line
    breaks, duplicate keys, a key that is no name) and every error go the way they always went: the event scan,
    then ruamel's load, so every message and position is ruamel's.
    """
    name = str(path)
    text = read_text(path, kind) if text is None else text
    fast = _fast_source(text, name, kind)
    if fast is not None:
        return fast
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


class _Decline(Exception):
    """The fast path does not read this file; ruamel's path will."""


# Characters that libyaml and ruamel read differently, so the fast path leaves the file to ruamel: every control
# character but line feed and carriage return (a tab: libyaml takes `0<tab>key: 1` for a key, ruamel refuses it),
# line breaks of YAML 1.1 that are ordinary characters in 1.2 (U+0085, U+2028, U+2029) and a byte order mark after
# the start
DECLINED_CHARACTERS = re.compile("[^\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                                 "\U00010000-\U0010ffff]")
DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
# A block scalar (| or >) whose first line holds only spaces: libyaml reads it, ruamel refuses some (a later line
# indented more than it): the fast path leaves every such file to ruamel, which decides
BLANK_FIRST_LINE = re.compile(r"[|>][-+0-9]*[ \t]*(#[^\n]*)?\r?\n[ \t]*\r?\n")


def _construct(tag: str, value: str):
    """A plain scalar's value for its implicit tag, as ruamel's round-trip constructors give it (then made plain
    as `_plain` does): integers with `_`, 0x, 0o, 0b; floats with `_`, .inf, .nan; booleans; null; a date. Anything
    else (a timestamp with a time, `=`, `<<`) is declined."""
    kind = tag.rpartition(":")[2]
    if kind == "str":
        return value
    if kind == "null":
        return None
    if kind == "bool":
        return value.lower() == "true"
    if kind == "int":
        digits = value.replace("_", "")
        return int(digits, 0) if digits.lstrip("+-")[:2].lower() in ("0x", "0o", "0b") else int(digits, 10)
    if kind == "float":
        digits = value.replace("_", "").lower()
        sign = -1.0 if digits.startswith("-") else 1.0
        if digits.lstrip("+-") == ".inf":
            return sign * math.inf
        if digits.lstrip("+-") == ".nan":
            return math.nan
        return float(digits)
    date = DATE.fullmatch(value) if kind == "timestamp" else None
    if date:
        return dt.date(*(int(part) for part in date.groups()))
    raise _Decline


def _fast_source(text: str, name: str, kind: Kind = SCENARIO) -> Source | None:
    """The Source of a file read in one pass over libyaml's events (None: the fast path declines the file).

    Events are checked (`EventCheck`) and turned into plain data as they come; plain scalars are resolved and
    constructed by ruamel's own YAML 1.2 resolver and constructors, so values are those ruamel gives; positions
    are the events' start marks, which ruamel records too.
    """
    if _LibyamlParser is None or DECLINED_CHARACTERS.search(text) or BLANK_FIRST_LINE.search(text):
        return None
    try:
        return _FastReader(name, kind).read(text)
    except (_Decline, ScenarioError, _LibyamlError, *CONSTRUCTION_ERRORS):
        return None


class _FastReader:
    """Plain data and positions from libyaml's events (see `_fast_source`)."""

    def __init__(self, name: str, kind: Kind = SCENARIO):
        self.name = name
        self.check = EventCheck(name, kind)
        self.resolvers = _yaml().resolver.versioned_resolver  # YAML 1.2 implicit tags: first character -> regexps
        self.source = Source(data=None)
        self.source.values[()] = (name, 1, 1)

    def read(self, text: str) -> Source:
        parser = _LibyamlParser(text)
        try:
            self._events(parser)
        finally:
            parser.dispose()
        if not isinstance(self.source.data, dict):
            raise _Decline  # ruamel's path says what is wrong
        return self.source

    def _events(self, parser) -> None:
        stack: list[list] = []  # [container, path, key waiting for its value (mappings)]
        documents = 0
        while parser.check_event():
            event = parser.get_event()
            kind = type(event).__name__
            if getattr(event, "anchor", None) or kind == "AliasEvent":
                raise _Decline
            if kind == "DocumentStartEvent":
                documents += 1
                if documents > 1 or event.version or event.tags:
                    raise _Decline
            if kind in ("ScalarEvent", "MappingStartEvent", "SequenceStartEvent") and event.tag is not None:
                raise _Decline
            self.check.see(event)
            if kind == "ScalarEvent":
                self._value(stack, event, self._scalar(event))
            elif kind in ("MappingStartEvent", "SequenceStartEvent"):
                container = {} if kind == "MappingStartEvent" else []
                path = self._value(stack, event, container)
                stack.append([container, path, None])
            elif kind in ("MappingEndEvent", "SequenceEndEvent"):
                stack.pop()

    def _scalar(self, event):
        if event.style:  # quoted or block scalars are text (plain: None from ruamel, '' from libyaml)
            return event.value
        value = event.value
        if not value:
            raise _Decline  # an empty value (null): libyaml and ruamel place it differently
        for tag, regexp in self.resolvers.get(value[:1], []) + self.resolvers.get(None, []):
            if regexp.match(value):
                return _construct(str(tag), value)
        return value


    def _value(self, stack: list[list], event, value) -> tuple:
        """Place a value (or a key) in the container being read; returns the value's path."""
        mark = event.start_mark
        where = (self.name, mark.line + 1, mark.column + 1)
        if not stack:
            self.source.data = value
            return ()
        frame = stack[-1]
        container, path = frame[0], frame[1]
        if isinstance(container, list):
            here = path + (len(container),)
            self.source.values[here] = where
            container.append(value)
            return here
        if frame[2] is None:  # a key
            if not isinstance(value, str) or value in container or value == "<<":
                raise _Decline  # not a name, a duplicate or a merge: ruamel's path says what it is
            frame[2] = value
            self.source.keys[path + (value,)] = where
            return path
        key, frame[2] = frame[2], None
        here = path + (key,)
        self.source.values[here] = where
        container[key] = value
        return here


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
