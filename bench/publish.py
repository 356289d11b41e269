"""`bench report`: the paper's tables and figures from one results frame, linked from an index.md.

Every artifact is computed from the rows given; when the rows lack what one needs, nothing is drawn and
index.md says "not produced: <why>". Tables reuse bench.report / bench.stats / bench.tables, figures
bench.figures. Which rows feed which artifact:

- Table 2, Figure 4, the CD diagram and the comparison with the paper: the paper's IR protocol, every
  sampler except the smote-variants ones (``sv.*``) and the reference's variants (``AutoSMOTE[...]``);
- Table 3: the reference and the ``sv.*`` samplers; Table 4 and Figure 5: the reference and its
  ``ablation=...`` variants (mozilla4; Figure 5 at IR 50 with SVM, without the "merged" ablation, whose
  validation score is meaningless, as in the paper); Figure 6: the reference and its variants with fixed
  g1 / g2 / k_neighbors;
- the Gumbel table: rows whose split kind is "stratified" (they never enter the other tables).
"""
from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import spearmanr

from . import figures, provenance, report, stats, tables
from .config import TableSettings
from .metrics import LABELS, METRICS
from .samplers.registry import SamplerContext, all_entries, parse_sampler

__all__ = ["write_report", "paper_comparison", "hyperparameter_scores"]

FORMATS = {"md": "markdown", "tex": "latex", "csv": "csv"}
ABLATION_DATASET = "mozilla4"                                        # Table 4 (paper 4.4)
CURVE_SETTING = {"dataset": "mozilla4", "ir": 50, "classifier": "SVM"}   # Figure 5
CURVE_EXCLUDED = ("merged",)        # the paper leaves it out of Figure 5: it tunes on its own training data
PAPER_ABLATIONS = {None: "full AutoSMOTE", "no_cross_instance": "w/o cross-instance sub-policy",
                   "no_instance_specific": "w/o instance-specific sub-policy", "no_low_level": "w/o low-level policy",
                   "flat": "flat policy", "random_search": "random search",
                   "merged": "merging training and validation sets"}
STUDIED = {"g1": "G1*G2/IR", "g2": "G2", "k_neighbors": "K"}          # Figure 6's panels, by parameter
# The paper also draws CTGAN; it is left out by default because it alone takes minutes on a CPU (about 5 on
# two shared cores): pass toy_samplers=(..., "CTGAN") to add it.
TOY_SAMPLERS = ("No-resampling", "SMOTE", "BorderlineSMOTE", "ADASYN", "SVMSMOTE", "AutoSMOTE")
TOY_RATIO = 1.0                     # baselines balance the toy training set (the paper names no ratio)
STORE_COLUMNS = ("key", "dataset", "ir", "seed", "sampler", "params", "classifier", "tune_metric", "status",
                 "message", "spec")
MOVED_POSITIONS = 5                 # a sampler whose position differs by this much is called out


