"""Small scenarios built in code (JSON is YAML 1.2) for tests whose answers are known by hand."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

from escalsim.engine.core import compile_model, simulate
from escalsim.scenario.loader import load_scenario

BASE = {
    "name": "test_world",
    "start": "2025-01-01",
    "horizon_days": 100,
    "ladder": {"start": "low", "rungs": [{"id": "low"}, {"id": "mid"}, {"id": "high"}]},
    "actors": {"a": {"label": "A"}, "b": {"label": "B"}},
    "variables": {"x": {"initial": 0}},
}


class DROP:
    """As a value in `extra`: remove the key from the base (a class, so that deepcopy keeps it the same)."""

TRACKS = {  # two tracks in place of BASE's ladder
    "ladder": DROP,
    "tracks": {
        "wide": {"label": "Widening", "kind": "horizontal", "start": "w0",
                 "rungs": [{"id": "w0"}, {"id": "w1"}, {"id": "w2"}, {"id": "w3"}]},
        "means": {"label": "Means", "kind": "vertical", "start": "m0", "rungs": [{"id": "m0"}, {"id": "m1"}]},
    },
}


def merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if value is DROP:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def write(tmp_path: Path, extra: dict, name: str = "world.yaml") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(merge(BASE, extra), indent=1), encoding="utf-8")
    return path


def model_of(tmp_path: Path, extra: dict):
    return compile_model(load_scenario(write(tmp_path, extra)))


def runs(model, n: int, seed: int = 12345, **kw):
    return [simulate(model, seed, i, **kw) for i in range(n)]


def tolerance(p: float, n: int, z: float = 4.0) -> float:
    """z standard errors of a proportion estimated from n runs."""
    return z * math.sqrt(p * (1 - p) / n)
