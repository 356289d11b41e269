"""The artefact registry (bench.analysis): `bench table` prints what `bench report` writes, on every committed
store; reading never writes; "does not apply" is one line; rows are chosen by sampler metadata."""
from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_publish import _frame, _row, _variants
from typer.testing import CliRunner

from bench import analysis
from bench.analysis import tables
from bench.cli import app
from bench.metrics import LABELS
from conftest import one_line_error  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STORES = sorted(ROOT.glob("results/*/bench.sqlite"))
PAPER_TABLES = ROOT.parent / "shared" / "paper-tables"
METRICS = analysis.REPORT_METRICS


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


def _snapshot(store: Path, folder: Path) -> Path:
    """A consistent copy of a committed store (SQLite's backup): a campaign may be computing into it in place
    while the suite runs, and the two commands must read the same rows."""
    folder.mkdir()
    source, copy = sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True), sqlite3.connect(folder / store.name)
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    return folder


@pytest.mark.parametrize("store", STORES, ids=[s.parent.name for s in STORES])
def test_bench_table_prints_what_bench_report_writes(store, tmp_path, monkeypatch):
    """For every table artefact (and every figure's CSV), metric and format: the bytes `bench table` prints are
    those `bench report` wrote, and an artefact `bench report` did not produce is refused by `bench table`
    with the same one-line reason. Neither command writes into the results folder."""
    monkeypatch.chdir(tmp_path)                          # no ../shared defaults: Figure 7 is not drawn
    monkeypatch.setattr(tables, "BAYES_SAMPLES", 2000)   # the same function either way; fewer draws, faster
    folder, out = _snapshot(store, tmp_path / store.parent.name), tmp_path / "report"
    paper = [] if not PAPER_TABLES.is_dir() else ["--paper-tables", str(PAPER_TABLES)]
    before = _digest(folder)
    report = _cli("report", "--results", str(folder), "--out", str(out), *paper)
    assert report.exit_code == 0, report.output
    index = (out / "index.md").read_text()
    checked = 0
    for artefact in (a for a in analysis.ARTEFACTS if a.readable and a.in_report):
        formats = [f for f in ("markdown", "latex", "csv") if f in artefact.formats]   # a figure: its CSV
        for metric in METRICS if artefact.per_metric else METRICS[:1]:
            for fmt in formats:
                printed = _cli("table", "--results", str(folder), "--table", artefact.key, "--metric", metric,
                               "--format", fmt, *paper)
                (_, file_metric), = [o for o in artefact.outputs((metric,)) if o[0] == fmt]
                written = out / artefact.filename(fmt, file_metric)
                if written.exists():
                    assert printed.exit_code == 0, printed.output
                    assert printed.stdout.rstrip("\n") == written.read_text().rstrip("\n"), written.name
                    checked += 1
                else:
                    why = one_line_error(printed)
                    assert f"- not produced: {why}" in index or f"- not produced: {LABELS[metric]}: {why}" in index
    assert checked > 0
    assert _digest(folder) == before


def test_tables_of_a_store_at_rest_share_one_context_until_the_store_or_the_options_change(toy_env, monkeypatch):
    """`bench table` per artefact in one process builds from one read of the store, as `bench report` does; other
    options, or a write to the store, read it anew."""
    from bench import reading
    assert _cli("run").exit_code == 0
    made = []
    context = reading._context
    monkeypatch.setattr(reading, "_context", lambda *args, **kwargs: made.append(1) or context(*args, **kwargs))
    first = _cli("table", "--table", "2", "--metric", "mcc")
    assert first.exit_code == 0 and "TomekLinks" in first.stdout, first.output
    for args in (["--format", "csv"], ["--table", "1"], ["--table", "2", "--metric", "mcc"]):
        assert _cli("table", *args).exit_code == 0
    assert len(made) == 1
    other = _cli("table", "--table", "2", "--metric", "mcc", "--noop", "missing")
    assert other.exit_code == 0 and len(made) == 2
    with sqlite3.connect(toy_env / "runs" / "bench.sqlite") as conn:   # one sampler's runs deleted by hand
        conn.execute("DELETE FROM runs WHERE sampler = 'TomekLinks'")
    conn.close()
    again = _cli("table", "--table", "2", "--metric", "mcc")
    assert again.exit_code == 0 and len(made) == 3 and "TomekLinks" not in again.stdout


