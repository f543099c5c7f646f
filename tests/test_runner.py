"""Running many runs: the same results, in run order, whatever the backend, worker count or batch size."""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from escalsim.montecarlo import batches as runner
from escalsim.montecarlo.backends import BackendError, DaskBackend, ProcessBackend, SerialBackend
from escalsim.montecarlo.batches import Job, auto_batch_size, batch_ranges, run_batch, run_many
from escalsim.montecarlo.results import load_results
from escalsim.montecarlo.store import ResultsWriter
from escalsim.scenario.loader import load_scenario

HANG_GUARD = 60  # seconds: against a hang only, never a measure

SCENARIOS = Path(__file__).parent.parent / "scenarios"
RUNS = 300
KILL_AT = 70          # the batch starting at this run kills its worker


@pytest.fixture(scope="module")
def job() -> Job:
    return Job(load_scenario(SCENARIOS / "minimal.yaml"), seed=11, trace_runs=5)


def results_of(directory: Path, job: Job, backend, batch_size: int | None = None, runs: int = RUNS):
    """Run the job into a results directory and read it back."""
    writer = ResultsWriter.create(directory, scenario=job.scenario, sources={}, seed=job.seed, runs=runs,
                                  backend=backend.name, workers=backend.workers, trace_runs=job.trace_runs,
                                  grid_step=job.grid_step, overrides=[])
    for batch in run_many(job, 0, runs, backend, batch_size):
        writer.append(batch)
    writer.finalize(wall_time=1.0, stopped_because="runs")
    return load_results(directory)


def assert_same_results(a, b) -> None:
    assert_frame_equal(a.runs, b.runs)
    assert_frame_equal(a.levels, b.levels)
    assert_frame_equal(a.traces, b.traces)
    assert a.manifest["events"] == b.manifest["events"]


@pytest.fixture(scope="module")
def reference(job, tmp_path_factory):
    return results_of(tmp_path_factory.mktemp("serial"), job, SerialBackend())


def _die_once(marker: str, job: Job, start: int, stop: int):
    """A batch that kills its own worker process the first time (a stand-in for the OOM killer)."""
    if start == KILL_AT and not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return run_batch(job, start, stop)


def _always_die(job: Job, start: int, stop: int):
    if start == KILL_AT:
        os.kill(os.getpid(), signal.SIGKILL)
    return run_batch(job, start, stop)


def _fail(job: Job, start: int, stop: int):
    raise ZeroDivisionError(f"a bug in runs {start} to {stop}")


# --- batching ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("runs", "workers", "expected"), [
    (1, 2, 1), (50, 1, 50), (300, 2, 100), (10_000, 2, 1000), (10_000, 8, 313), (1_000_000, 2, 1000),
    (2_000, 2, 250)])
def test_auto_batch_size_keeps_tasks_between_100_and_1000_runs(runs, workers, expected):
    assert auto_batch_size(runs, workers) == expected


def test_batch_ranges_cover_the_runs_once_in_order():
    assert list(batch_ranges(5, 27, 10)) == [(5, 15), (15, 25), (25, 27)]
    assert list(batch_ranges(3, 3, 10)) == []


def test_run_batch_matches_its_parts(job):
    whole = run_batch(job, 0, 20)
    parts = [run_batch(job, 0, 8), run_batch(job, 8, 20)]
    for name, column in whole.columns.items():
        assert pd.Series(column).equals(pd.Series([v for p in parts for v in p.columns[name]]))
    assert np.array_equal(whole.grid, np.vstack([p.grid for p in parts]))
    assert whole.events == sum(p.events for p in parts)
    assert len(whole.traces["run"]) > 0 and set(whole.traces["run"]) == set(range(5))
    assert run_batch(job, 5, 9).traces["run"] == []


def test_a_batch_checks_its_moves_once_and_refuses_bad_ones(job, monkeypatch):
    import dataclasses

    from escalsim.engine import core
    from escalsim.scenario.moves import Block, Injection

    calls = []
    check = core.check_moves
    monkeypatch.setattr(runner, "check_moves", lambda *a: calls.append(a) or check(*a))
    moved = dataclasses.replace(job, injections=(Injection(day=3, option="b_mobilises"),),
                                blocks=(Block(option="b_mobilises", start=100, until=200),))
    batch = run_batch(moved, 0, 20)
    assert len(calls) == 1
    model = runner.model_of(job.scenario)
    one = core.simulate(model, job.seed, 7, moved.injections, True, moved.blocks)
    assert batch.columns["event.b_mobilises"][7] == model.day_of_event(one, "b_mobilises") == 3
    with pytest.raises(core.InjectionError, match="unknown option"):
        run_batch(dataclasses.replace(job, injections=(Injection(day=3, option="nope"),)), 0, 5)


