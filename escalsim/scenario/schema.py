"""The scenario language: typed, frozen pydantic models of a scenario file (no cross-references yet)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from escalsim.scenario.distributions import Strict
from escalsim.scenario.effects import Effect
from escalsim.scenario.names import RESERVED, Date, Expression, Id, Text, When
from escalsim.scenario.parameters import AnyNumber, Count, Days, NonNegative, Param, Probability, support
from escalsim.scenario.parameters import mean as param_mean

FORMAT_VERSION = 1


class Hazard(Strict):
    """A rate at which something happens while it may: give exactly one way of stating it."""

    per_day: NonNegative | None = None
    per_month: NonNegative | None = None
    per_year: NonNegative | None = None
    probability: Probability | None = Field(None, description="chance of happening within `within_days`")
    within_days: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    source: Text | None = None

    @model_validator(mode="after")
    def _one_way(self):
        given = [k for k in ("per_day", "per_month", "per_year", "probability") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of per_day, per_month, per_year, or probability with within_days"
                             + (f" (got {', '.join(given)})" if given else ""))
        if (self.probability is None) != (self.within_days is None):
            raise ValueError("probability and within_days go together")
        return self


class Rung(Strict):
    """One rung of the escalation ladder, with optional background hazards of moving up or down from it."""

    id: Id
    label: Text | None = None
    description: Text | None = None
    escalate: Hazard | None = Field(None, description="background hazard of moving up one rung while here")
    deescalate: Hazard | None = Field(None, description="background hazard of moving down one rung while here")
    source: Text | None = None


class Ladder(Strict):
    """The escalation ladder: its rungs, lowest first, and the rung the world starts on."""

    rungs: list[Rung] = Field(min_length=2, max_length=100, description="ordered from lowest to highest")
    start: Id = Field(description="the rung the world is on at the start")


class Track(Ladder):
    """One dimension of escalation, an ordered ladder of its own (RAND's Dangerous Thresholds separates vertical,
    horizontal and political escalation). Its id is a variable in conditions: the index of its current rung."""

    label: Text | None = Field(None, description="how the track is named in tables and figures")
    kind: Literal["vertical", "horizontal", "political", "other"] | None = Field(
        None, description="vertical: more violent means; horizontal: new states, forces or places drawn in; "
                          "political: aims, rhetoric, constraints lifted")
    description: Text | None = None
    source: Text | None = None


class Actor(Strict):
    """A party in the scenario: it owns variables, sends forces, observes, decides and signs treaties."""

    label: Text = Field(description="how the actor is named in traces, e.g. 'Seoul'")
    description: Text | None = None


class Variable(Strict):
    """A number in the state of the world (troops, casualties, ...), with its value at the start."""

    initial: AnyNumber = 0.0
    label: Text | None = None
    unit: Text | None = None
    owner: Id | None = Field(None, description="the actor this variable belongs to")
    key: bool = Field(False, description="show this variable's quantiles in run summaries")
    source: Text | None = None


class Stage(Strict):
    """A stage that arriving forces pass through in order (e.g. training, then the front)."""

    name: Id
    days: Days | None = Field(None, description="time spent in this stage; omit for the last stage")
    variable: Id | None = Field(None, description="variable counting the troops now in this stage")


class Batch(Strict):
    """A planned batch: `size` forces arrive on `when`."""

    when: When
    size: Count
    source: Text | None = None


class Target(Strict):
    """A flow's rate stated as a goal: Poisson batches that bring the total sent to `total` by `by`, on average."""

    total: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    by: When
    source: Text | None = None


class Flow(Strict):
    """Further batches after the schedule: a renewal process of batch sizes and intervals."""

    start: When | None = Field(None, description="when the flow begins (default: scenario start)")
    until: When | None = Field(None, description="no batches after this")
    batch_size: Count
    interval_days: Days | None = Field(None, description="time between batches (exponential: Poisson batches)")
    target: Target | None = Field(
        None,
        description="instead of interval_days: Poisson batches at the rate that reaches `total` by `by` on average",
    )
    cap: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        None, description="no more than this many sent in all (schedule included); the last batch is cut to fit"
    )

    @model_validator(mode="after")
    def _one_timing(self):
        if (self.interval_days is None) == (self.target is None):
            raise ValueError("give exactly one of interval_days or target")
        if param_mean(self.batch_size) <= 0:
            raise ValueError("batch_size must be more than 0 on average, or the flow sends nothing")
        if self.interval_days is not None and support(self.interval_days)[1] <= 0:
            raise ValueError("interval_days can only be 0: batches would never stop coming; give a positive interval")
        return self


