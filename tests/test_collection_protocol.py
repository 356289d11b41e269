"""The protocol at the data's own imbalance (issue 28): the holdout split (per seed a stratified 60/20/20
train/validation/test split, no under-sampling, preprocessing fitted on the training part, every sampler tuned on
validation), its skipped rows for data too small for it, Table 2 on it and why Table 2 does not rank a stratified
store; and a collection's analysis over datasets - Friedman / Nemenyi with each dataset one block, the table of
where the reference wins and loses by dataset property, Holm's correction and the Bayesian test on many datasets."""
from __future__ import annotations

import io
import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2, studentized_range
from test_publish import _row
from typer.testing import CliRunner

from bench import analysis, stats
from bench.analysis import tables
from bench.cli import app
from bench.data import DataCatalog, DataError
from bench.data.errors import TooSmallToSplit
from bench.data.split_protocol import SplitKind, holdout_sizes, holdout_split
from bench.protocol import split_spec
from bench.stats_tests import dataset_block

HOLDOUT = {"kind": "holdout", "impute": "zero", "leak": False}
STRATIFIED = {"kind": "stratified", "impute": "zero", "test_size": 0.2}


def bench(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _frame_xy(counts: dict[str, int], seed: int = 0):
    """Rows of each class, one numeric feature holding the row's number and a categorical one."""
    y = np.concatenate([[label] * n for label, n in counts.items()])
    rng = np.random.RandomState(seed)
    X = pd.DataFrame({"row": np.arange(len(y), dtype=float), "noise": rng.randn(len(y)),
                      "colour": pd.Categorical(np.where(rng.rand(len(y)) < 0.5, "red", "blue"))})
    return X, y


# ------------------------------------------------------------------------------------------ the holdout split
@pytest.mark.parametrize("counts", [{"neg": 900, "pos": 100}, {"a": 350, "b": 97, "c": 20}, {"neg": 509, "pos": 5}])
def test_the_holdout_split_has_the_papers_shares_at_the_datas_own_imbalance(counts):
    X, y = _frame_xy(counts)
    minority = min(counts, key=counts.get) if len(counts) == 2 else None
    split = holdout_split(X, y, minority=minority, seed=3)
    n = len(y)
    parts = (split.y_train, split.y_val, split.y_test)
    assert tuple(len(p) for p in parts) == holdout_sizes(n)
    train, val, test = holdout_sizes(n)
    # each held-out part rounded up: at most a row or two from the exact shares
    assert abs(train - 0.6 * n) < 2 and abs(val - 0.2 * n) < 1 and abs(test - 0.2 * n) < 2
    # no under-sampling: every row is in one part; stratified: each class in each part at its share, two rows or
    # less off (two roundings)
    labels = sorted(counts)
    total = np.bincount(np.concatenate(parts), minlength=len(labels))
    assert sorted(total.tolist()) == sorted(counts.values())
    for part, share in zip(parts, (0.6, 0.2, 0.2)):
        per_class = np.bincount(part, minlength=len(total))
        assert (per_class >= 1).all()
        assert np.all(np.abs(per_class - share * total) < 2), (per_class, share * total)


def test_the_holdout_split_is_a_function_of_the_seed():
    X, y = _frame_xy({"neg": 300, "pos": 40})
    one, again, other = (holdout_split(X, y, minority="pos", seed=s) for s in (1, 1, 2))
    assert np.array_equal(one.X_test, again.X_test) and np.array_equal(one.y_val, again.y_val)
    assert not np.array_equal(one.X_test, other.X_test)


def test_the_preprocessing_is_fitted_on_the_training_rows_and_never_sees_the_others():
    X, y = _frame_xy({"neg": 400, "pos": 60})
    split = holdout_split(X, y, minority="pos", seed=5)
    column = split.feature_names.index("row")
    train = split.X_train[:, column]
    assert train.mean() == pytest.approx(0, abs=1e-12) and train.std() == pytest.approx(1)   # scaled on them
    # the scaled row numbers are increasing in the raw ones: their order over all parts recovers each row's number
    scaled = np.concatenate([split.X_train[:, column], split.X_val[:, column], split.X_test[:, column]])
    raw = np.empty(len(scaled))
    raw[np.argsort(scaled)] = np.arange(len(scaled))
    held_out = raw[len(train):].astype(int)                      # the validation and test rows' numbers
    changed = X.copy()
    changed.loc[held_out, "row"] = 1e9                           # wild values there ...
    changed.loc[held_out, "noise"] = -1e9
    again = holdout_split(changed, y, minority="pos", seed=5)
    assert np.array_equal(again.X_train, split.X_train)          # ... change nothing the training part gets
    leaked = holdout_split(X, y, minority="pos", seed=5, leak=True)   # the authors' code: fitted on all rows
    assert leaked.X_train[:, column].mean() != pytest.approx(0, abs=1e-3)


def test_data_too_small_for_the_holdout_split_says_why():
    X, y = _frame_xy({"neg": 200, "pos": 4})
    with pytest.raises(TooSmallToSplit, match="has 4 rows of class 'pos'.*at least 5") as err:
        holdout_split(X, y, minority="pos", seed=1, name="tiny")
    assert isinstance(err.value, DataError) and "\n" not in str(err.value)
    holdout_split(*_frame_xy({"neg": 200, "pos": 5}), minority="pos", seed=1)   # five rows are enough


def test_existing_split_specs_keep_their_keys_and_the_holdout_split_has_its_own():
    assert split_spec("ir", "zero", False, 0.2) == '{"impute": "zero", "kind": "ir", "leak": false}'
    assert split_spec("stratified", "zero", False, 0.2) == '{"impute": "zero", "kind": "stratified", "test_size": 0.2}'
    assert split_spec(SplitKind.HOLDOUT, "zero", False, 0.2) == '{"impute": "zero", "kind": "holdout", "leak": false}'


# ------------------------------------------------------------------------------------------ end to end
def _csv(path: Path, counts: dict[str, int], seed: int = 0) -> Path:
    rng = np.random.RandomState(seed)
    labels = np.concatenate([[c] * n for c, n in counts.items()])
    shift = {c: i for i, c in enumerate(counts)}
    frame = pd.DataFrame(rng.randn(len(labels), 3) + np.array([shift[c] for c in labels])[:, None] * 0.8,
                         columns=["a", "b", "c"])
    frame["class"] = labels
    frame.to_csv(path, index=False)
    return path


def _store_rows(results: Path) -> pd.DataFrame:
    from bench.store import ResultStore
    store = ResultStore(results, readonly=True)
    try:
        return store.frame()
    finally:
        store.close()


def test_a_holdout_run_tunes_on_validation_and_skips_data_too_small_for_it(toy_env):
    data = toy_env / "data"
    DataCatalog(data).import_files([_csv(toy_env / "three.csv", {"x": 150, "y": 60, "z": 30}),
                                    _csv(toy_env / "tiny.csv", {"neg": 60, "pos": 4}),
                                    _csv(toy_env / "few.csv", {"neg": 80, "pos": 6})])
    results = toy_env / "holdout"
    run = bench("run", "--datasets", "three,tiny,few", "--split", "holdout", "--samplers",
                "No-resampling,SMOTE,RandomOverSampler", "--classifiers", "DT", "--seeds", "1,2",
                "--ratios", "0.6,0.8,1.0", "--results", results, "--workers", "1")
    assert run.exit_code == 0, run.output
    rows = _store_rows(results)
    assert set(rows["ir"]) == {0}
    assert {json.loads(s)["split"]["kind"] for s in rows["spec"]} == {"holdout"}
    # too small for the split: every sampler's runs there skipped, with the reason
    tiny = rows[rows["dataset"] == "tiny"]
    assert set(tiny["status"]) == {"skipped"} and len(tiny) == 2 * (1 + 3 + 3)
    assert tiny["message"].str.startswith("too small for the holdout split: tiny has 4 rows of class 'pos'").all()
    # few: 6 minority rows, 4 of them in the training part: SMOTE's 5 neighbours do not fit, the others run
    few = rows[rows["dataset"] == "few"]
    assert set(few.loc[few["sampler"] == "SMOTE", "status"]) == {"skipped"}
    assert few.loc[few["sampler"] == "SMOTE", "message"].str.contains("needs more than 5 rows").all()
    assert set(few.loc[few["sampler"] != "SMOTE", "status"]) == {"ok"}
    # tuned on validation: every ok row has validation scores, and the ratio Table 2 takes is the best there
    ok = rows[rows["status"] == "ok"]
    assert ok["val_macro_f1"].notna().all() and ok["test_macro_f1"].notna().all()
    three = ok[(ok["dataset"] == "three") & (ok["sampler"] == "SMOTE")]
    best = stats.select_best(three, "macro_f1")
    for seed, group in three.groupby("seed"):
        winner = group.sort_values(["val_macro_f1", "params"], ascending=[False, True], kind="mergesort").iloc[0]
        assert best.set_index("seed").at[seed, "score"] == winner["test_macro_f1"]
    # Table 2 ranks every sampler on the 3-class data, and says what IR 0 is and why `tiny` has no ranks
    table = bench("table", "--results", results, "--table", "2", "--format", "csv")
    assert table.exit_code == 0, table.output
    ranks = pd.read_csv(io.StringIO(table.stdout)).set_index("sampler")
    assert ranks["three"].notna().all() and ranks["tiny"].isna().all()
    text = bench("table", "--results", results, "--table", "2").stdout
    assert "IR 0: the holdout split" in text
    assert "1 dataset(s) too small for the holdout split, every sampler's runs there: tiny has 4 rows" in text


def test_a_stratified_store_is_not_ranked_by_table_2_and_the_tables_say_why_and_what_to_run(toy_env):
    DataCatalog(toy_env / "data").import_files([_csv(toy_env / "three.csv", {"x": 150, "y": 60, "z": 30})])
    results = toy_env / "stratified"
    run = bench("run", "--datasets", "three", "--split", "stratified", "--samplers", "No-resampling,SMOTE",
                "--classifiers", "DT", "--seeds", "1", "--ratios", "0.5,1.0", "--results", results, "--workers", "1")
    assert run.exit_code == 0, run.output
    table2 = bench("table", "--results", results, "--table", "2")
    assert table2.exit_code == 2 and len(table2.output.strip().splitlines()) == 1
    assert "no rows of a split with a validation part" in table2.output and "--split holdout" in table2.output
    gumbel = bench("table", "--results", results, "--table", "gumbel").stdout
    assert "| SMOTE | — |" in gumbel
    assert ("— for SMOTE (2 parameter sets): no validation part to tune on" in gumbel and "--ratios 1.0" in gumbel
            and "--split holdout" in gumbel)
    # one parameter set per sampler: ranked, and no such note
    single = bench("run", "--datasets", "three", "--split", "stratified", "--samplers", "No-resampling,SMOTE",
                   "--classifiers", "DT", "--seeds", "1", "--ratios", "1.0", "--results", toy_env / "single",
                   "--workers", "1")
    assert single.exit_code == 0, single.output
    ranked = bench("table", "--results", toy_env / "single", "--table", "gumbel").stdout
    assert "| SMOTE | — |" not in ranked and "no validation part" not in ranked


# ------------------------------------------------------------------------------------------ over datasets
def _holdout(row: dict) -> dict:
    spec = json.loads(row["spec"])
    spec["split"] = HOLDOUT
    row["spec"] = row["key"] = json.dumps(spec, sort_keys=True)
    return row


def _collection(scores: dict[str, dict[str, tuple[float, ...]]], seeds=(1,)) -> pd.DataFrame:
    """Holdout rows: scores[dataset][sampler] = one test (and validation) score per classifier, every seed."""
    rows = []
    for dataset, by_sampler in scores.items():
        for sampler, per_classifier in by_sampler.items():
            for classifier, score in zip(("SVM", "DT", "KNN", "AdaBoost"), per_classifier):
                for seed in seeds:
                    metrics = ("macro_f1", "mcc") if sampler == "AutoSMOTE" else (None,)
                    for metric in metrics:
                        rows.append(_holdout(_row(dataset, 0, seed, sampler, classifier, score=score,
                                                  tune_metric=metric, status="ok" if not math.isnan(score)
                                                  else "skipped")))
    return pd.DataFrame(rows)


class Catalog:
    """The records a property table reads: rows, class counts, encoded features."""

    def __init__(self, records: dict[str, tuple[int, int, int]]):   # name -> (rows, minority rows, features)
        self.records = {name: SimpleNamespace(name=name, n_rows=n, class_counts={"neg": n - m, "pos": m},
                                              n_features_encoded=f) for name, (n, m, f) in records.items()}
        self.root = Path("/nowhere")

    def get(self, name):
        if name not in self.records:
            raise DataError(f"unknown dataset {name}")
        return self.records[name]


def _ctx(frame, catalog=None, **options):
    return analysis.Context(frame, analysis.Options(**options), catalog)


def test_friedman_and_nemenyi_over_datasets_against_a_hand_computed_case():
    # four datasets, three samplers; per dataset (the mean over the two classifiers) A > B > C everywhere, though on
    # one classifier of each dataset C beats B: the blocks are the datasets, not the eight configurations
    scores = {f"d{i}": {"A": (0.9, 0.8), "B": (0.5, 0.7), "C": (0.55, 0.4)} for i in range(4)}
    frame = pd.concat([_collection({d: {"No-resampling": s["A"], "SMOTE": s["B"], "AutoSMOTE": s["C"]}})
                       for d, s in scores.items()])
    ctx = _ctx(frame)
    data = pd.read_csv(io.StringIO(analysis.text(ctx, "cd-datasets", "macro_f1", "csv"))).set_index("sampler")
    # mean ranks 1, 2, 3 over N = 4 blocks, k = 3: chi2_F = 12 N / (k (k+1)) * (sum R^2 - k (k+1)^2 / 4) = 8
    assert data["rank_over_datasets"].to_dict() == {"No-resampling": 1.0, "SMOTE": 2.0, "AutoSMOTE": 3.0}
    assert (data["n_datasets"] == 4).all()
    assert data["friedman_chi2"].iloc[0] == pytest.approx(8.0)
    assert data["friedman_p"].iloc[0] == pytest.approx(math.exp(-4.0))                 # chi2 with 2 df: e^(-x/2)
    assert data["friedman_p"].iloc[0] == pytest.approx(chi2.sf(8.0, 2))
    q = studentized_range.ppf(0.95, 3, np.inf) / math.sqrt(2)                            # Demsar's q_0.05, k = 3
    assert q == pytest.approx(2.343, abs=1e-3)
    assert data["cd"].iloc[0] == pytest.approx(q * math.sqrt(3 * 4 / (6 * 4)))          # 1.657
    # Nemenyi against the reference: |R_i - R_j| / sqrt(k (k+1) / (6 N)) * sqrt(2) on the studentized range
    se = math.sqrt(3 * 4 / (6 * 4))
    for sampler, rank in (("No-resampling", 1.0), ("SMOTE", 2.0)):
        expected = studentized_range.sf(abs(3.0 - rank) / se * math.sqrt(2), 3, np.inf)
        assert data.at[sampler, "nemenyi_p_vs_AutoSMOTE"] == pytest.approx(expected, rel=1e-3)
    assert data.at["AutoSMOTE", "nemenyi_p_vs_AutoSMOTE"] == pytest.approx(1.0)
    summary = ctx.builds[("cd-datasets", "macro_f1")].summary[0]
    assert summary.startswith("Macro-F1: Friedman test over 4 datasets and 3 samplers: chi2(2) = 8.000")
    # the diagram over configurations stays what it was: eight blocks
    assert ctx.builds.get(("cd", "macro_f1")) is None
    configurations = pd.read_csv(io.StringIO(analysis.text(ctx, "cd", "macro_f1", "csv")))
    assert (configurations["n_configurations"] == 8).all()


def test_the_blocks_over_datasets_leave_out_a_rare_sampler_then_the_incomplete_datasets():
    scores = pd.DataFrame({"A": [0.9, 0.8, 0.7, 0.6], "B": [0.5, np.nan, 0.4, 0.3], "C": [np.nan, np.nan, np.nan, 0.1]},
                          index=pd.Index(["d0", "d1", "d2", "d3"], name="dataset"))
    block = dataset_block(scores)
    assert list(block.scores.columns) == ["A", "B"] and list(block.scores.index) == ["d0", "d2", "d3"]
    assert block.left_out_samplers == {"C": 3} and block.left_out_datasets == {"d1": ["B"]}
    cfg = pd.DataFrame({"A": [0.9, 0.7, 0.5], "B": [0.1, np.nan, 0.3]},
                       index=pd.MultiIndex.from_tuples([("d0", "SVM", 0), ("d0", "DT", 0), ("d1", "SVM", 0)],
                                                       names=stats.CONFIG_KEYS))
    means = stats.dataset_scores(cfg)
    assert means.loc["d0", "A"] == pytest.approx(0.8) and np.isnan(means.loc["d0", "B"])   # a missing one: missing
    assert means.loc["d1", "B"] == pytest.approx(0.3)


def test_the_property_table_tells_where_the_reference_wins_and_loses():
    # six datasets; AutoSMOTE is best on the three small ones and last on the three large ones; SMOTE is the best
    # other sampler overall; one dataset ties AutoSMOTE with SMOTE
    good, bad = {"AutoSMOTE": (0.9, 0.9), "SMOTE": (0.8, 0.8), "No-resampling": (0.7, 0.7)}, \
        {"AutoSMOTE": (0.5, 0.5), "SMOTE": (0.8, 0.8), "No-resampling": (0.7, 0.7)}
    tie = {"AutoSMOTE": (0.8, 0.8), "SMOTE": (0.8, 0.8), "No-resampling": (0.6, 0.6)}
    frame = _collection({"s1": good, "s2": good, "s3": tie, "l1": bad, "l2": bad, "l3": bad})
    # (rows, minority rows, encoded features): small = 100 rows (60 training rows), large = 2000 rows (1200)
    catalog = Catalog({"s1": (100, 10, 5), "s2": (100, 30, 5), "s3": (100, 30, 5),
                       "l1": (2000, 200, 30), "l2": (2000, 200, 30), "l3": (2000, 40, 30)})
    ctx = _ctx(frame, catalog)
    table = pd.read_csv(io.StringIO(analysis.text(ctx, "properties", "macro_f1", "csv")))
    table = table.fillna({"bin": ""}).set_index(["property", "bin"])
    ref_rank, other_rank = "AutoSMOTE avg. rank", "best other's avg. rank"
    everything = table.loc[("all datasets", "")]
    assert everything["datasets"] == 6 and (everything["win"], everything["tie"], everything["loss"]) == (2, 1, 3)
    # ranks per dataset: small 1, 1, 1.5 (the tie); large 3, 3, 3
    assert everything[ref_rank] == pytest.approx((1 + 1 + 1.5 + 3 * 3) / 6, abs=0.005)   # the CSV's 2 decimals
    small, large = table.loc[("training rows", "< 200")], table.loc[("training rows", ">= 1000")]
    assert (small["datasets"], small["win"], small["tie"], small["loss"]) == (3, 2, 1, 0)
    assert small[ref_rank] == pytest.approx(3.5 / 3, abs=0.005)          # 1, 1, 1.5
    assert small[other_rank] == pytest.approx(5.5 / 3, abs=0.005)        # SMOTE: 2, 2, 1.5
    assert (large["datasets"], large["win"], large["loss"], large[ref_rank]) == (3, 0, 3, 3.0)
    assert ("training rows", "200-499") not in table.index            # empty bins are left out
    # imbalance ratio: s1 9.0 (90/10) is in 9-30; s2, s3 2.33 in 1-3; l1, l2 9.0; l3 49.0 in >= 30
    assert table.loc[("imbalance ratio", "1-3"), "datasets"] == 2
    assert table.loc[("imbalance ratio", "9-30"), ["datasets", "win", "loss"]].tolist() == [3, 1, 2]
    assert table.loc[("imbalance ratio", ">= 30"), ["datasets", "loss"]].tolist() == [1, 1]
    assert table.loc[("minority rows", "< 20"), ["datasets", "win"]].tolist() == [1, 1]
    assert table.loc[("minority rows", "20-49"), ["datasets", "win", "tie", "loss"]].tolist() == [3, 1, 1, 1]
    assert table.loc[("features", "< 8"), "win"] == 2 and table.loc[("features", ">= 20"), "loss"] == 3
    notes = ctx.builds[("properties", "macro_f1")].notes[0]
    assert "Best other sampler: SMOTE" in notes
    # it needs the registry's records, and a collection (holdout) store
    assert "no dataset catalogue" in analysis.artefact("properties").applies(_ctx(frame))
    ir_rows = pd.DataFrame([_row("s1", 20, 1, s, "SVM", score=0.5) for s in ("SMOTE", "AutoSMOTE")])
    assert "no rows of the holdout split" in analysis.artefact("properties").applies(_ctx(ir_rows, catalog))


def test_a_collection_store_gets_holm_and_the_paper_protocol_keeps_the_papers_marks():
    scores = {f"d{i}": {"AutoSMOTE": (0.9, 0.9), "SMOTE": (0.8, 0.7), "No-resampling": (0.6, 0.5)} for i in range(3)}
    holdout = _ctx(_collection(scores))
    assert holdout.options.correction == "holm"
    assert "Holm-adjusted" in analysis.text(holdout, "2", "macro_f1", "markdown")
    assert "Holm-adjusted" not in analysis.text(_ctx(_collection(scores), correction="none"), "2", "macro_f1",
                                                 "markdown")
    ir_rows = pd.DataFrame([_row(d, 20, 1, s, c, score=v)
                            for d in ("a", "b") for s, v in (("SMOTE", 0.5), ("No-resampling", 0.4))
                            for c in ("SVM", "DT")])
    assert _ctx(ir_rows).options.correction == "none"
    assert analysis.Options().correction == "auto" and analysis.Options().wilcoxon.correction == "none"


def test_a_store_of_many_datasets_renders_every_collection_artefact(monkeypatch):
    monkeypatch.setattr(tables, "BAYES_SAMPLES", 2000)
    rng = np.random.RandomState(0)
    quality = {"AutoSMOTE": 0.74, "SMOTE": 0.72, "RandomOverSampler": 0.71, "No-resampling": 0.65}
    scores = {f"keel:d{i:03d}": {s: tuple(q + rng.uniform(-0.1, 0.1, 4)) for s, q in quality.items()}
              for i in range(120)}
    frame = _collection(scores, seeds=(1, 2))
    catalog = Catalog({d: (100 + 50 * i, 10 + i, 3 + i % 30) for i, d in enumerate(scores)})
    ctx = _ctx(frame, catalog)
    table2 = analysis.text(ctx, "2", "mcc", "markdown")
    assert "Holm-adjusted" in table2 and "480 configurations in 'overall'" in table2
    bayes = pd.read_csv(io.StringIO(analysis.text(ctx, "bayes", "mcc", "csv"))).set_index("sampler")
    assert (bayes["pairs"] == 120).all() and bayes.loc["No-resampling", "P(AutoSMOTE better)"] > 0.9   # datasets
    cd = pd.read_csv(io.StringIO(analysis.text(ctx, "cd-datasets", "mcc", "csv")))
    assert (cd["n_datasets"] == 120).all() and cd["friedman_p"].iloc[0] < 0.05
    properties = analysis.text(ctx, "properties", "mcc", "markdown")
    assert "| all datasets |  | 120 |" in properties
    for key in ("2", "bayes", "properties"):
        assert "\\end{table}" in analysis.text(ctx, key, "mcc", "latex")
    drawn = analysis.artefact("cd-datasets").render(ctx, "mcc", "png")
    assert drawn[:4] == b"\x89PNG"


def test_holm_is_statsmodels_holm():
    from statsmodels.stats.multitest import multipletests
    rng = np.random.RandomState(1)
    for m in (1, 2, 5, 24, 85):
        p = np.round(rng.uniform(0, 0.2, m) ** 2, 3)        # rounded: ties too
        assert stats.holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-15)
    p = np.array([0.02, np.nan, 0.01, 0.5])
    assert stats.holm(p)[[0, 2, 3]] == pytest.approx(multipletests(p[[0, 2, 3]], method="holm")[1])


