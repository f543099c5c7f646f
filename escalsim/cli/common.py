"""What the commands share: exit codes, writing to stdout and to files without tracebacks, loading a scenario or
a results directory with errors printed, moves parsed from the command line, and the progress bar.

Heavy modules (pydantic models, pandas, the engine) are imported inside the functions that need them, so that
`escalsim` starts in a few milliseconds and a Ctrl-C while it loads is reported like any other (exit 130).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import re
import signal
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

if TYPE_CHECKING:
    from escalsim.scenario.moves import Block, Injection
    from escalsim.scenario.schema import Scenario

EXIT_OK = 0            # success; also when whoever read stdout stopped reading (`escalsim ... | head -3`)
EXIT_INVALID = 1       # invalid input (scenario, results directory) or a write that failed
EXIT_USAGE = 2         # bad command-line usage (click's own code)
EXIT_INTERRUPTED = 130  # Ctrl-C: the process ends by SIGINT, which shells report as 128 + 2

EXIT_CODES = ("Exit codes: 0 success (also when the reader of the output stops early, as `| head` does), "
              "1 invalid scenario or results directory, or a file that cannot be written, 2 bad command-line "
              "usage, 130 interrupted (Ctrl-C: escalsim ends by SIGINT, which a shell reports as 130).")

SET_EXAMPLE = "deployments.dprk_to_russia.schedule.0.size=2000"
INJECT_EXAMPLE = "seoul_sends_weapons@2024-11-15"
SET_HELP = f"Override a value of the file, e.g. --set {SET_EXAMPLE} (repeatable)."
INJECT_HELP = (f"Force an option (or a treaty obligation, treaty.party) on a date or day in every run, e.g. "
               f"--inject {INJECT_EXAMPLE} (repeatable; it fires on that day, without its delay_days).")
BLOCK_EXAMPLE = "washington_allows_deep_strikes@..2025-01-01"
BLOCK_HELP = (f"A move declined: the option or obligation cannot happen in a window, EVENT (the whole run), "
              f"EVENT@FROM or EVENT@FROM..UNTIL (UNTIL excluded), e.g. --block {BLOCK_EXAMPLE} (repeatable).")
OVERRIDE_HELP = ("An umpire's override: injected moves fire even when their option is off the table (its "
                 "alternative chosen) or blocked; the trace says so.")


AS_PROGRAM = False  # set by escalsim.cli when it starts as the `escalsim` program (not imported in-process)


def exit_interrupted() -> NoReturn:
    """End after a Ctrl-C, once everything is reported and cleaned up: as the program, by SIGINT itself, as any
    program stopped by Ctrl-C should (a shell reports exit status 130, and a script that ran escalsim stops
    instead of going on to its next line); in-process (click's test runner), SystemExit(130).

    It also makes the ending the same every time: CPython ends by SIGINT anyway, after a clean exit(130), when the
    KeyboardInterrupt was raised inside exec() of a string, as defining a dataclass or a pydantic model does."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    if AS_PROGRAM:
        with contextlib.suppress(OSError, ValueError):
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
    sys.exit(EXIT_INTERRUPTED)


class StdoutError(Exception):
    """Writing to standard output failed (a full disk, a closed pipe): not an OSError, so that click does not
    handle it as its own; the group's `main` reports it."""

    def __init__(self, error: OSError):
        super().__init__(error.strerror or str(error))
        self.error = error


def echo(text: str = "", nl: bool = True) -> None:
    """click.echo to stdout; a failed write raises StdoutError."""
    try:
        click.echo(text, nl=nl)
    except OSError as exc:
        raise StdoutError(exc) from None


def stdout_failed(error: OSError, note: str = "") -> NoReturn:
    """Stdout failed: a closed pipe is the reader's choice (`| head`), so stop quietly (exit 0); anything else
    (a full disk) is an error (exit 1) with the reason, and `note` after it."""
    _discard_stdout()
    if isinstance(error, BrokenPipeError):
        sys.exit(EXIT_OK)
    fail(f"cannot write to standard output: {why(error)}{note}")


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush of what is still buffered cannot fail again."""
    try:
        fd = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (click's test runner): nothing will flush it at exit


def warn(text: str) -> None:
    """A line on stderr; if stderr itself cannot be written there is nobody to tell, so nothing is raised."""
    with contextlib.suppress(OSError, ValueError):
        click.echo(text, err=True)


def fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    """Print `error: message` on stderr and exit with `code`."""
    warn(f"error: {message}")
    sys.exit(code)


def why(exc: OSError) -> str:
    """An OSError's reason without the file name it names (which may be a temporary file of ours)."""
    return exc.strerror or str(exc)


def check_output_file(path: str | Path, what: str, replaceable: bool = False) -> Path:
    """Refuse (exit 1) an output file that cannot be created: its folder missing or not a folder, or the path a
    folder. Checked before any work, so that a long computation does not end in a failed write. `replaceable`:
    the file will be replaced by a rename, so it must be a regular file (never a device such as /dev/null)."""
    path = Path(path)
    parent = path.parent
    if path.is_dir():
        fail(f"cannot write {what} to {path}: it is a directory; give a file name")
    if replaceable and path.exists() and not path.is_file():
        fail(f"cannot write {what} to {path}: it is not a regular file (a device or a pipe); give a file name")
    if not parent.exists():
        fail(f"cannot write {what} to {path}: the folder {parent} does not exist")
    if not parent.is_dir():
        fail(f"cannot write {what} to {path}: {parent} is not a folder")
    return path


def write_file(path: str | Path, text: str, what: str) -> None:
    """Write `text` to `path` whole or not at all (exit 1 with the reason).

    A regular file (or a new one) is written to a temporary file in the same folder, fsynced and renamed over
    it, so a full disk or a Ctrl-C never leaves half a file. A device or a pipe (/dev/stdout, a fifo) is written
    directly: it cannot be replaced, and must not be."""
    path = check_output_file(path, what)
    data = text.encode("utf-8")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        fail(f"cannot write {what} to {path}: {why(exc)}")
    try:
        if mode is not None and not stat.S_ISREG(mode):
            with open(path, "wb") as fh:
                fh.write(data)
            return
        _replace(path, data)
    except OSError as exc:
        fail(f"cannot write {what} to {path}: {why(exc)}; nothing was written")


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk, a read-only folder, Ctrl-C: no half-written file is left
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def load(path: str, overrides: tuple[str, ...] = ()) -> Scenario:
    """Load or exit 1 with every problem printed as FILE:LINE:COLUMN: path: message."""
    from escalsim.errors import ScenarioError
    from escalsim.scenario.loader import load_scenario

    try:
        return load_scenario(path, overrides)
    except ScenarioError as exc:
        ctrl_c.check()  # e.g. a model's validator interrupted while it was built: not a problem of the file
        for problem in exc.problems:
            warn(str(problem))
        sys.exit(EXIT_INVALID)


def _names_flag(flag: str):
    """Make a move parser's click.BadParameter name its flag ("Invalid value for '--inject'"), unless it names one."""
    def wrap(parse):
        @functools.wraps(parse)
        def named(*args, **kwargs):
            try:
                return parse(*args, **kwargs)
            except click.BadParameter as exc:
                if exc.param is None and exc.param_hint is None:
                    exc.param_hint = f"'{flag}'"
                raise
        return named
    return wrap


@_names_flag("--inject")
def parse_injection(text: str, scenario: Scenario, override: bool = False) -> Injection:
    """'option@2024-11-15' or 'option@30' (a day number) -> Injection; an obligation is named treaty.party.

    Raises click.BadParameter for another form, an unknown option or obligation, a date written without dashes
    (20241115 would be day 20,241,115), or a day outside the scenario."""
    from escalsim.scenario.moves import Injection

    name, sep, when = text.partition("@")
    if not sep or not name or not when:
        raise click.BadParameter(f"{text!r}: expected EVENT@DATE or EVENT@DAY, e.g. {INJECT_EXAMPLE}")
    _known_move(text, name, scenario)
    return Injection(day=_day(text, when, scenario), option=name, override=override)


@_names_flag("--block")
def parse_block(text: str, scenario: Scenario) -> Block:
    """'option' (the whole run), 'option@2024-11-15' (from that day), 'option@2024-11-15..2025-01-01' or
    'option@..2025-01-01' (until that day, excluded) -> Block. Raises click.BadParameter as parse_injection."""
    from escalsim.scenario.moves import Block

    name, _, window = text.partition("@")
    _known_move(text, name, scenario)
    start_text, dots, until_text = window.partition("..")
    start = _day(text, start_text, scenario) if start_text else 0.0
    until = _day(text, until_text, scenario, end=True) if dots and until_text else None
    if until is not None and until <= start:
        raise click.BadParameter(f"{text!r}: the block must end after it starts")
    return Block(option=name, start=start, until=until)


def check_moves_or_fail(scenario: Scenario, injections: list, blocks: list) -> None:
    """Refuse moves that conflict (two injected alternatives, an injection inside its own block) as a usage
    error naming them."""
    from escalsim.engine import compile_model
    from escalsim.engine.core import InjectionError, check_moves

    try:
        check_moves(compile_model(scenario), injections, blocks)
    except InjectionError as exc:
        raise click.BadParameter(str(exc), param_hint="--inject/--block") from None


def _known_move(text: str, name: str, scenario: Scenario) -> None:
    obligations = [f"{tid}.{ob.party}" for tid, t in scenario.treaties.items() for ob in t.obligations]
    known = list(scenario.options) + obligations
    if name not in known:
        from escalsim.scenario.conditions import suggest

        hint = suggest(name, known)
        raise click.BadParameter(f"{text!r}: unknown option or obligation '{name}'"
                                 + (f" (did you mean '{hint}'?)" if hint else "") + "; options: "
                                 + ", ".join(scenario.options) + ("; obligations: " + ", ".join(obligations)
                                                                  if obligations else ""))


def _day(text: str, when: str, scenario: Scenario, end: bool = False) -> float:
    """A move's date (YYYY-MM-DD) or day number; `end`: the day may be the horizon itself."""
    if re.fullmatch(r"\d{8}", when.strip()):
        shown = f"{when[:4]}-{when[4:6]}-{when[6:8]}"
        raise click.BadParameter(f"{text!r}: {when} would be day {int(when):,}; write a date as YYYY-MM-DD "
                                 f"({shown}), or give a day number from 0 to {scenario.horizon:g}")
    try:
        day = scenario.day_of(dt.date.fromisoformat(when)) if "-" in when.lstrip("-") else float(when)
    except ValueError:
        raise click.BadParameter(f"{text!r}: {when!r} is neither a date (YYYY-MM-DD) nor a day number") from None
    if not (0 <= day <= scenario.horizon if end else 0 <= day < scenario.horizon):  # NaN fails this too
        raise click.BadParameter(f"{text!r}: the day must fall within the scenario (day 0, {scenario.start}, to "
                                 f"day {scenario.horizon - 1:g})")
    return day


def results_or_exit(directory: str, lazy: bool = False):
    """The Results of a complete results directory (`lazy`: its runs and levels read when used, a column or a row
    group at a time), or exit 1 with the ResultsError printed on stderr."""
    from escalsim.montecarlo.files import ResultsError
    from escalsim.montecarlo.results import load_results, open_results

    try:
        return open_results(directory) if lazy else load_results(directory)
    except ResultsError as exc:
        fail(str(exc))


class CtrlC:
    """Ctrl-C that cannot be lost, as a context manager (`with ctrl_c:`, nestable): while active, SIGINT records
    the request as well as raising KeyboardInterrupt. `check()` raises it again at a safe point (after each saved
    batch), and an exception that follows a Ctrl-C is reported as the interruption it is. Libraries do lose or
    turn a KeyboardInterrupt: pydantic swallows one raised in a discriminator while serializing (a run then went
    on), and turns one raised while it builds a model's validator into a SchemaError. Where SIGINT is ignored (a
    background job) it stays ignored."""

    def __init__(self):
        self.requested = False
        self._depth = 0
        self._previous = None
        self._unraisable = None

    def __enter__(self) -> CtrlC:
        if self._depth == 0:
            self.requested = False
            try:
                if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                    self._previous = signal.signal(signal.SIGINT, self._handle)
                    self._unraisable, sys.unraisablehook = sys.unraisablehook, self._drop_lost_interrupt
            except ValueError:  # not the main thread: leave Ctrl-C as it is
                self._previous = None
        self._depth += 1
        return self

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if self._depth == 0 and self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            sys.unraisablehook = self._unraisable
            self._previous = self._unraisable = None

    def _drop_lost_interrupt(self, unraisable) -> None:
        """A KeyboardInterrupt that something could not raise (pydantic prints it as 'Exception ignored in
        _param_tag' with a traceback) is not shown: it is recorded, and raised again at the next check."""
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            self.requested = True
            return
        self._unraisable(unraisable)

    def _handle(self, signum, frame):
        self.requested = True
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C was pressed."""
        if self.requested:
            raise KeyboardInterrupt


ctrl_c = CtrlC()  # the one of this process: the group's `main` holds it for every command


@contextlib.contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int, float], None] | None]:
    """A click progress bar (runs done, runs/s, time left) as a Progress callback, on stderr: stdout keeps
    only the summary, for a pipe or a file.

    Only on a terminal: elsewhere (a log file, a pipe) a bar cannot redraw itself and would leave stray lines.
    If stderr stops accepting writes (a closed pipe), the bar stops and the runs go on."""
    if not enabled or not _is_terminal(sys.stderr):
        yield None
        return
    state: dict = {}

    def update(done: int, total: int, rate: float) -> None:
        if state.get("broken"):
            return
        try:
            bar = state.get("bar")
            if bar is None or state["total"] != total:
                if bar is not None:
                    bar.render_finish()
                bar = state["bar"] = click.progressbar(length=total, label=label, show_eta=True, show_pos=True,
                                                       item_show_func=lambda item: item,
                                                       file=sys.stderr)  # looked up now: CliRunner swaps it
                state["total"], state["done"] = total, 0
            bar.current_item = f"{rate:,.0f} runs/s"
            bar.update(done - state["done"])
            state["done"] = done
        except OSError:
            state["broken"] = True

    try:
        yield update
    finally:
        if state.get("bar") is not None and not state.get("broken"):
            with contextlib.suppress(OSError):
                state["bar"].render_finish()


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
