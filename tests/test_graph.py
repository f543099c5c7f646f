"""The influence graph (scenario.graph), its reach and paths, the `escalsim graph` command and its figure, on small
worlds whose edges are known by hand, and on the default scenario."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner
from worlds import TRACKS, merge, write

from escalsim.cli.graph_cmd import EXAMPLE, graph
from escalsim.outputs.graph_figure import fold, influence_figure
from escalsim.scenario.graph import (
    EDGE_KINDS,
    NODE_KINDS,
    influence_graph,
    path_text,
    reach_of,
    reachable,
    subgraph,
)
from escalsim.scenario.lint import reaches_something
from escalsim.scenario.loader import load_scenario

ROOT = Path(__file__).parent.parent
DEFAULT = ROOT / "scenarios" / "dprk_russia_2024.yaml"

# one of each: an observation, a deployment with stages and attrition, a flag, options that set, add, move the
# ladder, flag, scale a flow and enable another, a disabled option, and a treaty with two steps and an obligation
WORLD = {
    "variables": {"y": {"initial": 0, "key": True}, "z": {"initial": 0}, "troops": {"initial": 0},
                  "front": {"initial": 0}, "losses": {"initial": 0}},
    "observations": {"est_x": {"observer": "b", "of": "x"}},
    "flags": ["f"],
    "deployments": {"d": {"from": "a", "to": "b", "total": "troops", "flow": {"batch_size": 10, "interval_days": 5},
                          "stages": [{"name": "train", "days": 5}, {"name": "front", "variable": "front"}],
                          "attrition": {"rate_per_day": 0.01, "variable": "losses"}}},
    "options": {
        "go": {"actor": "a", "label": "go", "when": "est_x >= 1", "probability": 1,
               "effects": [{"set": {"y": 1}}, {"ladder": "mid"}, {"flag": "f"}]},
        "push": {"actor": "a", "label": "push", "when": "happened('f')", "probability": 1,
                 "effects": [{"add": {"x": 1}}, {"scale_flow": {"deployment": "d", "factor": 2}}]},
        "hidden": {"actor": "b", "label": "hidden", "when": "y >= 1", "probability": 1, "enabled": False,
                   "effects": [{"ladder_step": 1}]},
        "opener": {"actor": "b", "label": "opener", "when": "losses >= 5", "probability": 1,
                   "effects": [{"enable": ["hidden"]}]},
    },
    "treaties": {"t": {"label": "T", "parties": ["a", "b"], "casus_foederis": "level >= rung('mid')",
                       "steps": [{"id": "signed", "date": "2024-12-01"}, {"id": "ratified", "delay_days": 5}],
                       "obligations": [{"party": "b", "label": "help", "compliance": 1,
                                        "effects": [{"add": {"z": 1}}]}]}},
}


def scenario_of(tmp_path, extra):
    return load_scenario(write(tmp_path, extra))


def edges(g) -> set[tuple]:
    return {(e.source, e.target, e.kind, e.reason) for e in g.edges}


def test_the_edges_of_a_small_world_are_exactly_these(tmp_path):
    g = influence_graph(scenario_of(tmp_path, WORLD))
    assert edges(g) == {
        ("track:level", "rung:low", "event", "reaches low"),
        ("track:level", "rung:mid", "event", "reaches mid"),
        ("track:level", "rung:high", "event", "reaches high"),
        ("variable:x", "estimate:est_x", "observes", "observed by b as est_x"),
        ("deployment:d", "variable:troops", "writes", "counts its forces in troops"),
        ("deployment:d", "stage:d.train", "event", "its forces reach stage train"),
        ("deployment:d", "stage:d.front", "event", "its forces reach stage front"),
        ("deployment:d", "variable:front", "writes", "counts forces in stage front in front"),
        ("deployment:d", "variable:losses", "writes", "counts casualties in losses"),
        ("step:t.signed", "step:t.ratified", "treaty", "comes before ratified"),
        ("step:t.signed", "treaty:t", "treaty", "brings t into force (with the other steps)"),
        ("step:t.ratified", "treaty:t", "treaty", "brings t into force (with the other steps)"),
        ("treaty:t", "casus_foederis:t.casus_foederis", "treaty", "in force, its casus foederis may be called"),
        ("casus_foederis:t.casus_foederis", "obligation:t.b", "treaty", "calls on b"),
        ("option:go", "variable:y", "writes", "sets y"),
        ("option:go", "track:level", "moves", "raises level to mid"),
        ("option:go", "flag:f", "writes", "flags f"),
        ("option:push", "variable:x", "writes", "adds to x"),
        ("option:push", "deployment:d", "flow", "scales the flow of d"),
        ("option:hidden", "track:level", "moves", "moves level by +1"),
        ("option:opener", "option:hidden", "enables", "enables hidden"),
        ("obligation:t.b", "variable:z", "writes", "adds to z"),
        ("estimate:est_x", "option:go", "reads", "reads est_x in its condition"),
        ("flag:f", "option:push", "reads", "reads the event f in its condition"),
        ("variable:y", "option:hidden", "reads", "reads y in its condition"),
        ("variable:losses", "option:opener", "reads", "reads losses in its condition"),
        ("track:level", "casus_foederis:t.casus_foederis", "reads", "reads level in its casus foederis"),
    }
    assert {n.kind for n in g.nodes.values()} <= set(NODE_KINDS)
    assert {e.kind for e in g.edges} <= set(EDGE_KINDS)
    assert g.nodes["option:go"].label == "A: go" and g.nodes["track:level"].label == "Ladder"


def test_tracks_hazards_groups_parameters_and_number_expressions(tmp_path):
    extra = merge(TRACKS, {
        "tracks": {"wide": {"rungs": [{"id": "w0"}, {"id": "w1", "escalate": {"per_year": 1}}, {"id": "w2"},
                                      {"id": "w3", "deescalate": {"per_year": 1}}]}},
        "parameters": {"resolve": 0.5},
        "options": {
            "hit": {"actor": "a", "label": "hit", "group": "g", "when": "wide >= rung('w1')",
                    "probability": "resolve * x", "effects": [{"step": {"track": "means", "by": 1}}]},
            "talk": {"actor": "a", "label": "talk", "group": "g", "when": "happened('m1')", "probability": 1,
                     "effects": [{"ladder_set": "w0"}, {"disable": ["hit"]}]}}})
    g = influence_graph(scenario_of(tmp_path, extra))
    assert {("rung:w1", "track:wide", "hazard", "its background hazard moves wide up"),
            ("rung:w3", "track:wide", "hazard", "its background hazard moves wide down"),
            ("option:hit", "track:means", "moves", "moves means by +1"),
            ("option:talk", "track:wide", "moves", "puts wide on w0"),
            ("option:talk", "option:hit", "disables", "disables hit"),
            ("option:hit", "option:talk", "disables", "ends its alternative talk (group g)"),
            ("option:talk", "option:hit", "disables", "ends its alternative hit (group g)"),
            ("track:wide", "option:hit", "reads", "reads wide in its condition"),
            ("parameter:resolve", "option:hit", "reads", "reads resolve in its probability"),
            ("variable:x", "option:hit", "reads", "reads x in its probability"),
            ("rung:m1", "option:talk", "reads", "reads the event m1 in its condition")} <= edges(g)
    assert not [e for e in g.edges if e.target == "option:hit" and e.source == "rung:w1"]  # rung() is a number


def test_the_deployment_effects_and_enabling_an_obligation(tmp_path):
    effects = [{"stop_flow": "d"}, {"resume_flow": "d"}, {"withdraw": {"deployment": "d", "share": 0.5}},
               {"scale_attrition": {"deployment": "d", "factor": 0}}, {"cancel": ["go"]}, {"disable": ["t.b"]},
               {"enable": ["t.b"]}]
    g = influence_graph(scenario_of(tmp_path, merge(WORLD, {"options": {"truce": {
        "actor": "b", "label": "truce", "when": "x >= 3", "probability": 1, "effects": effects}}})))
    assert {e for e in edges(g) if e[0] == "option:truce"} == {
        ("option:truce", "deployment:d", "flow", "stops the flow of d"),
        ("option:truce", "deployment:d", "flow", "resumes the flow of d"),
        ("option:truce", "deployment:d", "flow", "withdraws forces from d"),
        ("option:truce", "deployment:d", "flow", "scales the attrition of d"),
        ("option:truce", "option:go", "disables", "drops a pending decision of go"),
        ("option:truce", "obligation:t.b", "disables", "disables t.b"),
        ("option:truce", "obligation:t.b", "enables", "enables t.b")}


def test_reach_and_its_paths(tmp_path):
    g = influence_graph(scenario_of(tmp_path, WORLD))
    reach = reach_of(g, "go")
    assert set(reach.tracks) == {"level"} and path_text(g, "option:go", reach.tracks["level"]) == \
        "go -> raises track level to mid"
    assert set(reach.variables) == {"y", "x", "troops", "front", "losses", "z"}
    assert path_text(g, "option:go", reach.variables["x"]) == \
        "go -> flags f -> its event read by push (condition) -> adds to x"
    assert path_text(g, "option:go", reach.variables["z"]) == ("go -> raises track level to mid -> read by "
                                                                "t.casus_foederis (casus foederis) -> calls on t.b "
                                                                "-> adds to z")
    assert set(reach.options) == {"hidden", "push", "opener"}
    assert reach_of(g, "t.b").variables == {"z": reach_of(g, "t.b").variables["z"]}  # an obligation reaches z only
    assert not reach_of(g, "t.b").tracks
    assert "option:go" not in reachable(g, "variable:z") and reachable(g, "variable:z") == {}


def test_unknown_names_are_refused_with_a_suggestion(tmp_path):
    g = influence_graph(scenario_of(tmp_path, WORLD))
    with pytest.raises(KeyError, match="did you mean 'push'"):
        reach_of(g, "pushh")
    with pytest.raises(KeyError, match="unknown node"):
        reachable(g, "option:nope")


def test_subgraph_and_the_figure_fold(tmp_path):
    g = influence_graph(scenario_of(tmp_path, WORLD))
    part = subgraph(g, "option:opener")
    assert set(part.nodes) == {"option:opener", "option:hidden", "track:level", "rung:low", "rung:mid", "rung:high",
                               "casus_foederis:t.casus_foederis", "obligation:t.b", "variable:z"}
    nodes, folded = fold(g.nodes.values(), g.edges)
    assert not {"rung", "stage", "step", "casus_foederis"} & {n.kind for n in nodes.values()}
    assert ("track:level", "treaty:t", "reads") in {(e.source, e.target, e.kind) for e in folded}
    assert all(e.source in nodes and e.target in nodes and e.source != e.target for e in folded)


def test_the_figure_draws_every_node(tmp_path):
    g = influence_graph(scenario_of(tmp_path, WORLD))
    ax = influence_figure(g.nodes.values(), g.edges, title="t", folded=False)
    names = {t.get_text() for t in ax.texts}
    assert {n.name for n in g.nodes.values()} <= names
    assert len(ax.patches) == len(g.edges)


@pytest.fixture
def cli():
    def invoke(*args):
        return CliRunner().invoke(graph, [str(a) for a in args], catch_exceptions=False)

    return invoke


def test_graph_text_from_one_option(cli, tmp_path):
    result = cli(write(tmp_path, WORLD), "--from", "push")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:3] == [
        "push (A: push)",
        "  track level: push -> adds to x -> observed as est_x -> read by go (condition) -> raises track level to mid",
        "  variable x: push -> adds to x",
    ]


def test_graph_text_of_every_option_and_obligation(cli, tmp_path):
    lines = cli(write(tmp_path, WORLD)).output.splitlines()
    assert [line for line in lines if not line.startswith(" ")] == [
        "go (A: go)", "push (A: push)", "hidden (B: hidden)", "opener (B: opener)", "t.b (B: help)"]
    assert lines[lines.index("t.b (B: help)") + 1] == "  reaches no track"


def test_graph_dot(cli, tmp_path):
    result = cli(write(tmp_path, WORLD), "--format", "dot")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == 'digraph "test_world" {' and lines[-1] == "}"
    assert any(line.startswith('  "option:go" -> "variable:y" [label="sets y"') for line in lines)


@pytest.mark.parametrize("suffix, magic", [("png", b"\x89PNG"), ("svg", b"<?xml")])
def test_graph_figure_is_written(cli, tmp_path, suffix, magic):
    out = tmp_path / f"graph.{suffix}"
    result = cli(write(tmp_path, WORLD), "--out", out)
    assert result.exit_code == 0, result.output
    assert f"figure: {out}" in result.output
    assert out.stat().st_size > 1000 and out.read_bytes().startswith(magic)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_graph_bad_usage(cli, tmp_path):
    path = write(tmp_path, WORLD)
    result = cli(path, "--from", "pushh")
    assert result.exit_code == 2 and "did you mean 'push'" in result.output
    result = cli(path, "--out", tmp_path / "graph.pdf")
    assert result.exit_code == 2 and ".png or .svg" in result.output
    assert cli(tmp_path / "nope.yaml").exit_code == 1


def test_help_has_an_example_that_runs(cli, monkeypatch):
    monkeypatch.chdir(ROOT)  # the example names the scenario from the repository's root
    help_text = cli("--help").output
    assert EXAMPLE in help_text
    args = shlex.split(EXAMPLE)[2:]  # after 'escalsim graph'
    result = CliRunner().invoke(graph, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("seoul_sends_weapons (")


def test_every_option_of_the_default_scenario_reaches_a_track_or_a_read_variable():
    s = load_scenario(DEFAULT)
    g = influence_graph(s)
    failing = []
    for oid in s.options:
        reach = reach_of(g, oid)
        read = [v for v in reach.variables if any(e.kind in ("reads", "observes") for e in g.out(f"variable:{v}"))]
        if not reach.tracks and not read:
            failing.append(f"{oid}: reaches {sorted(reach.variables) or 'no variable'}, no track")
    print("\n".join(failing) or "every option reaches a track or a read variable")
    assert not failing
    assert all(reaches_something(s, g, f"option:{oid}") for oid in s.options)
