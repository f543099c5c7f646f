"""The state of one simulated world: variables, level, events, watched conditions, trace and scheduling."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from heapq import heappop, heappush
from itertools import count
from typing import NamedTuple

import simpy
from simpy.events import NORMAL, URGENT

from escalsim import sampling
from escalsim.engine.record import LADDER, TraceEvent

MAX_EVENTS = 2_000_000  # a run with more SimPy events than this is a runaway (the default scenario has ~200)
MAX_ACTIONS = 200_000  # a run that fires more options than this is a runaway (zero-delay repeatable loops)


class RunawayError(RuntimeError):
    """A run that would never end: options re-firing each other without delay."""


class Call:
    """A scheduled call of fn(*args). SimPy's Environment.step needs only `callbacks` and `_ok` of an event;
    this slotted object costs less than a Timeout plus a callback closure (tests/test_engine.py checks the
    contract against the installed SimPy). `callbacks` is the world's `(World._run_call,)`."""

    __slots__ = ("callbacks", "fn", "args")
    _ok = True  # a scheduled call never fails


class _Stop(Exception):
    """Raised by the call `World.process` schedules at its `until` (SimPy's `run` stops on StopSimulation)."""


def _stop() -> None:
    raise _Stop


_STOP = Call()  # the stop at the end of `World.process`
_STOP.fn, _STOP.args = _stop, ()


class _Environment(simpy.Environment):
    """SimPy's Environment without its classes bound to it up front (`BoundClass.bind_early`): a run schedules only
    Calls (`World.at`), and binding Event, Timeout, Process, ... costs a run ~270 bytecodes and makes the
    environment a reference cycle, left to the cyclic garbage collector (`env.timeout(...)` and the like still
    work: bound when used). The attributes are those Environment.__init__ sets (SimPy is pinned below 5;
    tests/test_engine.py runs SimPy's own loop on a world's environment)."""

    def __init__(self) -> None:
        self._now = 0
        self._queue = []
        self._eid = count()
        self._active_proc = None


class _Kept:
    """A run's stream factory that keeps every stream it opens (`World.keep_streams`, for `World.fork`)."""

    __slots__ = ("streams", "opened")

    def __init__(self, streams: Callable[[str], sampling.Stream]):
        self.streams, self.opened = streams, []

    def __call__(self, key: str) -> sampling.Stream:
        s = self.streams(key)
        self.opened.append(s)
        return s


class InitialState(NamedTuple):
    """What every run of a model starts from, built once per model (core._initial_state) and copied by each World:
    readable values and event days, each track's starting level and the rungs it is at or above from day 0 (also
    kept apart, in `levels` and `rung_events`), each track's path so far (its first (day, rung)) and highest rung,
    and per rung the first day at or above it, the first day on it and what put the track there."""

    values: dict[str, float]
    event_times: dict[str, float]
    levels: dict[str, float]
    rung_events: dict[str, float]
    level_paths: tuple[tuple[tuple[float, int]], ...]
    max_levels: list[int]
    at_or_above: list[float]
    entered: list[float]
    entered_cause: list[str]


