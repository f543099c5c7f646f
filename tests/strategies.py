"""Hypothesis strategies shared by the tests: mutations of a valid scenario file, YAML-like text, overrides."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

MINIMAL = Path(__file__).parent.parent / "scenarios" / "minimal.yaml"
MINIMAL_TEXT = MINIMAL.read_text(encoding="utf-8")
IDENTIFIER_CHARS = "abcdefghijklmnopqrstuvwxyz_0123456789"


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.width = 4096
    return yaml


def minimal_document() -> CommentedMap:
    """minimal.yaml as ruamel's round-trip data (comments and layout kept), a fresh copy each time."""
    document = _yaml().load(MINIMAL_TEXT)
    document["description"] = str(document["description"])  # ruamel cannot always re-fold a moved folded string
    return document


def dump(document) -> str:
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def paths(node, prefix: tuple = ()) -> list[tuple]:
    """Every key of every mapping and every item of every list, as paths from the top."""
    found: list[tuple] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    else:
        return found
    for key, value in children:
        found.append(prefix + (key,))
        found += paths(value, prefix + (key,))
    return found


def _kind(value) -> str:
    for kind, types in (("null", type(None)), ("bool", bool), ("text", str), ("date", dt.date), ("int", int),
                        ("float", float)):
        if isinstance(value, types):
            return kind
    return "collection"


SCALARS = {
    "null": st.none(),
    "bool": st.booleans(),
    "int": st.integers(-(10**6), 10**6) | st.sampled_from([0, 1, -1, 10**20]),
    "float": st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.5, 1.5, -0.1]),
    # \a (BEL) is left out: ruamel's emitter uses it as its own fold marker and fails on it
    "text": st.text(st.characters(codec="utf-8", exclude_characters="\a"), max_size=12)
    | st.sampled_from(["NO", "off", "yes", "b", "peace", "a_to_border", "1:30"]),
    "date": st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31)),
}


def scalars_other_than(value) -> st.SearchStrategy:
    """A random scalar of another type than value (a mapping or list is replaced by any scalar)."""
    kind = _kind(value)
    return st.one_of(*(strategy for name, strategy in SCALARS.items() if name != kind))


@st.composite
def small_edits(draw, name: str) -> str:
    """name with one character inserted, deleted, replaced or two swapped: a typo."""
    how = draw(st.sampled_from(["insert", "delete", "replace", "swap"] if len(name) > 1 else ["insert", "replace"]))
    i = draw(st.integers(0, len(name) - (0 if how == "insert" else 1)))
    char = draw(st.sampled_from(IDENTIFIER_CHARS))
    if how == "insert":
        edited = name[:i] + char + name[i:]
    elif how == "delete":
        edited = name[:i] + name[i + 1:]
    elif how == "replace":
        edited = name[:i] + char + name[i + 1:]
    else:
        i = min(i, len(name) - 2)
        edited = name[:i] + name[i + 1] + name[i] + name[i + 2:]
    return edited


def _parent(document, path: tuple):
    node = document
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def mutated_minimal(draw, max_mutations: int = 3) -> tuple[str, list[str]]:
    """minimal.yaml after 1..max_mutations random edits: (YAML text, what was done to it)."""
    document = minimal_document()
    done: list[str] = []
    for _ in range(draw(st.integers(1, max_mutations))):
        candidates = paths(document)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        parent, last = _parent(document, path), path[-1]
        how = draw(st.sampled_from(["delete", "rename", "replace"] if isinstance(last, str) else ["delete", "replace"]))
        if how == "delete":
            del parent[last]
        elif how == "rename":
            new = draw(small_edits(last))
            if new in parent:
                continue
            position = list(parent).index(last)
            value = parent.pop(last)
            parent.insert(position, new, value)
            how = f"rename to {new!r}"
        else:
            value = draw(scalars_other_than(parent[last]))
            parent[last] = value
            how = f"replace with {value!r}"
        done.append(f"{how} at {path}")
    return dump(document), done


# Text made mostly of the characters that mean something to YAML, to reach the parser's odd corners.
YAML_ALPHABET = "ab:_-?[]{},&*!|>'\"#%@`<= \n\t01.~\\" + "é\u2028\ufeff"
yaml_like_text = st.text(alphabet=YAML_ALPHABET, max_size=120)


@st.composite
def override_texts(draw) -> str:
    """A --set override: a (possibly bad) path into minimal.yaml, '=' (usually), and a YAML-like value."""
    document = minimal_document()
    path = list(draw(st.sampled_from(paths(document))))
    if draw(st.booleans()) and isinstance(path[-1], str):
        path[-1] = draw(small_edits(path[-1]))
    dotted = ".".join(str(p) for p in path)
    value = draw(yaml_like_text | st.sampled_from(["0.7", "-1", ".nan", "NO", "[1, 2]", "{dist: normal}", ""]))
    return dotted + draw(st.sampled_from(["=", "=", "=", ":", ""])) + value



@st.composite
def minimal_with_junk(draw) -> str:
    """minimal.yaml with YAML-like junk put in at the start of a random line."""
    lines = MINIMAL_TEXT.splitlines(keepends=True)
    at = draw(st.integers(0, len(lines)))
    return "".join(lines[:at]) + draw(yaml_like_text) + "".join(lines[at:])
