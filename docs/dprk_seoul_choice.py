"""Seoul's choice in the default scenario: the three tracks and the links of the consequence chains with Seoul's
weapons off the table, as modelled, and with either of Seoul's options forced on 15 November 2024.

    python docs/dprk_seoul_choice.py --runs 5000 --seed 1 --work /tmp/dprk-seoul

runs `escalsim run scenarios/dprk_russia_2024.yaml` four times (the settings below, the same seed: run i of every
setting starts from the same random streams), or reuses the results directories already under --work, then writes
docs/dprk-seoul-tracks.png, docs/dprk-seoul-chain.png and prints the tables of docs/scenario-dprk-russia-2024.md.
It reads only runs.parquet (columns at_or_above.<rung>, event.<option>, final.<variable>).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from escalsim.stats import wilson  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "dprk_russia_2024.yaml"
NOV15 = "day >= date('2024-11-15')"

# (key, label, colour, --set overrides). Forcing an option: its condition becomes "from 15 November" and its rate
# so high that it fires that day; the alternative is taken off the table so that it cannot come first.
SETTINGS = [
    ("off", "Weapons off the table", "#9a9a9a",
     ["options.seoul_sends_weapons.enabled=false"]),
    ("nonlethal", "Non-lethal aid on 15 Nov 2024", "#4477aa",
     ["options.seoul_sends_weapons.enabled=false", f"options.seoul_expands_nonlethal_aid.when={NOV15}",
      "options.seoul_expands_nonlethal_aid.hazard.per_month=3000"]),
    ("modelled", "As modelled (Seoul decides)", "#aa3377",
     []),
    ("weapons", "Weapons on 15 Nov 2024", "#ee6677",
     ["options.seoul_expands_nonlethal_aid.enabled=false", f"options.seoul_sends_weapons.when={NOV15}",
      "options.seoul_sends_weapons.hazard.per_month=3000", "options.seoul_sends_weapons.delay_days=0"]),
]

TRACKS = [  # (title, rungs shown: every rung above the track's start)
    ("Widening of the war", [("foreign_troops_in_combat", "Foreign troops in combat"),
                             ("state_joins_war", "Another state formally joins"),
                             ("nato_direct", "NATO direct involvement")]),
    ("Means of war", [("deep_strikes", "Deep strikes into Russia"),
                      ("nuclear_signalling", "Nuclear signalling"),
                      ("nuclear_use", "Nuclear use")]),
    ("Indo-Pacific security", [("dprk_gains_russian_tech", "Pyongyang gains Russian\nmilitary technology"),
                               ("dprk_weapons_advance", "Missile or nuclear\nadvances demonstrated"),
                               ("korea_military_crisis", "Military crisis on the\nKorean peninsula")]),
]

CHAIN = [  # (event column, label): the links between Seoul's choice and the tracks
    ("moscow_threatens_seoul", "Moscow warns Seoul publicly"),
    ("moscow_retaliates_against_seoul", "Moscow answers with technology for Pyongyang"),
    ("moscow_shares_nuclear_technology", "Moscow shares nuclear technology"),
    ("pyongyang_provokes_seoul", "Pyongyang provokes the South"),
    ("moscow_losses_mount", "Russian losses mount (manpower strain +1)"),
    ("pyongyang_sends_second_contingent", "Pyongyang sends a second contingent"),
    ("moscow_retakes_kursk", "Moscow retakes Kursk"),
    ("moscow_sends_dprk_into_ukraine", "North Korean units moved into Ukraine"),
    ("pyongyang_declares_war", "Pyongyang formally declares war"),
]


def run_all(runs: int, seed: int, work: Path, workers: int) -> dict[str, pd.DataFrame]:
    """Each setting's runs.parquet, running escalsim where its directory does not exist yet."""
    frames = {}
    for key, _, _, sets in SETTINGS:
        out = work / key
        if not (out / "runs.parquet").exists():
            cmd = ["escalsim", "run", str(SCENARIO), "--runs", str(runs), "--seed", str(seed), "--workers",
                   str(workers), "--quiet", "--out", str(out)]
            for s in sets:
                cmd += ["--set", s]
            subprocess.run(cmd, check=True)
        frames[key] = pd.read_parquet(out / "runs.parquet")
    return frames


def share(frame: pd.DataFrame, column: str) -> tuple[float, float, float]:
    k = int(frame[column].notna().sum())
    est, low, high = wilson(k, len(frame))
    return float(est), float(low), float(high)


