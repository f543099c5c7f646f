"""The comparison as text (the lines `escalsim compare` prints) and as one self-contained HTML page."""

from __future__ import annotations

import html
import io
import math
from collections.abc import Iterator

import pandas as pd
from matplotlib.figure import Figure

from escalsim.outputs import comparison_figure
from escalsim.outputs.comparison import NEWCOMBE, PAIRED_T, main_rows, unchanged
from escalsim.outputs.labels import end_label, percent
from escalsim.outputs.report import CSS

TOP = 12
LABEL_CHARS = 48
METHODS = (f"B - A with its 95% interval ({NEWCOMBE}); b: pairs where only A has the outcome, c: only B; "
           "mid-p: McNemar's exact mid-p; F: unpaired arms of the same size would need F times the runs for the "
           "same interval (variance-reduction factor of pairing)")


# --- numbers -------------------------------------------------------------------------------------------------
def points(x: float) -> str:
    """A difference of shares in signed percentage points: '+12.3', '-0.4', '0.0' for exactly nothing."""
    return "0.0" if x == 0 else f"{100 * x:+.1f}"


def signed(x: float) -> str:
    """A signed quantity: '+1,234', '-0.125' (three significant digits below 1,000), '0' for exactly nothing."""
    if x == 0:
        return "0"
    return f"{x:+,.0f}" if abs(x) >= 1000 else f"{x:+.3g}"


def plain(x: float) -> str:
    """A quantity: '1,234' or three significant digits."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def midp(p: float) -> str:
    """McNemar's mid-p for a table: '<0.001', '0.042', '1'."""
    if p < 0.001:
        return "<0.001"
    return "1" if p >= 1 else f"{p:.3f}"


def factor(f: float, infinity: str = "inf") -> str:
    """The variance-reduction factor: '1.0', '37', `infinity` when pairing removes all the noise, '-' for none."""
    if math.isnan(f):
        return "-"
    if math.isinf(f):
        return infinity
    return f"{f:,.0f}" if f >= 10 else f"{f:.1f}"


def _short(text: str, width: int = LABEL_CHARS) -> str:
    return text if len(text) <= width else text[:width - 3].rstrip() + "..."


# --- text ------------------------------------------------------------------------------------------------------
def _table(header: list[str], rows: list[list[str]]) -> Iterator[str]:
    """Aligned lines: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for line in [header, *rows]:
        yield "  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(line, widths)))


def summary_lines(table: pd.DataFrame, meta: dict, manifest: dict, top: int = TOP) -> Iterator[str]:
    """What `escalsim compare` prints: the `top` largest differences by the horizon (rungs and events), the key
    variables at the horizon, how many outcomes never changed, and the notes. Takes the comparison table, its
    `comparison.describe` record and arm A's manifest; yields lines."""
    horizon = end_label(manifest, manifest["horizon_days"])
    yield (f"Paired comparison of {meta['pairs']:,} runs (seed {meta['seed']}): A = {meta['arms']['a']['scenario']}, "
           f"B = A with {meta['change']}")
    rows = main_rows(table)
    changed = rows[~unchanged(rows)]
    if len(changed):
        yield (f"Largest differences by the end of {horizon}: P(A) and P(B) in %, B - A and its interval in "
               "percentage points")
        yield from _table(["outcome", "P(A)", "P(B)", "B - A", "95% interval", "b", "c", "mid-p", "F"],
                          [_binary_cells(r) for r in changed.head(top).itertuples()])
    yield from _variable_lines(table, horizon)
    same = int(unchanged(rows).sum())
    yield ""
    yield (f"{len(changed)} of {len(rows)} outcomes by the horizon differ in at least one pair"
           + (f" ({min(top, len(changed))} shown)" if len(changed) > top else "")
           + f"; {same} {'is' if same == 1 else 'are'} the same in every pair (b = c = 0, difference exactly 0).")
    yield METHODS + "."
    for note in meta.get("notes", []):
        yield f"note: {note}"


def _binary_cells(r) -> list[str]:
    return [_short(r.label), percent(r.value_a, 1, sign=False), percent(r.value_b, 1, sign=False),
            points(r.difference), f"[{points(r.low)}, {points(r.high)}]", f"{r.b:,}", f"{r.c:,}",
            midp(r.mcnemar_midp), factor(r.factor)]


def _variable_lines(table: pd.DataFrame, horizon: str) -> Iterator[str]:
    rows = table[(table["kind"] == "variable") & (table["at"] == "horizon")]
    if not len(rows):
        return
    yield ""
    yield f"Key variables at the end of {horizon}: means, and B - A with its 95% interval ({PAIRED_T}) and F"
    yield from _table(["variable", "mean A", "mean B", "B - A", "95% interval", "F"],
                      [[_short(r.label), plain(r.value_a), plain(r.value_b), signed(r.difference),
                        f"[{signed(r.low)}, {signed(r.high)}]", factor(r.factor)] for r in rows.itertuples()])


