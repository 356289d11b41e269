"""A collection's analysis over datasets: where the reference (AutoSMOTE) wins and loses by dataset property.

A collection (the holdout split on many datasets, e.g. the `keel` profile) is compared the way Demsar (2006)
compares methods over data sets: one block per dataset, a sampler's score there the mean of its configurations
(classifiers; each averaged over seeds) - :func:`bench.stats.dataset_scores`, the blocks of the critical-
difference diagram over datasets (``cd-datasets``) too. The property table bins the datasets by four properties
read from the data registry's records (what `bench data list` prints): training rows, imbalance ratio, minority
rows, features; per bin it gives the reference's average rank among the compared samplers and its wins, ties and
losses against the best other sampler.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .. import stats
from ..data.split_protocol import SplitKind, holdout_sizes
from ..metrics import LABELS
from .artefact import Artefact, Built
from .context import Context, NotApplicable, describe_rows
from .tables import OnTable2Rows, as_input_notes, ranked

#: Each property's bin edges: a bin holds lower <= value < upper. Fixed, not quantiles, so that two stores'
#: tables read alike; chosen around the KEEL collection's quartiles (keel-min20: training rows 201 / 415 / 890,
#: imbalance ratio 3.4 / 9.4 / 28, minority rows 25 / 49 / 99, encoded features 7 / 9 / 18).
BINS = {"training rows": (0, 200, 500, 1000, math.inf),
        "imbalance ratio": (1, 3, 9, 30, math.inf),
        "minority rows": (0, 20, 50, 100, math.inf),
        "features": (0, 8, 12, 20, math.inf)}
ALL = "all datasets"


def dataset_properties(record) -> dict[str, float]:
    """A registered dataset's properties: rows of its holdout training part, largest / smallest class, rows of
    the smallest class (all data, as `bench data list`), features after one-hot encoding."""
    counts = record.class_counts.values()
    return {"training rows": holdout_sizes(record.n_rows)[0], "imbalance ratio": max(counts) / min(counts),
            "minority rows": min(counts), "features": record.n_features_encoded}


def bin_label(lower: float, upper: float, integer: bool = True) -> str:
    """A bin's name: "< 200", "200-499" (counts), "3-9" (a ratio: 3 <= r < 9), ">= 1000"."""
    if upper == math.inf:
        return f">= {lower:g}"
    if lower == 0:
        return f"< {upper:g}"
    return f"{lower:g}-{upper - 1:g}" if integer else f"{lower:g}-{upper:g}"


def bins(name: str) -> list[tuple[str, float, float]]:
    """(label, lower, upper) of each bin of a property."""
    edges = BINS[name]
    return [(bin_label(lo, hi, name != "imbalance ratio"), lo, hi) for lo, hi in zip(edges, edges[1:])]


@dataclass
class OverDatasets:
    """One metric's comparison over datasets: the complete block and what it left out."""
    block: pd.DataFrame             # datasets x samplers, dataset scores, every cell finite
    left_out_samplers: dict
    left_out_datasets: dict
    n_datasets: int                 # datasets of the rows, before leaving any out


class OnDatasets(OnTable2Rows):
    """Mixin: Table 2's rows of the holdout split (a collection's protocol), one block per dataset."""

    def rows(self, ctx):
        return ctx.table2_rows((SplitKind.HOLDOUT,))

    def applies(self, ctx):
        if self.rows(ctx).empty:
            return (f"no rows of the {SplitKind.HOLDOUT} split (a collection's protocol, compared over datasets: "
                    f"`bench run --split {SplitKind.HOLDOUT}`, e.g. the keel profile)")
        return None

    def over_datasets(self, ctx: Context, metric: str) -> OverDatasets:
        from ..stats_tests import dataset_block

        _, cfg, _ = ranked(self.rows(ctx), metric, ctx.options.noop)
        scores = stats.dataset_scores(cfg)
        chosen = dataset_block(scores)
        return OverDatasets(chosen.scores, chosen.left_out_samplers, chosen.left_out_datasets, len(scores))


