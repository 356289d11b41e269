"""The figures: the paper's Figures 4-7 and the critical-difference diagram, each a PNG and its numbers as CSV.

Drawing is :mod:`bench.analysis.plots`; here each figure's rows, when it does not apply, and its numbers.
"""
from __future__ import annotations

import pandas as pd
from autosmote.space import DEFAULT_G2, DEFAULT_K_NEIGHBORS, cross_instance_actions

from .. import stats
from ..data.split_protocol import SplitKind
from ..metrics import LABELS
from ..run_status import RunStatus
from ..samplers.labels import SamplerLabels
from ..samplers.registry import parse_sampler
from . import plots
from .artefact import Built, FigureArtefact
from .context import NotApplicable, describe_rows, is_variant_of, json_dict, listing
from .properties import OnDatasets, left_out_notes
from .tables import OnTable2Rows, ranked

CURVE_SETTING = {"dataset": "mozilla4", "ir": 50, "classifier": "SVM"}   # Figure 5
CURVE_EXCLUDED = ("merged",)        # the paper leaves it out of Figure 5: it tunes on its own training data
STUDIED = {"g1": "G1*G2/IR", "g2": "G2", "k_neighbors": "K"}          # Figure 6's panels, by parameter
# AutoSMOTE's defaults of the studied parameters, from autosmote.space (which the sampler's signature uses too,
# and which loads no torch). G1 unset is autosmote.space's rule.
AUTOSMOTE_DEFAULTS = {"g1": None, "g2": DEFAULT_G2, "k_neighbors": DEFAULT_K_NEIGHBORS}
TOY_RATIO = 1.0                     # baselines balance the toy training set (the paper names no ratio)


class RanksByGroup(OnTable2Rows, FigureArtefact):
    """Figure 4: the reference's average rank among Table 2's samplers per classifier and per IR."""
    key, stem = "fig4", "fig4_ranks"

    def title(self, ctx):
        return f"Figure 4: {ctx.options.reference}'s rank per classifier and per IR"

    def applies(self, ctx):
        return self.compares_the_reference(ctx)

    def describe(self, ctx):
        return [f"Ranks among Table 2's samplers, computed {describe_rows(self.rows(ctx))}; bars: "
                f"{ctx.options.reference}; diamonds: the median rank of all samplers."]

    def build(self, ctx, metric):
        ref = ctx.options.reference
        best, _, _ = ranked(self.rows(ctx), metric, ctx.options.noop)
        by_classifier, by_ir = plots.group_ranks(best, "classifier"), plots.group_ranks(best, "ir")
        if by_classifier.loc[ref].isna().all() and by_ir.loc[ref].isna().all():
            raise NotApplicable(f"{ref} is incomplete in every classifier's and every IR's configurations")
        data = pd.concat([frame.reset_index().melt(id_vars="sampler", var_name="group", value_name="rank")
                          .assign(grouping=grouping)
                          for grouping, frame in (("classifier", by_classifier), ("ir", by_ir))])
        return Built(f"{ref}, {LABELS[metric]}", data[["grouping", "group", "sampler", "rank"]],
                     extra={"by_classifier": by_classifier, "by_ir": by_ir, "reference": ref})

    def draw(self, built):
        return plots.rank_by_group(built.extra["by_classifier"], built.extra["by_ir"], built.extra["reference"],
                                   title=built.title)


