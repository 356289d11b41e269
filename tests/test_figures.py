"""bench.analysis.plots: hand-computed group ranks, and what each figure draws (missing cells as missing,
what it leaves out on the figure); Figure 6's AutoSMOTE defaults against the library."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from bench.analysis import plots as figures
from bench.classifiers import make_classifier
from bench.metrics import METRICS
from bench.protocol import resample
from bench.samplers.registry import SamplerContext, parse_sampler
from bench.stats_tests import friedman_test


def _best(rows):
    """select_best-shaped frame from (dataset, classifier, ir, sampler, score) tuples, one seed."""
    return pd.DataFrame([{"dataset": d, "classifier": c, "ir": ir, "seed": 1, "sampler": s, "params": "{}",
                          "score": v} for d, c, ir, s, v in rows])


# Per configuration the ranks are: (d1,A) x1 y2 z3; (d1,B) x2 y1 z3; (d2,A) x1 y3 z2; (d2,B) x=y 1.5, z3.
SCORES = {("d1", "A"): (0.9, 0.8, 0.7), ("d1", "B"): (0.8, 0.9, 0.7),
          ("d2", "A"): (0.9, 0.7, 0.8), ("d2", "B"): (0.9, 0.9, 0.1)}
SMALL = _best([(d, c, 20, s, v) for (d, c), values in SCORES.items() for s, v in zip("xyz", values)])


def test_group_ranks_by_classifier_matches_hand_computed_ranks():
    ranks = figures.group_ranks(SMALL, "classifier")
    assert list(ranks.columns) == ["A", "B"]
    assert ranks.loc["x"].tolist() == [1.0, 1.75]
    assert ranks.loc["y"].tolist() == [2.5, 1.25]
    assert ranks.loc["z"].tolist() == [2.5, 3.0]


def test_group_ranks_by_ir_averages_over_every_configuration():
    ranks = figures.group_ranks(SMALL, "ir")
    assert list(ranks.columns) == ["20"]
    assert ranks["20"].to_dict() == {"x": 1.375, "y": 1.875, "z": 2.75}


def test_group_ranks_leaves_a_sampler_out_of_the_group_where_it_is_incomplete():
    best = SMALL.copy()
    best.loc[(best["sampler"] == "z") & (best["classifier"] == "B") & (best["dataset"] == "d2"), "score"] = np.nan
    ranks = figures.group_ranks(best, "classifier")
    assert np.isnan(ranks.at["z", "B"])
    assert ranks.at["z", "A"] == 2.5
    assert ranks.loc[["x", "y"], "B"].tolist() == [1.75, 1.25]   # ranked among x and y only


def test_group_ranks_rejects_an_unknown_grouping():
    with pytest.raises(ValueError, match="by must be one of"):
        figures.group_ranks(SMALL, "seed")


def test_group_ranks_orders_the_irs_numerically():
    best = pd.concat([SMALL.assign(ir=ir) for ir in (20, 100, 50)], ignore_index=True)
    assert list(figures.group_ranks(best, "ir").columns) == ["20", "50", "100"]


def _texts(fig):
    return " ".join(t.get_text() for t in fig.texts + [t for ax in fig.axes for t in ax.texts])


def test_rank_by_group_draws_one_bar_per_group_in_two_panels():
    fig = figures.rank_by_group(figures.group_ranks(SMALL, "classifier"), figures.group_ranks(SMALL, "ir"), "x")
    assert isinstance(fig, Figure)
    left, right = fig.axes
    assert [p.get_height() for p in left.patches] == [1.0, 1.75]
    assert [p.get_height() for p in right.patches] == [1.375]
    assert [t.get_text() for t in left.get_xticklabels()] == ["A", "B"]
    assert "Left out" not in _texts(fig) and "missing" not in _texts(fig)


def test_rank_by_group_draws_a_missing_cell_as_missing_and_names_the_unranked():
    best = SMALL.copy()
    best.loc[(best["sampler"] == "x") & (best["classifier"] == "B") & (best["dataset"] == "d2"), "score"] = np.nan
    by_classifier, by_ir = figures.group_ranks(best, "classifier"), figures.group_ranks(best, "ir")
    fig = figures.rank_by_group(by_classifier, by_ir, "x")
    left = fig.axes[0]
    solid = [p for p in left.patches if p.get_fill()]
    hatched = [p for p in left.patches if not p.get_fill()]
    assert [p.get_height() for p in solid] == [1.0]                 # A only: no bar at 0 for B
    assert len(hatched) == 1 and hatched[0].get_hatch() == "//" and hatched[0].get_height() > 1.0
    assert "missing" in [t.get_text() for t in left.texts]
    assert "Left out: x (no rank where it lacks a score)." in _texts(fig)


def test_rank_by_group_rejects_a_sampler_without_ranks():
    with pytest.raises(ValueError, match="no row for sampler 'w'"):
        figures.rank_by_group(figures.group_ranks(SMALL, "classifier"), figures.group_ranks(SMALL, "ir"), "w")


def test_curve_summary_averages_the_runs_that_reached_each_episode():
    summary = figures.curve_summary({"a": [[0.1, 0.3, 0.5], [0.3, 0.5]], "b": [[0.2]]})
    a = summary[summary["method"] == "a"]
    assert a["mean"].tolist() == pytest.approx([0.2, 0.4, 0.5])
    assert a["std"].tolist() == pytest.approx([0.1, 0.1, 0.0])
    assert a["n_runs"].tolist() == [2, 2, 1]
    assert summary[summary["method"] == "b"]["episode"].tolist() == [1]


def test_search_curves_draws_a_line_and_a_band_per_method():
    fig = figures.search_curves({"AutoSMOTE": [[0.5, 0.6, 0.7]] * 2,
                                 "AutoSMOTE[ablation=random_search]": [[0.4, 0.4, 0.5], [0.5, 0.5, 0.5]]})
    ax, = fig.axes
    assert len(ax.get_lines()) == 2
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2
    assert ax.get_lines()[0].get_ydata().tolist() == pytest.approx([0.5, 0.6, 0.7])


def test_search_curves_names_what_it_leaves_out():
    fig = figures.search_curves({"AutoSMOTE": [[0.5, 0.6]]}, left_out={"AutoSMOTE[ablation=merged]": "as in the paper"})
    assert "Left out: AutoSMOTE[ablation=merged] (as in the paper)." in _texts(fig)


def test_search_curves_rejects_a_method_without_runs():
    with pytest.raises(ValueError, match="has no curve"):
        figures.search_curves({"a": []})


def test_hyperparameter_study_draws_one_panel_per_parameter_with_mean_scores():
    frame = pd.DataFrame({"parameter": ["G2"] * 4 + ["K"] * 2, "value": [5, 5, 10, 10, 5, 30],
                          "score": [0.5, 0.7, 0.8, 0.8, 0.4, 0.9]})
    fig = figures.hyperparameter_study(frame, ["G2", "K"])
    assert len(fig.axes) == 2
    line = fig.axes[0].get_lines()[0]
    assert line.get_xdata().tolist() == [5.0, 10.0]
    assert line.get_ydata().tolist() == pytest.approx([0.6, 0.8])
    assert [ax.get_xlabel() for ax in fig.axes] == ["G2", "K"]
    assert len(figures.hyperparameter_study(frame, "K").axes) == 1


def test_hyperparameter_study_rejects_a_parameter_without_rows():
    frame = pd.DataFrame({"parameter": ["G2"], "value": [5], "score": [0.5]})
    with pytest.raises(ValueError, match="no rows for parameter"):
        figures.hyperparameter_study(frame, ["K"])


def _two_clusters(seed=0):
    rng = np.random.RandomState(seed)
    X = np.vstack([rng.randn(100, 2), rng.randn(20, 2) + [3, 3]])
    return X, np.r_[np.zeros(100, int), np.ones(20, int)]


def _toy(*names: str, ratio: float = 1.0):
    """Registry samplers as Figure 7 takes them: (entry, parameters), ratio-tuning ones at ``ratio``."""
    chosen = {}
    for name in names:
        choice = parse_sampler(name)
        chosen[name] = choice.entry, {**choice.fixed, **({"ratio": ratio} if choice.entry.tunes_ratio else {})}
    return chosen


def test_toy_split_keeps_the_protocols_shares_stratified():
    X, y = _two_clusters()
    split = figures.toy_split(X, y, seed=1)
    assert [len(split.y_train), len(split.y_val), len(split.y_test)] == [72, 24, 24]   # 60 / 20 / 20 of 120
    assert [split.y_train.sum(), split.y_val.sum(), split.y_test.sum()] == [12, 4, 4]   # 20 minority rows
    assert np.array_equal(figures.toy_split(X, y, seed=1).X_test, split.X_test)
    assert not np.array_equal(figures.toy_split(X, y, seed=2).X_test, split.X_test)


def test_toy_case_study_returns_a_panel_per_sampler_with_its_synthetic_rows():
    X, y = _two_clusters()
    panels, scores = figures.toy_case_study(X, y, _toy("No-resampling", "RandomOverSampler", "SMOTE[k_neighbors=3]"),
                                            seed=1)
    assert [p[0].split(":")[0] for p in panels] == ["No-resampling", "RandomOverSampler", "SMOTE[k_neighbors=3]"]
    _, X_train, y_train, _, _ = panels[0]
    assert len(y_train) == 72 and y_train.sum() == 12      # 60 % of 100 / 20, stratified
    assert [len(p[3]) for p in panels] == [0, 48, 48]       # balanced: 60 - 12 new minority rows
    assert set(scores) == {"No-resampling", "RandomOverSampler", "SMOTE[k_neighbors=3]"}
    assert all(0 <= s <= 1 for s in scores.values())
    again, _ = figures.toy_case_study(X, y, _toy("SMOTE[k_neighbors=3]"), seed=1)
    np.testing.assert_array_equal(again[0][3], panels[2][3])


def test_toy_case_study_scores_what_the_protocols_unit_scores():
    """The panel's model and score are the unit's: the registry sampler resampled at the ratio, the seeded
    classifier fitted on its output and scored on the test part."""
    X, y = _two_clusters()
    panels, scores = figures.toy_case_study(X, y, _toy("SMOTE[k_neighbors=3]"), seed=1, classifier="KNN",
                                            metric="mcc")
    split = figures.toy_split(X, y, seed=1)
    entry, params = _toy("SMOTE[k_neighbors=3]")["SMOTE[k_neighbors=3]"]
    X_res, y_res, _ = resample(entry, params, SamplerContext(1), split.X_train, split.y_train)
    model = make_classifier("KNN", 1).fit(X_res, y_res)
    assert scores == {"SMOTE[k_neighbors=3]": METRICS["mcc"](split.y_test, model.predict(split.X_test))}
    assert np.array_equal(panels[0][4].predict(split.X_test), model.predict(split.X_test))


def test_toy_case_study_leaves_a_met_ratio_alone_and_refuses_what_the_protocol_refuses():
    X, y = _two_clusters()
    panels, _ = figures.toy_case_study(X, y, _toy("SMOTE", ratio=0.1), seed=1)   # 12 / 60 = 0.2 is met already
    assert len(panels[0][3]) == 0
    X_few, y_few = X[:106], y[:106]   # 6 minority rows, about 4 in the training part: SMOTE wants 6
    with pytest.raises(ValueError, match="needs more than 5 rows"):
        figures.toy_case_study(X_few, y_few, _toy("SMOTE"), seed=1)


def test_toy_case_study_validates_its_input():
    X, y = _two_clusters()
    with pytest.raises(ValueError, match="two columns"):
        figures.toy_case_study(np.c_[X, X], y, _toy("No-resampling"), seed=1)
    with pytest.raises(ValueError, match="binary 0/1"):
        figures.toy_case_study(X, y + 1, _toy("No-resampling"), seed=1)
    with pytest.raises(ValueError, match="metric must be"):
        figures.toy_case_study(X, y, _toy("No-resampling"), seed=1, metric="auc")


def test_toy_boundaries_draws_regions_and_points_in_one_subplot_per_panel():
    X, y = _two_clusters()
    panels, _ = figures.toy_case_study(X, y, _toy("No-resampling", "RandomOverSampler", "RandomUnderSampler",
                                                  "TomekLinks"), seed=1)
    fig = figures.toy_boundaries(panels, resolution=30)
    assert len(fig.axes) == 4                               # a 2 x 3 grid, the two empty cells removed
    ax = fig.axes[1]
    offsets = [len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets") and c.get_offsets().size]
    assert sorted(offsets)[-3:] == sorted([60, 12, 48])   # majority, minority, synthetic points
    assert ax.get_title().startswith("RandomOverSampler: test Macro-F1")


def test_cliques_join_the_runs_of_ranks_within_the_cd():
    assert figures._cliques(np.array([1.0, 1.5, 2.0, 4.0, 4.2]), cd=1.2) == [(0, 2), (3, 4)]
    assert figures._cliques(np.array([1.0, 3.0, 5.0]), cd=1.0) == []


def _cfg(columns):
    """Configuration scores: 10 configurations, one column per sampler (a constant offset plus noise)."""
    rng = np.random.RandomState(0)
    return pd.DataFrame({name: base + 0.01 * rng.rand(10) for name, base in columns.items()})


def test_critical_difference_places_every_method_the_cd_bar_and_the_friedman_test():
    cfg = _cfg({"AutoSMOTE": 0.9, "SMOTE": 0.8, "ADASYN": 0.7, "No-resampling": 0.6})
    cfg["gone"] = np.nan
    friedman = friedman_test(cfg)
    assert friedman.rejects
    fig = figures.critical_difference(friedman, left_out={"gone": "incomplete"})
    texts = _texts(fig)
    for label in ["AutoSMOTE 1.00", "SMOTE 2.00", "3.00 ADASYN", "4.00 No-resampling"]:   # best half on the left
        assert label in texts
    assert f"CD = {friedman.cd:.2f}" in texts
    assert f"chi2(3) = {friedman.statistic:.3f}, p = {friedman.pvalue:.3g}" in texts
    assert "Left out: gone (incomplete)." in texts
    assert any(c.get_color() is not None for c in fig.axes[0].collections)   # the clique / CD bars


def test_critical_difference_draws_no_post_hoc_test_when_friedman_does_not_reject():
    rng = np.random.RandomState(1)
    cfg = pd.DataFrame(rng.rand(6, 3), columns=["A", "B", "C"])
    friedman = friedman_test(cfg)
    assert not friedman.rejects
    fig = figures.critical_difference(friedman)
    texts = _texts(fig)
    assert "does not reject" in texts and "no post-hoc test" in texts and "CD =" not in texts
    red = [c for c in fig.axes[0].collections if "firebrick" in str(c.get_color())]
    assert not red                                                   # no Nemenyi cliques

