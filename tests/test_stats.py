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


# ------------------------------------------------------------------------------------------------
# Holm correction of the Wilcoxon marks


def test_holm_hand_computed():
    from bench.stats import holm

    # sorted 0.01, 0.03, 0.04: 3 * 0.01 = 0.03; 2 * 0.03 = 0.06; 1 * 0.04 = 0.04 -> max(0.06, 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    # NaN is no test: the family is the two finite p-values (2 * 0.01 = 0.02; 0.03 -> max(0.02, 0.03))
    adj = holm([0.01, NAN, 0.03])
    assert adj[0] == pytest.approx(0.02) and math.isnan(adj[1]) and adj[2] == pytest.approx(0.03)
    assert holm([NAN, NAN]).tolist() == pytest.approx([NAN, NAN], nan_ok=True)


def test_wilcoxon_holm_removes_a_mark_and_keeps_the_default():
    res = wilcoxon_results()
    plain = WilcoxonSetting(reference="R")
    assert plain.correction == "none"
    corrected = WilcoxonSetting(reference="R", correction="holm")
    p = wilcoxon_table(res, corrected)
    # column d1, one-sided: family B 1/32, C 10/32, W 1, Z 1 (R reference, N no pair: not in the family)
    #   sorted: 4 * 1/32 = 0.125; max(0.125, 3 * 10/32 = 0.9375); then min(1, 2 * 1) = 1, 1
    assert p.loc["B", "d1"] == pytest.approx(0.125)
    assert p.loc["C", "d1"] == pytest.approx(0.9375)
    assert p.loc["W", "d1"] == pytest.approx(1.0) and p.loc["Z", "d1"] == pytest.approx(1.0)
    # overall: B 1/64 -> 4/64 = 0.0625; C 10/64 -> max(0.0625, 3 * 10/64 = 0.46875)
    assert p.loc["B", "overall"] == pytest.approx(0.0625)
    assert p.loc["C", "overall"] == pytest.approx(0.46875)
    assert p.loc["R"].isna().all() and p.loc["N"].isna().all()
    # the marks for B in d1 (1/32) and overall (1/64) hold uncorrected and disappear under Holm
    assert better_marks(res, plain).loc["B"].tolist() == [True, False, True]
    assert better_marks(res, corrected).loc["B"].tolist() == [False, False, False]
    # by run the overall mark survives: 4 * 1/4096 = 1/1024 < 0.05
    run = WilcoxonSetting(reference="R", pairing="run", correction="holm")
    assert wilcoxon_table(res, run).loc["B", "overall"] == pytest.approx(4 / 4096)
    assert better_marks(res, run).loc["B", "overall"]


def test_wilcoxon_setting_correction_describe_and_validation():
    base = WilcoxonSetting(reference="AutoSMOTE").describe()
    holm_text = WilcoxonSetting(reference="AutoSMOTE", correction="holm").describe()
    assert holm_text.startswith(base) and "Holm-adjusted" in holm_text
    assert "Holm" not in base
    with pytest.raises(ValueError, match="correction"):
        WilcoxonSetting(reference="X", correction="bonferroni")


# ------------------------------------------------------------------------------------------------
# Friedman and Nemenyi (bench.stats_tests)

# 4 configurations x 3 samplers, higher is better, no ties; ranks (1 = best) per row:
#   c1: A 1, B 2, C 3;  c2: A 1, B 3, C 2;  c3: A 1, B 2, C 3;  c4: A 2, B 1, C 3
#   mean ranks R: A 5/4 = 1.25, B 8/4 = 2.0, C 11/4 = 2.75
# plus D, missing in c2: left out (not complete in every configuration)
FRIEDMAN_CFG = pd.DataFrame(
    {
        "A": [0.9, 0.9, 0.9, 0.5],
        "B": [0.5, 0.1, 0.5, 0.9],
        "C": [0.1, 0.5, 0.1, 0.1],
        "D": [0.7, NAN, 0.7, 0.7],
    },
    index=pd.MultiIndex.from_tuples([("d1", "svm", ir) for ir in (10, 20, 50, 100)],
                                    names=["dataset", "classifier", "ir"]),
)


def test_friedman_hand_computed():
    from bench.stats_tests import friedman_test

    fr = friedman_test(FRIEDMAN_CFG)
    # N = 4, k = 3: chi2 = 12 N / (k (k + 1)) * (sum R_j^2 - k (k + 1)^2 / 4)
    #   = 48 / 12 * (1.25^2 + 2^2 + 2.75^2 - 3 * 16 / 4) = 4 * (1.5625 + 4 + 7.5625 - 12) = 4 * 1.125 = 4.5
    # chi-square with k - 1 = 2 df: P(X >= x) = exp(-x / 2) -> p = exp(-2.25) = 0.10540
    assert (fr.k, fr.n) == (3, 4)
    assert fr.statistic == pytest.approx(4.5)
    assert fr.pvalue == pytest.approx(math.exp(-2.25))
    assert not fr.rejects
    assert fr.mean_ranks.to_dict() == pytest.approx({"A": 1.25, "B": 2.0, "C": 2.75})
    # the same mean ranks as rank_table's overall column (same complete-sampler rule)
    assert rank_table(FRIEDMAN_CFG)["overall"].dropna().to_dict() == pytest.approx(fr.mean_ranks.to_dict())
    # CD = q_0.05(k = 3) * sqrt(3 * 4 / (6 * 4)) = 2.343 * sqrt(0.5) = 1.657 (Demsar 2006, Table 5)
    assert fr.cd == pytest.approx(1.657, abs=5e-4)
    assert "chi2(2) = 4.500" in fr.describe() and "does not reject" in fr.describe()


