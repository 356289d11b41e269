"""The comparison with the paper's Table 2: our overall ranks beside the paper's, Spearman correlations, and
where the two disagree (paper_comparison.md, and the side-by-side ranks per metric as CSV)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .. import stats
from ..data.split_protocol import SplitKind
from ..metrics import LABELS
from . import render as text
from .artefact import Artefact, Built, built_for
from .context import Context, NotApplicable
from .tables import OnTable2Rows, ranked

MOVED_POSITIONS = 5                 # a sampler whose position differs by this much is called out
INTRODUCTION = ["# Our overall ranks against the paper's Table 2", "",
                "The paper's overall column is recomputed as the mean of its six dataset columns: its printed MCC "
                "overall has two inconsistent cells (ClusterCentroids 14.58 against a mean of 16.96, "
                "CondensedNearestNeighbour 17.19 against 17.26). Our ranks are over the samplers and configurations "
                "we ran, so absolute ranks only compare when both rank the same 25 samplers over all 72 "
                "configurations; positions are re-counted within the samplers both tables have.", ""]


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


def _position(overall: pd.Series, sampler: str) -> int:
    """1 = the best (lowest) overall rank; ties share the better position."""
    return int(overall.rank(method="min")[sampler])


def _comparison_text(metric, ours, cfg, side, summary, reference, seed_lines=()) -> list[str]:
    label = LABELS[metric]
    overall = ours[stats.OVERALL].dropna()
    lines = [f"## {label}", "",
             f"{summary['n']} samplers in common; ours ranks {len(overall)} samplers over {len(cfg)} configurations "
             f"(paper: 25 over 72). Spearman correlation of the overall columns: rho = {summary['rho']:.2f} "
             f"(p {'< 1e-300' if summary['p'] == 0 else '= ' + format(summary['p'], '.3g')}).", ""]
    if summary["per_dataset"]:
        lines.append("Per dataset: " + "; ".join(f"{d} rho = {r:.2f} ({n} samplers)"
                                                 for d, (r, n) in summary["per_dataset"].items()) + ".")
        lines.append("")
    known = summary.get("paper_reference")
    paper_text = (f"paper: {known['overall']:.2f} (printed {known['printed']:.2f}), position {known['position']} of "
                  f"{known['of']}" + (", best on every dataset" if known["best_everywhere"] else "")
                  if known else "not in the paper's Table 2")
    if reference in overall.index:
        lines.append(f"**{reference}**: overall rank {overall[reference]:.2f}, position "
                     f"{_position(overall, reference)} of {len(overall)} "
                     f"here; {paper_text}.")
        if reference in side.index and side.at[reference, "shift"] != 0:
            ahead = ", ".join(overall.index[overall < overall[reference]]) or "none"
            lines.append(f"**Disagreement:** among the {summary['n']} samplers both rank, {reference} is at position "
                         f"{side.at[reference, 'our position']} here and {side.at[reference, 'paper position']} in "
                         f"the paper; ahead of it here: {ahead}.")
    else:
        lines.append(f"**{reference}** has no complete overall rank here (missing or failed runs), so where it "
                     f"lands cannot be compared ({paper_text}).")
    moved = side[side["shift"].abs() >= MOVED_POSITIONS]
    if summary["n"] >= 3 and not summary["p"] < 0.05:
        lines.append("**Disagreement:** the two orderings are not significantly correlated (p >= 0.05).")
    if not moved.empty:
        lines.append(f"**Disagreement:** samplers {MOVED_POSITIONS} or more positions away from the paper's: "
                     + ", ".join(f"{s} ({int(r['paper position'])} -> {int(r['our position'])})"
                                 for s, r in moved.iterrows()) + ".")
    lines += [*seed_lines, "", text.render_frame(side, fmt="markdown", title=f"Overall ranks, {label}"), ""]
    return lines


def _seed_by_seed(rows: pd.DataFrame, metric: str, noop: str, paper: pd.DataFrame, reference: str) -> list[str]:
    """Each seed's configurations ranked alone against the paper (how far one split's noise moves the
    agreement that the seed average reports), then the seeds accumulated one at a time (whether the
    average has settled). Nothing for a store of one seed."""
    seeds = sorted(rows["seed"].unique())
    if len(seeds) < 2:
        return []

    def against_paper(subset: pd.DataFrame, label: str, with_rank: bool) -> str:
        _, _, ours = ranked(subset, metric, noop)
        _, summary = paper_comparison(ours, paper, reference)
        overall = ours[stats.OVERALL].dropna()
        if reference not in overall.index:
            return f"{label} rho = {summary['rho']:.2f}, {reference} not ranked"
        rank = f" {overall[reference]:.2f}," if with_rank else ""
        return (f"{label} rho = {summary['rho']:.2f}, {reference}{rank} position {_position(overall, reference)} "
                f"of {len(overall)}")

    alone = [against_paper(rows[rows["seed"] == seed], f"seed {seed}", False) for seed in seeds]
    growing = [against_paper(rows[rows["seed"].isin(seeds[:n])], f"seeds {_seed_span(seeds[:n])}", True)
               for n in range(2, len(seeds) + 1)]
    return ["", "Each seed alone (its configurations ranked without the others, the noise that averaging over "
            "seeds removes): " + "; ".join(alone) + ".",
            "", "Seeds accumulated (scores averaged over the first seeds, as the full table averages all): "
            + "; ".join(growing) + "."]


def _seed_span(seeds: list) -> str:
    """"1-4" for consecutive seeds, else "1,3,7"."""
    consecutive = list(range(seeds[0], seeds[-1] + 1)) == list(seeds)
    return f"{seeds[0]}-{seeds[-1]}" if consecutive else ",".join(str(s) for s in seeds)


class PaperComparison(OnTable2Rows, Artefact):
    """Our Table 2 overall ranks against the paper's: one Markdown account of every metric, a CSV per metric."""
    key, stem, heading = "paper", "paper_comparison", "Comparison with the paper's Table 2"
    formats = {"markdown": "md", "csv": "csv"}

    def rows(self, ctx):
        """Table 2's rows of the paper's protocol only: the paper ranked IR splits."""
        return ctx.table2_rows((SplitKind.IR,))

    def applies(self, ctx):
        if ctx.options.paper_tables is None:
            return "no paper tables were passed: give the folder holding the paper's table2.csv with --paper-tables DIR"
        return super().applies(ctx)

    def outputs(self, metrics):
        return [("markdown", None)] + [("csv", m) for m in metrics]

    def build(self, ctx, metric):
        ref, rows = ctx.options.reference, self.rows(ctx)
        paper = _paper_ranks(ctx.options.paper_tables, metric)
        _, cfg, ours = ranked(rows, metric, ctx.options.noop)
        side, summary = paper_comparison(ours, paper, ref)
        seed_lines = _seed_by_seed(rows, metric, ctx.options.noop, paper, ref)
        return Built(f"Overall ranks, {LABELS[metric]}", side,
                     extra={"text": _comparison_text(metric, ours, cfg, side, summary, ref, seed_lines)})

    def render(self, ctx: Context, metric, fmt):
        if fmt == "csv":
            return built_for(ctx, self, metric).frame.to_csv()
        texts, why = [], None
        for m in ctx.options.metrics:
            try:
                texts += built_for(ctx, self, m).extra["text"]
            except NotApplicable as err:
                why = err
        if not texts:
            raise why
        return "\n".join(INTRODUCTION + texts) + "\n"
