"""Batches as Parquet: chunk files while running, streamed into one file per table in fixed row groups."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from escalsim.montecarlo.files import atomic
from escalsim.parquet_table import value_bytes

ROW_GROUP = 65_536                    # rows per Parquet row group at most: fixed, so files do not depend on batch sizes
GROUP_BYTES = 80 * 2**20              # and at most this many bytes of a row group in memory, while writing or reading


COMPRESSION = "zstd"


CHUNK_FILE = re.compile(r"^(runs|levels|traces)-(\d+)-(\d+)\.parquet$")


ARROW_TYPES = {"int64": pa.int64(), "uint64": pa.uint64(), "int32": pa.int32(), "int16": pa.int16(),
          "float64": pa.float64(), "str": pa.string()}


CATEGORY = pa.dictionary(pa.int32(), pa.string())


TRACE_SCHEMA = pa.schema([("run", pa.int64()), ("day", pa.float64()), ("date", pa.string()),
                          ("kind", pa.string()), ("subject", pa.string()), ("text", pa.string()),
                          ("cause", pa.string())])


def write_chunk(path: Path, table: pa.Table) -> None:
    """Write one chunk file atomically (leaving the directory's fsync for later). Raises ResultsWriteError."""
    atomic(path, lambda fh: pq.write_table(table, fh, compression=COMPRESSION), sync_dir=False)


def runs_table(names: dict[str, str], columns: dict) -> pa.Table:
    """The runs' columns as a table; `names` maps each column to its type in ARROW_TYPES."""
    return pa.table({k: pa.array(columns[k], type=ARROW_TYPES[t]) for k, t in names.items()})


def grid_chunk(start: int, grid: np.ndarray) -> pa.Table:
    """A chunk's level grid (runs x tracks x days) as one row per run and track, the days in one fixed-size
    binary cell (a wide table is slow to write per batch)."""
    runs, tracks, days = grid.shape
    cells = pa.FixedSizeBinaryArray.from_buffers(pa.binary(days), runs * tracks,
                                                 [None, pa.py_buffer(np.ascontiguousarray(grid, np.int8))])
    run = np.repeat(np.arange(start, start + runs, dtype=np.int64), tracks)
    track = np.tile(np.arange(tracks, dtype=np.int16), runs)
    return pa.table({"run": pa.array(run), "track": pa.array(track), "grid": cells})


def levels_schema(days: int) -> pa.Schema:
    """levels.parquet: one row per run and track, the rung at the end of each grid day in d0, d1, ..."""
    return pa.schema([("run", pa.int64()), ("track", pa.string())] + [(f"d{k}", pa.int8()) for k in range(days)])


def grid_columns(schema: pa.Schema, track_ids: list[str]) -> Callable[[pa.Table], pa.Table]:
    """Grid cells back to one int8 column per day ('d0', 'd1', ...), tracks by id."""
    days = len(schema) - 2
    ids = pa.array(track_ids, pa.string())

    def grid(cells: pa.FixedSizeBinaryArray) -> np.ndarray:  # a view of the cells' bytes, runs x days
        data = np.frombuffer(cells.buffers()[1], np.int8, count=len(cells) * days, offset=cells.offset * days)
        return data.reshape(len(cells), days)

    def convert(table: pa.Table) -> pa.Table:
        """Chunk by chunk, so that the cells are not copied whole before their columns are (the writer's bytes do
        not depend on the chunks)."""
        grids = [grid(cells) for cells in table.column("grid").chunks]
        track = pa.chunked_array([ids.take(chunk) for chunk in table.column("track").chunks], pa.string())
        return pa.table([table.column("run"), track]
                        + [pa.chunked_array([pa.array(g[:, k]) for g in grids], pa.int8()) for k in range(days)],
                        schema=schema)

    return convert


def chunk_name(kind: str, start: int, stop: int) -> str:
    """The file name of the `kind` chunk of runs start to stop - 1."""
    return f"{kind}-{start:012d}-{stop:012d}.parquet"


def read_chunks(chunk_dir: Path, kind: str, ranges, optional: bool = False) -> Iterator[pa.Table]:
    """The `kind` chunk table of each (start, stop) range, in order. A missing file raises
    FileNotFoundError, unless `optional`: then it is skipped."""
    for a, b in ranges:
        path = chunk_dir / chunk_name(kind, a, b)
        if optional and not path.is_file():
            continue
        yield pq.read_table(path)


def distinct(paths: list[Path], cols: list[str]) -> dict[str, pa.Array]:
    """Sorted distinct values of each string column over all chunks (one column at a time is small)."""
    seen: dict[str, set] = {c: set() for c in cols}
    for path in paths:
        table = pq.read_table(path, columns=cols)
        for c in cols:
            seen[c].update(table.column(c).unique().to_pylist())
    return {c: pa.array(sorted(v), pa.string()) for c, v in seen.items()}


def encode(table: pa.Table, schema: pa.Schema, dictionaries: dict[str, pa.Array]) -> pa.Table:
    """String columns as indices into one sorted dictionary per column (pandas: a category), chunk by chunk: the
    other columns are the table's own, not a copy. The Parquet writer's output does not depend on how a column is
    chunked (tests/test_store.py), so a row group is written the same whatever the batch sizes were, and
    consolidating holds the row group once, not twice."""
    cols = []
    for field in schema:
        col = table.column(field.name)
        if field.name in dictionaries:
            values = dictionaries[field.name]
            col = pa.chunked_array([pa.DictionaryArray.from_arrays(pc.index_in(chunk, value_set=values)
                                                                    .cast(pa.int32()), values)
                                    for chunk in col.chunks], type=field.type)
        cols.append(col)
    return pa.table(cols, schema=schema)


def stream(path: Path, schema: pa.Schema, tables: Iterator[pa.Table], convert: Callable | None = None,
            run_encoding: bool = False) -> None:
    """Write the tables to one Parquet file in row groups of ROW_GROUP rows, holding one group at a time."""
    options = {"compression": COMPRESSION}
    if run_encoding:  # run numbers count up: delta encoding stores them in a few bits each
        options.update(use_dictionary=[f.name for f in schema if f.name != "run"],
                       column_encoding={"run": "DELTA_BINARY_PACKED"})

    rows = group_rows(schema)

    def write(fh: BinaryIO) -> None:
        with pq.ParquetWriter(fh, schema, **options) as writer:
            for group in row_groups(tables, rows):
                writer.write_table(convert(group) if convert else group.cast(schema), row_group_size=rows)
                del group  # not kept while the next group is read: one group in memory, not two
                pa.default_memory_pool().release_unused()

    atomic(path, write)


def group_rows(schema: pa.Schema) -> int:
    """Rows per row group for a table of this schema: ROW_GROUP, or fewer (a multiple of 4,096) where ROW_GROUP rows
    would take more than GROUP_BYTES in memory (a wide runs table: ~4.5 KB a row for the default scenario, 16,384
    rows a group). It depends on the columns only, so the file still does not depend on batch sizes; writing, and
    reading a row group back, holds at most about GROUP_BYTES whatever the run count. The size weighs the writer
    against the readers: every reader parses the whole footer when it opens the file, ~1 KB a row group and
    column in pyarrow (62 groups of the default scenario's 576 columns for a million runs: ~34 MB; 82 groups at
    64 MiB: 45 MB), while writing holds a group (at 128 MiB the end of a million-run `escalsim run` peaked at
    367 MiB against 299 at 64). docs/benchmarks.md, "Bounded memory", has the figures."""
    width = sum(value_bytes(field.type) for field in schema)
    return max(4_096, min(ROW_GROUP, GROUP_BYTES // max(width, 1) // 4_096 * 4_096)) if ROW_GROUP >= 4_096 \
        else ROW_GROUP


def row_groups(tables: Iterator[pa.Table], size: int | None = None) -> Iterator[pa.Table]:
    """The rows of the tables regrouped into tables of `size` rows (None: ROW_GROUP; the last may be shorter)."""
    size = size or ROW_GROUP
    pending: list[pa.Table] = []
    rows = 0
    for table in tables:
        pending.append(table)
        rows += table.num_rows
        while rows >= size:
            group = pa.concat_tables(pending)
            pending, rows = [group.slice(size)], rows - size  # the rest keeps only the chunks it overlaps
            head = group.slice(0, size)
            del group
            yield head
            del head  # released before the next group's tables are read
    if rows:
        yield pa.concat_tables(pending)
