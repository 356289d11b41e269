"""Aggregation and significance statistics for the benchmark's tables.

Pure functions on pandas DataFrames: no I/O, no printing.

Pipeline for the paper's Table 2::

    scores = select_best(runs, "macro_f1")          # tuning: best validation score -> its test score
    cfg = config_scores(scores)                     # (dataset, classifier, ir) x sampler, mean over seeds
    ranks = rank_table(cfg)                         # sampler x (datasets + "overall"), mean rank
    setting = WilcoxonSetting(reference="AutoSMOTE")
    p = wilcoxon_table(scores, setting)             # same shape, p-values
    marks = better_marks(scores, setting)           # bool: reference significantly better
    # WilcoxonSetting(..., correction="holm"): Holm-adjusted p-values and marks per column

Friedman, Nemenyi and the Bayesian signed-rank test over ``cfg`` (or over datasets: ``dataset_scores(cfg)``) live
in :mod:`bench.stats_tests`.

Missing values are never turned into zeros: a failed or missing run is NaN, a configuration where a
sampler lacks a seed is NaN ("incomplete"), and a sampler that is incomplete anywhere in a rank
column is left out of that column (NaN) rather than ranked on partial data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from .config import TableSettings
from .run_status import SCORED

__all__ = [
    "CONFIG_KEYS",
    "RUN_KEYS",
    "OVERALL",
    "config_scores",
    "dataset_scores",
    "rank_table",
    "WilcoxonSetting",
    "wilcoxon_table",
    "better_marks",
    "significant",
    "holm",
    "select_best",
]

CONFIG_KEYS = ["dataset", "classifier", "ir"]
RUN_KEYS = ["dataset", "classifier", "ir", "seed"]
OVERALL = "overall"

# The [table] settings' choices and defaults; "less" (the reference worse) only here, for analyses of one's own
_TABLE = TableSettings()
_PAIRINGS = TableSettings.choices("pairing")
_ALTERNATIVES = (*TableSettings.choices("alternative"), "less")
# "auto" is the readers' (bench.analysis.context.Options): resolved per store before a test is set up
_CORRECTIONS = tuple(c for c in TableSettings.choices("correction") if c != "auto")
_OK_STATUSES = SCORED


# --------------------------------------------------------------------------------------------
# helpers


def _require(df: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; has {list(df.columns)}")


def _finite(values) -> pd.Series | np.ndarray:
    """Numeric copy with non-numeric and +-inf turned into NaN."""
    out = pd.to_numeric(values, errors="coerce")
    if isinstance(out, pd.Series):
        out = out.astype(float)
        return out.where(np.isfinite(out))
    out = np.asarray(out, dtype=float)
    return np.where(np.isfinite(out), out, np.nan)


def _clean_scores(results: pd.DataFrame) -> pd.DataFrame:
    _require(results, RUN_KEYS + ["sampler", "score"], "results")
    df = results[RUN_KEYS + ["sampler", "score"]].copy()
    df["score"] = _finite(df["score"])
    dup = df.duplicated(RUN_KEYS + ["sampler"], keep=False)
    if dup.any():
        example = df.loc[dup, RUN_KEYS + ["sampler"]].iloc[0].to_dict()
        raise ValueError(
            f"results hold {int(dup.sum())} rows with a duplicated (dataset, classifier, ir, seed, "
            f"sampler) key, e.g. {example}; pass one score per run (one metric at a time)"
        )
    return df


def _ordered_configs(df: pd.DataFrame) -> pd.MultiIndex:
    """Configurations in order of first appearance, grouped by dataset (first-appearance order)."""
    tuples = list(dict.fromkeys(map(tuple, df[CONFIG_KEYS].itertuples(index=False, name=None))))
    ds_order = {d: i for i, d in enumerate(dict.fromkeys(t[0] for t in tuples))}
    tuples.sort(key=lambda t: ds_order[t[0]])  # stable: keeps first-appearance order within a dataset
    return pd.MultiIndex.from_tuples(tuples, names=CONFIG_KEYS)


def _run_scores(df: pd.DataFrame) -> pd.DataFrame:
    """Wide per-run frame: index (dataset, classifier, ir, seed), columns = samplers (first seen)."""
    samplers = list(pd.unique(df["sampler"]))
    wide = df.set_index(RUN_KEYS + ["sampler"])["score"].unstack("sampler")
    wide = wide.reindex(columns=samplers)
    wide.columns.name = "sampler"
    return wide


def _dataset_column_masks(index: pd.MultiIndex) -> list[tuple[str, np.ndarray]]:
    level = index.get_level_values("dataset")
    datasets = list(pd.unique(level))
    if OVERALL in datasets:
        raise ValueError(f"a dataset is named {OVERALL!r}, which clashes with the overall column")
    cols = [(d, np.asarray(level == d)) for d in datasets]
    cols.append((OVERALL, np.ones(len(index), dtype=bool)))
    return cols


# --------------------------------------------------------------------------------------------
# configuration scores and ranks


def config_scores(results: pd.DataFrame) -> pd.DataFrame:
    """Seed-averaged test score per configuration and sampler.

    ``results``: long frame with columns dataset, classifier, ir, seed, sampler, score (NaN = failed or
    missing; other columns are ignored). One row per (dataset, classifier, ir, seed, sampler).

    Returns a wide frame indexed by MultiIndex (dataset, classifier, ir) -- datasets in order of first
    appearance, configurations of a dataset in order of first appearance -- with one column per sampler
    (order of first appearance). A cell is the mean score over the configuration's seeds, where the
    configuration's seeds are those for which at least one sampler has a finite score; the cell is NaN
    ("incomplete") when the sampler lacks a finite score for any of them. A configuration in which no
    sampler has any finite score stays in the index as an all-NaN row.
    """
    df = _clean_scores(results)
    configs = _ordered_configs(df)
    samplers = list(pd.unique(df["sampler"]))
    if df.empty:
        return pd.DataFrame(index=configs, columns=pd.Index(samplers, name="sampler"), dtype=float)
    wide = _run_scores(df)
    wide = wide[wide.notna().any(axis=1)]  # seeds that some sampler has
    grouped = wide.groupby(level=CONFIG_KEYS, sort=False)
    mean = grouped.mean()
    complete = grouped.count().eq(grouped.size(), axis=0)
    out = mean.where(complete).reindex(index=configs, columns=samplers).astype(float)
    out.columns.name = "sampler"
    return out


def dataset_scores(cfg: pd.DataFrame) -> pd.DataFrame:
    """One score per dataset and sampler: the mean of its configurations' scores (the classifiers and IRs of
    a dataset, each already averaged over seeds by :func:`config_scores`) - the block of a comparison over
    datasets (Demsar 2006). NaN where the sampler lacks any of the dataset's configurations. Rows = datasets in
    ``cfg``'s order, columns = ``cfg``'s samplers."""
    if not isinstance(cfg.index, pd.MultiIndex) or "dataset" not in cfg.index.names:
        raise ValueError("cfg must be indexed by a MultiIndex with a 'dataset' level (see config_scores)")
    values = cfg.astype(float)
    grouped = values.groupby(level="dataset", sort=False)
    out = grouped.mean().where(grouped.count().eq(grouped.size(), axis=0))
    out.columns.name = "sampler"
    return out


def _mean_rank(sub: pd.DataFrame, higher_is_better: bool) -> pd.Series:
    values = sub.astype(float)
    if len(values) == 0:
        return pd.Series(np.nan, index=sub.columns, dtype=float)
    ok = np.isfinite(values.to_numpy()).all(axis=0)
    ranks = values.loc[:, ok].rank(axis=1, method="average", ascending=not higher_is_better)
    return ranks.mean(axis=0).reindex(sub.columns).astype(float)


def rank_table(cfg: pd.DataFrame, *, higher_is_better: bool = True) -> pd.DataFrame:
    """Mean rank per sampler over the configurations of each dataset and over all ("overall").

    ``cfg`` as returned by :func:`config_scores`. Rows = samplers (``cfg.columns`` order), columns =
    datasets in order of first appearance in ``cfg.index`` followed by ``"overall"``. Within a column,
    only samplers with a finite value in every configuration of that column are ranked (others are
    NaN); in each configuration they are ranked 1 = best with tied values sharing the mean rank; the
    cell is the mean over the column's configurations. "overall" is the mean over all configurations
    (not the mean of the dataset columns).
    """
    if not isinstance(cfg.index, pd.MultiIndex) or "dataset" not in cfg.index.names:
        raise ValueError("cfg must be indexed by a MultiIndex with a 'dataset' level (see config_scores)")
    cols = {
        name: _mean_rank(cfg.loc[mask], higher_is_better)
        for name, mask in _dataset_column_masks(cfg.index)
    }
    out = pd.DataFrame(cols, index=cfg.columns).astype(float)
    out.index.name = "sampler"
    return out


# --------------------------------------------------------------------------------------------
# Wilcoxon signed-rank test


@dataclass(frozen=True)
class WilcoxonSetting:
    """How the reference sampler is compared with each other sampler.

    pairing: "configuration" -- one pair per (dataset, classifier, ir), scores averaged over seeds
             (via :func:`config_scores`; incomplete configurations give no pair);
             "run" -- one pair per (dataset, classifier, ir, seed).
    alternative: "greater" -- one-sided, reference better; "two-sided"; ("less" -- reference worse).
    alpha: significance level used by :func:`significant` / :func:`better_marks`.
    correction: "none" -- the paper's uncorrected p-values; "holm" -- Holm's step-down adjustment over
             the family of one column (the reference against each other sampler with a usable pair in
             that dataset, or overall), see :func:`holm`.
    """

    reference: str
    pairing: str = _TABLE.pairing
    alternative: str = _TABLE.alternative
    alpha: float = _TABLE.alpha
    correction: str = "none"

    def __post_init__(self) -> None:
        if self.pairing not in _PAIRINGS:
            raise ValueError(f"pairing must be one of {_PAIRINGS}, not {self.pairing!r}")
        if self.alternative not in _ALTERNATIVES:
            raise ValueError(f"alternative must be one of {_ALTERNATIVES}, not {self.alternative!r}")
        if not (0.0 < float(self.alpha) < 1.0):
            raise ValueError(f"alpha must lie in (0, 1), not {self.alpha!r}")
        if self.correction not in _CORRECTIONS:
            raise ValueError(f"correction must be one of {_CORRECTIONS}, not {self.correction!r}")

    def describe(self) -> str:
        if self.pairing == "configuration":
            pairing = "paired by configuration (dataset, classifier, IR; scores averaged over seeds)"
        else:
            pairing = "paired by run (dataset, classifier, IR, seed)"
        side = {
            "greater": f"one-sided ({self.reference} better)",
            "less": f"one-sided ({self.reference} worse)",
            "two-sided": "two-sided",
        }[self.alternative]
        text = (
            f"Wilcoxon signed-rank test of {self.reference} against each sampler, {pairing}, {side}, "
            f"p < {self.alpha:g}; zero differences dropped (scipy zero_method='wilcox'); exact null distribution "
            "without ties, normal approximation with them."
        )
        # "none" keeps the paper's sentence unchanged (published notes quote it; p-values uncorrected)
        if self.correction == "holm":
            text += (" p-values Holm-adjusted over each column's family (the reference against every "
                     "other sampler tested in that dataset, or overall).")
        return text


def wilcoxon_pair(x: np.ndarray, y: np.ndarray, alternative: str) -> tuple[float, float]:
    """(p-value, sign of W+ - W-) over the pairs where both values are finite.

    NaN p for no usable pair; p = 1.0 (sign 0) when every difference is zero.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    m = np.isfinite(x) & np.isfinite(y)
    if m.sum() < 1:
        return np.nan, np.nan
    x, y = x[m], y[m]
    d = x - y
    nz = d[d != 0]
    if nz.size == 0:
        return 1.0, 0.0
    ranks = pd.Series(np.abs(nz)).rank(method="average").to_numpy()
    direction = float(np.sign(ranks[nz > 0].sum() - ranks[nz < 0].sum()))
    # Exact null distribution when it applies (no ties among |d|, n <= 50), else the normal approximation;
    # scipy's "auto" would fall back to a permutation test, seconds per call over a table's hundreds of cells.
    method = "exact" if nz.size <= 50 and np.unique(np.abs(nz)).size == nz.size else "asymptotic"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = wilcoxon(x, y, zero_method="wilcox", alternative=alternative, method=method)
    p = float(res.pvalue)
    return (p if np.isfinite(p) else np.nan), direction


