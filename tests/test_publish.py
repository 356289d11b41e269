"""`bench report` (bench.analysis.write) on a small synthetic store frame: files, index links, the paper
comparison, and the row selection of each artefact."""
from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest

from types import SimpleNamespace

from bench import analysis, environment
from bench.analysis.comparison import _comparison_text, paper_comparison
from bench.analysis.figures import hyperparameter_scores
from bench.data import DataError
from bench.metrics import METRICS

QUALITY = {"AutoSMOTE": 0.9, "SMOTE": 0.8, "No-resampling": 0.7}   # the order every configuration keeps


def _row(dataset, ir, seed, sampler, classifier, *, score, params=None, tune_metric=None, status="ok",
         extra=None, split=None):
    params = params or {}
    spec = {"dataset": dataset, "ir": ir, "seed": seed, "sampler": sampler, "params": params,
            "classifier": classifier, "tune_metric": tune_metric, "version": "test",
            "split": split or {"kind": "ir", "impute": "zero", "leak": False}}
    row = {"key": json.dumps(spec, sort_keys=True), "dataset": dataset, "ir": ir, "seed": seed, "sampler": sampler,
           "params": json.dumps(params, sort_keys=True), "classifier": classifier, "tune_metric": tune_metric,
           "status": status, "message": "" if status == "ok" else "ValueError: boom", "resample_s": 0.1,
           "fit_s": 0.2, "n_train": 100, "n_minority": 10, "extra": json.dumps(extra or {}),
           "spec": json.dumps(spec, sort_keys=True), "finished_at": 0.0}
    for split_name in ("val", "test"):
        for metric in METRICS:
            row[f"{split_name}_{metric}"] = np.nan if status != "ok" or (split_name == "val" and split) else score
    return row


def _frame(extra_rows=()):
    """2 datasets x 2 classifiers x 2 IRs x 2 seeds; SMOTE tuned over two ratios, AutoSMOTE per metric."""
    rng = np.random.RandomState(0)
    rows = []
    for dataset in ("mozilla4", "phoneme"):
        for ir in (20, 50):
            for seed in (1, 2):
                for classifier in ("SVM", "DT"):
                    def noisy(sampler):
                        return QUALITY[sampler] + rng.uniform(0, 0.04)
                    rows.append(_row(dataset, ir, seed, "No-resampling", classifier, score=noisy("No-resampling")))
                    for ratio in (0.5, 1.0):
                        rows.append(_row(dataset, ir, seed, "SMOTE", classifier, score=noisy("SMOTE") - ratio / 10,
                                         params={"ratio": ratio}))
                    for metric in ("macro_f1", "mcc"):
                        rows.append(_row(dataset, ir, seed, "AutoSMOTE", classifier, score=noisy("AutoSMOTE"),
                                         tune_metric=metric, extra={"curve": [0.5, 0.7, 0.8]}))
    return pd.DataFrame(rows + list(extra_rows))


def _variants(sampler, params, quality):
    """Rows of an AutoSMOTE variant on mozilla4 at every IR, seed and classifier, both tuning metrics."""
    return [_row("mozilla4", ir, seed, sampler, classifier, score=quality, params=params, tune_metric=metric,
                 extra={"curve": [0.4, 0.6]})
            for ir in (20, 50) for seed in (1, 2) for classifier in ("SVM", "DT") for metric in ("macro_f1", "mcc")]


def _paper_tables(tmp_path):
    """A fake paper Table 2: AutoSMOTE 1, No-resampling 2, SMOTE 3 on both datasets; printed overall
    deliberately wrong for SMOTE / No-resampling, TVAE absent from our runs."""
    ranks = {"AutoSMOTE": (1, 1, 1), "No-resampling": (2, 2, 3), "SMOTE": (3, 3, 2), "TVAE": (4, 4, 4)}
    rows = [{"category": "x", "sampler": s, "dataset": d, "macro_f1_rank": r[i], "macro_f1_autosmote_better": 0,
             "mcc_rank": r[i], "mcc_autosmote_better": 0}
            for s, r in ranks.items() for i, d in enumerate(["mozilla4", "phoneme", "overall"])]
    folder = tmp_path / "paper"
    folder.mkdir()
    pd.DataFrame(rows).to_csv(folder / "table2.csv", index=False)
    return folder


ENVIRONMENT = {**environment.describe(), "cpu": {"model": "Test CPU 9000"}}


