"""Table 3's rule for slow samplers: a unit that timed out stops the larger ratios of its split from starting."""
from __future__ import annotations

import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from bench.analysis.tables import timeout_notes
from bench.cli import app
from bench.protocol import Row
from bench.pruning import TimeoutPruning
from bench.run_status import RunStatus
from bench.store import ResultStore
from conftest import importable_module

SLOW = '''
import time
from imblearn.over_sampling import RandomOverSampler


class Slow(RandomOverSampler):
    """Never finishes in time."""

    def fit_resample(self, X, y):
        time.sleep(600)
'''


def _spec(ratio, seed=1, sampler="Slow"):
    return {"dataset": "d", "data": "x", "ir": 20, "seed": seed, "sampler": sampler, "params": {"ratio": ratio},
            "version": "v", "split": {}, "classifier": "SVM", "tune_metric": None, "libraries": {}}


class _Unit:
    """What TimeoutPruning asks of a unit: its spec and time limit."""
    classifiers, time_limit = ("SVM", "DT"), 60.0

    def __init__(self, **spec):
        self._spec = _spec(**spec)

    def spec(self, classifier):
        return {**self._spec, "classifier": classifier}

    def key(self, classifier):
        return f"{self._spec['seed']}-{self._spec['params']['ratio']}-{classifier}"


def test_larger_ratios_of_the_same_split_and_sampler_are_not_tried_after_a_timeout():
    pruning = TimeoutPruning()
    assert pruning.rows_instead(_Unit(ratio=0.5)) is None
    pruning.observe([Row("k", _spec(0.3), RunStatus.TIMEOUT)])
    rows = pruning.rows_instead(_Unit(ratio=0.5))
    assert [r.status for r in rows] == [RunStatus.TIMEOUT] * 2 and [r.spec["classifier"] for r in rows] == ["SVM", "DT"]
    assert rows[0].message.startswith("not tried: ratio 0.3 of this split exceeded the time limit of 60 s")
    assert pruning.rows_instead(_Unit(ratio=0.3)) is None and pruning.rows_instead(_Unit(ratio=0.2)) is None
    assert pruning.rows_instead(_Unit(ratio=0.5, seed=2)) is None                 # another split
    assert pruning.rows_instead(_Unit(ratio=0.5, sampler="Other")) is None        # another sampler
    pruning.observe([Row("k", _spec(0.4), RunStatus.ERROR)])                      # an error is not a timeout
    pruning.observe([Row("k", _spec(0.1), RunStatus.TIMEOUT)])                    # the smallest ratio counts
    assert "ratio 0.1" in pruning.rows_instead(_Unit(ratio=0.2))[0].message


def test_a_series_runs_its_ratios_smallest_first_while_other_series_have_units_to_run():
    pruning = TimeoutPruning()
    assert pruning.rows_instead(_Unit(ratio=0.3)) is None      # started: 0.3 runs
    assert pruning.holds_back(_Unit(ratio=0.5))                # a smaller ratio of its series runs
    assert not pruning.holds_back(_Unit(ratio=0.2))            # a smaller one may start
    assert not pruning.holds_back(_Unit(ratio=0.5, seed=2))    # another series
    pruning.observe([Row("k", _spec(0.3), RunStatus.OK)])      # 0.3 done: 0.5 may start
    assert not pruning.holds_back(_Unit(ratio=0.5))


@pytest.fixture
def slow(toy_env, monkeypatch):
    importable_module(toy_env, monkeypatch, "my_slow", SLOW)
    yield
    sys.modules.pop("my_slow", None)


def test_a_run_stores_the_larger_ratio_as_not_tried_and_a_resumed_run_knows_it(toy_env, slow):
    args = ("run", "--samplers", "my_slow:Slow", "--workers", "1", "--time-limit", "1")
    result = CliRunner().invoke(app, [*args, "--ratios", "0.5,1.0"])
    assert result.exit_code in (0, 1), result.output
    rows = ResultStore(toy_env / "runs", readonly=True).frame()
    by_ratio = rows.assign(ratio=rows["params"].str.extract(r'"ratio": ([0-9.]+)')[0].astype(float))
    assert set(by_ratio["status"]) == {"timeout"}
    tried = by_ratio[by_ratio["ratio"] == 0.5]["message"]
    assert tried.str.startswith("exceeded the time limit").all()
    assert by_ratio[by_ratio["ratio"] == 1.0]["message"].str.startswith("not tried: ratio 0.5").all()
    more = CliRunner().invoke(app, [*args, "--ratios", "0.5,0.7"])   # resumed with another grid: 0.7 not tried
    rows = ResultStore(toy_env / "runs", readonly=True).frame()
    assert rows[rows["params"].str.contains("0.7")]["message"].str.startswith("not tried").all(), more.output


def test_the_timeout_note_says_the_limit_and_how_many_were_not_tried():
    rows = pd.DataFrame({"sampler": ["sv.ADG"] * 3 + ["SMOTE"], "status": ["timeout"] * 3 + ["ok"],
                         "message": ["exceeded the time limit of 300 s", "not tried: ratio 0.1 of this split exceeded "
                                     "the time limit of 300 s (a larger ratio synthesises more)",
                                     "exceeded the time limit of 60 s", ""]})
    assert timeout_notes(rows) == ["3 rows timed out (time limit per unit: 60, 300 s), 1 of them not tried because a "
                                   "smaller ratio of the same sampler and split had timed out (a larger ratio "
                                   "synthesises more); most: sv.ADG 3."]


def test_with_two_workers_a_series_spends_one_time_limit_while_other_series_have_units(toy_env, slow):
    """Three series (seeds 1-3), two workers: while seed 1's 0.5 runs, its 1.0 is held back and the second worker
    takes seed 2's 0.5, and so on; seeds 1 and 2 each spend one time limit and their 1.0 is not tried (without the
    hold-back, seed 1's 0.5 and 1.0 would start side by side and both run out of time). The last series may
    start its 1.0 rather than leave a worker idle."""
    result = CliRunner().invoke(app, ["run", "--samplers", "my_slow:Slow", "--workers", "2", "--time-limit", "1",
                                      "--ratios", "0.5,1.0", "--seeds", "1,2,3"])
    assert result.exit_code in (0, 1), result.output
    rows = ResultStore(toy_env / "runs", readonly=True).frame()
    larger = rows[rows["params"].str.contains('"ratio": 1.0') & rows["seed"].isin([1, 2])]
    assert len(larger) == 4 and larger["message"].str.startswith("not tried: ratio 0.5").all(), larger["message"]


def test_a_dry_run_that_retries_failed_rows_prices_their_units_as_run_not_as_pruned(toy_env, slow):
    args = ["run", "--samplers", "my_slow:Slow", "--workers", "1", "--time-limit", "1", "--ratios", "0.5,1.0"]
    CliRunner().invoke(app, args)
    plain = CliRunner().invoke(app, [*args, "--retry-failed", "--dry-run"]).output
    row = next(line for line in plain.splitlines() if line.startswith("| user"))
    assert row.split("|")[-2].strip() == "0", plain   # not_tried: the retried timeouts prune nothing