def test_serial_yields_batches_in_run_order(job):
    batches = list(run_many(job, 10, 47, SerialBackend(), batch_size=10))
    assert [(b.start, b.stop) for b in batches] == [(10, 20), (20, 30), (30, 40), (40, 47)]
    assert [list(b.columns["run"]) for b in batches] == [list(range(b.start, b.stop)) for b in batches]


# --- process pools -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("workers", "batch_size"), [(1, None), (2, 7), (2, 50), (2, None)])
def test_process_pool_gives_the_serial_results(job, reference, tmp_path, workers, batch_size):
    with ProcessBackend(workers) as backend:
        assert_same_results(results_of(tmp_path, job, backend, batch_size), reference)


@pytest.mark.parametrize("start_method", ["fork", "spawn", "forkserver"])  # 3.14 moves Linux to forkserver
def test_every_start_method_gives_the_serial_results(job, reference, tmp_path, start_method):
    with ProcessBackend(2, start_method=start_method) as backend:
        assert backend.start_method == start_method
        assert_same_results(results_of(tmp_path, job, backend, 50), reference)


def test_run_many_starts_and_stops_a_backend_not_yet_started(job):
    backend = ProcessBackend(2)
    assert sum(len(b) for b in run_many(job, 0, 40, backend, batch_size=10)) == 40
    assert not backend.started and multiprocessing.active_children() == []


@pytest.mark.parametrize("start_method", [None, "spawn", "forkserver"])
def test_a_killed_worker_loses_and_duplicates_no_run(job, reference, tmp_path, monkeypatch, start_method):
    marker = tmp_path / "killed"
    monkeypatch.setattr(runner, "run_batch", functools.partial(_die_once, str(marker)))
    with ProcessBackend(2, start_method=start_method) as backend:
        got = results_of(tmp_path / "results", job, backend, batch_size=7)
        assert marker.exists() and backend.restarts >= 1
    assert_same_results(got, reference)


def test_workers_that_keep_dying_give_a_clear_error(job, monkeypatch):
    monkeypatch.setattr(runner, "run_batch", _always_die)
    with ProcessBackend(2) as backend, pytest.raises(BackendError, match="died 3 times while runs"):
        for _ in run_many(job, 0, RUNS, backend, batch_size=7):
            pass
    assert multiprocessing.active_children() == []


def test_an_error_in_a_run_is_raised_not_retried(job, monkeypatch):
    monkeypatch.setattr(runner, "run_batch", _fail)
    with ProcessBackend(2) as backend, pytest.raises(ZeroDivisionError, match="runs 0 to 7"):
        next(run_many(job, 0, RUNS, backend, batch_size=7))
    assert backend.restarts == 0


def test_interrupt_cancels_pending_work_and_stops_the_workers(job):
    seen = []
    with pytest.raises(KeyboardInterrupt), ProcessBackend(2) as backend:
        for batch in run_many(job, 0, 100_000, backend, batch_size=50):
            seen.append(batch.start)
            if len(seen) == 2:
                raise KeyboardInterrupt
    assert seen == [0, 50]
    assert multiprocessing.active_children() == []


def _half_a_result(marker: str, job, start: int, stop: int):
    """In a worker: write the start of a result message (a length, then 7 of its 1,048,576 bytes) into the pool's
    result pipe, as a worker stopped in the middle of sending its batch does, then wait."""
    frame = sys._getframe()
    while frame.f_code.co_name != "_process_worker":  # concurrent.futures' worker loop, up the stack
        frame = frame.f_back
    os.write(frame.f_locals["result_queue"]._writer.fileno(), struct.pack("!i", 1 << 20) + b"partial")
    Path(marker).touch()
    time.sleep(600)


def test_stopping_a_pool_whose_worker_died_sending_a_result_does_not_hang(tmp_path):
    """A Ctrl-C (stop with kill) while a worker was sending its batch left half a message in the result pipe and
    the pool's manager thread waiting for the rest: `escalsim run` hung for good after Ctrl-C (seen once under
    load). The stop closes our end of that pipe once the workers are dead, so the thread reads its end."""
    marker = tmp_path / "sent"
    backend = ProcessBackend(1, start_method="fork")
    backend.start()
    backend._submit(functools.partial(_half_a_result, str(marker)), None, (0, 1))
    deadline = time.monotonic() + HANG_GUARD
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the pool's thread has read the length and waits for the rest
    stopper = threading.Thread(target=backend.stop, args=(True,), daemon=True)
    stopper.start()
    stopper.join(HANG_GUARD)
    assert marker.exists() and not stopper.is_alive()
    assert multiprocessing.active_children() == []