class SearchCurves(FigureArtefact):
    """Figure 5: best-so-far validation score per episode, the reference and its ablations, at CURVE_SETTING."""
    key, stem, heading = "fig5", "fig5_search_curves", "Figure 5: search curves"
    where = ", ".join(f"{k} {v}" for k, v in CURVE_SETTING.items())

    def _at_setting(self, ctx) -> pd.DataFrame:
        rows, ref = ctx.rows(SplitKind.IR), ctx.options.reference
        here = rows[(rows["dataset"] == CURVE_SETTING["dataset"]) & (rows["ir"] == CURVE_SETTING["ir"])
                    & (rows["classifier"] == CURVE_SETTING["classifier"]) & (rows["status"] == RunStatus.OK)]
        ablations = is_variant_of(here["sampler"], ref, {"ablation"}, ctx.samplers)
        return here[((here["sampler"] == ref) | ablations).astype(bool)]

    @staticmethod
    def _excluded(ctx, labels: pd.Series) -> pd.Series:
        return labels.map(lambda s: ctx.samplers(s).fixed.get("ablation") in CURVE_EXCLUDED).astype(bool)

    def rows(self, ctx):
        here = self._at_setting(ctx)
        return here[~self._excluded(ctx, here["sampler"])]

    def applies(self, ctx):
        if "extra" not in ctx.frame.columns:
            return "the store has no extra column (written by an older bench)"
        return None if not self.rows(ctx).empty else \
            f"no successful {ctx.options.reference} or ablation rows at {self.where}"

    def describe(self, ctx):
        return [f"{self.where}; mean +- std over seeds {listing(self.rows(ctx)['seed'])}; the 'merged' ablation "
                "is left out, as in the paper."]

    def build(self, ctx, metric):
        rows = self.rows(ctx)
        tuned = rows[rows["tune_metric"] == metric]
        curves: dict[str, list[list[float]]] = {}
        for label, extra in zip(tuned["sampler"], tuned["extra"]):
            curve = json_dict(extra).get("curve")
            if curve:
                curves.setdefault(label, []).append(curve)
        if not curves:
            raise NotApplicable(f"no stored search curve tuned on {metric} at {self.where}")
        here = self._at_setting(ctx)
        excluded = pd.unique(here.loc[self._excluded(ctx, here["sampler"]), "sampler"])
        left_out = {s: "as in the paper: it tunes on its own training data" for s in excluded}
        left_out.update({s: f"no curve tuned on {metric}" for s in pd.unique(rows["sampler"]) if s not in curves})
        return Built(self.where, plots.curve_summary(curves),
                     extra={"curves": curves, "left_out": left_out, "ylabel": f"best validation {LABELS[metric]}"})

    def draw(self, built):
        return plots.search_curves(built.extra["curves"], ylabel=built.extra["ylabel"], title=built.title,
                                   left_out=built.extra["left_out"])


def _studied(labels: pd.Series, reference: str, samplers: SamplerLabels) -> pd.Series:
    """Variants of the reference fixing a studied parameter (not an ablation)."""
    return (is_variant_of(labels, reference, set(STUDIED), samplers)
            & ~is_variant_of(labels, reference, {"ablation"}, samplers))


def hyperparameter_scores(rows: pd.DataFrame, metric: str, reference: str = "AutoSMOTE",
                          samplers: SamplerLabels | None = None) -> pd.DataFrame:
    """Figure 6's data: per run of the reference or a variant with fixed g1 / g2 / k_neighbors, its test score
    under each studied parameter whose companions are at their defaults (the paper's one-at-a-time design).

    Columns: parameter ("G1*G2/IR", "G2" or "K"), value, score, dataset, classifier, ir, seed, sampler. Only
    runs (dataset, classifier, IR, seed) that some variant has are used, so the default point is measured on
    the same runs as the variants. G1 left unset is the library's default for the run's IR.
    """
    variant = _studied(rows["sampler"], reference, samplers or SamplerLabels())
    if not variant.any():
        raise NotApplicable(f"no {reference}[g1=...|g2=...|k_neighbors=...] rows")
    keys = ["dataset", "classifier", "ir", "seed"]
    covered = rows.loc[variant, keys].drop_duplicates()
    family = rows[variant | (rows["sampler"] == reference)].merge(covered, on=keys)
    best = stats.select_best(family, metric)
    defaults = AUTOSMOTE_DEFAULTS
    records = []
    for row in best.itertuples(index=False):
        p = {**defaults, **json_dict(row.params)}
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


