"""Tests over the configuration-score frame: Friedman, Nemenyi post-hoc, Bayesian signed-rank.

Pure functions on the wide frame of :func:`bench.stats.config_scores` (rows = configurations,
columns = samplers); no I/O, no printing. Demsar (2006) order::

    cfg = config_scores(scores)
    fr = friedman_test(cfg)                          # omnibus: do the samplers' ranks differ at all?
    if fr.rejects:
        p = nemenyi_table(cfg)                       # pairwise post-hoc p-values (scikit-posthocs)
        fr.cd                                        # Nemenyi critical difference of mean ranks
    bayes = bayesian_signed_rank(cfg, "AutoSMOTE")   # P(reference better / equivalent / worse), baycomp

The rank-based tests use the same blocks as the critical-difference diagram and the "overall" column of
:func:`bench.stats.rank_table`: every configuration (row) of ``cfg`` and only the samplers with a finite
score in all of them (:func:`complete_block`). The Bayesian test pairs each sampler with the reference
over the configurations where both are finite, as the Wilcoxon test does.

The libraries (scipy, scikit-posthocs, baycomp) are imported inside the functions: scikit-posthocs and
baycomp take about two seconds to import, which ``bench`` commands that never call these should not pay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "complete_block",
    "DatasetBlock",
    "dataset_block",
    "FriedmanResult",
    "friedman_test",
    "nemenyi_cd",
    "nemenyi_table",
    "bayesian_signed_rank",
]


def complete_block(cfg: pd.DataFrame) -> pd.DataFrame:
    """The samplers (columns) of ``cfg`` with a finite score in every configuration (row), all rows.

    The rule of :func:`bench.stats.rank_table`'s "overall" column and of the CD diagram: a sampler that
    is incomplete anywhere is left out rather than ranked on part of the blocks.
    """
    values = cfg.apply(pd.to_numeric, errors="coerce").astype(float)
    ok = np.isfinite(values.to_numpy()).all(axis=0) if len(values) else np.zeros(values.shape[1], bool)
    return values.loc[:, ok]


@dataclass(frozen=True, eq=False)
class DatasetBlock:
    """The blocks of a comparison over datasets: ``scores`` (datasets x samplers, every cell finite), and what
    was left out to make every block complete: samplers (name -> datasets where they lack a score) and datasets
    (name -> samplers that lack a score there)."""
    scores: pd.DataFrame
    left_out_samplers: dict
    left_out_datasets: dict


def dataset_block(scores: pd.DataFrame, *, least_share: float = 0.5) -> DatasetBlock:
    """The complete block of a comparison over datasets (``scores``: :func:`bench.stats.dataset_scores`).

    Rank tests need every sampler in every block. Over a collection a sampler is missing on a dataset mostly
    because the data is too small for it (skipped rows), and :func:`complete_block`'s rule - leave out every
    sampler incomplete somewhere - would drop it from the whole comparison for one small dataset. Here a
    sampler with a score on fewer than ``least_share`` of the datasets is left out, then the datasets where any
    remaining sampler lacks a score: the rest are compared over the datasets where all of them have one.
    """
    values = scores.apply(pd.to_numeric, errors="coerce").astype(float)
    have = np.isfinite(values)
    share = have.mean(axis=0) if len(values) else pd.Series(0.0, index=values.columns)
    kept = share.index[share >= least_share] if len(values) else share.index[:0]
    left_samplers = {s: int((~have[s]).sum()) for s in values.columns if s not in kept}
    sub, sub_have = values[kept], have[kept]
    complete = sub_have.all(axis=1)
    left_datasets = {d: [s for s in kept if not sub_have.at[d, s]] for d in sub.index[~complete]}
    return DatasetBlock(sub[complete], left_samplers, left_datasets)


# --------------------------------------------------------------------------------------------
# Friedman and Nemenyi


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of mean ranks (Demsar 2006): q_alpha * sqrt(k (k + 1) / (6 N)).

    q_alpha = studentized range quantile (k groups, infinite df) at 1 - alpha, over sqrt(2).
    Hand-written because no library offers the value: scikit-posthocs' ``critical_difference_diagram``
    only draws a ``cd`` it is given and its ``posthoc_nemenyi_friedman`` returns p-values; a mean-rank
    difference above this value is exactly a Nemenyi p-value below alpha.
    """
    from scipy.stats import studentized_range

    if k < 2:
        raise ValueError(f"need at least 2 samplers to compare, got k={k}")
    if n < 1:
        raise ValueError(f"need at least 1 configuration, got N={n}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), not {alpha!r}")
    q_alpha = studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q_alpha * math.sqrt(k * (k + 1) / (6 * n)))


@dataclass(frozen=True, eq=False)  # eq=False: a Series field has no truth value
class FriedmanResult:
    """Friedman test over N configurations (blocks) and k samplers (Demsar 2006, section 3.2.2).

    statistic: chi-square with k - 1 degrees of freedom (scipy's, with its correction for ties);
    pvalue; k, n; alpha and ``rejects`` (pvalue < alpha: the Nemenyi post-hoc test may follow);
    mean_ranks: sampler -> mean rank (1 = best); cd: the Nemenyi critical difference at alpha; blocks: what a
    block is, in words ("configurations", "datasets").
    """

    statistic: float
    pvalue: float
    k: int
    n: int
    alpha: float
    mean_ranks: pd.Series
    cd: float
    blocks: str = "configurations"

    @property
    def rejects(self) -> bool:
        return bool(self.pvalue < self.alpha)

    def describe(self) -> str:
        verdict = "rejects" if self.rejects else "does not reject"
        return (f"Friedman test over {self.n} {self.blocks} and {self.k} samplers: chi2({self.k - 1}) = "
                f"{self.statistic:.3f}, p = {self.pvalue:.3g}; {verdict} equal mean ranks at alpha "
                f"{self.alpha:g} (Nemenyi CD = {self.cd:.3f}).")


