"""The `escalsim` command line: one click group, its commands in modules by what they work on.

`scenario_cmds` (validate, trace, schema) and `graph_cmd` (graph) work on scenario files; `run_cmd` (run) writes a
results directory; `output_cmds` (plot, report) read one; `compare_cmd` (compare) runs or reads two, paired;
`play_cmd` (play) runs a wargame session.
`common` holds what they share. The CLI only calls the layers below it.

Every command fails cleanly: the group's `main` turns what escapes a command (Ctrl-C, a full disk or a closed
pipe on stdout, any other OSError) into a message and an exit code, never a traceback. The command modules
import the heavy layers inside their functions, so that a Ctrl-C while they load is caught here too.
"""

from __future__ import annotations

import errno
import sys

from escalsim import _startup  # the Ctrl-C guard while the program starts (set when the package loads)

try:
    import contextlib

    import click

    from escalsim import __version__
    from escalsim.cli.common import (
        EXIT_CODES,
        EXIT_INVALID,
        EXIT_OK,
        StdoutError,
        ctrl_c,
        exit_interrupted,
        stdout_failed,
        warn,
        why,
    )
    from escalsim.cli.compare_cmd import compare
    from escalsim.cli.graph_cmd import graph
    from escalsim.cli.output_cmds import plot, report
    from escalsim.cli.play_cmd import play
    from escalsim.cli.run_cmd import run
    from escalsim.cli.scenario_cmds import schema, schema_text, trace, validate
except BaseException:
    _startup.release()
    raise
else:
    from escalsim.cli import common as _common

    _common.AS_PROGRAM = _startup.PROGRAM

__all__ = ["main", "schema_text"]


class _Escalsim(click.Group):
    """A click group whose `main` never ends in a traceback for what the outside world does to it."""

    def invoke(self, ctx: click.Context):
        if _startup.THE_PROGRAM:  # a command runs (not --help): before it imports pyarrow
            from escalsim._memory import give_back_freed_memory

            give_back_freed_memory()
        try:
            return super().invoke(ctx)
        except OSError as exc:  # click would take a closed pipe for its own and exit 1 without a word
            raise _Failed(exc) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            _ordinary_ctrl_c()
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            _ordinary_ctrl_c()  # from here on a Ctrl-C is a KeyboardInterrupt, reported below
            with ctrl_c:
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
                _flush_stdout()
            _finished()
        except click.Abort as exc:  # click's own wrapping of Ctrl-C (and of end of input at a prompt)
            if isinstance(exc.__context__, KeyboardInterrupt) or isinstance(exc.__cause__, KeyboardInterrupt):
                _interrupted(newline=False)  # click has ended the line
            warn("Aborted!")
            sys.exit(EXIT_INVALID)
        except click.ClickException as exc:
            with contextlib.suppress(OSError):
                exc.show()
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            _interrupted()
        except StdoutError as exc:
            stdout_failed(exc.error)
        except _Failed as exc:
            _os_error(exc.error)
        except OSError as exc:  # e.g. writing --help to a full disk
            _os_error(exc)
        except Exception:
            if ctrl_c.requested:  # a library turned the KeyboardInterrupt into something else
                _interrupted()
            raise
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def _finished() -> None:
    """The command's work is done and written: a Ctrl-C from now on changes nothing, so it is ignored. Without
    this, one landing while Python shuts down (which puts Ctrl-C back to the system's default first) ended the
    finished command by SIGINT, status 130, without a word."""
    if _common.AS_PROGRAM:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ordinary_ctrl_c() -> None:
    """Hand Ctrl-C back to Python (a KeyboardInterrupt) once `main` can report it: until then, while the
    program starts, `escalsim._startup` ends it."""
    _startup.release()


class _Failed(Exception):
    """An OSError that escaped a command, carried past click's handler."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


def _flush_stdout() -> None:
    if sys.stdout is None:  # started with standard output closed (`>&-`): what was printed went nowhere
        raise StdoutError(OSError(errno.EBADF, "standard output is closed")) from None
    try:
        sys.stdout.flush()
    except OSError as exc:
        raise StdoutError(exc) from None


def _interrupted(newline: bool = True):
    warn("\ninterrupted" if newline else "interrupted")
    exit_interrupted()


def _os_error(exc: OSError):
    if isinstance(exc, BrokenPipeError):
        stdout_failed(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    warn(f"error: {why(exc)}{where}")
    sys.exit(EXIT_INVALID)


@click.group(cls=_Escalsim, context_settings={"help_option_names": ["-h", "--help"]}, help=f"""
    Escalation scenarios as discrete-event Monte Carlo models.

    {EXIT_CODES}
    """)
@click.version_option(__version__, prog_name="escalsim")
def main() -> None:
    pass


for _command in (validate, trace, run, play, plot, report, schema, graph, compare):
    main.add_command(_command)