class HyperparameterStudy(FigureArtefact):
    """Figure 6: AutoSMOTE's score against G1*G2/IR, G2 and K, from the reference's variants fixing them."""
    key, stem, heading = "fig6", "fig6_hyperparameters", "Figure 6: hyperparameter study"

    def rows(self, ctx):
        rows, ref = ctx.rows(SplitKind.IR), ctx.options.reference
        return rows[(_studied(rows["sampler"], ref, ctx.samplers) | (rows["sampler"] == ref)).astype(bool)]

    def applies(self, ctx):
        ref = ctx.options.reference
        if ctx.samplers(ref).family != "autosmote":
            return f"the study varies AutoSMOTE's parameters, and the reference {ref} is no AutoSMOTE"
        if not _studied(self.rows(ctx)["sampler"], ref, ctx.samplers).any():
            return f"no {ref}[g1=...|g2=...|k_neighbors=...] rows"
        return None

    def build(self, ctx, metric):
        ref, label = ctx.options.reference, LABELS[metric]
        data = hyperparameter_scores(self.rows(ctx), metric, ref, ctx.samplers)
        if data.empty:
            raise NotApplicable("no studied parameter takes more than one value")
        drawn = data.dropna(subset=["score"])
        if drawn.empty:
            raise NotApplicable("every run of the study failed")
        failed = sorted(set(data["sampler"]) - set(drawn["sampler"]))
        summary = [f"{label}: {data['sampler'].nunique()} settings on datasets {listing(data['dataset'])}, IRs "
                   f"{listing(data['ir'])}; {int(data['score'].isna().sum())} failed runs left out of the means."]
        return Built(f"{ref} hyperparameters", data, summary=summary,
                     extra={"drawn": drawn, "left_out": {s: "every run failed" for s in failed},
                            "ylabel": f"test {label}"})

    def draw(self, built):
        drawn = built.extra["drawn"]
        order = [name for name in STUDIED.values() if name in set(drawn["parameter"])]
        return plots.hyperparameter_study(drawn, order, ylabel=built.extra["ylabel"], title=built.title,
                                          left_out=built.extra["left_out"])


def _toy_sampler(name: str):
    """A registry sampler for the toy and its parameters: baselines at TOY_RATIO."""
    choice = parse_sampler(name)
    params = {**choice.fixed, "ratio": TOY_RATIO} if choice.entry.tunes_ratio else dict(choice.fixed)
    return choice.entry, params


class ToyCaseStudy(FigureArtefact):
    """Figure 7: samplers run now on the 2-D toy data (the only artefact that computes, and may import the
    methods' libraries)."""
    key, stem, heading, per_metric, readable = "fig7", "fig7_toy", "Figure 7: toy case study", False, False

    def applies(self, ctx):
        if ctx.options.toy_csv is None:
            return "no toy data was passed: give Figure 7's 2-D CSV with --toy FILE"
        return None

    def build(self, ctx, metric):
        toy_csv, seed = ctx.options.toy_csv, ctx.options.toy_seed
        data = pd.read_csv(toy_csv)
        labels = data["label"].value_counts()
        X, y = data[["x", "y"]].to_numpy(dtype=float), (data["label"] == labels.idxmin()).astype(int).to_numpy()
        panels, scores, failed = [], {}, {}
        for name in ctx.options.toy_samplers:
            try:   # a failing method is reported, as in the benchmark, and the others still drawn
                one_panel, one_score = plots.toy_case_study(X, y, {name: _toy_sampler(name)}, seed)
            except Exception as err:  # noqa: BLE001 - third-party samplers raise anything
                failed[name] = f"failed: {type(err).__name__}: {err}"
                continue
            panels += one_panel
            scores.update(one_score)
        if not panels:
            raise NotApplicable("every toy sampler failed")
        summary = [f"{toy_csv.name}: {labels.max()} majority / {labels.min()} minority ({labels.idxmin()!r}); "
                   f"stratified 60/20/20 split with seed {seed}; DecisionTree; test Macro-F1 in each title; "
                   f"baselines resample to ratio {TOY_RATIO}."]
        summary += [f"{name} failed on the toy data: {why.removeprefix('failed: ')}" for name, why in failed.items()]
        table = pd.DataFrame({"sampler": list(scores), "test_macro_f1": list(scores.values()),
                              "n_synthetic": [len(p[3]) for p in panels]})
        return Built("Toy data: synthetic samples and DecisionTree regions", table, summary=summary,
                     extra={"panels": panels, "left_out": failed})

    def draw(self, built):
        return plots.toy_boundaries(built.extra["panels"], title=built.title, left_out=built.extra["left_out"])


