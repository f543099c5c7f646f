"""Cross-references of a validated scenario: every name used must be defined, every condition must parse."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from escalsim.scenario.conditions import ExprError, parse, suggest
from escalsim.scenario.parameters import is_expression, is_per_run_random, numbers_in
from escalsim.scenario.schema import MAX_CHECKPOINT_VALUES, RESERVED, Effect, Scenario

Found = Iterator[tuple[tuple, str]]
KEY = "[key]"  # last part of a path whose problem is the mapping key (a name), not its value, as in pydantic


def event_names(s: Scenario) -> list[str]:
    """Every name days_since()/happened() may use, in a stable order."""
    return [name for name, _, _ in _events(s)]


def event_kinds(s: Scenario) -> dict[str, str]:
    """Each event but the rungs -> its kind: option, flag, deployment, stage, treaty, casus_foederis, step or
    obligation."""
    return {name: kind for name, kind, _ in _events(s) if kind != "rung"}


def _events(s: Scenario) -> list[tuple[str, str, tuple]]:
    """(event name, kind, path of what defines it) for every event, in the order of event_names."""
    events = [(r.id, "rung", track_path(s, tid) + ("rungs", i, "id"))
              for tid, track in s.track_specs.items() for i, r in enumerate(track.rungs)]
    events += [(o, "option", ("options", o, KEY)) for o in s.options]
    events += [(f, "flag", ("flags", i)) for i, f in enumerate(s.flags)]
    for did, dep in s.deployments.items():
        events += [(did, "deployment", ("deployments", did, KEY))]
        events += [(f"{did}.{st.name}", "stage", ("deployments", did, "stages", i, "name"))
                   for i, st in enumerate(dep.stages)]
    for tid, treaty in s.treaties.items():
        base = ("treaties", tid)
        events += [(tid, "treaty", base + (KEY,)),
                   (f"{tid}.casus_foederis", "casus_foederis", base + ("casus_foederis",))]
        events += [(f"{tid}.{st.id}", "step", base + ("steps", i, "id")) for i, st in enumerate(treaty.steps)]
        events += [(f"{tid}.{ob.party}", "obligation", base + ("obligations", i, "party"))
                   for i, ob in enumerate(treaty.obligations)]
    return events


def readable_names(s: Scenario) -> list[str]:
    """Names a condition may read: true variables, observed estimates, and each track's level (a file's single
    ladder is the track 'level')."""
    return list(s.variables) + list(s.observations) + list(s.track_specs) + list(s.parameters)


def track_path(s: Scenario, track: str) -> tuple:
    """Where a track is written in the file: ('ladder',) for a single ladder, else ('tracks', id)."""
    return ("ladder",) if s.ladder is not None else ("tracks", track)


def rung_positions(s: Scenario) -> dict[str, tuple[str, int]]:
    """Each rung id -> (its track, its index on that track, lowest 0); the first wins if an id is repeated."""
    positions: dict[str, tuple[str, int]] = {}
    for tid, track in s.track_specs.items():
        for i, rung in enumerate(track.rungs):
            positions.setdefault(rung.id, (tid, i))
    return positions


def rung_indices(s: Scenario) -> dict[str, int]:
    """Each rung id -> its index on its own track: what rung('id') gives in a condition."""
    return {rung: index for rung, (_track, index) in rung_positions(s).items()}


def check_references(s: Scenario) -> list[tuple[tuple, str]]:
    """The cross-reference problems of a validated scenario, as (path, message) pairs; [] if none.

    Covers unknown and twice-used names, conditions that do not parse (ExprError is caught and
    reported) and days outside the scenario."""
    _SCOPES.clear()  # names are gathered once per check (not once per condition: loading stays linear in size)
    try:
        problems = list(_names(s)) + list(_tracks(s)) + list(_deployments(s)) + list(_observations(s))
        problems += list(_options(s)) + list(_treaties(s)) + list(_dates(s))
        problems += list(_parameters(s)) + list(_correlations(s)) + list(_number_expressions(s)) + list(_teams(s))
        problems += list(_checkpoint_values(s))
    finally:
        _SCOPES.clear()
    return problems


def _checkpoint_values(s: Scenario) -> Found:
    """Every checkpoint records every readable value in every run's record: one column of runs.parquet each. The
    product, not each section's cap, is what makes the record wide (benchmarks/bench_limits.py: 80-165 KB of the
    main process's memory a column; at 10,000 runs 2.2 GB at this cap, 4.4 GB at 20,000; 400,000 columns were not
    written in minutes)."""
    values = len(readable_names(s))
    if len(s.checkpoints) * values > MAX_CHECKPOINT_VALUES:
        yield ("checkpoints",), (
            f"{len(s.checkpoints)} checkpoints x {values} values (variables, observations, tracks and parameters) "
            f"are {len(s.checkpoints) * values:,} columns at.<checkpoint>.<name> in every run's record; at most "
            f"{MAX_CHECKPOINT_VALUES:,}: use fewer checkpoints (each track's daily level is in levels.parquet "
            "anyway) or fewer variables")


def _teams(s: Scenario) -> Found:
    seen: dict[str, str] = {}
    for team, actors in s.teams.items():
        if team == "umpire":
            yield ("teams", team, KEY), ("'umpire' is the facilitator of `escalsim play`, not a team: choose another "
                                         "name")
        for i, actor in enumerate(actors):
            yield from _ref(("teams", team, i), "actor", actor, s.actors)
            if actor in seen:
                yield ("teams", team, i), (f"actor '{actor}' is already in team '{seen[actor]}': an actor plays in "
                                           "one team")
            seen.setdefault(actor, team)


def _ref(path: tuple, kind: str, name: str, known: Iterable[str]) -> Found:
    known = list(known)
    if name not in known:
        hint = suggest(name, known)
        tail = f" (did you mean '{hint}'?)" if hint else ""
        shown = ", ".join(known[:30]) + (" ..." if len(known) > 30 else "") if known else "none defined"
        yield path, f"unknown {kind} '{name}'{tail}; defined: {shown}"


def _names(s: Scenario) -> Found:
    for section in ("variables", "observations"):
        for name in getattr(s, section):
            if name in RESERVED:
                yield (section, name, KEY), f"'{name}' is a reserved word in conditions; choose another name"
    for name, variable in s.variables.items():
        if variable.owner is not None:
            yield from _ref(("variables", name, "owner"), "actor", variable.owner, s.actors)
    for name in set(s.variables) & set(s.observations):
        yield ("observations", name, KEY), f"'{name}' is already a variable; an observation needs its own name"
    seen: dict[str, str] = {}
    for name, kind, path in _events(s):
        if name not in seen:
            seen[name] = kind
        elif not (kind == seen[name] and kind in ("rung", "stage", "step")):  # those are reported on their own
            yield path, f"the name '{name}' is used twice among rungs, options, flags, deployments and treaties"


def _tracks(s: Scenario) -> Found:
    seen: dict[str, str] = {}
    names = set(s.variables) | set(s.observations)
    for tid, track in s.track_specs.items():
        base = track_path(s, tid)
        if s.ladder is None and (tid in RESERVED or tid in names):
            what = "a reserved word in conditions" if tid in RESERVED else "already a variable or an observation"
            yield ("tracks", tid, KEY), f"'{tid}' is {what}; a track's id names its level in conditions"
        ids = [r.id for r in track.rungs]
        yield from _ref(base + ("start",), "rung", track.start, ids)
        for i, rung in enumerate(track.rungs):
            if rung.id in ids[:i]:
                yield base + ("rungs", i, "id"), f"rung '{rung.id}' appears twice in the track"
            elif rung.id in seen:
                yield base + ("rungs", i, "id"), (f"rung '{rung.id}' is already a rung of track '{seen[rung.id]}': "
                                                  "rung ids are unique across tracks (effects and conditions name "
                                                  "rungs alone)")
            seen.setdefault(rung.id, tid)


def _deployments(s: Scenario) -> Found:
    for did, d in s.deployments.items():
        base = ("deployments", did)
        yield from _ref(base + ("from",), "actor", d.from_, s.actors)
        yield from _ref(base + ("to",), "actor", d.to, s.actors)
        yield from _ref(base + ("total",), "variable", d.total, s.variables)
        names = [st.name for st in d.stages]
        for i, stage in enumerate(d.stages):
            if stage.name in names[:i]:
                yield base + ("stages", i, "name"), f"stage '{stage.name}' appears twice"
            if stage.variable is not None:
                yield from _ref(base + ("stages", i, "variable"), "variable", stage.variable, s.variables)
        if d.attrition is not None:
            yield from _ref(base + ("attrition", "variable"), "variable", d.attrition.variable, s.variables)
        for i, batch in enumerate(d.schedule):
            if not 0 <= s.day_of(batch.when) < s.horizon:
                yield base + ("schedule", i, "when"), (
                    f"{batch.when} falls outside the scenario (day 0, {s.start}, to day {s.horizon - 1:g}): a batch "
                    "before the start would be moved to day 0 (give forces already there as the variable's "
                    "initial value), one after the end would never arrive")
        if d.flow is not None:
            for key in ("start", "until"):
                when = getattr(d.flow, key)
                if when is not None and not 0 <= s.day_of(when) <= s.horizon:
                    yield base + ("flow", key), "must fall between the start and the end of the scenario"
            if d.flow.start is not None and d.flow.until is not None \
                    and s.day_of(d.flow.until) <= s.day_of(d.flow.start):
                yield base + ("flow", "until"), "must come after the flow starts: no batch would be sent"
            if d.flow.target is not None and s.day_of(d.flow.target.by) <= s.day_of(d.flow.start or 0):
                yield base + ("flow", "target", "by"), "the target date must come after the flow starts"


def _observations(s: Scenario) -> Found:
    for oid, o in s.observations.items():
        yield from _ref(("observations", oid, "observer"), "actor", o.observer, s.actors)
        yield from _ref(("observations", oid, "of"), "variable", o.of, s.variables)


_SCOPES: dict[int, tuple[Scenario, dict]] = {}  # the scenario being checked -> what its conditions may name


def _scope(s: Scenario) -> dict:
    """What a condition of `s` may name (parse's keyword arguments), gathered once per `check_references`."""
    hit = _SCOPES.get(id(s))
    if hit is None or hit[0] is not s:
        _SCOPES.clear()
        hit = (s, {"variables": frozenset(readable_names(s)), "events": dict.fromkeys(event_names(s)),
                   "rungs": rung_indices(s), "start": s.start})
        _SCOPES[id(s)] = hit
    return hit[1]


def _expr(path: tuple, text: str, s: Scenario) -> Found:
    try:
        parse(text, **_scope(s))
    except ExprError as exc:
        at = f" (at column {exc.column + 1} of the expression)" if exc.column is not None else ""
        yield path, f"{exc.message}{at}"


def _effects(path: tuple, effects: list[Effect], s: Scenario) -> Found:
    rungs = list(rung_positions(s))
    owned = deployment_variables(s)
    obligations = [f"{tid}.{ob.party}" for tid, t in s.treaties.items() for ob in t.obligations]
    flows = [d for d, dep in s.deployments.items() if dep.flow is not None]
    for i, e in enumerate(effects):
        here = path + (i,)
        for key in ("set", "add"):
            for var in getattr(e, key) or {}:
                yield from _ref(here + (key, var, KEY), "variable", var, s.variables)
                if var in owned:
                    yield here + (key, var, KEY), (
                        f"'{var}' is kept by deployment '{owned[var]}' (its forces arrive, move and fall there); "
                        "change it through the deployment: withdraw, scale_attrition, scale_flow, stop_flow")
        for key in ("ladder", "ladder_set"):
            if getattr(e, key) is not None:
                yield from _ref(here + (key,), "rung", getattr(e, key), rungs)
        if e.ladder_step is not None and len(s.track_specs) > 1:
            yield here + ("ladder_step",), ("with several tracks, say which one moves: write "
                                            f"step: {{track: {next(iter(s.track_specs))}, by: {e.ladder_step}}}")
        if e.step is not None:
            yield from _ref(here + ("step", "track"), "track", e.step.track, s.track_specs)
        for key in ("enable", "disable"):
            for j, opt in enumerate(getattr(e, key) or []):
                yield from _ref(here + (key, j), "option or obligation" if obligations else "option", opt,
                                list(s.options) + obligations)
        for j, opt in enumerate(e.cancel or []):
            yield from _ref(here + ("cancel", j), "option", opt, s.options)
        yield from _deployment_effects(here, e, s)
        if e.scale_flow is not None:
            yield from _ref(here + ("scale_flow", "deployment"), "deployment with a flow", e.scale_flow.deployment,
                            flows)
        if e.stop_flow is not None:
            yield from _ref(here + ("stop_flow",), "deployment with a flow", e.stop_flow, flows)
        if e.flag is not None:
            yield from _ref(here + ("flag",), "flag (declare it under flags:)", e.flag, s.flags)


def _options(s: Scenario) -> Found:
    groups: dict[str, list[str]] = {}
    for oid, o in s.options.items():
        if o.group is not None:
            groups.setdefault(o.group, []).append(oid)
    for oid, o in s.options.items():
        base = ("options", oid)
        if o.group is not None and len(groups[o.group]) == 1:
            hint = suggest(o.group, [g for g in groups if g != o.group])
            yield base + ("group",), (f"group '{o.group}' has no other option: alternatives share a group name"
                                      + (f" (did you mean '{hint}'?)" if hint else ""))
        yield from _ref(base + ("actor",), "actor", o.actor, s.actors)
        yield from _expr(base + ("when",), o.when, s)
        yield from _effects(base + ("effects",), o.effects, s)


def _treaties(s: Scenario) -> Found:
    for tid, t in s.treaties.items():
        base = ("treaties", tid)
        for i, party in enumerate(t.parties):
            yield from _ref(base + ("parties", i), "actor", party, s.actors)
        ids = [st.id for st in t.steps]
        for i, step in enumerate(t.steps):
            if step.id in ids[:i]:
                yield base + ("steps", i, "id"), f"step '{step.id}' appears twice"
            for j, prior in enumerate(step.after or []):
                yield from _ref(base + ("steps", i, "after", j), "earlier step", prior, ids[:i])
            ignored = [k for k in ("after", "delay_days", "probability") if k in step.model_fields_set]
            if step.date is not None and ignored:  # written in the file (a check of the file, not of the model)
                yield base + ("steps", i), (f"a step with a date happens on that date: {', '.join(ignored)} would "
                                            "be ignored; remove it, or remove the date to make the step follow others")
        yield from _expr(base + ("casus_foederis",), t.casus_foederis, s)
        for i, ob in enumerate(t.obligations):
            yield from _ref(base + ("obligations", i, "party"), "treaty party", ob.party, t.parties)
            yield from _effects(base + ("obligations", i, "effects"), ob.effects, s)


def _dates(s: Scenario) -> Found:
    for name, date in s.checkpoints.items():
        if not 0 <= s.day_of(date) <= s.horizon - 1:
            yield ("checkpoints", name), (f"{date} is outside the scenario (day 0, {s.start}, to day "
                                          f"{s.horizon - 1:g}, its last day)")
    if s.end is not None and s.end < s.start:
        yield ("end",), f"the end ({s.end}, the last day simulated) must not come before the start ({s.start})"


def _parameters(s: Scenario) -> Found:
    others = set(s.variables) | set(s.observations) | set(s.track_specs)
    for name, value in s.parameters.items():
        here = ("parameters", name)
        if name in RESERVED or name in others:
            what = "a reserved word in conditions" if name in RESERVED else "already a variable, estimate or track"
            yield here + (KEY,), f"'{name}' is {what}; a parameter needs its own name"
        if is_expression(value):
            yield here, "a parameter is a number or a distribution (drawn once per run), not an expression"
        elif getattr(value, "per", None) == "use":
            yield here + ("per",), ("a parameter is drawn once per run: write per: run (a value drawn anew at each "
                                    "use is written where it is used)")


def _correlations(s: Scenario) -> Found:
    random = [name for name, value in s.parameters.items() if is_per_run_random(value)]
    seen: set[frozenset] = set()
    for i, c in enumerate(s.correlations):
        here = ("correlations", i)
        for j, name in enumerate(c.between):
            if name not in random:
                yield from _ref(here + ("between", j), "parameter drawn at random once per run", name, random)
        pair = frozenset(c.between)
        if len(pair) == 1:
            yield here + ("between",), "a parameter cannot be correlated with itself"
        elif pair in seen:
            yield here + ("between",), f"the correlation of {' and '.join(sorted(pair))} is given twice"
        seen.add(pair)
    if s.correlations and len(seen) == len(s.correlations):
        yield from _positive_definite(s)


def _positive_definite(s: Scenario) -> Found:
    """Rank correlations must form a valid correlation matrix (positive definite, as a Gaussian copula needs)."""
    import numpy as np

    names = sorted({n for c in s.correlations for n in c.between})
    matrix = np.eye(len(names))
    for c in s.correlations:
        a, b = names.index(c.between[0]), names.index(c.between[1])
        matrix[a, b] = matrix[b, a] = 2 * np.sin(np.pi * c.rank / 6)  # Spearman's rank -> Pearson of the normals
    if np.linalg.eigvalsh(matrix).min() <= 1e-9:
        yield ("correlations",), ("these rank correlations cannot hold together (their matrix is not positive "
                                  "definite): weaken some of them")


def _number_expressions(s: Scenario) -> Found:
    for path, value in numbers_in(s):
        if not is_expression(value):
            continue
        if path[0] == "parameters":
            continue  # reported by _parameters
        try:
            expr = parse(value, **_scope(s))
        except ExprError as exc:
            at = f" (at column {exc.column + 1} of the expression)" if exc.column is not None else ""
            yield path, (f"{value!r} is not a number; read as an expression (a parameter's name or arithmetic): "
                         f"{exc.message}{at}")
            continue
        if expr.uses_time:
            yield path, "a number cannot depend on the day (only conditions can); use a parameter or a variable"


def deployment_variables(s: Scenario) -> dict[str, str]:
    """Variables a deployment keeps (its total, stage and casualty variables) -> the deployment's id."""
    owned: dict[str, str] = {}
    for did, d in s.deployments.items():
        names = [d.total] + [st.variable for st in d.stages if st.variable] \
            + ([d.attrition.variable] if d.attrition is not None else [])
        for name in names:
            owned.setdefault(name, did)
    return owned


def _deployment_effects(here: tuple, e: Effect, s: Scenario) -> Found:
    """References of the effects on deployments: withdraw, scale_attrition, resume_flow."""
    flows = [d for d, dep in s.deployments.items() if dep.flow is not None]
    if e.resume_flow is not None:
        yield from _ref(here + ("resume_flow",), "deployment with a flow", e.resume_flow, flows)
    if e.scale_attrition is not None:
        with_attrition = [d for d, dep in s.deployments.items() if dep.attrition is not None]
        yield from _ref(here + ("scale_attrition", "deployment"), "deployment with attrition",
                        e.scale_attrition.deployment, with_attrition)
    if e.withdraw is not None:
        staged = [d for d, dep in s.deployments.items() if dep.stages]
        yield from _ref(here + ("withdraw", "deployment"), "deployment with stages", e.withdraw.deployment, staged)
        if e.withdraw.deployment in staged and e.withdraw.to is not None:
            earlier = [st.name for st in s.deployments[e.withdraw.deployment].stages[:-1]]
            yield from _ref(here + ("withdraw", "to"), "earlier stage", e.withdraw.to, earlier)
