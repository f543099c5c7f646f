"""A look-ahead's small fan chart: per track, the share of futures on each rung day by day, without the move and
with it, side by side (a PNG for the projector)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np

from escalsim.outputs.style import DPI, INK, MUTED, NOTE, SUBTITLE, TICK

matplotlib.use("Agg")


def ahead_fan(path: Path, title: str, tracks: Sequence[tuple[str, Sequence[str]]], dates: Sequence,
              arms: Sequence[tuple[str, np.ndarray]], note: str) -> Path:
    """Draw and save the chart: `tracks` is (label, rung labels) per track, `dates` the day of each column,
    `arms` (label, shares tracks x rungs x days) for one or two arms; `note` goes under it (futures, seed).
    Written whole or not at all (a temporary file renamed)."""
    import matplotlib.pyplot as plt

    from escalsim.outputs.style import rung_colours

    rows, cols = len(tracks), len(arms)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols + 2.6, 1.9 * rows + 1.3), squeeze=False,
                             sharex=True, sharey=True)
    x = np.asarray(dates)
    for t, (label, rungs) in enumerate(tracks):
        colours = rung_colours({"rungs": list(rungs)})
        for a, (arm, shares) in enumerate(arms):
            ax = axes[t][a]
            stacks = [100 * shares[t, r] for r in range(len(rungs))]
            polys = ax.stackplot(x, *stacks, colors=colours, linewidth=0)
            ax.set_ylim(0, 100)
            ax.set_yticks([0, 50, 100])
            ax.tick_params(labelsize=TICK - 3, colors=MUTED)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
            if t == 0:
                ax.set_title(arm, fontsize=SUBTITLE - 1, color=INK)
            if a == 0:
                ax.set_ylabel(f"{label}\n% of futures", fontsize=TICK - 3, color=INK)
            if a == cols - 1:
                ax.legend(polys[::-1], list(rungs)[::-1], loc="center left", bbox_to_anchor=(1.02, 0.5),
                          fontsize=TICK - 5, frameon=False)
    fig.autofmt_xdate()
    fig.suptitle(title, fontsize=SUBTITLE, color=INK, x=0.02, ha="left")
    fig.text(0.02, 0.01, note, fontsize=NOTE - 2, color=MUTED, ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    tmp = path.with_name(f".{path.name}.tmp.png")
    try:
        fig.savefig(tmp, dpi=DPI // 2)
        tmp.replace(path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()
    return path
