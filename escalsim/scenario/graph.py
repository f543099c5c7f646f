"""The influence graph of a scenario: what each response option, treaty obligation, deployment and observation can
change, and what reads each thing, as plain nodes and edges (for `escalsim graph`, the model checks and figures).

A node is one thing of the scenario, named '<kind>:<name>' (kinds in NODE_KINDS: 'option:seoul_sends_weapons',
'variable:tech_transfer', 'track:indo_pacific', 'obligation:dprk_russia_treaty.dprk', ...). An edge goes from a
cause to what it can change, with its kind (EDGE_KINDS) and a short reason ("sets rok_lethal_aid", "reads
tech_transfer in its condition"):

- an option or an obligation -> what its effects write: variables (set, add), flags, tracks (ladder, ladder_set,
  ladder_step, step), options and obligations (enable, disable, cancel; a group's alternatives), deployments
  (scale_flow, stop_flow and the other flow effects);
- a deployment -> the variables it counts (total, stages, casualties) and its stages' events;
- a variable -> the estimates that observe it;
- a track -> its rungs (the events of being at or above them); a rung with a background hazard -> its track;
- a treaty's steps -> the treaty (in force) -> its casus foederis -> its obligations;
- whatever a condition (`when:` of an option, `casus_foederis:`) or a number written as an expression reads
  (variables, estimates, tracks, parameters, events) -> the option, casus foederis, obligation, step,
  deployment, observation, track or variable that holds it.

Nothing here runs a scenario: the graph is what the file says can happen, not what does in a run.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

from escalsim.errors import format_path
from escalsim.scenario.conditions import Expr, parse, suggest
from escalsim.scenario.parameters import is_expression, numbers_in
from escalsim.scenario.references import event_names, readable_names, rung_indices, rung_positions
from escalsim.scenario.schema import Effect, Scenario

NODE_KINDS = ("option", "obligation", "treaty", "step", "casus_foederis", "deployment", "stage", "flag",
              "parameter", "variable", "estimate", "track", "rung")
EDGE_KINDS = {
    "writes": "sets or adds to a variable, counts forces in one, or sets a flag",
    "moves": "moves a track",
    "reads": "is read by a condition or a number",
    "observes": "is observed as an estimate",
    "enables": "puts an option or obligation on the table",
    "disables": "takes an option or obligation off the table, or drops its pending decision",
    "flow": "changes a deployment",
    "event": "brings about an event (a rung reached, forces in a stage)",
    "treaty": "a treaty's steps, entry into force, casus foederis and obligations",
    "hazard": "a rung's background hazard moves its track",
}
# effects that act on a deployment: (the field of Effect, how a path says it)
_DEPLOYMENT_EFFECTS = {"scale_flow": "scales the flow of", "stop_flow": "stops the flow of",
                       "resume_flow": "resumes the flow of", "withdraw": "withdraws forces from",
                       "scale_attrition": "scales the attrition of"}


@dataclass(frozen=True)
class Node:
    """One thing of the scenario: `id` is '<kind>:<name>', `label` how the file describes it."""

    id: str
    kind: str
    name: str
    label: str


@dataclass(frozen=True)
class Edge:
    """`source` can change (or is read by) `target`: `reason` says how from the sentence's subject ("sets x",
    "reads x in its condition"), `step` how a path from a cause reads it ("sets x", "read by y (condition)")."""

    source: str
    target: str
    kind: str
    reason: str
    step: str


@dataclass
class Graph:
    """Nodes by id (in file order) and edges (cause -> effect), with the edges out of and into each node."""

    nodes: dict[str, Node]
    edges: list[Edge]
    _out: dict[str, list[Edge]] = field(init=False, repr=False, compare=False)
    _in: dict[str, list[Edge]] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self._out, self._in = defaultdict(list), defaultdict(list)
        for edge in self.edges:
            self._out[edge.source].append(edge)
            self._in[edge.target].append(edge)

    def out(self, node_id: str) -> list[Edge]:
        """The edges from a node (what it can change, or what reads it); [] for none or an unknown id."""
        return self._out.get(node_id, [])

    def into(self, node_id: str) -> list[Edge]:
        """The edges to a node (what can change it, or what it reads); [] for none or an unknown id."""
        return self._in.get(node_id, [])

    def of_kind(self, *kinds: str) -> list[Node]:
        """The nodes of these kinds, in file order."""
        return [n for n in self.nodes.values() if n.kind in kinds]


def node_id(kind: str, name: str) -> str:
    """The id of a node: node_id('option', 'x') -> 'option:x'."""
    return f"{kind}:{name}"


def parse_in(s: Scenario, text: str) -> Expr:
    """A condition or number expression of a validated scenario, parsed with the scenario's names.
    Raises ExprError if it does not parse (never, for a scenario that passed the reference checks)."""
    return parse(text, variables=readable_names(s), events=event_names(s), rungs=rung_indices(s), start=s.start)


class _Builder:
    """Collects the nodes and edges of one scenario; `events` and `readable` map names read by conditions to ids."""

    def __init__(self, s: Scenario):
        self.s = s
        self.nodes: dict[str, Node] = {}
        self.edges: dict[tuple, Edge] = {}  # keyed to drop exact repeats (two effects setting the same variable)
        self.events: dict[str, str] = {}
        self.readable: dict[str, str] = {}

    def node(self, kind: str, name: str, label: str | None, event: bool = False, readable: bool = False) -> str:
        nid = node_id(kind, name)
        self.nodes.setdefault(nid, Node(nid, kind, name, label or name))
        if event:
            self.events.setdefault(name, nid)
        if readable:
            self.readable.setdefault(name, nid)
        return nid

    def edge(self, source: str, target: str, kind: str, reason: str, step: str | None = None) -> None:
        self.edges.setdefault((source, target, kind, reason), Edge(source, target, kind, reason, step or reason))

    def name(self, nid: str) -> str:
        return self.nodes[nid].name


def influence_graph(s: Scenario) -> Graph:
    """The influence graph of a validated scenario (see the module's docstring for its nodes and edges).

    Takes a Scenario as `load_scenario` returns it; returns a Graph. Raises ExprError only for a scenario that did
    not pass the reference checks (a condition that does not parse)."""
    b = _Builder(s)
    for add in (_tracks, _named, _observations, _deployments, _treaties, _option_effects, _readers):
        add(b)
    return Graph(b.nodes, list(b.edges.values()))


def _tracks(b: _Builder) -> None:
    single = b.s.ladder is not None
    for tid, track in b.s.track_specs.items():
        t = b.node("track", tid, "Ladder" if single else getattr(track, "label", None), readable=True)
        for rung in track.rungs:
            r = b.node("rung", rung.id, rung.label, event=True)
            b.edge(t, r, "event", f"reaches {rung.id}", f"reaches rung {rung.id}")
            moves = [way for way, hazard in (("up", rung.escalate), ("down", rung.deescalate)) if hazard is not None]
            if moves:
                b.edge(r, t, "hazard", f"its background hazard moves {tid} {' or '.join(moves)}",
                       f"background hazard moves track {tid} {' or '.join(moves)}")


def _named(b: _Builder) -> None:
    """The nodes of parameters, variables, flags and options (their edges come later)."""
    for name in b.s.parameters:
        b.node("parameter", name, None, readable=True)
    for name, v in b.s.variables.items():
        b.node("variable", name, v.label, readable=True)
    for name in b.s.flags:
        b.node("flag", name, None, event=True)
    for oid, o in b.s.options.items():
        b.node("option", oid, f"{b.s.actors[o.actor].label}: {o.label}", event=True)


def _observations(b: _Builder) -> None:
    for oid, o in b.s.observations.items():
        e = b.node("estimate", oid, f"{b.s.actors[o.observer].label}'s estimate: {o.label or o.of}", readable=True)
        b.edge(node_id("variable", o.of), e, "observes", f"observed by {o.observer} as {oid}", f"observed as {oid}")


def _deployments(b: _Builder) -> None:
    for did, d in b.s.deployments.items():
        dep = b.node("deployment", did, d.label, event=True)
        b.edge(dep, node_id("variable", d.total), "writes", f"counts its forces in {d.total}")
        for stage in d.stages:
            st = b.node("stage", f"{did}.{stage.name}", f"{d.label or did}: {stage.name}", event=True)
            b.edge(dep, st, "event", f"its forces reach stage {stage.name}", f"forces reach {did}.{stage.name}")
            if stage.variable is not None:
                b.edge(dep, node_id("variable", stage.variable), "writes",
                       f"counts forces in stage {stage.name} in {stage.variable}")
        if d.attrition is not None:
            b.edge(dep, node_id("variable", d.attrition.variable), "writes",
                   f"counts casualties in {d.attrition.variable}")


def _treaties(b: _Builder) -> None:
    for tid, t in b.s.treaties.items():
        treaty = b.node("treaty", tid, t.label, event=True)
        casus = b.node("casus_foederis", f"{tid}.casus_foederis", f"casus foederis of {t.label}", event=True)
        ids = [st.id for st in t.steps]
        for i, st in enumerate(t.steps):
            step = b.node("step", f"{tid}.{st.id}", st.label, event=True)
            prior = st.after if st.after is not None else ([ids[i - 1]] if i and st.date is None else [])
            for p in prior:
                b.edge(node_id("step", f"{tid}.{p}"), step, "treaty", f"comes before {st.id}",
                       f"then step {tid}.{st.id}")
            b.edge(step, treaty, "treaty", f"brings {tid} into force (with the other steps)",
                   f"brings treaty {tid} into force")
        b.edge(treaty, casus, "treaty", "in force, its casus foederis may be called",
               "in force, its casus foederis may be called")
        for ob in t.obligations:
            ob_id = b.node("obligation", f"{tid}.{ob.party}", f"{b.s.actors[ob.party].label}: {ob.label}",
                           event=True)
            b.edge(casus, ob_id, "treaty", f"calls on {ob.party}", f"calls on {tid}.{ob.party}")


def _option_effects(b: _Builder) -> None:
    groups: dict[str, list[str]] = defaultdict(list)
    for oid, o in b.s.options.items():
        _effects(b, node_id("option", oid), o.effects)
        if o.group is not None:
            groups[o.group].append(oid)
    for group, members in groups.items():
        for oid in members:
            for other in members:
                if other != oid:
                    b.edge(node_id("option", oid), node_id("option", other), "disables",
                           f"ends its alternative {other} (group {group})", f"ends alternative {other}")
    for tid, t in b.s.treaties.items():
        for ob in t.obligations:
            _effects(b, node_id("obligation", f"{tid}.{ob.party}"), ob.effects)


def _target(b: _Builder, name: str) -> str:
    """The node an enable/disable/cancel names: an option, or an obligation written treaty.party."""
    return node_id("option" if name in b.s.options else "obligation", name)


def _effects(b: _Builder, owner: str, effects: list[Effect]) -> None:
    for e in effects:
        _effect(b, owner, e)


def _effect(b: _Builder, owner: str, e: Effect) -> None:
    """The edges of one effect (exactly one of its fields is given)."""
    for var in e.set or {}:
        b.edge(owner, node_id("variable", var), "writes", f"sets {var}")
    for var in e.add or {}:
        b.edge(owner, node_id("variable", var), "writes", f"adds to {var}")
    if e.flag is not None:
        b.edge(owner, node_id("flag", e.flag), "writes", f"flags {e.flag}")
    _moves(b, owner, e)
    for key, verb, kind in (("enable", "enables", "enables"), ("disable", "disables", "disables"),
                            ("cancel", "drops a pending decision of", "disables")):
        for name in getattr(e, key, None) or []:
            b.edge(owner, _target(b, name), kind, f"{verb} {name}")
    for key, verb in _DEPLOYMENT_EFFECTS.items():
        value = getattr(e, key, None)
        if value is not None:
            did = value if isinstance(value, str) else value.deployment
            b.edge(owner, node_id("deployment", did), "flow", f"{verb} {did}")


def _moves(b: _Builder, owner: str, e: Effect) -> None:
    """The edge of an effect that moves a track, if it is one ('{}' in a template stands for the track)."""
    positions = rung_positions(b.s)
    moves = []
    if e.ladder is not None:
        moves.append((positions[e.ladder][0], "raises {} to " + e.ladder))
    if e.ladder_set is not None:
        moves.append((positions[e.ladder_set][0], "puts {} on " + e.ladder_set))
    if e.ladder_step is not None:
        moves.append((next(iter(b.s.track_specs)), f"moves {{}} by {e.ladder_step:+d}"))
    if e.step is not None:
        moves.append((e.step.track, f"moves {{}} by {e.step.by:+d}"))
    for track, template in moves:
        b.edge(owner, node_id("track", track), "moves", template.format(track), template.format("track " + track))


def _readers(b: _Builder) -> None:
    """Edges from what each condition and number expression reads to what holds it."""
    for oid, o in b.s.options.items():
        _reads(b, parse_in(b.s, o.when), node_id("option", oid), "condition")
    for tid, t in b.s.treaties.items():
        _reads(b, parse_in(b.s, t.casus_foederis), node_id("casus_foederis", f"{tid}.casus_foederis"),
               "casus foederis")
    for path, value in numbers_in(b.s):
        if is_expression(value):
            holder, where = holder_of(b.s, path)
            if holder is not None:
                _reads(b, parse_in(b.s, value), holder, where)


def _reads(b: _Builder, expr: Expr, reader: str, where: str) -> None:
    for name in sorted(expr.variables):
        b.edge(b.readable[name], reader, "reads", f"reads {name} in its {where}",
               f"read by {b.name(reader)} ({where})")
    for name in sorted(expr.events):
        b.edge(b.events[name], reader, "reads", f"reads the event {name} in its {where}",
               f"its event read by {b.name(reader)} ({where})")


def holder_of(s: Scenario, path: tuple) -> tuple[str | None, str]:
    """The node that holds the number at `path` (a path of `numbers_in`) and where in it the number is written:
    ('option:x', 'probability'), ('obligation:t.p', 'compliance'), ('track:level', 'rungs[1].escalate.per_year').
    (None, '') for a number no node holds (a parameter's value). Raises KeyError or IndexError for a path that is
    not in the scenario."""
    section, name, rest = path[0], path[1] if len(path) > 1 else None, path[2:]
    if section == "treaties" and rest and rest[0] in ("obligations", "steps") and len(rest) > 1:
        t = s.treaties[name]
        item = t.obligations[rest[1]] if rest[0] == "obligations" else t.steps[rest[1]]
        kind, own = ("obligation", item.party) if rest[0] == "obligations" else ("step", item.id)
        return node_id(kind, f"{name}.{own}"), format_path(rest[2:]) or rest[0]
    kinds = {"options": "option", "treaties": "treaty", "deployments": "deployment", "observations": "estimate",
             "variables": "variable", "tracks": "track"}
    if section == "ladder":
        return node_id("track", "level"), format_path(path[1:])
    if section in kinds and name is not None:
        return node_id(kinds[section], name), format_path(rest) or section
    return None, ""


# --- reach ------------------------------------------------------------------------------------------------------
Path = tuple[Edge, ...]


@dataclass(frozen=True)
class Reach:
    """What a cause can reach, each with one shortest path (its edges, from the cause): tracks, variables and
    options by name."""

    start: str
    tracks: dict[str, Path]
    variables: dict[str, Path]
    options: dict[str, Path]


def reachable(graph: Graph, start: str) -> dict[str, Path]:
    """Every node reachable from node `start` along edges, each with one shortest path (the edges from `start`),
    in breadth-first order; `start` itself only if a cycle leads back to it. Raises KeyError for an unknown id."""
    if start not in graph.nodes:
        raise KeyError(f"unknown node '{start}'")
    paths: dict[str, Path] = {}
    queue = deque([(start, ())])
    while queue:
        here, path = queue.popleft()
        for edge in graph.out(here):
            if edge.target not in paths:
                paths[edge.target] = path + (edge,)
                queue.append((edge.target, path + (edge,)))
    return paths


def find_cause(graph: Graph, name: str) -> Node:
    """The option or obligation (treaty.party) called `name`, or the node whose id is `name`.
    Raises KeyError with a suggestion for an unknown name."""
    for nid in (node_id("option", name), node_id("obligation", name), name):
        if nid in graph.nodes:
            return graph.nodes[nid]
    known = [n.name for n in graph.of_kind("option", "obligation")]
    hint = suggest(name, known)
    raise KeyError(f"unknown option '{name}'" + (f" (did you mean '{hint}'?)" if hint else "")
                   + ("; options: " + ", ".join(known) if known else "; the scenario has no options"))


def reach_of(graph: Graph, option: str) -> Reach:
    """The tracks, variables and options an option (or an obligation, treaty.party, or any node by id) can reach,
    each with one shortest path. Raises KeyError with a suggestion for an unknown name."""
    start = find_cause(graph, option)
    found = reachable(graph, start.id)
    by_kind: dict[str, dict[str, Path]] = {"track": {}, "variable": {}, "option": {}}
    for nid, path in found.items():
        node = graph.nodes[nid]
        if node.kind in by_kind and nid != start.id:
            by_kind[node.kind][node.name] = path
    return Reach(start.id, by_kind["track"], by_kind["variable"], by_kind["option"])


def path_text(graph: Graph, start: str, path: Path) -> str:
    """A path (edges from node `start`) as one line: 'seoul_sends_weapons -> sets rok_lethal_aid -> read by x
    (condition) -> ...'. Raises KeyError if `start` is not a node of the graph."""
    return " -> ".join([graph.nodes[start].name] + [edge.step for edge in path])


def subgraph(graph: Graph, start: str) -> Graph:
    """The part of the graph reachable from node `start` (itself included), with the edges among those nodes.
    Raises KeyError for an unknown id."""
    keep = {start} | set(reachable(graph, start))
    return Graph({nid: n for nid, n in graph.nodes.items() if nid in keep},
                 [e for e in graph.edges if e.source in keep and e.target in keep])
