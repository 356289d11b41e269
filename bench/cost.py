"""What a unit is expected to cost, in CPU seconds: the model behind `bench run --dry-run` and the ETA.

A unit resamples one training split and fits its classifiers. Before a unit of its kind has run, its cost
is modelled from the size of the training split, the sampler's measured resampling cost (catalog.toml's
`cost`, seconds per 1000 rows) and each classifier's measured fit cost; AutoSMOTE searches cost per
episode. Stored timings replace the model where the store has runs of the same sampler on the same dataset
with the same parameters that drive cost (all but the tuned ratio: AutoSMOTE's budget, a GAN's epochs, an
outside classifier's own parameters); runs at other values of them are scaled by the model where it knows
the parameter (AutoSMOTE's budget), else the model prices the unit. During a run, `Eta` corrects what is left by how the finished units of the same kind compared with
their expectation, and by the clock.
The coefficients were measured with benchmarks/unit_costs.py on the committed stores (2 cores).
"""
from __future__ import annotations

import json
import statistics
import threading
from dataclasses import replace

import numpy as np
import pandas as pd

from .data.split_protocol import TRAINING_SHARE, SplitKind, holdout_sizes
from .pruning import TimeoutPruning
from .run_status import SCORED
from .samplers.registry import SAMPLERS

#: Fit seconds per 1000 fitted rows (a resampled set holds about 1.5x the original rows on average).
FIT_SECONDS_PER_1000 = {"AdaBoost": 0.0497, "DT": 0.0047, "KNN": 0.0009, "SVM": 0.0021, "mlp": 0.5}
RESAMPLED_ROWS = 1.5
#: AutoSMOTE, by the classifier it searches against: a search of `budget` episodes on n thousand training rows
#: takes `a + b * n` seconds, a line per classifier measured at two budgets (least squares, benchmarks/unit_costs.py:
#: budget 100 over results/reproduction's 720 searches, budget 1000 over results/paper's 144 pinned seed-1 searches;
#: six datasets, 2.3k-16.4k rows) and straight between them in the budget, the episodes' work being the same
#: each. The two budgets' lines differ in slope as well as height, so a factor per 100 episodes (the former
#: model, which priced seed 1's 144 searches at 6.12 CPU-h against 7.58 measured) cannot price both a small and a
#: large dataset: on the same split, 1000 episodes cost 2.7-9.7x 100 of them. Outside 2.3k-16.4k rows the lines
#: are extrapolations (KNN's at 1000 episodes falls below budget 100's under 0.3k rows; more episodes are never
#: priced lower than 100). The budget-100 searches ran before the CPU pin (about 1.12x slower).
AUTOSMOTE_SECONDS = {"AdaBoost": {100: (24.5, 3.63), 1000: (161.9, 43.66)},
                     "DT": {100: (4.65, 1.027), 1000: (32.7, 11.65)},
                     "KNN": {100: (2.42, 1.272), 1000: (-2.78, 19.16)},
                     "SVM": {100: (5.66, 0.215), 1000: (34.9, 2.69)}}
#: Methods whose cost does not grow with the data, so that the catalogue's seconds per 1000 rows misprice them:
#: seconds per unit by the classifier they train. MESA meta-trains a fixed number of episodes on fixed-size
#: subsets whatever the data's size: the medians of results/reproduction's 90 units per classifier (2.3k-16.4k
#: training rows; least squares gives slopes of -0.3 to 0.07 s per 1000 rows, KNN's 4.3); the catalogue's former
#: 4.42 s per 1000 rows priced it 2-10x low on KEEL's datasets of a few hundred rows.
PER_UNIT_SECONDS = {"MESA": {"AdaBoost": 40.8, "DT": 3.4, "KNN": 11.7, "SVM": 9.2}}
#: Seconds a unit takes beyond its resampling and fits (prediction, scoring, process start): the median over
#: the committed stores' finished invocations of (wall x workers - resampling and fit seconds) per unit
#: (benchmarks/unit_costs.py: 0.12 s over 16 invocations; 0.15 s over 18 once the reproduction's seeds 4-5
#: were in; 0.04-0.3 s each, 0.8 s with smote-variants, 1.1-1.4 s for 1000-episode searches).
#: A fixed cost, not a factor: on whole runs wall x workers is 1.01-1.05x the measured seconds.
UNIT_OVERHEAD_S = 0.12
#: A sampler without a measured cost: the median of its family's, else this.
UNKNOWN_COST = 0.05


