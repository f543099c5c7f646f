"""Every concrete `escalsim ...` example in README.md and docs/*.md runs (synopses with placeholders such as FILE
or DIR are not examples). Monte Carlo runs are cut to a few dozen runs on one worker, into a temporary folder:
what is checked is that the command, as written, is accepted and works."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from escalsim.cli import main

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACEHOLDERS = re.compile(r"\b(FILE|DIR|FIGDIR|COMMAND|OPTION|EVENT|ADDRESS|KIND)\b|\[|\.\.\.\s|ID@DATE|path\.to")


def _examples() -> list[tuple[str, str]]:
    """(document, command) for each concrete escalsim command shown in inline code or a code block."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", text, flags=re.S)
        spans = [line.split(" #")[0] for block in blocks for line in block.splitlines()]  # a command a line
        spans += re.findall(r"`([^`]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
        for span in spans:
            for part in " ".join(span.split()).split("&&"):
                part = part.strip()
                if part.startswith("escalsim ") and not PLACEHOLDERS.search(part) and "scenarios/" in part + " " \
                        or part.startswith("escalsim ") and "results/" in part and not PLACEHOLDERS.search(part):
                    found.append((doc.name, part))
    return sorted(set(found))


EXAMPLES = _examples()


def _fitted(args: list[str], tmp: Path) -> list[str]:
    """The example's arguments with results folders moved under tmp and Monte Carlo runs cut short."""
    args = [str(tmp / a) if a.startswith("results/") else a for a in args]
    if args[0] in ("run", "compare") and "scenarios/" in " ".join(args):
        for flag in ("--runs", "--precision", "--min-runs", "--max-runs"):
            while flag in args:
                i = args.index(flag)
                del args[i:i + 2]
        args += ["--runs", "40", "--workers", "1", "--quiet"]
        if "--out" not in args:
            args += ["--out", str(tmp / "results" / f"example-{len(list(tmp.glob('results/*')))}")]
    return args


def _results_for(args: list[str]) -> None:
    """Results directories an example reads (plot, report, compare DIR_A DIR_B), made first with 40 runs."""
    dirs = [a for a in args[1:] if "/results/" in a and not a.endswith((".png", ".html", ".svg"))]
    if args[0] in ("plot", "report"):
        dirs = dirs[:1]
    elif not (args[0] == "compare" and len(dirs) == 2 and "--out" not in args):
        return
    for directory in dirs:
        result = CliRunner().invoke(main, ["run", "scenarios/dprk_russia_2024.yaml", "--runs", "40", "--workers", "1",
                                           "--quiet", "--out", directory])
        assert result.exit_code == 0, result.output


def test_the_docs_show_concrete_examples():
    commands = {cmd.split()[1] for _doc, cmd in EXAMPLES}
    assert {"run", "trace", "plot", "graph"} <= commands, EXAMPLES


@pytest.mark.parametrize(("doc", "command"), EXAMPLES, ids=[f"{d}: {c}" for d, c in EXAMPLES])
def test_example_runs(doc, command, tmp_path, monkeypatch):
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    monkeypatch.chdir(tmp_path)
    args = _fitted(shlex.split(command)[1:], tmp_path)
    _results_for(args)  # an example that reads results made by the example before it
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, f"{doc}: {command}\n{result.output}"
