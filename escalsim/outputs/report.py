"""`escalsim report`: one self-contained HTML page (figures embedded as SVG, no network) from a results directory."""

from __future__ import annotations

import io
import os
from pathlib import Path

from escalsim.outputs import plots, report_tables
from escalsim.outputs.labels import scenario_title

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{margin-bottom:.1em} .lead{color:#555;margin-top:0} table{border-collapse:collapse;margin:1em 0;font-size:.92em}
th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:right} th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #888} figure{margin:1.5em 0} figure svg{width:100%;height:auto}
figcaption{color:#555;font-size:.9em} dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}
dt{font-weight:600} dd{margin:0;word-break:break-all} footer{color:#777;font-size:.85em;margin-top:3em}
table.notes th,table.notes td{text-align:left;vertical-align:top} table.notes td:nth-child(2){min-width:6.5em}
table.notes code{font-size:.9em} tr.group th{text-align:left;padding-top:.7em;border-bottom:1px solid #bbb}
tbody td small{color:#666} th.nw,table.variables td{white-space:nowrap}
table.entered td:last-child,table.entered th:last-child{text-align:left}
.moves{background:#fff6e0;border-left:4px solid #E69F00;padding:.2em 1em;margin:1em 0} .moves ul{margin-top:0}
"""
_e, _table = report_tables.e, report_tables.table


def inline_svg(fig) -> str:
    """A matplotlib figure as an <svg> element to write inline in an HTML page (no XML prolog, no date)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, facecolor="white")
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: inline SVG in HTML


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


def _figures(results) -> dict[str, str]:
    """Every figure as inline SVG with its caption (labels from the manifest, not ids), by file stem, in order."""
    parts = {}
    for drawing in plots.drawings(results):
        fig = plots.new_figure(results)
        drawing.draw(fig.add_subplot())
        parts[drawing.stem] = (f'<figure id="fig-{_e(drawing.stem)}">{inline_svg(fig)}'
                               f"<figcaption>{_e(drawing.caption)}</figcaption></figure>")
    return parts


def render(results) -> str:
    """The whole report page of a results object as an HTML string; every text from the scenario file is escaped.

    Raises ValueError if the results cannot be drawn (see `plots.drawings`), KeyError if the manifest or the
    runs table lacks what the tables read.
    """
    m, runs = results.manifest, results.runs
    figures = _figures(results)
    events_figure = figures.pop("events", "")
    t = report_tables
    repeated = t.repeated(runs, m)
    title = scenario_title(m)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} — escalsim report</title><style>{CSS}</style></head>
<body><main>
<h1>{_e(title)}</h1>
<p class="lead">{len(runs):,} runs, seed {_e(m.get("seed"))}, from {_e(m["start"])} for {m["horizon_days"]:g} days.</p>
<p>{_e(m.get("description") or "")}</p>{t.moves(m, runs)}
<h2>Events: how likely by each date</h2>{t.events(runs, m)}{events_figure}
<h2>Tracks: at or above each rung by each date</h2>{t.tracks(runs, m)}
<h2>Rungs entered, and what put the track there</h2>{t.entered(runs, m)}
<h2>Key variables</h2>{t.key_variables(runs, m)}
{f"<h2>Decisions taken more than once</h2>{repeated}" if repeated else ""}
<h2>Figures</h2>{"".join(figures.values())}
<h2>Assumptions and sources</h2>{_assumptions(m)}
<h2>Manifest</h2>{_manifest(m)}
</main><footer>escalsim {_e(m.get("escalsim_version", ""))} — intervals are 95% Wilson intervals; the CSV files beside
the results hold every checkpoint and both bounds.</footer>
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
