"""Model checks of a valid scenario: warnings about what is probably a mistake though the file runs, and, for
`validate --strict`, the numbers written without a source.

Warnings (`warnings`), each a (path in the file, message) pair like the reference problems, so that `locate` (or
the loader) can turn it into FILE:LINE:COLUMN:
- a variable nothing reads: no condition or number expression reads it, no observation watches it, and it is not
  `key: true`;
- an option (or treaty obligation) whose effects reach no track and nothing read (no condition or number reads
  anything it changes, directly or through others, no key variable, and no condition reads whether it fired);
- an option that can never fire: disabled and enabled by no effect, a probability or hazard that is always 0, or
  a condition that is false at the start and reads only what nothing can change;
- an obligation that can never be honoured: compliance always 0, disabled and enabled by nothing, or its treaty
  never in force (a step with probability 0 or dated after the end) or its casus foederis never true (as above).
The checks are conservative: they warn only when the scenario's text makes it certain.

Strict problems (`strict_problems`): every number a file writes (a default left unwritten is not checked) needs a
source. A distribution's own `source:` counts; otherwise the `source:` of the nearest object around the number
that can carry one: a hazard, a rung, a track, a variable, a batch, a flow's target, an attrition, a deployment,
an observation, an option, a treaty step, an obligation or a treaty (an effect, a flow or a stage carries none,
so their numbers fall to the option, obligation or deployment around them). The scenario's own `source:` covers
no single number, so a parameter's plain value needs `{dist: fixed, value: ..., source: ...}`. An expression that
is just a parameter's name is sourced by that parameter. A YAML comment is not a source.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from escalsim.errors import Problem, format_path
from escalsim.scenario.conditions import Expr
from escalsim.scenario.graph import Graph, influence_graph, node_id, parse_in, reachable
from escalsim.scenario.parameters import is_expression, numbers_in, support
from escalsim.scenario.references import KEY
from escalsim.scenario.schema import Hazard, Scenario

Found = Iterator[tuple[tuple, str]]
HOLDERS = {"Hazard": "hazard", "Rung": "rung", "Track": "track", "Variable": "variable", "Batch": "batch",
           "Target": "target", "Attrition": "attrition", "Deployment": "deployment", "Observation": "observation",
           "ResponseOption": "option", "TreatyStep": "treaty step", "Obligation": "obligation", "Treaty": "treaty"}


def warnings(s: Scenario) -> list[tuple[tuple, str]]:
    """The model warnings of a valid scenario, as (path in the file, message) pairs; [] if none.

    Takes a Scenario as `load_scenario` returns it. A path ending in references.KEY points at the name (the
    mapping key) rather than the value. Raises nothing for a scenario that passed the reference checks."""
    graph = influence_graph(s)
    state = StartState(s, graph)
    return [*_unread_variables(s, graph), *_idle(s, graph), *_options_never_fire(s, graph, state),
            *_obligations_never_honoured(s, graph, state)]


def _unread_variables(s: Scenario, graph: Graph) -> Found:
    for name, v in s.variables.items():
        if v.key or any(e.kind in ("reads", "observes") for e in graph.out(node_id("variable", name))):
            continue
        yield ("variables", name, KEY), (f"variable '{name}' is never read: no condition or number reads it, no "
                                         "observation watches it and it is not key: true; read it, mark it key: "
                                         "true to show it in run summaries, or remove it")


def matters(s: Scenario, graph: Graph, nid: str) -> bool:
    """Whether a node counts as an outcome: a track, a key variable, or anything a condition or number reads."""
    node = graph.nodes[nid]
    if node.kind == "track" or (node.kind == "variable" and s.variables[node.name].key):
        return True
    return any(e.kind == "reads" for e in graph.out(nid))


def reaches_something(s: Scenario, graph: Graph, nid: str) -> bool:
    """Whether a cause (an option, an obligation) is read itself or reaches a track or anything read."""
    return matters(s, graph, nid) or any(matters(s, graph, other) for other in reachable(graph, nid))


def _idle(s: Scenario, graph: Graph) -> Found:
    tail = ("reach no track and nothing that a condition or number reads (nor a key variable), and no condition "
            "reads whether it {did}; give it an effect that matters, or remove it")
    for oid in s.options:
        nid = node_id("option", oid)
        if not reaches_something(s, graph, nid):
            yield ("options", oid, KEY), f"option '{oid}' {_changes(graph, nid)}: its effects " + tail.format(
                did="fired")
    for tid, t in s.treaties.items():
        for i, ob in enumerate(t.obligations):
            nid = node_id("obligation", f"{tid}.{ob.party}")
            if not reaches_something(s, graph, nid):
                yield ("treaties", tid, "obligations", i), (f"the obligation of {ob.party} {_changes(graph, nid)}: "
                                                            "its effects " + tail.format(did="was honoured"))


def _changes(graph: Graph, nid: str) -> str:
    """What a cause's effects do, e.g. 'sets x, adds to y', or 'has no effects'."""
    done = [e.reason for e in graph.out(nid) if e.kind not in ("reads", "treaty")]
    return ", ".join(done) if done else "has no effects"


