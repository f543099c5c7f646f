"""Figures: each draws what the results hold, labelled, on its own Axes; save_all writes files atomically."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import types  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from results_factory import DPRK, MINIMAL, build_results, level_matrix  # noqa: E402

from escalsim.outputs import drivers, plots, style, timeline  # noqa: E402
from escalsim.outputs.labels import percent  # noqa: E402
from escalsim.stats import wilson  # noqa: E402


@pytest.fixture(scope="module")
def minimal():
    return build_results(MINIMAL, runs=301, seed=11, trace_runs=10)


@pytest.fixture(scope="module")
def dprk():
    return build_results(DPRK, runs=120, seed=5, trace_runs=4)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def with_runs(results, runs: pd.DataFrame, **manifest):
    """A copy of the results with another runs table (and manifest entries), duck-typed like Results."""
    return types.SimpleNamespace(directory=results.directory, manifest=results.manifest | manifest, runs=runs,
                                 levels=results.levels, traces=results.traces)


def by_gid(ax, prefix: str, artists=None):
    return [a for a in (artists if artists is not None else ax.get_children())
            if (a.get_gid() or "").startswith(prefix)]


def texts(ax) -> str:
    """All text on the Axes and its figure (titles, annotations, legend, footer)."""
    parts = [ax.get_title(loc="left"), ax.get_xlabel(), ax.get_ylabel()]
    parts += [t.get_text() for t in ax.texts] + [t.get_text() for t in ax.figure.texts]
    legend = ax.get_legend()
    if legend is not None:
        parts += [t.get_text() for t in legend.get_texts()]
    return "\n".join(parts)


# --- every figure ----------------------------------------------------------------------------------------
DRAW = {
    "events": lambda r, ax=None: plots.event_curves(r, ax=ax),
    "fan": lambda r, ax=None: plots.fan_chart(r, ax=ax),
    "ladder": lambda r, ax=None: plots.ladder_probabilities(r, ax=ax),
    "ladder_lines": lambda r, ax=None: plots.ladder_probabilities(r, ax=ax, style="lines"),
    "first_passage": lambda r, ax=None: plots.first_passage_curves(r, ax=ax),
    "max_rung": lambda r, ax=None: plots.max_rung_histogram(r, ax=ax),
    "variables": lambda r, ax=None: plots.variable_distribution(r, plots.key_variables(r.manifest)[0], ax=ax),
    "drivers": lambda r, ax=None: plots.escalation_drivers(r, ax=ax),
    "timeline": lambda r, ax=None: plots.run_timeline(r, 0, ax=ax),
}


@pytest.mark.parametrize("kind", DRAW)
def test_every_figure_is_titled_labelled_and_signed(minimal, kind):
    ax = DRAW[kind](minimal)
    assert ax.get_title(loc="left") and ax.get_xlabel()
    assert tuple(ax.figure.get_size_inches()) == plots.FIGSIZE
    footer = " ".join(t.get_text() for t in ax.figure.texts)
    assert "minimal" in footer and "301 runs" in footer and "seed 11" in footer


@pytest.mark.parametrize("kind", DRAW)
def test_legends_and_titles_stay_inside_the_figure(dprk, kind):
    """Nothing is clipped at the figure's edges: at least 3 px (at 100 dpi) to spare, as constrained layout keeps
    (the fan chart's legend used to end 1 px from the right edge, and looked clipped)."""
    ax = DRAW[kind](dprk)
    ax.figure.canvas.draw()
    subtitles = [t for t in ax.texts if t.get_position() == (0, 1)]
    for artist in [ax.get_legend(), ax.title, ax._left_title, *subtitles]:
        if artist is not None and artist.get_visible() and (not hasattr(artist, "get_text") or artist.get_text()):
            assert style.inside(artist, margin=0.0025), (artist, artist.get_window_extent(), ax.figure.bbox)


def test_fan_legend_fits_beside_another_chart():
    """Two fan charts side by side (notebook 02): each legend stays in the figure."""
    results = build_results(DPRK, runs=40, seed=5, trace_runs=0)
    fig, axes = plt.subplots(1, 2, figsize=(24, 8), layout="constrained")
    for ax in axes:
        plots.fan_chart(results, ax=ax)
    fig.canvas.draw()
    assert all(style.inside(ax.get_legend(), margin=0.0025) for ax in axes)


@pytest.mark.parametrize("kind", DRAW)
def test_drawing_on_a_given_axes_returns_it(minimal, kind):
    fig, (left, right) = plt.subplots(1, 2, figsize=(16, 5), layout="constrained")
    assert DRAW[kind](minimal, ax=right) is right
    assert not left.has_data() and len(plt.get_fignums()) == 1


def test_pyplot_keeps_no_figures_from_save_all(minimal, tmp_path):
    before = plt.get_fignums()
    plots.save_all(minimal, tmp_path, ["max_rung"])
    assert plt.get_fignums() == before


def test_rung_colours_are_the_same_in_every_figure(minimal):
    colours = plots.rung_colours(minimal.manifest)
    assert len(set(colours)) == len(colours)
    war = 2
    line = by_gid(plots.first_passage_curves(minimal), f"rung:{war}")[0]
    band = by_gid(plots.ladder_probabilities(minimal), f"rung:{war}")[0]
    bars = by_gid(plots.max_rung_histogram(minimal), "max_rung")
    assert matplotlib.colors.same_color(line.get_color(), colours[war])
    assert matplotlib.colors.same_color(band.get_facecolor()[0], colours[war])
    assert matplotlib.colors.same_color(bars[war].get_facecolor(), colours[war])


# --- fan chart and ladder --------------------------------------------------------------------------------
def test_fan_chart_median_is_the_median_of_the_levels(minimal):
    ax = plots.fan_chart(minimal, samples=3)
    median = by_gid(ax, "median")[0]
    levels = level_matrix(minimal)
    np.testing.assert_array_equal(median.get_ydata()[:-1], np.median(levels, axis=0))
    x = median.get_xdata()
    assert x[0] == np.datetime64("2025-01-01") and x[-1] == np.datetime64("2026-01-01")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Peace", "Crisis", "War"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == ["95% of runs", "80% of runs", "50% of runs"] and "3 sample runs" in legend[3]


def test_fan_chart_bands_hold_the_quantiles(minimal):
    ax = plots.fan_chart(minimal, samples=0)
    levels = level_matrix(minimal)
    inner = ax.collections[2]  # 50% band, drawn last
    ys = inner.get_paths()[0].vertices[:, 1]
    assert set(np.unique(ys)) <= set(np.unique(np.quantile(levels, [0.25, 0.75], axis=0)))


def test_ladder_lines_are_the_shares_at_or_above_each_rung(minimal):
    ax = plots.ladder_probabilities(minimal, style="lines")
    levels = level_matrix(minimal)
    lines = by_gid(ax, "rung:")
    assert [line.get_gid() for line in lines] == ["rung:1", "rung:2"]
    for line in lines:
        k = int(line.get_gid().split(":")[1])
        np.testing.assert_allclose(line.get_ydata()[:-1], np.mean(levels >= k, axis=0))
    assert ax.get_ylabel() == "Share of runs"


def test_ladder_area_bands_stack_between_neighbouring_rungs(minimal):
    ax = plots.ladder_probabilities(minimal)
    levels = level_matrix(minimal)
    above = [np.mean(levels >= k, axis=0) for k in range(4)]
    bands = by_gid(ax, "rung:")
    assert [b.get_label() for b in bands] == ["Peace", "Crisis", "War"]
    for band in bands:
        k = int(band.get_gid().split(":")[1])
        ys = np.unique(np.round(band.get_paths()[0].vertices[:, 1], 12))
        assert set(ys) <= set(np.round(np.concatenate([above[k], above[k + 1]]), 12))
    with pytest.raises(ValueError, match="style"):
        plots.ladder_probabilities(minimal, style="pie")


# --- first passage and maximum rung ----------------------------------------------------------------------
def test_first_passage_curves_end_at_the_share_that_reached_each_rung(minimal):
    ax = plots.first_passage_curves(minimal)
    lines = by_gid(ax, "rung:")
    assert [line.get_gid() for line in lines] == ["rung:1", "rung:2"]  # rungs above the start only
    n = len(minimal.runs)
    for line, rung in zip(lines, ["crisis", "war"]):
        first = minimal.runs[f"at_or_above.{rung}"]
        y = line.get_ydata()
        assert y[-1] == pytest.approx(first.notna().sum() / n)
        assert np.all(np.diff(y) >= 0) and y[0] == 0
        assert line.get_xdata()[-1] == np.datetime64("2026-01-01")
    assert "Censored at the horizon (2025-12-31)" in texts(ax) and "Wilson" in texts(ax)


def test_first_passage_bands_are_wilson_intervals(minimal):
    ax = plots.first_passage_curves(minimal)
    reached = int(minimal.runs["at_or_above.war"].notna().sum())
    _, low, high = wilson(reached, len(minimal.runs))
    band = ax.collections[1].get_paths()[0].vertices[:, 1]  # war's band, the second drawn
    assert band.min() == pytest.approx(0) and band.max() == pytest.approx(float(high))
    assert np.isclose(band, float(low)).any()


def test_a_rare_rung_rises_visibly_above_the_axis_floor(minimal):
    """Two runs in 301 at war (0.7%): on a linear axis up to the crisis's share it would be a flat line at 0."""
    runs = minimal.runs.copy()
    at_war = np.flatnonzero(runs["at_or_above.war"].notna().to_numpy())
    runs.loc[at_war[2:], "at_or_above.war"] = np.nan
    ax = plots.first_passage_curves(with_runs(minimal, runs))
    war = by_gid(ax, "rung:2")[0]
    end = ax.transLimits.transform((0, war.get_ydata()[-1]))[1]  # axes fraction: 0 is the floor, 1 the top
    assert war.get_ydata()[-1] == pytest.approx(2 / 301) and end > 0.15
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    assert "at or above" in ax.get_ylabel() and "At or above" in ax.get_legend().get_title().get_text()
    assert "below one run in 301" in texts(ax)


def test_first_passage_axis_is_linear_without_rare_rungs_or_when_asked(minimal):
    assert plots.first_passage_curves(minimal).get_yscale() == "linear"
    assert plots.first_passage_curves(minimal, scale="log").get_yscale() == "log"
    with pytest.raises(ValueError, match="scale"):
        plots.first_passage_curves(minimal, scale="sqrt")


def test_max_rung_bars_sum_to_100_percent_and_match_the_runs(dprk):
    ax = plots.max_rung_histogram(dprk)
    bars = by_gid(ax, "max_rung")
    widths = np.array([b.get_width() for b in bars])
    assert widths.sum() == pytest.approx(100)
    track = dprk.manifest["tracks"][0]
    highest = dprk.runs[f"max.{track['id']}"]
    expected = [100 * np.mean(highest == k) for k in range(track["start"], len(track["rungs"]))]
    np.testing.assert_allclose(widths, expected)
    labels = [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()]
    assert labels == track["rung_labels"][track["start"]:]
    assert any(t.get_text().startswith(percent(expected[1] / 100)) for t in ax.texts)


# --- variables -------------------------------------------------------------------------------------------
def test_variable_distribution_marks_median_and_90_percent(minimal):
    ax = plots.variable_distribution(minimal, "troops_at_border", at="h1")
    x = minimal.runs["at.h1.troops_at_border"].to_numpy()
    heights = [p.get_height() for p in ax.patches if p.get_label() != "_nolegend_" or p.get_height() > 0]
    assert sum(p.get_height() for p in ax.containers[0]) == pytest.approx(100)
    assert heights
    median = [line for line in ax.lines if line.get_linestyle() == "--"][0]
    assert median.get_xdata()[0] == pytest.approx(np.median(x))
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    q05, q95 = np.quantile(x, [0.05, 0.95])
    assert f"median: {np.median(x):,.0f}" in legend and f"{q05:,.0f} to {q95:,.0f}" in legend
    assert "KDE" in legend
    assert ax.get_xlabel() == "State A troops at the border"
    assert "2025-06-30 (checkpoint h1)" in texts(ax)


def test_variable_at_the_horizon_by_default(minimal):
    ax = plots.variable_distribution(minimal, "troops_at_border")
    assert "2025-12-31 (the horizon)" in texts(ax)


def test_degenerate_variable_is_a_single_bar_without_density(minimal):
    runs = minimal.runs.copy()
    runs["final.b_mobilised"] = 1.0
    ax = plots.variable_distribution(with_runs(minimal, runs), "b_mobilised")
    assert [p.get_height() for p in ax.containers[0]] == [pytest.approx(100)]
    assert "KDE" not in texts(ax) and "100%" in texts(ax)


def test_units_from_the_manifest_join_the_axis_label(minimal):
    results = with_runs(minimal, minimal.runs, units={"troops_at_border": "troops"})
    ax = plots.variable_distribution(results, "troops_at_border")
    assert ax.get_xlabel() == "State A troops at the border (troops)"


def test_unknown_variable_or_checkpoint_is_refused_with_the_choices(minimal):
    with pytest.raises(ValueError, match="unknown variable 'troops'.*troops_at_border"):
        plots.variable_distribution(minimal, "troops")
    with pytest.raises(ValueError, match="unknown checkpoint 'q3'.*q1, h1"):
        plots.variable_distribution(minimal, "troops_at_border", at="q3")


# --- drivers ---------------------------------------------------------------------------------------------
def test_drivers_bars_are_cause_shares_of_the_runs_that_reached_each_rung(minimal):
    ax = plots.escalation_drivers(minimal)
    causes = minimal.runs["cause.crisis"]
    reached = causes[causes != ""]
    segments = {p.get_gid().split("|")[1]: p.get_width() for p in by_gid(ax, "rung:1|", ax.patches)}
    expected = {c: 100 * k / len(reached) for c, k in reached.value_counts().items()}
    assert segments == pytest.approx(expected)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(legend) == {"Background hazard", "State B: mobilise along the border"}


def test_rare_causes_are_grouped_as_other(minimal):
    runs = minimal.runs.copy()
    hit = np.flatnonzero(runs["cause.war"].to_numpy() != "")
    rare = [f"Actor {i}: a rare move" for i in range(12)]
    runs.loc[hit[:12], "cause.war"] = rare
    ax = plots.escalation_drivers(with_runs(minimal, runs))
    segments = {p.get_gid().split("|")[1] for p in by_gid(ax, "rung:2|", ax.patches)}
    assert "other" in segments and not segments & set(rare)
    total = sum(p.get_width() for p in by_gid(ax, "rung:2|", ax.patches))
    assert total == pytest.approx(100)


def test_a_rare_rungs_main_cause_keeps_its_colour(minimal):
    """Ten common causes of the crisis fill the palette by their totals; war, reached in 7 runs, 6 of them by one
    cause, must still show that cause (it used to be grey 'other': 86% of the bar)."""
    runs = minimal.runs.copy()
    crisis = np.flatnonzero(runs["entered.crisis"].notna().to_numpy())
    runs.loc[crisis, "cause.crisis"] = [f"Actor {i % 10}: a common move" for i in range(len(crisis))]
    war = np.flatnonzero(runs["entered.war"].notna().to_numpy())
    assert len(war) > 7
    runs.loc[war[7:], ["at_or_above.war", "entered.war", "cause.war"]] = [np.nan, np.nan, ""]
    runs.loc[war[:7], "cause.war"] = ["Z: the rare decider"] * 6 + ["background hazard"]
    ax = plots.escalation_drivers(with_runs(minimal, runs))
    segments = {p.get_gid().split("|")[1]: p.get_width() for p in by_gid(ax, "rung:2|", ax.patches)}
    assert max(segments, key=segments.get) == "Z: the rare decider"
    assert segments["Z: the rare decider"] == pytest.approx(100 * 6 / 7)
    assert sum(segments.values()) == pytest.approx(100)
    assert "Z: the rare decider" in texts(ax) and "2.3% of runs (7)" in texts(ax)


def test_drivers_show_runs_that_jumped_past_a_rung_as_passed_over(minimal):
    """A run at or above a rung that was never on it (a jump went past) counts, as passed over, never as a cause."""
    runs = minimal.runs.copy()
    crisis = np.flatnonzero(runs["at_or_above.crisis"].notna().to_numpy())
    jumped = crisis[: len(crisis) // 3]
    runs.loc[jumped, ["entered.crisis", "cause.crisis"]] = [np.nan, ""]
    ax = plots.escalation_drivers(with_runs(minimal, runs))
    segments = {p.get_gid().split("|")[1]: p.get_width() for p in by_gid(ax, "rung:1|", ax.patches)}
    assert segments[drivers.PASSED] == pytest.approx(100 * len(jumped) / len(crisis))
    assert sum(segments.values()) == pytest.approx(100) and "" not in segments
    assert f"({len(crisis):,})" in texts(ax) and "passed over" in texts(ax).lower()


def test_drivers_read_causes_stored_as_categories(minimal):
    """Parquet round trips turn string columns into pandas categories, with NaN for missing."""
    runs = minimal.runs.copy()
    for rung in ("crisis", "war"):
        column = runs[f"cause.{rung}"]
        runs[f"cause.{rung}"] = column.where(column != "").astype("category")
    ax = plots.escalation_drivers(with_runs(minimal, runs))
    total = sum(p.get_width() for p in by_gid(ax, "rung:1|", ax.patches))
    assert total == pytest.approx(100) and "" not in {p.get_gid().split("|")[1] for p in ax.patches if p.get_gid()}


# --- one run's timeline ----------------------------------------------------------------------------------
def test_timeline_steps_through_the_runs_levels_and_labels_its_events(dprk):
    ax = plots.run_timeline(dprk, 1)
    level = by_gid(ax, "level")[0]
    np.testing.assert_array_equal(level.get_ydata()[:-1], level_matrix(dprk)[1])
    labels = by_gid(ax, "event-label", ax.texts)
    trace = dprk.traces[(dprk.traces["run"] == 1) & dprk.traces["kind"].isin(["decision", "treaty", "obligation"])]
    assert 0 < len(labels) <= len(trace)
    assert all(label.get_text()[:2].strip().isdigit() for label in labels)  # each starts with its date
    assert "One simulated course of events (run 1)" == ax.get_title(loc="left")


@pytest.mark.parametrize("run", [1, 3])
def test_timeline_labels_do_not_overlap_and_stay_in_the_figure(dprk, run):
    ax = plots.run_timeline(dprk, run)
    fig = ax.figure
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in by_gid(ax, "event-label", ax.texts)]
    for i, a in enumerate(boxes):
        assert a.x0 >= 0 and a.x1 <= fig.bbox.width
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)


