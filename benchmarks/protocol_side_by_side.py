"""Issue 25's answer, side by side: the reduced protocol (results/reproduction: ratios 0.2..1.0, AutoSMOTE at 100
episodes) against the paper's (results/paper: ratios 0.1..1.0, AutoSMOTE at 1000 episodes), each compared with
the paper's Table 2.

    python benchmarks/protocol_side_by_side.py results/reproduction results/paper [--seeds 1] [--paper-tables ...]

For each protocol and metric - and for the two reductions one at a time (the paper's grid with AutoSMOTE's
searches at 100 episodes from the reduced store) - the Spearman correlation of the overall ranks with the
paper's (and per dataset), AutoSMOTE's average rank and place, and AutoSMOTE against SVMSMOTE by a two-sided Wilcoxon signed-rank test over
the seed-averaged configurations (overall and per dataset); then the budget alone: each search at 1000 episodes
against the same split's, classifier's and metric's search at 100. The full protocol is read on the seeds where every
Table 2 sampler, AutoSMOTE at the paper's budget included, has its runs, and says which seeds those are;
`--seeds` restricts both protocols to the same seeds (the reduced one has all five), so that a difference between
the columns is the protocol's and not the seeds'. Same
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


def report(name: str, rows: pd.DataFrame, paper_tables: Path) -> None:
    """One protocol's rows against the paper's Table 2: Spearman, AutoSMOTE's place, AutoSMOTE vs SVMSMOTE."""
    seeds = complete_seeds(rows)
    rows = rows[rows["seed"].isin(seeds)]
    print(f"# {name}, seeds {','.join(map(str, seeds))}")
    for metric in ("macro_f1", "mcc"):
        cfg = stats.config_scores(stats.select_best(rows, metric))
        ours = stats.rank_table(cfg)
        side, summary = paper_comparison(ours, _paper_ranks(paper_tables, metric), REFERENCE)
        overall = ours[stats.OVERALL].dropna()
        print(f"## {metric}: Spearman {summary['rho']:.2f} over {summary['n']} samplers; per dataset "
              + ", ".join(f"{d} {r:.2f}" for d, (r, _) in summary["per_dataset"].items()))
        print(f"{REFERENCE}: rank {overall[REFERENCE]:.2f}, place {int(overall.rank(method='min')[REFERENCE])} "
              f"of {len(overall)} (paper place {int(side.at[REFERENCE, 'paper position'])})")
        print(f"{REFERENCE} vs {RIVAL}, two-sided Wilcoxon over {len(cfg)} configurations: {versus(cfg)}")
    print()


def budget_effect(low: pd.DataFrame, high: pd.DataFrame) -> None:
    """Each AutoSMOTE search at the larger budget against the one at the smaller on the same split, classifier
    and tuning metric, scored by that metric on the test split: mean difference, wins, two-sided Wilcoxon."""
    keys = ["dataset", "ir", "seed", "classifier", "tune_metric"]
    def searches(rows: pd.DataFrame) -> pd.Series:
        mine = rows[rows["sampler"] == REFERENCE]
        score = [row[f"test_{row['tune_metric']}"] for _, row in mine.iterrows()]
        return pd.Series(score, index=pd.MultiIndex.from_frame(mine[keys]))
    pairs = pd.concat({"low": searches(low), "high": searches(high)}, axis=1, join="inner")
    print(f"# {REFERENCE}'s budget alone: {len(pairs)} searches at 1000 episodes against 100 on the same split")
    for metric, part in pairs.groupby(level="tune_metric"):
        diff = part["high"] - part["low"]
        p, _ = stats.wilcoxon_pair(part["high"].to_numpy(), part["low"].to_numpy(), "two-sided")
        print(f"{metric}: 1000 - 100 episodes, mean {diff.mean():+.4f} (median {diff.median():+.4f}); 1000 better in "
              f"{(diff > 0).sum()}, worse in {(diff < 0).sum()}, equal in {(diff == 0).sum()} of {len(diff)}; "
              f"two-sided Wilcoxon p = {p:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reduced")
    parser.add_argument("full")
    parser.add_argument("--paper-tables", default="../shared/paper-tables")
    parser.add_argument("--seeds", type=lambda text: {int(s) for s in text.split(",")},
                        help="read only these seeds under both protocols, e.g. 1 or 1,2")
    args = parser.parse_args()
    rows = {name: protocol_rows(Path(store), *PROTOCOLS[name])
            for name, store in (("reduced", args.reduced), ("full", args.full))}
    if args.seeds:
        rows = {name: part[part["seed"].isin(args.seeds)] for name, part in rows.items()}
    if REFERENCE not in set(rows["full"]["sampler"]):
        raise SystemExit(f"{args.full}: no {REFERENCE} runs at {PROTOCOLS['full'][1]} episodes yet")
    searches_at_100 = rows["reduced"][rows["reduced"]["sampler"] == REFERENCE]
    grid_only = pd.concat([rows["full"][rows["full"]["sampler"] != REFERENCE], searches_at_100])
    # the grid-only column reads the seeds on which the full protocol has its searches, so the three agree
    grid_only = grid_only[grid_only["seed"].isin(complete_seeds(rows["full"]))]
    paper_tables = Path(args.paper_tables)
    report(f"reduced protocol ({args.reduced}): ratios 0.2..1.0, {REFERENCE} at 100 episodes", rows["reduced"],
           paper_tables)
    report(f"the paper's grid alone ({args.full}, {REFERENCE}'s searches from {args.reduced}): ratios 0.1..1.0, "
           f"{REFERENCE} at 100 episodes", grid_only, paper_tables)
    report(f"full protocol ({args.full}): ratios 0.1..1.0, {REFERENCE} at 1000 episodes", rows["full"], paper_tables)
    budget_effect(rows["reduced"], rows["full"])


if __name__ == "__main__":
    main()
