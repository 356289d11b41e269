"""The paper's figures (AutoSMOTE, CIKM 2022, Figures 4-7) and a critical-difference diagram.

Plotting only, plus the few computations a figure needs (group ranks, curve summaries, and the toy case
study, which runs samplers through the protocol's own steps); the tests behind the CD diagram are
:mod:`bench.stats_tests`'s. Every plotting function returns a
``matplotlib.figure.Figure`` built without pyplot, so nothing is shown and no global figure state leaks
between calls; save it with ``fig.savefig(path)``. What a figure leaves out (a sampler without a rank, a
failed run) is written on the figure itself (``left_out``), and a missing value is drawn as missing,
never as a bar at 0.
"""
from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import stats
from ..data.split_protocol import TEST_SHARE, TRAINING_SHARE, Split
from ..metrics import LABELS, METRICS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..samplers.registry import SamplerEntry
    from ..stats_tests import FriedmanResult

__all__ = ["group_ranks", "rank_by_group", "curve_summary", "search_curves", "hyperparameter_study",
           "toy_case_study", "toy_split", "toy_boundaries", "critical_difference", "footnote"]

GROUPINGS = ("classifier", "ir", "dataset")
MAJORITY, MINORITY, SYNTHETIC = "#4c72b0", "#dd8452", "#55a868"
LINE_INCHES = 0.16                  # one line of x-small text under the axes


def _new_figure(**kwargs) -> Figure:
    """A Figure without pyplot. matplotlib is imported when a figure is drawn: printing a table needs none."""
    from matplotlib.figure import Figure
    return Figure(**kwargs)


def footnote(fig: Figure, lines: Sequence[str]) -> None:
    """Write ``lines`` under the axes, as part of the figure: the figure grows by their height and, with a
    constrained layout, the axes keep clear of them."""
    lines = [wrapped for line in lines if line for wrapped in textwrap.wrap(line, 150)]
    if not lines:
        return
    extra = LINE_INCHES * len(lines) + 0.1
    width, height = fig.get_size_inches()
    fig.set_size_inches(width, height + extra)
    share = extra / (height + extra)
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.set(rect=(0, share, 1, 1 - share))
    else:   # axes placed by hand (the CD diagram): squeeze them into the old area
        for ax in fig.axes:
            x, y, w, h = ax.get_position().bounds
            ax.set_position((x, share + y * (1 - share), w, h * (1 - share)))
    fig.text(0.01, 0.02 / (height + extra), "\n".join(lines), ha="left", va="bottom", fontsize="x-small",
             color="0.25")


def _left_out_line(left_out: Mapping[str, str] | Sequence[str]) -> str:
    """"Left out: A (why), B (why)" from {name: why} or a list of names."""
    if not left_out:
        return ""
    items = left_out.items() if isinstance(left_out, Mapping) else ((name, "") for name in left_out)
    return "Left out: " + ", ".join(f"{name} ({why})" if why else name for name, why in items) + "."


# ------------------------------------------------------------------------------------ Figure 4


