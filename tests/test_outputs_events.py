"""Events are results: the summary, the CSVs and the report lead with the main events by date, show the moves made
in every run, say "at or above" where they mean it, and give a cause only for a rung entered."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import html  # noqa: E402
import itertools  # noqa: E402
import re  # noqa: E402
import types  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from results_factory import build_results  # noqa: E402
from worlds import TRACKS, merge, write  # noqa: E402

import escalsim  # noqa: E402
from escalsim.outputs import analysis, contract, labels, plots, report, report_tables, tables  # noqa: E402
from escalsim.outputs.csv_files import CSV_FILES, summary_frame, write_csv  # noqa: E402
from escalsim.stats import wilson  # noqa: E402

LONG = ("answers with a very long and winding statement that goes on and on about its reasons, its allies, its "
        "history and its many grievances against the other side")
WORLD = merge(TRACKS, {
    "horizon_days": 60,
    "checkpoints": {"d20": "2025-01-20", "d40": "2025-02-09"},
    "flags": ["joined"],
    "treaties": {"pact": {"label": "Pact", "parties": ["a", "b"], "casus_foederis": "day >= 3",
                          "steps": [{"id": "signed", "date": "2024-12-01"}],
                          "obligations": [{"party": "b", "label": "help", "compliance": 0.5, "delay_days": 2}]}},
    "options": {
        "announce": {"actor": "a", "label": "announces its aims", "when": "day >= 0", "probability": 1},
        "widen": {"actor": "a", "label": "widen", "when": "day >= 5", "probability": 0.5,  # w0 -> w2: w1 passed over
                  "effects": [{"step": {"track": "wide", "by": 2}}, {"flag": "joined"}]},
        "talk": {"actor": "a", "label": LONG, "when": "day >= 1", "hazard": {"per_day": 0.05}, "repeatable": True},
        "escalate": {"actor": "b", "label": "escalate", "when": "wide >= rung('w2')", "probability": 0.5,
                     "delay_days": 3, "effects": [{"ladder": "m1"}]}}})
MAIN = ["announce", "widen", "talk", "escalate", "joined", "pact", "pact.casus_foederis", "pact.b"]
ORDER = [tables.EVENTS_TITLE, tables.RUNGS_TITLE, tables.PASSAGE_TITLE, tables.ENTERED_TITLE, "Key variables",
         "Decisions taken more than once"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write(tmp_path_factory.mktemp("events"), WORLD)


@pytest.fixture(scope="module")
def results(world):
    return build_results(world, runs=200, seed=7, trace_runs=2)


@pytest.fixture(scope="module")
def moved(world, tmp_path_factory):
    """A results directory of real runs with moves made in every run."""
    settings = escalsim.Settings(runs=60, seed=3, workers=1, trace_runs=2,
                                 injections=[escalsim.Injection(day=10, option="escalate")],
                                 blocks=[escalsim.Block(option="widen", start=0, until=30)])
    out = escalsim.run(escalsim.load_scenario(world), tmp_path_factory.mktemp("moved") / "r", settings)
    return escalsim.load_results(out)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def page(results):
    """The report, with two of its figures (the events first), so that it renders fast."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report.plots, "drawings", lambda r, drawings=plots.drawings: drawings(r, ["events", "max_rung"]))
        return report.render(results)


def summary(results, width=100) -> list[str]:
    return list(tables.summary(results.runs, results.manifest, width=width))


# --- what happened, by when --------------------------------------------------------------------------------
def test_event_kinds_are_read_from_the_names(results):
    kinds = contract.event_kinds(results.manifest)
    assert kinds == {"announce": "option", "widen": "option", "talk": "option", "escalate": "option",
                     "joined": "flag", "pact": "treaty", "pact.casus_foederis": "casus_foederis", "pact.signed": "step",
                     "pact.b": "obligation"}
    assert contract.main_events(results.manifest) == MAIN
    given = results.manifest | {"event_kinds": {"joined": "deployment"}}
    assert contract.event_kinds(given)["joined"] == "deployment" and "joined" not in contract.main_events(given)


