"""Issue 25's answer, side by side: the reduced protocol (results/reproduction: ratios 0.2..1.0, AutoSMOTE at 100
episodes) against the paper's (results/paper: ratios 0.1..1.0, AutoSMOTE at 1000 episodes), each compared with
the paper's Table 2.

    python benchmarks/protocol_side_by_side.py results/reproduction results/paper [--paper-tables ...]

For each protocol and metric: the Spearman correlation of the overall ranks with the paper's (and per dataset),
AutoSMOTE's average rank and place, and AutoSMOTE against SVMSMOTE by a two-sided Wilcoxon signed-rank test over
the seed-averaged configurations (overall and per dataset). The full protocol is read on the seeds where every
Table 2 sampler, AutoSMOTE at the paper's budget included, has its runs, and says which seeds those are. Same
selection, ranking and test code as Table 2 (bench.stats, bench.analysis.comparison).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from bench import stats
from bench.analysis.comparison import _paper_ranks, paper_comparison
from bench.store import ResultStore

PROTOCOLS = {"reduced": ((0.2, 0.4, 0.6, 0.8, 1.0), 100),
             "full": ((0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0), 1000)}
REFERENCE, RIVAL = "AutoSMOTE", "SVMSMOTE"


def protocol_rows(store: Path, grid: tuple[float, ...], budget: int) -> pd.DataFrame:
    """Table 2's rows under one protocol: ratio-tuned samplers at the grid's ratios, AutoSMOTE at the budget."""
    rows = ResultStore(store, readonly=True).frame()
    rows = rows[~rows["sampler"].str.contains(r"\[") & ~rows["sampler"].str.startswith("AutoSMOTE-")
                & ~rows["sampler"].str.contains("-unclipped|-ctgan")]
    params = rows["params"].map(json.loads)
    ratio, episodes = params.map(lambda p: p.get("ratio")), params.map(lambda p: p.get("budget"))
    keep = (ratio.isna() | ratio.isin(grid)) & ((rows["sampler"] != REFERENCE) | (episodes == budget))
    return rows[keep]


def complete_seeds(rows: pd.DataFrame) -> list[int]:
    """Seeds on which every sampler of the store has as many runs as the sampler's fullest seed."""
    counts = rows.groupby(["sampler", "seed"]).size().unstack(fill_value=0)
    return [int(s) for s in counts.columns if (counts[s] == counts.max(axis=1)).all()]


def versus(cfg: pd.DataFrame) -> str:
    """AutoSMOTE against SVMSMOTE, two-sided, overall and per dataset: p and who is ahead."""
    def one(part: pd.DataFrame) -> str:
        p, sign = stats.wilcoxon_pair(part[REFERENCE].to_numpy(), part[RIVAL].to_numpy(), "two-sided")
        ahead = REFERENCE if sign > 0 else RIVAL if sign < 0 else "neither"
        return f"p = {p:.3f} ({ahead} ahead)"
    parts = [f"overall {one(cfg)}"]
    parts += [f"{d} {one(cfg.xs(d, level='dataset'))}" for d in pd.unique(cfg.index.get_level_values("dataset"))]
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reduced")
    parser.add_argument("full")
    parser.add_argument("--paper-tables", default="../shared/paper-tables")
    args = parser.parse_args()
    for name, store in (("reduced", args.reduced), ("full", args.full)):
        grid, budget = PROTOCOLS[name]
        rows = protocol_rows(Path(store), grid, budget)
        if REFERENCE not in set(rows["sampler"]):
            print(f"# {name} protocol ({store}): no {REFERENCE} runs at {budget} episodes yet\n")
            continue
        seeds = complete_seeds(rows)
        rows = rows[rows["seed"].isin(seeds)]
        print(f"# {name} protocol ({store}): ratios {grid[0]}..{grid[-1]}, {REFERENCE} at {budget} episodes, "
              f"seeds {','.join(map(str, seeds))}")
        for metric in ("macro_f1", "mcc"):
            cfg = stats.config_scores(stats.select_best(rows, metric))
            ours = stats.rank_table(cfg)
            side, summary = paper_comparison(ours, _paper_ranks(Path(args.paper_tables), metric), REFERENCE)
            overall = ours[stats.OVERALL].dropna()
            print(f"## {metric}: Spearman {summary['rho']:.2f} over {summary['n']} samplers; per dataset "
                  + ", ".join(f"{d} {r:.2f}" for d, (r, _) in summary["per_dataset"].items()))
            print(f"{REFERENCE}: rank {overall[REFERENCE]:.2f}, place {int(overall.rank(method='min')[REFERENCE])} "
                  f"of {len(overall)} (paper place {int(side.at[REFERENCE, 'paper position'])})")
            print(f"{REFERENCE} vs {RIVAL}, two-sided Wilcoxon over {len(cfg)} configurations: {versus(cfg)}")
        print()


if __name__ == "__main__":
    main()
