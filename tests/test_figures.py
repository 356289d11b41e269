"""bench.figures: hand-computed group ranks and critical differences, and what each figure draws."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE, RandomOverSampler
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from bench import figures


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


def test_rank_by_group_draws_one_bar_per_group_in_two_panels():
    fig = figures.rank_by_group(figures.group_ranks(SMALL, "classifier"), figures.group_ranks(SMALL, "ir"), "x")
    assert isinstance(fig, Figure)
    left, right = fig.axes
    assert [p.get_height() for p in left.patches] == [1.0, 1.75]
    assert [p.get_height() for p in right.patches] == [1.375]
    assert [t.get_text() for t in left.get_xticklabels()] == ["A", "B"]


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


class _Identity:
    def fit_resample(self, X, y):
        return X, y


def test_toy_case_study_returns_a_panel_per_sampler_with_its_synthetic_rows():
    X, y = _two_clusters()
    samplers = {"none": _Identity(), "ROS": RandomOverSampler(random_state=0),
                "SMOTE": lambda X_val, y_val: SMOTE(k_neighbors=3, random_state=0)}   # a factory, as AutoSMOTE
    panels, scores = figures.toy_case_study(X, y, samplers, seed=1)
    assert [p[0].split(":")[0] for p in panels] == ["none", "ROS", "SMOTE"]
    _, X_train, y_train, _, _ = panels[0]
    assert len(y_train) == 72 and y_train.sum() == 12      # 60 % of 100 / 20, stratified
    assert [len(p[3]) for p in panels] == [0, 48, 48]       # balanced: 60 - 12 new minority rows
    assert set(scores) == {"none", "ROS", "SMOTE"} and all(0 <= s <= 1 for s in scores.values())
    again, _ = figures.toy_case_study(X, y, {"SMOTE": SMOTE(k_neighbors=3, random_state=0)}, seed=1)
    np.testing.assert_array_equal(again[0][3], panels[2][3])


def test_toy_case_study_validates_its_input():
    X, y = _two_clusters()
    with pytest.raises(ValueError, match="two columns"):
        figures.toy_case_study(np.c_[X, X], y, {"none": _Identity()}, seed=1)
    with pytest.raises(ValueError, match="binary 0/1"):
        figures.toy_case_study(X, y + 1, {"none": _Identity()}, seed=1)


def test_toy_boundaries_draws_regions_and_points_in_one_subplot_per_panel():
    X, y = _two_clusters()
    panels, _ = figures.toy_case_study(X, y, {"a": _Identity(), "b": RandomOverSampler(random_state=0),
                                              "c": _Identity(), "d": _Identity()}, seed=1)
    fig = figures.toy_boundaries(panels, resolution=30)
    assert len(fig.axes) == 4                               # a 2 x 3 grid, the two empty cells removed
    ax = fig.axes[1]
    offsets = [len(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets") and c.get_offsets().size]
    assert sorted(offsets)[-3:] == sorted([60, 12, 48])   # majority, minority, synthetic points
    assert ax.get_title().startswith("b: test Macro-F1")


def test_nemenyi_cd_matches_the_hand_computed_value():
    # q_0.05 for k = 4 is 2.569 (Demsar 2006, Table 5a); CD = 2.569 * sqrt(4 * 5 / (6 * 10)) = 1.483
    assert figures.nemenyi_cd(4, 10) == pytest.approx(1.483, abs=5e-4)
    assert figures.nemenyi_cd(2, 1) == pytest.approx(1.960, abs=5e-4)   # q for k = 2 is z_0.975


@pytest.mark.parametrize("k, n, alpha", [(1, 10, 0.05), (4, 0, 0.05), (4, 10, 1.5)])
def test_nemenyi_cd_rejects_bad_arguments(k, n, alpha):
    with pytest.raises(ValueError):
        figures.nemenyi_cd(k, n, alpha)


def test_cliques_join_the_runs_of_ranks_within_the_cd():
    assert figures._cliques(np.array([1.0, 1.5, 2.0, 4.0, 4.2]), cd=1.2) == [(0, 2), (3, 4)]
    assert figures._cliques(np.array([1.0, 3.0, 5.0]), cd=1.0) == []


def test_critical_difference_places_every_method_and_the_cd_bar():
    ranks = pd.Series({"AutoSMOTE": 1.5, "SMOTE": 2.1, "ADASYN": 3.0, "No-resampling": 3.4, "gone": np.nan})
    fig = figures.critical_difference(ranks, n_datasets=10)
    ax, = fig.axes
    texts = " ".join(t.get_text() for t in ax.texts)
    for label in ["AutoSMOTE 1.50", "SMOTE 2.10", "3.00 ADASYN", "3.40 No-resampling"]:   # best half on the left
        assert label in texts
    assert "gone" not in texts
    assert f"CD = {figures.nemenyi_cd(4, 10):.2f}" in texts