def left_out_notes(over: OverDatasets, rows: pd.DataFrame) -> list[str]:
    """What the comparison over datasets left out, and the samplers scored as their input where they could not
    run (kept in, under [table] failed = input)."""
    notes = as_input_notes(rows)
    if over.left_out_samplers:
        notes.append("Left out, with a score on fewer than half of the datasets: " + ", ".join(
            f"{s} (missing on {n} of {over.n_datasets})" for s, n in over.left_out_samplers.items()) + ".")
    if over.left_out_datasets:
        shown = list(over.left_out_datasets.items())[:10]
        notes.append(f"{len(over.left_out_datasets)} of {over.n_datasets} datasets left out, where a compared "
                     "sampler lacks a score (failed, timed out, skipped or missing): " + "; ".join(
                         f"{d} ({', '.join(missing)})" for d, missing in shown)
                     + ("; ..." if len(over.left_out_datasets) > len(shown) else "") + ".")
    return notes


class PropertyTable(OnDatasets, Artefact):
    """Where the reference wins and loses, by dataset property: per bin of training rows, imbalance ratio,
    minority rows and features, its average rank over the bin's datasets and its wins / ties / losses against
    the best other sampler (the one with the best average rank over all compared datasets)."""
    key, stem = "properties", "properties"

    def title(self, ctx):
        return f"Where {ctx.options.reference} wins and loses, by dataset property"

    def applies(self, ctx):
        why = super().applies(ctx) or self.compares_the_reference(ctx)
        if why:
            return why
        return ctx.unregistered(self.rows(ctx), "properties")

    def describe(self, ctx):
        return [f"Computed {describe_rows(self.rows(ctx))}; one block per dataset (its configurations' scores "
                "averaged)."]

    def build(self, ctx, metric):
        ref, label = ctx.options.reference, LABELS[metric]
        over = self.over_datasets(ctx, metric)
        block = over.block
        if ref not in block.columns:
            raise NotApplicable(f"{ref} is not compared over the datasets (it lacks a score on more than half)")
        if block.shape[1] < 2 or block.empty:
            raise NotApplicable("fewer than two samplers with a score on the same datasets")
        ranks = block.rank(axis=1, method="average", ascending=False)
        others = ranks.drop(columns=ref).mean().sort_values(kind="mergesort")
        best = others.index[0]
        diff = block[ref] - block[best]
        outcome = pd.Series("tie", index=block.index).mask(diff > 0, "win").mask(diff < 0, "loss")
        properties = pd.DataFrame([dataset_properties(ctx.catalog.get(d)) for d in block.index], index=block.index)
        records = [self._row(ALL, "", block.index, ranks, ref, best, outcome)]
        for name in BINS:
            for label_, lower, upper in bins(name):
                inside = block.index[(properties[name] >= lower) & (properties[name] < upper)]
                if len(inside):
                    records.append(self._row(name, label_, inside, ranks, ref, best, outcome))
        frame = pd.DataFrame(records)
        notes = [f"Per dataset, each sampler's test {label} is the mean over its configurations (classifiers; each "
                 f"averaged over seeds, after tuning on the validation {label}); samplers are ranked per dataset "
                 f"(1 = best) among the {block.shape[1]} compared. Best other sampler: {best} (average rank "
                 f"{others[best]:.2f} over the {len(block)} datasets). win / tie / loss: datasets where {ref}'s "
                 f"score is above / equal to / below {best}'s. Properties from the data registry: training rows of "
                 "the holdout split (60 %), imbalance ratio = largest / smallest class, minority rows and features "
                 "(one-hot encoded) as `bench data list` gives them; a bin holds lower <= value < upper.",
                 *left_out_notes(over, self.rows(ctx))]
        return Built(f"Where {ref} wins and loses by dataset property, {label}", frame, notes,
                     extra={"best": best})

    @staticmethod
    def _row(name, label, datasets, ranks, ref, best, outcome) -> dict:
        counts = outcome.loc[datasets].value_counts()
        return {"property": name, "bin": label, "datasets": len(datasets),
                f"{ref} avg. rank": float(ranks.loc[datasets, ref].mean()),
                "best other's avg. rank": float(ranks.loc[datasets, best].mean()),
                "win": int(counts.get("win", 0)), "tie": int(counts.get("tie", 0)), "loss": int(counts.get("loss", 0))}
