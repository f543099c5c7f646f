"""Summaries, figures and reports in memory that does not grow with the run count (issue 14): counted in cells
materialised, never timed; and the same numbers as from the whole tables in memory."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import escalsim  # noqa: E402
from escalsim.montecarlo import parquet  # noqa: E402
from escalsim.montecarlo.files import ResultsError  # noqa: E402
from escalsim.montecarlo.results import load_results, open_results  # noqa: E402
from escalsim.outputs import analysis, csv_files, report, tables  # noqa: E402
from escalsim.outputs.contract import level_counts, quantiles_from_counts  # noqa: E402
from escalsim.parquet_table import ParquetTable  # noqa: E402

SCENARIOS = Path(__file__).parent.parent / "scenarios"
GROUP = 64  # rows per Parquet row group in these tests, so that small results have many groups
SMALL, LARGE = 100, 400


@pytest.fixture(scope="module")
def directories(tmp_path_factory):
    """Results of the default scenario (three tracks) at two run counts, written in row groups of GROUP rows."""
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parquet, "ROW_GROUP", GROUP)
        scenario = escalsim.load_scenario(SCENARIOS / "dprk_russia_2024.yaml")
        for runs in (SMALL, LARGE):
            where = tmp_path_factory.mktemp(f"runs{runs}") / "results"
            out[runs] = escalsim.run(scenario, where, escalsim.Settings(runs=runs, workers=1, trace_runs=2))
    return out


def everything(results) -> int:
    """What `escalsim run`, `plot` and `report` compute from a results directory (the report draws every figure);
    returns the report's length."""
    list(tables.summary(results.runs, results.manifest))
    variables = analysis.variable_quantiles(results.runs, results.manifest, results.manifest["readable"])
    csv_files.csv_tables(results.runs, results.manifest, variables)
    page = report.render(results)
    plt.close("all")
    return len(page)


def test_memory_and_the_report_do_not_grow_with_the_number_of_runs_or_columns(directories):
    largest, sizes = {}, {}
    for runs, directory in directories.items():
        results = open_results(directory)
        sizes[runs] = everything(results)
        days = len(results.manifest["grid_days"])
        # the level grid streams: never more than one row group at once, whatever the run count
        assert results.levels.largest_read <= GROUP * (days + 2)
        # the runs table is read one column at a time (8 bytes a run), never every run's record
        assert results.runs.largest_read == runs
        largest[runs] = results.levels.largest_read
    assert largest[SMALL] == largest[LARGE]
    assert sizes[LARGE] < 1.25 * sizes[SMALL]  # figures on fixed grids: the page does not grow with the runs


def test_the_numbers_are_those_of_the_whole_tables_in_memory(directories):
    directory = directories[LARGE]
    lazy, whole = open_results(directory), load_results(directory)
    assert list(tables.summary(lazy.runs, lazy.manifest)) == list(tables.summary(whole.runs, whole.manifest))
    for track in whole.manifest["tracks"]:
        levels = whole.levels[whole.levels["track"].astype(str) == track["id"]]
        grid = levels[[f"d{k}" for k in range(len(whole.manifest["grid_days"]))]].to_numpy()
        counts, _ = level_counts(lazy, track["id"])
        for q in (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975):
            np.testing.assert_array_equal(quantiles_from_counts(counts, q)[0], np.quantile(grid, q, axis=0))


@pytest.mark.parametrize("seed", range(5))
def test_quantiles_from_counts_are_numpys(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 6, size=(int(rng.integers(1, 40)), 7))
    counts = np.stack([np.bincount(values[:, j], minlength=6) for j in range(values.shape[1])])
    qs = [0.0, 0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975, 1.0]
    np.testing.assert_array_equal(quantiles_from_counts(counts, qs), np.quantile(values, qs, axis=0))


def test_load_results_reads_only_the_columns_asked_for(directories):
    results = load_results(directories[SMALL], columns=["run", "at_or_above.nuclear_use"])
    assert list(results.runs.columns) == ["run", "at_or_above.nuclear_use"] and len(results.runs) == SMALL
    assert isinstance(results.levels, ParquetTable) and not isinstance(results.traces, ParquetTable)
    with pytest.raises(ResultsError, match="no column 'nonsense'"):
        load_results(directories[SMALL], columns=["run", "nonsense"])
    with pytest.raises(ResultsError, match="did you mean 'at_or_above.nuclear_use'"):
        load_results(directories[SMALL], columns=["at_or_above.nuclear_uses"])
    assert list(load_results(directories[SMALL], columns="run").runs.columns) == ["run"]  # one name, not letters


