"""A scenario compiled into a Model, and `simulate`: one seeded SimPy run of it, returned as a RunRecord."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from operator import attrgetter, itemgetter

from pydantic import BaseModel

from escalsim.engine import deployments, observations, options, tracks, treaties
from escalsim.engine.draws import Draws, ParamList
from escalsim.engine.element import ElementKind, Planning
from escalsim.engine.parameters import ParametersPlan, draw_parameters, plan_parameters
from escalsim.engine.record import RunRecord
from escalsim.engine.tracks import TrackModel, track_models
from escalsim.engine.world import InitialState, Watch, World
from escalsim.scenario import conditions as expressions
from escalsim.scenario.conditions import suggest
from escalsim.scenario.moves import Block, Injection
from escalsim.scenario.parameters import numbers_in
from escalsim.scenario.references import event_names, readable_names, rung_indices
from escalsim.scenario.schema import Scenario

# Every kind of scenario element, in the order a run creates and starts them (the order is part of the results:
# it decides which of two things due at the same moment happens first).
ELEMENT_KINDS: tuple[ElementKind, ...] = (tracks.KIND, deployments.KIND, observations.KIND, options.KIND,
                                          treaties.KIND)


@dataclass
class Model:
    """Everything a run needs, prepared once: names, days, parsed conditions, parameter slots."""

    scenario: Scenario
    name: str
    start: dt.date
    horizon: float
    tracks: list[TrackModel]
    rungs: list[str]                 # every track's rungs, track by track
    rung_labels: list[str]
    readable: list[str]              # variables, then observed estimates, then each track's level
    labels: dict[str, str]
    checkpoints: list[tuple[str, float]]
    events: list[str]                # every named event but the rungs (scenario.references.event_names order)
    options: list[str]               # option ids, in file order
    initial: ParamList
    initial_slots: list[tuple[str, int]]  # (variable, slot) of the initial values each run sets (_set_initial)
    initial_state: InitialState            # what every run starts from (the constant initial values among it)
    elements: list[tuple[ElementKind, list]] = field(default_factory=list)  # each kind with its plans
    parameters: ParametersPlan | None = None
    parameter_names: frozenset[str] = frozenset()
    recorded: list[tuple[str, int]] = field(default_factory=list)  # (stream key, slot) of per-run random values
    param_columns: list[str] = field(default_factory=list)  # named parameters, then the paths of `recorded`

    def date_of(self, day: float) -> dt.date:
        """The calendar date of a (fractional) day of the run."""
        return self.start + dt.timedelta(days=math.floor(day))

    def day_of_event(self, record: RunRecord, event: str) -> float:
        """The first day `event` (an option, obligation, treaty step, ... or a rung: at or above) happened in the
        run of `record`; NaN if it never did. Raises ValueError for a name that is no event of this model."""
        if event in self.events:
            return record.event_days[self.events.index(event)]
        if event in self.rungs:
            return record.at_or_above[self.rungs.index(event)]
        raise ValueError(f"'{event}' is not an event of scenario {self.name}")

    @property
    def outcomes(self) -> list[str]:
        """The decisions a run can take: options, then treaty obligations (events named treaty.party)."""
        return self.options + [ob.event for t in self.plans("treaties") for ob in t.obligations]

    def plans(self, section: str) -> list:
        """The plans of one kind of element, by its section in the file (e.g. 'options'), in file order."""
        return next(plans for kind, plans in self.elements if kind.section == section)


def compile_model(s: Scenario) -> Model:
    """Turn a validated (and reference-checked) scenario into a Model; every element is planned here, once.

    Raises `scenario.conditions.ExprError` for a condition the reference checks did not see (a scenario built
    in Python without `load_scenario`)."""
    tracks = track_models(s)
    names, events, indices = readable_names(s), event_names(s), rung_indices(s)

    def parse(text: str):
        return expressions.parse(text, variables=names, events=events, rungs=indices, start=s.start)

    paths = {id(value): ".".join(map(str, path)) for path, value in numbers_in(s, by_id=True)
             if isinstance(value, BaseModel)}
    planning = Planning(s, parse, {r: (t, k) for t, track in enumerate(tracks) for k, r in enumerate(track.rungs)},
                        {track.id: t for t, track in enumerate(tracks)}, paths, [])
    parameters = plan_parameters(s, planning)
    initial = ParamList(planning, "variables")
    labels = {k: v.label or k for k, v in s.variables.items()}
    labels.update({k: o.label or f"{s.actors[o.observer].label} estimate of {labels[o.of]}"
                   for k, o in s.observations.items()})
    for track in tracks:
        labels[track.id] = ("escalation level" if s.ladder is not None else track.label) + " (rung index)"
    rungs = [r for track in tracks for r in track.rungs]
    initial_slots = [(k, initial.add(v.initial)) for k, v in s.variables.items()]
    return Model(
        scenario=s, name=s.name, start=s.start, horizon=s.horizon, tracks=tracks, rungs=rungs,
        rung_labels=[label for track in tracks for label in track.rung_labels],
        readable=names, labels=labels,
        checkpoints=sorted(((k, s.day_of(d) + 1.0) for k, d in s.checkpoints.items()), key=lambda c: c[1]),
        events=[e for e in events if e not in set(rungs)], options=list(s.options), initial=initial,
        initial_slots=[(k, slot) for k, slot in initial_slots if initial.dynamic or initial.constants[slot] is None],
        initial_state=_initial_state(tracks, names, initial, initial_slots),
        elements=[(kind, kind.plans(planning)) for kind in ELEMENT_KINDS],
        parameters=parameters, parameter_names=frozenset(s.parameters),
        recorded=[(key, slot) for key, slot, _path in planning.recorded],
        param_columns=parameters.names + [path for _key, _slot, path in planning.recorded],
    )


_FIRED = attrgetter("fired")  # an option's fire count, read for every option of a run


@dataclass(frozen=True)
class Fork:
    """Where a run branches off into one of many futures: on `day` (before anything else due then), every
    later random draw comes from the streams of `branch` (see World.fork). A fork on day 0 or before happens
    once the run's elements exist, before they start."""

    day: float
    branch: str


