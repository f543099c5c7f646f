"""Numbers that may be distributions or expressions: the `Param` type of the scenario language and its samplers.

A number in a scenario is a plain number, a distribution mapping (`dist:`), or an expression in quotes: the name
of a parameter (`western_resolve`) or arithmetic over parameters, variables, estimates and track levels
(`"0.2 + 0.1 * russian_manpower_strain"`), evaluated each time the value is used. An expression's value is
clipped to the field's domain at run time (a probability to [0, 1], a delay or a rate to at least 0; NaN counts
as the domain's low end), since it cannot be checked when the file is read."""

from __future__ import annotations

import functools
import math
import typing
from collections.abc import Iterator
from typing import Annotated, Any, Union

from pydantic import AfterValidator, BaseModel, Discriminator, Field, StringConstraints, Tag, model_validator
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
    if isinstance(value, str):
        return "expression"
    return None


NumberExpression = Annotated[
    str, StringConstraints(min_length=1, max_length=1000),
    Field(description="a parameter's name, or arithmetic over parameters, variables, estimates and track levels, "
                      "e.g. \"0.2 + 0.1 * russian_manpower_strain\" (evaluated when used, clipped to the field's "
                      "domain)")]


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
            Annotated[NumberExpression, Tag("expression")],
        )
    ],
    Discriminator(
        _param_tag,
        custom_error_type="param",
        custom_error_message="expected a number, a distribution mapping with 'dist:', or an expression in quotes",
    ),
]


def support(param) -> tuple[float, float]:
    """Smallest interval (low, high) holding every draw of a number or distribution, after clipping; an
    expression's is unknown before the run: (-inf, inf)."""
    if isinstance(param, (int, float)):
        return float(param), float(param)
    if isinstance(param, str):
        return -math.inf, math.inf
    return param.support()


def is_expression(param) -> bool:
    """Whether a number of the scenario is an expression (a parameter's name or arithmetic), known only at run time."""
    return isinstance(param, str)


def within(low: float, high: float, what: str):
    """An AfterValidator: every possible draw of the parameter must lie in [low, high]."""

    def check(param):
        if isinstance(param, str):  # an expression: clipped to [low, high] when it is used
            return param
        lo, hi = support(param)
        if lo < low or hi > high:
            if isinstance(param, (int, float)):
                raise ValueError(f"{what} must lie in [{low:g}, {high:g}]; it is {lo:g}")
            raise ValueError(f"{what} must lie in [{low:g}, {high:g}], but can be [{lo:g}, {hi:g}] (choose another "
                             "distribution or add clip: [low, high])")
        return param

    check.domain = (low, high)

    return AfterValidator(check)


Probability = Annotated[Param, within(0.0, 1.0, "a probability")]
Days = Annotated[Param, within(0.0, math.inf, "a duration in days")]
Count = Annotated[Param, within(0.0, math.inf, "a count")]
NonNegative = Annotated[Param, within(0.0, math.inf, "this value")]
AnyNumber = Param


def sampler(param) -> tuple[Sampler, bool]:
    """(draw function taking a random stream (anything with random()), True if drawn once per run).
    Raises TypeError for an expression, which has no sampler (the engine evaluates it)."""
    if isinstance(param, str):
        raise TypeError(f"the expression {param!r} is evaluated by the engine, not sampled")
    if isinstance(param, (int, float)):
        value = float(param)
        return (lambda r: value), True
    if isinstance(param, Fixed):
        return param.sampler(), True
    return param.sampler(), param.per == "run"


def mean(param) -> float:
    """Mean of a number (itself, as a float) or of a distribution (unclipped); NaN for an expression."""
    if isinstance(param, str):
        return math.nan
    return float(param) if isinstance(param, (int, float)) else param.mean()


def is_per_run_random(param) -> bool:
    """Whether a number is drawn at random once per run (a distribution with per: run that is not constant)."""
    if isinstance(param, (int, float, str)) or isinstance(param, Fixed):
        return False
    lo, hi = param.support()
    return param.per == "run" and lo != hi


def _holds_params(annotation, metadata=()) -> bool:
    """Whether a field's type is (or contains, e.g. as dict values) the Param union."""
    for item in metadata:
        if isinstance(item, Discriminator) and item.discriminator is _param_tag:
            return True
    for arg in typing.get_args(annotation):
        extra = getattr(arg, "__metadata__", ())
        if _holds_params(arg, extra):
            return True
    return False


@functools.cache
def _param_field_names(model_cls: type) -> frozenset[str]:
    return frozenset(name for name, info in model_cls.model_fields.items()
                     if _holds_params(info.annotation, info.metadata))


def numbers_in(model: BaseModel, path: tuple = (), by_id: bool = False) -> Iterator[tuple[tuple, Any]]:
    """Every number of a validated scenario (or part of one), as (path in the file, Param): plain numbers,
    distributions and expressions, in file order; nested models, lists and mappings are walked. With `by_id`,
    list items are named by their id, party or name where they have one (rungs, steps, obligations, stages)
    instead of their index: the names of `param.` columns."""
    params = _param_field_names(type(model))
    for name in type(model).model_fields:
        value = getattr(model, name)
        if value is None:
            continue
        key = type(model).model_fields[name].alias or name
        if name in params:
            if isinstance(value, dict):
                for k, v in value.items():
                    yield path + (key, k), v
            else:
                yield path + (key,), value
        else:
            yield from _numbers_below(value, path + (key,), by_id)


def _numbers_below(value, path: tuple, by_id: bool) -> Iterator[tuple[tuple, Any]]:
    if isinstance(value, BaseModel):
        yield from numbers_in(value, path, by_id)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _numbers_below(v, path + (k,), by_id)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            name = next((getattr(v, a) for a in ("id", "party", "name") if by_id and hasattr(v, a)), i)
            yield from _numbers_below(v, path + (name,), by_id)
