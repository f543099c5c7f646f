"""Ctrl-C while the `escalsim` program starts. Imported first by the package (`escalsim/__init__.py`), so that
from escalsim's first line on a Ctrl-C ends the program with one line and exit status 130, not a traceback of
whatever module was loading. Only Python's own start and the launcher script's first import come before it:
about 20 ms of CPU time (12 ms for the interpreter, 8 ms for the `re` module pip's launcher imports), where a
Ctrl-C is Python's. `escalsim.cli.main` takes Ctrl-C back (`release`) once it can report it itself.

Uses the built-in `_signal` and `os` (loaded with the interpreter), not `signal`, whose import builds enums for
another 5 ms. A notebook or a test importing the package keeps its own Ctrl-C: the guard is set only when this
process is the `escalsim` program (its launcher, or `python -m escalsim`) and Ctrl-C is Python's default."""

from __future__ import annotations

import _signal
import os
import sys


def _interrupted_while_starting(signum, frame):  # nothing is written yet: there is nothing to clean up
    os.write(2, b"\ninterrupted while starting: nothing was written\n")
    _signal.signal(_signal.SIGINT, _signal.SIG_DFL)  # end by SIGINT, as cli.common.exit_interrupted does
    os.kill(os.getpid(), _signal.SIGINT)
    os._exit(130)


def _is_the_program() -> bool:
    """Whether this process is the `escalsim` program: its launcher script, or `python -m escalsim` (while the
    package loads for `-m`, sys.argv[0] is still '-m': the interpreter's own arguments say which module)."""
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) == "escalsim" or argv0.endswith(os.path.join("escalsim", "__main__.py")):
        return True
    if argv0 != "-m":
        return False
    args = list(getattr(sys, "orig_argv", ()))
    return any(a == "-mescalsim" or (a == "-m" and args[i + 1:i + 2] == ["escalsim"]) for i, a in enumerate(args))


#: this process is the `escalsim` program, not the package imported by another program
THE_PROGRAM = _is_the_program()
#: ... and it started with Python's default Ctrl-C (a job started in the background by a shell has Ctrl-C
#: ignored, and keeps it so)
PROGRAM = THE_PROGRAM and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler
_guarding = PROGRAM
if _guarding:
    _signal.signal(_signal.SIGINT, _interrupted_while_starting)


def release() -> None:
    """Give Ctrl-C back to Python (a KeyboardInterrupt): the program can now report it itself, or failed to start
    and Python's traceback is the report."""
    global _guarding
    if _guarding:
        _guarding = False
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)