class World:
    """Mutable state of one run; components read and change it, watchers react to changes.

    It keeps fewer than 30 attributes (tests/test_engine.py checks): CPython 3.11 keeps an instance's attributes
    in a compact layout, shared by the instances of its class, up to 29 of them; a 30th turns them into a plain
    dictionary, and every attribute access of a run gets slower (+3% instructions a run of the default scenario)."""

    def __init__(self, model, seed: int, run: int, trace: bool):
        self.model = model
        self.seed, self.run = seed, run
        # component key -> its random stream in this run: sampling.run_streams itself (no call of a method in
        # between), or in a run that will fork, a wrapper that also keeps each stream opened (`keep_streams`)
        self.stream: Callable[[str], sampling.Stream] = sampling.run_streams(seed, run)
        self.env = env = _Environment()
        # the current day: SimPy's clock, kept here while `process` runs (env._now is set when it returns), so
        # that reading it, as most calls do, is one attribute lookup
        self.now = env._now
        # at() pushes onto SimPy's queue itself, as Environment.schedule does (SimPy is pinned below 5;
        # tests/test_engine.py checks the contract): one Python call less per scheduled event
        self._queue, self._eid = env._queue, env._eid
        self._callbacks = (self._run_call,)
        start = model.initial_state
        self.values: dict[str, float] = start.values.copy()
        self.event_times: dict[str, float] = start.event_times.copy()
        self.var_watchers: dict[str, list] = defaultdict(list)
        self.event_watchers: dict[str, list] = defaultdict(list)
        self.change_listeners: dict[str, list[Callable]] = defaultdict(list)
        self.trace: list[TraceEvent] | None = [] if trace else None
        self.level_paths: list[list[tuple[float, int]]] = list(map(list, start.level_paths))  # (day, rung)s
        self.max_levels = start.max_levels.copy()
        self.at_or_above = start.at_or_above.copy()   # first day each track was at or above each rung
        self.entered = start.entered.copy()           # first day each track was on each rung
        self.entered_cause = start.entered_cause.copy()  # what put the track on the rung that day
        self.actions = 0
        self.horizon = model.horizon
        self.options: dict = {}
        self.groups: dict[str, list] = defaultdict(list)
        self.deployments: dict = {}
        self.draws: dict = {}  # stream key -> Draws, for the components whose per-run random values are recorded
        self.obligations: dict = {}  # obligation event (treaty.party) -> (treaty run, index)
        self.dirty: dict[Watch, None] = {}  # conditions to re-check once the current event is done (ordered)

    def release(self) -> None:
        """Drop the references from the world to its components (and SimPy's queue of their calls) once a run
        is over. Components point back at the world, so these are cycles: left alone, each run's objects wait
        for the cyclic garbage collector, which then traverses them (a tenth of a run's setup cost). Broken
        here, reference counting frees a finished run at once."""
        self.env._queue.clear()
        self._callbacks = ()
        for table in (self.options, self.groups, self.deployments, self.var_watchers, self.event_watchers,
                      self.change_listeners, self.dirty, self.draws, self.obligations):
            table.clear()

    # --- time -------------------------------------------------------------------------------------------
    def at(self, delay: float, fn: Callable, *args) -> None:
        """Call fn(*args) after delay days (if before the horizon); the only way components schedule work."""
        when = self.now + delay
        if when < self.horizon:
            eid = next(self._eid)  # counts the calls scheduled (`events_scheduled`)
            if eid >= MAX_EVENTS:
                self._runaway()
            call = Call()  # filled here: a Python __init__ would cost a frame per scheduled call
            call.callbacks = self._callbacks
            call.fn = fn
            call.args = args
            heappush(self._queue, (when, NORMAL, eid, call))

    @property
    def events_scheduled(self) -> int:
        """How many calls `at` has scheduled so far: the next id. SimPy's counter cannot be read without taking
        one, so a read takes it and puts the counter back there."""
        taken = next(self._eid)
        self._eid = self.env._eid = count(taken)
        return taken

    def _runaway(self) -> None:
        raise RunawayError(f"more than {MAX_EVENTS:,} events by day {self.now:g} in one run: something "
                           "happens far too often (e.g. a flow's interval_days or a hazard near zero delay)")

    def process(self, until: float) -> None:
        """Process the scheduled calls up to `until` (excluded), in SimPy's order (time, priority, insertion),
        on SimPy's queue and clock: what `env.run(until=until)` does for a queue that holds only Calls (every
        piece of work of a run is one, `at`), without `Environment.step`'s frame and failure checks per event.
        As in `env.run`, a stop at `until`, URGENT so that it comes before anything else due then, ends the loop
        by raising an exception: no test of the time or of an empty queue per event. It takes no id from the
        counter (ids count the calls scheduled). The clock is `now` meanwhile; both end at `until`."""
        queue = self._queue
        heappush(queue, (until, URGENT, -1, _STOP))
        try:
            while True:
                self.now, _, _, call = heappop(queue)
                call.fn(*call.args)  # _run_call, inline: one frame less per event
                if self.dirty:
                    self.flush()
        except _Stop:
            pass
        self.now = self.env._now = until

    def _run_call(self, call: Call) -> None:
        """SimPy's callback of a Call: run it (on SimPy's clock), then re-check the conditions its changes touched."""
        self.now = self.env._now
        call.fn(*call.args)
        if self.dirty:
            self.flush()

    def keep_streams(self) -> None:
        """Keep every stream opened from now on, for `fork` (called before any is opened)."""
        self.stream = _Kept(self.stream)

    def fork(self, branch: str, parts) -> None:
        """From now on, draw every random number from the branch's streams: the run so far is kept exactly, what
        follows is one future among many (`sampling.branch_off`). The run's per-run random values are part of its
        past: they are drawn first, from the run's own streams. Then each part with a `reforked` method re-draws
        the memoryless waits it has pending (a hazard's next strike: by memorylessness, drawing it again now
        from the branch changes no probability); what the past set in motion with a fixed or non-exponential
        delay (a decision being carried out, a report on its way, a planned batch) keeps its day."""
        for draws in self.draws.values():
            draws.rng()
        for s in self.stream.opened:
            sampling.branch_off(s, branch)
        self.stream = sampling.run_streams(self.seed, self.run, branch)
        for part in parts:
            reforked = getattr(part, "reforked", None)
            if reforked is not None:
                reforked()

    def note(self, kind: str, subject: str, text: str, cause: str = "") -> None:
        """Add a TraceEvent on the current day, if the run is traced."""
        if self.trace is not None:
            self.trace.append(TraceEvent(self.now, kind, subject, text, cause))

    def count_action(self, what: str) -> None:
        """Count one fired option or honoured obligation (`what` names it). Raises RunawayError past
        MAX_ACTIONS in one run."""
        self.actions += 1
        if self.actions > MAX_ACTIONS:
            raise RunawayError(
                f"more than {MAX_ACTIONS:,} options fired by day {self.now:g} (the last one: {what}): "
                "repeatable options with zero delay keep triggering each other; give them a delay_days "
                "or make them one-shot")

    # --- state ------------------------------------------------------------------------------------------
    def set(self, name: str, value: float) -> None:
        """Change a variable and wake whatever reads it."""
        values = self.values
        if values[name] == value:
            return
        values[name] = value
        if name in self.change_listeners:  # few variables have listeners (observers, a track's hazards): no call
            for listener in self.change_listeners[name]:
                listener(value)
        watchers = self.var_watchers.get(name)
        if watchers:
            dirty = self.dirty
            for watch in watchers:
                dirty[watch] = None

    def flush(self) -> None:
        """Re-check each condition whose inputs changed, once, after the changes of one event are all made."""
        values, times = self.values, self.event_times
        while self.dirty:
            batch, self.dirty = self.dirty, {}
            now = self.now
            for watch in batch:
                if watch.uses_time:
                    watch.recheck()
                    continue
                new = not not watch.evaluate(values, now, times)  # bool(), no call; Watch.recheck inline
                if new != watch.state:
                    watch.state = new
                    watch.on_change(new)

    def happen(self, event: str, cause: str = "", when: float | None = None) -> None:
        """Record that a named event happened now, or on `when` (a day before the start); first time only."""
        if event in self.event_times:
            return
        self.event_times[event] = self.now if when is None else when
        for watch in self.event_watchers.get(event, ()):
            self.dirty[watch] = None

    def move_level(self, t: int, new: int, cause: str) -> None:
        """Put track `t` on its rung `new` (clamped to the track) because of `cause`.

        The rung moved onto is *entered*, with this cause, if it never was before; every rung crossed on the way
        up is *at or above* from now, but a jump does not enter the rungs it passes over, and their events
        (`happened('rung')`: at or above) carry no cause of their own."""
        track = self.model.tracks[t]
        new = max(0, min(new, len(track.rungs) - 1))
        old = int(self.values[track.id])
        if new == old:
            return
        now = self.now
        if self.trace is not None:
            labels = track.rung_labels
            arrow = "up" if new > old else "down"
            self.note(LADDER, track.label, f"{arrow} to {labels[new]} (from {labels[old]})", cause)
        self.level_paths[t].append((now, new))
        offset = track.offset
        if self.entered[offset + new] != self.entered[offset + new]:  # NaN: never on this rung before
            self.entered[offset + new] = now
            self.entered_cause[offset + new] = cause
        first_new = self.max_levels[t] + 1  # every rung up to the highest yet reached is at or above already
        if new >= first_new:
            for k in range(first_new, new + 1):
                self.at_or_above[offset + k] = now
            self.max_levels[t] = new
        self.set(track.id, float(new))
        for k in range(first_new, new + 1):
            self.happen(track.rungs[k], cause)