def _cannot_run_collection() -> pd.DataFrame:
    """Two datasets, two classifiers; ADASYN fails at both ratios on d0 (as imbalanced-learn's ADASYN where no
    minority row has a majority neighbour) and at one of its two ratios on d1."""
    scores = {"d0": {"No-resampling": (0.6, 0.6), "SMOTE": (0.8, 0.7), "AutoSMOTE": (0.9, 0.5)},
              "d1": {"No-resampling": (0.5, 0.5), "SMOTE": (0.6, 0.6), "AutoSMOTE": (0.7, 0.7)}}
    rows = [_collection(scores)]
    adasyn = []
    for classifier in ("SVM", "DT"):
        for ratio in (0.5, 1.0):
            adasyn.append(_holdout(_row("d0", 0, 1, "ADASYN", classifier, score=np.nan, params={"ratio": ratio},
                                        status="error")))
        adasyn.append(_holdout(_row("d1", 0, 1, "ADASYN", classifier, score=np.nan, params={"ratio": 0.5},
                                    status="error")))
        adasyn.append(_holdout(_row("d1", 0, 1, "ADASYN", classifier, score=0.55, params={"ratio": 1.0})))
    return pd.concat([*rows, pd.DataFrame(adasyn)], ignore_index=True)


def _overall_ranks(ctx) -> pd.Series:
    table = pd.read_csv(io.StringIO(analysis.text(ctx, "2", "macro_f1", "csv")))
    return table.set_index("sampler")["overall"]