@dataclass
class Section:
    """One entry of index.md: the files written, or why there are none."""
    title: str
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def write_report(frame: pd.DataFrame, out_dir: Path, *, invocations: pd.DataFrame, environments: pd.DataFrame,
                 paper_tables: Path | None, toy_csv: Path | None, reference: str = "AutoSMOTE",
                 metrics: Sequence[str] = ("macro_f1", "mcc"), table1: pd.DataFrame | None = None,
                 table: TableSettings = TableSettings(), toy_samplers: Sequence[str] = TOY_SAMPLERS,
                 toy_seed: int = 1) -> list[Path]:
    """Write every table and figure the rows allow into ``out_dir``; return the paths written (index.md last).

    ``frame``: ``ResultStore.frame()``; ``invocations`` and ``environments``: the store's, for the index's
    account of what ran where (``ResultStore.invocations()`` / ``.environments()``). ``table``: pairing, sidedness, alpha and no-op handling of the
    Wilcoxon marks (its ``reference`` is replaced by ``reference``). ``table1``: the dataset statistics to
    print as Table 1 (e.g. ``bench.datasets.table1``), or None. ``paper_tables``: the folder of the paper's
    tables as CSV (``shared/paper-tables``) for the comparison. ``toy_csv``: the 2-D toy data (label,x,y)
    for Figure 7, run now with ``toy_samplers`` (registry names).
    """
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ValueError(f"metrics must be a non-empty subset of {list(METRICS)}, got {list(metrics)}")
    if table.noop not in ("score", "missing"):
        raise ValueError(f"table.noop must be 'score' or 'missing', got {table.noop!r}")
    absent = [c for c in STORE_COLUMNS if c not in frame.columns]
    if absent:
        raise ValueError(f"frame lacks the store column(s) {absent}: pass ResultStore.frame()")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    setting = stats.WilcoxonSetting(reference, table.pairing, table.alternative, table.alpha)
    kinds = frame["spec"].map(_split_kind, na_action="ignore").fillna("ir")
    ir_runs, stratified = frame[kinds != "stratified"], frame[kinds == "stratified"]
    main = ir_runs[~_starts(ir_runs["sampler"], ("sv.", f"{reference}["))]
    metrics = list(metrics)

    sections = [
        _guarded("Table 1: datasets", lambda s: _table1(s, out_dir, table1)),
        _guarded("Table 2: average ranks", lambda s: _table2(s, out_dir, main, metrics, setting, table.noop)),
        _guarded(f"Table 3: {reference} among the smote-variants oversamplers",
                 lambda s: _table3(s, out_dir, ir_runs, metrics, setting, table.noop)),
        _guarded(f"Table 4: ablations on {ABLATION_DATASET}",
                 lambda s: _table4(s, out_dir, ir_runs, metrics, setting, table.noop, paper_tables)),
        _guarded("Gumbel-AutoSMOTE table (stratified splits)", lambda s: _gumbel(s, out_dir, stratified, metrics)),
        _guarded(f"Figure 4: {reference}'s rank per classifier and per IR",
                 lambda s: _figure4(s, out_dir, main, metrics, reference, table.noop)),
        _guarded("Figure 5: search curves", lambda s: _figure5(s, out_dir, ir_runs, metrics, reference)),
        _guarded("Figure 6: hyperparameter study", lambda s: _figure6(s, out_dir, ir_runs, metrics, reference)),
        _guarded("Figure 7: toy case study", lambda s: _figure7(s, out_dir, toy_csv, toy_samplers, toy_seed)),
        _guarded("Critical-difference diagrams", lambda s: _cd(s, out_dir, main, metrics, table.alpha, table.noop)),
        _guarded("Comparison with the paper's Table 2",
                 lambda s: _comparison(s, out_dir, main, metrics, reference, table.noop, paper_tables)),
        _guarded("Failed runs", lambda s: _failures(s, out_dir, frame)),
    ]
    index = out_dir / "index.md"
    index.write_text(_index(sections, frame, invocations, environments))
    return [p for s in sections for p in s.files] + [index]


# ------------------------------------------------------------------------------------ plumbing


def _guarded(title: str, build: Callable[[Section], None]) -> Section:
    """Build a section; a ValueError (data that cannot make it) becomes its "not produced" reason."""
    section = Section(title)
    try:
        build(section)
    except ValueError as err:
        section.missing.append(str(err))
    return section


def _split_kind(spec: str) -> str:
    """"ir" (the paper's splits) or "stratified"; stores older than the split field hold IR rows only."""
    split = json.loads(spec).get("split") or {}
    return split.get("kind", "ir")


def _save_table(section: Section, out_dir: Path, stem: str, render: Callable[[str], str]) -> None:
    for suffix, fmt in FORMATS.items():
        path = out_dir / f"{stem}.{suffix}"
        path.write_text(render(fmt))
        section.files.append(path)


def _save_figure(section: Section, out_dir: Path, stem: str, fig: Figure, data: pd.DataFrame) -> None:
    """The PNG and the numbers drawn in it, as CSV."""
    png, csv = out_dir / f"{stem}.png", out_dir / f"{stem}.csv"
    fig.savefig(png, dpi=150)
    data.to_csv(csv, index=False)
    section.files += [png, csv]


def _per_metric(section: Section, metrics: Sequence[str], build: Callable[[str], None]) -> None:
    """Run ``build`` per metric; a metric that cannot be built is noted, not fatal for the others."""
    for metric in metrics:
        try:
            build(metric)
        except ValueError as err:
            section.missing.append(f"{LABELS[metric]}: {err}")


