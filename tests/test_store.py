"""The results directory: whole files only, resumable, readable by pandas and pyarrow, compact."""

from __future__ import annotations

import errno
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.testing import assert_frame_equal

from escalsim import __version__
from escalsim.montecarlo import files, parquet, store
from escalsim.montecarlo.backends import SerialBackend
from escalsim.montecarlo.batches import Job, model_of, run_many
from escalsim.montecarlo.files import FORMAT, ResultsError, ResultsWriteError, unlock_directory
from escalsim.montecarlo.jobspec import StopRule
from escalsim.montecarlo.records import column_names
from escalsim.montecarlo.results import load_results, read_manifest
from escalsim.montecarlo.store import ResultsWriter
from escalsim.scenario.loader import load_scenario

SCENARIOS = Path(__file__).parent.parent / "scenarios"
MINIMAL = SCENARIOS / "minimal.yaml"
RUNS = 300


@pytest.fixture(scope="module")
def job() -> Job:
    return Job(load_scenario(MINIMAL), seed=5, trace_runs=4, grid_step=7.0)


def create(directory: Path, job: Job, runs: int = RUNS) -> ResultsWriter:
    return ResultsWriter.create(directory, scenario=job.scenario, sources={"minimal.yaml": MINIMAL.read_text()},
                                seed=job.seed, runs=runs, backend="serial", workers=1, trace_runs=job.trace_runs,
                                grid_step=job.grid_step, overrides=["options.b_mobilises.probability=0.5"],
                                settings=StopRule(precision=0.01))


def write(directory: Path, job: Job, runs: int = RUNS, batch_size: int = 64) -> Path:
    writer = create(directory, job, runs)
    for batch in run_many(job, 0, runs, SerialBackend(), batch_size):
        writer.append(batch)
    writer.finalize(wall_time=2.0, stopped_because="runs")
    return directory


@pytest.fixture(scope="module")
def done(job, tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("done"), job)


def interrupted(directory: Path, job: Job, batches: int, batch_size: int = 64) -> ResultsWriter:
    """A run stopped after `batches` batches, as if by Ctrl-C."""
    writer = create(directory, job)
    for k, batch in enumerate(run_many(job, 0, RUNS, SerialBackend(), batch_size)):
        if k == batches:
            break
        writer.append(batch)
    return writer


# --- the finished directory --------------------------------------------------------------------------------

def test_a_finished_directory_holds_the_tables_and_the_manifest_only(done):
    assert sorted(p.name for p in done.iterdir()) == ["levels.parquet", "manifest.json", "runs.parquet",
                                                      "traces.parquet"]


def test_manifest_says_what_was_run_and_how(done, job):
    m = json.loads((done / "manifest.json").read_text())
    text = MINIMAL.read_text()
    assert m["format"] == FORMAT and m["escalsim_version"] == __version__
    assert m["sources"] == {"minimal.yaml": {"sha256": hashlib.sha256(text.encode()).hexdigest(), "text": text}}
    assert m["scenario"] == "minimal" and len(m["scenario_sha256"]) == 64
    assert m["overrides"] == ["options.b_mobilises.probability=0.5"] and m["settings"] == {
        "precision": 0.01, "min_runs": 1000, "max_runs": 1_000_000, "batch_size": None}
    assert (m["seed"], m["runs"], m["trace_runs"], m["grid_step"]) == (5, RUNS, 4, 7.0)
    assert m["grid_start"] == "2025-01-01" and m["grid_days"] == [7.0 * k for k in range(53)]
    assert m["backend"] == "serial" and m["workers"] == 1 and m["stopped_because"] == "runs"
    assert m["wall_time_s"] >= 2.0 and m["runs_per_s"] == pytest.approx(RUNS / m["wall_time_s"], rel=1e-3)
    assert m["events"] > RUNS
    assert m["rungs"] == ["peace", "crisis", "war"] and m["rung_labels"] == ["Peace", "Crisis", "War"]
    assert m["start"] == "2025-01-01" and m["horizon_days"] == 365
    assert m["tracks"] == [{"id": "level", "label": "Ladder", "kind": None, "rungs": ["peace", "crisis", "war"],
                            "rung_labels": ["Peace", "Crisis", "War"], "start": 0}]
    assert m["checkpoints"] == [{"name": "q1", "day": 90.0}, {"name": "h1", "day": 181.0}]
    assert m["readable"] == ["troops_at_border", "b_mobilised", "b_sees_troops", "level"]
    assert m["labels"]["troops_at_border"] == "State A troops at the border"
    assert m["outcomes"] == m["options"] == ["b_mobilises"]
    assert m["event_names"] == ["b_mobilises", "a_to_border"]
    assert m == read_manifest(done)
    assert m["created"].endswith("+00:00")