def _provenance(frame):
    """The store's account of the frame: one finished invocation, one environment, as the store gives them."""
    invocations = pd.DataFrame([{"id": 1, "command": "bench run --profile t", "settings":
                                 json.dumps({"run": {"profile": "t", "seeds": [1, 2]}, "data": {"dir": "/data"}}),
                                 "started_at": 0.0, "ended_at": 60.0, "status": "finished", "message": "",
                                 "rows": len(frame)}])
    environments = pd.DataFrame([{"id": "e1", "description": ENVIRONMENT, "first_seen": 0.0, "rows": len(frame)}])
    return {"invocations": invocations, "environments": environments}


def _write(frame, out, *, catalog=None, **options):
    frame = frame.assign(environment="e1")
    return analysis.write(analysis.Context(frame, analysis.Options(**options), catalog), out, **_provenance(frame))


def test_write_report_writes_tables_figures_and_an_index_that_links_each(tmp_path):
    out = tmp_path / "report"
    paths = _write(_frame(), out, paper_tables=_paper_tables(tmp_path))
    names = {p.name for p in paths}
    for metric in ("macro_f1", "mcc"):
        assert {f"table2_{metric}.{s}" for s in ("md", "tex", "csv")} <= names
        assert {f"fig4_ranks_{metric}.png", f"cd_{metric}.png", f"paper_comparison_{metric}.csv"} <= names
    assert {"paper_comparison.md", "failures.csv", "index.md"} <= names
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    index = (out / "index.md").read_text()
    for p in paths[:-1]:
        assert f"]({p.name})" in index
    assert "| 1 | `bench run --profile t` | finished | 80 | 1970-01-01 00:00 | 60 s | /data |" in index
    assert '"seeds": [1, 2]' in index
    assert "computed in 1 environment." in index and "Test CPU 9000" in index
    assert "No failed runs among 80." in index


def test_table2_marks_the_samplers_the_reference_beats(tmp_path):
    _write(_frame(), tmp_path)
    table = pd.read_csv(tmp_path / "table2_macro_f1.csv").set_index("sampler")
    assert table["overall"].to_dict() == {"No-resampling": 3.0, "SMOTE": 2.0, "AutoSMOTE": 1.0}
    assert table.loc[["No-resampling", "SMOTE"], "overall_better"].tolist() == [1, 1]
    assert "▲" in (tmp_path / "table2_macro_f1.md").read_text()


def test_missing_pieces_are_reported_as_not_produced(tmp_path):
    _write(_frame(), tmp_path)
    index = (tmp_path / "index.md").read_text()
    assert "not produced: no dataset catalogue to read the datasets' statistics from" in index
    assert 'not produced: no rows with split kind "stratified"' in index
    assert "not produced: no smote-variants rows (run `bench run --samplers smote_variants`)" in index
    assert "not produced: no AutoSMOTE[ablation=...] rows" in index
    assert "not produced: no paper tables were passed" in index
    assert "not produced: no toy data was passed" in index
    assert not list(tmp_path.glob("table4.*")) and not list(tmp_path.glob("gumbel*"))


def test_paper_comparison_uses_the_recomputed_overall_and_the_common_samplers(tmp_path):
    _write(_frame(), tmp_path, paper_tables=_paper_tables(tmp_path))
    side = pd.read_csv(tmp_path / "paper_comparison_macro_f1.csv").set_index("sampler")
    assert list(side.index) == ["AutoSMOTE", "No-resampling", "SMOTE"]      # TVAE: not in our runs
    assert side["paper overall"].tolist() == [1.0, 2.0, 3.0]                 # mean of the dataset columns
    assert side["paper overall (printed)"].tolist() == [1.0, 3.0, 2.0]
    assert side["shift"].tolist() == [0.0, 1.0, -1.0]
    text = (tmp_path / "paper_comparison.md").read_text()
    # ours 1, 3, 2 against the paper's 1, 2, 3: rho = 1 - 6 * (0 + 1 + 1) / (3 * 8) = 0.5
    assert "rho = 0.50" in text
    assert "**AutoSMOTE**: overall rank 1.00, position 1 of 3 here; paper: 1.00 (printed 1.00), position 1 of 4" in text
    assert "**Disagreement:** among" not in text
    assert "not significantly correlated" in text
    assert ("seeds removes): seed 1 rho = 0.50, AutoSMOTE position 1 of 3; seed 2 rho = 0.50, AutoSMOTE position 1 "
            "of 3.") in text