def _ranked(runs: pd.DataFrame, metric: str, noop: str):
    """Table 2's pipeline (tuning, seed averages, ranks) as frames: (best, cfg, ranks)."""
    used = runs[runs["status"] != "no-op"] if noop == "missing" else runs
    best = stats.select_best(used, metric)
    cfg = stats.config_scores(best)
    return best, cfg, stats.rank_table(cfg)


def _reference_scored(best: pd.DataFrame, reference: str) -> bool:
    return bool(best.loc[best["sampler"] == reference, "score"].notna().any())


def _describe_rows(runs: pd.DataFrame) -> str:
    """What a section was computed from, read off its rows."""
    return (f"from {len(runs)} rows: datasets {_listing(runs['dataset'])}; IRs {_listing(runs['ir'])}; seeds "
            f"{_listing(runs['seed'])}; classifiers {_listing(runs['classifier'])}; "
            f"{runs['sampler'].nunique()} samplers")


def _listing(values: pd.Series) -> str:
    return ", ".join(str(v) for v in sorted(pd.unique(values.dropna())))


def _starts(labels: pd.Series, prefixes: str | tuple[str, ...]) -> pd.Series:
    """Boolean mask, also for an empty column (an empty object mask would select columns)."""
    return labels.astype(str).str.startswith(prefixes).astype(bool)


def _json_dict(text) -> dict:
    return json.loads(text) if isinstance(text, str) else {}


# ------------------------------------------------------------------------------------ tables


def _table1(section: Section, out_dir: Path, table1: pd.DataFrame | None) -> None:
    if table1 is None:
        raise ValueError("no dataset statistics were passed (table1=None)")
    irs = table1.attrs.get("irs")
    title = "Table 1: dataset statistics" + (f", minorities at IR {'/'.join(map(str, irs))}" if irs else "")
    _save_table(section, out_dir, "table1", lambda fmt: tables.render_frame(table1, fmt=fmt, title=title))


def _table2(section: Section, out_dir: Path, runs: pd.DataFrame, metrics, setting, noop: str) -> None:
    if runs.empty:
        raise ValueError("no rows of the paper's IR protocol")
    section.notes.append(f"Computed {_describe_rows(runs)}. The smote-variants samplers (sv.*) and the "
                         "reference's variants (Name[...]) are left out: they have Tables 3 and 4 and Figures 5 "
                         "and 6.")
    _per_metric(section, metrics, lambda m: _save_table(
        section, out_dir, f"table2_{m}", lambda fmt: report.rank_table(runs, m, setting, noop, fmt)))


def _table3(section: Section, out_dir: Path, ir_runs: pd.DataFrame, metrics, setting, noop: str) -> None:
    runs = ir_runs[(ir_runs["sampler"] == setting.reference) | _starts(ir_runs["sampler"], "sv.")]
    if not _starts(runs["sampler"], "sv.").any():
        raise ValueError("no smote-variants (sv.*) rows")
    if not (runs["sampler"] == setting.reference).any():
        raise ValueError(f"no {setting.reference} rows")
    section.notes.append(f"Computed {_describe_rows(runs)}; sorted by the overall rank.")

    def build(metric):
        best, cfg, ranks = _ranked(runs, metric, noop)
        ranks = ranks.sort_values(stats.OVERALL, kind="mergesort")
        marks = stats.better_marks(best, setting) if _reference_scored(best, setting.reference) else None
        notes = [f"Average rank (1 = best) of the test {LABELS[metric]} among {len(ranks)} samplers over "
                 f"{len(cfg)} configurations (the paper prints the top 5 of 86)."]
        title = f"Table 3: {setting.reference} versus the smote-variants oversamplers, {LABELS[metric]}"

        def render(fmt):
            mark = (("▲ " if fmt == "markdown" else "") + setting.describe() if marks is not None
                    else f"No marks: {setting.reference} has no score.")
            return tables.render_rank_table(ranks, marks, fmt=fmt, notes=notes + [mark], title=title)
        _save_table(section, out_dir, f"table3_{metric}", render)
    _per_metric(section, metrics, build)


def _ablation(params_text) -> str | None:
    return _json_dict(params_text).get("ablation")


