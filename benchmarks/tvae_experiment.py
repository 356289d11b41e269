"""Issue 25's TVAE experiment: does TVAE's Table 2 rank move toward the paper's (22nd Macro-F1, 21st MCC) when
sdv's clipping and rounding are off, or with the ctgan package's TVAE that the paper ran?

    python benchmarks/tvae_experiment.py results/paper results/paper-tvae

Each variant of the second store (TVAE-unclipped, TVAE-ctgan) takes TVAE's place among the Table 2 samplers of
the first store, on the configurations both hold, and the table gives TVAE's overall average rank and position
under each reading, per metric, with the paper's beside it. Ranks use bench.stats as Table 2 does (the best
ratio per run chosen on validation, seed-averaged configurations, average ranks).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from bench import stats
from bench.store import ResultStore

VARIANTS = ("TVAE-unclipped", "TVAE-ctgan")
PAPER_POSITION = {"macro_f1": 22, "mcc": 21}   # the paper's Table 2 (shared/paper-tables)


def tvae_ranks(table2: pd.DataFrame, variants: pd.DataFrame, metric: str) -> pd.DataFrame:
    """TVAE's overall rank and position, as stored and with each variant in its place."""
    out = []
    configs = variants[["dataset", "ir", "seed", "classifier"]].drop_duplicates()
    base = table2.merge(configs, on=list(configs.columns)) if not variants.empty else table2
    for reading in ("TVAE", *VARIANTS):
        if reading == "TVAE":
            frame = base
        else:
            rows = variants[variants["sampler"] == reading]
            if rows.empty:
                continue
            frame = pd.concat([base[base["sampler"] != "TVAE"], rows.assign(sampler="TVAE")], ignore_index=True)
        best = stats.select_best(frame, metric)
        ranks = stats.rank_table(stats.config_scores(best))[stats.OVERALL].dropna().sort_values()
        out.append({"reading": reading, "metric": metric, "TVAE rank": round(ranks["TVAE"], 2),
                    "position": int(ranks.index.get_loc("TVAE")) + 1, "of": len(ranks),
                    "paper position": PAPER_POSITION[metric]})
    return pd.DataFrame(out)


def main() -> None:
    table2 = ResultStore(Path(sys.argv[1]), readonly=True).frame()
    # Table 2's samplers: not the ablations and hyperparameter points (`AutoSMOTE[...]`) nor the Gumbel variants
    table2 = table2[~table2["sampler"].str.contains(r"\[") & ~table2["sampler"].str.startswith("AutoSMOTE-")]
    variants = ResultStore(Path(sys.argv[2]), readonly=True).frame()
    variants = variants[variants["sampler"].isin(VARIANTS)]
    print(pd.concat([tvae_ranks(table2, variants, m) for m in PAPER_POSITION]).to_string(index=False))


if __name__ == "__main__":
    main()
