"""Background escalation: competing up/down hazards on each rung, redrawn whenever the level changes."""

from __future__ import annotations

from escalsim import sampling
from escalsim.engine.draws import Draws, ParamList, add_hazard
from escalsim.engine.element import ElementKind, Planning
from escalsim.scenario.schema import Ladder

CAUSE = "background hazard"


def plan_hazards(_key: str, spec: Ladder, _planning: Planning) -> tuple[ParamList, list[tuple[int | None, int | None]]]:
    """Slots of each rung's daily up and down rates (None where the file gives none)."""
    plist = ParamList()
    slots = []
    for rung in spec.rungs:
        up = None if rung.escalate is None else add_hazard(plist, rung.escalate)
        down = None if rung.deescalate is None else add_hazard(plist, rung.deescalate)
        slots.append((up, down))
    return plist, slots


class BackgroundHazards:
    """From a rung with exits at rates u (up) and d (down): leave after Exp(u+d), up with chance u/(u+d)."""

    def __init__(self, world, plist: ParamList, slots):
        self.world, self.slots = world, slots
        self.draws = Draws(world, "ladder", plist)
        self.token = 0
        self.top = len(slots) - 1
        world.change_listeners["level"].append(self._level_changed)

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
        """Draw when the world first leaves its start rung."""
        self._level_changed(self.world.values["level"])

    def _strike(self, token: int, p_up: float) -> None:
        if token != self.token:
            return
        level = int(self.world.values["level"])
        step = 1 if self.draws.rng().random() < p_up else -1
        self.world.move_level(level + step, CAUSE)


def create_hazards(world, plan: tuple[ParamList, list]) -> BackgroundHazards:
    """The ladder's background hazards in one run."""
    return BackgroundHazards(world, *plan)


KIND = ElementKind("ladder", plan_hazards, create_hazards)