def test_each_seed_is_also_compared_with_the_paper_alone(tmp_path):
    """Seed 2 puts No-resampling above SMOTE (the paper's order, rho 1), seed 1 below it (rho 0.5)."""
    frame = _frame()
    lifted = (frame["seed"] == 2) & (frame["sampler"] == "No-resampling")
    scores = [c for c in frame.columns if c.startswith(("val_", "test_"))]
    frame.loc[lifted, scores] += 0.2
    _write(frame, tmp_path, paper_tables=_paper_tables(tmp_path))
    text = (tmp_path / "paper_comparison.md").read_text()
    assert "seed 1 rho = 0.50, AutoSMOTE position 1 of 3; seed 2 rho = 1.00, AutoSMOTE position 1 of 3." in text
    # both seeds accumulated are the whole store: the same agreement and rank as the seed-averaged table
    section = text.split("## Macro-F1")[1].split("## MCC")[0]
    rho = re.search(r"overall columns: rho = ([0-9.]+)", section).group(1)
    rank = re.search(r"\*\*AutoSMOTE\*\*: overall rank ([0-9.]+), position 1 of 3", section).group(1)
    assert f"Seeds accumulated (scores averaged over the first seeds, as the full table averages all): seeds 1-2 " \
           f"rho = {rho}, AutoSMOTE {rank}, position 1 of 3." in section


def test_a_store_of_one_seed_has_no_seed_by_seed_comparison(tmp_path):
    frame = _frame()
    _write(frame[frame["seed"] == 1], tmp_path, paper_tables=_paper_tables(tmp_path))
    text = (tmp_path / "paper_comparison.md").read_text()
    assert "rho = 0.50" in text and "Each seed alone" not in text


def test_paper_comparison_says_where_the_reference_is_not_best():
    ours = pd.DataFrame({"d": [2.0, 1.0, 3.0], "overall": [2.0, 1.0, 3.0]}, index=["AutoSMOTE", "SMOTE", "TVAE"])
    paper = pd.DataFrame({"d": [1.0, 2.0, 3.0], "printed overall": [1.0, 2.0, 3.0], "overall": [1.0, 2.0, 3.0]},
                         index=["AutoSMOTE", "SMOTE", "TVAE"])
    side, summary = paper_comparison(ours, paper, "AutoSMOTE")
    assert summary["rho"] == pytest.approx(0.5) and summary["n"] == 3
    assert summary["per_dataset"] == {"d": (pytest.approx(0.5), 3)}
    text = "\n".join(_comparison_text("macro_f1", ours, pd.DataFrame(index=range(4)), side, summary,
                                              "AutoSMOTE"))
    assert "position 2 of 3 here; paper: 1.00 (printed 1.00), position 1 of 3, best on every dataset." in text
    assert "at position 2 here and 1 in the paper; ahead of it here: SMOTE." in text


def test_ablations_give_table4_and_search_curves(tmp_path):
    frame = _frame(_variants("AutoSMOTE[ablation=random_search]", {"ablation": "random_search"}, 0.5))
    paths = _write(frame, tmp_path)
    names = {p.name for p in paths}
    assert {"table4.md", "table4.tex", "table4.csv", "fig5_search_curves_macro_f1.png"} <= names
    table4 = pd.read_csv(tmp_path / "table4.csv").set_index("sampler")
    assert table4["Macro-F1 rank"].to_dict() == {"AutoSMOTE": 1.0, "AutoSMOTE[ablation=random_search]": 2.0}
    assert table4.at["AutoSMOTE[ablation=random_search]", "paper's name"] == "random search"
    curves = pd.read_csv(tmp_path / "fig5_search_curves_macro_f1.csv")
    # mozilla4, IR 50, SVM: 2 seeds per method
    assert curves.groupby("method")["n_runs"].max().to_dict() == {"AutoSMOTE": 2,
                                                                  "AutoSMOTE[ablation=random_search]": 2}
    assert curves[curves["method"] == "AutoSMOTE"]["mean"].tolist() == pytest.approx([0.5, 0.7, 0.8])
    # the variants stay out of Table 2
    assert "ablation" not in (tmp_path / "table2_macro_f1.csv").read_text()


