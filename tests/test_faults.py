"""Every command fails cleanly (issue 13): each command against a full disk, a read-only directory, a missing
parent directory, a closed pipe, Ctrl-C and a non-empty --out gives a message naming the real cause and a
documented exit code (0, 1, 2, 130), never a traceback and never a half-written file.

The commands run as real processes (`python -m escalsim`), since what is tested is what a shell sees: exit codes,
stderr, signals, pipes. Two kinds of read-only and full directories are used, because chmod means nothing to root
(these tests also run as root, in containers and CI):
- a real one: a tmpfs mounted read-only, or 16 KiB small, in a private mount namespace (`unshare`; as root, or as
  a user through a user namespace). The mount exists only inside that one command's namespace, so nothing is left
  mounted whatever happens; where `unshare` is not allowed those cases are skipped;
- a simulated one, always run: os.mkdir and open refusing with EROFS under one directory, in-process.
/dev/full stands for a full disk on stdout (every write fails with ENOSPC), for root and non-root alike.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from escalsim.cli import main

ROOT = Path(__file__).parent.parent
MINIMAL = str(ROOT / "scenarios" / "minimal.yaml")
DPRK = str(ROOT / "scenarios" / "dprk_russia_2024.yaml")
PLAY_SCRIPT = str(ROOT / "scenarios" / "play" / "minimal_turns.yaml")
ESCALSIM = [sys.executable, "-m", "escalsim"]
HANG_GUARD = 120  # seconds: a hang guard only, never a measure
INTERRUPTED = -signal.SIGINT  # escalsim ends by SIGINT after a Ctrl-C: a shell reports 130
ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A small complete results directory, made through the Python API (not through the command under test)."""
    from escalsim.montecarlo.runs import Settings, run
    from escalsim.scenario.loader import load_scenario

    out = tmp_path_factory.mktemp("faults") / "results"
    return run(load_scenario(MINIMAL), out, Settings(runs=200, workers=1, trace_runs=3))


def escalsim(*args, stdout=subprocess.PIPE, cwd=None, preexec_fn=None) -> subprocess.CompletedProcess:
    return subprocess.run([*ESCALSIM, *map(str, args)], stdout=stdout, stderr=subprocess.PIPE, text=True,
                          timeout=HANG_GUARD, cwd=cwd, env=ENV, preexec_fn=preexec_fn)


def clean(done: subprocess.CompletedProcess) -> str:
    """stderr, checked to hold no traceback."""
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr
    return done.stderr


def quiet(stderr: str) -> bool:
    """Nothing said but a scenario's warnings (validate's)."""
    return all(": warning: " in line for line in stderr.splitlines())


def leftovers(directory: Path) -> list[Path]:
    """Half-written files: every *.tmp under a directory."""
    return [p for p in Path(directory).rglob("*") if p.name.endswith(".tmp")]


def expand(args: list, tmp: Path, results: Path) -> list[str]:
    return [a.format(tmp=tmp, results=results, minimal=MINIMAL, dprk=DPRK, script=PLAY_SCRIPT) for a in args]


COMMANDS = {  # one ordinary invocation of each command, writing to stdout
    "validate": ["validate", "{minimal}"],
    "trace": ["trace", "{minimal}", "--seed", "2"],
    "run": ["run", "{minimal}", "--runs", "60", "--workers", "1", "--out", "{tmp}/run"],
    "plot": ["plot", "{results}", "--kind", "fan", "--out", "{tmp}/figures", "--format", "svg"],
    "report": ["report", "{results}", "--out", "{tmp}/report.html"],
    "schema": ["schema"],
    "graph": ["graph", "{dprk}", "--from", "seoul_sends_weapons"],
    "compare": ["compare", "{results}", "{results}", "--out", "{tmp}/comparison"],
    "play": ["play", "{minimal}", "--script", "{script}", "--session", "{tmp}/s.yaml", "--workers", "1"],
}


# --- a full disk and a closed pipe on stdout ------------------------------------------------------------------