class Attrition(Strict):
    """Casualties in a deployment's last stage: a daily hazard, counted every `every_days` days."""

    rate_per_day: NonNegative = Field(description="daily hazard of becoming a casualty in the last stage")
    every_days: Annotated[float, Field(gt=0, le=365, allow_inf_nan=False)] = Field(
        7.0, description="casualties are counted in steps of this many days (binomial per step)")
    variable: Id = Field(description="variable accumulating casualties")
    source: Text | None = None


class Deployment(Strict):
    """Forces sent from one actor to another in batches (a schedule, a flow, or both), through stages."""

    label: Text | None = None
    from_: Id = Field(alias="from")
    to: Id
    unit: Text = "troops"
    total: Id = Field(description="variable counting this deployment's forces now deployed (arrived minus casualties)")
    schedule: list[Batch] = Field(default_factory=list, max_length=1000)
    flow: Flow | None = None
    stages: list[Stage] = Field(default_factory=list, max_length=20)
    attrition: Attrition | None = Field(None, description="casualties among forces in the last stage")
    source: Text | None = None

    @model_validator(mode="after")
    def _shape(self):
        if not self.schedule and self.flow is None:
            raise ValueError("a deployment needs a schedule, a flow, or both")
        for stage in self.stages[:-1]:
            if stage.days is None:
                raise ValueError(f"stage '{stage.name}' needs days (only the last stage may stay open)")
        if self.stages and self.stages[-1].days is not None:
            raise ValueError(f"the last stage '{self.stages[-1].name}' has no end: remove its days")
        if self.attrition is not None and not self.stages:
            raise ValueError("attrition needs stages (it applies to the last one)")
        return self


class Observation(Strict):
    """An actor learns a variable late and imprecisely; the observation's id names its estimate."""

    observer: Id
    of: Id = Field(description="the true variable observed")
    label: Text | None = None
    lag_days: Days = 0.0
    factor: NonNegative = Field(1.0, description="multiplies the true value (e.g. lognormal noise around 1)")
    round_to: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    initial: AnyNumber | None = Field(None, description="the estimate at the start (default: the true initial value)")
    source: Text | None = None


class ResponseOption(Strict):
    """A decision an actor may take while its `when` condition holds, and the effects it has."""

    actor: Id
    label: Text
    when: Expression = Field(description="the trigger condition")
    probability: Probability | None = Field(None, description="chance of choosing it each time `when` becomes true")
    hazard: Hazard | None = Field(None, description="instead of probability: rate of choosing it while `when` holds")
    delay_days: Days = Field(0.0, description="from the decision to the effects")
    group: Id | None = Field(
        None, description="options sharing a group are alternatives: the first to fire ends the others")
    repeatable: bool = False
    enabled: bool = True
    effects: list[Effect] = Field(default_factory=list, max_length=100)
    source: Text | None = None

    @model_validator(mode="after")
    def _one_chance(self):
        if (self.probability is None) == (self.hazard is None):
            raise ValueError("give exactly one of probability or hazard")
        return self


class TreatyStep(Strict):
    """A step towards a treaty's entry into force (signature, ratification): on a date, or after other steps."""

    id: Id
    label: Text | None = None
    date: Date | None = Field(None, description="a step taken on a known date (before the start: already done)")
    after: list[Id] | None = Field(None, description="steps that must be done first (default: the previous step)")
    delay_days: Days = 0.0
    probability: Probability = Field(1.0, description="chance the step happens at all")
    source: Text | None = None


class Obligation(Strict):
    """What a party does when the casus foederis holds: with probability `compliance`, after `delay_days`."""

    party: Id
    label: Text
    compliance: Probability
    delay_days: Days = 0.0
    effects: list[Effect] = Field(default_factory=list, max_length=100)
    source: Text | None = None


class Treaty(Strict):
    """An alliance treaty: the steps that bring it into force, its casus foederis and the parties' obligations."""

    label: Text
    parties: list[Id] = Field(min_length=2, max_length=50)
    steps: list[TreatyStep] = Field(min_length=1, max_length=50, description="in force once every step is done")
    casus_foederis: Expression
    obligations: list[Obligation] = Field(default_factory=list, max_length=50)
    source: Text | None = None