def test_table4_compares_only_where_the_ablations_ran(tmp_path):
    """AutoSMOTE also has Table 2 runs at IR 100, where no ablation ran: they must not leave the ablations
    incomplete (unranked) in Table 4."""
    table2_only = [_row("mozilla4", 100, 1, "AutoSMOTE", "SVM", score=0.9, params={}, tune_metric=metric)
                   for metric in ("macro_f1", "mcc")]
    frame = _frame(_variants("AutoSMOTE[ablation=flat]", {"ablation": "flat"}, 0.5) + table2_only)
    _write(frame, tmp_path)
    table4 = pd.read_csv(tmp_path / "table4.csv").set_index("sampler")
    assert table4["Macro-F1 rank"].to_dict() == {"AutoSMOTE": 1.0, "AutoSMOTE[ablation=flat]": 2.0}
    assert "IRs 20, 50;" in (tmp_path / "index.md").read_text()


def test_bench_table_4_also_compares_only_where_the_ablations_ran():
    """The same rule for `bench table --table 4`: AutoSMOTE's rows on phoneme and at IR 100 (no ablation
    there) stay out, so the ablation is ranked."""
    table2_only = [_row("mozilla4", 100, 1, "AutoSMOTE", "SVM", score=0.9, params={}, tune_metric=metric)
                   for metric in ("macro_f1", "mcc")]
    frame = _frame(_variants("AutoSMOTE[ablation=flat]", {"ablation": "flat"}, 0.5) + table2_only)
    text = analysis.text(analysis.Context(frame), "4", "macro_f1", "csv")
    table4 = pd.read_csv(io.StringIO(text)).set_index("sampler")
    assert table4["Macro-F1 rank"].to_dict() == {"AutoSMOTE": 1.0, "AutoSMOTE[ablation=flat]": 2.0}
    family = analysis.Context(frame).reference_family({"ablation"})
    assert list(family["dataset"].unique()) == ["mozilla4"] and set(family["ir"]) == {20, 50}


def test_hyperparameter_scores_put_each_run_under_the_parameter_it_varies():
    rows = (_variants("AutoSMOTE", {}, 0.8) + _variants("AutoSMOTE[g1=10]", {"g1": 10}, 0.6)
            + _variants("AutoSMOTE[g2=5]", {"g2": 5}, 0.7)
            + _variants("AutoSMOTE[k_neighbors=5]", {"k_neighbors": 5}, 0.5))
    data = hyperparameter_scores(pd.DataFrame(rows), "macro_f1")
    means = data.groupby(["parameter", "value"])["score"].mean()
    # G1 = 10 at IR 20 gives 10 * 10 / 20 = 5 and at IR 50 gives 2; the default G1 always gives 4
    assert means.loc["G1*G2/IR"].to_dict() == {2.0: 0.6, 4.0: 0.8, 5.0: 0.6}
    assert means.loc["G2"].to_dict() == {5: 0.7, 10: 0.8}
    assert means.loc["K"].to_dict() == {5: 0.5, 30: 0.8}


def test_hyperparameter_variants_give_figure6(tmp_path):
    frame = _frame(_variants("AutoSMOTE[g2=5]", {"g2": 5}, 0.7))
    names = {p.name for p in _write(frame, tmp_path, metrics=("macro_f1",))}
    assert "fig6_hyperparameters_macro_f1.png" in names
    data = pd.read_csv(tmp_path / "fig6_hyperparameters_macro_f1.csv")
    assert set(data["parameter"]) == {"G2"}    # only G2 takes two values
    assert set(data["dataset"]) == {"mozilla4"}   # the default point is taken on the variant's runs only


def test_stratified_rows_give_the_gumbel_table_and_stay_out_of_table2(tmp_path):
    split = {"kind": "stratified", "impute": "zero", "test_size": 0.2}
    rows = [_row("glass", 0, seed, sampler, "mlp", score=q + seed / 100, split=split)
            for seed in (1, 2) for sampler, q in (("SMOTE", 0.6), ("AutoSMOTE-self-mlp", 0.7))]
    _write(_frame(rows), tmp_path, metrics=("macro_f1",))
    gumbel = pd.read_csv(tmp_path / "gumbel_macro_f1.csv")
    assert set(gumbel["sampler"]) == {"SMOTE", "AutoSMOTE-self-mlp"}
    assert "glass" not in (tmp_path / "table2_macro_f1.csv").read_text()


