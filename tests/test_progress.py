"""Progress off a terminal: log lines by the clock, over the whole grid; the ETA from expected unit costs. The
clock is moved by hand: nothing here sleeps or depends on how fast the machine is."""
from __future__ import annotations

import io
import threading

from rich.console import Console

from bench.cost import Eta
from bench.progress import Clock, RunProgress
from bench.protocol import Row


class HandClock(Clock):
    """Time that moves only by `advance`, which returns once the log has printed what came due and waits again."""

    def __init__(self):
        self.time = 0.0
        self._changed = threading.Condition()
        self._due: float | None = None   # the log's next mark while it waits for one

    def now(self) -> float:
        return self.time

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        with self._changed:
            self._due = self.time + seconds
            self._changed.notify_all()
            while not stop.is_set() and self.time < self._due:
                self._changed.wait(timeout=0.01)   # `stop` is set outside this condition: look at it now and then
            self._due = None
            self._changed.notify_all()
            return stop.is_set()

    def advance(self, seconds: float) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: self._due is not None, timeout=60), "the log never waited"
            self.time += seconds
            self._changed.notify_all()
            assert self._changed.wait_for(lambda: self._due is not None and self.time < self._due, timeout=60), \
                "the log did not come back to wait for its next mark"


def test_log_lines_come_by_the_clock_and_count_the_stored_rows():
    """A line at every mark, with or without a finished unit, each one line however narrow the log's console
    (a nohup'd run gets 80 columns); none between marks."""
    out = io.StringIO()
    clock = HandClock()
    with RunProgress(100, Console(file=out, force_terminal=False, width=40), log_every=30, stored_rows=40,
                     clock=clock) as progress:
        clock.advance(30)   # no unit has finished: a line anyway
        clock.advance(20)   # between two marks: none
        progress.update([Row("k", {}, "ok"), Row("k2", {}, "error")])
        clock.advance(10)
        clock.advance(30)
    assert out.getvalue().splitlines() == [
        "40/100 rows done (40 stored before), 0 failed, 60 left, 30 s elapsed, ETA ?",
        "42/100 rows done (40 stored before), 1 failed, 58 left, 60 s elapsed, ETA 1740 s",   # 60 s for 2 rows
        "42/100 rows done (40 stored before), 1 failed, 58 left, 90 s elapsed, ETA 2610 s",
    ]
    assert progress.counts == {"ok": 1, "error": 1}


def test_the_eta_comes_from_expected_unit_costs_not_rows_per_second():
    """Half the rows are done in their expected second, but the unit left is the expensive one: 100 s, where
    rows per second would say 1 s."""
    clock = HandClock()
    eta = Eta({"cheap": ("SMOTE", 1.0), "search": ("AutoSMOTE/SVM", 100.0)}, workers=1)
    progress = RunProgress(4, Console(file=io.StringIO(), force_terminal=False, width=200), eta=eta, clock=clock)
    clock.time = 1.0   # the cheap unit took its expected second on the clock
    progress.update([Row("cheap", {}, "ok", resample_s=1.0), Row("cheap-2", {}, "ok")])
    assert progress.line() == "2/4 rows done, 0 failed, 2 left, 1 s elapsed, ETA 100 s"
    progress.update([Row("search", {}, "timeout", "too slow"), Row("search-2", {}, "error", "boom")])
    assert progress.line() == "4/4 rows done, 2 failed, 0 left, 1 s elapsed, ETA 0 s"