def autosmote_seconds(classifier: str, budget: int, n: float) -> float:
    """One AutoSMOTE search's seconds on `n` thousand training rows: the two measured budgets' lines, and
    straight through them in the budget (an outside classifier is priced as the median of the four)."""
    def at(measured: int) -> float:
        lines = AUTOSMOTE_SECONDS.get(classifier)
        if lines is None:
            return statistics.median(a + b * n for a, b in (c[measured] for c in AUTOSMOTE_SECONDS.values()))
        a, b = lines[measured]
        return a + b * n
    low, high = at(100), at(1000)
    # below 100 episodes the line may reach the start-up cost's noise: no less than a share of budget 100's
    return max(low + (high - low) * (budget - 100) / 900, low * min(budget, 100) / 100)


def training_rows(record, unit) -> float:
    """Rows of the unit's training split, from the dataset's class counts (no split needs building)."""
    counts = sorted(record.class_counts.values(), reverse=True)
    if unit.split_kind is SplitKind.STRATIFIED:
        return sum(counts) * (1 - unit.split["test_size"])
    if unit.split_kind is SplitKind.HOLDOUT:
        return holdout_sizes(sum(counts))[0]
    majority = counts[0]
    return TRAINING_SHARE * (majority + sum(min(c, majority // unit.ir) for c in counts[1:]))


def group(unit) -> str:
    """Units the model errs alike for: one sampler, and one classifier for per-classifier searches."""
    return unit.label + (f"/{unit.classifiers[0]}" if len(unit.classifiers) == 1 else "")


def measured_seconds(rows) -> float:
    """What a finished unit's rows say it cost: its resampling and its fits (0 for a unit that failed)."""
    return rows[0].resample_s + sum(r.fit_s for r in rows)


class UnitCosts:
    """Expected CPU seconds of a unit and where the figure comes from: "stored" (median timings of stored runs
    of the same sampler, dataset and cost-driving parameters), "scaled" (stored runs at other parameter values,
    times the model's ratio between the two: a budget-100 search priced at budget 1000), else "model"."""

    def __init__(self, frame: pd.DataFrame, records: dict):
        self.records = records
        ok = frame[frame["status"].isin(SCORED)]
        drivers = [cost_drivers(params, _classifier_code(spec)) for params, spec in zip(ok["params"], ok["spec"])]
        ok = ok.assign(drivers=drivers)
        # per (sampler, dataset, classifier, drivers): median resampling and fit seconds of the stored rows
        self.stored = ok.groupby(["sampler", "dataset", "classifier", "drivers"])[["resample_s", "fit_s"]].median()
        self.other_drivers = ok.groupby(["sampler", "dataset", "classifier"])["drivers"].agg(
            lambda values: sorted(set(values)))

    def __call__(self, unit) -> tuple[float, str]:
        seconds = self._stored(unit)
        if seconds is not None:
            return seconds, "stored"
        scaled = self._scaled(unit)
        return (scaled, "scaled") if scaled is not None else (self.model(unit), "model")

    def _stored(self, unit) -> float | None:
        keys = [(unit.label, unit.dataset, c, cost_drivers(unit.params, unit.classifier_identity(c)))
                for c in unit.classifiers]
        if not all(k in self.stored.index for k in keys):
            return None
        times = self.stored.loc[keys]
        return times["resample_s"].mean() + times["fit_s"].sum() + UNIT_OVERHEAD_S

    def _scaled(self, unit) -> float | None:
        """The unit priced from stored runs of its sampler that differ from it only in parameters the model
        prices (AutoSMOTE's budget), times the model's ratio between the two. For any other parameter the
        model has no figure, so a stored time would be a guess."""
        mine = _without(json.loads(unit.params), MODELLED)
        for drivers in self.other_drivers.get((unit.label, unit.dataset, unit.classifiers[0]), []):
            fixed, _ = json.loads(drivers)
            if _without(fixed, MODELLED) != _without(mine, {"ratio"}):
                continue
            theirs = replace(unit, params=json.dumps({**mine, **fixed}, sort_keys=True))
            stored = self._stored(theirs)
            if stored is not None:
                return stored * self.model(unit) / self.model(theirs)
        return None

    def model(self, unit) -> float:
        entry = SAMPLERS.get(unit.sampler)
        n = training_rows(self.records[unit.dataset], unit) / 1000 if unit.dataset in self.records else 5.0
        if entry is not None and entry.family == "autosmote":
            budget = json.loads(unit.params).get("budget", 1000)
            return sum(autosmote_seconds(c, budget, n) for c in unit.classifiers)
        if unit.sampler in PER_UNIT_SECONDS:
            per_unit = PER_UNIT_SECONDS[unit.sampler]
            return sum(per_unit.get(c, statistics.median(per_unit.values())) for c in unit.classifiers) + \
                UNIT_OVERHEAD_S
        resample = (entry.cost if entry and entry.cost is not None else _family_cost(entry)) * n
        fits = 0.0 if entry is not None and entry.predicts else \
            sum(FIT_SECONDS_PER_1000.get(c, 0.01) for c in unit.classifiers) * RESAMPLED_ROWS * n
        return resample + fits + UNIT_OVERHEAD_S


def plan_seconds(units, costs: UnitCosts, frame: pd.DataFrame, *, pruned: bool = True) -> list[tuple[float, str]]:
    """Each unit's expected seconds and where the figure comes from, as the run will spend them: a unit costs
    at most its time limit (it is killed there: "time limit"), and (`pruned`) once a unit is expected to run
    out of time, the larger ratios of its series are not started (bench.pruning, whose hold-back makes a
    series' ratios run smallest first under any number of workers; "not tried", 0 s) - as are those the
    store's own timeouts rule out. A series' ratios in the order the grid lists them, as the executors take
    them."""
    pruning = TimeoutPruning.from_store(frame)
    out = []
    for unit in units:
        if pruned and pruning.rows_instead(unit) is not None:
            out.append((0.0, "not tried"))
            continue
        seconds, source = costs(unit)
        if seconds >= unit.time_limit:
            pruning.expect_timeout(unit)
            seconds, source = unit.time_limit + UNIT_OVERHEAD_S, "time limit"
        out.append((seconds, source))
    return out


class Eta:
    """Seconds left, in two corrections of the expected cost of the units left. Per group of units (a
    sampler, e.g. AutoSMOTE searches against one classifier): how their measured seconds compared with what
    was expected of the finished ones, since the model errs differently for each. Then the clock: elapsed
    wall time times workers against the measured seconds of the finished units (the workers share cores, and
    a unit's timings leave out prediction, scoring and process overhead).

    The per-group correction is `fixed + ratio * expected` (`correction`), not a ratio alone: the first units
    to finish are the small ones, whose measured cost is mostly what does not grow with the data (a GAN's or
    an MLP's epochs, start-up), and their ratio applied to the largest units overestimated the Gumbel profile
    18x (benchmarks/eta_replay.py)."""

    def __init__(self, expected: dict[str, tuple[str, float]], workers: int):
        self.expected, self.workers = dict(expected), max(1, workers)   # unit -> (group, expected seconds)
        self.left = set(expected)
        self.done: dict[str, list[tuple[float, float]]] = {}   # group -> (expected, measured) of finished units
        # the run records finished units while the progress log reads the ETA from a thread of its own
        self._lock = threading.Lock()

    def skipped(self, unit_id: str) -> None:
        """A unit that will not run (bench.pruning): no longer left, and no measurement of its kind."""
        with self._lock:
            self.left.discard(unit_id)

    def finished(self, unit_id: str, measured_seconds: float) -> None:
        with self._lock:
            if unit_id in self.left:
                self.left.discard(unit_id)
                group, expected = self.expected[unit_id]
                self.done.setdefault(group, []).append((expected, measured_seconds))

    def seconds(self, elapsed: float) -> float:
        """After `elapsed` seconds of this run (before any unit finished: the expectation as it is)."""
        with self._lock:
            return self._seconds(elapsed)

    def _seconds(self, elapsed: float) -> float:
        every = [point for points in self.done.values() for point in points]
        measured = sum(m for _, m in every)
        clock = elapsed * self.workers / measured if measured > 0 else 1.0
        corrections = {group: correction(points) for group, points in self.done.items()}
        # a group none of whose units has finished: the model's own scale, corrected by at most 2x by how the
        # others compared (one group's error, e.g. a GAN's 100x on its first small units, says little of another's)
        expected = sum(e for e, _ in every)
        overall = (0.0, (float(np.clip(measured / expected, 0.5, 2.0)) if expected > 0 else 1.0))
        left = 0.0
        for unit in self.left:
            group, seconds = self.expected[unit]
            fixed, ratio = corrections.get(group, overall)
            left += fixed + ratio * seconds
        return clock * left / self.workers


def correction(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(fixed, ratio) with measured ~ fixed + ratio * expected over finished units' (expected, measured).

    Where their expected costs spread (three units or more, standard deviation at least half the mean), the
    least-squares slope, and the rest as a fixed cost per unit. Where they do not (units of one size), the two
    cannot be told apart: where the model underestimated, the difference is read as a fixed cost (it then adds
    to large units instead of multiplying them); where it overestimated, as a ratio below 1. The ratio stays
    within 0.1-10 either way (units that failed at once measure 0 s, yet their kind still costs time)."""
    if not points:
        return 0.0, 1.0
    expected = np.array([e for e, _ in points])
    measured = np.array([m for _, m in points])
    if len(points) >= 3 and expected.std() >= 0.5 * expected.mean() > 0:
        ratio = float(np.clip(np.polyfit(expected, measured, 1)[0], 0.1, 10.0))
    else:
        ratio = max(0.1, min(1.0, measured.sum() / expected.sum())) if expected.sum() > 0 else 1.0
    return max(0.0, float(measured.mean() - ratio * expected.mean())), ratio


#: Parameters whose effect on cost the model knows, so that stored runs at another value can be scaled.
MODELLED = frozenset({"budget"})


def cost_drivers(params: str, classifier_code: dict | None) -> str:
    """The parameters a unit's cost depends on, as one comparable string: everything it was given but the
    ratio the grid tunes (its stored runs at every ratio time it together), and an outside classifier's own
    identity (its parameters; built-in classifiers are known by name)."""
    fixed = {k: v for k, v in json.loads(params).items() if k != "ratio"}
    code = {k: v for k, v in (classifier_code or {}).items() if k != "version"}
    return json.dumps([fixed, code], sort_keys=True)


def _classifier_code(spec) -> dict | None:
    return json.loads(spec).get("classifier_code") if isinstance(spec, str) else None


def _without(params: dict, names) -> dict:
    return {k: v for k, v in params.items() if k not in names}


def _family_cost(entry) -> float:
    if entry is None:
        return UNKNOWN_COST
    known = [e.cost for e in SAMPLERS.values() if e.family == entry.family and e.cost is not None]
    return statistics.median(known) if known else UNKNOWN_COST