def test_pandas_reads_runs_parquet_with_sensible_dtypes(done, job):
    import pandas as pd

    runs = pd.read_parquet(done / "runs.parquet")
    names = column_names(model_of(job.scenario))
    assert list(runs.columns) == list(names)
    for name, dtype in names.items():
        assert runs[name].dtype == ("category" if dtype == "str" else np.dtype(dtype)), name
    assert runs["run"].tolist() == list(range(RUNS))
    assert (runs["seed"] == 5).all()
    assert list(runs["cause.war"].cat.categories) == sorted(runs["cause.war"].unique())
    assert runs["at_or_above.war"].isna().any() and runs["at_or_above.war"].notna().any()


def test_pyarrow_reads_the_tables(done):
    runs = pq.read_table(done / "runs.parquet")
    assert runs.schema.field("max.level").type == pa.int16()
    assert runs.schema.field("cause.crisis").type == pa.dictionary(pa.int32(), pa.string())
    levels = pq.read_table(done / "levels.parquet")
    assert levels.column_names == ["run", "track"] + [f"d{k}" for k in range(53)]
    assert set(levels.column("track").to_pylist()) == {"level"}
    assert {levels.schema.field(f"d{k}").type for k in range(53)} == {pa.int8()}
    traces = pq.read_table(done / "traces.parquet").to_pandas()
    assert set(traces["run"]) == {0, 1, 2, 3} and list(traces.columns)[:3] == ["run", "day", "date"]


def test_levels_agree_with_the_runs(done):
    r = load_results(done)
    assert (r.levels.drop(columns=["run", "track"]).max(axis=1) <= r.runs["max.level"]).all()
    assert (r.levels["d52"] == r.runs["final.level"]).all()  # day 364 is the last grid day


# --- interruptions -----------------------------------------------------------------------------------------