def test_a_parquet_table_answers_like_a_dataframe(directories):
    whole = load_results(directories[SMALL]).runs
    table = ParquetTable(directories[SMALL] / "runs.parquet")
    assert len(table) == len(whole) and "run" in table and table.get("nonsense") is None
    for column in ("run", "event.seoul_sends_weapons", "cause.nuclear_use", "count.seoul_sends_weapons"):
        assert table[column].equals(whole[column])
    assert sum(len(batch) for batch in table.batches(["run"])) == len(whole)
    with pytest.raises(KeyError):
        table["nonsense"]


def test_batches_are_slices_of_a_row_group_whatever_its_size(directories, monkeypatch, tmp_path):
    """A levels row group grows to 65,536 rows with the run count; `batches` converts it to pandas a bounded slice
    at a time (counted in cells materialised), and the slices are the rows of the whole table, in order."""
    import pyarrow.parquet as pq

    from escalsim import parquet_table

    whole = pq.read_table(directories[LARGE] / "levels.parquet")
    path = tmp_path / "levels.parquet"
    pq.write_table(whole, path, row_group_size=len(whole))  # one row group of 1,200 rows
    monkeypatch.setattr(parquet_table, "BATCH_BYTES", 1)  # the floor: slices of 1,024 rows
    table = ParquetTable(path)
    assert table._file.num_row_groups == 1 and table.batch_rows(table.columns) == 1_024
    parts = list(table.batches())
    assert [len(p) for p in parts] == [1_024, len(whole) - 1_024]
    assert table.largest_read == 1_024 * len(table.columns) < len(whole) * len(table.columns)
    joined = np.concatenate([p[["run", "d0", "d9"]].to_numpy() for p in parts])
    np.testing.assert_array_equal(joined, whole.select(["run", "d0", "d9"]).to_pandas().to_numpy())


def test_text_counts_are_the_value_counts_of_the_strings(directories):
    from escalsim.outputs.contract import text_column, text_counts

    runs = load_results(directories[LARGE]).runs
    rng = np.random.default_rng(1)
    for column in [c for c in runs.columns if c.startswith("cause.")][:6]:
        rows = rng.random(len(runs)) < 0.7
        expected = text_column(runs[column])[rows].value_counts().to_dict()
        assert text_counts(runs[column], rows) == expected  # categorical: counted on the codes
        assert text_counts(runs[column].astype(object), rows) == expected  # objects: by text_column


def test_the_runs_footer_is_parsed_once_for_the_summary_and_not_at_all_for_unread_levels(directories, monkeypatch,
                                                                                         tmp_path):
    """Each ParquetFile parses the whole footer (~1 KB a row group and column: ~40 MB for a million runs): the
    summary tables open runs.parquet once, and a column query does not open levels.parquet."""
    import shutil

    import pyarrow.parquet as pq

    from escalsim import parquet_table

    directory = tmp_path / "results"
    shutil.copytree(directories[SMALL], directory)
    opened = []

    class Counting(pq.ParquetFile):
        def __init__(self, source, *args, **kwargs):
            opened.append(Path(source).name)
            super().__init__(source, *args, **kwargs)

    monkeypatch.setattr(parquet_table.pq, "ParquetFile", Counting)
    runs = tables.summary_frame(directory, results_manifest := escalsim.load_results(directory).manifest)
    opened.clear()
    csv_files.write_csv(runs, results_manifest, directory)
    assert opened == []  # write_csv reads the table it was given
    results = load_results(directory, columns=["run"])
    assert opened == ["runs.parquet"]
    assert len(results.levels) == 3 * SMALL and opened == ["runs.parquet", "levels.parquet"]  # at first use


def test_reading_columns_does_not_rebuild_the_schema(tmp_path):
    # pyarrow builds ParquetFile.schema_arrow from the Parquet schema at every call (20 ms at 9,576 columns):
    # reading a wide table a column at a time must use the schema read when the table was opened
    import pyarrow as pa
    import pyarrow.parquet as pq

    from escalsim.parquet_table import ParquetTable
    pq.write_table(pa.table({f"c{k}": [float(k), 2.0] for k in range(5)}), tmp_path / "t.parquet")
    table = ParquetTable(tmp_path / "t.parquet")

    class NoSchema:
        def __init__(self, file):
            self.file = file

        def __getattr__(self, name):
            if name == "schema_arrow":
                raise AssertionError("schema_arrow read again")
            return getattr(self.file, name)

    table._file = NoSchema(table._file)
    assert [table[f"c{k}"].tolist() for k in range(5)] == [[float(k), 2.0] for k in range(5)]
