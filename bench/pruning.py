"""Not trying what cannot finish: once a sampler's unit runs out of time at one ratio of a split, its units at
larger ratios of the same split are not started. So that this holds with several workers, a unit waits while a
smaller ratio of its series is running and the workers have other series' units to take: a series' ratios run
smallest first, one at a time, and at most one of them reaches the time limit (at the end of a run, when only
held-back units are left, an idle worker takes one rather than wait).

Why: the smote-variants sweep of Table 3 has a few oversamplers whose resampling grows with the number of
rows they synthesise (ADG, DSMOTE, DSRBF ...); on the paper's larger datasets each of their ten ratios would
otherwise spend the whole time limit before being killed - hours of CPU for rows that end `timeout` anyway.
A larger ratio asks for more synthetic rows, so it is not expected to finish where a smaller one did not.
The rows left out are stored as `timeout` with a message that says they were not tried and why, so tables
count them with the timeouts, and `bench run --retry-failed` (e.g. with a longer --time-limit) tries them.
"""
from __future__ import annotations

import json

from .protocol import Row, Unit, failed_rows
from .run_status import RunStatus


def _series(spec: dict) -> str:
    """What units that differ only in their ratio share: one sampler with one parameter set on one split."""
    same = {k: v for k, v in spec.items() if k not in ("classifier", "classifier_code")}
    same["params"] = {k: v for k, v in spec["params"].items() if k != "ratio"}
    return json.dumps(same, sort_keys=True)


class TimeoutPruning:
    """Remembers, per series of ratios, the smallest ratio whose unit timed out, and the ratios running now."""

    def __init__(self) -> None:
        self.timed_out: dict[str, float] = {}
        self.running: dict[str, set[float]] = {}

    @classmethod
    def from_store(cls, frame) -> "TimeoutPruning":
        """Knowing the timeouts a store already holds (a resumed campaign does not try them again either)."""
        pruning = cls()
        for spec in frame.loc[frame["status"] == RunStatus.TIMEOUT, "spec"]:
            spec = json.loads(spec)
            if "ratio" in spec["params"]:
                pruning._timed_out(spec)
        return pruning

    def expect_timeout(self, unit: Unit) -> None:
        """`unit` is expected to run out of time (pricing a plan: bench.cost.plan_seconds)."""
        spec = unit.spec(unit.classifiers[0])
        if "ratio" in spec["params"]:
            self._timed_out(spec)

    def observe(self, rows: list[Row]) -> None:
        """Called with every unit's rows as they are stored."""
        if rows and "ratio" in rows[0].spec["params"]:
            self.running.get(_series(rows[0].spec), set()).discard(rows[0].spec["params"]["ratio"])
            if rows[0].status == RunStatus.TIMEOUT:
                self._timed_out(rows[0].spec)

    def holds_back(self, unit: Unit) -> bool:
        """Whether `unit` waits for now: a smaller ratio of its series is running, whose timeout would leave it
        untried."""
        spec = unit.spec(unit.classifiers[0])
        ratio = spec["params"].get("ratio")
        return ratio is not None and any(r < ratio for r in self.running.get(_series(spec), ()))

    def _timed_out(self, spec: dict) -> None:
        series, ratio = _series(spec), spec["params"]["ratio"]
        self.timed_out[series] = min(ratio, self.timed_out.get(series, ratio))

    def rows_instead(self, unit: Unit) -> list[Row] | None:
        """The `timeout` rows to store instead of running `unit`, or None: the executor starts it now, and it
        counts as running until its rows are observed."""
        spec = unit.spec(unit.classifiers[0])
        series = _series(spec)
        ratio, smallest = spec["params"].get("ratio"), self.timed_out.get(series)
        if ratio is None:
            return None
        if smallest is None or ratio <= smallest:
            self.running.setdefault(series, set()).add(ratio)
            return None
        return failed_rows(unit, RunStatus.TIMEOUT, f"not tried: ratio {smallest:g} of this split exceeded the time "
                                                    f"limit of {unit.time_limit:g} s (a larger ratio synthesises more)")
