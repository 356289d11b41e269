"""Reading the store: ONE registry of artefacts (tables and figures) that `bench table` and `bench report` render.

Reading never computes and never writes the store. Each artefact selects its rows by sampler metadata (the
registry entry's family, and the parameters a label fixes) and by split kind, says in one line when it does
not apply, builds a frame and notes, and renders Markdown / LaTeX / CSV (tables) or PNG / CSV (figures).
`bench table --table KEY --format F` prints exactly what `bench report` writes into KEY's file of format F,
through :func:`text`.

    ctx = Context(store.frame(), Options.from_settings(settings.table), catalog)
    print(text(ctx, "2", "mcc", "markdown"))
    write(ctx, Path("report"), invocations=store.invocations(), environments=store.environments())

Modules: ``context`` (rows, options, sampler metadata), ``artefact`` (the base), ``tables``, ``figures``,
``comparison``, ``properties`` (a collection's analysis over datasets) (the artefacts), ``render`` and ``plots`` (Markdown / LaTeX / CSV and matplotlib), ``report``
(files and index.md), ``status`` (the cost of a plan, which `bench run --dry-run` prints; `bench status` prints the failures
artefact). The statistics are
:mod:`bench.stats` (ranks, Wilcoxon) and :mod:`bench.stats_tests` (Friedman, Nemenyi, Bayesian signed-rank).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .artefact import Artefact
from .comparison import PaperComparison
from .context import REPORT_METRICS, Context, NotApplicable, Options
from .figures import (CriticalDifference, DatasetCriticalDifference, HyperparameterStudy, RanksByGroup, SearchCurves,
                      ToyCaseStudy)
from .gumbel import Generalisation, GumbelChecks, GumbelParameters
from .properties import PropertyTable
from .report import write_report
from .status import CostEstimate
from .tables import (AblationTable, AverageRanks, BayesianComparison, DatasetTable, FailureTable, GumbelTable,
                     SmoteVariantsRanks)

__all__ = ["ARTEFACTS", "TABLE_KEYS", "Context", "NotApplicable", "Options", "REPORT_METRICS", "artefact", "text",
           "write"]

# The report's order. Selection: Table 1 the IR rows' datasets; Table 2, Figure 4, the CD diagram and the Bayesian
# test the IR and holdout rows of every family but smote_variants, no variants, the paper comparison their IR rows;
# Table 3 the smote_variants family and the reference (IR and holdout rows); Table 4 the reference and its
# variants fixing `ablation`; Figure 5
# those at mozilla4 / IR 50 / SVM; Figure 6 the reference and its variants fixing g1 / g2 / k_neighbors; the
# Gumbel table the stratified rows only, no variants; the Gumbel checks, parameters and generalisation the
# stratified rows of the Gumbel methods (and No-resampling on gumbel-mlp); the failures every row; Figure 7 the
# toy data. A collection (the holdout split's rows of Table 2's samplers) also gets the CD diagram over datasets and
# the table of where the reference wins and loses by dataset property (bench.analysis.properties).
ARTEFACTS: list[Artefact] = [DatasetTable(), AverageRanks(), SmoteVariantsRanks(), AblationTable(), GumbelTable(),
                             GumbelChecks(), GumbelParameters(), Generalisation(),
                             RanksByGroup(), SearchCurves(), HyperparameterStudy(), ToyCaseStudy(),
                             CriticalDifference(), DatasetCriticalDifference(), PropertyTable(), BayesianComparison(),
                             PaperComparison(), FailureTable(), CostEstimate()]
PAPER_TABLES = ("1", "2", "3", "4", "gumbel")                  # `bench table --table all`
TABLE_KEYS = [a.key for a in ARTEFACTS if a.readable] + ["all"]  # what `bench table --table` prints


def artefact(key: str) -> Artefact:
    return next(a for a in ARTEFACTS if a.key == key)


def text(ctx: Context, key: str, metric: str, fmt: str) -> str:
    """What `bench table --table KEY --metric METRIC --format FMT` prints: the text `bench report` writes into
    that artefact's file of that format (its ``metric`` file, where it has one per metric). ``key`` "all":
    the paper's tables that apply, one after the other. Raises NotApplicable (one line) otherwise."""
    if key == "all":
        parts, reasons = [], []
        for k in PAPER_TABLES:
            try:
                parts.append(text(ctx, k, metric, fmt))
            except NotApplicable as err:
                reasons.append(f"Table {k}: {err}" if k.isdigit() else f"{k}: {err}")
        if not parts:
            raise NotApplicable("no table applies: " + "; ".join(reasons))
        return "\n".join(parts)
    chosen = artefact(key)
    if not chosen.readable:
        raise NotApplicable(f"{chosen.heading} computes (it runs samplers): `bench report` draws it")
    metrics = [m for f, m in chosen.outputs((metric,)) if f == fmt]
    if not metrics:
        printable = [f for f in ("markdown", "latex", "csv") if f in chosen.formats]
        raise NotApplicable(f"{chosen.title(ctx)}: written as {' and '.join(chosen.formats)}, not {fmt}; print it "
                            "with " + " or ".join(f"--format {f}" for f in printable)
                            + ("; `bench report` draws the figure" if "png" in chosen.formats else ""))
    content = chosen.render(ctx, metrics[0], fmt)
    return content if isinstance(content, str) else content.decode()


def write(ctx: Context, out_dir: Path, *, invocations: pd.DataFrame, environments: pd.DataFrame,
          keys: list[str] | None = None) -> list[Path]:
    """`bench report`: every artefact (or those of ``keys``) into ``out_dir``, with index.md (see
    :func:`bench.analysis.report.write_report`)."""
    chosen = [a for a in ARTEFACTS if a.in_report and (keys is None or a.key in keys)]
    return write_report(ctx, out_dir, chosen, invocations=invocations, environments=environments)