def holm(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values: sorted ascending, the i-th (from 0) of m times m - i, then the running
    maximum, at most 1 - what ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]`` returns
    (tests/test_collection_protocol.py checks the two agree). Written out because statsmodels 0.15 runs a full
    ``gc.collect()`` on every such call: 0.15 s per column with a report's frames alive, 18 s for one Table 2 of
    120 datasets.

    The family is the finite entries; NaN (no test) stays NaN and does not count. E.g. 0.01, 0.04, 0.03
    -> 0.03, 0.06, 0.06.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        family = p[ok]
        order = np.argsort(family, kind="mergesort")
        m = len(family)
        adjusted = np.minimum(np.maximum.accumulate(family[order] * np.arange(m, 0, -1)), 1.0)
        values = np.empty(m)
        values[order] = adjusted
        out[ok] = values
    return out


def _wilcoxon_frames(results: pd.DataFrame, setting: WilcoxonSetting) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = _clean_scores(results)
    have = list(pd.unique(df.loc[df["score"].notna(), "sampler"]))
    if setting.reference not in have:
        raise ValueError(
            f"reference sampler {setting.reference} has no results; set [table] reference or "
            f"--reference to one of: {', '.join(map(str, have))}"
        )
    if setting.pairing == "configuration":
        paired = config_scores(results)
    else:
        paired = _run_scores(df)
    columns = _dataset_column_masks(paired.index)
    ref = paired[setting.reference].to_numpy(dtype=float)
    p = pd.DataFrame(np.nan, index=paired.columns, columns=[c for c, _ in columns], dtype=float)
    sign = p.copy()
    for sampler in paired.columns:
        if sampler == setting.reference:
            continue
        other = paired[sampler].to_numpy(dtype=float)
        for name, mask in columns:
            p.loc[sampler, name], sign.loc[sampler, name] = wilcoxon_pair(
                ref[mask], other[mask], setting.alternative
            )
    if setting.correction == "holm":
        for name, _ in columns:
            p[name] = holm(p[name].to_numpy())
    p.index.name = sign.index.name = "sampler"
    return p, sign


