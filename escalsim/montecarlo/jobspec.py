"""The typed records of a results directory being written: `JobSpec` (job.json: what is run, fixed at the start)
and `Progress` (progress.json: how far it got). Read back with validation, so a damaged or hand-edited file is a
clear error instead of a KeyError, and the types survive a resume."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from escalsim.montecarlo.files import KIND
from escalsim.scenario.moves import Block, Injection

Kind = Literal["escalsim-results"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StopRule(_Record):
    """How many runs and in what batches: a fixed target, or rounds until every reported probability's 95%
    half-width is at most `precision` (at least `min_runs`, at most `max_runs`)."""

    precision: float | None = None
    min_runs: int = Field(1_000, ge=1)
    max_runs: int = Field(1_000_000, ge=1)
    batch_size: int | None = Field(None, ge=1)


class JobSpec(_Record):
    """What a results directory holds the runs of; written once, as job.json, when the directory is created."""

    kind: Kind = KIND
    format: int
    escalsim_version: str
    created: str                       # UTC, ISO 8601
    scenario: str                      # the validated scenario, as JSON
    sources: dict[str, str]            # scenario file name -> its text (a variant and its bases)
    overrides: list[str]               # the --set overrides, as given
    seed: int = Field(ge=0)
    trace_runs: int = Field(ge=0)
    grid_step: float = Field(gt=0)
    backend: str                       # that started the runs (the manifest names the one that finished)
    workers: int = Field(ge=1)
    settings: StopRule = StopRule()
    injections: list[Injection] = []   # moves made in every run: injected decisions ...
    blocks: list[Block] = []           # ... and declined moves
    assumptions: list[dict] = []       # every sourced number of the scenario as written (scenario.assumptions)


class Progress(_Record):
    """How far the runs got: progress.json, rewritten after every saved batch."""

    kind: Kind = KIND
    next_run: int = Field(ge=0)
    target_runs: int = Field(ge=0)
    events: int = Field(ge=0)
    elapsed_s: float = Field(ge=0)     # wall time of the sessions so far (an interrupted one included)