def test_a_sampler_that_cannot_run_on_a_collections_dataset_is_ranked_as_its_input_and_the_table_says_so():
    frame = _cannot_run_collection()
    ctx = _ctx(frame)
    assert ctx.options.failed == "input"                      # auto, on a store of the holdout split
    # per configuration (higher is better, ties share the mean rank), ADASYN scoring No-resampling's 0.6 on d0:
    # d0/SVM: AutoSMOTE 1, SMOTE 2, No-resampling and ADASYN 3.5; d0/DT: SMOTE 1, the two 2.5, AutoSMOTE 4;
    # d1 (both): AutoSMOTE 1, SMOTE 2, ADASYN 3 (its ratio that ran), No-resampling 4
    ranks = _overall_ranks(ctx)
    assert ranks["ADASYN"] == pytest.approx((3.5 + 2.5 + 3 + 3) / 4)
    assert ranks["No-resampling"] == pytest.approx((3.5 + 2.5 + 4 + 4) / 4)
    assert ranks["AutoSMOTE"] == pytest.approx((1 + 4 + 1 + 1) / 4)
    notes = " ".join(str(n) for n in ctx.builds[("2", "macro_f1")].notes)
    assert "Scored as its input (No-resampling's score)" in notes
    assert "ADASYN in 2 configuration(s) on d0 (error: ValueError: boom)" in notes
    # missing instead: ADASYN is not ranked over all, and the table says why
    missing = _ctx(frame, failed="missing")
    assert math.isnan(_overall_ranks(missing)["ADASYN"])
    assert "Incomplete configurations per sampler: ADASYN (2 of 4)" in analysis.text(missing, "2", "macro_f1",
                                                                                     "markdown")
    # the paper's IR protocol keeps the paper's rule: a sampler is missing where it failed
    ir_rows = pd.DataFrame([_row("a", 20, 1, "No-resampling", "SVM", score=0.5),
                            _row("a", 20, 1, "ADASYN", "SVM", score=np.nan, status="error")])
    assert _ctx(ir_rows).options.failed == "missing"
    assert analysis.Options().failed == "auto"


