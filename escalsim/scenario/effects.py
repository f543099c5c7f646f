"""What options and obligations do: the effect models of the scenario language (one key per list item)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from escalsim.scenario.distributions import Strict
from escalsim.scenario.names import Id, OptionRef
from escalsim.scenario.parameters import AnyNumber, NonNegative, Probability


class TrackStep(Strict):
    """Move one track up (+) or down (-) by a number of rungs."""

    track: Id
    by: Annotated[int, Field(ge=-100, le=100)]


class Effect(Strict):
    """One consequence; give exactly one key per list item."""

    set: dict[Id, AnyNumber] | None = Field(None, description="set variables to values")
    add: dict[Id, AnyNumber] | None = Field(None, description="add to variables")
    ladder: Id | None = Field(None, description="raise the track of this rung to at least this rung (never lowers it)")
    ladder_step: Annotated[int, Field(ge=-100, le=100)] | None = Field(
        None, description="move the only track up (+) or down (-); with several tracks use step")
    ladder_set: Id | None = Field(None, description="put the track of this rung on this rung, up or down")
    step: TrackStep | None = Field(None, description="move a named track up (+) or down (-)")
    enable: list[OptionRef] | None = Field(
        None, description="response options (or treaty obligations, treaty.party) that become possible")
    disable: list[OptionRef] | None = Field(
        None, description="response options (or treaty obligations, treaty.party) taken off the table; a decision "
                          "already taken but not yet carried out is dropped")
    cancel: list[Id] | None = Field(
        None, description="options whose decision, taken but not yet carried out (in its delay), is dropped; they "
                          "stay possible")
    scale_flow: ScaleFlow | None = Field(None, description="multiply a deployment's batch rate (no effect on a "
                                                            "stopped flow: resume it first)")
    stop_flow: Id | None = Field(None, description="a deployment that sends no more batches")
    resume_flow: Id | None = Field(None, description="a stopped deployment's flow sends batches again, at its "
                                                      "rate before it stopped")
    withdraw: Withdraw | None = Field(None, description="forces leave a deployment's last stage (e.g. combat): "
                                                         "out of the country, or back to an earlier stage")
    scale_attrition: ScaleAttrition | None = Field(None, description="multiply a deployment's attrition rate "
                                                                      "(0: no more losses, e.g. a ceasefire)")
    flag: Id | None = Field(None, description="mark a declared flag as happened (for days_since/happened)")

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            allowed = ", ".join(type(self).model_fields)
            got = f"got {', '.join(given)}" if given else "got none"
            raise ValueError(f"each effect needs exactly one of {allowed} ({got}); put each in its own list item")
        return self


class Withdraw(Strict):
    """Forces leave a deployment's last stage: a share of those there now (rounded), either out of the country
    (they no longer count in its total) or back `to` an earlier stage, which they go through again."""

    deployment: Id
    share: Probability = Field(1.0, description="the share of the forces in the last stage that leave")
    to: Id | None = Field(None, description="an earlier stage they move back to (default: out of the country)")


class ScaleAttrition(Strict):
    """Multiply a deployment's attrition rate from now on."""

    deployment: Id
    factor: NonNegative


class ScaleFlow(Strict):
    """Multiply a deployment's flow rate by `factor` (0 stops the flow); the wait for the next batch restarts."""

    deployment: Id
    factor: NonNegative


Effect.model_rebuild()
