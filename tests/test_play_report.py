"""The after-action report of a play session (`escalsim report --session`): every move, what each team knew at
its decisions, every look-ahead beside what the path then did (checked against the game itself), both branches,
a page that parses with its images embedded; and the bad inputs refused cleanly."""

from __future__ import annotations

import base64
import html
import json
import math
import re
import shlex
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from escalsim.cli import main
from escalsim.engine import compile_model
from escalsim.montecarlo.records import event_labels
from escalsim.play.ahead import stored_rows
from escalsim.play.control import replay_branch
from escalsim.play.session import load_session
from escalsim.scenario.loader import load_scenario

ROOT = Path(__file__).parent.parent
DPRK = ROOT / "scenarios" / "dprk_russia_2024.yaml"
TEAMS = ["--teams", "seoul=rok,nis", "--teams", "washington=usa,nato,us_intel", "--teams",
         "moscow=russia,dprk,belarus", "--teams", "kyiv=ukraine"]
SCRIPT = ["ahead washington washington_allows_deep_strikes --futures 20",
          "decline washington washington_allows_deep_strikes until 2024-12-01 -- wait for <Seoul>",
          "pass moscow -- nothing to gain", "next", "next", "next", "next",
          "branch alt 1", "take washington washington_allows_deep_strikes -- changed our mind", "next",
          "ahead --futures 20", "next"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def play(folder: Path, name: str = "game.yaml") -> Path:
    """A scripted session in `folder` (two branches, two look-aheads), and its path."""
    (folder / "s.yaml").write_text(json.dumps({"commands": SCRIPT}))
    result = invoke("play", DPRK, "--seed", 7, *TEAMS, "--script", folder / "s.yaml", "--session", folder / name,
                    "--workers", 1)
    assert result.exit_code == 0, result.output
    return folder / name


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    """The session, its report's text and HTML, and each branch's game rebuilt from the log."""
    session_path = play(tmp_path_factory.mktemp("aar"))
    result = invoke("report", "--session", session_path)
    assert result.exit_code == 0, result.output
    out = session_path.with_name("game-report.html")
    assert result.output.strip() == str(out)
    page = out.read_text()
    session, _ = load_session(session_path)
    model = compile_model(load_scenario(DPRK))
    games = {b.name: replay_branch(model, session, b) for b in session.branches}
    return session, page, html.unescape(re.sub(r"<[^>]+>", " ", page)), games


class Page(HTMLParser):
    """The page's <img> sources, and a check that every element closes."""

    def __init__(self):
        super().__init__()
        self.images, self.open = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))
        elif tag not in ("meta", "br", "wbr", "img", "path", "use", "rect", "circle", "line", "stop"):
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs).get("src", ""))

    def handle_endtag(self, tag):
        if tag in ("meta", "br", "wbr"):
            return
        assert self.open and self.open[-1] == tag, (tag, self.open[-5:])
        self.open.pop()


def squeeze(text: str) -> str:
    return " ".join(text.split())


def test_the_page_parses_and_its_images_are_embedded(played):
    _, page, _, _ = played
    parser = Page()
    parser.feed(page)
    assert parser.images, "the look-ahead's fan chart is embedded"
    for src in parser.images:
        prefix, _, data = src.partition("base64,")
        assert prefix == "data:image/png;" and data
        assert base64.b64decode(data).startswith(b"\x89PNG")
    assert page.count("<svg") >= 3  # a timeline per branch and the comparison
    assert not re.search(r"""(src|href)=["']?(https?:)?//|url\(\s*["']?(https?:)?//""", page)  # no network


def test_every_move_and_reason_is_in_the_report_escaped(played):
    session, page, text, _ = played
    moves = [x for b in session.branches for x in b.log if x.kind == "move"]
    assert len(moves) == 2
    flat = squeeze(text)
    for x in moves:
        until = f" until {x.until}" if x.until else ""
        verb = {"inject": "takes", "block": "declines"}[x.action]
        assert f"{verb} {x.option} on {x.day}{until}" in flat
        assert x.reason in flat and x.at.strftime("%Y-%m-%d %H:%M:%S UTC") in flat
    assert "wait for &lt;Seoul&gt;" in page and "<Seoul>" not in page
    assert "passes" in flat and "nothing to gain" in flat


def test_each_decision_stands_beside_the_teams_estimates_at_its_turn(played):
    session, _, text, games = played
    flat = squeeze(text)
    for branch in session.branches:
        game = games[branch.name]
        for x in branch.log:
            if x.kind not in ("move", "pass"):
                continue
            saved, game.turn = game.turn, x.turn
            try:
                estimates, truth = game.estimates(x.team), game.truth()
            finally:
                game.turn = saved
            for label, value, day in estimates:
                learnt = f"learnt {game.date(day)}" if day is not None else "since the start"
                assert f"{label}: ~{value:,.0f} ({learnt})" in flat
            for label, value, _ in truth:
                assert f"{label}: {value:,.0f}" in flat


def expected_statuses(game, outcome: str, marks: list[str]) -> list[str]:
    """What the path did, from the game's own record: the first day of the outcome before the game's day."""
    model, rec = game.model, game.now
    days = {f"{t.label} at or above {r}": rec.at_or_above[t.offset + k]
            for t in model.tracks for k, r in enumerate(t.rung_labels)}
    labels = event_labels(model)
    days |= {labels.get(ev, ev): rec.event_days[j] for j, ev in enumerate(model.events)}
    first = days[outcome]
    out = []
    for mark in marks:
        end = (__import__("datetime").date.fromisoformat(mark[3:13]) - model.start).days + 1
        if not math.isnan(first) and first < min(end, game.day):
            out.append(f"happened by then ({game.date(first)})")  # seen before the date, whether or not reached
        elif game.day < end:
            out.append("not reached in the game")
        else:
            out.append("not by then")
    return out