def test_scoring_as_input_replaces_only_configurations_where_the_sampler_never_ran():
    frame = _cannot_run_collection()
    timed_out = _holdout(_row("d0", 0, 1, "SMOTE", "KNN", score=np.nan, params={"ratio": 1.0}, status="timeout"))
    errored = _holdout(_row("d0", 0, 1, "SMOTE", "KNN", score=np.nan, params={"ratio": 0.5}, status="error"))
    frame = pd.concat([frame, pd.DataFrame([timed_out, errored])], ignore_index=True)
    out = analysis.context.scored_as_input(frame, frame)
    adasyn = out[out["sampler"] == "ADASYN"]
    on_d0 = adasyn[adasyn["dataset"] == "d0"]
    assert len(on_d0) == 2 and (on_d0["status"] == "no-op").all()          # one row per classifier, not per ratio
    assert on_d0["message"].str.startswith("could not run, scored as its input (error: ValueError").all()
    inputs = frame[(frame["sampler"] == "No-resampling") & (frame["dataset"] == "d0")].set_index("classifier")
    assert on_d0.set_index("classifier")["test_macro_f1"].to_dict() == inputs["test_macro_f1"].to_dict()
    assert set(on_d0["key"]) <= set(frame.loc[frame["sampler"] == "ADASYN", "key"])   # its own identity
    # d1, where one ratio ran: as stored; SMOTE on KNN, where one ratio timed out: as stored (no input to score, and
    # a timeout is no refusal); the order of the rows is kept
    pd.testing.assert_frame_equal(adasyn[adasyn["dataset"] == "d1"], frame[(frame["sampler"] == "ADASYN")
                                                                              & (frame["dataset"] == "d1")])
    assert out.index.is_monotonic_increasing and len(out) == len(frame) - 2
    assert (out["classifier"] == "KNN").sum() == 2