def always_zero(value) -> bool:
    """Whether a number of the scenario is 0 whatever is drawn (an expression is never known to be)."""
    return not is_expression(value) and support(value) == (0.0, 0.0)


def _zero_hazard(hazard: Hazard) -> bool:
    rate = next(getattr(hazard, k) for k in ("per_day", "per_month", "per_year", "probability")
                if getattr(hazard, k) is not None)
    return always_zero(rate)


def _enabled_by_something(graph: Graph, nid: str) -> bool:
    return any(e.kind == "enables" for e in graph.into(nid))


def _options_never_fire(s: Scenario, graph: Graph, state: StartState) -> Found:
    never = "can never fire (only an injection can fire it)"
    for oid, o in s.options.items():
        base = ("options", oid)
        if not o.enabled and not _enabled_by_something(graph, node_id("option", oid)):
            yield base + ("enabled",), (f"option '{oid}' is disabled (enabled: false) and no effect enables it: "
                                        f"it {never}")
        elif o.probability is not None and always_zero(o.probability):
            yield base + ("probability",), f"option '{oid}' has probability 0: it {never}"
        elif o.hazard is not None and _zero_hazard(o.hazard):
            yield base + ("hazard",), f"option '{oid}' has a hazard of 0: it {never}"
        else:
            why = state.never_true(parse_in(s, o.when))
            if why:
                yield base + ("when",), f"option '{oid}' {never}: its condition {why}"


def _obligations_never_honoured(s: Scenario, graph: Graph, state: StartState) -> Found:
    for tid, t in s.treaties.items():
        base = ("treaties", tid)
        blocked = list(_treaty_blocked(s, tid, state))
        yield from blocked
        if blocked:
            continue
        for i, ob in enumerate(t.obligations):
            here, name = base + ("obligations", i), f"the obligation of {ob.party}"
            if always_zero(ob.compliance):
                yield here + ("compliance",), f"{name} has compliance 0: it can never be honoured"
            elif getattr(ob, "enabled", True) is False and not _enabled_by_something(
                    graph, node_id("obligation", f"{tid}.{ob.party}")):
                yield here + ("enabled",), f"{name} is disabled and no effect enables it: it can never be honoured"


def _treaty_blocked(s: Scenario, tid: str, state: StartState) -> Found:
    """Why a treaty's obligations can never be called: the first reason found, if any."""
    t, base = s.treaties[tid], ("treaties", tid)
    none = "so none of its obligations can ever be honoured" if t.obligations else "(it has no obligations)"
    for i, step in enumerate(t.steps):
        if step.date is not None and s.day_of(step.date) >= s.horizon:
            yield base + ("steps", i, "date"), (f"step '{step.id}' is dated after the last day simulated: treaty "
                                                f"'{tid}' never comes into force, {none}")
            return
        if step.date is None and always_zero(step.probability):
            yield base + ("steps", i, "probability"), (f"step '{step.id}' has probability 0: treaty '{tid}' never "
                                                       f"comes into force, {none}")
            return
    why = state.never_true(parse_in(s, t.casus_foederis))
    if why:
        yield base + ("casus_foederis",), f"the casus foederis of '{tid}' {why}: it is never called, {none}"


class StartState:
    """What nothing in a scenario can change, with its value at the start: variables, estimates, tracks and
    parameters that are plain numbers nothing writes, events that never happen (a flag nothing sets, a rung above
    the start of a track nothing moves) or happened at the start and stay (the rungs up to such a track's start)."""

    def __init__(self, s: Scenario, graph: Graph):
        self.values: dict[str, float] = {}
        self.times: dict[str, float] = {}
        self.never: set[str] = set()
        for name, v in s.variables.items():
            if not _written_by(graph, node_id("variable", name)) and _plain(v.initial):
                self.values[name] = float(v.initial)
        for name, value in s.parameters.items():
            if _plain(value):
                self.values[name] = float(value)
        for oid, o in s.observations.items():
            start = self.values.get(o.of) if o.initial is None else (o.initial if _plain(o.initial) else None)
            if o.of in self.values and start is not None:
                self.values[oid] = float(start) if o.round_to is None else round(start / o.round_to) * o.round_to
        for name in s.flags:
            if not _written_by(graph, node_id("flag", name)):
                self.never.add(name)
        for tid, track in s.track_specs.items():
            if not any(e.kind in ("moves", "hazard") for e in graph.into(node_id("track", tid))):
                start = [r.id for r in track.rungs].index(track.start)
                self.values[tid] = float(start)
                for i, rung in enumerate(track.rungs):
                    if i <= start:
                        self.times[rung.id] = 0.0
                    else:
                        self.never.add(rung.id)

    def never_true(self, expr: Expr) -> str | None:
        """Why a condition can never hold ('is false at the start and reads only ..., which nothing changes'), or
        None when that is not certain (it uses time, reads something that may change, or holds at the start)."""
        if expr.uses_time or not expr.variables <= self.values.keys():
            return None
        if not expr.events <= self.times.keys() | self.never:
            return None
        values = {name: self.values[name] for name in expr.variables}
        times = {name: self.times[name] for name in expr.events if name in self.times}
        if bool(expr.evaluate(values, 0.0, times)):
            return None
        read = sorted(expr.variables | expr.events)
        what = f"reads only {', '.join(read)}, which nothing changes," if read else "reads nothing that changes and"
        return f"'{expr.text}' {what} and is false at the start"