def test_every_look_ahead_is_set_beside_what_the_path_did(played):
    session, page, text, games = played
    flat = squeeze(text)
    aheads = [(b, x) for b in session.branches for x in b.log
              if x.kind == "ahead" and x.turn >= (b.origin.turn if b.origin else 0)]
    assert len(aheads) == 2
    claimed = 0
    for branch, x in aheads:
        marks = x.result["marks"]
        shared = [b for b in session.branches if b.name == branch.name or x.turn == 0]  # main's turn 1: both
        for forecast in stored_rows(x.result):
            what = forecast[0].what
            for name in [b.name for b in shared]:
                statuses = expected_statuses(games[name], what, marks)
                if not any(r.p or r.p_move for r in forecast) and not any(
                        s.startswith("happened") for s in statuses):
                    continue
                cells = " ".join(f"{name}: {s}" for s in statuses)
                assert all(f"{name}: {s}" in flat for s in statuses), (what, cells)
                claimed += sum(s.startswith("happened") for s in statuses)
    assert "not reached in the game" in flat and "not by then" in flat and claimed
    assert flat.count("happened by then") == claimed  # no event claimed that the path does not hold
    assert "one path can neither confirm nor refute a probability" in flat
    assert re.search(r"Look-ahead \d: washington takes washington_allows_deep_strikes", flat)  # its own move
    assert re.search(r"Look-ahead \d: no move", flat)


def test_both_branches_are_shown_and_compared(played):
    _, _, text, games = played
    flat = squeeze(text)
    for name, game in games.items():
        assert f"Branch {name}" in flat and f"{game.turn} turns played, to {game.date()}" in flat
    assert "Branches alt and main part at the start of turn 1 (2024-10-15)." in flat
    assert "alt: made the move (read the forecast with it); main: did not make it" in flat


def test_no_event_is_told_that_the_path_does_not_hold(played):
    _, _, text, games = played
    flat = squeeze(text)
    for game in games.values():
        for e in game.happened(0.0):
            assert squeeze(e.text) in flat
    assert "Nuclear use" not in [label for g in games.values() for label, _ in g.levels()]


# --- bad input ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def session_file(played, tmp_path_factory):
    session, *_ = played
    folder = tmp_path_factory.mktemp("bad")
    path = folder / "game.yaml"
    from escalsim.play.session import save_session
    save_session(session, path)
    return path


def test_a_damaged_session_gets_its_located_errors(session_file):
    bad = session_file.with_name("bad.yaml")
    bad.write_text(session_file.read_text().replace("seed: 7", "seed: -7"))
    result = invoke("report", "--session", bad)
    assert result.exit_code == 1
    assert re.search(rf"{re.escape(str(bad))}:\d+:\d+: seed", result.output), result.output
    assert "Traceback" not in result.output and not bad.with_name("bad-report.html").exists()


def test_a_scenario_changed_since_the_session_is_refused(session_file):
    changed = session_file.with_name("changed.yaml")
    changed.write_text(DPRK.read_text().replace("title: North Korean", "title: Changed, North Korean"))
    assert changed.read_text() != DPRK.read_text()
    moved = session_file.with_name("moved.yaml")
    moved.write_text(session_file.read_text().replace(json.dumps(str(DPRK)), json.dumps(str(changed))))
    result = invoke("report", "--session", moved)
    assert result.exit_code == 1
    assert "has changed since the session was played" in result.output, result.output


@pytest.mark.parametrize("where, why", [("nowhere/r.html", "does not exist"), ("game.yaml/r.html", "is not a folder")])
def test_an_unwritable_out_is_refused_before_any_work(session_file, where, why):
    result = invoke("report", "--session", session_file, "--out", session_file.parent / where)
    assert result.exit_code == 1 and "cannot write the report" in result.output and why in result.output


@pytest.mark.parametrize("args", [[], ["results", "--session", "game.yaml"]])
def test_a_directory_or_a_session_exactly(session_file, args, monkeypatch):
    monkeypatch.chdir(session_file.parent)
    (session_file.parent / "results").mkdir(exist_ok=True)
    result = invoke("report", *args)
    assert result.exit_code == 2 and "give a results DIRECTORY or --session SESSION" in result.output


def test_the_help_examples_of_a_session_report_run(session_file, tmp_path, monkeypatch):
    """Each `escalsim report --session FILE` line of --help runs, once FILE is a session played from a script."""
    help_text = invoke("report", "--help").output
    lines = [line.strip().removeprefix("e.g. ") for line in help_text.splitlines() if "--session" in line
             and line.strip().removeprefix("e.g. ").startswith("escalsim report")]
    assert lines
    monkeypatch.chdir(tmp_path)
    for line in lines:
        args = shlex.split(line)[1:]
        name = args[args.index("--session") + 1]
        if not Path(name).exists():
            Path(name).write_text(session_file.read_text())
        result = invoke(*args)
        assert result.exit_code == 0, f"{line}\n{result.output}"
        assert Path(name).with_name(f"{Path(name).stem}-report.html").is_file()


def test_a_session_not_yet_played_reports_without_a_warning(tmp_path, recwarn):
    (tmp_path / "s.yaml").write_text(json.dumps({"commands": ["look"]}))
    result = invoke("play", DPRK, "--script", tmp_path / "s.yaml", "--session", tmp_path / "g.yaml")
    assert result.exit_code == 0, result.output
    result = invoke("report", "--session", tmp_path / "g.yaml")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "g-report.html").is_file()
    assert not [w for w in recwarn if "xlim" in str(w.message)]  # matplotlib: "identical low and high xlims"
