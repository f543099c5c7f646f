"""The `escalsim` program returns freed memory to the system (escalsim/_memory.py); the package imported by
another program leaves that program's allocators alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POOL = "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"


def _python(code: str, **env) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    environ.update(PYTHONPATH=str(ROOT), **env)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=300,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_program_uses_the_system_allocator_for_arrow():
    run_a_command = ("import sys; sys.argv = ['escalsim', 'validate', 'scenarios/minimal.yaml']\n"
                     "import escalsim.cli\ntry:\n    escalsim.cli.main()\nexcept SystemExit:\n    pass\n" + POOL)
    assert _python(run_a_command)[-1] == "system"


def test_a_users_choice_of_pool_is_kept():
    code = "from escalsim._memory import give_back_freed_memory; print(give_back_freed_memory()); " + POOL
    assert _python(code) == ["True", "system"]
    assert _python(code, ARROW_DEFAULT_MEMORY_POOL="jemalloc") == ["True", "jemalloc"]


def test_too_late_to_choose_once_pyarrow_is_loaded():
    code = ("import pyarrow; from escalsim._memory import give_back_freed_memory; "
            "print(give_back_freed_memory()); " + POOL)
    assert _python(code)[0] == "False"


def test_the_package_imported_elsewhere_leaves_the_allocators_alone():
    code = ("import escalsim, escalsim.cli; from escalsim.cli import main; "
            "from click.testing import CliRunner; CliRunner().invoke(main, ['validate', 'scenarios/minimal.yaml'])\n"
            + POOL)
    assert _python(code)[-1] == _python(POOL)[-1]  # pyarrow's own default (mimalloc in the usual wheels)
