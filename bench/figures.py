"""The paper's figures (AutoSMOTE, CIKM 2022, Figures 4-7) and a critical-difference diagram.

Plotting only, plus the few pure computations a figure needs (group ranks, curve summaries, the Nemenyi
critical difference, the toy case study). Every plotting function returns a ``matplotlib.figure.Figure``
built without pyplot, so nothing is shown and no global figure state leaks between calls; save it with
``fig.savefig(path)``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy.stats import studentized_range
from sklearn.model_selection import train_test_split

from . import stats
from .classifiers import make_classifier
from .metrics import LABELS, METRICS

__all__ = ["group_ranks", "rank_by_group", "curve_summary", "search_curves", "hyperparameter_study",
           "toy_case_study", "toy_boundaries", "nemenyi_cd", "critical_difference"]

GROUPINGS = ("classifier", "ir", "dataset")
MAJORITY, MINORITY, SYNTHETIC = "#4c72b0", "#dd8452", "#55a868"


# ------------------------------------------------------------------------------------ Figure 4


def group_ranks(best: pd.DataFrame, by: str) -> pd.DataFrame:
    """Average rank per sampler over the configurations of each classifier (or IR, or dataset).

    ``best``: :func:`bench.stats.select_best` output. Ranks are those of :func:`bench.stats.rank_table`
    (per configuration, 1 = best, ties share the mean rank; a sampler incomplete in a group is NaN there),
    averaged over the configurations that share the value of ``by`` instead of the dataset. Rows =
    samplers, columns = the values of ``by`` in order of first appearance.

    A pure function on frames, written to live in ``bench.stats`` next to ``rank_table``.
    """
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}, got {by!r}")
    cfg = stats.config_scores(best)
    # rank_table averages over its "dataset" level: hand it the grouping variable under that name
    groups = cfg.index.get_level_values(by)
    others = [level for level in stats.CONFIG_KEYS if level != by]
    cfg.index = pd.MultiIndex.from_arrays(
        [groups.astype(str) if by == "ir" else groups] + [cfg.index.get_level_values(k) for k in others],
        names=["dataset"] + [f"config_{k}" for k in others])
    ranks = stats.rank_table(cfg).drop(columns=stats.OVERALL)
    ranks.columns.name = by
    return ranks


def rank_by_group(ranks_by_classifier: pd.DataFrame, ranks_by_ir: pd.DataFrame, sampler: str, *,
                  title: str = "") -> Figure:
    """Figure 4: one sampler's average rank per classifier (left) and per IR (right).

    Bars are the sampler's ranks; black diamonds mark the median rank of all ranked samplers in the
    group, so a bar below the diamond means better than the typical sampler there.
    """
    for name, frame in (("ranks_by_classifier", ranks_by_classifier), ("ranks_by_ir", ranks_by_ir)):
        if sampler not in frame.index:
            raise ValueError(f"{name} has no row for sampler {sampler!r}; rows: {list(frame.index)}")
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, frame, xlabel in ((axes[0], ranks_by_classifier, "base classifier"),
                              (axes[1], ranks_by_ir, "imbalance ratio")):
        labels = [str(c) for c in frame.columns]
        x = np.arange(len(labels))
        mine = frame.loc[sampler].to_numpy(dtype=float)
        bars = ax.bar(x, mine, color=MINORITY, label=sampler)
        ax.bar_label(bars, labels=[f"{v:.2f}" if np.isfinite(v) else "—" for v in mine], label_type="center")
        ax.plot(x, frame.median(axis=0, skipna=True).to_numpy(dtype=float), "kD", label="median of all samplers")
        ax.set_xticks(x, labels)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("average rank (1 = best)")
        ax.set_ylim(0, max(1.0, float(np.nanmax(frame.to_numpy(dtype=float)))) * 1.15)
        ax.set_title(f"{int(frame.notna().any(axis=1).sum())} samplers ranked", fontsize="small")
    axes[0].legend(fontsize="small", loc="upper left")
    if title:
        fig.suptitle(title)
    return fig


# ------------------------------------------------------------------------------------ Figure 5


def curve_summary(curves: Mapping[str, Sequence[Sequence[float]]]) -> pd.DataFrame:
    """Mean, standard deviation and count of the best-so-far score per method and episode (1-based).

    Runs may have different lengths: each episode averages the runs that reached it.
    """
    records = []
    for method, runs in curves.items():
        if len(runs) == 0:
            raise ValueError(f"method {method!r} has no curve")
        length = max(len(run) for run in runs)
        padded = np.full((len(runs), length), np.nan)
        for i, run in enumerate(runs):
            padded[i, :len(run)] = np.asarray(run, dtype=float)
        counts = np.isfinite(padded).sum(axis=0)
        mean = np.nanmean(padded, axis=0)
        std = np.nanstd(padded, axis=0)
        records += [{"method": method, "episode": e + 1, "mean": mean[e], "std": std[e], "n_runs": int(counts[e])}
                    for e in range(length)]
    return pd.DataFrame(records, columns=["method", "episode", "mean", "std", "n_runs"])


def search_curves(curves: Mapping[str, Sequence[Sequence[float]]], *, ylabel: str = "best validation score",
                  title: str = "") -> Figure:
    """Figure 5: best-so-far validation score against the search episode, mean +- std over runs per method."""
    summary = curve_summary(curves)
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for method, part in summary.groupby("method", sort=False):
        line, = ax.plot(part["episode"], part["mean"], label=f"{method} ({part['n_runs'].max()} runs)")
        ax.fill_between(part["episode"], part["mean"] - part["std"], part["mean"] + part["std"],
                        color=line.get_color(), alpha=0.15, linewidth=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("search iteration (episode)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig


# ------------------------------------------------------------------------------------ Figure 6


def hyperparameter_study(frame: pd.DataFrame, params: str | Sequence[str] | None = None, *,
                         ylabel: str = "test score", title: str = "") -> Figure:
    """Figure 6: mean score (+- std over runs) against each parameter's values, one panel per parameter.

    ``frame``: long, one row per run and studied parameter, with columns ``parameter`` (its name),
    ``value`` (numeric) and ``score``. ``params``: the panels in order (default: every parameter, in order
    of first appearance).
    """
    missing = {"parameter", "value", "score"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks column(s) {sorted(missing)}; needs parameter, value, score")
    names = list(pd.unique(frame["parameter"])) if params is None else \
        ([params] if isinstance(params, str) else list(params))
    unknown = [p for p in names if p not in set(frame["parameter"])]
    if unknown or not names:
        raise ValueError(f"no rows for parameter(s) {unknown or names}; have {list(pd.unique(frame['parameter']))}")
    fig = Figure(figsize=(3.4 * len(names), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(names)))
    for ax, name in zip(axes, names):
        part = frame[frame["parameter"] == name]
        agg = part.groupby("value")["score"].agg(["mean", "std", "count"]).sort_index()
        ax.errorbar(agg.index.to_numpy(dtype=float), agg["mean"], yerr=agg["std"].fillna(0), marker="o", capsize=3)
        ax.set_xlabel(name)
        ax.set_ylabel(ylabel)
        low, high = int(agg["count"].min()), int(agg["count"].max())
        ax.set_title(f"{low} runs per value" if low == high else f"{low} to {high} runs per value", fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


# ------------------------------------------------------------------------------------ Figure 7


def toy_case_study(X: np.ndarray, y: np.ndarray, samplers: Mapping[str, Any], seed: int,
                   classifier: str = "DT", metric: str = "macro_f1"):
    """The paper's case study: 60/20/20 stratified split, resample the training part, fit, score on test.

    ``y``: 1 = minority. A ``samplers`` value is a resampler (``fit_resample``) or a callable
    ``(X_val, y_val) -> resampler`` for methods that search on the validation split (AutoSMOTE).
    Returns ``(panels, scores)``: panels ``(title, X_train, y_train, X_synthetic, model)`` for
    :func:`toy_boundaries`, scores ``{name: test score}``. Synthetic rows are the rows a sampler
    appended to the training set (or, if it reordered it, the rows not found in it).
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have two columns to be drawn, got shape {X.shape}")
    if set(np.unique(y)) != {0, 1}:
        raise ValueError(f"y must be binary 0/1 with 1 = minority, got labels {np.unique(y)}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=0.4, stratify=y, random_state=seed)
    X_val, X_test, y_val, y_test = train_test_split(X_rest, y_rest, test_size=0.5, stratify=y_rest,
                                                    random_state=seed)
    panels, scores = [], {}
    for name, sampler in samplers.items():
        if not hasattr(sampler, "fit_resample"):
            sampler = sampler(X_val, y_val)
        X_res, y_res = sampler.fit_resample(X_train, y_train)
        X_res, y_res = np.asarray(X_res, dtype=float), np.asarray(y_res)
        model = make_classifier(classifier, seed).fit(X_res, y_res)
        scores[name] = METRICS[metric](y_test, model.predict(X_test))
        title = f"{name}: test {LABELS[metric]} {scores[name]:.3f}"
        panels.append((title, X_train, y_train, _synthetic_rows(X_train, X_res), model))
    return panels, scores


def _synthetic_rows(X_train: np.ndarray, X_res: np.ndarray) -> np.ndarray:
    n = len(X_train)
    if len(X_res) >= n and np.array_equal(X_res[:n], X_train):
        return X_res[n:]
    known = {row.tobytes() for row in X_train}
    return X_res[[row.tobytes() not in known for row in X_res]].reshape(-1, X_train.shape[1])


def toy_boundaries(panels: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, Any]], *,
                   resolution: int = 200, title: str = "") -> Figure:
    """Figure 7: per panel, the training points, the synthetic points and the model's decision regions."""
    if not panels:
        raise ValueError("panels is empty: pass at least one (title, X_train, y_train, X_synthetic, model)")
    points = np.vstack([np.vstack([p[1], p[3].reshape(-1, 2)]) for p in panels])
    pad = 0.05 * (points.max(axis=0) - points.min(axis=0))
    lo, hi = points.min(axis=0) - pad, points.max(axis=0) + pad
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(3.6 * columns, 3.4 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for ax, (name, X_train, y_train, X_synthetic, model) in zip(axes, panels):
        regions = model.predict(np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
        ax.contourf(xx, yy, regions, levels=[-0.5, 0.5, 1.5], colors=[MAJORITY, MINORITY], alpha=0.18)
        ax.scatter(*X_train[y_train == 0].T, s=6, c=MAJORITY, label="majority")
        ax.scatter(*X_train[y_train == 1].T, s=14, c=MINORITY, label="minority")
        ax.scatter(*np.asarray(X_synthetic).reshape(-1, 2).T, s=10, c=SYNTHETIC, marker="x",
                   label=f"synthetic ({len(X_synthetic)})")
        ax.set_title(name, fontsize="small")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.legend(fontsize="x-small", loc="upper left")
    for ax in axes[len(panels):]:
        fig.delaxes(ax)
    if title:
        fig.suptitle(title)
    return fig


# ------------------------------------------------------------------------------------ CD diagram


def nemenyi_cd(k: int, n_datasets: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks (Demsar 2006): q_alpha * sqrt(k (k + 1) / (6 N)).

    q_alpha is the studentized range quantile for k groups and infinite degrees of freedom over sqrt(2).
    """
    if k < 2:
        raise ValueError(f"need at least 2 methods to compare, got k={k}")
    if n_datasets < 1:
        raise ValueError(f"n_datasets must be >= 1, got {n_datasets}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    q_alpha = studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q_alpha * math.sqrt(k * (k + 1) / (6 * n_datasets)))


def _cliques(ranks: np.ndarray, cd: float) -> list[tuple[int, int]]:
    """Maximal runs (i, j) of sorted ranks whose spread is below the CD (not significantly different)."""
    out: list[tuple[int, int]] = []
    for i in range(len(ranks)):
        j = int(np.searchsorted(ranks, ranks[i] + cd, side="left")) - 1
        if j > i and not any(a <= i and j <= b for a, b in out):
            out.append((i, j))
    return out


def critical_difference(avg_ranks: pd.Series, n_datasets: int, alpha: float = 0.05, *, title: str = "") -> Figure:
    """Demsar's critical-difference diagram: methods on a rank axis, bars joining those within the CD.

    ``avg_ranks``: method -> average rank (NaN entries are left out); ``n_datasets``: the number of blocks
    the ranks were averaged over (here: configurations).
    """
    ranks = pd.Series(avg_ranks, dtype=float).dropna().sort_values(kind="mergesort")
    k = len(ranks)
    cd = nemenyi_cd(k, n_datasets, alpha)
    values = ranks.to_numpy()
    half = math.ceil(k / 2)
    fig = Figure(figsize=(10, 1.6 + 0.3 * half))
    ax = fig.add_axes((0.25, 0.02, 0.5, 0.88))   # the sides hold the method names
    lo, hi = 1, max(k, math.ceil(values.max()))
    ax.set_xlim(lo - 0.3, hi + 0.3)
    ax.set_ylim(-(half + 0.5) * 0.55, 2.0)
    ax.axis("off")
    ax.hlines(0, lo, hi, color="k", linewidth=1)
    for tick in range(lo, hi + 1):
        ax.vlines(tick, 0, 0.15, color="k", linewidth=1)
        ax.text(tick, 0.3, str(tick), ha="center", va="bottom", fontsize="small")
    ax.hlines(1.4, lo, lo + cd, color="k", linewidth=2)
    ax.text(lo + cd / 2, 1.55, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize="small")
    for i, (name, value) in enumerate(ranks.items()):
        left = i < half
        level = -(i + 1) if left else -(k - i)
        end = lo - 0.3 if left else hi + 0.3
        ax.plot([value, value, end], [0, level * 0.55, level * 0.55], color="k", linewidth=0.8, clip_on=False)
        ax.text(end, level * 0.55, f"{name} {value:.2f} " if left else f" {value:.2f} {name}",
                ha="right" if left else "left", va="center", fontsize="x-small")
    for n, (i, j) in enumerate(_cliques(values, cd)):
        y = -0.15 - 0.1 * n
        ax.hlines(y, values[i] - 0.05, values[j] + 0.05, color="firebrick", linewidth=3)
    ax.set_title(title or f"Nemenyi test, alpha = {alpha:g}, {k} methods over {n_datasets} blocks",
                 fontsize="small")
    return fig