class CriticalDifference(OnTable2Rows, FigureArtefact):
    """Demsar's diagram over Table 2's samplers complete in every configuration: Friedman first, Nemenyi's
    cliques only when it rejects."""
    key, stem, heading = "cd", "cd", "Critical-difference diagrams"

    def build(self, ctx, metric):
        from ..stats_tests import friedman_test

        _, cfg, ranks = ranked(self.rows(ctx), metric, ctx.options.noop)
        try:
            friedman = friedman_test(cfg, alpha=ctx.options.alpha)
        except ValueError as err:
            raise NotApplicable(str(err)) from None
        label = LABELS[metric]
        left_out = list(ranks.index[ranks[stats.OVERALL].isna()])
        post_hoc = ("Nemenyi's cliques drawn" if friedman.rejects
                    else "no Nemenyi post-hoc test, as Friedman does not reject (Demsar 2006)")
        summary = [f"{label}: {friedman.describe()} {post_hoc}; samplers incomplete somewhere are left out: "
                   f"{', '.join(left_out) or 'none'}."]
        data = friedman.mean_ranks.rename("overall_rank").reset_index().assign(
            cd=friedman.cd, n_configurations=friedman.n, friedman_chi2=friedman.statistic,
            friedman_p=friedman.pvalue)
        title = (f"{label}: Nemenyi CD = {friedman.cd:.2f} ({friedman.k} samplers, {friedman.n} configurations)"
                 if friedman.rejects else f"{label}: {friedman.k} samplers, {friedman.n} configurations")
        return Built(title, data, summary=summary,
                     extra={"friedman": friedman, "left_out": {s: "incomplete" for s in left_out}})

    def draw(self, built):
        return plots.critical_difference(built.extra["friedman"], title=built.title,
                                         left_out=built.extra["left_out"])


class DatasetCriticalDifference(OnDatasets, CriticalDifference):
    """Demsar's diagram over datasets, for a collection (the holdout split): each dataset one block, a sampler's
    score there the mean of its configurations (classifiers; each averaged over seeds). Friedman first, Nemenyi's
    cliques only when it rejects; the CSV adds each sampler's Nemenyi p-value against the reference."""
    key, stem, heading = "cd-datasets", "cd_datasets", "Critical-difference diagrams over datasets"

    def build(self, ctx, metric):
        from ..stats_tests import friedman_test, nemenyi_table

        ref, label = ctx.options.reference, LABELS[metric]
        over = self.over_datasets(ctx, metric)
        try:
            friedman = friedman_test(over.block, alpha=ctx.options.alpha, blocks="datasets")
        except ValueError as err:
            raise NotApplicable(str(err)) from None
        post_hoc = ("Nemenyi's cliques drawn" if friedman.rejects
                    else "no Nemenyi post-hoc test, as Friedman does not reject (Demsar 2006)")
        summary = [f"{label}: {friedman.describe()} {post_hoc}.", *left_out_notes(over, self.rows(ctx))]
        data = friedman.mean_ranks.rename("rank_over_datasets").reset_index().assign(
            cd=friedman.cd, n_datasets=friedman.n, friedman_chi2=friedman.statistic, friedman_p=friedman.pvalue)
        if ref in over.block.columns:   # Nemenyi's p-values against the reference (1 for itself)
            data[f"nemenyi_p_vs_{ref}"] = data["sampler"].map(nemenyi_table(over.block)[ref])
        title = (f"{label}: Nemenyi CD = {friedman.cd:.2f} ({friedman.k} samplers, {friedman.n} datasets)"
                 if friedman.rejects else f"{label}: {friedman.k} samplers, {friedman.n} datasets")
        left_out = {s: f"missing on {n} datasets" for s, n in over.left_out_samplers.items()}
        if over.left_out_datasets:
            left_out[f"{len(over.left_out_datasets)} datasets"] = "a compared sampler lacks a score there"
        return Built(title, data, summary=summary, extra={"friedman": friedman, "left_out": left_out})