def test_event_probabilities_count_first_days_before_each_mark(results):
    table = analysis.event_probabilities(results.runs, results.manifest).set_index(["event", "by"])
    for event in ("widen", "talk", "pact.b"):
        first = results.runs[f"event.{event}"].to_numpy()
        for by, day in analysis.marks(results.manifest):
            row = table.loc[(event, by)]
            k = int(np.sum(first < day))
            assert row.hits == k and (row.p, row.low, row.high) == pytest.approx(tuple(map(float, wilson(k, 200))))
    assert table.loc[("pact.signed", "d20")].p == 1 and table.loc[("pact.signed", "d20")].certain  # before the start
    assert table.loc[("widen", "horizon")].label == "A: widen" and not table.loc[("widen", "horizon")].certain


def test_the_summary_leads_with_the_events_then_tracks_entries_variables_and_counts(results):
    lines = summary(results)
    assert lines[0].startswith(tables.EVENTS_TITLE)
    starts = [next(i for i, line in enumerate(lines) if line.startswith(title[:30])) for title in ORDER]
    assert starts == sorted(starts)
    events = lines[starts[0]:starts[1]]
    assert events[2].split() == ["event", "2025-01-20", "2025-02-09", "2025-03-01"]  # checkpoints, then the horizon
    assert events[3] == "A:" and events[4].startswith("  widen  ") and "B: escalate" in events[8]
    share = percent_cell(results.runs["event.widen"].notna().mean())
    assert events[4].split()[-2] == share


def percent_cell(p: float) -> str:
    return f"{100 * p:.1f}"


def test_events_certain_from_the_start_are_named_apart(results):
    lines = summary(results)
    text = "\n".join(lines)
    assert analysis.certain_events(results.runs, results.manifest) == ["announce", "pact"]
    assert "Certain, so not in the table (in every run, on or before the start): A: announces its aims; Pact: in " \
           "force." in " ".join(text.split())
    table = text[:text.index("Certain")]
    assert "announces its aims" not in table and "in force" not in table
    assert "flag joined set" in table and "casus foederis invoked" in table and "B: help" in table


@pytest.mark.parametrize("width", [80, 100, 120])
def test_every_line_fits_the_width_and_long_labels_wrap(results, width):
    lines = summary(results, width)
    assert max(map(len, lines)) <= width
    start = next(i for i, line in enumerate(lines) if line.startswith("  answers with"))
    parts = [re.split(r"\s{2,}", lines[start].strip())[0]]
    parts += [line.strip() for line in itertools.takewhile(lambda x: x.startswith("    "), lines[start + 1:])]
    label = " ".join(parts)
    assert label.startswith("answers with a very long and winding statement") and len(parts) <= 3
    assert label.endswith("…") or LONG.endswith(label)
    assert len(tables.fitting_marks(results.manifest, width)) == 3  # two checkpoints and the horizon


def test_the_terminal_width_is_kept_between_80_and_120(monkeypatch):
    from escalsim.outputs.textgrid import terminal_width

    assert (terminal_width(40), terminal_width(100), terminal_width(300)) == (80, 100, 120)
    monkeypatch.setenv("COLUMNS", "90")
    assert terminal_width() == 90


def test_shown_marks_spread_over_the_run_and_end_at_the_horizon():
    manifest = {"horizon_days": 365, "checkpoints": [{"name": f"m{d}", "day": float(d)} for d in range(30, 365, 30)]}
    assert tables.shown_marks(manifest, 4) == [("m90", 90.0), ("m180", 180.0), ("m270", 270.0), ("horizon", 365)]
    assert len(tables.shown_marks(manifest | {"checkpoints": manifest["checkpoints"][:2]}, 4)) == 3


# --- at or above, entered, causes ----------------------------------------------------------------------------
def test_the_tracks_table_says_at_or_above_and_nothing_says_reached(results, page):
    text = "\n".join(summary(results))
    assert "at or above each rung" in text and "at or above the rung" in text
    assert "reached" not in text.lower()
    assert "reached" not in page_text(page).lower() and "at or above each rung" in page_text(page)
    assert not [d.caption for d in plots.drawings(results) if "reached" in d.caption.lower()]