class InjectionError(ValueError):
    """An injection that names no option or falls outside the run."""


def simulate(model: Model, seed: int, run: int = 0, injections: Sequence[Injection] = (),
             trace: bool = False, blocks: Sequence[Block] = (), fork: Fork | None = None, *,
             checked: bool = False) -> RunRecord:
    """One run of the model, fully determined by (model, seed, run, moves): injected decisions and blocks
    (declined moves); the trace is kept if asked. With a `fork`, the run is one future of the run
    (model, seed, run, moves) from the fork's day: identical to it before that day. `checked`: the caller
    passed these moves through `check_moves` already (a batch of runs checks them once).

    Raises InjectionError for a move naming no option or obligation or outside the run, and world.RunawayError
    for a run that would never end."""
    if (injections or blocks) and not checked:
        check_moves(model, injections, blocks)
    w = World(model, seed, run, trace)
    try:
        return _run(w, model, injections, blocks, fork)
    finally:
        w.release()


def _run(w: World, model: Model, injections: Sequence[Injection], blocks: Sequence[Block],
         fork: Fork | None = None) -> RunRecord:
    if fork is not None:
        w.keep_streams()
    _set_initial(w, model)
    parts, starting = [], []  # every element of the run; those with something to schedule at the start
    for kind, plans in model.elements:
        made = list(map(kind.create, repeat(w), plans))
        parts += made
        if kind.starts:
            starting += made
    if fork is not None:
        if fork.day <= 0:
            w.fork(fork.branch, ())  # nothing is pending yet
        else:
            w.at(fork.day, w.fork, fork.branch, parts)  # the first call scheduled for its day
    _moves(w, model, injections, blocks)
    read = _reader(model)
    snapshots = _schedule_checkpoints(w, model, read)
    for part in starting:
        part.start()
    for part in parts:  # conditions already true at the start are acted on now
        if isinstance(part, Watch):
            part.recheck()
    w.flush()
    w.process(model.horizon)  # a model cut at day 0 (a game's first turn): the state before anything happens
    final = read(w.values)
    while len(snapshots) < len(model.checkpoints):
        snapshots.append(final)
    return RunRecord(
        seed=w.seed, run=w.run, final_levels=tuple(int(w.values[track.id]) for track in model.tracks),
        max_levels=tuple(w.max_levels), at_or_above=tuple(w.at_or_above), entered=tuple(w.entered),
        entered_cause=tuple(w.entered_cause), checkpoints=tuple(snapshots), final=final,
        event_days=tuple(map(w.event_times.get, model.events, repeat(math.nan))),
        fire_counts=tuple(map(_FIRED, w.options.values())),
        events=w.events_scheduled, level_paths=tuple(map(tuple, w.level_paths)),
        params=(*(w.values[name] for name in model.parameters.names),
                *(w.draws[key].per_run_value(slot) for key, slot in model.recorded)),
        trace=None if w.trace is None else tuple(w.trace),
    )


def _initial_state(tracks: list[TrackModel], readable: list[str], initial: ParamList,
                   slots: list[tuple[str, int]]) -> InitialState:
    """The state every run starts from, before anything is drawn: each track on its starting rung (entered, and
    it and every rung below at or above, on day 0), variables with a constant initial value set, the others 0
    until drawn. Unless an initial value is an expression that reads the state: then the variables are set in
    file order first, each seeing those before it, and the levels and rung events after them (`_set_initial`)."""
    rungs = sum(len(track.rungs) for track in tracks)
    at_or_above, entered, entered_cause = [math.nan] * rungs, [math.nan] * rungs, [""] * rungs
    levels, rung_events = {}, {}
    for track in tracks:
        levels[track.id] = float(track.start)
        entered[track.offset + track.start] = 0.0
        entered_cause[track.offset + track.start] = "start"
        for k in range(track.start + 1):
            at_or_above[track.offset + k] = 0.0
            rung_events[track.rungs[k]] = 0.0
    values, event_times = dict.fromkeys(readable, 0.0), {}
    if not initial.dynamic:
        values.update((name, initial.constants[slot]) for name, slot in slots if initial.constants[slot] is not None)
        values.update(levels)
        event_times.update(rung_events)
    return InitialState(values, event_times, levels, rung_events, tuple(((0.0, track.start),) for track in tracks),
                        [track.start for track in tracks], at_or_above, entered, entered_cause)