def _table4(section: Section, out_dir: Path, ir_runs: pd.DataFrame, metrics, setting, noop: str,
            paper_tables: Path | None) -> None:
    ref = setting.reference
    family = report.ablation_family(ir_runs[ir_runs["dataset"] == ABLATION_DATASET], ref)
    if not (family["sampler"] != ref).any():
        raise ValueError(f"no {ref}[ablation=...] rows on {ABLATION_DATASET}")
    if not (family["sampler"] == ref).any():
        raise ValueError(f"no {ref} rows on {ABLATION_DATASET} where its ablations ran")
    section.notes.append(f"Computed {_describe_rows(family)}.")
    ablations = family.drop_duplicates("sampler").set_index("sampler")["params"].map(_ablation)
    display = pd.DataFrame(index=pd.Index(ablations.index, name="sampler"))
    display["paper's name"] = ablations.map(PAPER_ABLATIONS).fillna("")
    data = display.copy()
    paper = pd.read_csv(paper_tables / "table4.csv").set_index("variant") if paper_tables else None
    for metric in metrics:
        best, cfg, ranks = _ranked(family, metric, noop)
        label = LABELS[metric]
        marks = (stats.better_marks(best, setting)[stats.OVERALL] if _reference_scored(best, ref)
                 else pd.Series(False, index=ranks.index))
        for frame_ in (display, data):
            frame_[f"{label} test"] = cfg.mean(axis=0, skipna=False)
            frame_[f"{label} rank"] = ranks[stats.OVERALL]
            if paper is not None:
                frame_[f"paper {label} rank"] = display["paper's name"].map(paper[f"{metric}_rank"])
        display[f"{label} ▲"] = marks.reindex(display.index, fill_value=False).map({True: "▲", False: ""})
        data[f"{metric}_better"] = marks.reindex(data.index, fill_value=False).astype(int)
    notes = [f"Mean test score over {ABLATION_DATASET}'s configurations (seed-averaged) and average rank (1 = best) "
             f"among these {len(display)} variants; ▲: {setting.describe()}"]
    if paper is not None:
        notes.append("Paper ranks: the paper's Table 4 (ranks among its 7 variants).")
    title = f"Table 4: {ref} ablations on {ABLATION_DATASET}"
    _save_table(section, out_dir, "table4", lambda fmt: tables.render_frame(
        data if fmt == "csv" else display, fmt=fmt, title=title, notes=notes))


def _gumbel(section: Section, out_dir: Path, runs: pd.DataFrame, metrics) -> None:
    if runs.empty:
        raise ValueError('no rows with split kind "stratified" (run the gumbel profile)')
    section.notes.append(f"Computed {_describe_rows(runs)}.")
    _per_metric(section, metrics, lambda m: _save_table(
        section, out_dir, f"gumbel_{m}", lambda fmt: report.gumbel_table(runs, m, fmt)))


# ------------------------------------------------------------------------------------ figures


def _figure4(section: Section, out_dir: Path, runs: pd.DataFrame, metrics, reference: str, noop: str) -> None:
    if not (runs["sampler"] == reference).any():
        raise ValueError(f"no {reference} rows")
    section.notes.append(f"Ranks among Table 2's samplers, computed {_describe_rows(runs)}; bars: {reference}; "
                         "diamonds: the median rank of all samplers.")

    def build(metric):
        best, _, _ = _ranked(runs, metric, noop)
        by_classifier, by_ir = figures.group_ranks(best, "classifier"), figures.group_ranks(best, "ir")
        if by_classifier.loc[reference].isna().all():
            raise ValueError(f"{reference} is incomplete in every classifier's configurations")
        fig = figures.rank_by_group(by_classifier, by_ir, reference, title=f"{reference}, {LABELS[metric]}")
        data = pd.concat([frame_.reset_index().melt(id_vars="sampler", var_name="group", value_name="rank")
                          .assign(grouping=grouping)
                          for grouping, frame_ in (("classifier", by_classifier), ("ir", by_ir))])
        _save_figure(section, out_dir, f"fig4_ranks_{metric}", fig, data[["grouping", "group", "sampler", "rank"]])
    _per_metric(section, metrics, build)


