"""Results of several escalation tracks: figures by track, tables and report naming each track's rungs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import re  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from results_factory import build_results, level_matrix  # noqa: E402
from worlds import TRACKS, merge, write  # noqa: E402

from escalsim.outputs import plots, report_tables, tables  # noqa: E402

TWO_TRACKS = merge(TRACKS, {"horizon_days": 60, "options": {
    "widen": {"actor": "a", "label": "widen", "when": "day >= 5", "probability": 0.5,
              "effects": [{"step": {"track": "wide", "by": 2}}]},
    "escalate": {"actor": "b", "label": "escalate", "when": "wide >= rung('w2')", "probability": 0.5,
                 "delay_days": 3, "effects": [{"ladder": "m1"}]}}})


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return build_results(write(tmp_path_factory.mktemp("tracks"), TWO_TRACKS), runs=80, seed=7, trace_runs=3)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_figures_are_drawn_for_each_track(results):
    stems = [d.stem for d in plots.drawings(results)]
    for kind in ("fan", "ladder", "first_passage", "max_rung", "drivers"):
        assert f"{kind}_wide" in stems and f"{kind}_means" in stems and kind not in stems
    captions = {d.stem: d.caption for d in plots.drawings(results)}
    assert captions["fan_wide"].startswith("Widening: ") and captions["fan_means"].startswith("Means: ")


def test_a_tracks_fan_chart_shows_that_tracks_levels_and_rungs(results):
    ax = plots.fan_chart(results, track="means", samples=0)
    median = [a for a in ax.get_children() if a.get_gid() == "median"][0]
    np.testing.assert_array_equal(median.get_ydata()[:-1], np.median(level_matrix(results, "means"), axis=0))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["m0", "m1"]
    assert ax.get_title(loc="left") == "Means: Escalation over time"
    with pytest.raises(ValueError, match="unknown track 'deep'; the results hold: wide, means"):
        plots.fan_chart(results, track="deep")


def test_max_rung_of_a_track_counts_its_own_maximum(results):
    ax = plots.max_rung_histogram(results, track="wide")
    bars = [a for a in ax.patches if a.get_gid() == "max_rung"]
    expected = [100 * np.mean(results.runs["max.wide"] == k) for k in range(4)]
    np.testing.assert_allclose([b.get_width() for b in bars], expected)


def test_a_jump_of_two_rungs_passes_over_the_rung_between(results):
    """'widen' steps the track from w0 to w2: w1 is at or above in those runs, but never entered."""
    ax = plots.escalation_drivers(results, track="wide")
    segments = {p.get_gid().split("|")[1]: p.get_width() for p in ax.patches
                if (p.get_gid() or "").startswith("rung:1|")}
    assert segments == {"passed over: a jump went past it, never on it": pytest.approx(100)}


def test_summary_and_report_name_each_tracks_rungs(results):
    lines = list(tables.summary(results.runs, results.manifest, width=100))
    rungs = lines[next(i for i, line in enumerate(lines) if line.startswith("Tracks:")):]
    assert rungs[3] == "Widening:" and rungs[4].startswith("  w1  ") and rungs[7].startswith("Means: m1  ")
    section = report_tables.tracks(results.runs, results.manifest)
    assert re.search(r'<tr class="group"><th colspan="\d+">Widening</th></tr><tr><td>w1</td>', section)
    assert "<tr><td>Means: m1</td>" in section
