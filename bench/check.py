"""The rank regression check that CI runs: a small fixed plan against a committed baseline.

Two things are compared. Ranks: every sampler's average rank per dataset and overall, per metric, must stay
within a tolerance of the baseline's. Scores: every stored row that is meant to be exactly reproducible
(computed on a CPU) must have the baseline's validation and test scores to the last bit that CSV keeps.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import stats

RANKS_FILE = "baseline_ranks.csv"
SCORES_FILE = "baseline_scores.csv"
SCORE_DIGITS = 12   # CSV keeps this many decimals; a real change moves a score far more


@dataclass
class CheckResult:
    problems: list[str]
    rows: int

    @property
    def ok(self) -> bool:
        return not self.problems


def rank_frame(frame: pd.DataFrame, metrics: tuple[str, ...]) -> pd.DataFrame:
    """Long table of average ranks: metric, sampler, column (dataset or overall), rank."""
    parts = []
    for metric in metrics:
        ranks = stats.rank_table(stats.config_scores(stats.select_best(frame, metric)))
        long = ranks.rename_axis("sampler").reset_index().melt(id_vars="sampler", var_name="column",
                                                                 value_name="rank")
        parts.append(long.assign(metric=metric))
    return pd.concat(parts)[["metric", "sampler", "column", "rank"]].reset_index(drop=True)


def score_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Long table of the exactly reproducible scores: key, sampler, column, value (rounded for CSV)."""
    exact = frame[~frame["extra"].map(lambda e: json.loads(e or "{}").get("device") == "cuda")]
    columns = [c for c in frame.columns if c.startswith(("val_", "test_"))]
    long = exact.melt(id_vars=["key", "sampler", "status"], value_vars=columns, var_name="column",
                      value_name="value").dropna(subset=["value"])
    long["value"] = long["value"].round(SCORE_DIGITS)
    return long.sort_values(["key", "column"]).reset_index(drop=True)


def write_baseline(frame: pd.DataFrame, directory: Path, metrics: tuple[str, ...]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    rank_frame(frame, metrics).to_csv(directory / RANKS_FILE, index=False)
    score_frame(frame).to_csv(directory / SCORES_FILE, index=False)


def compare(frame: pd.DataFrame, directory: Path, metrics: tuple[str, ...], tolerance: float) -> CheckResult:
    ranks_path, scores_path = directory / RANKS_FILE, directory / SCORES_FILE
    if not ranks_path.is_file() or not scores_path.is_file():
        return CheckResult([f"no baseline in {directory}: create it with `bench check --update`"], len(frame))
    problems = _rank_problems(rank_frame(frame, metrics), pd.read_csv(ranks_path), tolerance)
    problems += _score_problems(score_frame(frame), pd.read_csv(scores_path))
    return CheckResult(problems, len(frame))


def _rank_problems(now: pd.DataFrame, base: pd.DataFrame, tolerance: float) -> list[str]:
    merged = base.merge(now, on=["metric", "sampler", "column"], how="outer", suffixes=("_base", "_now"))
    problems = []
    for (metric, sampler), rows in merged.groupby(["metric", "sampler"], sort=True):
        moved = rows[(rows["rank_now"] - rows["rank_base"]).abs() > tolerance]
        appeared = rows["rank_now"].notna() != rows["rank_base"].notna()
        if not moved.empty:
            worst = moved.loc[(moved["rank_now"] - moved["rank_base"]).abs().idxmax()]
            problems.append(f"{sampler}: {metric} rank in {worst['column']} moved {worst['rank_base']:.2f} -> "
                            f"{worst['rank_now']:.2f} (tolerance {tolerance:g})")
        elif appeared.any():
            problems.append(f"{sampler}: {metric} ranked in the baseline or now, not both "
                            f"({', '.join(rows.loc[appeared, 'column'])})")
    return problems


def _score_problems(now: pd.DataFrame, base: pd.DataFrame) -> list[str]:
    merged = base.merge(now, on=["key", "column"], how="outer", suffixes=("_base", "_now"))
    missing = merged["value_now"].isna() | merged["value_base"].isna()
    differs = ~missing & ~np.isclose(merged["value_now"], merged["value_base"], rtol=0,
                                     atol=10.0 ** -SCORE_DIGITS)
    problems = []
    for sampler, rows in merged[differs].groupby(merged["sampler_now"]):
        problems.append(f"{sampler}: {rows['key'].nunique()} run(s) with different scores than the baseline "
                        f"(e.g. {rows.iloc[0]['column']} {rows.iloc[0]['value_base']} -> {rows.iloc[0]['value_now']})")
    if missing.any():
        who = sorted(set(merged.loc[missing, "sampler_now"].dropna()) | set(merged.loc[missing, "sampler_base"].dropna()))
        problems.append(f"{int(missing.sum())} scores in only one of baseline and run (samplers: {', '.join(who)}); "
                        "a changed plan or library version needs `bench check --update`")
    return problems
