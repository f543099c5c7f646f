"""The state of one simulated world: variables, level, events, watched conditions, trace and scheduling."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import simpy
from simpy.events import NORMAL

from escalsim import sampling

MAX_ACTIONS = 200_000  # a run that fires more options than this is a runaway (zero-delay repeatable loops)


class RunawayError(RuntimeError):
    """A run that would never end: options re-firing each other without delay."""


@dataclass(frozen=True)
class TraceEvent:
    """One thing that happened: when, what kind, who, what, and why."""

    day: float
    kind: str
    subject: str
    text: str
    cause: str = ""

    def with_text(self, text: str) -> TraceEvent:
        return TraceEvent(self.day, self.kind, self.subject, text, self.cause)


class Call:
    """A scheduled call of fn(*args). SimPy's Environment.step needs only `callbacks` and `_ok` of an event;
    this slotted object costs less than a Timeout plus a callback closure (tests/test_engine.py checks the
    contract against the installed SimPy)."""

    __slots__ = ("callbacks", "_ok", "world", "fn", "args")

    def __init__(self, world: World, fn: Callable, args: tuple):
        self.callbacks = CALL
        self._ok = True
        self.world, self.fn, self.args = world, fn, args


def _call(event: Call) -> None:
    event.fn(*event.args)
    if event.world.dirty:
        event.world.flush()


CALL = (_call,)


class World:
    """Mutable state of one run; components read and change it, watchers react to changes."""

    def __init__(self, model, seed: int, run: int, trace: bool):
        self.model = model
        self.seed, self.run = seed, run
        self.env = simpy.Environment()
        self.values: dict[str, float] = dict.fromkeys(model.readable, 0.0)
        self.event_times: dict[str, float] = {}
        self.var_watchers: dict[str, list] = defaultdict(list)
        self.event_watchers: dict[str, list] = defaultdict(list)
        self.change_listeners: dict[str, list[Callable]] = defaultdict(list)
        self.trace: list[TraceEvent] | None = [] if trace else None
        self.level_path: list[tuple[float, int]] = []
        self.max_level = 0
        self.first_passage = [math.nan] * len(model.rungs)
        self.first_cause = [""] * len(model.rungs)
        self.events_scheduled = 0
        self.actions = 0
        self.horizon = model.horizon
        self.fire_days: dict[str, float] = {}
        self.options: dict = {}
        self.groups: dict[str, list] = defaultdict(list)
        self.deployments: dict = {}
        self.dirty: dict[Watch, None] = {}  # conditions to re-check once the current event is done (ordered)

    # --- time -------------------------------------------------------------------------------------------
    def at(self, delay: float, fn: Callable, *args) -> None:
        """Call fn(*args) after delay days (if before the horizon); the only way components schedule work."""
        env = self.env
        if env.now + delay < self.horizon:
            self.events_scheduled += 1
            env.schedule(Call(self, fn, args), NORMAL, delay)

    def stream(self, key: str):
        return sampling.stream(self.seed, self.run, key)

    def note(self, kind: str, subject: str, text: str, cause: str = "") -> None:
        if self.trace is not None:
            self.trace.append(TraceEvent(self.env.now, kind, subject, text, cause))

    def count_action(self) -> None:
        self.actions += 1
        if self.actions > MAX_ACTIONS:
            raise RunawayError(
                f"more than {MAX_ACTIONS:,} options fired by day {self.env.now:g}: "
                "repeatable options with zero delay keep triggering each other")

    # --- state ------------------------------------------------------------------------------------------
    def set(self, name: str, value: float) -> None:
        """Change a variable and wake whatever reads it."""
        if self.values[name] == value:
            return
        self.values[name] = value
        for listener in self.change_listeners.get(name, ()):
            listener(value)
        for watch in self.var_watchers.get(name, ()):
            self.dirty[watch] = None

    def flush(self) -> None:
        """Re-check each condition whose inputs changed, once, after the changes of one event are all made."""
        while self.dirty:
            batch, self.dirty = self.dirty, {}
            for watch in batch:
                watch.recheck()

    def happen(self, event: str, cause: str = "", when: float | None = None) -> None:
        """Record that a named event happened now, or on `when` (a day before the start); first time only."""
        if event in self.event_times:
            return
        self.event_times[event] = self.env.now if when is None else when
        for watch in self.event_watchers.get(event, ()):
            self.dirty[watch] = None

    def move_level(self, new: int, cause: str) -> None:
        """Put the world on rung `new`, recording first passages of every rung crossed on the way up."""
        new = max(0, min(new, len(self.model.rungs) - 1))
        old = int(self.values["level"])
        if new == old:
            return
        rungs = self.model.rungs
        labels = self.model.rung_labels
        arrow = "up" if new > old else "down"
        self.note("ladder", "Ladder", f"{arrow} to {labels[new]} (from {labels[old]})", cause)
        self.level_path.append((self.env.now, new))
        if new > self.max_level:
            for k in range(self.max_level + 1, new + 1):
                self.first_passage[k] = self.env.now
                self.first_cause[k] = cause
            self.max_level = new
        self.set("level", float(new))
        for k in range(new + 1):
            self.happen(rungs[k], cause)


class Watch:
    """A condition re-checked only when something it reads changes, or when time makes it cross a threshold."""

    __slots__ = ("world", "expr", "on_change", "state", "wake_at")

    def __init__(self, world: World, expr, on_change: Callable[[bool], None]):
        self.world, self.expr, self.on_change = world, expr, on_change
        self.state = False
        self.wake_at = math.inf
        for name in expr.variables:
            world.var_watchers[name].append(self)
        for name in expr.events:
            world.event_watchers[name].append(self)

    def recheck(self) -> None:
        w = self.world
        now = w.env.now
        new = bool(self.expr.evaluate(w.values, now, w.event_times))
        if self.expr.uses_time:
            nxt = self.expr.next_change(w.values, now, w.event_times)
            if nxt < self.wake_at or self.wake_at <= now:
                self.wake_at = nxt
                if nxt < math.inf:
                    w.at(nxt - now, self._wake, nxt)
        if new != self.state:
            self.state = new
            self.on_change(new)

    def _wake(self, planned: float) -> None:
        if planned == self.wake_at:
            self.wake_at = math.inf
            self.recheck()
