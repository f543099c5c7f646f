"""The HTML report: readable captions, the key-variables table, and the assumptions behind the results."""

from __future__ import annotations

import html
import re
import types

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from results_factory import DPRK, MINIMAL, build_results  # noqa: E402

from escalsim.outputs import plots, report, tables  # noqa: E402
from escalsim.outputs.variables import middle_checkpoint  # noqa: E402
from escalsim.scenario.assumptions import assumptions  # noqa: E402
from escalsim.scenario.loader import load_scenario  # noqa: E402

RECORDS = [  # as escalsim.scenario.assumptions gives them
    {"path": "deployments.d.schedule.0.size", "value": "1500", "source": "assumption: half of the 3,000",
     "source_path": "deployments.d.schedule.0", "is_assumption": True},
    {"path": "deployments.d.schedule.1.size", "value": "1500", "source": "\"3,000 sent\" (White House)",
     "source_path": "deployments.d.schedule.1", "is_assumption": False},
    {"path": "x.y", "value": "1", "source": "<b>assumption</b>", "source_path": "x", "is_assumption": True},
]


@pytest.fixture(scope="module")
def dprk():
    results = build_results(DPRK, runs=60, seed=3, trace_runs=2)
    return types.SimpleNamespace(**(vars(results) | {"manifest": results.manifest | {"assumptions": RECORDS}}))


def test_the_scenarios_own_records_render():
    records = assumptions(load_scenario(DPRK))
    section = report._assumptions({"assumptions": records})
    assert f"<h3>Assumptions ({sum(r['is_assumption'] for r in records)})</h3>" in section
    assert section.count("<tr>") == len(records) + 2  # a header row in each table


@pytest.fixture(scope="module")
def page(dprk):
    return report.render(dprk)


def captions(page: str) -> list[str]:
    return [html.unescape(c) for c in re.findall(r"<figcaption>(.*?)</figcaption>", page)]


def test_captions_use_labels_not_ids(dprk, page):
    found = captions(page)
    assert len(found) == len(plots.drawings(dprk)) > 8
    ids = [v for v in dprk.manifest["readable"] if "_" in v]
    assert not [c for c in found if any(i in c for i in ids) or c.startswith("variables ")]
    for variable in plots.key_variables(dprk.manifest):
        label = dprk.manifest["labels"][variable]
        assert sum(label in c for c in found) == 2  # at the horizon and at the middle checkpoint


def test_the_middle_checkpoint_is_chosen_and_said_why(dprk, page):
    assert middle_checkpoint(dprk.manifest) == "mar_end"  # day 168 of 365; apr_end is day 198
    middle = [c for c in captions(page) if "mar_end" in c]
    assert middle and all("nearest the middle of the run" in c and "2025-03-31" in c for c in middle)
    drawing = next(d for d in plots.drawings(dprk, ["variables"]) if d.stem.endswith("_mar_end"))
    fig = plots.new_figure(dprk)
    ax = drawing.draw(fig.add_subplot())
    assert any("nearest the middle of the run" in t.get_text() for t in ax.texts)


def test_middle_checkpoint_of_the_minimal_scenario_and_of_none():
    manifest = build_results(MINIMAL, runs=5, trace_runs=0).manifest
    assert middle_checkpoint(manifest) == "h1"  # day 181 of 365, q1 is day 90
    assert middle_checkpoint(manifest | {"checkpoints": [{"name": "end", "day": 365.0}]}) is None


def test_the_key_variables_table_is_the_one_escalsim_run_prints(dprk, page):
    header, rows = tables.key_variable_rows(dprk.runs, dprk.manifest)
    section = page[page.index("<h2>Key variables</h2>"):page.index("<h2>Figures")]
    assert all(html.escape(h) in section for h in header[1:])
    assert all(html.escape(cell) in section for row in rows for cell in row[1:])
    assert "2025-03-31 <small>(mar_end)</small>" in section and "(horizon)" in section


def test_sourced_facts_and_assumptions_in_two_tables(dprk, page):
    section = page[page.index("<h2>Assumptions and sources</h2>"):page.index("<h2>Manifest</h2>")]
    records = dprk.manifest["assumptions"]
    facts, assumed = sum(not r["is_assumption"] for r in records), sum(r["is_assumption"] for r in records)
    assert f"<h3>Sourced facts ({facts})</h3>" in section and f"<h3>Assumptions ({assumed})</h3>" in section
    facts_part, assumed_part = section.split("<h3>Assumptions")
    assert "schedule.<wbr>1.<wbr>size" in facts_part and "White House" in facts_part
    assert "schedule.<wbr>0.<wbr>size" in assumed_part and "half of the 3,000" in assumed_part
    assert "&lt;b&gt;assumption&lt;/b&gt;" in assumed_part and "<b>assumption</b>" not in section


def test_without_assumptions_the_report_says_so_in_one_line(dprk):
    manifest = {k: v for k, v in dprk.manifest.items() if k != "assumptions"}
    section = report._assumptions(manifest)
    assert section.count("<p>") == 1 and "no “assumptions” in the manifest" in section and "<table" not in section


def test_probabilities_say_at_or_above(page):
    assert "<h2>Tracks: at or above each rung by each date</h2>" in page and "<th>at or above the rung</th>" in page