def _figure5(section: Section, out_dir: Path, ir_runs: pd.DataFrame, metrics, reference: str) -> None:
    if "extra" not in ir_runs.columns:
        raise ValueError("the store has no extra column (written by an older bench)")
    here = ir_runs[(ir_runs["dataset"] == CURVE_SETTING["dataset"]) & (ir_runs["ir"] == CURVE_SETTING["ir"])
                   & (ir_runs["classifier"] == CURVE_SETTING["classifier"]) & (ir_runs["status"] == "ok")]
    here = here[(here["sampler"] == reference) | (_starts(here["sampler"], f"{reference}[")
                                                  & here["params"].map(_ablation).notna())]
    here = here[~here["params"].map(_ablation).isin(CURVE_EXCLUDED)]
    where = ", ".join(f"{k} {v}" for k, v in CURVE_SETTING.items())
    if here.empty:
        raise ValueError(f"no successful {reference} or ablation rows at {where}")
    section.notes.append(f"{where}; mean +- std over seeds {_listing(here['seed'])}; the 'merged' "
                         "ablation is left out, as in the paper.")

    def build(metric):
        rows = here[here["tune_metric"] == metric]
        curves: dict[str, list[list[float]]] = {}
        for label, text in zip(rows["sampler"], rows["extra"]):
            curve = _json_dict(text).get("curve")
            if curve:
                curves.setdefault(label, []).append(curve)
        if not curves:
            raise ValueError(f"no stored search curve tuned on {metric} at {where}")
        fig = figures.search_curves(curves, ylabel=f"best validation {LABELS[metric]}", title=where)
        _save_figure(section, out_dir, f"fig5_search_curves_{metric}", fig, figures.curve_summary(curves))
    _per_metric(section, metrics, build)


def hyperparameter_scores(runs: pd.DataFrame, metric: str, reference: str = "AutoSMOTE") -> pd.DataFrame:
    """Figure 6's data: per run of the reference or a variant with fixed g1 / g2 / k_neighbors, its test score
    under each studied parameter whose companions are at their defaults (the paper's one-at-a-time design).

    Columns: parameter ("G1*G2/IR", "G2" or "K"), value, score, dataset, classifier, ir, seed, sampler. Only
    runs (dataset, classifier, IR, seed) that some variant has are used, so the default point is measured on
    the same runs as the variants. G1 left unset is the library's default for the run's IR.
    """
    params = runs["params"].map(_json_dict)
    variant = _starts(runs["sampler"], f"{reference}[") & params.map(
        lambda p: bool(set(p) & set(STUDIED)) and "ablation" not in p).astype(bool)
    if not variant.any():
        raise ValueError(f"no {reference}[g1=...|g2=...|k_neighbors=...] rows")
    from autosmote import AutoSMOTE          # imports torch: only when there is a study to draw
    from autosmote.space import cross_instance_actions

    defaults = {name: p.default for name, p in inspect.signature(AutoSMOTE).parameters.items() if name in STUDIED}
    keys = ["dataset", "classifier", "ir", "seed"]
    covered = runs.loc[variant, keys].drop_duplicates()
    family = runs[variant | (runs["sampler"] == reference)].merge(covered, on=keys)
    best = stats.select_best(family, metric)
    records = []
    for row in best.itertuples(index=False):
        p = {**defaults, **_json_dict(row.params)}
        ratio = (p["g1"] or cross_instance_actions(row.ir, p["g2"])) * p["g2"] / row.ir
        values = {"G1*G2/IR": round(ratio, 2), "G2": p["g2"], "K": p["k_neighbors"]}
        at_default = {"G1*G2/IR": p["g1"] is None, "G2": p["g2"] == defaults["g2"],
                      "K": p["k_neighbors"] == defaults["k_neighbors"]}
        for name in values:
            if all(at_default[other] for other in values if other != name):
                records.append({"parameter": name, "value": values[name], "score": row.score,
                                **{k: getattr(row, k) for k in keys}, "sampler": row.sampler})
    out = pd.DataFrame(records, columns=["parameter", "value", "score", *keys, "sampler"])
    varied = out.groupby("parameter")["value"].nunique()
    return out[out["parameter"].isin(varied[varied > 1].index)].reset_index(drop=True)


