"""The influence graph of a scenario as a layered drawing: options and obligations on the left, what they change in
the middle, tracks on the right, edges coloured by kind.

It draws plain data: nodes with `id`, `kind` and `name`, edges with `source`, `target` and `kind` (as
`escalsim.scenario.graph` makes them; the CLI passes them in). Nothing here reads a scenario or runs one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from escalsim.outputs.style import DPI, INK, MUTED

# column of each node kind, left to right, and its heading
COLUMNS = {"option": 0, "obligation": 0, "treaty": 1, "step": 1, "casus_foederis": 1, "deployment": 1,
           "stage": 1, "flag": 1, "parameter": 2, "variable": 2, "estimate": 3, "track": 4, "rung": 4}
HEADINGS = ("options and obligations", "treaties, deployments, flags", "parameters and variables", "estimates",
            "tracks")
NODE_FILLS = {"option": "#dbe9f6", "obligation": "#fde9c9", "treaty": "#f3dcea", "step": "#f3dcea",
              "casus_foederis": "#f3dcea", "deployment": "#e4e4e4", "stage": "#e4e4e4", "flag": "#eeeeee",
              "parameter": "#f5f3c8", "variable": "#dff2ea", "estimate": "#e6f4fb", "track": "#fbd9c4",
              "rung": "#fbd9c4"}
# edge kind -> (colour, line style, legend text); colour-blind-safe (Okabe-Ito)
EDGE_STYLES = {"writes": ("#0072B2", "-", "sets, adds, counts"), "moves": ("#D55E00", "-", "moves a track"),
               "reads": ("#009E73", "-", "read by a condition or number"),
               "observes": ("#E69F00", "-", "observed as an estimate"),
               "enables": ("#56B4E9", "--", "enables"), "disables": ("#CC79A7", "--", "disables, ends alternatives"),
               "flow": ("#000000", "-", "changes a deployment"), "event": ("#777777", ":", "brings about an event"),
               "treaty": ("#8c5e9c", "-", "treaty steps and calls"), "hazard": ("#D55E00", ":", "background hazard")}
INCH_PER_ROW, INCH_PER_COLUMN, FONT = 0.3, 3.3, 8.5


@dataclass(frozen=True)
class _Edge:
    source: str
    target: str
    kind: str


def fold(nodes: Iterable, edges: Iterable) -> tuple[dict, list[_Edge]]:
    """Fold each rung into its track, each stage into its deployment and each treaty step and casus foederis into
    its treaty, for a drawing of readable size. Takes nodes and edges as the module's docstring says; returns
    (nodes by id, edges as (source, target, kind), repeats and edges within a folded node dropped)."""
    nodes, edges = {n.id: n for n in nodes}, list(edges)
    owner = {}
    for e in edges:
        source, target = nodes[e.source].kind, nodes[e.target].kind
        if e.kind == "event" and target in ("rung", "stage"):
            owner[e.target] = e.source
        elif e.kind == "treaty" and (source, target) == ("step", "treaty"):
            owner[e.source] = e.target
        elif e.kind == "treaty" and target == "casus_foederis":
            owner[e.target] = e.source
    kept = {nid: n for nid, n in nodes.items() if nid not in owner}
    folded = dict.fromkeys(_Edge(owner.get(e.source, e.source), owner.get(e.target, e.target), e.kind) for e in edges)
    return kept, [e for e in folded if e.source != e.target]


def _columns(nodes: dict, edges: list[_Edge], sweeps: int = 6) -> list[list[str]]:
    """Node ids by column, each column ordered to keep edges short: a few sweeps of the barycentre heuristic
    (each node placed at the mean height of its neighbours), starting from file order."""
    columns: list[list[str]] = [[] for _ in HEADINGS]
    for nid, node in nodes.items():
        columns[COLUMNS.get(node.kind, 2)].append(nid)
    neighbours = defaultdict(list)
    for e in edges:
        neighbours[e.source].append(e.target)
        neighbours[e.target].append(e.source)
    for _ in range(sweeps):
        height = _heights(columns)
        for column in columns:
            column.sort(key=lambda nid: _mean([height[m] for m in neighbours[nid]], height[nid]))
    return columns


def _heights(columns: list[list[str]]) -> dict[str, float]:
    """Each node's height in its column, from 1 (top) to 0 (bottom)."""
    return {nid: 1 - (i + 0.5) / len(column) for column in columns for i, nid in enumerate(column)}


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def influence_figure(nodes: Iterable, edges: Iterable, title: str = "Influence graph", folded: bool = True):
    """Draw an influence graph on a new Figure (sized to the graph; no pyplot state) and return its Axes.

    Takes nodes and edges as the module's docstring says, a title, and whether to fold rungs, stages and treaty
    steps into their track, deployment and treaty. Raises KeyError if an edge names a node not given."""
    if folded:
        nodes, edges = fold(nodes, edges)
    else:
        nodes = {n.id: n for n in nodes}
        edges = list(dict.fromkeys(_Edge(e.source, e.target, e.kind) for e in edges))
    for e in edges:
        nodes[e.source], nodes[e.target]  # noqa: B018 - fail early on a dangling edge
    columns = _columns(nodes, edges)
    rows = max([len(c) for c in columns] + [1])
    fig = Figure(figsize=(INCH_PER_COLUMN * len(columns), max(5.0, INCH_PER_ROW * rows + 1.6)), dpi=DPI,
                 layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(-0.55, len(columns) - 0.45)
    ax.set_ylim(-0.5, rows + 0.4)
    ax.axis("off")
    fig.suptitle(title, color=INK, fontsize=13, x=0.01, ha="left")
    boxes = _draw_nodes(ax, nodes, columns, rows)
    _draw_edges(ax, edges, boxes)
    _legend(ax, {e.kind for e in edges})
    return ax


def _draw_nodes(ax, nodes: dict, columns: list[list[str]], rows: int) -> dict[str, tuple]:
    """Each node as its name in a box coloured by kind, every column spread over the full height; headings on
    top. Returns each node's (x, y, text artist)."""
    placed = {}
    height = _heights(columns)
    for x, (heading, column) in enumerate(zip(HEADINGS, columns)):
        if column:
            ax.text(x, rows - 0.2, heading, ha="center", va="bottom", fontsize=FONT + 1, color=MUTED,
                    fontweight="bold")
        for nid in column:
            y = height[nid] * rows - 0.5
            text = ax.text(x, y, nodes[nid].name, ha="center", va="center", fontsize=FONT, color=INK, zorder=3,
                           bbox={"boxstyle": "round,pad=0.3", "facecolor": NODE_FILLS.get(nodes[nid].kind, "white"),
                                 "edgecolor": "#999999", "linewidth": 0.6})
            placed[nid] = (x, y, text)
    return placed


def _draw_edges(ax, edges: list[_Edge], boxes: dict[str, tuple]) -> None:
    """Arrows from box to box (clipped to the boxes, which are drawn first): straight to the next column, curved
    when they pass over a column, go back left or stay in their column."""
    for e in edges:
        x0, y0, a = boxes[e.source]
        x1, y1, b = boxes[e.target]
        colour, style, _ = EDGE_STYLES.get(e.kind, (MUTED, "-", e.kind))
        bend = 0.0 if x1 == x0 + 1 else (-0.15 if x1 > x0 else (0.35 if x1 == x0 else 0.2))  # skip boxes between
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), patchA=a.get_bbox_patch(), patchB=b.get_bbox_patch(),
                                     arrowstyle="-|>", mutation_scale=8, linewidth=0.8, linestyle=style,
                                     color=colour, alpha=0.65, zorder=4, connectionstyle=f"arc3,rad={bend}"))


def _legend(ax, kinds: set[str]) -> None:
    handles = [Line2D([], [], color=c, linestyle=s, linewidth=1.5, label=text)
               for kind, (c, s, text) in EDGE_STYLES.items() if kind in kinds]
    if handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=min(5, len(handles)),
                  frameon=False, fontsize=FONT)