class Correlation(Strict):
    """A rank correlation between two parameters drawn at random once per run (a Gaussian copula)."""

    between: tuple[Id, Id]
    rank: Annotated[float, Field(gt=-1, lt=1, allow_inf_nan=False)] = Field(
        description="Spearman's rank correlation between the two parameters' draws, in (-1, 1)")
    source: Text | None = None


MAX_CHECKPOINT_VALUES = 10_000  # checkpoints x readable values, the columns at.<checkpoint>.<name> (issue 14;
# checked in references.py, where the readable names are known; benchmarks/bench_limits.py measures the cost)


class Scenario(Strict):
    """An escalation scenario: a ladder, actors, variables, and the deployments, observations, options and
    treaties that move them, over a horizon in days."""

    escalsim: Literal[1] = Field(FORMAT_VERSION, description="version of the scenario format")
    extends: str | None = Field(None, description="a base scenario file (relative path) this one overrides")
    name: Id
    title: Text | None = None
    description: Text | None = None
    start: Date
    horizon_days: Annotated[float, Field(gt=0, le=36_525, allow_inf_nan=False)] | None = None
    end: Date | None = Field(None, description="the last day simulated (included): start 2024-10-15 and end "
                             "2025-10-14 make 365 days")
    checkpoints: dict[Id, When] = Field(default_factory=dict, max_length=400,
                                        description="named days; each reports the state at the end of that day "
                                        "(every variable, observation, track and parameter: a column of runs.parquet "
                                        f"each, at most {MAX_CHECKPOINT_VALUES:,} in all)")
    ladder: Ladder | None = Field(None, description="one escalation ladder (a single track, named 'level')")
    tracks: dict[Id, Track] = Field(default_factory=dict, max_length=20,
                                    description="several escalation tracks, instead of ladder:")
    actors: dict[Id, Actor] = Field(min_length=1, max_length=200)
    parameters: dict[Id, Param] = Field(
        default_factory=dict, max_length=1000,
        description="named values used by name wherever a number is expected and in expressions: a number, or a "
                    "distribution drawn once per run (per: run); each recorded with every run as param.<name>")
    correlations: list[Correlation] = Field(default_factory=list, max_length=1000,
                                            description="rank correlations between parameters drawn per run")
    variables: dict[Id, Variable] = Field(default_factory=dict, max_length=1000)
    flags: list[Id] = Field(default_factory=list, max_length=1000, description="events set by `flag:` effects")
    deployments: dict[Id, Deployment] = Field(default_factory=dict, max_length=100)
    observations: dict[Id, Observation] = Field(default_factory=dict, max_length=1000)
    options: dict[Id, ResponseOption] = Field(default_factory=dict, max_length=1000)
    treaties: dict[Id, Treaty] = Field(default_factory=dict, max_length=100)
    teams: dict[Id, Annotated[list[Id], Field(min_length=1, max_length=200)]] = Field(
        default_factory=dict, max_length=50,
        description="the teams of a wargame (`escalsim play`): each team's name and the actors it plays, each "
                    "actor in one team at most; --teams on the command line replaces them")
    source: Text | None = None

    @field_validator("end")
    @classmethod
    def _not_both(cls, end, info):
        if end is not None and info.data.get("horizon_days") is not None:  # located at end:, not at the top
            raise ValueError("give exactly one of horizon_days or end, not both")
        return end

    @model_validator(mode="after")
    def _one_ladder(self):
        if (self.ladder is None) == (not self.tracks):
            raise ValueError("give exactly one of ladder: (one track) or tracks: (several)")
        return self

    @property
    def track_specs(self) -> dict[str, Ladder]:
        """Every track by id: a file's single `ladder:` is the track 'level'."""
        return {"level": self.ladder} if self.ladder is not None else dict(self.tracks)

    @model_validator(mode="after")
    def _horizon(self):
        if (self.horizon_days is None) == (self.end is None):
            raise ValueError("give exactly one of horizon_days or end")
        return self

    @property
    def horizon(self) -> float:
        """Days simulated: horizon_days, or the days from start to end with both included."""
        return self.horizon_days if self.horizon_days is not None else float((self.end - self.start).days + 1)

    def day_of(self, when: dt.date | float) -> float:
        """The day number of a date counted from the start (day 0), or a day number as a float."""
        return float((when - self.start).days) if isinstance(when, dt.date) else float(when)


__all__ = ["Scenario", "Param", "RESERVED", "FORMAT_VERSION"]