@pytest.mark.parametrize("command", list(COMMANDS))
def test_stdout_on_a_full_disk_is_an_error_naming_it(command, tmp_path, results):
    """`escalsim schema > /dev/full` and `escalsim validate ... > /dev/full` ended in OSError tracebacks."""
    with open("/dev/full", "w") as full:
        done = escalsim(*expand(COMMANDS[command], tmp_path, results), stdout=full)
    err = clean(done)
    assert done.returncode == 1, err
    assert "error: cannot write to standard output: No space left on device" in err
    assert leftovers(tmp_path) == []
    if command == "run":  # the results are written before the summary is printed, and the message says so
        assert (tmp_path / "run" / "manifest.json").is_file() and f"results are complete in {tmp_path}" in err


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_closed_stdout_is_an_error_naming_it(command, tmp_path, results):
    """Started with standard output closed (`escalsim validate FILE >&-`): Python has no sys.stdout, and the final
    flush ended in an AttributeError traceback."""
    done = escalsim(*expand(COMMANDS[command], tmp_path, results), preexec_fn=lambda: os.close(1))
    err = clean(done)
    assert done.returncode == 1 and "error: cannot write to standard output: standard output is closed" in err, err
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_closed_pipe_ends_quietly_with_exit_0(command, tmp_path, results):
    """The reader went away before the first line (`| head` that stopped reading): exit 0, not a word. It used
    to be exit 1 without a message for run, a traceback for schema."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = escalsim(*expand(COMMANDS[command], tmp_path, results), stdout=writer)
    finally:
        os.close(writer)
    assert done.returncode == 0 and quiet(clean(done)), done.stderr
    assert leftovers(tmp_path) == []
    if command == "run":
        assert (tmp_path / "run" / "manifest.json").is_file()


def test_run_piped_into_head_exits_0_quietly(tmp_path):
    """The reported case as a shell runs it: `escalsim run ... | head -3`, with pipefail."""
    command = " ".join([*ESCALSIM, "run", MINIMAL, "--runs", "60", "--workers", "1", "--out", str(tmp_path / "r")])
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {command} | head -3"], capture_output=True, text=True,
                          timeout=HANG_GUARD, env=ENV)
    assert done.returncode == 0 and quiet(clean(done)) and len(done.stdout.splitlines()) == 3, done.stderr
    assert (tmp_path / "r" / "manifest.json").is_file()


# --- --out: a device, a missing folder, a non-empty directory -------------------------------------------------

OUT_CASES = [  # (id, args, exit code, stderr pattern); {full} and {null} are symlinks to /dev/full and /dev/null
    ("schema to /dev/full", ["schema", "--out", "{full}"], 1,
     r"cannot write the schema to \S+/full: No space left on device"),
    ("report to /dev/full", ["report", "{results}", "--out", "{full}"], 1,
     r"cannot write the report to \S+/full: it is not a regular file"),
    ("report to /dev/null", ["report", "{results}", "--out", "{null}"], 1,
     r"cannot write the report to \S+/null: it is not a regular file"),
    ("run into /dev/full", ["run", "{minimal}", "--runs", "10", "--out", "{full}/x"], 1,
     r"cannot create results directory \S+/full/x: Not a directory; no run was saved"),
    ("run into /dev/null", ["run", "{minimal}", "--runs", "10", "--out", "{null}"], 1,
     r"\S+/null exists and is not a directory"),
    ("plot into /dev/full", ["plot", "{results}", "--out", "{full}"], 1,
     r"cannot write the figures to \S+/full: it exists and is not a folder"),
    ("schema, missing folder", ["schema", "--out", "{tmp}/missing/s.json"], 1,
     r"cannot write the schema to \S+/missing/s.json: the folder \S+/missing does not exist"),
    ("report, missing folder", ["report", "{results}", "--out", "{tmp}/missing/dir/r.html"], 1,
     r"cannot write the report to \S+/missing/dir/r.html: the folder \S+/missing/dir does not exist"),
    ("plot under a file", ["plot", "{results}", "--kind", "fan", "--out", "{tmp}/afile/figures"], 1,
     r"cannot write the figures in \S+/afile/figures: Not a directory"),
    ("trace, missing file", ["trace", "{tmp}/missing/s.yaml"], 1, r"cannot read the file"),
    ("validate, missing file", ["validate", "{tmp}/missing/s.yaml"], 1, r"cannot read the file"),
    ("run, non-empty --out", ["run", "{minimal}", "--runs", "10", "--out", "{tmp}"], 1,
     r"\S+ is an existing directory that is not empty; choose another --out"),
    ("run, results as --out", ["run", "{minimal}", "--runs", "10", "--out", "{results}"], 1,
     r"holds complete escalsim results already; choose another --out\n"),
    ("report to a directory", ["report", "{results}", "--out", "{tmp}"], 2, r"is a directory"),
    ("play, missing folder", ["play", "{minimal}", "--script", "{script}", "--session", "{tmp}/missing/s.yaml"], 1,
     r"cannot write the session file to \S+/missing/s.yaml: the folder \S+/missing does not exist"),
    ("play, session to /dev/null", ["play", "{minimal}", "--script", "{script}", "--session", "{null}"], 1,
     r"cannot write the session file to \S+/null: it is not a regular file"),
    ("schema to a directory", ["schema", "--out", "{tmp}"], 2, r"is a directory"),
]


@pytest.mark.parametrize("args, code, pattern", [c[1:] for c in OUT_CASES], ids=[c[0] for c in OUT_CASES])
def test_an_output_that_cannot_be_written_is_named_with_its_cause(args, code, pattern, tmp_path, results):
    """The devices are reached through symlinks in tmp_path: a faulty escalsim that renamed a file over its
    --out (as `report --out /dev/null` once did, as root) replaces the symlink, never the device itself."""
    (tmp_path / "afile").write_text("mine")
    (tmp_path / "full").symlink_to("/dev/full")
    (tmp_path / "null").symlink_to("/dev/null")
    before = sorted(p.name for p in tmp_path.iterdir())
    args = [a.replace("{full}", str(tmp_path / "full")).replace("{null}", str(tmp_path / "null")) for a in args]
    done = escalsim(*expand(args, tmp_path, results))
    err = clean(done)
    assert done.returncode == code and re.search(pattern, err), err
    assert ".tmp" not in err  # never the name of an internal temporary file
    assert sorted(p.name for p in tmp_path.iterdir()) == before and (tmp_path / "afile").read_text() == "mine"
    for link in ("full", "null"):
        assert (tmp_path / link).is_symlink() and stat.S_ISCHR(os.stat(tmp_path / link).st_mode)


def test_run_makes_a_missing_parent_folder(tmp_path):
    """Unlike a file's folder, a results directory is made with its parents (like mkdir -p)."""
    done = escalsim("run", MINIMAL, "--runs", "20", "--workers", "1", "--quiet", "--out", tmp_path / "a" / "b")
    assert done.returncode == 0, clean(done)
    assert (tmp_path / "a" / "b" / "manifest.json").is_file()