def test_timeline_refuses_runs_without_a_trace(minimal):
    with pytest.raises(ValueError, match=r"run 50 has no stored trace; traces are stored for runs 0-9"):
        plots.run_timeline(minimal, 50)
    with pytest.raises(ValueError, match=r"run 301 is out of range: the results hold runs 0 to 300"):
        plots.run_timeline(minimal, 301)
    untraced = types.SimpleNamespace(**(vars(minimal) | {"traces": minimal.traces.iloc[:0]}))
    with pytest.raises(ValueError, match="no run has a stored trace"):
        plots.run_timeline(untraced, 0)


def test_ranges_are_written_compactly():
    assert timeline._ranges([0, 1, 2, 5, 7, 8]) == "0-2, 5, 7-8"


# --- save_all --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_save_all_writes_each_kind_in_each_format(minimal, tmp_path, fmt, magic):
    results = with_runs(minimal, minimal.runs, key_variables=["troops_at_border"])
    kinds = None if fmt == "png" else ["max_rung", "timeline"]
    paths = plots.save_all(results, tmp_path / "plots", kinds, fmt=fmt)
    names = [p.name for p in paths]
    if fmt == "png":  # every kind; the key variable at the last checkpoint before the horizon, and at the horizon
        assert names == ["events.png", "fan.png", "ladder.png", "first_passage.png", "max_rung.png",
                         "variables_troops_at_border.png", "variables_troops_at_border_h1.png", "drivers.png",
                         "timeline_run0.png"]
    else:
        assert names == [f"max_rung.{fmt}", f"timeline_run0.{fmt}"]
    for path in paths:
        assert path.read_bytes().startswith(magic) and path.stat().st_size > 1000
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == sorted(names)  # no temporary files left