def _set_initial(w: World, model: Model) -> None:
    """Draw the run's parameters, then the initial values not already in model.initial_state."""
    draw_parameters(w, model.parameters)
    draws = Draws(w, "variables", model.initial)
    for name, slot in model.initial_slots:
        w.values[name] = draws(slot)
    if model.initial.dynamic:  # see _initial_state
        w.values.update(model.initial_state.levels)
        w.event_times.update(model.initial_state.rung_events)


def _moves(w: World, model: Model, injections: Sequence[Injection], blocks: Sequence[Block]) -> None:
    """Schedule the moves: injected decisions, and blocks (declined moves) from their start to their end; a
    block from day 0 is in place before any condition is first checked."""
    for inj in injections:
        cause = f"injected decision for {_when(model, inj.day)}"
        if inj.option in w.options:
            w.at(inj.day, w.options[inj.option].force, cause, inj.override)
        else:
            treaty, i = w.obligations[inj.option]
            w.at(inj.day, treaty.force, i, cause, inj.override)
    for block in blocks:
        target = w.options.get(block.option)
        toggle = target.block if target is not None else partial(_block_obligation, *w.obligations[block.option])
        until = f" until {_when(model, block.until)}" if block.until is not None else ""
        cause = f"blocked by a move from {_when(model, block.start)}{until}"
        if block.start <= 0:
            toggle(True, cause)
        else:
            w.at(block.start, toggle, True, cause)
        if block.until is not None:
            w.at(block.until, toggle, False, f"the block from {_when(model, block.start)} ends")


def _when(model: Model, day: float) -> str:
    """A move's day as the trace says it: the date, with the day of the run ('2024-10-24 (day 9)')."""
    return f"{model.date_of(day)} (day {day:g})"


def check_moves(model: Model, injections: Sequence[Injection] = (), blocks: Sequence[Block] = ()) -> None:
    """Refuse moves that cannot be made in any run (InjectionError, saying which): a name that is no option or
    obligation, a day outside the run, a block that ends before it starts, two injected alternatives of one group
    (unless one is an umpire's override), an injection inside a block of the same option."""
    obligations = {ob.event for t in model.plans("treaties") for ob in t.obligations}
    known = set(model.options) | obligations
    for what, name, day in [("injection", m.option, m.day) for m in injections] + \
            [("block", m.option, m.start) for m in blocks]:
        if name not in known:
            hint = suggest(name, known)
            raise InjectionError(f"{what} names unknown option or obligation '{name}'"
                                 + (f" (did you mean '{hint}'?)" if hint else ""))
        if not 0 <= day < model.horizon:
            raise InjectionError(f"{what} day {day:g} is outside the run (0 to {model.horizon - 1:g})")
    for block in blocks:
        if block.until is not None and block.until <= block.start:
            raise InjectionError(f"the block of {block.option} ends (day {block.until:g}) before it starts "
                                 f"(day {block.start:g})")
        for inj in injections:
            if inj.option == block.option and block.start <= inj.day < (block.until or math.inf) and not inj.override:
                raise InjectionError(f"{inj.option} is both injected on day {inj.day:g} and blocked then")
    groups = {p.id: p.group for p in model.plans("options") if p.group}
    chosen: dict[str, str] = {}
    for inj in injections:
        group = groups.get(inj.option)
        if group and not inj.override:
            if group in chosen and chosen[group] != inj.option:
                raise InjectionError(f"{chosen[group]} and {inj.option} are alternatives (group {group}): inject "
                                     "one, or make the second an umpire's override")
            chosen[group] = inj.option


def _block_obligation(treaty, i: int, on: bool, cause: str) -> None:
    treaty.block(i, on, cause)





def _reader(model: Model) -> Callable[[dict], tuple[float, ...]]:
    """values -> the tuple of the readable variables, in the model's order (a C-level itemgetter)."""
    getter = itemgetter(*model.readable)
    return getter if len(model.readable) > 1 else lambda values: (getter(values),)


def _schedule_checkpoints(w: World, model: Model, read: Callable[[dict], tuple[float, ...]]
                          ) -> list[tuple[float, ...]]:
    snapshots: list[tuple[float, ...]] = []
    values = w.values

    def snap() -> None:
        snapshots.append(read(values))

    for _name, day in model.checkpoints:
        w.at(day, snap)
    return snapshots
