"""Escalation tracks (the `tracks:` section, or a file's single `ladder:`): each an ordered ladder whose level
moves through effects and, between them, through competing up/down hazards on each rung."""

from __future__ import annotations

from dataclasses import dataclass

from escalsim import sampling
from escalsim.engine.draws import Draws, ParamList, add_hazard
from escalsim.engine.element import ElementKind, Planning
from escalsim.scenario.schema import Ladder, Scenario

CAUSE = "background hazard"


@dataclass(frozen=True)
class TrackModel:
    """A track as runs see it: its id (the variable holding its rung index), label, rungs and starting rung;
    `offset` is the index of its lowest rung in `Model.rungs` (every track's rungs, track by track)."""

    id: str
    label: str
    rungs: list[str]
    rung_labels: list[str]
    start: int
    offset: int


def track_models(s: Scenario) -> list[TrackModel]:
    """The scenario's tracks in file order; a single `ladder:` is the track 'level', labelled 'Ladder'."""
    models, offset = [], 0
    for tid, spec in s.track_specs.items():
        ids = [r.id for r in spec.rungs]
        label = "Ladder" if s.ladder is not None else (getattr(spec, "label", None) or tid)
        models.append(TrackModel(tid, label, ids, [r.label or r.id for r in spec.rungs], ids.index(spec.start),
                                 offset))
        offset += len(ids)
    return models


@dataclass(frozen=True)
class HazardPlan:
    """A track's background hazards: slots of each rung's daily up and down rates (None where none is given)."""

    track: int                      # index in Model.tracks
    track_id: str
    key: str                        # of its random stream
    plist: ParamList
    slots: list[tuple[int | None, int | None]]


def plan_hazards(tid: str, spec: Ladder, planning: Planning) -> HazardPlan:
    """A track's hazards as parameter slots. A single `ladder:` keeps the stream key 'ladder', so its draws are
    those of the files written before tracks existed."""
    key = "ladder" if planning.scenario.ladder is not None else f"track:{tid}"
    plist = ParamList(planning, key)
    slots = []
    for rung in spec.rungs:
        up = None if rung.escalate is None else add_hazard(plist, rung.escalate)
        down = None if rung.deescalate is None else add_hazard(plist, rung.deescalate)
        slots.append((up, down))
    return HazardPlan(planning.tracks[tid], tid, key, plist, slots)


class BackgroundHazards:
    """From a rung with exits at rates u (up) and d (down): leave after Exp(u+d), up with chance u/(u+d)."""

    def __init__(self, world, plan: HazardPlan):
        self.world, self.plan, self.slots = world, plan, plan.slots
        self.draws = Draws(world, plan.key, plan.plist)
        self.token = 0
        self.top = len(plan.slots) - 1
        world.change_listeners[plan.track_id].append(self._level_changed)

    def _rates(self, level: int) -> tuple[float, float]:
        up, down = self.slots[level]
        u = 0.0 if up is None or level == self.top else self.draws(up)
        d = 0.0 if down is None or level == 0 else self.draws(down)
        return u, d

    def _level_changed(self, level: float) -> None:
        self.token += 1
        u, d = self._rates(int(level))
        if u + d > 0:
            wait = sampling.exponential(self.draws.rng(), u + d)
            self.world.at(wait, self._strike, self.token, u / (u + d))

    def start(self) -> None:
        """Draw the first background move from the starting rung."""
        self._level_changed(self.world.values[self.plan.track_id])

    def reforked(self) -> None:
        """At a fork, the time to the next background move is drawn again (exponential: memoryless)."""
        self._level_changed(self.world.values[self.plan.track_id])

    def _strike(self, token: int, p_up: float) -> None:
        if token != self.token:
            return
        level = int(self.world.values[self.plan.track_id])
        step = 1 if self.draws.rng().random() < p_up else -1
        self.world.move_level(self.plan.track, level + step, CAUSE)


KIND = ElementKind("tracks", plan_hazards, BackgroundHazards, specs=lambda s: s.track_specs)