def group_ranks(best: pd.DataFrame, by: str) -> pd.DataFrame:
    """Average rank per sampler over the configurations of each classifier (or IR, or dataset).

    ``best``: :func:`bench.stats.select_best` output. Ranks are those of :func:`bench.stats.rank_table`
    (per configuration, 1 = best, ties share the mean rank; a sampler incomplete in a group is NaN there),
    averaged over the configurations that share the value of ``by`` instead of the dataset. Rows =
    samplers, columns = the values of ``by`` in order of first appearance; IRs in numeric order (as text).

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
    if by == "ir":
        ranks = ranks[sorted(ranks.columns, key=float)]
    ranks.columns.name = by
    return ranks


def rank_by_group(ranks_by_classifier: pd.DataFrame, ranks_by_ir: pd.DataFrame, sampler: str, *,
                  title: str = "") -> Figure:
    """Figure 4: one sampler's average rank per classifier (left) and per IR (right).

    Bars are the sampler's ranks; black diamonds mark the median rank of all ranked samplers in the
    group, so a bar below the diamond means better than the typical sampler there. A group where the
    sampler has no rank (incomplete there) is a hatched outline labelled "missing", not a bar; samplers
    without a rank in some group are named under the axes.
    """
    for name, frame in (("ranks_by_classifier", ranks_by_classifier), ("ranks_by_ir", ranks_by_ir)):
        if sampler not in frame.index:
            raise ValueError(f"{name} has no row for sampler {sampler!r}; rows: {list(frame.index)}")
    fig = _new_figure(figsize=(9, 3.6), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, frame, xlabel in ((axes[0], ranks_by_classifier, "base classifier"),
                              (axes[1], ranks_by_ir, "imbalance ratio")):
        labels = [str(c) for c in frame.columns]
        x = np.arange(len(labels))
        mine = frame.loc[sampler].to_numpy(dtype=float)
        top = max(1.0, float(np.nanmax(frame.to_numpy(dtype=float), initial=1.0))) * 1.15
        there = np.isfinite(mine)
        bars = ax.bar(x[there], mine[there], color=MINORITY, label=sampler if there.any() else None)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in mine[there]], label_type="center")
        if not there.all():
            ax.bar(x[~there], top, fill=False, hatch="//", edgecolor="0.6", linewidth=0.8, label="missing")
            for xi in x[~there]:
                ax.text(xi, top / 2, "missing", ha="center", va="center", rotation=90, fontsize="small")
        ax.plot(x, frame.median(axis=0, skipna=True).to_numpy(dtype=float), "kD", label="median of all samplers")
        ax.set_xticks(x, labels)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("average rank (1 = best)")
        ax.set_ylim(0, top)
        ax.set_title(f"{int(frame.notna().any(axis=1).sum())} samplers ranked", fontsize="small")
    axes[0].legend(fontsize="small", loc="upper left")
    if title:
        fig.suptitle(title)
    unranked = [s for s in ranks_by_classifier.index
                if ranks_by_classifier.loc[s].isna().any() or ranks_by_ir.loc[s].isna().any()]
    footnote(fig, [_left_out_line({s: "no rank where it lacks a score" for s in unranked})])
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
                  title: str = "", left_out: Mapping[str, str] | Sequence[str] = ()) -> Figure:
    """Figure 5: best-so-far validation score against the search episode, mean +- std over runs per method.
    ``left_out``: methods not drawn ({name: why} or names), written under the axes."""
    summary = curve_summary(curves)
    fig = _new_figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for method, part in summary.groupby("method", sort=False):
        line, = ax.plot(part["episode"], part["mean"], label=f"{method} ({part['n_runs'].max()} runs)")
        ax.fill_between(part["episode"], part["mean"] - part["std"], part["mean"] + part["std"],
                        color=line.get_color(), alpha=0.15, linewidth=0)
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("search iteration (episode)")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    footnote(fig, [_left_out_line(left_out)])
    return fig


# ------------------------------------------------------------------------------------ Figure 6


def hyperparameter_study(frame: pd.DataFrame, params: str | Sequence[str] | None = None, *,
                         ylabel: str = "test score", title: str = "",
                         left_out: Mapping[str, str] | Sequence[str] = ()) -> Figure:
    """Figure 6: mean score (+- std over runs) against each parameter's values, one panel per parameter.

    ``frame``: long, one row per run and studied parameter, with columns ``parameter`` (its name),
    ``value`` (numeric) and ``score``. ``params``: the panels in order (default: every parameter, in order
    of first appearance). ``left_out``: settings not drawn ({name: why} or names), written under the axes.
    """
    missing = {"parameter", "value", "score"} - set(frame.columns)
    if missing:
        raise ValueError(f"frame lacks column(s) {sorted(missing)}; needs parameter, value, score")
    names = list(pd.unique(frame["parameter"])) if params is None else \
        ([params] if isinstance(params, str) else list(params))
    unknown = [p for p in names if p not in set(frame["parameter"])]
    if unknown or not names:
        raise ValueError(f"no rows for parameter(s) {unknown or names}; have {list(pd.unique(frame['parameter']))}")
    fig = _new_figure(figsize=(3.4 * len(names), 3.4), layout="constrained")
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
    footnote(fig, [_left_out_line(left_out)])
    return fig


# ------------------------------------------------------------------------------------ Figure 7


def toy_case_study(X: np.ndarray, y: np.ndarray, samplers: Mapping[str, tuple[SamplerEntry, dict[str, Any]]],
                   seed: int, classifier: str = "DT", metric: str = "macro_f1"):
    """The paper's case study: a stratified 60/20/20 split (`toy_split`), then each sampler through the steps of
    the protocol's unit (bench.protocol): resample the training part, fit the classifier, score it on test.

    ``y``: 1 = minority. ``samplers``: name -> (registry entry, its parameters); a method that searches does so
    on the validation part, against ``classifier`` and ``metric``. A sampler that cannot run on the toy data,
    fails, or leaves the classifier unfittable raises ValueError.
    Returns ``(panels, scores)``: panels ``(title, X_train, y_train, X_synthetic, model)`` for
    :func:`toy_boundaries`, scores ``{name: test score}``. Synthetic rows are the rows a sampler
    appended to the training set (or, if it reordered it, the rows not found in it).
    """
    from ..classifiers import make_classifier
    from ..protocol import Row, fit_and_score, resample, why_it_cannot_run
    from ..run_status import RunStatus
    from ..samplers.registry import SamplerContext

    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    split = toy_split(X, y, seed)
    context = SamplerContext(seed, split.X_val, split.y_val, classifier, metric)
    panels, scores = [], {}
    for name, (entry, params) in samplers.items():
        reason = why_it_cannot_run(entry, params, split.y_train)
        if reason:
            raise ValueError(reason)
        X_res, y_res, _ = resample(entry, params, context, split.X_train, split.y_train)
        model = make_classifier(classifier, seed)
        row = fit_and_score(Row(name, {}, RunStatus.OK), split, X_res, y_res, lambda: model)   # fits model
        if row.status == RunStatus.ERROR:
            raise ValueError(f"{classifier} on {name}'s training set: {row.message}")
        scores[name] = row.scores[("test", metric)]
        title = f"{name}: test {LABELS[metric]} {scores[name]:.3f}"
        panels.append((title, split.X_train, split.y_train, _synthetic_rows(split.X_train, X_res), model))
    return panels, scores


def toy_split(X: np.ndarray, y: np.ndarray, seed: int) -> Split:
    """The case study's split of 2-D points with 1 = minority: the protocol's shares (bench.data.split_protocol),
    stratified, the points as they are (no preprocessing: the figure draws them)."""
    from sklearn.model_selection import train_test_split

    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have two columns to be drawn, got shape {X.shape}")
    if set(np.unique(y)) != {0, 1}:
        raise ValueError(f"y must be binary 0/1 with 1 = minority, got labels {np.unique(y)}")
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=1 - TRAINING_SHARE, stratify=y,
                                                        random_state=seed)
    X_val, X_test, y_val, y_test = train_test_split(X_rest, y_rest, test_size=TEST_SHARE / (1 - TRAINING_SHARE),
                                                    stratify=y_rest, random_state=seed)
    return Split(X_train, y_train, X_val, y_val, X_test, y_test, feature_names=["x", "y"])


def _synthetic_rows(X_train: np.ndarray, X_res: np.ndarray) -> np.ndarray:
    n = len(X_train)
    if len(X_res) >= n and np.array_equal(X_res[:n], X_train):
        return X_res[n:]
    known = {row.tobytes() for row in X_train}
    return X_res[[row.tobytes() not in known for row in X_res]].reshape(-1, X_train.shape[1])


def toy_boundaries(panels: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray, Any]], *,
                   resolution: int = 200, title: str = "",
                   left_out: Mapping[str, str] | Sequence[str] = ()) -> Figure:
    """Figure 7: per panel, the training points, the synthetic points and the model's decision regions.
    ``left_out``: samplers without a panel ({name: why} or names), written under the panels."""
    if not panels:
        raise ValueError("panels is empty: pass at least one (title, X_train, y_train, X_synthetic, model)")
    points = np.vstack([np.vstack([p[1], p[3].reshape(-1, 2)]) for p in panels])
    pad = 0.05 * (points.max(axis=0) - points.min(axis=0))
    lo, hi = points.min(axis=0) - pad, points.max(axis=0) + pad
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig = _new_figure(figsize=(3.6 * columns, 3.4 * rows), layout="constrained")
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
    footnote(fig, [_left_out_line(left_out)])
    return fig


# ------------------------------------------------------------------------------------ CD diagram


def _cliques(ranks: np.ndarray, cd: float) -> list[tuple[int, int]]:
    """Maximal runs (i, j) of sorted ranks whose spread is below the CD (not significantly different)."""
    out: list[tuple[int, int]] = []
    for i in range(len(ranks)):
        j = int(np.searchsorted(ranks, ranks[i] + cd, side="left")) - 1
        if j > i and not any(a <= i and j <= b for a, b in out):
            out.append((i, j))
    return out


def critical_difference(friedman: FriedmanResult, *, title: str = "",
                        left_out: Mapping[str, str] | Sequence[str] = ()) -> Figure:
    """Demsar's critical-difference diagram after the Friedman test (Demsar 2006, section 3.2.2).

    ``friedman``: :func:`bench.stats_tests.friedman_test` over the samplers complete in every
    configuration; its mean ranks are placed on a rank axis. Only when Friedman rejects equal mean ranks
    are the CD bar and the bars joining samplers within the CD (not significantly different by Nemenyi's
    test) drawn; otherwise the figure says that no post-hoc test applies. The test's statistic and p-value
    and the samplers ``left_out`` ({name: why} or names) are written under the diagram.
    """
    ranks = friedman.mean_ranks.astype(float).dropna().sort_values(kind="mergesort")
    k, cd = len(ranks), friedman.cd
    values = ranks.to_numpy()
    half = math.ceil(k / 2)
    fig = _new_figure(figsize=(10, 1.6 + 0.3 * half))
    ax = fig.add_axes((0.25, 0.02, 0.5, 0.88))   # the sides hold the method names
    lo, hi = 1, max(k, math.ceil(values.max()))
    ax.set_xlim(lo - 0.3, hi + 0.3)
    ax.set_ylim(-(half + 0.5) * 0.55, 2.0)
    ax.axis("off")
    ax.hlines(0, lo, hi, color="k", linewidth=1)
    for tick in range(lo, hi + 1):
        ax.vlines(tick, 0, 0.15, color="k", linewidth=1)
        ax.text(tick, 0.3, str(tick), ha="center", va="bottom", fontsize="small")
    if friedman.rejects:
        ax.hlines(1.4, lo, lo + cd, color="k", linewidth=2)
        ax.text(lo + cd / 2, 1.55, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize="small")
    else:
        ax.text((lo + hi) / 2, 1.4, f"Friedman's test does not reject equal mean ranks (p = {friedman.pvalue:.3g} "
                f">= {friedman.alpha:g}): no post-hoc test, no CD", ha="center", va="bottom", fontsize="small")
    for i, (name, value) in enumerate(ranks.items()):
        left = i < half
        level = -(i + 1) if left else -(k - i)
        end = lo - 0.3 if left else hi + 0.3
        ax.plot([value, value, end], [0, level * 0.55, level * 0.55], color="k", linewidth=0.8, clip_on=False)
        ax.text(end, level * 0.55, f"{name} {value:.2f} " if left else f" {value:.2f} {name}",
                ha="right" if left else "left", va="center", fontsize="x-small")
    for n, (i, j) in enumerate(_cliques(values, cd) if friedman.rejects else []):
        y = -0.15 - 0.1 * n
        ax.hlines(y, values[i] - 0.05, values[j] + 0.05, color="firebrick", linewidth=3)
    ax.set_title(title or f"Nemenyi test, alpha = {friedman.alpha:g}, {k} methods over {friedman.n} blocks",
                 fontsize="small")
    verdict = ("rejects equal mean ranks: Nemenyi's test follows (a red bar joins samplers within the CD)"
               if friedman.rejects else "does not reject equal mean ranks: no post-hoc test (Demsar 2006)")
    footnote(fig, [f"Friedman test over {friedman.n} {friedman.blocks} and {k} samplers: chi2({k - 1}) = "
                   f"{friedman.statistic:.3f}, p = {friedman.pvalue:.3g}; at alpha {friedman.alpha:g} it {verdict}.",
                   _left_out_line(left_out)])
    return fig