def _written_by(graph: Graph, nid: str) -> bool:
    return any(e.kind == "writes" for e in graph.into(nid))


def _plain(value) -> bool:
    """A plain number (not a distribution, not an expression)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --- strict: every number has a source --------------------------------------------------------------------------
def strict_problems(s: Scenario) -> list[tuple[tuple, str]]:
    """The numbers written without a source (see the module's docstring for what counts), as (path, message)
    pairs in file order; [] if none. Takes a Scenario as `load_scenario` returns it; raises nothing."""
    found = []
    for path, value in numbers_in(s):
        written, holder_path, holder = _holder(s, path)
        if not written or getattr(value, "source", None):
            continue
        if is_expression(value) and value.strip() in s.parameters:
            continue  # the parameter carries the source
        if holder is not None and holder.source:
            continue
        found.append((path, _unsourced(value, holder_path, holder)))
    return found


def _holder(s: Scenario, path: tuple) -> tuple[bool, tuple, BaseModel | None]:
    """(whether the number at `path` is written in the file, not a default; the path of the nearest object around
    it that can carry a source, and that object; None for none but the scenario)."""
    obj, holder_path, holder = s, (), None
    for i, part in enumerate(path):
        if isinstance(obj, BaseModel):
            fields = type(obj).model_fields
            if obj is not s and "source" in fields:
                holder_path, holder = path[:i], obj
            name = next((n for n, f in fields.items() if part in (n, f.alias)), None)
            if name is None or name not in obj.model_fields_set:
                return False, (), None
            obj = getattr(obj, name)
        else:
            obj = obj[part]
    return True, holder_path, holder


def _unsourced(value, holder_path: tuple, holder: BaseModel | None) -> str:
    shown = f"{value:g}" if isinstance(value, (int, float)) else value if isinstance(value, str) else "..."
    fixed = f"{{dist: fixed, value: {shown}, source: \"...\"}}"
    if holder is None:
        return f"no source: write this value as {fixed} (the scenario's own source: covers no single number)"
    kind = HOLDERS.get(type(holder).__name__, type(holder).__name__.lower())
    if is_expression(value):
        return (f"no source for the expression {value!r}: give the {kind} a source: ({format_path(holder_path)}), "
                "or make its numbers parameters with sources (a YAML comment does not count)")
    return (f"no source: give the {kind} a source: ({format_path(holder_path)}), or write the number as {fixed} "
            "(a YAML comment does not count)")


# --- for `escalsim validate` ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lint:
    """A scenario file checked: the scenario, its warnings and its strict problems, located and in file order."""

    scenario: Scenario
    warnings: list[Problem]
    strict: list[Problem]


def lint_file(path: str | Path, overrides: Sequence[str] = ()) -> Lint:
    """Load a scenario file as `load_scenario` does, then run the model checks and the strict checks.

    Raises ScenarioError (every problem, located) for a file that is not a valid scenario, as `load_scenario` does."""
    from escalsim.scenario.loader import apply_override, read_source, validate

    source = read_source(Path(path))
    for number, text in enumerate(overrides, 1):
        apply_override(source, text, number)
    scenario = validate(source)
    return Lint(scenario, locate(source, warnings(scenario)), locate(source, strict_problems(scenario)))


def locate(source, pairs: list[tuple[tuple, str]]) -> list[Problem]:
    """(path, message) pairs as Problems at their file, line and column, in file order (as the loader places
    reference problems; a path ending in references.KEY points at the name). `source` is a scenario.source.Source."""
    problems = []
    for path, message in pairs:
        key = bool(path) and path[-1] == KEY
        path = path[:-1] if key else path
        file, line, column = source.where(path, key=key)
        problems.append(Problem(file, line, column, format_path(path), message))
    return sorted(problems, key=lambda p: (p.file, p.line, p.column, p.path))


def warning_line(problem: Problem) -> str:
    """A warning as validate prints it: FILE:LINE:COLUMN: path: warning: message."""
    return f"{problem.file}:{problem.line}:{problem.column}: {problem.path}: warning: {problem.message}"