def page_text(page: str) -> str:
    """The page's text without its figures (SVG)."""
    return html.unescape(re.sub(r"<svg.*?</svg>", "", page, flags=re.S))


def test_a_passed_over_rung_gets_no_cause_in_any_table(results):
    """'widen' jumps from w0 to w2: w1 is at or above in those runs, never entered, and has no cause anywhere."""
    runs, m = results.runs, results.manifest
    jumped = runs["at_or_above.w1"].notna()
    assert jumped.any() and runs["entered.w1"].isna().all()
    entries = analysis.rung_entries(runs, m).set_index("rung")
    assert (entries.loc["w1", "entered"], entries.loc["w1", "passed_over"]) == (0, jumped.sum())
    assert "w1" not in set(analysis.entry_causes(runs, m)["rung"])
    lines = summary(results)
    i = next(k for k, line in enumerate(lines) if line.startswith("  w1 ") and "passed over" in lines[k + 1])
    assert lines[i + 1].strip() == f"passed over in {labels.percent(jumped.mean())} of runs, never entered"
    assert lines[i + 2].startswith("  w2 ") and lines[i + 3].split() == ["100%", "A:", "widen"]
    section = report_tables.entered(runs, m)
    row = re.search(r"<tr><td>w1</td>(.*?)</tr>", section).group(1)
    assert "passed over in" in row and "never entered" in row and "widen" not in row


def test_causes_are_shares_of_the_runs_that_entered_the_rung(results):
    runs = results.runs
    causes = analysis.entry_causes(runs, results.manifest).set_index("rung")
    entered = runs["entered.m1"].notna()
    expected = runs.loc[entered, "cause.m1"].value_counts(normalize=True)
    assert causes.loc[["m1"]].set_index("cause")["share"].to_dict() == pytest.approx(expected.to_dict())


def test_only_repeated_decisions_get_counts(results):
    counts = analysis.repeated_decisions(results.runs, results.manifest)
    talk = results.runs["count.talk"]
    assert list(counts["option"]) == ["talk"]
    assert counts.iloc[0]["mean"] == pytest.approx(talk.mean()) and counts.iloc[0]["max"] == talk.max()
    assert "Every other option was taken at most once per run." in summary(results)


# --- moves made in every run ---------------------------------------------------------------------------------
def test_moves_made_in_every_run_head_the_summary_and_the_report(moved, monkeypatch):
    assert moved.manifest["moves"]["injections"] and moved.manifest["moves"]["blocks"]
    lines = summary(moved, 120)
    share = labels.percent(float((moved.runs["event.escalate"] < 11).mean()))
    assert lines[0] == tables.MOVES_TITLE and lines[1].startswith("  - ") and lines[2].startswith("    ")
    assert " ".join(" ".join(lines[1:3]).split()) == (
        "- B: escalate: injected on 2025-01-11, unless off the table by then (an alternative chosen, or already "
        f"taken); it had happened by the end of that day in {share} of runs")
    assert lines[3:5] == ["  - A: widen: blocked from the start through 2025-01-30", ""]
    assert lines[5].startswith(tables.EVENTS_TITLE) and share == "100%"
    monkeypatch.setattr(report, "_figures", lambda results: {})  # the tables are what this test reads: fast
    page = report.render(moved)
    moves = page.index("Moves made in every run:")
    assert moves < page.index("<h2>") and "B: escalate: injected on 2025-01-11" in page


def test_without_moves_nothing_is_said(results, page):
    assert results.manifest.get("moves") is None
    assert not any("Moves" in line for line in summary(results))
    assert "Moves made" not in page
    assert labels.moves_made({"moves": {"injections": [], "blocks": []}}) == []


def test_moves_are_written_with_their_dates():
    m = {"start": "2025-01-01", "event_labels": {"x": "A: x"}, "moves": {
        "injections": [{"day": 0, "option": "x", "override": True}],
        "blocks": [{"option": "x", "start": 5, "until": None}, {"option": "x", "start": 0, "until": None},
                   {"option": "x", "start": 0, "until": 9.5}]}}
    assert labels.moves_made(m) == [
        "A: x: forced on 2025-01-01 (an umpire's override: even if off the table)",
        "A: x: blocked from 2025-01-06 to the end of the run", "A: x: blocked for the whole run",
        "A: x: blocked from the start until part way through 2025-01-10"]


