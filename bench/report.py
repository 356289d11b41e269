"""Assemble the paper's tables from the store: select -> average -> rank -> test -> render."""
from __future__ import annotations

import dataclasses
import json

import pandas as pd

from . import stats, tables as render
from .config import Settings
from .datasets import DataCatalog, table1
from .metrics import LABELS
from .samplers.registry import all_entries
from .store import StoreError

MISSING = "—"


def tables(frame: pd.DataFrame, catalog: DataCatalog, settings: Settings, *, metric: str, which: str,
           fmt: str, reference: str | None = None, pairing: str | None = None,
           alternative: str | None = None, noop: str | None = None) -> str:
    parts = []
    if which in ("1", "all"):
        parts.append(dataset_table(frame, catalog, fmt))
    if which == "gumbel":
        return gumbel_table(frame, metric, fmt)
    t = settings.table
    setting = stats.WilcoxonSetting(reference or t.reference, pairing or t.pairing,
                                    alternative or t.alternative, t.alpha)
    if which == "3":
        return smote_variants_table(frame, metric, setting, fmt)
    ablation = frame["sampler"].str.startswith("AutoSMOTE[ablation=")
    if which == "4":
        family = ablation_family(frame, "AutoSMOTE")
        if not (family["sampler"] != "AutoSMOTE").any():
            raise StoreError("no AutoSMOTE ablation rows in the store: run e.g. "
                             "`bench run --samplers 'AutoSMOTE,AutoSMOTE[ablation=random_search]'` first")
        full = dataclasses.replace(setting, reference="AutoSMOTE")
        return rank_table(family, metric, full, noop or t.noop, fmt, title=f"Table 4: ablations, {LABELS[metric]}")
    if which in ("2", "all"):
        table2_rows = frame[~frame["sampler"].str.startswith("sv.") & ~ablation]
        parts.append(rank_table(table2_rows, metric, setting, noop or t.noop, fmt))
    return "\n\n".join(parts)


def ablation_family(frame: pd.DataFrame, reference: str) -> pd.DataFrame:
    """The reference's rows and those of its `[ablation=...]` variants, on the configurations (dataset, IR,
    seed, classifier) where an ablation ran: the reference's other runs (e.g. Table 2 runs on other datasets
    or IRs) are not comparisons, and would leave every ablation unranked for lack of a score there."""
    params = frame["params"].map(lambda text: json.loads(text) if isinstance(text, str) else {})
    ablation = (frame["sampler"].astype(str).str.startswith(f"{reference}[")
                & params.map(lambda p: "ablation" in p)).astype(bool)
    keys = ["dataset", "ir", "seed", "classifier"]
    covered = frame.loc[ablation, keys].drop_duplicates()
    return frame[ablation | (frame["sampler"] == reference)].merge(covered, on=keys)


def smote_variants_table(frame: pd.DataFrame, metric: str, setting: stats.WilcoxonSetting, fmt: str) -> str:
    """Table 3: AutoSMOTE ranked among every smote-variants oversampler, overall, best first."""
    chosen = frame[frame["sampler"].str.startswith("sv.") | (frame["sampler"] == "AutoSMOTE")]
    if chosen.empty:
        raise StoreError("no smote-variants rows in the store: run `bench run --samplers smote_variants` first")
    best = stats.select_best(chosen, metric)
    cfg = stats.config_scores(best)
    ranks = stats.rank_table(cfg)[[stats.OVERALL]].sort_values(stats.OVERALL, na_position="last")
    notes = [f"Overall average rank (1 = best) of the test {LABELS[metric]} among {len(ranks)} samplers over "
             f"{len(cfg)} configurations (dataset, classifier, IR), seeds {_seeds(best)}; every sampler tuned on "
             "the validation split."]
    notes += _missing_notes(cfg, ranks)
    marks = None
    if setting.reference in set(best["sampler"]):
        marks = stats.better_marks(best, setting).loc[ranks.index, [stats.OVERALL]]
        notes.append(("▲ " if fmt == "markdown" else "") + setting.describe())
    else:
        notes.append(f"No Wilcoxon marks: the reference {setting.reference!r} has no results here.")
    return render.render_rank_table(ranks, marks, fmt=fmt, notes=notes,
                                    title=f"Table 3: AutoSMOTE among the smote-variants oversamplers, {LABELS[metric]}")


def dataset_table_frame(frame: pd.DataFrame, catalog: DataCatalog) -> pd.DataFrame:
    """Table 1 for the datasets and IRs in the store, with the paper's column names."""
    names = list(dict.fromkeys(frame["dataset"]))
    irs = sorted(int(i) for i in frame["ir"].dropna().unique())
    return table1([catalog.get(n) for n in names], irs).rename(columns={
        "name": "Dataset", "majority": "# Majorities", "minority": f"# Minorities (IR {'/'.join(map(str, irs))})",
        "n_features_encoded": "# Features"})