def test_smote_variants_give_table3_sorted_by_overall_rank(tmp_path):
    """The smote-variants family by the registry, not by name: an unknown "sv.mine" is no smote-variant."""
    rows = [_row(d, ir, seed, name, c, score=q)
            for d in ("mozilla4", "phoneme") for ir in (20, 50) for seed in (1, 2) for c in ("SVM", "DT")
            for name, q in (("sv.Selected_SMOTE", 0.95), ("sv.SMOTE_IPF", 0.1), ("sv.mine", 0.5))]
    _write(_frame(rows), tmp_path, metrics=("macro_f1",))
    table3 = pd.read_csv(tmp_path / "table3_macro_f1.csv")
    assert table3["sampler"].tolist() == ["sv.Selected_SMOTE", "AutoSMOTE", "sv.SMOTE_IPF"]
    table2 = (tmp_path / "table2_macro_f1.csv").read_text()
    assert "sv.Selected_SMOTE" not in table2 and "other,sv.mine," in table2


def test_failures_are_counted_per_sampler_and_status(tmp_path):
    failed = [_row("mozilla4", 20, 1, "KMeansSMOTE", c, score=0, params={"ratio": 1.0}, status="error")
              for c in ("SVM", "DT")]
    _write(_frame(failed), tmp_path, metrics=("macro_f1",))
    counts = pd.read_csv(tmp_path / "failures.csv").set_index("sampler")
    assert counts.loc["KMeansSMOTE", "error"] == 2 and counts.loc["SMOTE", "ok"] == 32
    assert "| KMeansSMOTE | 2 | 2 | ValueError: boom |" in (tmp_path / "index.md").read_text()


class _Catalog:
    """The two datasets of _frame as a data catalogue gives them (only what Table 1 reads)."""
    root = "/data"

    def get(self, name):
        if name not in ("mozilla4", "phoneme"):
            raise DataError(f"unknown dataset {name!r}")
        return SimpleNamespace(name=name, minority_label="1", class_counts={"0": 10437, "1": 40}, n_features_encoded=5)


def test_table1_is_written_when_a_catalogue_is_given(tmp_path):
    paths = _write(_frame(), tmp_path, catalog=_Catalog(), metrics=("macro_f1",))
    assert {"table1.md", "table1.tex", "table1.csv"} <= {p.name for p in paths}
    assert "| mozilla4 | 10437 | 521/208 | 5 |" in (tmp_path / "table1.md").read_text()   # majority // IR 20, 50


def test_table1_leaves_out_the_stratified_rows_and_ir_0(tmp_path):
    """IR 0 is the stratified protocol's: it must not reach Table 1 (majority // 0)."""
    split = {"kind": "stratified", "impute": "zero", "test_size": 0.2}
    rows = [_row("phoneme", 0, 1, "SMOTE", "mlp", score=0.6, split=split)]
    _write(_frame(rows), tmp_path, catalog=_Catalog(), metrics=("macro_f1",))
    assert "(IR 20/50)" in (tmp_path / "table1.md").read_text()


def test_table1_says_which_datasets_are_not_registered(tmp_path):
    rows = [_row("glass", 20, 1, "SMOTE", "SVM", score=0.6, params={"ratio": 1.0})]
    _write(_frame(rows), tmp_path, catalog=_Catalog(), metrics=("macro_f1",))
    assert "not produced: dataset(s) glass not registered in /data" in (tmp_path / "index.md").read_text()


def test_figure7_runs_the_toy_study_with_registry_samplers(tmp_path):
    rng = np.random.RandomState(0)
    toy = pd.DataFrame({"label": ["nominal"] * 100 + ["anomaly"] * 20,
                        "x": np.r_[rng.randn(100), rng.randn(20) + 3], "y": np.r_[rng.randn(100), rng.randn(20) + 3]})
    toy.to_csv(tmp_path / "toy.csv", index=False)
    paths = _write(_frame(), tmp_path / "out", toy_csv=tmp_path / "toy.csv", toy_samplers=("No-resampling", "SMOTE"),
                   metrics=("macro_f1",))
    assert "fig7_toy.png" in {p.name for p in paths}
    scores = pd.read_csv(tmp_path / "out" / "fig7_toy.csv")
    assert scores["sampler"].tolist() == ["No-resampling", "SMOTE"]
    assert scores["n_synthetic"].tolist() == [0, 48]    # SMOTE balances 60 majority / 12 minority


@pytest.mark.parametrize("kwargs, match", [({"metrics": ("auc",)}, "metrics must be"),
                                           ({"metrics": ()}, "metrics must be")])
def test_write_report_validates_its_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _write(_frame(), tmp_path, **kwargs)


def test_write_report_rejects_a_frame_without_the_store_columns(tmp_path):
    with pytest.raises(ValueError, match="store column"):
        _write(_frame().drop(columns=["spec"]), tmp_path)
