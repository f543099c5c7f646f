"""The layers of the package, checked by import-linter's contracts in setup.cfg, and shown to catch a wrong import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import escalsim

ROOT = Path(__file__).parent.parent
PACKAGE = Path(escalsim.__file__).parent
LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
HANG_GUARD = 300  # seconds: only against a hang, never a speed check


def lint(cwd: Path) -> subprocess.CompletedProcess:
    """Run import-linter on the escalsim package found in `cwd`, with the contracts of `cwd`/setup.cfg."""
    return subprocess.run([sys.executable, "-c", LINT], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
                          timeout=HANG_GUARD)


def test_the_import_contracts_are_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "wrong", "contract"), [
    ("engine/world.py", "import escalsim.montecarlo.records", "Layers"),
    ("scenario/loader.py", "import escalsim.engine.core", "Layers"),
    ("outputs/tables.py", "import escalsim.engine.story", "The outputs show what was recorded"),
    ("outputs/plots.py", "import escalsim.montecarlo.results", "Layers"),
    ("sampling/streams.py", "import escalsim.errors", "sampling is a leaf"),
    ("stats.py", "import escalsim.scenario.schema", "Leaves"),
])
def test_a_wrong_import_breaks_a_contract(tmp_path, module, wrong, contract):
    """A copy of the package with one import that the architecture forbids: import-linter must refuse it."""
    shutil.copytree(PACKAGE, tmp_path / "escalsim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    target = tmp_path / "escalsim" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{wrong}  # deliberately wrong\n", encoding="utf-8")
    result = lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Broken contracts" in result.stdout, result.stdout
    assert contract in result.stdout.split("Broken contracts")[1], result.stdout