def test_interrupted_then_resumed_gives_the_uninterrupted_results(job, done, tmp_path):
    writer = interrupted(tmp_path, job, batches=2)
    assert writer.next_run == 128
    # a crash in the next append: its chunk written, the progress not updated; and a half-written file
    batch = next(run_many(job, 128, 192, SerialBackend()))
    parquet.write_chunk(tmp_path / "chunks" / parquet.chunk_name("runs", 128, 192),
                        parquet.runs_table(writer.names, batch.columns))
    (tmp_path / "chunks" / "levels-000000000128-000000000192.parquet.tmp").write_bytes(b"PAR1 half")
    (tmp_path / "progress.json.tmp").write_bytes(b'{"next_run": 9')

    resumed = ResultsWriter.resume(tmp_path)
    assert (resumed.next_run, resumed.target) == (128, RUNS)
    assert resumed.job == job and resumed.settings == StopRule(precision=0.01)
    assert sum(len(c["run"]) for c in resumed.done_columns(["run", "at_or_above.war"])) == 128
    for batch in run_many(resumed.job, resumed.next_run, RUNS, SerialBackend(), batch_size=50):
        resumed.append(batch)
    resumed.finalize(wall_time=1.0, stopped_because="runs")
    a, b = load_results(tmp_path), load_results(done)
    assert_frame_equal(a.runs, b.runs)
    assert_frame_equal(a.levels, b.levels)
    assert_frame_equal(a.traces, b.traces)
    assert a.manifest["events"] == b.manifest["events"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_the_tables_are_the_same_bytes_whatever_the_batch_sizes(job, done, tmp_path, monkeypatch):
    # row groups smaller than the run count, so that batches of 37 and of 64 cut them at different places
    monkeypatch.setattr(parquet, "ROW_GROUP", 100)
    a, b = write(tmp_path / "a", job, batch_size=37), write(tmp_path / "b", job, batch_size=64)
    for name in ("runs.parquet", "levels.parquet", "traces.parquet"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert pq.ParquetFile(a / "runs.parquet").metadata.num_row_groups == 3


def test_loading_an_incomplete_directory_says_how_far_it_got(job, tmp_path):
    interrupted(tmp_path, job, batches=3)
    with pytest.raises(ResultsError, match=r"incomplete: 192 of 300 runs done; `escalsim run --resume .*` contin"):
        load_results(tmp_path)


def test_a_half_written_file_is_ignored(done, tmp_path):
    for f in done.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "runs.parquet.tmp").write_bytes(b"PAR1 and then the power went out")
    assert_frame_equal(load_results(tmp_path).runs, load_results(done).runs)


def test_disk_full_keeps_what_was_saved(job, tmp_path, monkeypatch):
    writer = interrupted(tmp_path, job, batches=1)
    batch = next(run_many(job, 64, 128, SerialBackend()))

    def full(table, fh, **kw):
        fh.write(b"PAR1 half a chunk")
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(parquet.pq, "write_table", full)
        with pytest.raises(ResultsWriteError, match=f"No space left on device.*{tmp_path}|{tmp_path}.*No space"):
            writer.append(batch)
    assert not list(tmp_path.rglob("*.tmp"))
    resumed = ResultsWriter.resume(tmp_path)
    assert resumed.next_run == 64
    resumed.append(batch)
    assert resumed.next_run == 128


# --- refusals ----------------------------------------------------------------------------------------------

def test_create_refuses_a_directory_with_other_files(job, tmp_path):
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(ResultsError, match="not an escalsim results directory.*thesis.tex"):
        create(tmp_path, job)
    assert (tmp_path / "thesis.tex").read_text() == "years of work"


def test_create_replaces_earlier_results(job, tmp_path):
    write(tmp_path, job, runs=20)
    writer = create(tmp_path, job, runs=10)
    assert writer.next_run == 0 and not (tmp_path / "manifest.json").exists()


def test_resume_refuses_complete_and_foreign_directories(done, tmp_path):
    with pytest.raises(ResultsError, match="complete; there is nothing to resume"):
        ResultsWriter.resume(done)
    with pytest.raises(ResultsError, match="not an escalsim results directory"):
        ResultsWriter.resume(tmp_path)


def test_resume_refuses_a_directory_started_by_another_version(job, tmp_path):
    """0.2.0 changed the random streams: finishing a 0.1.0 run with 0.2.0 would mix two sets of results."""
    interrupted(tmp_path, job, batches=1)
    started = json.loads((tmp_path / "job.json").read_text())
    (tmp_path / "job.json").write_text(json.dumps({**started, "escalsim_version": "0.1.0"}))
    with pytest.raises(ResultsError, match=r"started by escalsim 0\.1\.0; this is .*start again instead"):
        ResultsWriter.resume(tmp_path)


def test_load_refuses_foreign_directories_and_other_formats(done, tmp_path):
    with pytest.raises(ResultsError, match="not an escalsim results directory"):
        load_results(tmp_path)
    for f in done.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "format": FORMAT + 1}))
    with pytest.raises(ResultsError, match=f"format {FORMAT + 1}; this escalsim .* reads format {FORMAT}"):
        load_results(tmp_path)


def test_batches_must_arrive_in_order_and_within_the_target(job, tmp_path):
    writer = create(tmp_path, job, runs=20)
    with pytest.raises(ValueError, match="need run 0 next"):
        writer.append(next(run_many(job, 5, 10, SerialBackend())))
    with pytest.raises(ValueError, match="set_target"):
        writer.append(next(run_many(job, 0, 30, SerialBackend())))
    writer.set_target(30)
    writer.append(next(run_many(job, 0, 30, SerialBackend())))
    with pytest.raises(ValueError, match="already saved"):
        writer.set_target(10)


def test_stopping_early_records_the_runs_done(job, tmp_path):
    """Sequential stopping: the target grows, then the runs stop when the precision is reached."""
    writer = create(tmp_path, job, runs=100)
    writer.append(next(run_many(job, 0, 100, SerialBackend())))
    writer.set_target(1000)
    writer.append(next(run_many(job, 100, 150, SerialBackend())))
    writer.finalize(wall_time=1.0, stopped_because="precision reached")
    r = load_results(tmp_path)
    assert len(r.runs) == 150 and (r.manifest["runs"], r.manifest["target_runs"]) == (150, 1000)
    assert r.manifest["stopped_because"] == "precision reached"


# --- size --------------------------------------------------------------------------------------------------

CORE = ["run", "seed", "max.level", "at_or_above.peace", "at_or_above.crisis", "at_or_above.war"]


