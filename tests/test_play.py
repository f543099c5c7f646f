"""The wargame session's logic: a path revealed turn by turn that later moves cannot change, team views that never
show the truth, checked moves, look-aheads against arithmetic, scripts and replays."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from escalsim.engine import compile_model
from escalsim.play import session as S
from escalsim.play.ahead import look_ahead
from escalsim.play.control import CommandError, ReplayError, Table, now_utc, replay_branch
from escalsim.play.game import Game, Move, MoveError, parse_teams
from escalsim.play.views import team_view, umpire_view
from escalsim.scenario.loader import load_scenario
from tests.worlds import model_of, tolerance

DEFAULT = Path(__file__).resolve().parents[1] / "scenarios" / "dprk_russia_2024.yaml"
TEAMS = ["seoul=rok,nis", "washington=usa,nato,us_intel", "moscow=russia,dprk,belarus", "kyiv=ukraine"]


@pytest.fixture(scope="module")
def model():
    return compile_model(load_scenario(DEFAULT))


def game_of(model, seed=7, turn_days=14.0) -> Game:
    return Game(model, seed, turn_days, parse_teams(TEAMS, model))


def test_a_later_move_does_not_change_the_path_already_revealed(model):
    """The run cut at day T is the same whatever is decided on or after T (the game reveals only the past)."""
    for seed in (1, 2, 3):
        game = game_of(model, seed)
        for _ in range(4):
            game.advance()
        before = game.now.trace
        game.commit(Move("washington", "inject", "washington_allows_deep_strikes", game.day))
        game._cut.clear()
        assert game.now.trace == before
        game.advance()
        assert game.now.trace[:len(before)] == before  # and the next turn extends it


def test_the_revealed_path_is_the_full_run_cut(model):
    """What the game shows after the last turn is the run of (scenario, seed, moves), event for event."""
    from escalsim.engine import simulate
    from escalsim.play.game import engine_moves
    game = game_of(model, 5, turn_days=73.0)
    game.commit(Move("seoul", "block", "seoul_sends_weapons", 0.0, 120.0))
    while not game.over:
        game.advance()
    full = simulate(model, 5, 0, *engine_moves(game.moves)[:1], True, engine_moves(game.moves)[1])
    assert game.now.trace == full.trace


def test_team_views_never_show_the_truth(model):
    """A team's view has its own estimates (lagged, noisy), no 'true now', no deployment arrivals and no other
    team's estimates; the umpire's view has the truth and says so."""
    game = game_of(model, 7)
    for _ in range(5):
        game.advance()
    umpire = "\n".join(umpire_view(game, 0.0))
    assert "the truth" in umpire and "true now" in "\n".join(
        e.text for e in game.happened(0.0))
    for team in game.teams:
        view = "\n".join(team_view(game, team, 0.0))
        assert "true now" not in view
        assert "batch of" not in view  # deployments are seen only through intelligence
    seoul = "\n".join(team_view(game, "seoul", 0.0))
    truth = dict((label, value) for label, value, _ in game.truth())
    estimates = {label: value for label, value, _ in game.estimates("seoul")}
    assert "North Korean troops in Russia" in estimates
    if truth["North Korean troops in Russia"] != estimates["North Korean troops in Russia"]:
        assert f"{truth['North Korean troops in Russia']:,.0f}" not in seoul
    assert "US intelligence" not in seoul  # another team's estimates


def test_moves_are_checked(model):
    game = game_of(model)
    with pytest.raises(MoveError, match="did you mean 'seoul_sends_weapons'"):
        game.check(Move("seoul", "inject", "seoul_sends_weapon", 0.0))
    with pytest.raises(MoveError, match="has no option 'nato_sends_troops'"):
        game.check(Move("seoul", "inject", "nato_sends_troops", 0.0))
    with pytest.raises(MoveError, match="a move this turn is dated 2024-10-15 to 2024-10-28"):
        game.check(Move("seoul", "inject", "seoul_sends_weapons", 20.0))
    with pytest.raises(MoveError, match="need a reason"):
        game.check(Move("umpire", "force", "minsk_joins_war", 0.0))
    with pytest.raises(MoveError, match="force, the umpire only|is no move here"):
        game.check(Move("seoul", "force", "seoul_sends_weapons", 0.0))
    game.commit(Move("washington", "block", "washington_allows_deep_strikes", 0.0, 47.0))
    game.advance()
    with pytest.raises(MoveError, match="declined by washington on 2024-10-15 until 2024-12-01"):
        game.check(Move("washington", "inject", "washington_allows_deep_strikes", 14.0))
    with pytest.raises(MoveError, match="no actor atlantis"):
        parse_teams(["x=atlantis"], model)


def test_look_ahead_against_arithmetic(tmp_path):
    """One option with hazard λ while day >= 0: in futures from day T of a run where it has not fired, it fires
    by the horizon H with probability 1 - exp(-λ (H - T)) (memoryless), and by T itself never."""
    rate = 0.01
    model = model_of(tmp_path, {"options": {"go": {"actor": "a", "label": "go", "when": "day >= 0",
                                                   "hazard": {"per_day": rate}}}})
    game = Game(model, 3, 25.0, {"alpha": ["a"]})
    game.advance()
    assert math.isnan(game.now.event_days[model.events.index("go")]) or pytest.skip("fired in the first turn")
    n = 4000
    ahead = look_ahead(game, None, n)
    row = next(r for r in ahead.rows if r.what.endswith(": go") and "horizon" in r.mark)
    p = 1 - math.exp(-rate * (model.horizon - game.day))
    assert abs(row.p - p) < tolerance(p, n)
    assert row.p_low <= row.p <= row.p_high


def test_look_ahead_with_a_move_is_paired(tmp_path):
    """Forcing the option today makes it certain; the change is 1 - p with a paired interval around it."""
    model = model_of(tmp_path, {"options": {"go": {"actor": "a", "label": "go", "when": "day >= 50",
                                                   "hazard": {"per_day": 0.01}}}})
    game = Game(model, 3, 25.0, {"alpha": ["a"]})
    ahead = look_ahead(game, Move("alpha", "inject", "go", 0.0), 500)
    row = next(r for r in ahead.rows if r.what.endswith(": go") and "horizon" in r.mark)
    assert row.p_move == 1.0
    assert row.diff == pytest.approx(1.0 - row.p)
    assert row.diff_low <= row.diff <= row.diff_high


def _table(model, tmp_path: Path, name: str = "s.yaml") -> Table:
    session = S.Session(scenario=S.ScenarioRef(path=str(DEFAULT), sha256="0" * 64, overrides=[]), seed=7,
                        turn_days=14, teams=parse_teams(TEAMS, model), created=now_utc(), current="main",
                        branches=[S.Branch(name="main", origin=None, turn=0, log=[])])
    return Table(session, tmp_path / name, model)


SCRIPT = ["moves seoul", "decline washington washington_allows_deep_strikes until 2024-12-01 -- wait", "pass moscow",
          "next", "take seoul seoul_expands_nonlethal_aid +2 -- quiet support", "next", "branch alt 1",
          "take washington washington_allows_deep_strikes -- changed our mind", "next", "next", "switch main", "next"]


def test_a_scripted_session_replays_to_the_same_paths(model, tmp_path):
    """Every branch of a saved session replays, from the file alone, to the paths played."""
    table = _table(model, tmp_path)
    for line in SCRIPT:
        table.execute(line)
    played = {b.name: table.game(b.name).now.trace for b in table.session.branches}
    session, _where = S.load_session(tmp_path / "s.yaml")
    for b in session.branches:
        assert replay_branch(model, session, b).now.trace == played[b.name]
    assert session.branch("alt").origin.turn == 0 and session.current == "main"


def test_a_tampered_session_does_not_replay(model, tmp_path):
    """A move edited by hand changes the path: the replay names the branch and the log entry."""
    table = _table(model, tmp_path)
    for line in SCRIPT[:6]:
        table.execute(line)
    text = (tmp_path / "s.yaml").read_text()
    (tmp_path / "s.yaml").write_text(text.replace("until: \"2024-12-01\"", "until: \"2024-10-20\""))
    session, _ = S.load_session(tmp_path / "s.yaml")
    with pytest.raises(ReplayError, match="branch main, log entry .*differs from the one played"):
        replay_branch(model, session, session.branch("main"))


def test_bad_commands_say_what_is_allowed(model, tmp_path):
    table = _table(model, tmp_path)
    for line, message in [("mvoes seoul", "did you mean 'moves'"), ("look atlantis", "no team 'atlantis'"),
                          ("take seoul", "usage: take TEAM OPTION"), ("ahead --futures lots", "whole number"),
                          ("take seoul seoul_sends_weapons 2024-13-01", "not a date"),
                          ("switch nowhere", "no branch 'nowhere'"), ("branch alt 9", "fork it from a turn")]:
        with pytest.raises(CommandError, match=message):
            table.execute(line)
    assert table.execute("") == []


def test_teams_in_the_scenario_are_checked(tmp_path):
    """`teams:` names actors that exist, each in one team, and no team called umpire; play uses them."""
    from escalsim.errors import ScenarioError
    from tests.worlds import write
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, {"teams": {"blue": ["a", "zz"], "red": ["a"], "umpire": ["b"]}}))
    text = str(err.value)
    assert "unknown actor 'zz'" in text and "already in team 'blue'" in text and "'umpire' is the facilitator" in text
    model = compile_model(load_scenario(write(tmp_path, {"teams": {"blue": ["a"], "red": ["b"]}}, "ok.yaml")))
    assert parse_teams([], model) == {"blue": ["a"], "red": ["b"]}


def test_the_arm_without_a_move_is_computed_ahead_at_every_turn(model, tmp_path):
    """At the prompt, each new state (a turn, a move) starts computing its futures without a move in the
    background, and a look-ahead then reuses them: the cache holds the current state's arm after each command."""
    from escalsim.play.ahead import FUTURES
    table = _table(model, tmp_path)
    table.prefetch, table.backend = True, lambda: _Serial()
    for line in ["look", "next", "take seoul seoul_expands_nonlethal_aid -- x", "next"]:
        table.execute(line)
        if table._pending is not None:
            table._pending.join()  # done, as when the room talks; the table is not told
        game = table.game()
        assert (game.seed, game.run, game.day, tuple(game.moves), FUTURES) in table._aheads, line
    table.close()


class _Serial:
    """A backend running in the calling thread (the test needs the caching, not the processes)."""

    workers = 1

    def start(self):
        pass

    def stop(self, kill):
        pass

    def map_ordered(self, fn, job, ranges):
        return (fn(job, a, b) for a, b in ranges)


def test_a_bad_script_is_refused_before_the_session_file_is_written(tmp_path):
    """A misspelt `commands:` key: exit 1 at the script's line, naming the key found; no session file left."""
    from click.testing import CliRunner

    from escalsim.cli import main
    script = tmp_path / "s.yaml"
    script.write_text("comands:\n  - next\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["play", str(DEFAULT), "--script", str(script), "--session",
                                       str(tmp_path / "game.yaml")])
    assert result.exit_code == 1 and f"{script}:1:" in result.output and "(found 'comands')" in result.output
    assert not (tmp_path / "game.yaml").exists()
