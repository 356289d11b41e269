"""What a unit is expected to cost, in CPU seconds: the model behind `bench run --dry-run` and the ETA.

A unit resamples one training split and fits its classifiers. Before a unit of its kind has run, its cost
is modelled from the size of the training split, the sampler's measured resampling cost (catalog.toml's
`cost`, seconds per 1000 rows) and each classifier's measured fit cost; AutoSMOTE searches cost per
episode. Stored timings of the same sampler on the same dataset replace the model where the store has
them. During a run, `Eta` scales what is left by how the finished units compared with their expectation,
which absorbs the machine's speed and what the model leaves out (prediction, scoring, process overhead).
The coefficients were measured with benchmarks/unit_costs.py on the committed stores (2 cores).
"""
from __future__ import annotations

import json
import statistics

import pandas as pd

from .run_status import SCORED
from .samplers.registry import SAMPLERS

#: Fit seconds per 1000 fitted rows (a resampled set holds about 1.5x the original rows on average).
FIT_SECONDS_PER_1000 = {"AdaBoost": 0.0497, "DT": 0.0047, "KNN": 0.0009, "SVM": 0.0021, "mlp": 0.5}
RESAMPLED_ROWS = 1.5
#: AutoSMOTE: seconds per episode per 1000 original rows, by the classifier it searches against, and a
#: search's start-up (actors, learner): fitted to searches at budgets 100 (results/quick) and 1000
#: (results/ablations-1000, autosmote-quality, sv-sweep) on mozilla4 and phoneme.
AUTOSMOTE_EPISODE_SECONDS_PER_1000 = {"AdaBoost": 0.070, "DT": 0.0057, "KNN": 0.0087, "SVM": 0.0066}
AUTOSMOTE_STARTUP_SECONDS_PER_1000 = 2.0
#: What resampling plus fits leave out (prediction, scoring, process overhead): measured wall / (resample + fit).
OVERHEAD = 1.3
#: A sampler without a measured cost: the median of its family's, else this.
UNKNOWN_COST = 0.05


def training_rows(record, unit) -> float:
    """Rows of the unit's training split, from the dataset's class counts (no split needs building)."""
    counts = sorted(record.class_counts.values(), reverse=True)
    spec = json.loads(unit.split_spec)
    if spec["kind"] == "stratified":
        return sum(counts) * (1 - spec["test_size"])
    majority = counts[0]
    return 0.6 * (majority + sum(min(c, majority // unit.ir) for c in counts[1:]))


class UnitCosts:
    """Expected CPU seconds of a unit: stored median timings where the store has the (sampler, dataset),
    else the model."""

    def __init__(self, frame: pd.DataFrame, records: dict):
        self.records = records
        ok = frame[frame["status"].isin(SCORED)]
        # per (sampler, dataset, classifier): median resampling and fit seconds of the stored rows
        self.stored = ok.groupby(["sampler", "dataset", "classifier"])[["resample_s", "fit_s"]].median()

    def __call__(self, unit) -> tuple[float, str]:
        keys = [(unit.label, unit.dataset, c) for c in unit.classifiers]
        if all(k in self.stored.index for k in keys):
            times = self.stored.loc[keys]
            return OVERHEAD * (times["resample_s"].mean() + times["fit_s"].sum()), "stored"
        return self.model(unit), "model"

    def model(self, unit) -> float:
        entry = SAMPLERS.get(unit.sampler)
        n = training_rows(self.records[unit.dataset], unit) / 1000 if unit.dataset in self.records else 5.0
        if entry is not None and entry.family == "autosmote":
            budget = json.loads(unit.params).get("budget", 1000)
            return n * sum(AUTOSMOTE_STARTUP_SECONDS_PER_1000 + budget * AUTOSMOTE_EPISODE_SECONDS_PER_1000.get(c, 0.02)
                           for c in unit.classifiers)
        resample = (entry.cost if entry and entry.cost is not None else _family_cost(entry)) * n
        fits = 0.0 if entry is not None and entry.predicts else \
            sum(FIT_SECONDS_PER_1000.get(c, 0.01) for c in unit.classifiers) * RESAMPLED_ROWS * n
        return OVERHEAD * (resample + fits)


class Eta:
    """Seconds left: the expected cost of the units left, scaled by actual / expected over the units that
    finished (their measured resampling and fit seconds, times OVERHEAD), spread over the workers."""

    def __init__(self, expected: dict[str, float], workers: int):
        self.expected, self.workers = dict(expected), max(1, workers)
        self.left = set(expected)
        self.actual_done = self.expected_done = 0.0

    def finished(self, unit_id: str, actual_seconds: float) -> None:
        if unit_id in self.left:
            self.left.discard(unit_id)
            self.actual_done += actual_seconds
            self.expected_done += self.expected[unit_id]

    def seconds(self) -> float:
        scale = self.actual_done / self.expected_done if self.expected_done > 0 else 1.0
        return scale * sum(self.expected[u] for u in self.left) / self.workers


def _family_cost(entry) -> float:
    if entry is None:
        return UNKNOWN_COST
    known = [e.cost for e in SAMPLERS.values() if e.family == entry.family and e.cost is not None]
    return statistics.median(known) if known else UNKNOWN_COST
