"""Variants: a file with `extends: base.yaml` is its base with this file's values laid over it.

Mappings merge key by key; a list is replaced whole, unless the variant writes a mapping in its place, which edits
the base's list: items that have an id (rungs, steps, obligations by party, stages by name) are named by it
(`rungs: {deep_strikes: {label: ...}}` merges into that rung, `nuclear_use: null` removes it, a new id is
added at the end), and any list takes `+append: [items]` and `+remove: [ids, values or 0-based indices]`.
Every value keeps the position where it was written, so an error points at the file and line that wrote it;
an item a variant removed is named with the variant's line when something still refers to it.
"""

from __future__ import annotations

from pathlib import Path

from escalsim.errors import Problem, ScenarioError, format_path, shown
from escalsim.scenario.source import Source, fail, load_yaml, read_text

MAX_EXTENDS = 8


def read_source(path: Path, _chain: tuple[Path, ...] = ()) -> Source:
    """One file's data, with `extends:` resolved: the base's data overlaid by this file's."""
    source = load_yaml(path)
    base_name = source.data.get("extends")
    if base_name is None:
        _refuse_empty_values(source)
        return source
    where = source.where(("extends",))
    if not isinstance(base_name, str) or not base_name.strip():
        fail(*where, "extends must be a file name (a path relative to this file)", "extends")
    try:
        base_path = (path.parent / base_name).resolve()
        is_file = base_path.is_file()
    except (OSError, ValueError, RuntimeError) as exc:  # NUL byte, name too long, symlink loop
        why = getattr(exc, "strerror", None) or exc
        fail(*where, f"extends names {shown(base_name)}, which cannot be used as a file name ({why})", "extends")
    chain = _chain + (path.resolve(),)
    if base_path in chain:
        fail(*where, "extends makes a cycle: " + " -> ".join(p.name for p in chain + (base_path,)), "extends")
    if len(chain) > MAX_EXTENDS:
        fail(*where, f"more than {MAX_EXTENDS} levels of extends", "extends")
    if not is_file:
        fail(*where, f"extends names {shown(base_name)}, which is not a file (looked at {base_path})", "extends")
    if base_path.suffix.lower() not in (".yaml", ".yml"):
        fail(*where, f"extends names {shown(base_name)}; a base scenario is a .yaml or .yml file", "extends")
    base = read_source(base_path, chain)
    base.data.pop("extends", None)
    _overlay(base, source, ())
    return base


