"""The tables: the paper's Tables 1-4, the Gumbel-AutoSMOTE paper's table, the Bayesian signed-rank
comparison of the reference with each sampler, and the failed runs.

Each is computed select -> tune (best validation score) -> average over seeds -> rank -> test -> render.
"""
from __future__ import annotations

import json

import pandas as pd

from .. import stats
from ..data import table1
from ..data.split_protocol import HOLDOUT_MIN_CLASS_ROWS, TOO_SMALL_FOR_HOLDOUT, SplitKind
from ..metrics import LABELS
from ..run_status import FAILED, SCORED, RunStatus
from . import render as text
from .artefact import Artefact, Built, MarkNote, built_for, notes_for
from ..samplers.labels import SamplerLabels
from .context import AS_INPUT, SMOTE_VARIANTS, TUNED_KINDS, Context, NotApplicable, describe_rows, listing

MISSING = "—"
PAPER_ABLATIONS = {None: "full AutoSMOTE", "no_cross_instance": "w/o cross-instance sub-policy",
                   "no_instance_specific": "w/o instance-specific sub-policy", "no_low_level": "w/o low-level policy",
                   "flat": "flat policy", "random_search": "random search",
                   "merged": "merging training and validation sets"}
OTHER_READINGS = {"random_per_row": "random search, amount drawn per row", "random_flat": "random flat policy"}
ROPE = 0.01                 # Bayesian test: differences within +-0.01 (Macro-F1, MCC) count as equivalent
BAYES_SAMPLES = 50000


# ------------------------------------------------------------------------------------ shared pipeline


def ranked(rows: pd.DataFrame, metric: str, noop: str):
    """Table 2's pipeline as frames: (best, cfg, ranks) - tuned rows, seed-averaged configuration scores,
    average ranks. ``noop="missing"``: rows whose sampler returned its input unchanged count as missing."""
    used = rows[rows["status"] != RunStatus.NO_OP] if noop == "missing" else rows
    best = stats.select_best(used, metric)
    cfg = stats.config_scores(best)
    return best, cfg, stats.rank_table(cfg)


def reference_marks(best: pd.DataFrame, ranks: pd.DataFrame, setting: stats.WilcoxonSetting):
    """(marks, note): the Wilcoxon marks (reference significantly better), only in the columns where the
    reference is ranked, and the note that explains them - or (None, why there are none)."""
    ref = setting.reference
    if not best.loc[best["sampler"] == ref, "score"].notna().any():
        return None, f"No Wilcoxon marks: the reference {ref!r} has no results (set [table] reference or --reference)."
    ranked_in = ranks.loc[ref].notna() if ref in ranks.index else pd.Series(False, index=ranks.columns)
    if not ranked_in.any():
        return None, (f"No Wilcoxon marks: the reference {ref!r} is not ranked (it lacks a score in some "
                      "configuration of every column).")
    marks = stats.better_marks(best, setting).reindex(index=ranks.index, columns=ranks.columns).eq(True)
    marks.loc[:, ~ranked_in.to_numpy()] = False
    note = setting.describe()
    if not ranked_in.all():
        note += (f" No marks in the columns where {ref} is not ranked: "
                 f"{', '.join(map(str, ranks.columns[~ranked_in.to_numpy()]))}.")
    return marks, MarkNote(note)


def seeds_of(best: pd.DataFrame) -> str:
    """"seeds 1,2,3", or "seed 1"."""
    seeds = sorted(best["seed"].unique())
    return ("seed " if len(seeds) == 1 else "seeds ") + ",".join(str(s) for s in seeds)


def missing_notes(cfg: pd.DataFrame) -> list[str]:
    incomplete = cfg.isna().sum()
    incomplete = incomplete[incomplete > 0]
    if incomplete.empty:
        return []
    listed = ", ".join(f"{s} ({n} of {len(cfg)})" for s, n in incomplete.items())
    return [f"— = not ranked in that column: the sampler lacks a valid score (failed, timed out, skipped or missing) "
            f"in some of its configurations; ranks there are over the samplers complete in every one. "
            f"Incomplete configurations per sampler: {listed}."]


