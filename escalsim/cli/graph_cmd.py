"""`escalsim graph`: what each response option of a scenario can change, as text, Graphviz dot or a figure."""

from __future__ import annotations

from pathlib import Path

import click

from escalsim.cli.common import check_output_file, echo, fail, load, warn, why

EXAMPLE = "escalsim graph scenarios/dprk_russia_2024.yaml --from seoul_sends_weapons"
FIGURE_FORMATS = ("png", "svg")


@click.command("graph")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--from", "start", metavar="OPTION", help="Only what this option (or a treaty obligation, "
              "treaty.party) can reach, each with its path.")
@click.option("--out", type=click.Path(dir_okay=False), help="Also draw the graph to this figure (.png or .svg).")
@click.option("--format", "fmt", default="text", show_default=True, type=click.Choice(["text", "dot"]),
              help="text: each option's paths to the tracks; dot: the whole graph for Graphviz.")
def graph(file: str, start: str | None, out: str | None, fmt: str) -> None:
    """Show how the options of scenario FILE reach its tracks: each option, the tracks it can move and the
    shortest chain of effects and conditions that leads there.

    \b
    e.g. escalsim graph scenarios/dprk_russia_2024.yaml --from seoul_sends_weapons
         escalsim graph scenarios/dprk_russia_2024.yaml --out graph.png
         escalsim graph scenarios/dprk_russia_2024.yaml --format dot | dot -Tsvg > graph.svg
    """
    from escalsim.scenario import graph as influence

    target = _figure_target(out) if out else None
    scenario = load(file)
    g = influence.influence_graph(scenario)
    cause = None
    if start is not None:
        try:
            cause = influence.find_cause(g, start)
        except KeyError as exc:
            raise click.BadParameter(exc.args[0], param_hint="--from") from None
    shown = g if cause is None else influence.subgraph(g, cause.id)
    for line in (dot_lines(shown, scenario.name) if fmt == "dot" else text_lines(g, cause)):
        echo(line)
    if target is not None:
        _draw(shown, scenario.name, target)
        (warn if fmt == "dot" else echo)(f"figure: {target}")  # stdout keeps only the dot text


def _figure_target(out: str) -> Path:
    """The figure's path, checked before any work (exit 1 if it cannot be written, 2 for another format)."""
    suffix = Path(out).suffix.lower().lstrip(".")
    if suffix not in FIGURE_FORMATS:
        raise click.BadParameter(f"{out!r}: the figure's name must end in .png or .svg", param_hint="--out")
    return check_output_file(out, "the figure", replaceable=True)


def text_lines(g, cause=None) -> list[str]:
    """Each option and obligation (or only `cause`, a Node) with the tracks it reaches and one path to each; with
    a cause, also the variables and options it reaches, each with its path."""
    from escalsim.scenario.graph import path_text, reach_of

    causes = [cause] if cause is not None else g.of_kind("option", "obligation")
    lines: list[str] = []
    for node in causes:
        reach = reach_of(g, node.id)
        lines.append(f"{node.name} ({node.label})")
        if not reach.tracks:
            lines.append("  reaches no track")
        for track, path in reach.tracks.items():
            lines.append(f"  track {track}: {path_text(g, node.id, path)}")
        if cause is None:
            lines.append(f"  also reaches {len(reach.variables)} variable(s) and {len(reach.options)} option(s)")
            continue
        for what, found in (("variable", reach.variables), ("option", reach.options)):
            for name, path in found.items():
                lines.append(f"  {what} {name}: {path_text(g, node.id, path)}")
    return lines


def dot_lines(g, name: str) -> list[str]:
    """The graph in Graphviz's dot language: options left to tracks right, edges coloured and labelled."""
    from escalsim.outputs.graph_figure import EDGE_STYLES, NODE_FILLS

    lines = [f'digraph "{name}" {{', "  rankdir=LR;", '  node [shape=box, style="rounded,filled", fontsize=10];']
    for node in g.nodes.values():
        label = f"{node.name}\\n({node.kind.replace('_', ' ')})"
        lines.append(f'  "{node.id}" [label="{_quoted(label)}", fillcolor="{NODE_FILLS.get(node.kind, "white")}"];')
    for e in g.edges:
        colour, style, _ = EDGE_STYLES.get(e.kind, ("#555555", "-", e.kind))
        dot_style = {"-": "solid", "--": "dashed", ":": "dotted"}[style]
        lines.append(f'  "{e.source}" -> "{e.target}" [label="{_quoted(e.reason)}", color="{colour}", '
                     f'style={dot_style}, fontsize=8];')
    return lines + ["}"]


def _quoted(text: str) -> str:
    return text.replace('"', '\\"')


def _draw(g, name: str, target: Path) -> None:
    """Draw the graph to `target` (written whole or not at all); exit 1 with the reason if it cannot be written."""
    import os

    from escalsim.outputs.graph_figure import influence_figure

    ax = influence_figure(g.nodes.values(), g.edges, title=f"Influence graph: {name}")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        ax.figure.savefig(tmp, format=target.suffix.lower().lstrip("."), facecolor="white",
                          metadata={"Date": None} if target.suffix.lower() == ".svg" else None)
        os.replace(tmp, target)
    except OSError as exc:
        fail(f"cannot write the figure {target}: {why(exc)}")
    finally:
        tmp.unlink(missing_ok=True)