def test_the_reasons_for_not_applying_are_one_line_on_the_command_line():
    quick = str(ROOT / "results" / "quick")
    one_line_error(_cli("table", "--table", "3", "--results", quick), "no smote-variants rows")
    one_line_error(_cli("table", "--table", "gumbel", "--results", quick), 'no rows with split kind "stratified"')
    one_line_error(_cli("table", "--table", "cd", "--format", "latex", "--results", quick), "csv")
    one_line_error(_cli("table", "--table", "fig7", "--results", quick), "unknown table")
    one_line_error(_cli("table", "--table", "2", "--correction", "bonferroni", "--results", quick),
                    "correction", "holm")
    one_line_error(_cli("table", "--table", "2", "--failed", "impute", "--results", quick), "failed", "input")


def test_every_artefact_says_in_one_line_why_it_does_not_apply():
    empty = _frame().iloc[:0]
    for frame in (empty, _frame()):
        ctx = analysis.Context(frame)
        for artefact in analysis.ARTEFACTS:
            why = artefact.applies(ctx)
            assert why is None or (why and "\n" not in why), (artefact.key, why)
    ctx = analysis.Context(empty)
    assert all(a.applies(ctx) for a in analysis.ARTEFACTS)


# ------------------------------------------------------------------------------------ selection by metadata


def _text(frame, key, metric="macro_f1", fmt="csv", **options):
    return analysis.text(analysis.Context(frame, analysis.Options(**options)), key, metric, fmt)


def test_table2_takes_no_variants_but_a_variant_that_stands_for_its_entry():
    frame = _frame(_variants("AutoSMOTE[g1=10]", {"g1": 10}, 0.6)
                   + _variants("MESA[n_estimators=3]", {"n_estimators": 3}, 0.5))
    table2 = pd.read_csv(io.StringIO(_text(frame, "2")))
    assert "AutoSMOTE[g1=10]" not in set(table2["sampler"])           # AutoSMOTE has rows of its own
    assert "MESA[n_estimators=3]" in set(table2["sampler"])           # MESA has none: the variant stands for it
    assert table2.set_index("sampler").at["MESA[n_estimators=3]", "category"] == "meta"


def test_the_gumbel_table_reads_the_stratified_rows_only():
    split = {"kind": "stratified", "impute": "zero", "test_size": 0.2}
    rows = [_row("glass", 0, seed, "SMOTE", "mlp", score=0.6 + seed / 100, split=split) for seed in (1, 2)]
    gumbel = pd.read_csv(io.StringIO(_text(_frame(rows), "gumbel")))
    assert list(gumbel.columns[1:-2]) == ["glass"] and gumbel["sampler"].tolist() == ["SMOTE"]
    with pytest.raises(analysis.NotApplicable, match='no rows with split kind "stratified"'):
        _text(_frame(), "gumbel")


def test_table3_ranks_the_configured_reference():
    rows = [_row("mozilla4", 20, seed, "sv.Selected_SMOTE", c, score=0.5) for seed in (1, 2) for c in ("SVM", "DT")]
    text = _text(_frame(rows), "3", fmt="markdown", reference="SMOTE")
    assert text.startswith("**Table 3: SMOTE versus the smote-variants oversamplers, Macro-F1**")
    assert "| SMOTE |" in text and "AutoSMOTE" not in text
    with pytest.raises(analysis.NotApplicable, match="no smote-variants rows"):
        _text(_frame(), "3")


def test_no_wilcoxon_marks_where_the_reference_is_not_ranked():
    failed = [_row("phoneme", 20, 1, "AutoSMOTE", c, score=0, tune_metric=m, status="error")
              for c in ("SVM", "DT") for m in METRICS]
    frame = _frame()
    frame = pd.concat([frame[~((frame["sampler"] == "AutoSMOTE") & (frame["dataset"] == "phoneme")
                               & (frame["ir"] == 20) & (frame["seed"] == 1))], pd.DataFrame(failed)])
    text = _text(frame, "2", fmt="markdown", pairing="run")
    assert "No marks in the columns where AutoSMOTE is not ranked: phoneme, overall." in text
    marks = pd.read_csv(io.StringIO(_text(frame, "2", pairing="run"))).set_index("sampler")
    assert marks["mozilla4_better"].sum() == 2 and marks["phoneme_better"].sum() == 0
    assert marks["overall_better"].sum() == 0
    nowhere = frame[~((frame["sampler"] == "AutoSMOTE") & (frame["dataset"] == "mozilla4") & (frame["seed"] == 1))]
    text = _text(pd.concat([nowhere, pd.DataFrame(failed)]), "2", fmt="markdown")
    assert "No Wilcoxon marks: the reference 'AutoSMOTE' is not ranked" in text and "▲" not in text