def test_killing_a_pool_with_cancelled_batches_raises_nothing_in_its_thread(monkeypatch):
    """Ctrl-C cancels the batches waiting in the window, then kills the workers: the pool's manager thread then
    set BrokenProcessPool on the cancelled futures too, and died printing InvalidStateError ("Exception in
    thread", seen under load in `test_ctrl_c_at_any_moment_of_a_run`)."""
    errors = []
    monkeypatch.setattr(threading, "excepthook", errors.append)
    backend = ProcessBackend(1, start_method="fork")
    backend.start()
    futures = [backend._submit(_sleep, None, (0, 1)) for _ in range(6)]
    time.sleep(0.5)  # the first is running, the others wait in the pool
    assert sum(f.cancel() for f in futures) >= 3
    backend.stop(kill=True)
    assert errors == [] and multiprocessing.active_children() == []


def _sleep(job, start: int, stop: int) -> None:
    time.sleep(600)


def test_workers_end_on_sigterm_whatever_handler_the_parent_had(monkeypatch):
    """A worker forked while the parent had a SIGTERM handler that does not exit (seen: the test runner, after
    some test left one) kept it, so `terminate` did not stop it and the stop waited for it for ever. Workers
    reset SIGTERM; a batch that ignores SIGTERM itself is killed after KILL_AFTER seconds."""
    import escalsim.montecarlo.backends.processes as processes

    monkeypatch.setattr(processes, "KILL_AFTER", 1.0)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)  # inherited by forked workers
    try:
        for job in (_sleep, _sleep_ignoring_sigterm):
            backend = ProcessBackend(1, start_method="fork")
            backend.start()
            backend._submit(job, None, (0, 1))
            time.sleep(0.5)
            stopper = threading.Thread(target=backend.stop, args=(True,), daemon=True)
            stopper.start()
            stopper.join(HANG_GUARD)
            assert not stopper.is_alive() and multiprocessing.active_children() == [], job.__name__
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sleep_ignoring_sigterm(job, start: int, stop: int) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(600)


def test_bad_backend_arguments_are_refused(job):
    with pytest.raises(ValueError, match="workers"):
        ProcessBackend(0)
    with pytest.raises(ValueError):
        ProcessBackend(2, start_method="teleport")
    with pytest.raises(ValueError, match="batch_size"):
        run_many(job, 0, 10, SerialBackend(), batch_size=0)


# --- Dask (last in this module: its threads must not be alive when the tests above fork) --------------------

@pytest.fixture(scope="module")
def dask_local():
    pytest.importorskip("distributed")
    with DaskBackend("local", 2) as backend:
        yield backend


def test_dask_local_cluster_gives_the_serial_results(job, reference, tmp_path, dask_local):
    assert dask_local.workers == 2
    assert_same_results(results_of(tmp_path, job, dask_local, 50), reference)


def test_dask_survives_a_killed_worker(job, reference, tmp_path, dask_local, monkeypatch):
    marker = tmp_path / "killed"
    monkeypatch.setattr(runner, "run_batch", functools.partial(_die_once, str(marker)))
    got = results_of(tmp_path / "results", job, dask_local, batch_size=7)
    assert marker.exists()
    assert_same_results(got, reference)


def test_an_unreachable_scheduler_is_a_clear_error_not_a_hang():
    pytest.importorskip("distributed")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BackendError, match=f"could not reach the Dask scheduler at tcp://127.0.0.1:{port}"):
        with DaskBackend(f"tcp://127.0.0.1:{port}", timeout=0.5):
            pass


def test_a_scheduler_without_workers_is_a_clear_error_not_a_hang():
    pytest.importorskip("distributed")
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as cluster:
        with pytest.raises(BackendError, match="has no workers .* dask worker"):
            with DaskBackend(cluster.scheduler_address, timeout=0.5):
                pass


@pytest.mark.parametrize("address", ["bogus", "tcp://127.0.0.1", "tcp://127.0.0.1:notaport"])
def test_a_malformed_scheduler_address_is_a_clear_error(address):
    pytest.importorskip("distributed")
    with pytest.raises(BackendError, match="tcp://host:8786"):
        with DaskBackend(address, timeout=0.5):
            pass


def test_results_frames_have_the_run_order(reference):
    assert isinstance(reference.runs, pd.DataFrame)
    assert reference.runs["run"].tolist() == list(range(RUNS))
