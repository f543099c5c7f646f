"""Scenario loading time by file size (issue 14): the default scenario, then copies of it with its options
repeated k times (each copy renamed `<id>_k`), loaded and validated by `load_scenario`; best of 3.

    PYTHONPATH=. python benchmarks/bench_load.py 1 5 10 20 27

27 copies are 999 options, the schema's limit of 1,000. The file's size, the time and the time per KB are
printed; linear loading keeps the time per KB flat.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ruamel.yaml import YAML

from escalsim.scenario.loader import load_scenario

DEFAULT = Path(__file__).resolve().parent.parent / "scenarios" / "dprk_russia_2024.yaml"


def scaled(k: int) -> str:
    """The default scenario's text with every option present k times (copies after the first renamed)."""
    yaml = YAML(typ="rt", pure=True)
    doc = yaml.load(DEFAULT.read_text(encoding="utf-8"))
    options = doc["options"]
    originals = list(options)
    for copy in range(1, k):
        for name in originals:
            spec = yaml.load(_dump(yaml, options[name]))  # a fresh mapping: no YAML alias in the dump
            spec.pop("group", None)  # a copy is no alternative of the original's group
            options[f"{name}_copy{copy}"] = spec
    return _dump(yaml, doc)


def _dump(yaml: YAML, doc) -> str:
    from io import StringIO

    out = StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def main(factors: list[int]) -> None:
    print(f"{'copies':>6} {'options':>8} {'KB':>8} {'load s':>8} {'ms/KB':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for k in factors:
            path = Path(tmp) / f"scaled{k}.yaml"
            path.write_text(scaled(k), encoding="utf-8")
            best = float("inf")
            for _ in range(3):
                began = time.perf_counter()
                scenario = load_scenario(path)
                best = min(best, time.perf_counter() - began)
            kb = path.stat().st_size / 1000
            print(f"{k:>6} {len(scenario.options):>8} {kb:>8.0f} {best:>8.3f} {1000 * best / kb:>7.2f}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("copies", nargs="*", type=int, default=[1, 5, 10, 20, 27],
                        help="How many copies of the options each file holds (default: 1 5 10 20 27).")
    main(parser.parse_args().copies)
