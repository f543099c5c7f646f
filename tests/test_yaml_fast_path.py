"""The one-parse reader of scenario files (libyaml's events, checked as they come) reads every file it accepts
exactly as ruamel's YAML 1.2 round-trip loader does: the same data, the same positions; what it declines goes
ruamel's way, errors included."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import minimal_with_junk, mutated_minimal, yaml_like_text

from escalsim.errors import ScenarioError
from escalsim.scenario import source

ROOT = Path(__file__).parent.parent
FILES = sorted(ROOT.glob("scenarios/**/*.yaml"))
pytestmark = pytest.mark.skipif(source._LibyamlParser is None, reason="no ruamel.yaml.clib (libyaml): no fast path")


def ruamel_way(text: str, name: str = "t.yaml"):
    """What load_yaml gives without the fast path: a Source, or the ScenarioError."""
    saved, source._LibyamlParser = source._LibyamlParser, None
    try:
        return source.load_yaml(Path(name), text)
    except ScenarioError as exc:
        return exc
    finally:
        source._LibyamlParser = saved


def same(fast, slow) -> None:
    assert isinstance(slow, source.Source), slow
    assert repr(fast.data) == repr(slow.data)  # repr: types too, and NaN equal to NaN
    assert fast.values == slow.values and fast.keys == slow.keys


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_scenario_files_take_the_fast_path_and_read_the_same(path):
    text = source.read_text(path)
    fast = source._fast_source(text, str(path))
    assert fast is not None
    same(fast, ruamel_way(text, str(path)))


SCALARS = ["1_000", "0x1F", "0o17", "017", "0b101", "+5", "-0", "1e3", ".5", "1.", "1_0.5", "1.0e+3", "-.inf",
           ".NaN", ".inf", "True", "FALSE", "true", "~", "null", "", "2024-02-29", "3,650", "yes", "on", "1:20",
           "a: b", "'quoted'", '"2024-01-01"', "0.1", "-1.5e-3", "12345678901234567890", "|\n  block\n  text"]


@pytest.mark.parametrize("scalar", SCALARS)
def test_plain_scalars_are_read_as_ruamel_reads_them(scalar):
    text = f"key: {scalar}\nlist:\n  - {scalar}\n  - [{scalar if ':' not in scalar else 1}, x]\n"
    fast = source._fast_source(text, "t.yaml")
    slow = ruamel_way(text)
    if fast is None:
        return
    same(fast, slow)


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n",                        # anchors and aliases
    "a: {k: 1}\nb: {<<: {k: 2}, j: 3}\n",     # merge keys
    "a: !!str 1\n",                            # tags
    "%YAML 1.2\n---\na: 1\n",                  # directives
    "a: 1\na: 2\n",                            # duplicate keys: ruamel's message
    "1: x\n",                                  # a key that is no name
    "a: x\u2028y\n",                           # a line break in YAML 1.1 only
    "a: 2024-01-01 10:00:00\n",                # a timestamp with a time of day
    "a: [1, 2\n",                              # a syntax error: ruamel's message and position
    "a: |\n  \n    x\nb: 1\n",                   # a block scalar's blank first line: ruamel refuses, libyaml reads
])
def test_what_the_fast_path_does_not_read_exactly_goes_ruamels_way(text):
    assert source._fast_source(text, "t.yaml") is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=yaml_like_text | minimal_with_junk() | mutated_minimal().map(lambda m: m[0]))
def test_any_text_the_fast_path_accepts_reads_as_ruamel_reads_it(text):
    fast = source._fast_source(text, "t.yaml")
    if fast is not None:
        same(fast, ruamel_way(text))
