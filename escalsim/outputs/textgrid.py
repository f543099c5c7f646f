"""Plain-text tables that fit a terminal of 80 to 120 columns: a wrapped first column of labels, right-aligned
columns of numbers, and indented notes under a row."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterator
from typing import NamedTuple

MIN_WIDTH, DEFAULT_WIDTH, MAX_WIDTH = 80, 100, 120
LABEL_LINES = 3   # a label longer than this many lines of its column ends with '…'
GAP = "  "
NOTE_HANG = 7     # a note's later lines start under its text, past a share such as '  62%  '


class Row(NamedTuple):
    """A table row: its label (wrapped to the first column, after `indent` spaces), its cells, and notes printed
    under it (indented). A row without cells is a heading: its label alone, on as many lines as it needs."""

    label: str
    cells: list[str]
    notes: list[str] = []
    indent: int = 0


def terminal_width(width: int | None = None) -> int:
    """The width to lay the summary out in: `width` if given, else the terminal's (COLUMNS, or 100 when the output
    is no terminal), kept between 80 and 120 columns."""
    if width is None:
        width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    return max(MIN_WIDTH, min(MAX_WIDTH, int(width)))


def wrapped(text: str, width: int, indent: str = "", lines: int | None = None, hang: int = 2) -> list[str]:
    """`text` broken into lines of at most `width` characters, each starting with `indent` (later lines with
    `hang` more spaces); with `lines`, at most that many, the last ending with '…' if text was left out."""
    out = textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + " " * hang,
                        break_on_hyphens=False) or [indent]
    if lines is not None and len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][:width - 1].rstrip() + "…"
    return out


def paragraph(text: str, width: int, indent: str = "") -> Iterator[str]:
    """A line of prose (a title, a note) wrapped to `width` columns."""
    yield from wrapped(text, width, indent)


def label_room(width: int, header: list[str], rows: list[Row]) -> int:
    """The width left for the first column once every other column and the gaps between them are laid out."""
    widths = _cell_widths(header, rows)
    return width - sum(widths) - len(GAP) * len(widths)


def _trimmed(rows: list[Row]) -> list[Row]:
    """The rows with the trailing spaces that every cell of a column has (padding that lines up numbers) removed,
    so that the column's header stands over its last character."""
    columns = max((len(r.cells) for r in rows), default=0)
    for i in range(columns):
        cells = [r.cells[i] for r in rows if r.cells]
        pad = min((len(c) - len(c.rstrip(" ")) for c in cells), default=0)
        if pad:
            rows = [r._replace(cells=[c[:-pad] if j == i else c for j, c in enumerate(r.cells)]) if r.cells else r
                    for r in rows]
    return rows


def _cell_widths(header: list[str], rows: list[Row]) -> list[int]:
    return [max([len(h)] + [len(r.cells[i]) for r in rows if r.cells]) for i, h in enumerate(header[1:])]


def table(header: list[str], rows: list[Row], width: int) -> Iterator[str]:
    """Aligned lines at most `width` columns wide (given a first column of at least 12): the labels left-aligned
    and wrapped (three lines at most), the cells right-aligned on a row's first line, notes indented under it."""
    rows = _trimmed(rows)
    cells = _cell_widths(header, rows)
    longest = max([len(header[0])] + [r.indent + len(r.label) for r in rows if r.cells])
    first = max(12, min(longest, label_room(width, header, rows)))
    yield GAP.join([header[0].ljust(first)] + [h.rjust(w) for h, w in zip(header[1:], cells)]).rstrip()
    for row in rows:
        if not row.cells:
            yield from wrapped(row.label, width)
            continue
        label = wrapped(row.label, first, " " * row.indent, LABEL_LINES)
        yield GAP.join([label[0].ljust(first)] + [c.rjust(w) for c, w in zip(row.cells, cells)]).rstrip()
        yield from label[1:]
        for note in row.notes:
            yield from wrapped(note, width, "    ", hang=NOTE_HANG)
