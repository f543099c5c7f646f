"""The one protocol every scenario element follows: planned once per model from its validated spec, created and
started once per run.

A kind of element (deployments, observations, options, treaties, the ladder's hazards) is an `ElementKind`: the
section of the scenario file it is written in, a `plan` function run once by `compile_model`, and a `create`
function run once per run. `core.ELEMENT_KINDS` lists the kinds in the order their elements are created and
started; adding a kind is its module, its schema and one line there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from escalsim.scenario.schema import Scenario


class Planning(NamedTuple):
    """What a plan function may use besides its own spec: the scenario, the condition parser, the rung ids."""

    scenario: Scenario
    parse: Callable[[str], Any]    # condition text -> a compiled condition (scenario.conditions.Expr)
    rungs: dict[str, tuple[int, int]]  # rung id -> (index of its track in Model.tracks, index on that track)
    tracks: dict[str, int]             # track id -> its index in Model.tracks
    paths: dict[int, str]              # id() of each number of the scenario -> its path, e.g. 'options.x.delay_days'
    recorded: list[tuple[str, int, str]]  # (stream key, slot, path) of every random value drawn once per run


class Element(Protocol):
    """An element in one run. `start` schedules its first events once every element of the run exists (unless its
    kind has nothing to schedule: `ElementKind.starts`). An element that watches a condition is also a
    `world.Watch`, checked once after every element started."""

    def start(self) -> None:
        """Schedule the element's first events; called once per run, after every element exists."""


@dataclass(frozen=True)
class ElementKind:
    """A kind of scenario element: where it is written, how it is planned, how a run creates it."""

    section: str                                    # its section in the scenario file
    plan: Callable[[str, Any, Planning], Any]       # (id, validated spec, planning) -> plan, once per model
    create: Callable[[Any, Any], Element]           # (world, plan) -> the element in one run
    specs: Callable[[Scenario], dict] | None = None  # id -> spec, if not the section's own table
    starts: bool = True  # its elements have something to schedule when a run starts (`Element.start`)

    def plans(self, planning: Planning) -> list:
        """Plans of every element of this kind in the scenario, in file order."""
        specs = getattr(planning.scenario, self.section) if self.specs is None else self.specs(planning.scenario)
        return [self.plan(key, value, planning) for key, value in specs.items()]