def friedman_test(cfg: pd.DataFrame, *, alpha: float = 0.05, higher_is_better: bool = True,
                  blocks: str = "configurations") -> FriedmanResult:
    """Friedman's test that all samplers have the same mean rank, over the complete block of ``cfg``.

    ``cfg``: rows = configurations, columns = samplers (:func:`bench.stats.config_scores`), or rows = datasets
    (:func:`dataset_block`, ``blocks="datasets"``); only the samplers complete in every row take part
    (:func:`complete_block`). Uses
    ``scipy.stats.friedmanchisquare``; when every configuration ties all samplers (the tie-corrected
    statistic is 0/0) the result is statistic 0, p 1 -- no evidence of a difference, like the Wilcoxon
    table's all-zero differences. Raises ValueError with fewer than 3 complete samplers (Friedman needs
    k >= 3; compare two with the Wilcoxon test) or no configuration.
    """
    from scipy.stats import friedmanchisquare

    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), not {alpha!r}")
    block = complete_block(cfg)
    n, k = block.shape
    if n < 1:
        raise ValueError("no configuration to test")
    if k < 3:
        raise ValueError(f"the Friedman test needs at least 3 samplers complete in every configuration, "
                         f"got {k}: {list(block.columns)}")
    values = block.to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        res = friedmanchisquare(*values.T)
    stat, p = float(res.statistic), float(res.pvalue)
    if not np.isfinite(stat) and (values == values[:, :1]).all():
        stat, p = 0.0, 1.0
    ranks = block.rank(axis=1, method="average", ascending=not higher_is_better).mean(axis=0)
    ranks.index.name = "sampler"
    return FriedmanResult(stat, p, k, n, float(alpha), ranks.astype(float), nemenyi_cd(k, n, alpha), blocks)


def nemenyi_table(cfg: pd.DataFrame) -> pd.DataFrame:
    """Nemenyi post-hoc p-values for every pair of samplers, over the complete block of ``cfg``.

    ``scikit_posthocs.posthoc_nemenyi_friedman`` on :func:`complete_block` (configurations as blocks):
    a symmetric sampler x sampler frame with 1 on the diagonal; p < alpha exactly where the mean ranks
    differ by more than :func:`nemenyi_cd`. Meant to follow a :func:`friedman_test` that rejects.
    """
    import scikit_posthocs as sp

    block = complete_block(cfg)
    if block.shape[1] < 2 or len(block) < 1:
        raise ValueError(f"need at least 2 complete samplers and 1 configuration, got {block.shape[1]} "
                         f"and {len(block)}")
    p = sp.posthoc_nemenyi_friedman(block.reset_index(drop=True))
    p.index.name = p.columns.name = "sampler"
    return p.astype(float)


# --------------------------------------------------------------------------------------------
# Bayesian signed-rank test


def bayesian_signed_rank(cfg: pd.DataFrame, reference: str, *, rope: float = 0.01, seed: int = 0,
                         nsamples: int = 50000, higher_is_better: bool = True) -> pd.DataFrame:
    """Bayesian signed-rank test (Benavoli et al. 2014) of ``reference`` against each other sampler.

    ``baycomp.SignedRankTest`` on the paired configuration scores (the configurations where both are
    finite), with a region of practical equivalence of +-``rope`` (score units; Macro-F1 and MCC
    differences of 0.01 by default) and baycomp's prior (strength 0.5 at a zero difference). Columns:
    sampler, p_reference_better, p_equivalent, p_sampler_better (each the share of ``nsamples``
    posterior samples in which that region is the most probable; they sum to 1), n_pairs. NaN
    probabilities where there is no pair. Every comparison draws with ``random_state=seed``, so the
    frame is the same on every call and does not depend on the order of the samplers.
    """
    import baycomp

    if reference not in cfg.columns:
        raise ValueError(f"reference sampler {reference} is not a column; have {list(cfg.columns)}")
    if not rope >= 0:
        raise ValueError(f"rope must be >= 0, not {rope!r}")
    values = cfg.apply(pd.to_numeric, errors="coerce").astype(float)
    sign = 1.0 if higher_is_better else -1.0
    ref = sign * values[reference].to_numpy()
    rows = []
    for sampler in values.columns:
        if sampler == reference:
            continue
        other = sign * values[sampler].to_numpy()
        both = np.isfinite(ref) & np.isfinite(other)
        n = int(both.sum())
        if n == 0:
            rows.append((sampler, np.nan, np.nan, np.nan, 0))
            continue
        # baycomp's left region is x better (y - x < -rope): x = reference
        post = baycomp.SignedRankTest(ref[both], other[both], rope, nsamples=nsamples, random_state=seed)
        p_ref, p_eq, p_other = post.probs(with_rope=True)
        rows.append((sampler, float(p_ref), float(p_eq), float(p_other), n))
    return pd.DataFrame(rows, columns=["sampler", "p_reference_better", "p_equivalent", "p_sampler_better",
                                       "n_pairs"]).astype({"n_pairs": int})