def test_core_columns_take_few_bytes_per_run(tmp_path):
    """About 11 bytes per run: first-passage days are random doubles and hardly compress (<= 8 bytes each
    when reached: crisis ~2/3 of runs, war ~1/3); peace is always day 0, the seed is constant, run numbers are
    delta-encoded and levels take a few bits each. The bound leaves room for compression noise."""
    runs = 5000
    directory = write(tmp_path, Job(load_scenario(MINIMAL), seed=1, trace_runs=0), runs=runs, batch_size=1000)
    meta = pq.ParquetFile(directory / "runs.parquet").metadata
    size = sum(meta.row_group(g).column(c).total_compressed_size
               for g in range(meta.num_row_groups) for c in range(meta.num_columns)
               if meta.row_group(g).column(c).path_in_schema in CORE)
    print(f"core columns: {size / runs:.1f} bytes per run")
    assert size / runs <= 16


def test_no_runs_give_empty_tables_of_the_right_types(job, tmp_path):
    create(tmp_path, job, runs=0).finalize(wall_time=0.0, stopped_because="runs")
    r = load_results(tmp_path)
    assert (len(r.runs), len(r.levels), len(r.traces)) == (0, 0, 0)
    assert r.runs["cause.war"].dtype == "category" and r.levels["d0"].dtype == np.int8


def test_a_file_name_that_is_not_utf8_is_kept(job, tmp_path):
    """Python holds the bytes of such a name as surrogates, which UTF-8 cannot encode: JSON escapes them."""
    name = b"\xff\xfe.yaml".decode("utf-8", "surrogateescape")
    ResultsWriter.create(tmp_path / "r", scenario=job.scenario, sources={name: MINIMAL.read_text()}, seed=job.seed,
                         runs=RUNS, backend="serial", workers=1, trace_runs=job.trace_runs, grid_step=job.grid_step,
                         overrides=[])
    assert list(json.loads((tmp_path / "r" / "job.json").read_text())["sources"]) == [name]


def test_an_interrupted_start_leaves_no_directory_that_cannot_be_resumed(job, tmp_path, monkeypatch):
    real = files.write_json

    def interrupted_at_progress(path, doc):
        if path.name == "progress.json":
            raise KeyboardInterrupt
        real(path, doc)

    monkeypatch.setattr(store, "write_json", interrupted_at_progress)
    with pytest.raises(KeyboardInterrupt):
        create(tmp_path / "r", job)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("damage", ["progress_key", "chunks_gone", "chunk_truncated"])
def test_a_damaged_directory_is_a_clear_error_on_resume(job, tmp_path, damage):
    writer = interrupted(tmp_path / "r", job, batches=2)
    directory = writer.directory
    if damage == "progress_key":
        doc = json.loads((directory / "progress.json").read_text())
        del doc["next_run"]
        (directory / "progress.json").write_text(json.dumps(doc))
    elif damage == "chunks_gone":
        import shutil

        shutil.rmtree(directory / "chunks")
    else:
        chunk = sorted((directory / "chunks").glob("runs-*.parquet"))[0]
        chunk.write_bytes(chunk.read_bytes()[:100])
    with pytest.raises(ResultsError, match="damaged|chunks were removed"):
        resumed = ResultsWriter.resume(directory)
        list(resumed.done_columns(["run"]))


@pytest.mark.skipif(sys.platform == "win32", reason="no file locks on Windows")
def test_a_directory_another_process_is_writing_cannot_be_resumed(job, tmp_path):
    import subprocess

    writer = interrupted(tmp_path / "r", job, batches=1)
    unlock_directory(writer._dir_lock)  # as when the interrupted process ended
    holder = subprocess.Popen(  # another process holding the lock, as a running `escalsim run` does
        [sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); "
         "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('locked', flush=True); time.sleep(60)",
         str(writer.directory)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ResultsError, match="^[^(]*being written by another escalsim process"):
            ResultsWriter.resume(writer.directory)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert ResultsWriter.resume(writer.directory).next_run == 64  # the lock ends with its process


def test_a_new_run_into_results_says_whether_they_can_be_resumed(job, done, tmp_path):
    from escalsim.montecarlo.runs import check_new_directory
    with pytest.raises(ResultsError, match=r"holds complete escalsim results already; choose another --out$"):
        check_new_directory(done)
    interrupted(tmp_path, job, batches=1).close()
    with pytest.raises(ResultsError, match=r"continue this interrupted run with `escalsim run --resume "):
        check_new_directory(tmp_path)