def skipped_notes(rows: pd.DataFrame) -> list[str]:
    """Cells a method declared it cannot handle (bench.protocol.why_it_cannot_run), or whose data is too small for
    the split (bench.data.split_protocol.holdout_split): missing by design, not failed."""
    skipped = rows[rows["status"] == RunStatus.SKIPPED]
    too_small = skipped["message"].fillna("").astype(str).str.startswith(TOO_SMALL_FOR_HOLDOUT)
    notes = []
    if too_small.any():
        per_dataset = skipped[too_small].groupby("dataset", sort=False)["message"].first()
        notes.append(f"Skipped, not failed: {len(per_dataset)} dataset(s) {TOO_SMALL_FOR_HOLDOUT}, every sampler's "
                     "runs there: " + "; ".join(m.removeprefix(TOO_SMALL_FOR_HOLDOUT + ": ").split(", and")[0]
                                                for m in per_dataset) + f" (at least {HOLDOUT_MIN_CLASS_ROWS} rows "
                     "of each class are needed).")
        skipped = skipped[~too_small]
    if skipped.empty:
        return notes
    reasons = skipped.groupby("sampler")["message"].agg(lambda m: m.value_counts().index[0])
    listed = "; ".join(f"{s} ({(skipped['sampler'] == s).sum()} runs): {why}" for s, why in reasons.items())
    return notes + [f"Skipped, not failed (the method cannot handle the data there, by its own declaration): {listed}."]


def as_input_notes(rows: pd.DataFrame) -> list[str]:
    """Samplers scored as their input where they could not run ([table] failed = input,
    bench.analysis.context.scored_as_input): where, and why."""
    marked = rows[rows["message"].fillna("").astype(str).str.startswith(AS_INPUT)]
    if marked.empty:
        return []
    listed = []
    for sampler, own in marked.groupby("sampler", sort=False):
        why = own["message"].value_counts().index[0].removeprefix(AS_INPUT).strip(" ()")
        configurations = own[["dataset", "ir", "classifier"]].drop_duplicates()
        listed.append(f"{sampler} in {len(configurations)} configuration(s) on {listing(own['dataset'])} ({why})")
    return [f"Scored as its input (No-resampling's score) where it could not run - smote_variants' rule for an "
            f"oversampler that cannot run; `--failed missing` leaves it unranked there: {'; '.join(listed)}."]


def holdout_notes(rows: pd.DataFrame, ctx: Context) -> list[str]:
    """What IR 0 means where the rows hold the holdout split's configurations."""
    if not (ctx.split_kinds.reindex(rows.index) == SplitKind.HOLDOUT).any():
        return []
    return [f"IR 0: the {SplitKind.HOLDOUT} split, at the data's own imbalance (per seed a stratified 60/20/20 "
            "train/validation/test split, no under-sampling; every sampler tuned on the validation part)."]


def untuned_notes(rows: pd.DataFrame, metric: str) -> list[str]:
    """Samplers left without a score because several parameter sets (a ratio grid) ran on a split without a
    validation part, which leaves nothing to choose among them by (bench.stats.select_best): why, and what to
    run instead."""
    val = rows.get(f"val_{metric}")
    if val is None:
        return []
    usable = rows["status"].isin(SCORED) & (rows["tune_metric"].isna() | (rows["tune_metric"] == metric))
    keys = ["dataset", "ir", "seed", "classifier", "sampler"]
    groups = rows[usable].assign(_val=pd.to_numeric(val[usable], errors="coerce")).groupby(keys)
    counts = groups.agg(n=("_val", "size"), tuned=("_val", "count"))
    ambiguous = counts[(counts["n"] > 1) & (counts["tuned"] == 0)]
    if ambiguous.empty:
        return []
    sets = ambiguous.groupby(level="sampler")["n"].max()
    listed = ", ".join(f"{s} ({n} parameter sets)" for s, n in sets.items())
    return [f"— for {listed}: no validation part to tune on (the {SplitKind.STRATIFIED} split is train/test), so "
            "nothing chooses among their parameter sets. Run them with one parameter set each (e.g. `--ratios "
            f"1.0`), or with `--split {SplitKind.HOLDOUT}` (train/validation/test at the data's own imbalance), "
            "which tunes them on validation as Table 2 does."]