def test_holm_correction_is_an_option_of_both_commands():
    plain, holm = _text(_frame(), "2", fmt="latex"), _text(_frame(), "2", fmt="latex", correction="holm")
    assert "Holm-adjusted" in holm and "Holm-adjusted" not in plain
    assert analysis.Options.from_settings(analysis.Options(), correction="holm").correction == "holm"
    for command in (["table"], ["report", "--out", "/nonexistent/never"]):
        assert "--correction" in _cli(*command, "--help").output and "--failed" in _cli(*command, "--help").output


def test_the_cd_diagram_gives_the_friedman_test_and_names_what_it_leaves_out():
    ctx = analysis.Context(_frame())
    data = pd.read_csv(io.StringIO(analysis.text(ctx, "cd", "mcc", "csv")))
    assert {"friedman_chi2", "friedman_p", "cd"} <= set(data.columns)
    summary = ctx.builds[("cd", "mcc")].summary[0]
    assert summary.startswith("MCC: Friedman test over 8 configurations and 3 samplers")
    with pytest.raises(analysis.NotApplicable, match="at least 3 samplers"):
        analysis.text(analysis.Context(_frame()[lambda f: f["sampler"] != "SMOTE"]), "cd", "mcc", "csv")


def test_figure4_orders_the_irs_and_keeps_missing_cells_missing():
    frame = _frame([_row(d, 100, s, name, c, score=0.5, tune_metric="macro_f1" if name == "AutoSMOTE" else None,
                         status="error" if name == "AutoSMOTE" else "ok")
                    for d in ("mozilla4", "phoneme") for s in (1, 2) for c in ("SVM", "DT")
                    for name in ("No-resampling", "AutoSMOTE")])
    data = pd.read_csv(io.StringIO(_text(frame, "fig4")))
    irs = data[data["grouping"] == "ir"]
    assert list(pd.unique(irs["group"])) == ["20", "50", "100"]
    assert pd.isna(irs.set_index(["group", "sampler"]).loc[("100", "AutoSMOTE"), "rank"])   # missing, not 0


def test_reading_imports_no_method_library(tmp_path):
    """`bench report`'s artefacts but Figure 7 (which runs samplers) import neither torch, sdv nor smote_variants,
    Figure 6 included: it reads AutoSMOTE's defaults as data."""
    frame = _frame(_variants("AutoSMOTE[g2=5]", {"g2": 5}, 0.7)
                   + _variants("AutoSMOTE[ablation=flat]", {"ablation": "flat"}, 0.5))
    frame.to_pickle(tmp_path / "frame.pkl")
    keys = [a.key for a in analysis.ARTEFACTS if a.key not in ("fig7", "bayes")]
    script = ("import json, sys, pandas as pd; from bench import analysis; "
              f"frame = pd.read_pickle({str(tmp_path / 'frame.pkl')!r}).assign(environment='e1'); "
              "empty = pd.DataFrame(columns=['id', 'command', 'settings', 'started_at', 'ended_at', 'status', "
              "'message', 'rows']); "
              f"paths = analysis.write(analysis.Context(frame), {str(tmp_path / 'out')!r}, invocations=empty, "
              f"environments=pd.DataFrame(columns=['id', 'description', 'first_seen', 'rows']), keys={keys!r}); "
              "print(json.dumps([sorted(p.name for p in paths), "
              "sorted(m for m in ('torch', 'sdv', 'smote_variants', 'ctgan') if m in sys.modules)]))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    names, loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "fig6_hyperparameters_macro_f1.png" in names and "table4.md" in names
    assert loaded == []
