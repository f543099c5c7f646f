"""Forked runs (look-ahead futures): the past kept exactly, the future drawn afresh, memoryless waits re-drawn."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from escalsim import sampling
from escalsim.engine.core import Fork, compile_model, simulate
from escalsim.scenario.loader import load_scenario
from escalsim.scenario.moves import Injection
from tests.worlds import model_of, tolerance

DEFAULT = Path(__file__).resolve().parents[1] / "scenarios" / "dprk_russia_2024.yaml"
N = 2000


def test_branch_off_continues_as_the_branch_stream():
    """After branch_off, the uniforms are those of the key + NUL + branch stream, from its first one."""
    s = sampling.stream(3, 4, "ladder")
    [s.random() for _ in range(11)]  # mid-block
    sampling.branch_off(s, "ahead 10 2")
    t = sampling.stream(3, 4, "ladder\x00ahead 10 2")
    assert [s.random() for _ in range(20)] == [t.random() for _ in range(20)]
    branched = sampling.run_streams(3, 4, "ahead 10 2")("ladder")
    assert branched.random() == sampling.stream(3, 4, "ladder\x00ahead 10 2").random()


def test_a_future_keeps_the_past_and_differs_after_it():
    """On the default scenario: every trace line before the fork day is the run's own; futures differ after."""
    model = compile_model(load_scenario(DEFAULT))
    moves = [Injection(day=40.0, option="seoul_sends_weapons")]
    day = 75.0
    differ = 0
    for run in range(8):
        base = simulate(model, 5, run, moves, trace=True)
        past = [e for e in base.trace if e.day < day]
        for branch in ("f0", "f1"):
            fut = simulate(model, 5, run, moves, trace=True, fork=Fork(day, branch))
            assert [e for e in fut.trace if e.day < day] == past
            assert fut == simulate(model, 5, run, moves, trace=True, fork=Fork(day, branch))  # determined
            differ += [e for e in fut.trace if e.day >= day] != [e for e in base.trace if e.day >= day]
    assert differ >= 12  # a year of three tracks and 37 options: futures all but always part


def test_a_pending_hazard_is_drawn_again_from_the_branch(tmp_path):
    """A rung's escalation hazard λ: in futures forked on day T from a run still on the rung at T, the first
    escalation comes T + Exp(λ) (memoryless), whatever wait the run itself had drawn."""
    rate, day = 0.02, 30.0
    model = model_of(tmp_path, {"ladder": {"rungs": [{"id": "low", "escalate": {"per_day": rate}},
                                                     {"id": "mid"}, {"id": "high"}]}})
    seed, run = next((7, r) for r in range(100) if not simulate(model, 7, r).at_or_above[1] <= day)
    own = simulate(model, seed, run).at_or_above[1]
    firsts = np.array([simulate(model, seed, run, fork=Fork(day, f"f{i}")).at_or_above[1] for i in range(N)])
    assert not np.any(firsts < day)
    for d in (10.0, 30.0, 60.0):
        p = 1 - math.exp(-rate * d)
        assert abs(np.mean(firsts <= day + d) - p) < tolerance(p, N)
    assert np.mean(firsts == own) < 0.01  # the run's own pending strike is not shared


def test_an_option_hazard_and_a_poisson_flow_are_drawn_again(tmp_path):
    """An option's running hazard and a Poisson flow's next batch are re-drawn at the fork."""
    rate, day = 0.01, 20.0
    model = model_of(tmp_path, {"options": {"go": {"actor": "a", "label": "go", "when": "day >= 0",
                                                   "hazard": {"per_day": rate}}}})
    seed, run = next((3, r) for r in range(100) if not model.day_of_event(simulate(model, 3, r), "go") <= day)
    fired = np.array([model.day_of_event(simulate(model, seed, run, fork=Fork(day, f"g{i}")), "go")
                      for i in range(N)])
    p = 1 - math.exp(-rate * 50)
    assert abs(np.mean(fired <= day + 50) - p) < tolerance(p, N)


def test_a_fork_on_day_zero_keeps_only_the_per_run_values():
    """Forked on day 0, futures keep the run's drawn parameters but not its events."""
    model = compile_model(load_scenario(DEFAULT))
    base = simulate(model, 9, 0)
    futures = [simulate(model, 9, 0, fork=Fork(0.0, f"z{i}")) for i in range(5)]
    assert all(f.params == base.params for f in futures)
    assert len({f.event_days for f in futures + [base]}) > 1