def test_schema_out_replaces_an_existing_file_whole(tmp_path):
    target = tmp_path / "s.json"
    target.write_text("old")
    assert escalsim("schema", "--out", target).returncode == 0
    assert json.loads(target.read_text())["title"] == "escalsim scenario" and leftovers(tmp_path) == []


# --- a real read-only or full file system (a tmpfs in a private mount namespace) -------------------------------


def _unshare() -> list[str] | None:
    if shutil.which("unshare") is None or not sys.platform.startswith("linux"):
        return None
    command = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        command += ["--user", "--map-root-user"]
    probe = subprocess.run([*command, "sh", "-c", 'd=$(mktemp -d) && mount -t tmpfs -o size=16k tmpfs "$d"'],
                           capture_output=True, timeout=HANG_GUARD)
    return command if probe.returncode == 0 else None


UNSHARE = _unshare()
needs_mounts = pytest.mark.skipif(UNSHARE is None, reason="cannot mount a tmpfs in a private mount namespace here")


def on_tmpfs(mount: Path, options: str, *args) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run escalsim with a tmpfs (`options`, e.g. 'ro' or 'size=16k') mounted on `mount` for it alone; return the
    process and what the tmpfs held when it ended (the mount goes with the namespace)."""
    mount.mkdir(exist_ok=True)
    listing = mount.parent / f"{mount.name}.listing"
    script = ('mount -t tmpfs -o "$1" tmpfs "$2" || exit 97; m=$2; l=$3; shift 3; "$@"; rc=$?; '
              '(cd "$m" && find . -mindepth 1) > "$l"; exit $rc')
    done = subprocess.run([*UNSHARE, "sh", "-c", script, "sh", options, str(mount), str(listing), *ESCALSIM,
                           *map(str, args)], capture_output=True, text=True, timeout=HANG_GUARD, env=ENV)
    assert done.returncode != 97, done.stderr
    return done, sorted(listing.read_text().split())


TMPFS_CASES = [  # (id, tmpfs options, args with {mnt}, stderr pattern)
    ("schema, read-only", "ro", ["schema", "--out", "{mnt}/s.json"],
     r"cannot write the schema to \S+/s.json: Read-only file system; nothing was written"),
    ("run, read-only", "ro", ["run", "{minimal}", "--runs", "20", "--workers", "1", "--out", "{mnt}/x"],
     r"cannot create results directory \S+/x: Read-only file system; no run was saved"),
    ("report, read-only", "ro", ["report", "{results}", "--out", "{mnt}/r.html"],
     r"cannot write the report \S+/r.html: Read-only file system"),
    ("plot, read-only", "ro", ["plot", "{results}", "--kind", "fan", "--out", "{mnt}/figures"],
     r"cannot write the figures in \S+/figures: Read-only file system"),
    ("schema, full", "size=16k", ["schema", "--out", "{mnt}/s.json"],
     r"cannot write the schema to \S+/s.json: No space left on device; nothing was written"),
    ("run, full", "size=16k", ["run", "{minimal}", "--runs", "3000", "--workers", "1", "--out", "{mnt}/x"],
     r"No space left on device"),
    ("play, read-only", "ro", ["play", "{minimal}", "--script", "{script}", "--session", "{mnt}/s.yaml"],
     r"cannot save the session file \S+/s.yaml: Read-only file system"),
    ("play, full", "size=16k", ["play", "{minimal}", "--script", "{script}", "--session", "{mnt}/s.yaml",
                               "--workers", "1"], r"No space left on device"),
    ("report, full", "size=16k", ["report", "{results}", "--out", "{mnt}/r.html"],
     r"cannot write the report \S+/r.html: No space left on device"),
]


@needs_mounts
@pytest.mark.parametrize("options, args, pattern", [c[1:] for c in TMPFS_CASES], ids=[c[0] for c in TMPFS_CASES])
def test_a_read_only_or_full_file_system(options, args, pattern, tmp_path, results):
    mnt = tmp_path / "mnt"
    done, held = on_tmpfs(mnt, options, *expand([a.replace("{mnt}", str(mnt)) for a in args], tmp_path, results))
    err = clean(done)
    assert done.returncode == 1 and re.search(pattern, err), err
    assert "intact" not in err and ".tmp" not in err
    assert not [name for name in held if name.endswith(".tmp")], held  # no half-written file
    if args[0] == "run":  # what was kept is what the message says
        if "./x/job.json" in held:
            assert f"escalsim run --resume {mnt}/x" in err
        else:
            assert "no run was saved" in err and held in ([], ["./x"]), held
    elif args[0] == "schema":
        assert held == []


# --- the same, simulated in-process: EROFS under one directory (runs everywhere, root or not) -------------------


@pytest.fixture
def read_only(tmp_path, monkeypatch) -> Path:
    """A directory under which creating anything fails with EROFS, as on a read-only file system."""
    frozen = tmp_path / "ro"
    frozen.mkdir()
    (frozen / "existing.json").write_text("{}")

    def inside(path) -> bool:
        try:
            return Path(os.fsdecode(path)).resolve().is_relative_to(frozen.resolve())
        except (TypeError, ValueError):
            return False

    def refuse(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))

    real_mkdir, real_open, real_os_open = os.mkdir, io.open, os.open

    def mkdir(path, *args, **kwargs):
        return refuse(path) if inside(path) else real_mkdir(path, *args, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and set(mode) & set("wax+") and inside(file):
            refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and inside(path):
            refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(io, "open", open_)
    monkeypatch.setattr("builtins.open", open_)
    monkeypatch.setattr(os, "open", os_open)
    return frozen


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_schema_on_a_read_only_file_system(read_only):
    """It was a FileNotFoundError or OSError traceback."""
    result = invoke("schema", "--out", read_only / "s.json")
    assert result.exit_code == 1, result.output
    assert f"cannot write the schema to {read_only}/s.json: Read-only file system" in result.output
    assert sorted(p.name for p in read_only.iterdir()) == ["existing.json"]


def test_a_new_run_on_a_read_only_file_system_does_not_claim_saved_runs(read_only):
    """It said 'the runs saved before are intact' for a new run that had saved nothing."""
    result = invoke("run", MINIMAL, "--runs", 10, "--workers", 1, "--out", read_only / "x")
    assert result.exit_code == 1
    assert (f"error: cannot create results directory {read_only}/x: Read-only file system; no run was saved"
            in result.output), result.output
    assert "intact" not in result.output and "saved before" not in result.output


def test_report_on_a_read_only_file_system_names_the_page_not_a_temporary_file(read_only, results):
    result = invoke("report", results, "--out", read_only / "r.html")
    assert result.exit_code == 1 and ".tmp" not in result.output
    assert f"cannot write the report {read_only}/r.html: Read-only file system" in result.output, result.output


# --- Ctrl-C ---------------------------------------------------------------------------------------------------


def _as_a_terminal_would_start_it() -> None:
    """In the child: Ctrl-C as at a terminal (a test run in the background may have inherited SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(args: list, when, cwd: Path) -> subprocess.CompletedProcess:
    """Start escalsim in its own process group, press Ctrl-C once `when()` is true (polled): SIGINT to the whole
    group, as a terminal sends it to escalsim and its workers, and wait for it to end. On a hang, the whole group
    is killed, so no worker is left behind."""
    process = subprocess.Popen([*ESCALSIM, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=cwd, env=ENV, start_new_session=True,
                               preexec_fn=_as_a_terminal_would_start_it)
    try:
        deadline = time.monotonic() + HANG_GUARD
        while not python_has_started(process.pid) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        while not when() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=HANG_GUARD)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group we started: escalsim and any worker left
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@functools.lru_cache(maxsize=1)
def python_start_cpu() -> float:
    """Three times the CPU time this interpreter takes to start (its site-packages' .pth files included: 0.012 s
    in a plain virtual environment, 0.05-0.07 s with a sandbox's .pth files), measured once."""
    start = subprocess.run([sys.executable, "-c", "import time; print(time.process_time())"], capture_output=True,
                           text=True, timeout=HANG_GUARD, env=ENV, check=True)
    return 3 * float(start.stdout)


def python_has_started(pid: int) -> bool:
    """Whether the process has used `python_start_cpu()` seconds of CPU time, i.e. Python's own start is over
    and escalsim's first line has run. Before it, a Ctrl-C is Python's and no Python program can catch it; the
    moment is counted in CPU time, which a busy machine does not stretch as it stretches the wall clock (under a
    load of 8 on 2 cores Python's start alone took more than 0.3 s of wall time)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return True  # not Linux, or already gone: do not wait
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5), in clock ticks
    return (utime + stime) / os.sysconf("SC_CLK_TCK") >= python_start_cpu()


def after(seconds: float):
    start = time.monotonic()
    return lambda: time.monotonic() - start >= seconds


def saved(directory: Path) -> int:
    try:
        return json.loads((directory / "progress.json").read_text())["next_run"]
    except (OSError, ValueError, KeyError):
        return 0


def check_interrupted_run(done: subprocess.CompletedProcess, out: Path, cwd: Path) -> None:
    """Whenever Ctrl-C lands, the message tells the truth about what `out` holds, and what is left can be used."""
    err = clean(done)
    assert done.returncode == INTERRUPTED, (done.returncode, err)
    assert leftovers(cwd) == []
    if not (out / "job.json").is_file():  # nothing saved: nothing kept, and the same command can run again
        assert "--resume" not in err and "finished runs" not in err and "interrupted" in err, err
        assert not out.exists() or not any(out.iterdir())
        again = escalsim("run", MINIMAL, "--runs", "20", "--workers", "1", "--quiet", "--out", out)
        assert again.returncode == 0, clean(again)
        return
    n = saved(out)
    assert f"escalsim run --resume {out}" in err, err
    assert n == 0 or f"{n:,} of 100,000,000 runs are saved" in err and f"--runs {n}" in err, err
    if n:  # finish with the runs done: the directory is then complete, and plot or report read it
        finished = escalsim("run", "--resume", out, "--runs", n, "--quiet")
        assert finished.returncode == 0, clean(finished)
        assert json.loads((out / "manifest.json").read_text())["runs"] == n


@pytest.mark.parametrize("seconds", [0.3, 0.7, 2.0])
def test_ctrl_c_at_any_moment_of_a_run(seconds, tmp_path):
    """SIGINT after 0.3 s (loading), 0.7 s (loading or starting) and 2 s (the first batches) of a run of 100
    million runs. Ctrl-C in the first ~0.7 s was a raw KeyboardInterrupt traceback; after ~2 s with no run
    saved it claimed finished runs were kept, and left a directory that refused the same command."""
    out = tmp_path / "out"
    done = interrupt(["run", MINIMAL, "--runs", "100000000", "--out", out, "--quiet"], after(seconds), tmp_path)
    check_interrupted_run(done, out, tmp_path)


def test_ctrl_c_once_runs_are_saved(tmp_path):
    out = tmp_path / "out"
    done = interrupt(["run", MINIMAL, "--runs", "100000000", "--workers", "1", "--batch-size", "100", "--out", out,
                      "--quiet"], lambda: saved(out) >= 200, tmp_path)
    assert (out / "job.json").is_file()
    check_interrupted_run(done, out, tmp_path)


def test_ctrl_c_while_finalizing(tmp_path):
    """SIGINT as soon as every run is saved, i.e. while the tables are written (or just after, if that was
    quicker): either way a clean exit and a directory that is complete or finished by --resume."""
    out = tmp_path / "out"
    done = interrupt(["run", MINIMAL, "--runs", "3000", "--workers", "1", "--batch-size", "100", "--out", out,
                      "--quiet"], lambda: saved(out) >= 3000 or (out / "manifest.json").exists(), tmp_path)
    err = clean(done)
    assert done.returncode in (0, INTERRUPTED) and leftovers(tmp_path) == [], err
    if not (out / "manifest.json").is_file() or (out / "job.json").is_file():
        assert done.returncode == INTERRUPTED and "all 3,000 runs are saved" in err, err
        assert escalsim("run", "--resume", out, "--quiet").returncode == 0
    assert json.loads((out / "manifest.json").read_text())["runs"] == 3000


def test_a_shell_sees_exit_status_130(tmp_path):
    """The documented code, as a shell sees it: `timeout -s INT` is Ctrl-C after 2 s."""
    if shutil.which("timeout") is None:
        pytest.skip("no timeout(1) here")
    command = " ".join([*ESCALSIM, "run", MINIMAL, "--runs", "100000000", "--quiet", "--out", str(tmp_path / "o")])
    done = subprocess.run(["bash", "-c", f"timeout --preserve-status -s INT 2 {command}; echo status $?"],
                          capture_output=True, text=True, timeout=HANG_GUARD, env=ENV,
                          preexec_fn=_as_a_terminal_would_start_it)
    assert done.stdout.strip().endswith("status 130") and "interrupted" in clean(done), (done.stdout, done.stderr)


@pytest.mark.parametrize("command", [c for c in COMMANDS if c != "run"])
def test_ctrl_c_while_a_command_loads(command, tmp_path, results):
    """SIGINT 0.3 s after start, while the command imports its modules or works: exit 130 and one line."""
    done = interrupt(expand(COMMANDS[command], tmp_path, results), after(0.3), tmp_path)
    err = clean(done)
    assert done.returncode in (0, INTERRUPTED), err  # 0 if it was done before the signal
    if done.returncode == INTERRUPTED:
        assert "interrupted" in err
    assert leftovers(tmp_path) == [] and leftovers(results) == []


def test_a_run_into_a_directory_another_process_writes_touches_nothing(tmp_path):
    """Two `escalsim run`s started together on one --out: in 3 of 13 tries both failed and saved nothing (the
    second cleared what the first was writing). The directory is locked before anything in it is looked at."""
    from escalsim.montecarlo.files import lock_directory, unlock_directory

    out = tmp_path / "out"
    out.mkdir()
    (out / "job.json.tmp").write_text("being written")  # what another run may hold at that moment
    key = lock_directory(out)  # held by this process, as by another escalsim run
    try:
        done = escalsim("run", MINIMAL, "--runs", "20", "--workers", "1", "--quiet", "--out", out)
    finally:
        unlock_directory(key)
    err = clean(done)
    assert done.returncode == 1 and "is being written by another escalsim process" in err, err
    assert [p.name for p in out.iterdir()] == ["job.json.tmp"]


def test_two_runs_started_together_on_one_out_one_wins():
    """The race itself, three times: exactly one run completes, the other says why and changes nothing."""
    for attempt in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "same"
            args = [*ESCALSIM, "run", MINIMAL, "--runs", "300", "--workers", "1", "--quiet", "--out", str(out)]
            both = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
                    for _ in range(2)]
            done = [p.communicate(timeout=HANG_GUARD) for p in both]
            codes = sorted(p.returncode for p in both)
            errs = [err for _, err in done]
            assert codes == [0, 1], (attempt, errs)
            assert any("is being written by another escalsim process" in e or "escalsim results already" in e
                       for e in errs), errs
            assert json.loads((out / "manifest.json").read_text())["runs"] == 300


def test_sigterm_to_a_run_stops_it_and_its_workers(tmp_path):
    """`kill PID` (a supervisor, not a terminal: the signal goes to escalsim only): the workers were left for good,
    blocked sending batches nobody read. While its pool runs, escalsim takes SIGTERM as Ctrl-C."""
    out = tmp_path / "out"
    process = subprocess.Popen([*ESCALSIM, "run", MINIMAL, "--runs", "100000000", "--workers", "2", "--batch-size",
                                "100", "--out", str(out), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=ENV, start_new_session=True, preexec_fn=_as_a_terminal_would_start_it)
    try:
        deadline = time.monotonic() + HANG_GUARD
        while saved(out) < 200 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGTERM)  # escalsim alone, not its process group
        _, err = process.communicate(timeout=HANG_GUARD)
        time.sleep(0.5)
        left = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True).stdout.split()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert "Traceback" not in err and "interrupted" in err, err
    assert left == [], left
    assert escalsim("run", "--resume", out, "--runs", saved(out), "--quiet").returncode == 0


@pytest.mark.parametrize("key, value, said", [("runs", "lots", "runs: input should be a valid integer"),
                                               ("runs", None, "runs: input should be a valid integer"),
                                               ("runs", -5, "runs is -5, below 0"),
                                               ("tracks", 5, "tracks: input should be a valid list")])
@pytest.mark.parametrize("command", ["plot", "report"])
def test_a_manifest_with_a_wrong_type_is_named_not_a_traceback(command, key, value, said, tmp_path, results):
    """A hand-edited manifest.json: `"tracks": 5` or `"runs": null` ended in TypeError tracebacks, `"runs": "lots"`
    in a usage error (exit 2), `"runs": -5` was accepted."""
    damaged = tmp_path / "damaged"
    shutil.copytree(results, damaged)
    manifest = json.loads((damaged / "manifest.json").read_text())
    manifest[key] = value
    (damaged / "manifest.json").write_text(json.dumps(manifest))
    done = escalsim(command, damaged, "--out", tmp_path / ("r.html" if command == "report" else "figures"))
    err = clean(done)
    assert done.returncode == 1 and "manifest.json is damaged: " + said in err, err


def test_resume_writes_the_summary_tables_an_interrupted_end_did_not(tmp_path):
    """Ctrl-C while the summary CSVs were written left complete results without them, and `--resume` answered
    "complete; there is nothing to resume". It now writes them: the same bytes as an uninterrupted run's."""
    from escalsim.outputs.csv_files import CSV_FILES

    results, copy = tmp_path / "results", tmp_path / "copy"
    assert escalsim("run", MINIMAL, "--runs", "200", "--workers", "1", "--quiet", "--out", results).returncode == 0
    shutil.copytree(results, copy)
    for name in CSV_FILES[:3]:
        (copy / name).unlink()
    done = escalsim("run", "--resume", copy, "--quiet")
    assert done.returncode == 0, clean(done)
    assert all((copy / name).read_bytes() == (results / name).read_bytes() for name in CSV_FILES)
    again = escalsim("run", "--resume", copy, "--quiet")
    assert again.returncode == 1 and "nothing to resume" in clean(again)


def test_a_disk_full_after_some_figures_says_which_are_written(tmp_path, results, monkeypatch):
    """The disk filled after three of nine figures: the message said only "No space left on device", not that
    three complete figures were there."""
    from escalsim.outputs import plots

    real, calls = plots._save, []

    def save(fig, path, fmt):
        calls.append(path.name)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fig, path, fmt)

    monkeypatch.setattr(plots, "_save", save)
    done = CliRunner().invoke(main, ["plot", str(results), "--out", str(tmp_path / "figs"), "--format", "svg"])
    assert done.exit_code == 1 and "No space left on device" in done.output, done.output
    assert f"written before it, complete: {', '.join(sorted(calls[:2]))}" in done.output, done.output