def wilcoxon_table(results: pd.DataFrame, setting: WilcoxonSetting) -> pd.DataFrame:
    """p-values of the Wilcoxon signed-rank test of ``setting.reference`` against each sampler.

    Same shape as :func:`rank_table` (samplers x datasets + "overall"). Each cell tests the pairs
    (configurations or runs, per ``setting.pairing``) within the dataset, or over all datasets, where
    both samplers have a finite score, with ``scipy.stats.wilcoxon(ref, other, zero_method="wilcox",
    alternative=setting.alternative)`` (method "auto": exact for small n without ties). NaN for the
    reference row and where there is no usable pair; 1.0 where every difference is zero. With
    ``setting.correction == "holm"`` each column holds Holm-adjusted p-values (see :func:`holm`).

    Raises ValueError when the reference sampler has no finite score in ``results``.
    """
    return _wilcoxon_frames(results, setting)[0]


def significant(p: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Boolean frame: p < alpha (False where p is NaN)."""
    return (p.astype(float) < alpha).fillna(False).astype(bool)


def better_marks(results: pd.DataFrame, setting: WilcoxonSetting) -> pd.DataFrame:
    """The table's triangle marks: the reference is significantly BETTER than the row's sampler.

    p < alpha and the signed-rank sum favours the reference (W+ > W-). For alternative "greater" this
    equals ``significant(wilcoxon_table(...), alpha)``; for "two-sided" it leaves out the samplers that
    are significantly better than the reference.
    """
    p, sign = _wilcoxon_frames(results, setting)
    return significant(p, setting.alpha) & (sign > 0)


# --------------------------------------------------------------------------------------------
# tuning: pick the best hyper-parameters on validation


def select_best(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per (dataset, ir, seed, classifier, sampler) the test score of the best-on-validation params.

    Candidates for ``metric`` m: rows with status "ok" or "no-op", tune_metric null or equal to m, and
    a finite ``val_<m>`` (or the group's only such row, when there is no validation split). Within a group the row with the highest ``val_<m>`` wins; ties go to the
    first in order of ``params`` sorted as strings. Output columns: dataset, classifier, ir, seed,
    sampler, params, score (= the winner's ``test_<m>``, NaN if that is not finite). Every group in
    ``runs`` appears, in order of first appearance; a group with no candidate gets params None and
    score NaN.
    """
    val, test = f"val_{metric}", f"test_{metric}"
    keys = ["dataset", "ir", "seed", "classifier", "sampler"]
    _require(runs, keys + ["params", "tune_metric", "status", val, test], "runs")
    out_cols = ["dataset", "classifier", "ir", "seed", "sampler", "params", "score"]
    if runs.empty:
        return pd.DataFrame(columns=out_cols)

    df = runs[keys + ["params", "tune_metric", "status", val, test]].copy().reset_index(drop=True)
    df["_val"] = _finite(df[val])
    df["_test"] = _finite(df[test])
    df["_params"] = df["params"].astype(str)
    tm = df["tune_metric"]
    usable = df["status"].isin(_OK_STATUSES) & (tm.isna() | (tm.astype(object) == metric))
    # A protocol without a validation split (e.g. stratified train/test) has nothing to tune on: a
    # group's single usable row is then taken as it is; several untuned rows stay ambiguous (NaN).
    n_usable = usable.groupby([df[k] for k in keys], dropna=False).transform("sum")
    cand = usable & (df["_val"].notna() | (n_usable == 1))
    best = (
        df[cand]
        .sort_values(["_val", "_params"], ascending=[False, True], kind="mergesort")
        .drop_duplicates(keys, keep="first")
    )
    groups = df[keys].drop_duplicates(keep="first")
    out = groups.merge(best[keys + ["params", "_test"]], on=keys, how="left", sort=False)
    out = out.rename(columns={"_test": "score"})
    out["params"] = out["params"].astype(object).where(out["params"].notna(), None)
    out["score"] = out["score"].astype(float)
    return out[out_cols].reset_index(drop=True)
