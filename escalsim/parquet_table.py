"""A Parquet table read a column at a time or a row group at a time, never whole (a leaf: it imports nothing from
the package, so the Monte Carlo that opens results and the outputs that summarise them can share it).

`ParquetTable` answers the column access the summaries use on a DataFrame (`table["col"]`, `table.get`, `len`,
`in`), reading that one column from the file; `batches` streams row groups, each converted to pandas a slice of
about BATCH_BYTES at a time (a row group of the levels table reaches 65,536 rows). It counts what it materialises
(`largest_read`, in cells), so a test can check that memory does not grow with the number of columns or, for
streamed tables, with the number of rows.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

BATCH_BYTES = 4 * 2**20  # Arrow memory of one batch of `ParquetTable.batches` at most (pandas takes as much again)


class ParquetTable:
    """One Parquet file: its columns by name, its rows by row group (in slices). Its footer is parsed once, when the
    table is opened, and kept: ~1 KB a row group and column (~40 MB for a million runs of 576 columns), so open a
    file once and share the table."""

    def __init__(self, path, columns: Sequence[str] | None = None, deferred: bool = False):
        """Open the file now (its footer parsed, the columns checked: KeyError for a column it lacks, OSError or an
        Arrow error if it cannot be read), or, `deferred`, at first use: a table that may never be read (the levels
        of a `load_results` column query) costs no parsed footer, ~10 MB for a million runs."""
        self.path = Path(path)
        self._wanted = list(columns) if columns is not None else None
        self.largest_read = 0   # the most cells (rows x columns) materialised by one read
        self.cells_read = 0     # all cells materialised so far
        if not deferred:
            self._open()

    def _open(self) -> None:
        file = pq.ParquetFile(self.path)
        self._schema = file.schema_arrow  # built from the Parquet schema at every call (20 ms at 9,576 columns): once
        names = self._schema.names
        if self._wanted is not None:
            missing = [c for c in self._wanted if c not in names]
            if missing:
                close = difflib.get_close_matches(missing[0], names, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise KeyError(f"{self.path.name} has no column {', '.join(map(repr, missing))}{hint}")
        self._file = file
        self.names: list[str] = names  # every column of the file
        self.columns: list[str] = self._wanted if self._wanted is not None else names

    def __getattr__(self, name: str):
        if name in ("_file", "_schema", "names", "columns") and "_file" not in self.__dict__:  # deferred: open it now
            self._open()
            return getattr(self, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __len__(self) -> int:
        return self._file.metadata.num_rows

    def __contains__(self, name) -> bool:
        return name in self.columns

    def __repr__(self) -> str:
        return f"ParquetTable({str(self.path)!r}: {len(self):,} rows, {len(self.columns)} columns)"

    @property
    def empty(self) -> bool:
        """Whether the table has no rows (as DataFrame.empty)."""
        return len(self) == 0

    def __getitem__(self, name: str) -> pd.Series:
        """One column as a pandas Series (a Categorical for a dictionary-encoded string column), read from the
        file now. Raises KeyError for a column the table does not have."""
        if not isinstance(name, str) or name not in self.columns:
            raise KeyError(name)
        return self.read([name])[name]

    def get(self, name: str, default=None):
        """The column `name` (as `table[name]`), or `default` if the table has no such column."""
        return self[name] if name in self.columns else default

    def read(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The given columns (None: all the table's) of every row as one DataFrame.

        Numeric columns are copied into their NumPy arrays a row group at a time: reading a column whole first
        held it in Arrow's chunks, then again concatenated for pandas (25 MB of Arrow memory for one 8 MB column
        of a million runs). Other columns (dictionary-encoded strings) go through pandas' conversion."""
        columns = list(self.columns if columns is None else columns)
        self._count(len(self) * len(columns))
        schema = self._schema
        numeric = [c for c in columns if _numeric(schema.field(c).type)]
        values = self._numeric_columns(numeric) if numeric else {}
        rest = [c for c in columns if c not in values]
        if rest:
            frame = self._file.read(columns=rest).to_pandas(split_blocks=True, self_destruct=True)
            values.update((c, frame[c]) for c in rest)
        return pd.DataFrame({c: values[c] for c in columns}, copy=False)

    def _numeric_columns(self, columns: list[str]) -> dict[str, np.ndarray]:
        """Numeric columns without nulls as NumPy arrays, filled a row group at a time (a column with a null is
        left out: pandas decides its type)."""
        schema = self._schema
        out = {c: np.empty(len(self), schema.field(c).type.to_pandas_dtype()) for c in columns}
        start = 0
        for k in range(self._file.num_row_groups):
            group = self._file.read_row_group(k, columns=list(out), use_threads=False)
            for c in list(out):
                column = group.column(c)
                if column.null_count:
                    del out[c]
                    continue
                out[c][start:start + len(column)] = column.to_numpy()
            start += group.num_rows
            del group
        return out

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        """The given columns (None: all the table's) of every row, in order, as DataFrames of `batch_rows(columns)`
        rows at most (less than a row group where a row group would take more than BATCH_BYTES in memory)."""
        columns = list(self.columns if columns is None else columns)
        rows = self.batch_rows(columns)
        for k in range(self._file.num_row_groups):
            group = self._file.read_row_group(k, columns=columns)
            for start in range(0, group.num_rows, rows):
                batch = group.slice(start, rows)
                self._count(batch.num_rows * len(columns))
                yield batch.to_pandas()
            del group, batch

    def batch_rows(self, columns: Sequence[str]) -> int:
        """Rows of `batches`: as many as take about BATCH_BYTES in Arrow memory, a multiple of 1,024, at least 1,024
        (whatever the row groups' size, which grows to 65,536 rows with the run count)."""
        schema = self._schema
        width = sum(value_bytes(schema.field(name).type) for name in columns)
        return max(1_024, BATCH_BYTES // max(width, 1) // 1_024 * 1_024)

    def _count(self, cells: int) -> None:
        self.largest_read = max(self.largest_read, cells)
        self.cells_read += cells


def _numeric(kind: pa.DataType) -> bool:
    return pa.types.is_integer(kind) or pa.types.is_floating(kind)


def value_bytes(kind: pa.DataType) -> int:
    """Bytes a value of this type takes in memory (a string: a guess of 16)."""
    if pa.types.is_dictionary(kind):
        return kind.index_type.bit_width // 8
    if pa.types.is_fixed_size_binary(kind):
        return kind.byte_width
    try:
        return max(1, kind.bit_width // 8)
    except ValueError:  # variable width
        return 16
