"""Progress off a terminal: log lines by the clock, over the whole grid."""
from __future__ import annotations

import io
import time

from rich.console import Console

from bench.progress import RunProgress
from bench.protocol import Row


def test_log_lines_come_by_the_clock_and_count_the_stored_rows():
    """One line per mark, however narrow the log's console (a nohup'd run gets 80 columns)."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=40)
    with RunProgress(100, console, log_every=0.1, stored_rows=40) as progress:
        time.sleep(0.35)   # no unit finishes: lines must come anyway
        progress.update([Row("k", {}, "ok"), Row("k2", {}, "error")])
        time.sleep(0.15)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 3
    assert lines[0].startswith("40/100 rows done (40 stored before), 0 failed, 60 left")
    assert lines[-1].startswith("42/100 rows done (40 stored before), 1 failed, 58 left")
    assert progress.counts == {"ok": 1, "error": 1}


def test_the_eta_comes_from_expected_unit_costs_not_rows_per_second():
    """Half the rows are done in no time, but the unit left is the expensive one: 100 s, not ~0 s."""
    from bench.cost import Eta
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    eta = Eta({"cheap": ("SMOTE", 1.0), "search": ("AutoSMOTE/SVM", 100.0)}, workers=1)
    with RunProgress(4, console, log_every=60, eta=eta) as progress:
        progress.started = time.monotonic() - 1.0   # the cheap unit took its expected second on the clock
        progress.update([Row("cheap", {}, "ok", resample_s=1.0), Row("cheap-2", {}, "ok")])
        assert progress.line().startswith("2/4 rows done, 0 failed, 2 left,")
        assert 100 <= int(progress.line().split("ETA ")[1].split(" s")[0]) <= 105   # not ~0 s (rows per second)
        progress.update([Row("search", {}, "error", "boom"), Row("search-2", {}, "error", "boom")])
        assert progress.line().endswith("ETA 0 s")
