"""The results directory's files and how they are written: names, format version, atomic writes, the lock.

Every file is written to NAME.tmp, fsynced and renamed, so an interruption leaves whole files only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

from escalsim import __version__

FORMAT = 2  # 2: tracks, rungs entered with their causes, every event's day (format 1 had one ladder)


KIND = "escalsim-results"


JOB, PROGRESS, MANIFEST, CHUNKS = "job.json", "progress.json", "manifest.json", "chunks"


RUNS, LEVELS, TRACES = "runs.parquet", "levels.parquet", "traces.parquet"


class ResultsError(ValueError):
    """A directory that is not (or not yet, or no longer) usable as escalsim results."""


class ResultsWriteError(OSError):
    """Writing the results failed (e.g. disk full); what was written before is intact."""


def atomic(path: Path, write: Callable[[BinaryIO], None], sync_dir: bool = True, what: str | None = None) -> None:
    """Write path via path.tmp + fsync + rename: readers see the old file or the whole new one.

    sync_dir=False leaves the rename to be made durable by a later fsync of the directory. Raises
    ResultsWriteError when writing fails (the .tmp file is removed), saying `what` failed (by default: writing
    a file of the results directory).
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        if sync_dir:
            fsync_dir(path.parent)
    except OSError as exc:
        discard(tmp)
        where = path.parent.parent if path.parent.name == CHUNKS else path.parent
        raise write_error(exc, what or f"cannot write {path.name} in results directory {where}") from exc
    except BaseException:  # e.g. Ctrl-C while writing: leave no half-written file behind
        discard(tmp)
        raise


def write_error(exc: OSError, what: str) -> ResultsWriteError:
    """A ResultsWriteError saying `what` failed and why, with the errno (returned, not raised). It claims
    nothing about the runs saved before: the caller knows whether there are any."""
    message = f"{what}: {exc.strerror or exc}"
    return ResultsWriteError(exc.errno, message) if exc.errno is not None else ResultsWriteError(message)


def fsync_dir(directory: Path) -> None:
    """Make the renames in `directory` durable. Raises OSError."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def discard(path: Path) -> None:
    """Remove a file if it exists; an OSError is ignored."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def write_json(path: Path, doc: dict) -> None:
    """Write `doc` as indented JSON, atomically. Raises ResultsWriteError."""
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a file name that is not UTF-8 (Python keeps its bytes as surrogates): \u escapes
        data = json.dumps(doc, indent=1).encode()
    atomic(path, lambda fh: fh.write(data + b"\n"))


def read_json(path: Path) -> dict:
    """The document of a results JSON file. Raises ResultsError if it cannot be read or parsed, or is not
    an escalsim results file."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path} cannot be read: {exc}") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise ResultsError(f"{path} is not an escalsim results file")
    return doc


def is_results_dir(directory: Path) -> bool:
    """Whether `directory` holds a manifest.json or job.json of escalsim results."""
    return any(has_kind(directory / name) for name in (MANIFEST, JOB))


def has_kind(path: Path) -> bool:
    """Whether `path` is a JSON file of escalsim results (False if unreadable or not JSON)."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("kind") == KIND
    except (OSError, ValueError, AttributeError):
        return False


def sha256(text: str) -> str:
    """The hex SHA-256 of the text's UTF-8 bytes."""
    return hashlib.sha256(text.encode()).hexdigest()


def utc_now() -> str:
    """The current UTC time in ISO 8601, to the second."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


_HELD: dict[tuple[int, int], list[int]] = {}  # directories this process holds locked: (device, inode) -> [fd, holders]


def lock_directory(directory: Path) -> tuple[int, int] | None:
    """Hold the results directory itself locked (flock) while this process writes it: a second escalsim process
    starting or resuming a run there, even in the same instant, is refused before it looks at or removes anything.
    The lock belongs to the process, as a POSIX record lock would (a writer abandoned after an interruption and a
    resume in the same process do not exclude each other), and ends with it: no stale lock after a crash.
    Returns the key to pass to `unlock_directory` (None where there are no locks). Raises ResultsError when
    another process holds it."""
    if fcntl is None:
        return None
    fd = os.open(directory, os.O_RDONLY)
    st = os.fstat(fd)
    key = (st.st_dev, st.st_ino)
    if key in _HELD:
        os.close(fd)
        _HELD[key][1] += 1
        return key
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise ResultsError(f"{directory} is being written by another escalsim process; wait for it to finish or "
                           "stop it (a new run can choose another --out)") from None
    _HELD[key] = [fd, 1]
    return key


def unlock_directory(key: tuple[int, int] | None) -> None:
    """Release one hold of `lock_directory`; the lock ends with the last."""
    held = _HELD.get(key) if key is not None else None
    if held is not None:
        held[1] -= 1
        if held[1] == 0:
            del _HELD[key]
            os.close(held[0])


def directory_busy(directory: Path) -> bool:
    """Whether another process holds `directory`'s lock (`lock_directory`) now."""
    try:
        key = lock_directory(directory)
    except ResultsError:
        return True
    except OSError:
        return False
    unlock_directory(key)
    return False


def check_format(directory: Path, version) -> None:
    """Raise ResultsError unless `version` is FORMAT, the results format this escalsim reads."""
    if version != FORMAT:
        raise ResultsError(f"{directory} holds results in format {version}; this escalsim ({__version__}) "
                           f"reads format {FORMAT}")
