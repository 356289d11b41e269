"""What a plan would cost: `bench run --dry-run`'s estimate, from the store's unit timings and a model."""
from __future__ import annotations

import json

import pandas as pd

from ..run_status import SCORED
from ..samplers.registry import all_entries
from .artefact import Artefact, Built

# Seconds per unit when the store has no timing for a sampler: rough figures measured on mozilla4 / IR 20
# on one core of a 2-core machine (one resampling + four classifier fits); AutoSMOTE and Gumbel per episode
# or epoch. Only used by `bench run --dry-run` to plan; stored timings replace them as soon as they exist.
DEFAULT_UNIT_SECONDS = {"none": 2.0, "imblearn": 5.0, "smote_variants": 10.0, "sdv": 30.0, "mesa": 15.0,
                        "gumbel": 25.0}
AUTOSMOTE_SECONDS_PER_EPISODE = 0.1


class CostEstimate(Artefact):
    """CPU-hours per sampler family for the units a plan has left: stored median unit times where the store
    has them (same sampler and dataset), else a model. Printed by `bench run --dry-run`, which has the plan."""
    key, stem, heading, per_metric, in_report = "cost", "cost", "Cost of a plan", False, False

    def applies(self, ctx):
        return None if ctx.plan is not None else "a cost needs a plan: run `bench run ... --dry-run`"

    def build(self, ctx, metric):
        units, workers = ctx.plan
        measured = _unit_seconds(ctx.frame)
        families = {e.name: e.family for e in all_entries()}
        rows = []
        for unit in units:
            family = families.get(unit.sampler, "other")
            key = (unit.label, unit.dataset)
            if key in measured.index:
                seconds, source = measured[key], "stored"
            elif family == "autosmote":
                seconds = json.loads(unit.params).get("budget", 1000) * AUTOSMOTE_SECONDS_PER_EPISODE
                source = "model"
            else:
                seconds, source = DEFAULT_UNIT_SECONDS.get(family, 10.0), "model"
            rows.append((family, len(unit.classifiers), seconds, source))
        plan = pd.DataFrame(rows, columns=["family", "rows", "seconds", "source"])
        if plan.empty:
            return Built("Cost of the plan", plan, ["nothing to compute"])
        summary = plan.groupby("family").agg(
            units=("rows", "size"), rows=("rows", "sum"), cpu_hours=("seconds", "sum"),
            from_store=("source", lambda s: f"{(s == 'stored').mean():.0%}"))
        summary["cpu_hours"] = (summary["cpu_hours"] / 3600).round(2)
        total = summary["cpu_hours"].sum()
        return Built("Cost of the plan", summary.reset_index(), [
            f"total {total:.2f} CPU-hours, about {total / max(workers, 1):.2f} h on {workers} workers "
            "(from_store: share of units timed from stored runs of the same sampler and dataset; the rest "
            "from bench.analysis.status.DEFAULT_UNIT_SECONDS)"])


def _unit_seconds(frame: pd.DataFrame) -> pd.Series:
    """Median seconds of a stored unit per (sampler, dataset): one resampling plus its classifier fits."""
    ok = frame[frame["status"].isin(SCORED)]
    if ok.empty:
        return pd.Series(dtype=float)
    unit_keys = ["sampler", "dataset", "ir", "seed", "params", "tune_metric"]
    units = ok.groupby(unit_keys, dropna=False).agg(resample=("resample_s", "first"), fits=("fit_s", "sum"))
    seconds = (units["resample"] + units["fits"]).groupby(level=["sampler", "dataset"]).median()
    return seconds