def test_a_search_that_failed_for_one_metric_is_scored_as_its_input_for_that_metric_only():
    frame = _cannot_run_collection()
    per_metric = (frame["sampler"] == "AutoSMOTE") & (frame["dataset"] == "d0") & (frame["tune_metric"] == "macro_f1")
    frame.loc[per_metric, "status"] = "error"
    frame.loc[per_metric, "message"] = "RuntimeError: the search failed"
    out = analysis.context.scored_as_input(frame, frame)
    autosmote = out[(out["sampler"] == "AutoSMOTE") & (out["dataset"] == "d0")].set_index(["classifier", "tune_metric"])
    assert autosmote["status"].to_dict() == {("SVM", "macro_f1"): "no-op", ("SVM", "mcc"): "ok",
                                             ("DT", "macro_f1"): "no-op", ("DT", "mcc"): "ok"}
    best = {m: stats.select_best(out[out["dataset"] == "d0"], m).set_index(["sampler", "classifier"])["score"]
            for m in ("macro_f1", "mcc")}
    assert best["macro_f1"][("AutoSMOTE", "SVM")] == best["macro_f1"][("No-resampling", "SVM")] == 0.6
    assert best["mcc"][("AutoSMOTE", "SVM")] == 0.9 and best["mcc"][("AutoSMOTE", "DT")] == 0.5   # its own search
