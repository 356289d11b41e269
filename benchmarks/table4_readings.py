"""Which reading of the paper's random search reproduces its Table 4: for each reading, Table 4 among the
paper's seven variants with that reading standing as "random search", against the paper's ranks.

    python benchmarks/table4_readings.py --results results/ablations-1000 --paper-tables ../shared/paper-tables

The readings are AutoSMOTE's ablations random_search, random_per_row and random_flat (see its docstring).
Per reading and metric it prints the seven average ranks (ours / the paper's), the Spearman correlation of
the two orders, the mean absolute rank difference, and the reading's own rank (the paper's: last of seven
by Macro-F1, 6.92).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

from bench import analysis
from bench.analysis.artefact import built_for
from bench.analysis.tables import PAPER_ABLATIONS
from bench.samplers.labels import SamplerLabels
from bench.store import ResultStore

READINGS = ("random_search", "random_per_row", "random_flat")
LABELS = {"macro_f1": "Macro-F1", "mcc": "MCC"}


def table4(frame: pd.DataFrame, reading: str, paper_tables: Path) -> pd.DataFrame:
    """Table 4 over the paper's variants, `reading` renamed to the paper's random search."""
    samplers = SamplerLabels()
    ablation = frame["sampler"].map(lambda label: samplers(label).fixed.get("ablation"))
    keep = ~ablation.isin([r for r in READINGS if r != reading])
    ctx = analysis.Context(frame[keep], analysis.Options(reference="AutoSMOTE", paper_tables=paper_tables))
    shown = built_for(ctx, analysis.artefact("4"), None).extra["csv"]
    shown = shown.copy()
    random_label = f"AutoSMOTE[ablation={reading}]"
    shown.loc[random_label, "paper's name"] = PAPER_ABLATIONS["random_search"]
    paper = pd.read_csv(paper_tables / "table4.csv").set_index("variant")
    for metric in LABELS:
        shown[f"paper {LABELS[metric]} rank"] = shown["paper's name"].map(paper[f"{metric}_rank"])
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, required=True)
    parser.add_argument("--paper-tables", type=Path, required=True)
    args = parser.parse_args()
    frame = ResultStore(args.results, readonly=True).frame()
    lines = ["| reading | metric | Spearman vs paper | mean abs. rank diff | its rank (paper) | ranks, ours (paper) |",
             "|---|---|---:|---:|---:|---|"]
    for reading in READINGS:
        shown = table4(frame, reading, args.paper_tables)
        for metric, label in LABELS.items():
            ours, paper = shown[f"{label} rank"], shown[f"paper {label} rank"]
            rho = spearmanr(ours, paper).statistic
            mine = f"AutoSMOTE[ablation={reading}]"
            ranks = "; ".join(f"{name} {o:.2f} ({p:.2f})" for name, o, p in
                              zip(shown["paper's name"], ours, paper))
            lines.append(f"| {reading} | {label} | {rho:.2f} | {(ours - paper).abs().mean():.2f} | "
                         f"{ours[mine]:.2f} ({paper[mine]:.2f}) | {ranks} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