def timeout_notes(rows: pd.DataFrame) -> list[str]:
    """Rows that ran out of time, and how many of them were not tried (bench.pruning): a sampler's timed-out
    ratios are missing from its tuning, and one with no ratio left on a configuration is not ranked there."""
    timeouts = rows[rows["status"] == RunStatus.TIMEOUT]
    if timeouts.empty:
        return []
    not_tried = timeouts["message"].str.startswith("not tried")
    slowest = timeouts["sampler"].value_counts().head(5)
    limits = sorted(set(timeouts["message"].str.extract(r"time limit of ([\d.]+) s", expand=False).dropna()), key=float)
    limit = f" (time limit per unit: {', '.join(limits)} s)" if limits else ""
    return [f"{len(timeouts)} rows timed out{limit}, {int(not_tried.sum())} of them not tried because a smaller ratio "
            "of the same sampler and split had timed out (a larger ratio synthesises more); most: "
            + ", ".join(f"{s} {n}" for s, n in slowest.items()) + "."]


def calibration_notes(rows: pd.DataFrame, samplers: SamplerLabels) -> list[str]:
    """A sampler that needs class probabilities (MESA) ran a classifier without them (LinearSVC) calibrated,
    which the table must say: that is a different base model from the one the other samplers are scored
    with. Read from the rows' ``extra``, per registry entry."""
    flagged = {}
    for label, classifier, extra in zip(rows["sampler"], rows["classifier"], rows["extra"]):
        if json.loads(extra or "{}").get("calibrated"):
            flagged.setdefault(samplers(label).entry, set()).add(classifier)
    return [f"{entry} with {', '.join(sorted(classifiers))}: the base classifier has no predict_proba, so "
            f"{entry}'s ensemble uses it wrapped in scikit-learn's CalibratedClassifierCV (sigmoid, up to 3 "
            "folds); the other samplers use it as is." for entry, classifiers in flagged.items()]


def reference_and_others(rows: pd.DataFrame, reference: str, no_others: str, no_reference: str) -> str | None:
    """Why rows that compare the reference with other samplers cannot: ``no_others`` or ``no_reference``."""
    if not (rows["sampler"] != reference).any():
        return no_others
    return None if (rows["sampler"] == reference).any() else no_reference


class OnTable2Rows:
    """Mixin: the artefact reads Table 2's rows (:meth:`Context.table2_rows`)."""

    def rows(self, ctx):
        return ctx.table2_rows()

    def compares_the_reference(self, ctx) -> str | None:
        """Why these rows cannot compare the reference with the others (None: they can)."""
        ref = ctx.options.reference
        return reference_and_others(self.rows(ctx), ref, f"no sampler besides {ref} among Table 2's samplers",
                                    f"no {ref} rows among Table 2's samplers (set [table] reference or --reference)")


class RankTable(Artefact):
    """A table of average ranks (samplers x datasets + overall) with the reference's Wilcoxon marks (and
    Table 2's category column)."""

    def render(self, ctx: Context, metric, fmt):
        built = built_for(ctx, self, metric)
        return text.render_rank_table(built.frame, built.extra["marks"], fmt=fmt, title=built.title,
                                      notes=notes_for(built.notes, fmt), groups=built.extra.get("groups"))


# ------------------------------------------------------------------------------------ the tables


class DatasetTable(Artefact):
    key, stem, heading, per_metric = "1", "table1", "Table 1: datasets", False

    def applies(self, ctx):
        rows = self.rows(ctx)
        if rows.empty:
            return "no rows of the paper's IR protocol"
        return ctx.unregistered(rows, "statistics")

    def build(self, ctx, metric):
        rows = self.rows(ctx)
        irs = sorted(int(i) for i in rows["ir"].unique())
        records = [ctx.catalog.get(name) for name in dict.fromkeys(rows["dataset"])]
        frame = table1(records, irs).rename(columns={
            "name": "Dataset", "majority": "# Majorities", "minority": f"# Minorities (IR {'/'.join(map(str, irs))})",
            "n_features_encoded": "# Features"})
        return Built(f"Table 1: dataset statistics, minorities at IR {'/'.join(map(str, irs))}", frame)