def dataset_table(frame: pd.DataFrame, catalog: DataCatalog, fmt: str) -> str:
    irs = sorted(int(i) for i in frame["ir"].dropna().unique())
    return render.render_frame(dataset_table_frame(frame, catalog), fmt=fmt,
                               title=f"Table 1: dataset statistics with imbalance ratios {'/'.join(map(str, irs))}",
                               notes=["Minorities: majority // IR, as in the paper (full data); "
                                      "each split is under-sampled the same way."])


def rank_table(frame: pd.DataFrame, metric: str, setting: stats.WilcoxonSetting, noop: str, fmt: str,
               title: str | None = None) -> str:
    runs = frame[frame["status"] != "no-op"] if noop == "missing" else frame
    best = stats.select_best(runs, metric)
    cfg = stats.config_scores(best)
    ranks = stats.rank_table(cfg)
    order = _sampler_order(ranks.index)
    ranks = ranks.loc[order]
    notes = [f"Average rank (1 = best) of the test {LABELS[metric]}: per configuration (dataset, classifier, "
             f"IR) each sampler's score is averaged over seeds {_seeds(best)}, after tuning on the validation "
             f"{LABELS[metric]}; {len(cfg)} configurations in 'overall'."]
    notes += _missing_notes(cfg, ranks)
    marks = None
    if setting.reference in set(best["sampler"]):
        marks = stats.better_marks(best, setting).loc[order]
        notes.append("▲ " + setting.describe() if fmt == "markdown" else setting.describe())
    else:
        notes.append(f"No Wilcoxon marks: the reference {setting.reference!r} has no results "
                     "(set [table] reference or --reference).")
    if noop == "missing":
        notes.append("Rows whose sampler returned its input unchanged (no-op) count as missing.")
    notes += _calibration_notes(runs)
    categories = {e.name: e.category for e in all_entries()}
    groups = {label: categories.get(label.split("[")[0], "other") for label in order}
    return render.render_rank_table(ranks, marks, fmt=fmt, notes=notes, groups=groups,
                                    title=title or f"Table 2: average ranks, {LABELS[metric]}")


def gumbel_table(frame: pd.DataFrame, metric: str, fmt: str) -> str:
    """The Gumbel-AutoSMOTE paper's table: mean +- std over seeds per dataset, average rank, training time."""
    best = stats.select_best(frame, metric)
    ranks = stats.rank_table(stats.config_scores(best))
    spread = best.groupby(["sampler", "dataset"], sort=False)["score"].agg(["mean", "std"])
    # a dataset where some seed failed has no mean: shown as missing, like every failed cell
    incomplete = best.groupby(["sampler", "dataset"], sort=False)["score"].apply(lambda s: s.isna().any())
    cells = (spread["mean"].map("{:.3f}".format) + " ± " + spread["std"].fillna(0).map("{:.3f}".format))
    cells = cells.where(~incomplete, MISSING).unstack()
    order = _sampler_order(cells.index)
    table = cells.loc[order, list(dict.fromkeys(best["dataset"]))]
    table["avg. rank"] = ranks.loc[order, stats.OVERALL].map("{:.2f}".format).replace("nan", MISSING)
    ok = frame[frame["status"].isin(["ok", "no-op"])]
    seconds = (ok["resample_s"] + ok["fit_s"]).groupby(ok["sampler"]).mean()
    table["train s/run"] = seconds.reindex(order).map("{:.1f}".format)
    table.index.name = "sampler"
    seeds = _seeds(best)
    return render.render_frame(table, fmt=fmt, title=f"Gumbel-AutoSMOTE protocol: test {LABELS[metric]}",
                               notes=[f"Mean ± std over seeds {seeds} of the test {LABELS[metric]}; average rank "
                                      "(1 = best) of the seed-averaged scores over the datasets; training time = "
                                      "resampling + classifier fit, mean seconds per run."])


# Seconds per unit when the store has no timing for a sampler: rough figures measured on mozilla4 / IR 20
# on one core of a 2-core machine (one resampling + four classifier fits); AutoSMOTE and Gumbel per episode
# or epoch. Only used by `bench run --dry-run` to plan; stored timings replace them as soon as they exist.
DEFAULT_UNIT_SECONDS = {"none": 2.0, "imblearn": 5.0, "smote_variants": 10.0, "sdv": 30.0, "mesa": 15.0,
                        "gumbel": 25.0}