def _refuse_empty_values(source: Source) -> None:
    """`cap:` with nothing after it would mean "no cap", silently: in a scenario that extends nothing, an empty
    value is an error. (In a variant, `key: null` removes the value its base gives.)"""
    problems = []

    def walk(node, path: tuple) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if value is None:
                    problems.append(Problem(*source.where(path + (key,), key=True), format_path(path + (key,)),
                                            f"'{key}' is empty: write its value, or remove the line"))
                else:
                    walk(value, path + (key,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, path + (i,))

    walk(source.data, ())
    if problems:
        raise ScenarioError(problems)


def scenario_sources(path: Path) -> dict[str, str]:
    """The text of a scenario file and of every file it extends, by path (for the results manifest)."""
    sources: dict[str, str] = {}
    while path is not None and str(path) not in sources:
        text = read_text(path)
        sources[str(path)] = text
        base = load_yaml(path, text).data.get("extends")
        path = path.parent / base if isinstance(base, str) else None
    return sources


def _overlay(base: Source, top: Source, path: tuple, at: tuple | None = None) -> None:
    """Merge top's value at `path` into base's at `at` (default: the same path): mappings key by key, a list
    edited by a mapping (see the module's docstring), anything else replaced whole."""
    at = path if at is None else at
    top_value = get(top.data, path)
    base_value = get(base.data, at) if at else base.data
    if isinstance(top_value, dict) and isinstance(base_value, dict):
        if any(key not in base_value or top_value[key] is None for key in top_value):
            _resized_by(base, top, path, at)
        for key in top_value:
            child, target = path + (key,), at + (key,)
            if child in top.keys:
                base.keys[target] = top.keys[child]
            if top_value[key] is None:  # `key: null` removes what the base gives (the field's default applies)
                base_value.pop(key, None)
                drop_positions(base, target)
                base.removed[str(key)] = top.where(child, key=True)
            elif key in base_value and isinstance(base_value[key], (dict, list)) and isinstance(top_value[key], dict):
                _overlay(base, top, child, target)
            else:
                drop_positions(base, target)
                base_value[key] = top_value[key]
                copy_positions(top, base, child, target)
    elif isinstance(top_value, dict) and isinstance(base_value, list):
        _edit_list(base, top, path, at, base_value, top_value)
    else:
        put(base.data, at, top_value)


def _resized_by(base: Source, top: Source, path: tuple, at: tuple) -> None:
    """The variant adds to or removes from the mapping or list at `at`: an error about it as a whole (how many
    entries it has, the cap on checkpoints x values) points at the variant's line, not the base's. The scenario's
    root keeps the base's position."""
    if at and path in top.values:
        base.values[at] = top.values[path]


ID_KEYS = ("id", "party", "name")  # what names an item of a list: a rung's id, an obligation's party, ...


def item_index(items: list, name) -> int | None:
    """The index of the list item named `name` (by its id, party or name; a string item by its value)."""
    for i, item in enumerate(items):
        if item == name or isinstance(item, dict) and any(item.get(k) == name for k in ID_KEYS):
            return i
    return None


def _edit_list(base: Source, top: Source, path: tuple, at: tuple, items: list, edits: dict) -> None:
    """A variant's mapping in place of a list: merge into items by id, add new ids and `+append` items at the
    end, then remove the items named null or listed in `+remove` (positions follow the items)."""
    removals: list[int] = []
    if any(key in ("+append", "+remove") or value is None or item_index(items, key) is None
           for key, value in edits.items()):
        _resized_by(base, top, path, at)
    for key, value in edits.items():
        here = top.where(path + (key,), key=True)
        if key == "+append":
            if not isinstance(value, list):
                fail(*here, "+append takes a list of items to add at the end", format_path(path + (key,)))
            for j, item in enumerate(value):
                items.append(item)
                copy_positions(top, base, path + (key, j), at + (len(items) - 1,))
        elif key == "+remove":
            for name in value if isinstance(value, list) else [value]:
                removals.append(_removal(base, items, name, here, path + (key,)))
        elif value is None:
            removals.append(_removal(base, items, key, here, path + (key,)))
        else:
            _merge_item(base, top, path, at, items, key, value)
    _remove(base, at, items, sorted(set(removals)))


def _merge_item(base: Source, top: Source, path: tuple, at: tuple, items: list, key: str, value) -> None:
    """The variant's `key: value` in a list edit: merged into the item named `key`, or a new item at the end."""
    i = item_index(items, key)
    if i is None:
        if isinstance(value, dict) and not any(k in value for k in ID_KEYS):
            value = {_id_key(items): key, **value}
        items.append(value)
        copy_positions(top, base, path + (key,), at + (len(items) - 1,))
    elif isinstance(value, dict) and isinstance(items[i], dict):
        _overlay(base, top, path + (key,), at + (i,))
    else:
        drop_positions(base, at + (i,))
        items[i] = value
        copy_positions(top, base, path + (key,), at + (i,))


def _id_key(items: list) -> str:
    """The key that names the items of this list ('id' unless its items use 'party' or 'name')."""
    for item in items:
        if isinstance(item, dict):
            return next((k for k in ID_KEYS if k in item), "id")
    return "id"


def _removal(base: Source, items: list, name, here: tuple, path: tuple) -> int:
    """The index of the item a variant removes (an id, a string item's value, or an index); records where."""
    if isinstance(name, int) and not isinstance(name, bool) and 0 <= name < len(items):
        i = name
    else:
        i = item_index(items, name)
    if i is None:
        names = [next((item.get(k) for k in ID_KEYS if k in item), None) if isinstance(item, dict) else item
                 for item in items]
        fail(*here, f"nothing named {shown(name)} to remove; the list holds: "
                    + ", ".join(str(n) for n in names if n is not None), format_path(path))
    base.removed[str(name)] = here
    return i


def _remove(base: Source, at: tuple, items: list, indices: list[int]) -> None:
    """Remove the items at `indices` from the list at `at`, renumbering the positions of the items after them."""
    if not indices:
        return
    for i in reversed(indices):
        del items[i]
    n = len(at)
    for table in (base.values, base.keys):
        moved = {}
        for key in [k for k in table if len(k) > n and k[:n] == at and isinstance(k[n], int)]:
            old, pos = key[n], table.pop(key)
            if old not in indices:
                moved[at + (old - sum(1 for i in indices if i < old),) + key[n + 1:]] = pos
        table.update(moved)


def get(data, path: tuple):
    """The value at `path` in nested data."""
    for part in path:
        data = data[part]
    return data


def put(data, path: tuple, value) -> None:
    """Set the value at `path` in nested data."""
    get(data, path[:-1])[path[-1]] = value


def drop_positions(source: Source, path: tuple) -> None:
    """Forget the positions of everything at `path`."""
    for table in (source.values, source.keys):
        for key in [k for k in table if k[: len(path)] == path]:
            del table[key]


def copy_positions(src: Source, dst: Source, path: tuple, to: tuple | None = None) -> None:
    """Copy the positions of everything at `path` in src to dst, at `to` (default: the same path)."""
    to = path if to is None else to
    for name in ("values", "keys"):
        table = getattr(src, name)
        getattr(dst, name).update({to + k[len(path):]: v for k, v in table.items() if k[: len(path)] == path})
