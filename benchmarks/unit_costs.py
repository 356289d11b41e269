"""The unit-cost model's coefficients, measured from stored runs (what `bench run --dry-run` and the progress
ETA predict a unit from before any of its kind has run here).

    python benchmarks/unit_costs.py results/quick results/sv-sweep results/reproduction

Prints, per sampler, the median resampling seconds per 1000 rows of the original training split (the
`cost` field of bench/samplers/catalog.toml), per classifier the median fit seconds per 1000 rows
it was fitted on (bench.cost.FIT_SECONDS_PER_1000), and what a unit costs beyond its resampling and fits
(bench.cost.UNIT_OVERHEAD_S), and how a 1000-episode AutoSMOTE search compares with a 100-episode one of the same
split, classifier and metric where the stores hold both, and per classifier and budget the least-squares line of a
search's seconds in the training rows (bench.cost.AUTOSMOTE_SECONDS). Stores on one machine; other machines differ
by a factor, which a run's ETA corrects from its own finished units.
"""
from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd

from bench.run_status import SCORED
from bench.store import ResultStore
from eta_replay import stored_workers   # benchmarks/ is on the path when run as a script


def main() -> None:
    frames = [ResultStore(path, readonly=True).frame() for path in sys.argv[1:]]
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["status"].isin(SCORED) & (rows["ir"] > 0)]
    original = (rows[rows["sampler"] == "No-resampling"].groupby(["dataset", "ir", "seed"])["n_train"].first()
                .rename("n_original"))
    rows = rows.join(original, on=["dataset", "ir", "seed"]).dropna(subset=["n_original"])
    units = rows.groupby(["sampler", "dataset", "ir", "seed", "params", "tune_metric"], dropna=False).agg(
        resample=("resample_s", "first"), n=("n_original", "first"))
    per_sampler = (units["resample"] / (units["n"] / 1000)).groupby(level="sampler").median()
    base = per_sampler.index.str.split("[").str[0]
    per_sampler = per_sampler[~per_sampler.index.str.contains(r"\[")].groupby(base[~per_sampler.index.str.contains(r"\[")]).first()
    print("resampling seconds per 1000 original training rows, per sampler:")
    for name, value in per_sampler.sort_values().items():
        print(f"  {name}: {value:.4g}")
    fits = rows[~rows["sampler"].isin(["MESA"]) & ~rows["sampler"].str.endswith("-mlp")]
    per_classifier = (fits["fit_s"] / (fits["n_train"] / 1000)).groupby(fits["classifier"]).median()
    print("fit seconds per 1000 fitted rows, per classifier:", {k: round(v, 5) for k, v in per_classifier.items()})
    overhead = pd.concat([unit_overhead(path) for path in sys.argv[1:]], ignore_index=True)
    print(overhead.to_string(index=False))
    print(f"seconds per unit beyond resampling and fits, median over {len(overhead)} finished invocations: "
          f"{overhead['overhead_s'].median():.2f}")
    pairs = budget_pairs(rows, 100, 1000)
    if not pairs.empty:
        print("AutoSMOTE at budget 1000 against 100 on the same split, classifier and metric (seconds):")
        print(pairs.groupby(["dataset", "classifier"]).agg(pairs=("ratio", "size"), t100=("t100", "median"),
                                                            t1000=("t1000", "median"), ratio=("ratio", "median")))
    print("AutoSMOTE search seconds = a + b x (1000s of original training rows), least squares per budget:")
    lines, residuals = autosmote_lines(rows)
    print(lines.to_string(index=False))
    print("measured / line, per dataset:")
    print(residuals.to_string())


#: One AutoSMOTE search: a split, the classifier it searched against and the metric it was tuned by.
SEARCH = ["dataset", "ir", "seed", "classifier", "tune_metric"]


def autosmote_searches(rows: pd.DataFrame) -> pd.DataFrame:
    """The stored AutoSMOTE rows with their budget and seconds (resampling, which holds the search, plus the
    final fit)."""
    return rows[rows["sampler"] == "AutoSMOTE"].assign(
        budget=lambda f: f["params"].map(lambda p: json.loads(p).get("budget")),
        seconds=lambda f: f["resample_s"] + f["fit_s"])


def budget_pairs(rows: pd.DataFrame, low: int, high: int) -> pd.DataFrame:
    """AutoSMOTE searches stored at both budgets on the same split, classifier and metric: their seconds."""
    searches = autosmote_searches(rows)
    at = {b: searches[searches["budget"] == b].groupby(SEARCH)["seconds"].median().rename(f"t{b}") for b in (low, high)}
    pairs = pd.concat(at.values(), axis=1, join="inner").reset_index()
    return pairs.assign(ratio=pairs[f"t{high}"] / pairs[f"t{low}"])


def autosmote_lines(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per classifier and budget, the line a + b * n (n: the original training rows / 1000) through the stored
    searches' seconds; one point per search. Also how far each dataset's searches lie from their line (measured
    over fitted seconds, summed per dataset)."""
    points = autosmote_searches(rows).groupby(["budget"] + SEARCH).agg(
        seconds=("seconds", "median"), n=("n_original", "first")).reset_index()
    lines, fitted = [], []
    for (budget, classifier), part in points.groupby(["budget", "classifier"]):
        b, a = np.polyfit(part["n"] / 1000, part["seconds"], 1)
        lines.append({"budget": budget, "classifier": classifier, "searches": len(part), "a": round(a, 2),
                      "b": round(b, 3), "median_s": round(part["seconds"].median(), 1)})
        fitted.append(part.assign(line=a + b * part["n"] / 1000))
    fitted = pd.concat(fitted)
    sums = fitted.groupby(["budget", "classifier", "dataset"])[["seconds", "line"]].sum()
    return pd.DataFrame(lines), (sums["seconds"] / sums["line"]).round(2).unstack("dataset")


def unit_overhead(path: str) -> pd.DataFrame:
    """Per finished invocation of 50 units or more: wall time x workers against the resampling and fit
    seconds of the units it stored, as seconds per unit (prediction, scoring, process start, idle workers at
    the end). A unit's rows share one finished_at: they are stored in one transaction."""
    store = ResultStore(path, readonly=True)
    rows, out = store.frame(superseded=True), []
    for _, invocation in store.invocations().iterrows():
        mine = rows[rows["invocation"] == invocation["id"]]
        units = mine.groupby("finished_at").agg(resample=("resample_s", "first"), fit=("fit_s", "sum"))
        if invocation["status"] != "finished" or len(units) < 50:
            continue
        settings = json.loads(invocation["settings"])
        workers = stored_workers(settings)
        busy = (invocation["ended_at"] - invocation["started_at"]) * workers
        measured = (units["resample"] + units["fit"]).sum()
        out.append({"store": f"{path}:{invocation['id']}", "units": len(units), "workers": workers,
                    "wall x workers / measured": round(busy / measured, 2),
                    "overhead_s": round((busy - measured) / len(units), 3)})
    return pd.DataFrame(out)


if __name__ == "__main__":
    main()