class AverageRanks(OnTable2Rows, RankTable):
    key, stem, heading = "2", "table2", "Table 2: average ranks"

    def applies(self, ctx):
        if not self.rows(ctx).empty:
            return None
        stratified = ctx.rows(SplitKind.STRATIFIED)
        if stratified.empty:
            return f"no rows of a split with a validation part ({SplitKind.IR} or {SplitKind.HOLDOUT})"
        return (f"no rows of a split with a validation part to tune on ({SplitKind.IR} or {SplitKind.HOLDOUT}): "
                f"the {len(stratified)} rows of the {SplitKind.STRATIFIED} split (train/test) are the gumbel table's "
                f"(`--table gumbel`, one parameter set per sampler); for Table 2 run `--split {SplitKind.HOLDOUT}`")

    def describe(self, ctx):
        return [f"Computed {describe_rows(self.rows(ctx))}. Left out: the smote-variants family (Table 3) and "
                "the variants, samplers with fixed parameters such as AutoSMOTE[g1=10] (Table 4, Figures 5 and 6)."]

    def build(self, ctx, metric):
        noop, label = ctx.options.noop, LABELS[metric]
        best, cfg, ranks = ranked(self.rows(ctx), metric, noop)
        order = ctx.samplers.order(ranks.index)
        ranks = ranks.loc[order]
        marks, mark_note = reference_marks(best, ranks, ctx.options.wilcoxon)
        notes = [f"Average rank (1 = best) of the test {label}: per configuration (dataset, classifier, IR) each "
                 f"sampler's score is averaged over {seeds_of(best)}, after tuning on the validation {label}; "
                 f"{len(cfg)} configurations in 'overall'.", *holdout_notes(self.rows(ctx), ctx), *missing_notes(cfg),
                 *skipped_notes(self.rows(ctx)), *as_input_notes(self.rows(ctx)), mark_note]
        if noop == "missing":
            notes.append("Rows whose sampler returned its input unchanged (no-op) count as missing.")
        notes += calibration_notes(self.rows(ctx), ctx.samplers)
        groups = {s: ctx.samplers(s).category for s in order}
        return Built(f"Table 2: average ranks, {label}", ranks, notes, extra={"marks": marks, "groups": groups})


class SmoteVariantsRanks(RankTable):
    key, stem = "3", "table3"

    def title(self, ctx):
        return f"Table 3: {ctx.options.reference} among the smote-variants oversamplers"

    def rows(self, ctx):
        rows = ctx.rows(TUNED_KINDS)
        chosen = (ctx.meta(rows, "family") == SMOTE_VARIANTS) | (rows["sampler"] == ctx.options.reference)
        return ctx.failures_scored(rows[chosen.astype(bool)])

    def applies(self, ctx):
        ref = ctx.options.reference
        return reference_and_others(self.rows(ctx), ref, "no smote-variants rows (run `bench run --samplers "
                                    "smote_variants`)", f"no {ref} rows to rank among the smote-variants (set "
                                    "[table] reference or --reference)")

    def describe(self, ctx):
        return [f"Computed {describe_rows(self.rows(ctx))}; sorted by the overall rank."]

    def build(self, ctx, metric):
        best, cfg, ranks = ranked(self.rows(ctx), metric, ctx.options.noop)
        ranks = ranks.sort_values(stats.OVERALL, kind="mergesort")
        marks, mark_note = reference_marks(best, ranks, ctx.options.wilcoxon)
        notes = [f"Average rank (1 = best) of the test {LABELS[metric]} among {len(ranks)} samplers over "
                 f"{len(cfg)} configurations (the paper prints the top 5 of 86).", *holdout_notes(self.rows(ctx), ctx),
                 *missing_notes(cfg),
                 *skipped_notes(self.rows(ctx)), *as_input_notes(self.rows(ctx)), *timeout_notes(self.rows(ctx)),
                 mark_note]
        return Built(f"Table 3: {ctx.options.reference} versus the smote-variants oversamplers, {LABELS[metric]}",
                     ranks, notes, extra={"marks": marks})