# --- HTML ------------------------------------------------------------------------------------------------------
def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    """An HTML table: the header's texts are escaped here, the cells must be HTML already."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _binary_html(rows: pd.DataFrame) -> str:
    header = ["outcome", "of", "P(A)", "P(B)", "B − A (points)", "95% interval (Newcombe 10)", "b (A only)",
              "c (B only)", "McNemar mid-p", "F"]
    cells = [[_e(r.label), _e(r.group_label), _e(percent(r.value_a, 1)), _e(percent(r.value_b, 1)),
              _e(points(r.difference)),
              _e(f"{points(r.low)} to {points(r.high)}"), _e(f"{r.b:,}"), _e(f"{r.c:,}"), _e(midp(r.mcnemar_midp)),
              _e(factor(r.factor, "∞"))] for r in rows.itertuples()]
    return _html_table(header, cells)


def _variables_html(table: pd.DataFrame) -> str:
    rows = table[(table["kind"] == "variable") & (table["at"] == "horizon")]
    if not len(rows):
        return "<p>The scenario marks no key variables.</p>"
    cells = [[_e(r.label), _e(plain(r.value_a)), _e(plain(r.value_b)), _e(signed(r.difference)),
              _e(f"{signed(r.low)} to {signed(r.high)}"), _e(factor(r.factor, "∞"))] for r in rows.itertuples()]
    return _html_table(["variable", "mean A", "mean B", "B − A", f"95% interval ({PAIRED_T})", "F"], cells)


def _svg(table: pd.DataFrame, meta: dict, manifest: dict) -> str:
    fig = Figure(figsize=(comparison_figure.style.FIGSIZE[0],
                          comparison_figure.figure_height(comparison_figure.shown_groups(table))), layout="constrained")
    comparison_figure.draw(table, meta, manifest, fig.add_subplot())
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, facecolor="white")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _arms_html(meta: dict) -> str:
    items = ""
    for arm in ("a", "b"):
        info = meta["arms"][arm]
        moves = info.get("moves") or {}
        items += (f"<dt>arm {arm.upper()}</dt><dd>{_e(info['directory'])}: {_e(info['scenario'])}, "
                  f"{info['runs']:,} runs; overrides {_e(info.get('overrides') or 'none')}; injections "
                  f"{_e(len(moves.get('injections') or []))}, blocks {_e(len(moves.get('blocks') or []))}; "
                  f"{_e(info.get('stopped_because') or '')}</dd>")
    return f"<dl>{items}</dl>"


def render(table: pd.DataFrame, meta: dict, manifest: dict) -> str:
    """The comparison page as an HTML string (figure as inline SVG, no network); every text is escaped.

    Takes the comparison table, its `comparison.describe` record and arm A's manifest; raises KeyError if the
    record or the manifest lacks what the page shows.
    """
    rows = main_rows(table)
    changed, same = rows[~unchanged(rows)], rows[unchanged(rows)]
    horizon = end_label(manifest, manifest["horizon_days"])
    title = f"{meta['arms']['a'].get('title') or meta['arms']['a']['scenario']}: what B changes"
    notes = "".join(f"<li>{_e(n)}</li>" for n in meta.get("notes", []))
    unchanged_text = ", ".join(sorted(same["label"].astype(str))) or "none"
    widest = meta.get("widest_half_width")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} — escalsim comparison</title><style>{CSS}</style></head>
<body><main>
<h1>{_e(title)}</h1>
<p class="lead">Arm A: {_e(meta['arms']['a']['scenario'])} as it is. Arm B: A with {_e(meta['change'])}.
{meta['pairs']:,} pairs of runs with seed {_e(meta['seed'])}: run <i>i</i> of B uses the same random numbers as run
<i>i</i> of A, so the two differ only by what the change does.</p>
{f"<ul>{notes}</ul>" if notes else ""}
<h2>Differences</h2><figure>{_svg(table, meta, manifest)}</figure>
<h2>Outcomes that changed, by the end of {_e(horizon)}</h2>
{_binary_html(changed) if len(changed) else "<p>None: every outcome is the same in every pair.</p>"}
<p>The same in every pair (b = c = 0, difference exactly 0): {_e(unchanged_text)}.</p>
<h2>Key variables at the end of {_e(horizon)}</h2>{_variables_html(table)}
<p>Every rung by every checkpoint, every event and every key variable at every checkpoint: comparison.csv
(widest 95% half-width of a difference of probabilities: {_e("-" if widest is None else f"{100 * widest:.2f}")}
percentage points).</p>
<h2>Arms</h2>{_arms_html(meta)}
</main><footer>escalsim {_e(meta.get("escalsim_version", ""))} — {_e(METHODS)}.</footer>
</body></html>
"""
