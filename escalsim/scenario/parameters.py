"""Numbers that may be distributions: the `Param` type of the scenario language and its samplers."""

from __future__ import annotations

import math
from typing import Annotated, Any, Union

from pydantic import AfterValidator, BaseModel, Discriminator, Field, Tag, model_validator
from pydantic.json_schema import SkipJsonSchema

from escalsim.scenario.distributions import DIST_NAMES, DISTRIBUTIONS, Finite, Fixed, Sampler, Strict


def _param_tag(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        dist = value.get("dist")
        return dist if dist in DIST_NAMES else "unknown-dist"
    if isinstance(value, BaseModel):
        return getattr(value, "dist", None)
    return None


class _UnknownDist(Strict):
    dist: str = Field(description="one of " + ", ".join(DIST_NAMES))

    @model_validator(mode="before")
    @classmethod
    def _refuse(cls, data):
        dist = data.get("dist") if isinstance(data, dict) else None
        if dist is None:
            raise ValueError(
                "a distribution needs 'dist:' (one of " + ", ".join(DIST_NAMES) + "), or write a plain number"
            )
        from escalsim.scenario.conditions import suggest  # local: expr is the only module that owns name suggestions

        hint = suggest(str(dist), DIST_NAMES)
        hint = f" (did you mean '{hint}'?)" if hint else ""
        raise ValueError(f"unknown distribution '{dist}'{hint}; allowed: " + ", ".join(DIST_NAMES))


Param = Annotated[
    Union[  # noqa: UP007 - built from a tuple, which the | operator cannot do
        (
            Annotated[Finite, Tag("number")],
            *(Annotated[m, Tag(n)] for m, n in zip(DISTRIBUTIONS, DIST_NAMES)),
            Annotated[SkipJsonSchema[_UnknownDist], Tag("unknown-dist")],
        )
    ],
    Discriminator(
        _param_tag,
        custom_error_type="param",
        custom_error_message="expected a number or a distribution mapping with 'dist:'",
    ),
]


def support(param) -> tuple[float, float]:
    """Smallest interval (low, high) holding every draw of a number or distribution, after clipping."""
    if isinstance(param, (int, float)):
        return float(param), float(param)
    return param.support()


def within(low: float, high: float, what: str):
    """An AfterValidator: every possible draw of the parameter must lie in [low, high]."""

    def check(param):
        lo, hi = support(param)
        if lo < low or hi > high:
            shown = f"[{lo:g}, {hi:g}]"
            fix = "" if isinstance(param, (int, float)) else " (choose another distribution or add clip: [low, high])"
            raise ValueError(f"{what} must lie in [{low:g}, {high:g}], but can be {shown}{fix}")
        return param

    return AfterValidator(check)


Probability = Annotated[Param, within(0.0, 1.0, "a probability")]
Days = Annotated[Param, within(0.0, math.inf, "a duration in days")]
Count = Annotated[Param, within(0.0, math.inf, "a count")]
NonNegative = Annotated[Param, within(0.0, math.inf, "this value")]
AnyNumber = Param


def sampler(param) -> tuple[Sampler, bool]:
    """(draw function taking a random stream (anything with random()), True if drawn once per run)."""
    if isinstance(param, (int, float)):
        value = float(param)
        return (lambda r: value), True
    if isinstance(param, Fixed):
        return param.sampler(), True
    return param.sampler(), param.per == "run"


def mean(param) -> float:
    """Mean of a number (itself, as a float) or of a distribution (unclipped)."""
    return float(param) if isinstance(param, (int, float)) else param.mean()