class AblationTable(Artefact):
    """The reference against its ablations (variants fixing ``ablation``), both metrics side by side, with the
    paper's ranks where its tables are given."""
    key, stem, per_metric = "4", "table4", False

    def title(self, ctx):
        datasets = listing(self.rows(ctx)["dataset"])
        return f"Table 4: ablations on {datasets}" if datasets else "Table 4: ablations"

    def rows(self, ctx):
        return ctx.reference_family({"ablation"})

    def applies(self, ctx):
        ref = ctx.options.reference
        return reference_and_others(self.rows(ctx), ref, f"no {ref}[ablation=...] rows (run e.g. `bench run "
                                    "--profile ablations`)", f"no {ref} rows where its ablations ran")

    def describe(self, ctx):
        return [f"Computed {describe_rows(self.rows(ctx))}."]

    def build(self, ctx, metric):
        rows, ref, setting = self.rows(ctx), ctx.options.reference, ctx.options.wilcoxon
        labels = list(pd.unique(rows["sampler"]))
        ablations = pd.Series([ctx.samplers(s).fixed.get("ablation") for s in labels], index=labels, dtype=object)
        display = pd.DataFrame(index=pd.Index(ablations.index, name="sampler"))
        display["paper's name"] = ablations.map(PAPER_ABLATIONS).fillna(ablations.map(OTHER_READINGS)).fillna("")
        data = display.copy()
        paper_tables = ctx.options.paper_tables
        paper = pd.read_csv(paper_tables / "table4.csv").set_index("variant") if paper_tables else None
        mark_notes = []
        for m in ctx.options.metrics:
            best, cfg, ranks = ranked(rows, m, ctx.options.noop)
            label = LABELS[m]
            marks, mark_note = reference_marks(best, ranks[[stats.OVERALL]], setting)
            marks = marks[stats.OVERALL] if marks is not None else pd.Series(False, index=ranks.index)
            mark_notes.append(mark_note)
            for frame in (display, data):
                frame[f"{label} test"] = cfg.mean(axis=0, skipna=False)
                frame[f"{label} rank"] = ranks[stats.OVERALL]
                if paper is not None:
                    frame[f"paper {label} rank"] = display["paper's name"].map(paper[f"{m}_rank"])
            display[f"{label} ▲"] = marks.reindex(display.index, fill_value=False).map({True: "▲", False: ""})
            data[f"{m}_better"] = marks.reindex(data.index, fill_value=False).astype(int)
        datasets = listing(rows["dataset"])
        marked = "; ▲: " + str(mark_notes[0]) if all(isinstance(n, MarkNote) for n in mark_notes) else ""
        notes = [f"Mean test score over {datasets}'s configurations (seed-averaged) and average rank (1 = best) "
                 f"among these {len(display)} variants{marked}"]
        notes += [str(n) for n in dict.fromkeys(mark_notes) if not isinstance(n, MarkNote)]
        if paper is not None:
            notes.append("Paper ranks: the paper's Table 4 (ranks among its 7 variants).")
        return Built(f"Table 4: {ref} ablations on {datasets}", display, notes, extra={"csv": data})

    def render(self, ctx, metric, fmt):
        built = built_for(ctx, self, metric)
        frame = built.extra["csv"] if fmt == "csv" else built.frame
        return text.render_frame(frame, fmt=fmt, title=built.title, notes=built.notes)


class GumbelTable(Artefact):
    """The Gumbel-AutoSMOTE paper's table: mean +- std over seeds per dataset, average rank, training time."""
    key, stem, heading = "gumbel", "gumbel", "Gumbel-AutoSMOTE table (stratified splits)"

    def rows(self, ctx):
        """The stratified rows of samplers as they are; variants (fixed parameters) are the checks' table."""
        rows = ctx.rows(SplitKind.STRATIFIED)
        return rows[~ctx.meta(rows, "is_variant").astype(bool)]

    def applies(self, ctx):
        return None if not self.rows(ctx).empty else \
            f'no rows with split kind "{SplitKind.STRATIFIED}" (run the gumbel profile)'

    def describe(self, ctx):
        return [f"Computed {describe_rows(self.rows(ctx))}."]

    def build(self, ctx, metric):
        rows = self.rows(ctx)
        best = stats.select_best(rows, metric)
        ranks = stats.rank_table(stats.config_scores(best))
        spread = best.groupby(["sampler", "dataset"], sort=False)["score"].agg(["mean", "std"])
        # a dataset where some seed failed has no mean: shown as missing, like every failed cell
        incomplete = best.groupby(["sampler", "dataset"], sort=False)["score"].apply(lambda s: s.isna().any())
        cells = (spread["mean"].map("{:.3f}".format) + " ± " + spread["std"].fillna(0).map("{:.3f}".format))
        cells = cells.where(~incomplete, MISSING).unstack()
        order = ctx.samplers.order(cells.index)
        table = cells.loc[order, list(dict.fromkeys(best["dataset"]))]
        table["avg. rank"] = ranks.loc[order, stats.OVERALL].map("{:.2f}".format).replace("nan", MISSING)
        ok = rows[rows["status"].isin(SCORED)]
        seconds = (ok["resample_s"] + ok["fit_s"]).groupby(ok["sampler"]).mean()
        table["train s/run"] = seconds.reindex(order).map("{:.1f}".format)
        table.index.name = "sampler"
        label = LABELS[metric]
        notes = [f"Mean ± std over {seeds_of(best)} of the test {label}; average rank (1 = best) of the "
                 "seed-averaged scores over the datasets; training time = resampling + classifier fit, mean "
                 "seconds per run.", *skipped_notes(rows), *untuned_notes(rows, metric)]
        return Built(f"Gumbel-AutoSMOTE protocol: test {label}", table, notes)