# --- CSVs ------------------------------------------------------------------------------------------------------
def test_csvs_lead_with_events_and_name_what_they_count(moved):
    directory = moved.directory
    paths = write_csv(summary_frame(directory, moved.manifest), moved.manifest, directory)
    assert [p.name for p in paths] == list(CSV_FILES) and paths[0].name == "summary_events.csv"
    events = pd.read_csv(paths[0])
    assert {"event", "kind", "label", "by", "date", "happened", "p_happened", "low", "high", "certain"} <= set(events)
    assert set(events["event"]) == set(moved.manifest["event_names"])
    assert "p_at_or_above" in pd.read_csv(directory / "summary_rungs.csv").columns
    entered = pd.read_csv(directory / "summary_entered.csv")
    assert {"p_entered", "passed_over"} <= set(entered.columns)
    causes = pd.read_csv(directory / "summary_causes.csv")
    assert "w1" not in set(causes["rung"])
    assert causes.groupby("rung")["share_of_runs_entered"].sum().to_numpy() == pytest.approx(1.0)


# --- the events figure -----------------------------------------------------------------------------------------
def test_the_events_figure_draws_each_chosen_event_with_wilson_bands(results):
    chosen = plots.chosen_events(results)
    shares = {e: results.runs[f"event.{e}"].notna().mean() for e in chosen}
    assert set(chosen) == {"widen", "talk", "escalate", "joined", "pact.b"}  # 1% < share < 99%, main events only
    assert list(shares.values()) == sorted(shares.values(), reverse=True)
    ax = plots.event_curves(results)
    lines = [a for a in ax.get_lines() if (a.get_gid() or "").startswith("event:")]
    assert [line.get_gid() for line in lines] == [f"event:{e}" for e in chosen]
    for line, event in zip(lines, chosen):
        assert line.get_ydata()[-1] == pytest.approx(shares[event])
    assert len(ax.collections) == len(chosen)  # one Wilson band each
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[chosen.index("widen")] == f"A: widen  {labels.percent(shares['widen'])}"
    assert ax.get_title(loc="left") == "How likely each event is by each date"


def test_the_events_rule_keeps_every_side_and_at_most_twelve(results):
    runs = results.runs.copy()
    many = {f"o{i}": (f"A: move {i}", 0.5) for i in range(15)} | {"s": ("Seoul: sends weapons", 0.2)}
    rng = np.random.default_rng(1)
    for name, (_, p) in many.items():
        runs[f"event.{name}"] = np.where(rng.random(len(runs)) < p, 5.0, np.nan)
    m = results.manifest | {"event_names": list(many), "options": list(many),
                            "event_labels": {k: v[0] for k, v in many.items()}}
    chosen = plots.chosen_events(types.SimpleNamespace(manifest=m, runs=runs))
    assert len(chosen) == 12 and "s" in chosen


def test_the_events_figure_is_registered_first_and_leads_the_report(results, page):
    assert list(plots.PLOTS)[0] == "events"
    assert plots.drawings(results)[0].stem == "events"
    first_figure = page.index("<figure")
    assert page.index("<h2>Events") < page.index('id="fig-events"') == first_figure + len("<figure ")
    assert first_figure < page.index("<h2>Tracks") < page.index("<h2>Rungs entered") < page.index("<h2>Key variables")


def test_an_unknown_event_is_refused(results):
    with pytest.raises(ValueError, match="unknown event 'nope'; the results hold: announce"):
        plots.event_curves(results, events=["nope"])


def test_without_open_events_the_figure_says_so(results):
    runs = results.runs.copy()
    for event in contract.main_events(results.manifest):
        runs[f"event.{event}"] = np.nan
    ax = plots.event_curves(types.SimpleNamespace(**(vars(results) | {"runs": runs})))
    assert "No main event happened in 1% to 99% of the runs" in [t.get_text() for t in ax.texts]
    assert ax.get_legend() is None
