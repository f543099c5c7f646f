"""The manifest of a results directory (manifest.json), typed: what the Monte Carlo writes and the outputs read.

A leaf: imports nothing from the package, so both sides of the results directory can name its keys and types
without importing each other. At run time a manifest is the dict json.load gives; these TypedDicts are its
contract, for readers and type checkers.
"""

from __future__ import annotations

from typing_extensions import TypedDict  # pydantic validates these on Python < 3.12 only from here


class TrackInfo(TypedDict):
    """One escalation track: its rungs lowest first, and the index of the rung runs start on."""

    id: str
    label: str
    kind: str | None
    rungs: list[str]
    rung_labels: list[str]
    start: int


class Checkpoint(TypedDict):
    """A named moment: `day` is the end of that day (the state reported is the one after it)."""

    name: str
    day: float


class Moves(TypedDict):
    """The moves made in every run: injected decisions and blocks (as schema.Injection and Block dump them)."""

    injections: list[dict]
    blocks: list[dict]


class ModelDescription(TypedDict):
    """What a reader needs to know about the model (montecarlo.records.describe)."""

    scenario: str
    title: str | None
    description: str | None
    start: str                      # ISO date of day 0
    horizon_days: float
    tracks: list[TrackInfo]
    rungs: list[str]                # every track's rungs, track by track
    rung_labels: list[str]
    checkpoints: list[Checkpoint]
    readable: list[str]             # variables, estimates, parameters, track levels
    labels: dict[str, str]
    key_variables: list[str]
    event_names: list[str]          # every event but the rungs
    event_kinds: dict[str, str]     # event -> option, obligation, treaty, casus_foederis, step, flag, ...
    param_columns: list[str]        # values drawn once per run, as param.<name> columns
    options: list[str]
    outcomes: list[str]             # options, then obligations
    outcome_labels: dict[str, str]
    event_labels: dict[str, str]


class Manifest(ModelDescription):
    """manifest.json: the model description, how the runs were made, and what they cost."""

    kind: str
    format: int                     # of the results directory (files.FORMAT)
    escalsim_version: str
    created: str
    started: str
    stopped_because: str
    scenario_sha256: str
    sources: dict[str, dict]        # file name -> {sha256, text}
    overrides: list[str]
    settings: dict                  # jobspec.StopRule
    moves: Moves
    assumptions: list[dict]         # scenario.assumptions: every sourced number
    seed: int
    runs: int
    target_runs: int
    trace_runs: int
    grid_step: float
    grid_start: str
    grid_days: list[float]
    backend: str
    workers: int
    wall_time_s: float
    runs_per_s: float | None
    events: int                     # SimPy events over all runs
    columns: dict[str, str]         # runs.parquet column -> dtype
