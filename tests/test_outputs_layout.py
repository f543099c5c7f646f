"""The outputs package keeps its shape: small documented modules that read results and never simulate."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import escalsim

OUTPUTS = Path(escalsim.__file__).parent / "outputs"
MODULES = sorted(OUTPUTS.glob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_stay_under_400_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_every_public_function_has_a_docstring(path):
    bare = [node.name for node in _tree(path).body
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") and not ast.get_docstring(node)]
    assert bare == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_outputs_never_import_the_engine_or_the_monte_carlo(path):
    names = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    assert not [n for n in names if n.startswith(("escalsim.engine", "escalsim.montecarlo"))]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_private_helper_is_imported_from_another_module(path):
    private = [f"{node.module}.{alias.name}" for node in ast.walk(_tree(path))
               if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("escalsim")
               for alias in node.names if alias.name.startswith("_") and not alias.name.endswith("__")]  # __version__
    assert private == []


NAMES_IN_USE = {  # the README, the notebooks and the CLI call these
    "escalsim.outputs.plots": ["fan_chart", "ladder_probabilities", "first_passage_curves", "max_rung_histogram",
                               "variable_distribution", "escalation_drivers", "run_timeline", "traced_runs", "PLOTS",
                               "FORMATS", "save_all", "draw_all", "OKABE_ITO", "FIGSIZE", "rung_colours",
                               "CONTRACT"],
    "escalsim.outputs.analysis": ["rung_probabilities", "first_passage_quantiles", "variable_quantiles",
                                  "outcome_frequencies", "wilson", "Z95"],
    "escalsim.outputs.tables": ["summary", "summary_frame", "write_csv", "key_variables", "date_label"],
    "escalsim.outputs.report": ["render", "write_report"],
}


@pytest.mark.parametrize("module", NAMES_IN_USE)
def test_the_names_in_use_are_still_there(module):
    loaded = importlib.import_module(module)
    assert [name for name in NAMES_IN_USE[module] if not hasattr(loaded, name)] == []
    assert escalsim.plots.fan_chart is importlib.import_module("escalsim.outputs.plots").fan_chart