def _figure6(section: Section, out_dir: Path, ir_runs: pd.DataFrame, metrics, reference: str) -> None:
    def build(metric):
        data = hyperparameter_scores(ir_runs, metric, reference)
        if data.empty:
            raise ValueError("no studied parameter takes more than one value")
        section.notes.append(f"{LABELS[metric]}: {data['sampler'].nunique()} settings on datasets "
                             f"{_listing(data['dataset'])}, IRs {_listing(data['ir'])}; "
                             f"{int(data['score'].isna().sum())} failed runs left out of the means.")
        order = [name for name in STUDIED.values() if name in set(data["parameter"])]
        fig = figures.hyperparameter_study(data.dropna(subset=["score"]), order,
                                           ylabel=f"test {LABELS[metric]}", title=f"{reference} hyperparameters")
        _save_figure(section, out_dir, f"fig6_hyperparameters_{metric}", fig, data)
    _per_metric(section, metrics, build)


def _toy_factory(name: str, seed: int):
    """A registry sampler for the toy: baselines at TOY_RATIO, searchers against DT and Macro-F1."""
    all_entries()
    choice = parse_sampler(name)
    params = {**choice.fixed, "ratio": TOY_RATIO} if choice.entry.tunes_ratio else dict(choice.fixed)
    return lambda X_val, y_val: choice.entry.make(params, SamplerContext(seed, X_val, y_val, "DT", "macro_f1"))


def _figure7(section: Section, out_dir: Path, toy_csv: Path | None, names: Sequence[str], seed: int) -> None:
    if toy_csv is None:
        raise ValueError("no toy data was passed (toy_csv=None)")
    data = pd.read_csv(toy_csv)
    labels = data["label"].value_counts()
    X, y = data[["x", "y"]].to_numpy(dtype=float), (data["label"] == labels.idxmin()).astype(int).to_numpy()
    panels, scores = [], {}
    for name in names:
        try:   # a failing method is reported, as in the benchmark, and the others still drawn
            one_panel, one_score = figures.toy_case_study(X, y, {name: _toy_factory(name, seed)}, seed)
        except Exception as err:  # noqa: BLE001 - third-party samplers raise anything
            section.missing.append(f"{name} failed on the toy data: {type(err).__name__}: {err}")
            continue
        panels += one_panel
        scores.update(one_score)
    if not panels:
        raise ValueError("every toy sampler failed")
    section.notes.append(f"{toy_csv.name}: {labels.max()} majority / {labels.min()} minority "
                         f"({labels.idxmin()!r}); stratified 60/20/20 split with seed {seed}; DecisionTree; "
                         f"test Macro-F1 in each title; baselines resample to ratio {TOY_RATIO}.")
    fig = figures.toy_boundaries(panels, title="Toy data: synthetic samples and DecisionTree regions")
    table = pd.DataFrame({"sampler": list(scores), "test_macro_f1": list(scores.values()),
                          "n_synthetic": [len(p[3]) for p in panels]})
    _save_figure(section, out_dir, "fig7_toy", fig, table)


def _cd(section: Section, out_dir: Path, runs: pd.DataFrame, metrics, alpha: float, noop: str) -> None:
    if runs.empty:
        raise ValueError("no rows of the paper's IR protocol")

    def build(metric):
        _, cfg, ranks = _ranked(runs, metric, noop)
        overall = ranks[stats.OVERALL].dropna()
        if len(overall) < 2:
            raise ValueError("fewer than two samplers have a complete overall rank")
        cd = figures.nemenyi_cd(len(overall), len(cfg), alpha)
        fig = figures.critical_difference(overall, len(cfg), alpha, title=f"{LABELS[metric]}: Nemenyi CD = "
                                          f"{cd:.2f} ({len(overall)} samplers, {len(cfg)} configurations)")
        data = overall.rename("overall_rank").reset_index().assign(cd=cd, n_configurations=len(cfg))
        _save_figure(section, out_dir, f"cd_{metric}", fig, data)
        left_out = ", ".join(ranks.index[ranks[stats.OVERALL].isna()]) or "none"
        section.notes.append(f"{LABELS[metric]}: CD = {cd:.2f} at alpha {alpha:g}; samplers incomplete "
                             f"somewhere are left out: {left_out}.")
    _per_metric(section, metrics, build)


# ------------------------------------------------------------------------------------ comparison