AUTOSMOTE_SECONDS_PER_EPISODE = 0.1


def cost_estimate(units: list, frame: pd.DataFrame, workers: int) -> str:
    """CPU-hours per sampler group for a plan: stored median unit times where present, else a model."""
    measured = _unit_seconds(frame)
    families = {e.name: e.family for e in all_entries()}
    rows = []
    for unit in units:
        family = families.get(unit.sampler, "other")
        key = (unit.label, unit.dataset)
        if key in measured.index:
            seconds, source = measured[key], "stored"
        elif family == "autosmote":
            seconds, source = json.loads(unit.params).get("budget", 1000) * AUTOSMOTE_SECONDS_PER_EPISODE, "model"
        else:
            seconds, source = DEFAULT_UNIT_SECONDS.get(family, 10.0), "model"
        rows.append((family, len(unit.classifiers), seconds, source))
    plan = pd.DataFrame(rows, columns=["group", "rows", "seconds", "source"])
    if plan.empty:
        return "nothing to compute"
    summary = plan.groupby("group").agg(units=("rows", "size"), rows=("rows", "sum"), cpu_hours=("seconds", "sum"),
                                        from_store=("source", lambda s: f"{(s == 'stored').mean():.0%}"))
    summary["cpu_hours"] = (summary["cpu_hours"] / 3600).round(2)
    total = summary["cpu_hours"].sum()
    return (summary.to_string() + f"\ntotal {total:.2f} CPU-hours, about {total / max(workers, 1):.2f} h "
            f"on {workers} workers (from_store: share of units timed from stored runs of the same sampler "
            "and dataset; the rest from bench.report.DEFAULT_UNIT_SECONDS)")


def _unit_seconds(frame: pd.DataFrame) -> pd.Series:
    """Median seconds of a stored unit per (sampler, dataset): one resampling plus its classifier fits."""
    ok = frame[frame["status"].isin(["ok", "no-op"])]
    if ok.empty:
        return pd.Series(dtype=float)
    unit_keys = ["sampler", "dataset", "ir", "seed", "params", "tune_metric"]
    units = ok.groupby(unit_keys, dropna=False).agg(resample=("resample_s", "first"), fits=("fit_s", "sum"))
    seconds = (units["resample"] + units["fits"]).groupby(level=["sampler", "dataset"]).median()
    return seconds


def status_summary(frame: pd.DataFrame) -> str:
    counts = frame.pivot_table(index="sampler", columns="status", values="key", aggfunc="count", fill_value=0)
    lines = [counts.loc[_sampler_order(counts.index)].to_string()]
    failed = frame[frame["status"].isin(["error", "timeout"])]
    if not failed.empty:
        lines.append("\nmost common failures:")
        top = failed.groupby(["sampler", "message"]).size().sort_values(ascending=False).head(10)
        lines += [f"  {n:5d}  {sampler}: {message}" for (sampler, message), n in top.items()]
    return "\n".join(lines)


def _sampler_order(labels) -> list[str]:
    """Table 2's row order: the registry's order, unknown labels last."""
    position = {e.name: i for i, e in enumerate(all_entries())}
    return sorted(labels, key=lambda s: (position.get(s.split("[")[0], len(position)), s))


def _seeds(best: pd.DataFrame) -> str:
    return ",".join(str(s) for s in sorted(best["seed"].unique()))


def _calibration_notes(runs: pd.DataFrame) -> list[str]:
    """MESA needs class probabilities; a classifier without them (LinearSVC) ran calibrated, which the table
    must say because that is a different base model from the one the other samplers are scored with."""
    rows = runs[runs["sampler"].str.split("[").str[0] == "MESA"]
    calibrated = sorted({c for c, extra in zip(rows["classifier"], rows["extra"])
                         if json.loads(extra or "{}").get("calibrated")})
    if not calibrated:
        return []
    return [f"MESA with {', '.join(calibrated)}: the base classifier has no predict_proba, so MESA's ensemble "
            "uses it wrapped in scikit-learn's CalibratedClassifierCV (sigmoid, up to 3 folds); the other samplers "
            "use it as is."]


def _missing_notes(cfg: pd.DataFrame, ranks: pd.DataFrame) -> list[str]:
    incomplete = cfg.isna().sum()
    incomplete = incomplete[incomplete > 0]
    if incomplete.empty:
        return []
    listed = ", ".join(f"{s} ({n} of {len(cfg)})" for s, n in incomplete.items())
    return [f"— = not ranked in that column: the sampler lacks a valid score (failed, timed out or missing) "
            f"in some of its configurations; ranks there are over the samplers complete in every one. "
            f"Incomplete configurations per sampler: {listed}."]