def test_the_guard_is_first():
    """The Ctrl-C guard is set by the first module of escalsim that loads, before any other: only Python's own
    start comes before it (the moment `interrupt` waits for)."""
    done = subprocess.run([*ESCALSIM, "--version"], capture_output=True, text=True, timeout=HANG_GUARD,
                          env={**ENV, "PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr
    ours = [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
            if "|" in line and line.rsplit("|", 1)[1].strip().startswith("escalsim")]
    assert ours[0] == "escalsim._startup", ours[:5]  # -X importtime lists an import as it ends: _startup is a leaf


def test_the_fault_table_covers_every_command():
    """A new command joins the table above (stdout on a full disk, a closed pipe, Ctrl-C)."""
    assert set(COMMANDS) == set(main.commands)


def test_a_ctrl_c_after_the_work_is_done_is_ignored():
    """A Ctrl-C landing while Python shuts down (it puts SIGINT back to the system's default first) ended a
    finished `validate` by SIGINT, status 130, without a word (seen once in CI): once a command's work is done and
    written, the program ignores Ctrl-C."""
    code = ("import signal, sys; sys.argv = ['escalsim', 'validate', sys.argv[1]]\n"
            "import escalsim.cli\ntry:\n    escalsim.cli.main()\nexcept SystemExit as e:\n"
            "    print(e.code, signal.getsignal(signal.SIGINT) is signal.SIG_IGN)\n")
    done = subprocess.run([sys.executable, "-c", code, str(MINIMAL)], capture_output=True, text=True, env=ENV,
                          timeout=HANG_GUARD)
    assert done.stdout.splitlines()[-1] == "0 True", (done.stdout, done.stderr)