def bars(ax, frames, rows, title, xmax=None):
    """Grouped horizontal bars, one group per row (top to bottom), one bar per setting, with 95% intervals."""
    height = 0.8 / len(SETTINGS)
    y0 = np.arange(len(rows))[::-1]
    top = 0.0
    for i, (key, label, colour, _) in enumerate(SETTINGS):
        values = [share(frames[key], column) for column, _ in rows]
        est = np.array([v[0] for v in values])
        err = np.clip(np.array([[v[0] - v[1] for v in values], [v[2] - v[0] for v in values]]), 0, None)
        y = y0 + 0.4 - (i + 0.5) * height
        ax.barh(y, est * 100, height=height * 0.92, color=colour, label=label, xerr=err * 100,
                error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "#333333"})
        for yy, e, hi in zip(y, est, est + err[1]):
            ax.text(hi * 100 + 1, yy, f"{e * 100:.1f}%", va="center", fontsize=7.5)
        top = max(top, float((est + err[1]).max()))
    ax.set_yticks(y0, [label for _, label in rows])
    ax.set_xlim(0, xmax if xmax is not None else min(100, top * 100 * 1.25 + 8))
    ax.set_xlabel("share of runs (%), 95% Wilson interval")
    ax.set_title(title, loc="left", fontsize=11, fontweight="bold")
    ax.spines[["top", "right"]].set_visible(False)


def footer(fig, frames, seed):
    n = len(next(iter(frames.values())))
    fig.text(0.01, 0.005, f"dprk_russia_2024 · {n:,} runs per setting · seed {seed} · "
             "python docs/dprk_seoul_choice.py", fontsize=7.5, color="#555555")


def draw(frames, seed: int, out: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.6), layout="constrained")
    for ax, (title, rungs) in zip(axes, TRACKS):
        bars(ax, frames, [(f"at_or_above.{r}", label) for r, label in rungs], title, xmax=112)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4, frameon=False)
    fig.suptitle("Seoul's choice and the three tracks: each rung or a higher one reached within the year "
                 "(by 14 Oct 2025)", x=0.01, ha="left", fontsize=13, fontweight="bold")
    footer(fig, frames, seed)
    fig.savefig(out / "dprk-seoul-tracks.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(11, 7.5), layout="constrained")
    bars(ax, frames, [(f"event.{e}", label) for e, label in CHAIN], "")
    ax.legend(loc="lower right", frameon=False)
    fig.suptitle("Seoul's choice: the links between it and the tracks (share of runs in which each happened "
                 "within the year)", x=0.01, ha="left", fontsize=12, fontweight="bold")
    footer(fig, frames, seed)
    fig.savefig(out / "dprk-seoul-chain.png", dpi=110)
    plt.close(fig)


def tables(frames) -> str:
    """Markdown tables: the rungs and the links (percent, with the 95% interval), and the key variables."""
    head = "| | " + " | ".join(label for _, label, _, _ in SETTINGS) + " |\n|---|" + "---:|" * len(SETTINGS)
    lines = [head]
    rows = [(f"at_or_above.{r}", f"{title}: {label}".replace("\n", " ")) for title, rungs in TRACKS
            for r, label in rungs] + [(f"event.{e}", label) for e, label in CHAIN]
    for column, label in rows:
        cells = []
        for key, _, _, _ in SETTINGS:
            est, low, high = share(frames[key], column)
            cells.append(f"{est * 100:.1f} ({low * 100:.1f}–{high * 100:.1f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", head]
    for variable, label in [("dprk_in_russia", "North Korean troops in Russia at one year, median [5%, 95%]"),
                            ("dprk_casualties", "North Korean casualties at one year, median [5%, 95%]"),
                            ("tech_transfer", "Russian technology packages for Pyongyang, mean"),
                            ("ukraine_capacity", "Ukraine's added capacity, mean")]:
        cells = []
        for key, _, _, _ in SETTINGS:
            x = frames[key][f"final.{variable}"]
            if variable in ("tech_transfer", "ukraine_capacity"):
                cells.append(f"{x.mean():.2f}")
            else:
                q = x.quantile([0.5, 0.05, 0.95]).round(-2)
                cells.append(f"{q.iloc[0]:,.0f} [{q.iloc[1]:,.0f}, {q.iloc[2]:,.0f}]")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/dprk-seoul"),
                        help="results directories, one per setting (reused when present)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    frames = run_all(args.runs, args.seed, args.work, args.workers)
    draw(frames, args.seed, args.out)
    print(tables(frames))


if __name__ == "__main__":
    main()