class BayesianComparison(OnTable2Rows, Artefact):
    """The reference against each of Table 2's samplers: Bayesian signed-rank test (Benavoli et al. 2014)."""
    key, stem = "bayes", "bayes"

    def title(self, ctx):
        return f"Bayesian signed-rank comparison of {ctx.options.reference} with each sampler"

    def applies(self, ctx):
        return self.compares_the_reference(ctx)

    def describe(self, ctx):
        scores = "scores averaged per dataset" if ctx.is_collection else "configuration scores"
        return [f"Computed {describe_rows(self.rows(ctx))}, on Table 2's {scores}."]

    def build(self, ctx, metric):
        from ..stats_tests import bayesian_signed_rank   # baycomp takes seconds to import: only when asked

        ref, label = ctx.options.reference, LABELS[metric]
        _, cfg, _ = ranked(self.rows(ctx), metric, ctx.options.noop)
        if not cfg[ref].notna().any():
            raise NotApplicable(f"{ref} has no configuration score")
        # A collection pairs datasets (Benavoli et al. 2017): a pair per configuration would make hundreds, and
        # the test's cost grows with their square (340 pairs: 15 s per sampler at 50000 samples)
        pairs = stats.dataset_scores(cfg) if ctx.is_collection else cfg
        per = ("dataset (the mean of its configurations' seed-averaged scores), over the datasets"
               if ctx.is_collection else "configuration (dataset, classifier, IR; seed-averaged), over the "
               "configurations")
        probs = bayesian_signed_rank(pairs, ref, rope=ROPE, nsamples=BAYES_SAMPLES).set_index("sampler")
        probs = probs.loc[ctx.samplers.order(probs.index)]
        probs.columns = [f"P({ref} better)", "P(equivalent)", "P(sampler better)", "pairs"]
        notes = [f"Bayesian signed-rank test (Benavoli et al. 2014, baycomp) of {ref} against each sampler on the "
                 f"test {label} per {per} "
                 f"where both have a score: posterior probability that {ref} is better by more than {ROPE:g}, that "
                 f"the two are within +-{ROPE:g} (practically equivalent), or that the sampler is better; "
                 f"{BAYES_SAMPLES} posterior samples, seed 0.", *as_input_notes(self.rows(ctx))]
        return Built(f"Bayesian signed-rank test of {ref}, {label}", probs, notes)


class FailureTable(Artefact):
    """Rows per sampler and status, over every split kind, and the most common failures: the store's account,
    not one protocol's (`bench status` prints it)."""
    key, stem, heading, per_metric = "failures", "failures", "Failed runs", False
    MOST_COMMON = 10

    def rows(self, ctx):
        return ctx.rows(None)

    def applies(self, ctx):
        return None if not self.rows(ctx).empty else "the store has no rows"

    def build(self, ctx, metric):
        rows = self.rows(ctx)
        counts = rows.pivot_table(index="sampler", columns="status", values="key", aggfunc="count", fill_value=0)
        counts = counts.loc[ctx.samplers.order(counts.index)]
        failed = rows[rows["status"].isin(FAILED)]
        top = failed.groupby(["sampler", "message"]).size().sort_values(ascending=False).head(self.MOST_COMMON)
        notes = ["Most common failures: " + "; ".join(f"{sampler} ({n}): {message}"
                                                      for (sampler, message), n in top.items())] if len(top) else []
        return Built("Runs per sampler and status", counts, notes + skipped_notes(rows))
