"""The session file of `escalsim play`: a round trip that changes nothing, atomic writes that leave the previous file
whole when writing fails, a located error (never a traceback) for every kind of damaged or hand-edited file, and the
fork of a branch."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from escalsim.errors import ScenarioError
from escalsim.montecarlo import files
from escalsim.montecarlo.files import ResultsWriteError
from escalsim.play import session as module
from escalsim.play.session import (
    FORMAT,
    MAX_BYTES,
    AheadEntry,
    Branch,
    Move,
    MoveEntry,
    NextEntry,
    NoteEntry,
    PassEntry,
    ScenarioRef,
    Session,
    fork,
    load_session,
    now,
    save_session,
)

AT = dt.datetime(2026, 11, 28, 11, 30, tzinfo=dt.timezone.utc)
DAY = dt.date(2024, 10, 20)
TRICKY = ["", "null", "yes", "No", "~", "2024-10-20", "12", "1e3", ".inf", "a: b", "#x", "- x", "[x]", "{x}", "é",
          "\x85", "\u2028", "\ufeff", "\x7f", "\x1b[1m", "😀", "\ud800", "\t tab", "two\r\nlines", "\\", "'\"", "x y "]


def played() -> Session:
    """A session of one turn and a half on branch main: every kind of entry, tricky texts and numbers."""
    session = Session(
        scenario=ScenarioRef(path="scenarios/dprk_russia_2024.yaml", sha256="0123456789abcdef" * 4,
                             overrides=["deployments.dprk_to_russia.schedule.0.size=2000"]),
        seed=7, turn_days=14, created=AT, current="main", branches=[Branch(name="main", origin=None, turn=0)],
        teams={"seoul": ["south_korea"], "washington": ["usa", "nato"], "moscow": ["russia", "dprk"]})
    main = session.branch()
    main.record(MoveEntry(turn=0, team="seoul", action="inject", option="seoul_sends_weapons", day=DAY,
                          reason="we: \"go\"\nnow", at=AT))
    main.record(MoveEntry(turn=0, team="washington", action="block", option="us_allows_deep_strikes",
                          day=dt.date(2024, 10, 15), until=dt.date(2024, 12, 1), at=AT))
    main.record(PassEntry(turn=0, team="moscow", at=AT))
    main.record(AheadEntry(turn=0, team="seoul", move=Move(action="inject", option="seoul_sends_weapons", day=DAY),
                           futures=2000, seed_key="7/main/0/seoul", at=AT,
                           result={"p": 0.25, "ci": [0.2, 0.3], "tiny": 2.5e-07, "big": 1e16, "n": None, "ok": True,
                                   "texts": TRICKY, "nested": {"a b": {"c": [1, -0.0, 3.0]}}}))
    main.record(AheadEntry(turn=0, team="umpire", move=None, futures=500, seed_key="k", result={}, at=AT,
                           figure="figures/ahead-0.png"))
    main.record(NextEntry(turn=0, at=AT))
    main.record(MoveEntry(turn=1, team="umpire", action="force", option="belarus_stays_out", day=dt.date(2024, 11, 1),
                          reason="the room agrees", at=AT))
    main.record(NoteEntry(turn=1, team="umpire", text="Seoul regrets; see branch alt", at=AT))
    return session


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> str:
    """The text of the played session as saved."""
    path = tmp_path_factory.mktemp("good") / "session.yaml"
    save_session(played(), path)
    return path.read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line holding needle."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def refused(tmp_path: Path, text: str | bytes, name: str = "session.yaml") -> ScenarioError:
    """The error of loading a file with this content (which must be refused, without a traceback)."""
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    with pytest.raises(ScenarioError) as info:
        load_session(path)
    assert "Traceback" not in str(info.value)
    assert all(p.file == str(path) for p in info.value.problems)
    return info.value


def edited(good: str, old: str, new: str) -> str:
    """The good text with its first `old` replaced by `new` (which must be there)."""
    assert old in good, old
    return good.replace(old, new, 1)


# ------------------------------------------------------------------------------------------------------ round trip


@pytest.mark.parametrize("name", ["session.yaml", "session.json"])
def test_save_then_load_gives_the_same_session(tmp_path, name):
    session = played()
    path = tmp_path / name
    save_session(session, path)
    loaded, where = load_session(path)
    assert loaded == session
    assert loaded.branch().moves() == session.branch().moves()
    assert loaded.branch().log[3].result["texts"] == TRICKY
    save_session(loaded, tmp_path / ("again" + path.suffix))
    assert (tmp_path / ("again" + path.suffix)).read_bytes() == path.read_bytes()
    if name.endswith(".json"):
        assert json.loads(path.read_text(encoding="utf-8"))["format"] == FORMAT


def test_the_yaml_is_readable_one_entry_a_line_with_how_to_resume(good):
    assert "escalsim play --resume FILE" in good and "escalsim play --replay FILE" in good
    lines = good.splitlines()
    assert "format: escalsim-session/1" in lines and "current: main" in lines
    entries = [line for line in lines if line.startswith("      - {kind: ")]
    assert len(entries) == len(played().branch().log)
    assert entries[1] == ('      - {kind: move, turn: 0, team: washington, action: block, '
                          'option: us_allows_deep_strikes, day: "2024-10-15", until: "2024-12-01", reason: "", '
                          'at: "2026-11-28T11:30:00Z"}')
    assert "until" not in entries[0] and "figure" not in entries[3]  # optional fields left empty are not written


def test_where_locates_any_value_for_the_games_checks(tmp_path, good):
    path = tmp_path / "session.yaml"
    path.write_text(good, encoding="utf-8")
    _, where = load_session(path)
    file, line, column = where(("branches", 0, "log", 6, "option"))
    assert (file, line) == (str(path), line_of(good, "belarus_stays_out"))
    assert good.splitlines()[line - 1][column - 1:].startswith("belarus_stays_out")
    assert where(("teams", "moscow", 1))[1] == line_of(good, "moscow: [russia, dprk]")
    assert where(("branches", 0, "log", 99, "day"))[1] == line_of(good, "log:") + 1  # not there: the log's


def test_hand_written_times_and_dates_unquoted_are_read(tmp_path, good):
    text = edited(good, 'day: "2024-10-15", until: "2024-12-01"', "day: 2024-10-15, until: 2024-12-01")
    text = edited(text, 'created: "2026-11-28T11:30:00Z"', "created: 2026-11-28T12:30:00+01:00")
    path = tmp_path / "session.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_session(path)[0] == played()


def test_now_is_an_aware_utc_time_to_the_second():
    moment = now()
    assert moment.tzinfo is not None and moment.utcoffset() == dt.timedelta(0) and moment.microsecond == 0


# ----------------------------------------------------------------------------------------------------- atomic writes


def test_a_write_failing_half_way_leaves_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "session.yaml"
    save_session(played(), path)
    before = path.read_bytes()

    def half(fh, data):
        fh.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(module, "_write_all", half)
    changed = played()
    changed.branch().record(NoteEntry(turn=1, team="seoul", text="lost", at=AT))
    with pytest.raises(ResultsWriteError, match=f"cannot save the session file {path}: No space left on device"):
        save_session(changed, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["session.yaml"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_is_a_clear_error_and_the_previous_file_stays(tmp_path, monkeypatch):
    """The temporary file is opened on /dev/full: the kernel itself refuses the bytes (ENOSPC)."""
    path = tmp_path / "session.yaml"
    save_session(played(), path)
    before = path.read_bytes()
    monkeypatch.setattr(files, "open", lambda _name, mode: open("/dev/full", mode), raising=False)
    with pytest.raises(ResultsWriteError, match="cannot save the session file .*: No space left on device") as info:
        save_session(played(), path)
    assert info.value.errno == errno.ENOSPC and "Traceback" not in str(info.value)
    assert path.read_bytes() == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_a_clear_error_and_the_previous_file_stays(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "session.yaml"
    save_session(played(), path)
    before = path.read_bytes()
    folder.chmod(0o555)
    try:
        with pytest.raises(ResultsWriteError, match="cannot save the session file .*: Permission denied"):
            save_session(played(), path)
    finally:
        folder.chmod(0o755)
    assert path.read_bytes() == before


def test_a_session_that_could_not_be_loaded_is_not_saved(tmp_path):
    path = tmp_path / "session.yaml"
    save_session(played(), path)
    before = path.read_bytes()
    session = played()
    session.branch().log.append(NoteEntry(turn=0, team="seoul", text="written in the past", at=AT))
    with pytest.raises(ValueError, match=r"not saved: branches\[0\]\.log\[8\]\.turn: turn 0 does not follow"):
        save_session(session, path)
    session = played()
    session.branch().log[3].result["p"] = float("nan")  # results are plain data: a NaN cannot be read back
    with pytest.raises(ValueError, match=r"not saved: branches\[0\]\.log\[3\]\.ahead\.result: .*nan \(at p\)"):
        save_session(session, path)
    assert path.read_bytes() == before


def test_assignments_are_validated():
    move = played().branch().log[1]
    with pytest.raises(ValidationError, match="until .* must be after day"):
        move.until = dt.date(2024, 10, 1)
    with pytest.raises(ValidationError):
        played().branch().turn = -1


# ------------------------------------------------------------------------------------------------ damaged files


@pytest.mark.parametrize(("old", "new", "line_with", "message"), [
    ("seed: 7", "seed: seven", "seed:", "seed: Input should be a valid integer (got 'seven')"),
    ("seed: 7", "seed: true", "seed:", "seed: Input should be a valid integer (got True)"),
    ("turn_days: 14", "turn_dayz: 14", "turn_dayz", "unknown key 'turn_dayz' (did you mean 'turn_days'?); allowed "
     "here: format, scenario, seed, turn_days, teams, created, current, branches"),
    ("{kind: pass, turn: 0, team: moscow,", "{kind: pass, turn: 0, team: moscow, reasn: x,", "reasn",
     "branches[0].log[2].reasn: unknown key 'reasn' (did you mean 'reason'?); allowed here: kind, turn, team, "
     "reason, at"),
    ('day: "2024-10-20"', 'day: "2024-10-32"', "2024-10-32", "branches[0].log[0].day: Input should be a valid date"),
    ('day: "2024-10-20"', "day: 2024-10-32", "2024-10-32", "YAML error: day is out of range for month"),
    ('day: "2024-10-20"', "day: 20241020", "20241020", "expected a date written YYYY-MM-DD, not the number 20241020"),
    ('reason: "the room agrees"', 'reason: " "', "belarus", "branches[0].log[6].reason: the umpire's move needs a "
     "reason"),
    (', reason: "the room agrees"', "", "belarus", "the umpire's move needs a reason"),
    ('until: "2024-12-01"', 'until: "2024-10-01"', "2024-10-01", "branches[0].log[1].until: until (2024-10-01) must "
     "be after day (2024-10-15)"),
    ('day: "2024-10-20", reason', 'day: "2024-10-20", until: "2024-11-01", reason', "2024-11-01",
     "until is only for action: block"),
    ("action: inject", "action: injct", "injct", "Input should be 'inject', 'force' or 'block' (got 'injct')"),
    ("{kind: pass,", "{kind: pas,", "kind: pas,", "branches[0].log[2]: unknown kind 'pas' (did you mean 'pass'?); "
     "allowed: move, pass, ahead, next, note"),
    ("{kind: pass, ", "{", "team: moscow", "a log entry needs a kind; allowed: move, pass, ahead, next, note"),
    ('{kind: next, turn: 0, at: "2026-11-28T11:30:00Z"}', "5", "      - 5", "a log entry is a mapping with kind: "
     "move, pass, ahead, next, note (got 5)"),
    ('at: "2026-11-28T11:30:00Z"}', 'at: "2026-11-28T11:30:00"}', "11:30:00\"}", "Input should have timezone info"),
    ('at: "2026-11-28T11:30:00Z"}', "at: 1764329400}", "1764329400", "expected a time written YYYY-MM-DDTHH:MM:SSZ"),
    ("p: 0.25", "p: .nan", ".nan", "nan (at p) cannot be in a result"),
    ("p: 0.25", "p: 2024-01-01", "2024-01-01", "the date 2024-01-01 (at p) cannot be in a result"),
    ("figure: figures/ahead-0.png", "figure: ../../etc/passwd", "passwd", "expected a relative path"),
    ('sha256: "0123', 'sha256: "X123', "X123", "scenario.sha256: expected the scenario's SHA-256: 64 lower-case hex"),
    ("seed: 7", "seed: 7\nseed: 8", "seed: 8", 'duplicate key "seed"'),
    ("seed: 7\n", "", "", "seed: missing required key 'seed'"),
    ("  seoul: [south_korea]", "  Seoul: [south_korea]", "Seoul", "teams.Seoul: the key 'Seoul': expected a lower-case "
     "identifier"),
    # consistency within the session
    ("current: main", "current: mian", "current:", "current: no branch 'mian'; the branches are: main"),
    ("team: moscow", "team: mosco", "team: mosco,", "unknown team 'mosco' (did you mean 'moscow'?); teams: seoul, "
     "washington, moscow, umpire"),
    ("team: umpire, action: force", "team: seoul, action: force", "belarus", "branches[0].log[6].action: only the "
     "umpire forces an event"),
    ("{kind: note, turn: 1", "{kind: note, turn: 0", "kind: note", "branches[0].log[7].turn: turn 0 does not follow "
     "the log: 1 turn ended"),
    ("    turn: 1\n", "    turn: 2\n", "    turn: 2", "branches[0].turn: turn is 2, but the log ends 1 turn"),
    ("  moscow: [russia, dprk]", "  moscow: [russia, dprk, usa]", "moscow:", "teams.moscow[2]: actor 'usa' is "
     "already in team 'washington'"),
    ("  seoul: [south_korea]", "  seoul: [south_korea]\n  umpire: [un]", "umpire: [un]", "teams.umpire: 'umpire' "
     "is the umpire's name, not a team's"),
])
def test_a_hand_edited_file_gets_a_located_clear_error(tmp_path, good, old, new, line_with, message):
    text = edited(good, old, new)
    error = refused(tmp_path, text)
    assert message in str(error), str(error)
    problem = next(p for p in error.problems if message in str(p))
    if line_with:
        assert problem.line == line_of(text, line_with), str(error)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("format: escalsim-session/1", "format: escalsim-session/2", "format: format 'escalsim-session/2' is not a "
     "session format this escalsim reads; the formats escalsim"),
    ("format: escalsim-session/1\n", "", "not an escalsim session file: there is no format: key (a session file "
     "begins with format: escalsim-session/1"),
])
def test_a_wrong_format_marker_says_which_formats_are_read(tmp_path, good, old, new, message):
    error = refused(tmp_path, edited(good, old, new))
    assert len(error.problems) == 1 and message in str(error)
    assert f"reads: {FORMAT}" in str(error)


@pytest.mark.parametrize(("text", "message"), [
    ("- a\n- b\n", "1:1: a session file is a YAML mapping (key: value lines) at the top level"),
    ("  \n", "1:1: file is empty; a session file needs at least format: escalsim-session/1"),
    (b"format: \x00\x01", "1:1: file is binary (contains NUL bytes); a session file is UTF-8 YAML text"),
    (b"format: \xff\n", "1:1: file is not UTF-8 text"),
    ("format: escalsim-session/1\nseed: !!python/object:os.system 7\n", "2:7: YAML tag "
     "'tag:yaml.org,2002:python/object:os.system' is not allowed: session files hold plain mappings"),
    ("format: escalsim-session/1\nx: " + "[" * 50 + "]" * 50 + "\n", "nesting deeper than 40 levels"),
    ("format: escalsim-session/1\na: &a [1]\n" + "".join(f"b{i}: *a\n" for i in range(150)), "more than 100 aliases"),
    ("format: escalsim-session/1\nseed: [7\n", "YAML error"),
    ("name: x\nstart: 2024-10-15\nactors: {}\n", "this is a scenario, not a session file: start a session with "
     "`escalsim play SCENARIO`"),
])
def test_a_file_that_is_no_session_gets_a_clear_error(tmp_path, text, message):
    assert message in str(refused(tmp_path, text))


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path):
    text = "format: escalsim-session/1\n" + "# padding\n" * (MAX_BYTES // 10)
    message = str(refused(tmp_path, text))
    assert f"1:1: file is larger than {MAX_BYTES:,} bytes; a session file should be far smaller" in message


def test_a_json_session_is_read_by_the_same_loader_and_located(tmp_path, good):
    path = tmp_path / "session.json"
    save_session(played(), path)
    text = path.read_text(encoding="utf-8").replace('"seed": 7', '"seed": "7"')
    error = refused(tmp_path, text, "session.json")
    assert error.problems[0].line == line_of(text, '"seed"') and "valid integer" in str(error)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read the file: No such file or directory"):
        load_session(tmp_path / "nope.yaml")


# -------------------------------------------------------------------------------------------------------- branches


def test_fork_replays_the_turns_before_and_keeps_the_parent():
    session = played()
    alt = fork(session, "main", 1, "alt")
    assert alt.origin.branch == "main" and alt.origin.turn == 1 and alt.turn == 1
    assert alt.log == session.branch("main").log[:6] and isinstance(alt.log[-1], NextEntry)
    alt.log[0].reason = "changed in the fork only"
    assert session.branch("main").log[0].reason != alt.log[0].reason
    assert [b.name for b in session.branches] == ["main"]  # fork returns the branch; the caller adds it


def test_a_fork_from_the_start_is_empty_and_a_forked_session_is_saved_and_read(tmp_path):
    session = played()
    start = fork(session, "main", 0, "from_start")
    assert start.log == [] and start.turn == 0
    session.branches += [start, fork(session, "main", 1, "alt")]
    session.branch("alt").record(MoveEntry(turn=1, team="seoul", action="block", option="seoul_sends_weapons",
                                           day=dt.date(2024, 11, 2), at=AT))
    session.branches.append(fork(session, "alt", 1, "alt_again"))
    session.current = "alt"
    path = tmp_path / "session.yaml"
    save_session(session, path)
    assert load_session(path)[0] == session


@pytest.mark.parametrize(("branch", "turn", "name", "message"), [
    ("nope", 0, "x", "no branch 'nope'; the branches are: main"),
    ("main", 2, "x", r"branch 'main' has ended 1 turn; fork it from a turn in 0..1, not 2"),
    ("main", -1, "x", r"fork it from a turn in 0..1, not -1"),
    ("main", 0, "main", "there is already a branch 'main'"),
    ("main", 0, "Alt Branch", "branch name 'Alt Branch': expected a lower-case identifier"),
])
def test_fork_refuses_what_cannot_be(branch, turn, name, message):
    with pytest.raises(ValueError, match=message):
        fork(played(), branch, turn, name)


def test_a_fork_whose_shared_turns_were_edited_is_refused(tmp_path, good):
    session = played()
    session.branches.append(fork(session, "main", 1, "alt"))
    path = tmp_path / "session.yaml"
    save_session(session, path)
    text = path.read_text(encoding="utf-8")
    second = text.index("  - name: alt")
    text = text[:second] + text[second:].replace("option: us_allows_deep_strikes", "option: us_allows_more", 1)
    error = refused(tmp_path, text)
    assert error.problems[0].line == line_of(text, "us_allows_more")
    assert "branches[1].log[1]: differs from entry 1 of branch 'main' (branches[0]), forked at turn 1" in str(error)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("origin: {branch: main, turn: 1}", "origin: {branch: nope, turn: 1}", "branches[1].origin.branch: no branch "
     "'nope' before this one to fork from"),
    ("origin: {branch: main, turn: 1}", "origin: {branch: main, turn: 2}", "branches[1].origin.turn: branch 'main' "
     "has ended 1 turn; a fork is from one of turns 0..1"),
])
def test_an_origin_that_does_not_exist_is_refused(tmp_path, old, new, message):
    session = played()
    session.branches.append(fork(session, "main", 1, "alt"))
    path = tmp_path / "session.yaml"
    save_session(session, path)
    text = edited(path.read_text(encoding="utf-8"), old, new)
    error = refused(tmp_path, text)
    assert message in str(error) and error.problems[0].line == line_of(text, "origin: {branch")


def test_record_keeps_the_turns_in_order():
    main = played().branch()
    with pytest.raises(ValueError, match="branch 'main' is in turn 1; an entry of turn 0 cannot be added"):
        main.record(PassEntry(turn=0, team="seoul", at=AT))
    main.record(NextEntry(turn=1, at=AT))
    assert main.turn == 2 and [m.option for m in main.moves()][-1] == "belarus_stays_out"
