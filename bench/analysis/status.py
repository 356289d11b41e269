"""What a plan would cost: `bench run --dry-run`'s estimate, from the store's unit timings and bench.cost's model."""
from __future__ import annotations

import pandas as pd

from ..cost import UnitCosts, plan_seconds
from .artefact import Artefact, Built


class CostEstimate(Artefact):
    """CPU-hours per sampler family for the units a plan has left: stored median unit times where the store
    has them (same sampler, dataset and cost-driving parameters), scaled ones, else a model. Printed by `bench run --dry-run`, which has the plan."""
    key, stem, heading, per_metric, in_report = "cost", "cost", "Cost of a plan", False, False

    def applies(self, ctx):
        return None if ctx.plan is not None else "a cost needs a plan: run `bench run ... --dry-run`"

    def build(self, ctx, metric):
        units, workers = ctx.plan
        costs = UnitCosts(ctx.frame, {r.name: r for r in ctx.catalog.records()} if ctx.catalog else {})
        expected = plan_seconds(units, costs, ctx.frame)
        rows = [(ctx.samplers(u.sampler).family, len(u.classifiers), *cost) for u, cost in zip(units, expected)]
        plan = pd.DataFrame(rows, columns=["family", "rows", "seconds", "source"])
        if plan.empty:
            return Built("Cost of the plan", plan, ["nothing to compute"])
        summary = plan.groupby("family").agg(
            units=("rows", "size"), rows=("rows", "sum"), cpu_hours=("seconds", "sum"),
            from_store=("source", lambda s: f"{(s == 'stored').mean():.0%}"),
            scaled=("source", lambda s: f"{(s == 'scaled').mean():.0%}"),
            time_limit=("source", lambda s: int((s == "time limit").sum())),
            not_tried=("source", lambda s: int((s == "not tried").sum())))
        summary["cpu_hours"] = (summary["cpu_hours"] / 3600).round(2)
        total = summary["cpu_hours"].sum()
        return Built("Cost of the plan", summary.reset_index(), [
            f"total {total:.2f} CPU-hours, about {total / max(workers, 1):.2f} h on {workers} workers "
            "(from_store: share of units timed from stored runs of the same sampler, dataset and parameters "
            "that drive cost; scaled: from stored runs at another AutoSMOTE budget, times the model's ratio; the "
            "rest from the model in bench/cost.py: the training split's size, the sampler's measured cost in "
            "catalog.toml, the classifiers' fit costs; time_limit: units expected to be killed at their time "
            "limit, priced at it; not_tried: units at larger ratios of a series expected to time out or stored "
            "as timed out, which the run does not start, bench.pruning)"])