class Watch:
    """Base of whatever acts on a condition (an option, a treaty): the condition is re-checked only when
    something it reads changes, or when time makes it cross a threshold, and `on_change` is called when its
    truth changes. (A base class, not a member object: a watch holding its owner's bound method would make a
    reference cycle per condition per run.)"""

    __slots__ = ("world", "expr", "state", "wake_at", "evaluate", "uses_time", "retired")

    def __init__(self, world: World, expr):
        self.world, self.expr = world, expr
        self.evaluate, self.uses_time = expr.evaluate, expr.uses_time  # read on every re-check
        self.state = False
        self.wake_at = math.inf
        self.retired = False
        for name in expr.variables:
            world.var_watchers[name].append(self)
        for name in expr.events:
            world.event_watchers[name].append(self)

    def recheck(self) -> None:
        """Evaluate the condition now, plan a wake-up for when time may next flip it, and call on_change if
        its truth changed."""
        if self.retired:  # dirty before it retired: its owner can no longer act on it
            return
        w = self.world
        now = w.now
        new = not not self.evaluate(w.values, now, w.event_times)  # bool() without a call
        if self.uses_time:
            nxt = self.expr.next_change(w.values, now, w.event_times)
            if nxt < self.wake_at or self.wake_at <= now:
                self.wake_at = nxt
                if nxt < math.inf:
                    w.at(nxt - now, self._wake, nxt)
        if new != self.state:
            self.state = new
            self.on_change(new)

    def on_change(self, holds: bool) -> None:
        """Called with the condition's new truth value when it changes; subclasses implement it."""
        raise NotImplementedError

    def retire(self) -> None:
        """Stop re-checking a condition whose owner can never act on it again (an option used up, a treaty
        invoked): a third of all re-checks on the default scenario. A condition that reads the day keeps its
        wake-ups, which are counted events: when it compares the day with constants only (`day >= 78`), they
        fall on days known in advance and go on without a re-check (`_wake`); otherwise it stays."""
        if self.uses_time:
            if self.expr.wake_days is None:
                return
            self.retired = True
        w = self.world
        for name in self.expr.variables:
            w.var_watchers[name].remove(self)
        for name in self.expr.events:
            w.event_watchers[name].remove(self)

    def _wake(self, planned: float) -> None:
        if planned == self.wake_at:
            self.wake_at = math.inf
            if not self.retired:
                self.recheck()
                return
            now = self.world.now
            for nxt in self.expr.wake_days:  # what recheck would plan, without evaluating anything
                if nxt > now:
                    self.wake_at = nxt
                    self.world.at(nxt - now, self._wake, nxt)
                    return