def _paper_ranks(paper_tables: Path, metric: str) -> pd.DataFrame:
    """The paper's Table 2 for one metric: samplers x datasets, printed and recomputed overall."""
    long = pd.read_csv(paper_tables / "table2.csv")
    wide = long.pivot(index="sampler", columns="dataset", values=f"{metric}_rank")
    datasets = [d for d in pd.unique(long["dataset"]) if d != stats.OVERALL]
    wide = wide[datasets + [stats.OVERALL]].rename(columns={stats.OVERALL: "printed overall"})
    wide[stats.OVERALL] = wide[datasets].mean(axis=1)
    return wide.loc[pd.unique(long["sampler"])]


def paper_comparison(ours: pd.DataFrame, paper: pd.DataFrame, reference: str) -> tuple[pd.DataFrame, dict]:
    """Side by side overall ranks over the samplers both tables rank, and the Spearman correlations.

    ``ours``: a :func:`bench.stats.rank_table`; ``paper``: :func:`_paper_ranks`. Positions (1 = best) are
    re-counted within the common samplers, so they compare even when the two rank different sets.
    Returns (side-by-side frame, summary dict with rho, p, n, per-dataset rhos).
    """
    common = [s for s in paper.index if s in ours.index and np.isfinite(ours.at[s, stats.OVERALL])]
    side = pd.DataFrame({"paper overall (printed)": paper.loc[common, "printed overall"],
                         "paper overall": paper.loc[common, stats.OVERALL],
                         "ours overall": ours.loc[common, stats.OVERALL]})
    side.index.name = "sampler"
    side["paper position"] = side["paper overall"].rank(method="min").astype(int)
    side["our position"] = side["ours overall"].rank(method="min").astype(int)
    side["shift"] = side["our position"] - side["paper position"]
    rho, p = spearmanr(side["paper overall"], side["ours overall"]) if len(common) >= 3 else (np.nan, np.nan)
    per_dataset = {}
    for dataset in [c for c in ours.columns if c != stats.OVERALL and c in paper.columns]:
        both = ours.loc[common, dataset].notna()
        if both.sum() >= 3:
            per_dataset[dataset] = (float(spearmanr(paper.loc[common, dataset][both],
                                                    ours.loc[common, dataset][both])[0]), int(both.sum()))
    summary = {"rho": float(rho), "p": float(p), "n": len(common), "per_dataset": per_dataset}
    if reference in paper.index:
        datasets = [c for c in paper.columns if c not in (stats.OVERALL, "printed overall")]
        summary["paper_reference"] = {
            "printed": float(paper.at[reference, "printed overall"]),
            "overall": float(paper.at[reference, stats.OVERALL]),
            "position": int(paper[stats.OVERALL].rank(method="min")[reference]), "of": len(paper),
            "best_everywhere": bool((paper[datasets].rank(method="min").loc[reference] == 1).all())}
    return side.sort_values("paper overall", kind="mergesort"), summary


def _comparison(section: Section, out_dir: Path, runs: pd.DataFrame, metrics, reference: str, noop: str,
                paper_tables: Path | None) -> None:
    if paper_tables is None:
        raise ValueError("no paper tables were passed (paper_tables=None)")
    if runs.empty:
        raise ValueError("no rows of the paper's IR protocol")
    lines = ["# Our overall ranks against the paper's Table 2", "",
             "The paper's overall column is recomputed as the mean of its six dataset columns: its printed MCC "
             "overall has two inconsistent cells (ClusterCentroids 14.58 against a mean of 16.96, "
             "CondensedNearestNeighbour 17.19 against 17.26). Our ranks are over the samplers and configurations "
             "we ran, so absolute ranks only compare when both rank the same 25 samplers over all 72 "
             "configurations; positions are re-counted within the samplers both tables have.", ""]
    for metric in metrics:
        _, cfg, ours = _ranked(runs, metric, noop)
        side, summary = paper_comparison(ours, _paper_ranks(paper_tables, metric), reference)
        stem = out_dir / f"paper_comparison_{metric}.csv"
        side.to_csv(stem)
        section.files.append(stem)
        lines += _comparison_text(metric, ours, cfg, side, summary, reference)
    path = out_dir / "paper_comparison.md"
    path.write_text("\n".join(lines) + "\n")
    section.files.insert(0, path)