def test_friedman_rejects_when_one_sampler_always_wins():
    from bench.stats_tests import friedman_test

    # N = 10 configurations, ranks always A 1, B 2, C 3: chi2 = 120 / 12 * (1 + 4 + 9 - 12) = 20,
    # p = exp(-10)
    cfg = pd.DataFrame({"A": [0.9] * 10, "B": [0.5] * 10, "C": [0.1] * 10})
    fr = friedman_test(cfg)
    assert fr.statistic == pytest.approx(20.0)
    assert fr.pvalue == pytest.approx(math.exp(-10))
    assert fr.rejects
    # lower is better reverses the mean ranks, not the statistic
    low = friedman_test(cfg, higher_is_better=False)
    assert low.statistic == pytest.approx(20.0)
    assert low.mean_ranks.to_dict() == pytest.approx({"A": 3.0, "B": 2.0, "C": 1.0})


def test_friedman_all_tied_and_too_few_samplers():
    from bench.stats_tests import friedman_test

    tied = friedman_test(pd.DataFrame({"A": [0.5, 0.7], "B": [0.5, 0.7], "C": [0.5, 0.7]}))
    assert (tied.statistic, tied.pvalue, tied.rejects) == (0.0, 1.0, False)
    with pytest.raises(ValueError, match="at least 3 samplers"):
        friedman_test(FRIEDMAN_CFG[["A", "B", "D"]])   # D incomplete -> k = 2


def test_nemenyi_cd_and_pairwise_p():
    from scipy.stats import norm

    from bench.stats_tests import friedman_test, nemenyi_cd, nemenyi_table

    # Demsar 2006, Table 5: q_0.05 = 1.960 (k = 2), 2.569 (k = 4); CD(4, 10) = 2.569 * sqrt(20 / 60) = 1.483
    assert nemenyi_cd(2, 1) == pytest.approx(1.960, abs=5e-4)
    assert nemenyi_cd(4, 10) == pytest.approx(1.483, abs=5e-4)
    with pytest.raises(ValueError):
        nemenyi_cd(1, 10)
    # k = 2, N = 4, A always first: R = 1, 2; se = sqrt(2 * 3 / (6 * 4)) = 0.5; q = 1 / 0.5 = 2. The range
    # of two standard normals over sqrt(2) is |N(0, 1)|: p = 2 (1 - Phi(2)) = 0.0455
    two = pd.DataFrame({"A": [0.9] * 4, "B": [0.1] * 4})
    p2 = nemenyi_table(two)
    assert p2.loc["A", "B"] == pytest.approx(2 * norm.sf(2.0))
    assert p2.loc["B", "A"] == p2.loc["A", "B"] and p2.loc["A", "A"] == 1.0
    # k = 3 table: D is left out; p < alpha exactly where the mean-rank difference exceeds the CD
    p3 = nemenyi_table(FRIEDMAN_CFG)
    assert list(p3.index) == ["A", "B", "C"] and list(p3.columns) == ["A", "B", "C"]
    fr = friedman_test(FRIEDMAN_CFG, alpha=0.1)
    for a in "ABC":
        for b in "ABC":
            if a != b:
                diff = abs(fr.mean_ranks[a] - fr.mean_ranks[b])
                assert (p3.loc[a, b] < 0.1) == (diff > fr.cd)
    # |R_A - R_C| = 1.5 > CD_0.1 = q_0.10(k = 3) * sqrt(0.5) = 2.052 * 0.7071 = 1.451 > |R_A - R_B| = 0.75
    assert p3.loc["A", "C"] < 0.1 < p3.loc["A", "B"]


# ------------------------------------------------------------------------------------------------
# Bayesian signed-rank test (bench.stats_tests)


def test_bayesian_signed_rank_better_equivalent_and_seeded():
    from bench.stats_tests import bayesian_signed_rank

    rng = np.random.default_rng(0)
    ref = rng.uniform(0.5, 0.9, 12)
    cfg = pd.DataFrame({
        "R": ref,
        "Worse": ref - 0.05 - rng.uniform(0, 0.02, 12),   # 0.05-0.07 below R: far outside the rope
        "Same": ref + rng.uniform(-0.004, 0.004, 12),      # within +-0.004 of R: inside rope 0.01
        "Better": ref + 0.05,
        "Missing": [NAN] * 12,
    })
    out = bayesian_signed_rank(cfg, "R", nsamples=5000)
    assert list(out.columns) == ["sampler", "p_reference_better", "p_equivalent", "p_sampler_better",
                                 "n_pairs"]
    b = out.set_index("sampler")
    assert list(b.index) == ["Worse", "Same", "Better", "Missing"]
    assert b.loc["Worse", "p_reference_better"] > 0.95
    assert b.loc["Same", "p_equivalent"] > 0.95
    assert b.loc["Better", "p_sampler_better"] > 0.95
    probs = b[["p_reference_better", "p_equivalent", "p_sampler_better"]]
    assert probs.loc[["Worse", "Same", "Better"]].sum(axis=1).tolist() == pytest.approx([1, 1, 1])
    assert b.loc["Worse", "n_pairs"] == 12 and b.loc["Missing", "n_pairs"] == 0
    assert probs.loc["Missing"].isna().all()
    # deterministic under the seed, and independent of the other samplers
    assert bayesian_signed_rank(cfg, "R", nsamples=5000).equals(out)
    alone = bayesian_signed_rank(cfg[["R", "Same"]], "R", nsamples=5000).set_index("sampler")
    assert alone.loc["Same"].equals(b.loc["Same"])
    with pytest.raises(ValueError, match="reference"):
        bayesian_signed_rank(cfg, "AutoSMOTE")
