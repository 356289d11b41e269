"""bench.stats against hand-computed values (derivations in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bench.stats import (
    WilcoxonSetting,
    better_marks,
    config_scores,
    rank_table,
    select_best,
    significant,
    wilcoxon_table,
)

NAN = float("nan")


def long(rows):
    return pd.DataFrame(rows, columns=["dataset", "classifier", "ir", "seed", "sampler", "score"])


# ------------------------------------------------------------------------------------------------
# config_scores


def test_config_scores_seed_mean_and_incomplete():
    results = long(
        [
            # config (d1, svm, 10), seeds 0 and 1
            ("d1", "svm", 10, 0, "A", 0.6),
            ("d1", "svm", 10, 1, "A", 0.8),  # A: (0.6 + 0.8) / 2 = 0.7
            ("d1", "svm", 10, 0, "B", 0.5),
            ("d1", "svm", 10, 1, "B", NAN),  # B failed seed 1 -> incomplete -> NaN
            ("d1", "svm", 10, 0, "C", 0.4),  # C has no row for seed 1 -> NaN
            # config (d1, svm, 50): seeds 0, 1, and seed 2 where nobody has a score (not required)
            ("d1", "svm", 50, 0, "A", 0.2),
            ("d1", "svm", 50, 1, "A", 0.4),  # A: 0.3
            ("d1", "svm", 50, 2, "A", NAN),
            ("d1", "svm", 50, 0, "B", 0.1),
            ("d1", "svm", 50, 1, "B", 0.3),  # B: 0.2
            ("d1", "svm", 50, 2, "B", NAN),
            # C absent from (d1, svm, 50) -> NaN
        ]
    )
    cfg = config_scores(results)
    assert list(cfg.columns) == ["A", "B", "C"]
    assert list(cfg.index.names) == ["dataset", "classifier", "ir"]
    assert list(cfg.index) == [("d1", "svm", 10), ("d1", "svm", 50)]
    assert cfg.loc[("d1", "svm", 10), "A"] == pytest.approx(0.7)
    assert math.isnan(cfg.loc[("d1", "svm", 10), "B"])
    assert math.isnan(cfg.loc[("d1", "svm", 10), "C"])
    assert cfg.loc[("d1", "svm", 50), "A"] == pytest.approx(0.3)
    assert cfg.loc[("d1", "svm", 50), "B"] == pytest.approx(0.2)
    assert math.isnan(cfg.loc[("d1", "svm", 50), "C"])


def test_config_scores_inf_is_missing_and_duplicates_rejected():
    results = long(
        [
            ("d1", "svm", 10, 0, "A", 0.5),
            ("d1", "svm", 10, 1, "A", np.inf),  # not finite -> A incomplete
            ("d1", "svm", 10, 0, "B", 0.5),
            ("d1", "svm", 10, 1, "B", 0.7),  # B: 0.6
        ]
    )
    cfg = config_scores(results)
    assert math.isnan(cfg.iloc[0]["A"])
    assert cfg.iloc[0]["B"] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="duplicated"):
        config_scores(pd.concat([results, results.iloc[[0]]]))


def test_config_scores_keeps_dataset_order_of_first_appearance():
    results = long(
        [
            ("zoo", "knn", 10, 0, "A", 0.1),
            ("abalone", "knn", 10, 0, "A", 0.2),
            ("zoo", "svm", 10, 0, "A", 0.3),
        ]
    )
    cfg = config_scores(results)
    # datasets in first-appearance order, configurations grouped by dataset
    assert list(cfg.index) == [("zoo", "knn", 10), ("zoo", "svm", 10), ("abalone", "knn", 10)]


# ------------------------------------------------------------------------------------------------
# rank_table

# 3 samplers, dataset "phoneme" (configs c1, c2) and dataset "abalone" (configs c3, c4).
RANK_CFG = pd.DataFrame(
    {
        "A": [0.9, 0.8, 0.7, 0.4],
        "B": [0.9, 0.6, 0.5, 0.6],
        "C": [0.5, 0.6, NAN, 0.9],  # C missing in c3 (abalone)
    },
    index=pd.MultiIndex.from_tuples(
        [("phoneme", "svm", 10), ("phoneme", "svm", 50), ("abalone", "svm", 10), ("abalone", "svm", 50)],
        names=["dataset", "classifier", "ir"],
    ),
)


def test_rank_table_higher_is_better():
    ranks = rank_table(RANK_CFG)
    assert list(ranks.index) == ["A", "B", "C"]
    assert list(ranks.columns) == ["phoneme", "abalone", "overall"]
    # phoneme, all three complete:
    #   c1: A 0.9, B 0.9, C 0.5 -> A 1.5, B 1.5, C 3
    #   c2: A 0.8, B 0.6, C 0.6 -> A 1,   B 2.5, C 2.5
    #   mean: A 1.25, B 2.0, C 2.75  (sum 6 = 1+2+3)
    assert ranks.loc["A", "phoneme"] == pytest.approx(1.25)
    assert ranks.loc["B", "phoneme"] == pytest.approx(2.0)
    assert ranks.loc["C", "phoneme"] == pytest.approx(2.75)
    # abalone: C lacks c3 -> excluded; ranks among A, B:
    #   c3: A 0.7, B 0.5 -> A 1, B 2;  c4: A 0.4, B 0.6 -> A 2, B 1;  mean A 1.5, B 1.5
    assert ranks.loc["A", "abalone"] == pytest.approx(1.5)
    assert ranks.loc["B", "abalone"] == pytest.approx(1.5)
    assert math.isnan(ranks.loc["C", "abalone"])
    # overall: C excluded (missing in c3); A, B over all 4 configurations:
    #   c1 tie 1.5/1.5; c2 A 1, B 2; c3 A 1, B 2; c4 A 2, B 1
    #   A (1.5+1+1+2)/4 = 1.375, B (1.5+2+2+1)/4 = 1.625
    assert ranks.loc["A", "overall"] == pytest.approx(1.375)
    assert ranks.loc["B", "overall"] == pytest.approx(1.625)
    assert math.isnan(ranks.loc["C", "overall"])
    # overall is the mean over configurations, not over dataset columns ((2.0 + 1.5)/2 = 1.75 for B)
    assert ranks.loc["B", "overall"] != pytest.approx(1.75)


def test_rank_table_lower_is_better():
    ranks = rank_table(RANK_CFG, higher_is_better=False)
    # phoneme: c1: C 1, A 2.5, B 2.5;  c2: B 1.5, C 1.5, A 3
    #   A (2.5+3)/2 = 2.75, B (2.5+1.5)/2 = 2.0, C (1+1.5)/2 = 1.25
    assert ranks["phoneme"].tolist() == pytest.approx([2.75, 2.0, 1.25])
    # abalone (A, B only): c3 B 1, A 2;  c4 A 1, B 2  -> 1.5, 1.5
    assert ranks.loc[["A", "B"], "abalone"].tolist() == pytest.approx([1.5, 1.5])
    # overall (A, B): c1 1.5/1.5; c2 B 1, A 2; c3 B 1, A 2; c4 A 1, B 2
    #   A (1.5+2+2+1)/4 = 1.625, B (1.5+1+1+2)/4 = 1.375
    assert ranks.loc["A", "overall"] == pytest.approx(1.625)
    assert ranks.loc["B", "overall"] == pytest.approx(1.375)
    assert math.isnan(ranks.loc["C", "overall"])


def test_rank_table_from_config_scores_end_to_end():
    # two seeds per configuration; seed means equal RANK_CFG's values (x +- 0.05)
    rows = []
    for (ds, clf, ir), row in RANK_CFG.iterrows():
        for sampler, v in row.items():
            if not math.isnan(v):
                rows += [(ds, clf, ir, 0, sampler, v - 0.05), (ds, clf, ir, 1, sampler, v + 0.05)]
    ranks = rank_table(config_scores(long(rows)))
    assert ranks.loc["A", "overall"] == pytest.approx(1.375)
    assert ranks.loc["C", "phoneme"] == pytest.approx(2.75)
    assert math.isnan(ranks.loc["C", "abalone"])


# ------------------------------------------------------------------------------------------------
# Wilcoxon

# Reference R = 0.5 everywhere. Dataset d1 has 5 configurations (classifiers c0..c4, IR 10), dataset
# d2 has 1 (classifier c0, IR 10); two seeds each. Differences are multiples of 1/64 (exact floats).
#   B = R - k/64 with k = 2*i + seed + 1 (i = configuration 0..5): 12 distinct positive per-run
#       differences; configuration differences (4i+3)/128, all positive and distinct.
#   C = R - u_i/64 on both seeds, u = [1, 2, 3, 4, -5] in d1 and [6] in d2.
#   W = R + k/64 (W better than R everywhere).
#   Z = R (all differences zero).
#   N = NaN everywhere (no usable pair).
CONFIGS = [("d1", f"c{i}", 10) for i in range(5)] + [("d2", "c0", 10)]
U = [1, 2, 3, 4, -5, 6]


def wilcoxon_results():
    rows = []
    for i, (ds, clf, ir) in enumerate(CONFIGS):
        for seed in (0, 1):
            k = 2 * i + seed + 1
            rows += [
                (ds, clf, ir, seed, "R", 0.5),
                (ds, clf, ir, seed, "B", 0.5 - k / 64),
                (ds, clf, ir, seed, "C", 0.5 - U[i] / 64),
                (ds, clf, ir, seed, "W", 0.5 + k / 64),
                (ds, clf, ir, seed, "Z", 0.5),
                (ds, clf, ir, seed, "N", NAN),
            ]
    return long(rows)


def test_wilcoxon_configuration_one_sided_exact():
    p = wilcoxon_table(wilcoxon_results(), WilcoxonSetting(reference="R"))
    assert list(p.index) == ["R", "B", "C", "W", "Z", "N"]
    assert list(p.columns) == ["d1", "d2", "overall"]
    # reference row and sampler without pairs are NaN
    assert p.loc["R"].isna().all()
    assert p.loc["N"].isna().all()
    # B: n = 5 positive differences in d1 -> only 1 of 2^5 sign patterns has W+ = 15: p = 1/32
    assert p.loc["B", "d1"] == pytest.approx(1 / 32)
    # d2: a single positive pair -> P(W+ >= 1) = 1/2
    assert p.loc["B", "d2"] == pytest.approx(0.5)
    # overall: n = 6 all positive -> 1/64
    assert p.loc["B", "overall"] == pytest.approx(1 / 64)
    # C in d1: d = +1,+2,+3,+4,-5 -> W+ = 10. P(W+ >= 10) = P(complement sum <= 5); subsets of {1..5}
    # with sum <= 5: {}, {1}, {2}, {3}, {4}, {5}, {1,2}, {1,3}, {1,4}, {2,3} = 10 -> 10/32
    assert p.loc["C", "d1"] == pytest.approx(10 / 32)
    # C overall: d = 1,2,3,4,-5,6 -> W+ = 16 of 21; P(W+ >= 16) = #{subsets of {1..6}, sum <= 5}/64
    # = the same 10 subsets -> 10/64
    assert p.loc["C", "overall"] == pytest.approx(10 / 64)
    # W worse for R everywhere: d1 W+ = 0 -> P(W+ >= 0) = 1
    assert p.loc["W", "d1"] == pytest.approx(1.0)
    # all-zero differences -> 1.0
    assert p.loc["Z"].tolist() == [1.0, 1.0, 1.0]


def test_wilcoxon_two_sided_and_marks():
    setting = WilcoxonSetting(reference="R", alternative="two-sided")
    res = wilcoxon_results()
    p = wilcoxon_table(res, setting)
    # two-sided exact = 2 * min tail: B d1 2/32, overall 2/64
    assert p.loc["B", "d1"] == pytest.approx(0.0625)
    assert p.loc["B", "overall"] == pytest.approx(2 / 64)
    # C d1: P(W+ >= 10) = 10/32, P(W+ <= 10) = 1 - P(W+ >= 11) = 1 - 7/32 (sums <= 4: {},{1},{2},{3},
    # {4},{1,2},{1,3}) = 25/32 -> 2 * 10/32 = 0.625
    assert p.loc["C", "d1"] == pytest.approx(0.625)
    # W symmetric to B
    assert p.loc["W", "overall"] == pytest.approx(2 / 64)
    assert p.loc["Z"].tolist() == [1.0, 1.0, 1.0]

    sig = significant(p, 0.05)
    assert sig.dtypes.eq(bool).all()
    assert sig.loc["B"].tolist() == [False, False, True]
    assert sig.loc["W"].tolist() == [False, False, True]
    assert not sig.loc["R"].any() and not sig.loc["N"].any()  # NaN -> False
    # marks only where the reference is the better one
    marks = better_marks(res, setting)
    assert marks.loc["B"].tolist() == [False, False, True]
    assert marks.loc["W"].tolist() == [False, False, False]


def test_significant_one_sided():
    p = wilcoxon_table(wilcoxon_results(), WilcoxonSetting(reference="R"))
    sig = significant(p, 0.05)
    assert sig.loc["B"].tolist() == [True, False, True]  # 1/32, 1/2, 1/64
    assert not sig.loc["C"].any()
    assert better_marks(wilcoxon_results(), WilcoxonSetting(reference="R")).equals(sig)


def test_wilcoxon_run_pairing():
    setting = WilcoxonSetting(reference="R", pairing="run")
    p = wilcoxon_table(wilcoxon_results(), setting)
    # per-run pairs: d1 has 5 configs x 2 seeds = 10 distinct positive differences -> 1/2^10
    assert p.loc["B", "d1"] == pytest.approx(1 / 1024)
    # d2: 2 pairs -> 1/4; overall 12 pairs -> 1/4096
    assert p.loc["B", "d2"] == pytest.approx(0.25)
    assert p.loc["B", "overall"] == pytest.approx(1 / 4096)
    assert p.loc["Z"].tolist() == [1.0, 1.0, 1.0]
    assert p.loc["R"].isna().all()


def test_wilcoxon_pairs_only_where_both_finite():
    res = wilcoxon_results()
    # B fails seed 0 of configuration c4: that configuration becomes incomplete -> 4 pairs in d1 -> 1/16
    res.loc[(res["sampler"] == "B") & (res["classifier"] == "c4") & (res["seed"] == 0), "score"] = NAN
    p = wilcoxon_table(res, WilcoxonSetting(reference="R"))
    assert p.loc["B", "d1"] == pytest.approx(1 / 16)
    # by run: 9 pairs left in d1 -> 1/512
    p_run = wilcoxon_table(res, WilcoxonSetting(reference="R", pairing="run"))
    assert p_run.loc["B", "d1"] == pytest.approx(1 / 512)


def test_wilcoxon_missing_reference():
    res = wilcoxon_results()
    with pytest.raises(ValueError) as err:
        wilcoxon_table(res, WilcoxonSetting(reference="AutoSMOTE"))
    assert str(err.value) == (
        "reference sampler AutoSMOTE has no results; set [table] reference or --reference to one of: "
        "R, B, C, W, Z"
    )
    # present but only failed runs also counts as no results
    with pytest.raises(ValueError, match="reference sampler N has no results"):
        wilcoxon_table(res, WilcoxonSetting(reference="N"))


def test_wilcoxon_setting_describe_and_validation():
    s = WilcoxonSetting(reference="AutoSMOTE")
    assert s.describe() == (
        "Wilcoxon signed-rank test of AutoSMOTE against each sampler, paired by configuration "
        "(dataset, classifier, IR; scores averaged over seeds), one-sided (AutoSMOTE better), p < 0.05; "
        "zero differences dropped (scipy zero_method='wilcox'); exact null distribution without ties, "
        "normal approximation with them."
    )
    d = WilcoxonSetting(reference="AutoSMOTE", pairing="run", alternative="two-sided", alpha=0.01).describe()
    assert "paired by run (dataset, classifier, IR, seed)" in d
    assert "two-sided" in d and "p < 0.01" in d
    with pytest.raises(ValueError):
        WilcoxonSetting(reference="X", pairing="seed")
    with pytest.raises(ValueError):
        WilcoxonSetting(reference="X", alternative="bigger")


# ------------------------------------------------------------------------------------------------
# select_best


def runs_frame():
    cols = ["dataset", "ir", "seed", "classifier", "sampler", "params", "tune_metric", "status",
            "val_macro_f1", "test_macro_f1", "val_mcc", "test_mcc"]
    g = ("d1", 10, 0, "svm")
    rows = [
        # SMOTE: ratio 0.1 has the best TEST macro-F1 (0.90) but ratio 0.3 the best VALIDATION (0.80)
        (*g, "SMOTE", '{"ratio": 0.1}', None, "ok", 0.70, 0.90, 0.50, 0.40),
        (*g, "SMOTE", '{"ratio": 0.3}', None, "ok", 0.80, 0.60, 0.30, 0.20),
        (*g, "SMOTE", '{"ratio": 0.5}', None, "error", 0.99, 0.99, 0.99, 0.99),  # error: ignored
        (*g, "SMOTE", '{"ratio": 0.7}', None, "ok", NAN, 1.00, NAN, 1.00),  # no validation score
        # AutoSMOTE tuned once per metric: each row only counts for its own metric
        (*g, "AutoSMOTE", "{}", "macro_f1", "ok", 0.75, 0.70, 0.90, 0.80),
        (*g, "AutoSMOTE", "{}", "mcc", "ok", 0.95, 0.50, 0.60, 0.55),
        # only failed runs -> NaN
        (*g, "CTGAN", "{}", None, "error", NAN, NAN, NAN, NAN),
        (*g, "CTGAN", '{"epochs": 10}', None, "timeout", NAN, NAN, NAN, NAN),
        # tie on validation: params sorted as strings, '{"ratio": 0.2}' < '{"ratio": 0.5}'
        (*g, "ROS", '{"ratio": 0.5}', None, "ok", 0.80, 0.10, 0.80, 0.10),
        (*g, "ROS", '{"ratio": 0.2}', None, "ok", 0.80, 0.20, 0.80, 0.20),
        # no-op status is a valid candidate
        (*g, "No-resampling", "{}", np.nan, "no-op", 0.60, 0.65, 0.30, 0.35),
    ]
    return pd.DataFrame(rows, columns=cols)


def test_select_best_macro_f1():
    best = select_best(runs_frame(), "macro_f1")
    assert list(best.columns) == ["dataset", "classifier", "ir", "seed", "sampler", "params", "score"]
    assert list(best["sampler"]) == ["SMOTE", "AutoSMOTE", "CTGAN", "ROS", "No-resampling"]
    b = best.set_index("sampler")
    assert b.loc["SMOTE", "params"] == '{"ratio": 0.3}'
    assert b.loc["SMOTE", "score"] == pytest.approx(0.60)  # its test score, not the best test 0.90
    assert b.loc["AutoSMOTE", "score"] == pytest.approx(0.70)  # the macro_f1-tuned row (val 0.75)
    assert math.isnan(b.loc["CTGAN", "score"])
    assert b.loc["CTGAN", "params"] is None
    assert b.loc["ROS", "params"] == '{"ratio": 0.2}'
    assert b.loc["ROS", "score"] == pytest.approx(0.20)
    assert b.loc["No-resampling", "score"] == pytest.approx(0.65)
    assert (best["dataset"] == "d1").all() and (best["ir"] == 10).all() and (best["classifier"] == "svm").all()


def test_select_best_mcc():
    b = select_best(runs_frame(), "mcc").set_index("sampler")
    # SMOTE: val_mcc 0.50 (ratio 0.1) > 0.30 -> test_mcc 0.40
    assert b.loc["SMOTE", "params"] == '{"ratio": 0.1}'
    assert b.loc["SMOTE", "score"] == pytest.approx(0.40)
    # AutoSMOTE: only the mcc-tuned row (val_mcc 0.60, although the other row has val_mcc 0.90)
    assert b.loc["AutoSMOTE", "score"] == pytest.approx(0.55)
    assert math.isnan(b.loc["CTGAN", "score"])
    assert b.loc["ROS", "score"] == pytest.approx(0.20)


def test_select_best_feeds_config_scores():
    cfg = config_scores(select_best(runs_frame(), "macro_f1"))
    assert cfg.loc[("d1", "svm", 10), "SMOTE"] == pytest.approx(0.60)
    assert math.isnan(cfg.loc[("d1", "svm", 10), "CTGAN"])


def test_select_best_without_validation_takes_a_lone_row_only():
    # A stratified train/test protocol has no validation scores: a group's single row is its result,
    # but two untuned rows (two ratios) cannot be told apart and stay missing.
    cols = ["dataset", "ir", "seed", "classifier", "sampler", "params", "tune_metric", "status",
            "val_macro_f1", "test_macro_f1"]
    g = ("glass", 0, 1, "mlp")
    runs = pd.DataFrame([
        (*g, "SMOTE", '{"ratio": 1.0}', None, "ok", NAN, 0.61),
        (*g, "ROS", '{"ratio": 0.5}', None, "ok", NAN, 0.50),
        (*g, "ROS", '{"ratio": 1.0}', None, "ok", NAN, 0.55),
    ], columns=cols)
    b = select_best(runs, "macro_f1").set_index("sampler")
    assert b.loc["SMOTE", "score"] == pytest.approx(0.61)
    assert math.isnan(b.loc["ROS", "score"])