def _comparison_text(metric, ours, cfg, side, summary, reference) -> list[str]:
    label = LABELS[metric]
    ranked = ours[stats.OVERALL].dropna()
    lines = [f"## {label}", "",
             f"{summary['n']} samplers in common; ours ranks {len(ranked)} samplers over {len(cfg)} configurations "
             f"(paper: 25 over 72). Spearman correlation of the overall columns: rho = {summary['rho']:.2f} "
             f"(p = {summary['p']:.3g}).", ""]
    if summary["per_dataset"]:
        lines.append("Per dataset: " + "; ".join(f"{d} rho = {r:.2f} ({n} samplers)"
                                                 for d, (r, n) in summary["per_dataset"].items()) + ".")
        lines.append("")
    known = summary.get("paper_reference")
    paper_text = (f"paper: {known['overall']:.2f} (printed {known['printed']:.2f}), position {known['position']} of "
                  f"{known['of']}" + (", best on every dataset" if known["best_everywhere"] else "")
                  if known else "not in the paper's Table 2")
    if reference in ranked.index:
        position = int(ranked.rank(method="min")[reference])
        lines.append(f"**{reference}**: overall rank {ranked[reference]:.2f}, position {position} of {len(ranked)} "
                     f"here; {paper_text}.")
        if reference in side.index and side.at[reference, "shift"] != 0:
            ahead = ", ".join(ranked.index[ranked < ranked[reference]]) or "none"
            lines.append(f"**Disagreement:** among the {summary['n']} samplers both rank, {reference} is at position "
                         f"{side.at[reference, 'our position']} here and {side.at[reference, 'paper position']} in "
                         f"the paper; ahead of it here: {ahead}.")
    else:
        lines.append(f"**{reference}** has no complete overall rank here (missing or failed runs), so where it "
                     f"lands cannot be compared ({paper_text}).")
    moved = side[side["shift"].abs() >= MOVED_POSITIONS]
    if summary["n"] >= 3 and not summary["p"] < 0.05:
        lines.append(f"**Disagreement:** the two orderings are not significantly correlated (p >= 0.05).")
    if not moved.empty:
        lines.append(f"**Disagreement:** samplers {MOVED_POSITIONS} or more positions away from the paper's: "
                     + ", ".join(f"{s} ({int(r['paper position'])} -> {int(r['our position'])})"
                                 for s, r in moved.iterrows()) + ".")
    lines += ["", tables.render_frame(side, fmt="markdown", title=f"Overall ranks, {label}"), ""]
    return lines


def _failures(section: Section, out_dir: Path, frame: pd.DataFrame) -> None:
    if frame.empty:
        raise ValueError("the store has no rows")
    counts = frame.pivot_table(index="sampler", columns="status", values="key", aggfunc="count", fill_value=0)
    path = out_dir / "failures.csv"
    counts.to_csv(path)
    section.files.append(path)


# ------------------------------------------------------------------------------------ index.md


def _index(sections: list[Section], frame: pd.DataFrame, invocations: pd.DataFrame,
           environments: pd.DataFrame) -> str:
    lines = ["# Benchmark report", "",
             f"From {len(frame)} stored rows. Every table and figure below is computed from those rows; "
             "Markdown, LaTeX and CSV hold the same numbers, and each figure's numbers are in the CSV beside it.",
             "", "## What ran", ""] + provenance.invocation_lines(invocations) + [""]
    lines += ["## Environments", ""] + provenance.environment_lines(environments, frame) + [""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        lines += [f"- [{p.name}]({p.name})" for p in section.files]
        lines += [f"- not produced: {why}" for why in section.missing]
        for note in section.notes:
            lines += ["", note]
        lines.append("")
    lines += ["## Failed runs per sampler", ""] + _failure_lines(frame)
    return "\n".join(lines) + "\n"


def _failure_lines(frame: pd.DataFrame) -> list[str]:
    failed = frame[frame["status"].isin(["error", "timeout"])]
    if failed.empty:
        return [f"No failed runs among {len(frame)}."]
    lines = ["| sampler | failed | of runs | most common message |", "|:---|---:|---:|:---|"]
    totals = frame.groupby("sampler").size()
    for sampler, rows in failed.groupby("sampler"):
        message = rows["message"].value_counts().index[0].replace("|", "\\|")
        lines.append(f"| {sampler} | {len(rows)} | {totals[sampler]} | {message[:160]} |")
    return lines
