"""Issue 25's grid-floor experiment: the reproduction's ratio grid 0.2..1.0 against the paper's 0.1..1.0, on
the seeds where a store holds both (results/paper: the reproduction's rows plus the paper grid's).

    python benchmarks/grid_floor.py results/paper --seeds 1 [--paper-tables ../shared/paper-tables]

For every ratio-tuned sampler: how often validation picks the grid's smallest ratio under each grid (the
reduced grid's 0.2 was chosen in 52-70% of runs: a floor that binds), and how each sampler's Table 2 rank
and the Spearman correlation with the paper's Table 2 move from one grid to the other. Same selection and
ranking code as Table 2 (bench.stats, bench.analysis.comparison).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from bench import stats
from bench.analysis.comparison import _paper_ranks, paper_comparison
from bench.store import ResultStore

REDUCED = (0.2, 0.4, 0.6, 0.8, 1.0)
FULL = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def on_grid(rows: pd.DataFrame, grid: tuple[float, ...]) -> pd.DataFrame:
    """Rows of samplers without a ratio, and ratio-tuned rows at the grid's ratios."""
    ratio = rows["params"].map(lambda p: json.loads(p).get("ratio"))
    return rows[ratio.isna() | ratio.isin(grid)]


def floor_share(rows: pd.DataFrame, metric: str, grid: tuple[float, ...]) -> pd.Series:
    """Per ratio-tuned sampler: the share of its runs whose best-on-validation ratio is the grid's smallest."""
    best = stats.select_best(on_grid(rows, grid), metric).dropna(subset=["params"])
    best["ratio"] = best["params"].map(lambda p: json.loads(p).get("ratio"))
    tuned = best.dropna(subset=["ratio"])
    return tuned.groupby("sampler")["ratio"].apply(lambda r: (r == min(grid)).mean())


def ranks(rows: pd.DataFrame, metric: str, grid: tuple[float, ...]) -> pd.DataFrame:
    return stats.rank_table(stats.config_scores(stats.select_best(on_grid(rows, grid), metric)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--paper-tables", default="../shared/paper-tables")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = ResultStore(Path(args.results), readonly=True).frame()
    # Table 2's samplers: not the ablations and hyperparameter points (`AutoSMOTE[...]`) nor the Gumbel variants
    rows = rows[rows["seed"].isin(seeds) & ~rows["sampler"].str.contains(r"\[")
                & ~rows["sampler"].str.startswith("AutoSMOTE-")]
    for metric in ("macro_f1", "mcc"):
        paper = _paper_ranks(Path(args.paper_tables), metric)
        shares = pd.DataFrame({"floor 0.2 chosen (0.2..1.0)": floor_share(rows, metric, REDUCED),
                               "floor 0.1 chosen (0.1..1.0)": floor_share(rows, metric, FULL)})
        sides, rhos = {}, {}
        for name, grid in (("0.2..1.0", REDUCED), ("0.1..1.0", FULL)):
            side, summary = paper_comparison(ranks(rows, metric, grid), paper, "AutoSMOTE")
            sides[name], rhos[name] = side, summary
        moved = pd.DataFrame({"paper position": sides["0.1..1.0"]["paper position"],
                              "position 0.2..1.0": sides["0.2..1.0"]["our position"],
                              "position 0.1..1.0": sides["0.1..1.0"]["our position"],
                              "rank 0.2..1.0": sides["0.2..1.0"]["ours overall"].round(2),
                              "rank 0.1..1.0": sides["0.1..1.0"]["ours overall"].round(2)})
        print(f"## {metric}, seeds {args.seeds}: Spearman with the paper's Table 2 "
              + ", ".join(f"{g}: {s['rho']:.2f} over {s['n']} samplers" for g, s in rhos.items()))
        print((shares * 100).round(0).astype("Int64").to_string())
        print(moved.to_string())
        print()


if __name__ == "__main__":
    main()