def test_save_all_timeline_of_a_chosen_run(minimal, tmp_path):
    assert [p.name for p in plots.save_all(minimal, tmp_path, ["timeline"], run=3)] == ["timeline_run3.png"]


def test_save_all_refuses_unknown_kinds_formats_and_runs_before_writing(minimal, tmp_path):
    with pytest.raises(ValueError, match="unknown plot kind 'pie'; choose from events, fan, ladder"):
        plots.save_all(minimal, tmp_path / "a", ["fan", "pie"])
    with pytest.raises(ValueError, match="unknown format 'bmp'"):
        plots.save_all(minimal, tmp_path / "b", ["fan"], fmt="bmp")
    with pytest.raises(ValueError, match="no stored trace"):
        plots.save_all(minimal, tmp_path / "c", ["fan", "timeline"], run=99)
    assert not any(tmp_path.iterdir())


def test_a_manifest_without_the_model_description_is_named(minimal, tmp_path):
    manifest = {k: v for k, v in minimal.manifest.items() if k not in ("horizon_days", "tracks")}
    results = types.SimpleNamespace(**(vars(minimal) | {"manifest": manifest}))
    with pytest.raises(ValueError, match="manifest lacks horizon_days, tracks"):
        plots.fan_chart(results)
    with pytest.raises(ValueError, match="manifest lacks horizon_days, tracks"):
        plots.save_all(results, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_plots_read_a_results_directory_written_by_the_store(tmp_path):
    """End to end through escalsim.store: simulate, write the directory, load it, draw every kind."""
    store = pytest.importorskip("escalsim.montecarlo.store")
    from escalsim.montecarlo.batches import Job, run_batch
    from escalsim.scenario.loader import load_scenario

    job = Job(load_scenario(MINIMAL), seed=4, trace_runs=3)
    writer = store.ResultsWriter.create(tmp_path / "res", scenario=job.scenario, sources={}, seed=4, runs=80,
                                        backend="serial", workers=1, trace_runs=3, grid_step=1.0, overrides=[])
    writer.append(run_batch(job, 0, 80))
    writer.finalize(wall_time=1.0, stopped_because="runs")
    results = pytest.importorskip("escalsim.montecarlo.results").load_results(tmp_path / "res")
    missing = [k for k in plots.CONTRACT if k not in results.manifest]
    if missing:
        pytest.skip(f"escalsim.montecarlo.store's manifest lacks {', '.join(missing)}: "
                    "it does not store records.describe(model)")
    paths = plots.save_all(results, tmp_path / "plots", ["fan", "drivers", "timeline"])
    assert [p.name for p in paths] == ["fan.png", "drivers.png", "timeline_run0.png"]


def test_plots_registry_names_the_cli_kinds():
    assert list(plots.PLOTS) == ["events", "fan", "ladder", "first_passage", "max_rung", "variables", "drivers",
                                 "timeline"]
