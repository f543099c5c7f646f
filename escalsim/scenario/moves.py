"""Moves: decisions injected from outside a run (a wargame's moves, a what-if) and moves declined (blocks)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from escalsim.scenario.distributions import Strict
from escalsim.scenario.names import OptionRef


class Injection(Strict):
    """A decision forced from outside (a wargame move): this option fires on this day."""

    day: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    option: OptionRef = Field(description="an option, or a treaty obligation written treaty.party")
    override: bool = Field(False, description="an umpire's override: fire even if the option is off the table "
                                              "(e.g. its alternative was chosen); recorded in the trace")


class Block(Strict):
    """A move declined (a side will not take it): the option or obligation cannot happen from `start` until
    `until` (excluded; default: the end of the run). A decision pending when the block starts is dropped."""

    option: OptionRef = Field(description="an option, or a treaty obligation written treaty.party")
    start: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    until: Annotated[float, Field(gt=0)] | None = None
