"""`escalsim report`: one self-contained HTML page (figures embedded as SVG, no network) from a results directory."""

from __future__ import annotations

import html
import io
import os
from pathlib import Path

import pandas as pd

from escalsim.outputs import analysis, plots
from escalsim.outputs.contract import shown_rungs
from escalsim.outputs.labels import date_label, end_label, percent, percent_range, scenario_title
from escalsim.outputs.tables import key_variable_rows

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{margin-bottom:.1em} .lead{color:#555;margin-top:0} table{border-collapse:collapse;margin:1em 0;font-size:.92em}
th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:right} th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #888} figure{margin:1.5em 0} figure svg{width:100%;height:auto}
figcaption{color:#555;font-size:.9em} dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}
dt{font-weight:600} dd{margin:0;word-break:break-all} footer{color:#777;font-size:.85em;margin-top:3em}
table.notes th,table.notes td{text-align:left;vertical-align:top} table.notes td:nth-child(2){min-width:6.5em}
table.notes code{font-size:.9em}
"""
def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _pct(p: float, low: float, high: float) -> str:
    """'38.1% (36.0–40.2%)', the interval in small print."""
    return f"{percent(p, 1)} <small>({percent_range(low, high, 1)})</small>"


def _table(header: list[str], rows: list[list[str]], css: str = "") -> str:
    """An HTML table (of CSS class `css`): the header's texts are escaped here, the cells must be HTML already."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table{f' class={css!r}' if css else ''}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, facecolor="white")
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: inline SVG in HTML


def _probabilities(runs: pd.DataFrame, m: dict) -> str:
    """Each rung above its track's start: P(at or above it by the horizon), and when it was first reached."""
    fp = analysis.first_passage_quantiles(runs, m).set_index("rung")
    rows = [[_e(label), _pct(*fp.loc[r, ["p", "low", "high"]]), _e(date_label(m, fp.loc[r, "median"])),
             _e(f"{date_label(m, fp.loc[r, 'q05'])} – {date_label(m, fp.loc[r, 'q95'])}")]
            for r, label in shown_rungs(m)]
    return _table(["rung", "at or above it by the horizon (95% CI)", "first day at or above: median", "5–95% range"],
                  rows)


def _outcomes(runs: pd.DataFrame, m: dict) -> str:
    of = analysis.outcome_frequencies(runs, m)
    labels = m.get("outcome_labels", {})
    rows = [[_e(labels.get(o.outcome, o.outcome)), _pct(o.p, o.low, o.high), _e(date_label(m, o.median_day))]
            for o in of.itertuples()]
    return _table(["response option / obligation", "fired (95% CI)", "median date"], rows)


def _key_variables(runs: pd.DataFrame, m: dict) -> str:
    """The key variables' table of `escalsim run`: median [5%, 95%] at each checkpoint (by its date) and the horizon."""
    header, rows = key_variable_rows(runs, m)
    if not rows:
        return "<p>The scenario has no variables to show.</p>"
    days = {c["name"]: c["day"] for c in m["checkpoints"]} | {"horizon": m["horizon_days"]}
    cells = [[f"{_e(end_label(m, days[at]))} <small>({_e(at)})</small>"] + [_e(c) for c in rest] for at, *rest in rows]
    return ("<p>Median across the runs, and in brackets the 5% and 95% quantiles, at the end of each date.</p>"
            + _table(["at the end of"] + header[1:], cells))


ASSUMPTIONS_INTRO = ("Every number of the scenario that carries a <code>source:</code> note (its own, or that of "
                     "the mapping holding it); a note that contains the word “assumption” marks an assumption. "
                     "Numbers written without a note, and numbers inside conditions, are not listed.")


def _assumptions(m: dict) -> str:
    """Two tables from the manifest's 'assumptions' records: sourced facts, then assumptions (or one line why not)."""
    records = m.get("assumptions")
    if records is None:
        return ("<p>These results do not list the numbers behind them and their sources "
                "(no “assumptions” in the manifest).</p>")
    parts = [f"<p>{ASSUMPTIONS_INTRO}</p>"]
    for title, kept in (("Sourced facts", False), ("Assumptions", True)):
        rows = [_assumption_row(r) for r in records if bool(r.get("is_assumption")) is kept]
        parts.append(f"<h3>{title} ({len(rows)})</h3>")
        parts.append(_table(["where in the scenario", "value", "source"], rows, "notes") if rows else "<p>None.</p>")
    return "".join(parts)


def _assumption_row(record: dict) -> list[str]:
    """Path (breakable after its dots), value and source of one record, escaped."""
    path = _e(record.get("path", "")).replace(".", ".<wbr>")
    return [f"<code>{path}</code>", _e(record.get("value", "")), _e(record.get("source", ""))]


def _manifest(m: dict) -> str:
    keys = ["scenario", "seed", "runs", "escalsim_version", "backend", "workers", "wall_time_s", "runs_per_s",
            "events", "created", "stopped_because", "overrides", "scenario_sha256"]
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(m[k])}</dd>" for k in keys if k in m)
    for name, source in (m.get("sources") or {}).items():
        items += f"<dt>sha256 of {_e(Path(name).name)}</dt><dd><code>{_e(source['sha256'])}</code></dd>"
    return f"<dl>{items}</dl>"


def _figures(results) -> str:
    """Every figure as inline SVG with its caption (labels from the manifest, not ids)."""
    parts = []
    for drawing in plots.drawings(results):
        fig = plots.new_figure(results)
        drawing.draw(fig.add_subplot())
        parts.append(f'<figure id="fig-{_e(drawing.stem)}">{_svg(fig)}'
                     f"<figcaption>{_e(drawing.caption)}</figcaption></figure>")
    return "".join(parts)


def render(results) -> str:
    """The whole report page of a results object as an HTML string; every text from the scenario file is escaped.

    Raises ValueError if the results cannot be drawn (see `plots.drawings`), KeyError if the manifest or the
    runs table lacks what the tables read.
    """
    m, runs = results.manifest, results.runs
    figures = _figures(results)
    title = scenario_title(m)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} — escalsim report</title><style>{CSS}</style></head>
<body><main>
<h1>{_e(title)}</h1>
<p class="lead">{len(runs):,} runs, seed {_e(m.get("seed"))}, from {_e(m["start"])} for {m["horizon_days"]:g} days.</p>
<p>{_e(m.get("description") or "")}</p>
<h2>Key probabilities</h2>{_probabilities(runs, m)}
<h2>Key variables</h2>{_key_variables(runs, m)}
<h2>Response options and treaty obligations</h2>{_outcomes(runs, m)}
<h2>Figures</h2>{figures}
<h2>Assumptions and sources</h2>{_assumptions(m)}
<h2>Manifest</h2>{_manifest(m)}
</main><footer>escalsim {_e(m.get("escalsim_version", ""))} — every probability with its 95% Wilson interval.</footer>
</body></html>
"""


def write_report(results, path: Path | None = None) -> Path:
    """Write the report of a results object to DIR/report.html (or `path`) atomically; returns the path written.

    Raises as `render`, and OSError if the page cannot be written (no partial file is left).
    """
    path = Path(path) if path is not None else Path(results.directory) / "report.html"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(render(results), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
