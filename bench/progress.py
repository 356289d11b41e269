"""Live progress of a run: a rich bar on a terminal, a periodic one-line log elsewhere (CI, batch jobs)."""
from __future__ import annotations

import threading
import time
from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .cost import Eta, measured_seconds
from .protocol import Row
from .run_status import FAILED, RunStatus


class Clock:
    """The time a run's progress reads (elapsed, ETA) and waits on (the log's marks). A test passes one that
    moves only when told to, so that what it asserts does not depend on how fast the machine is."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait `seconds`, or less if `stop` is set; whether it is."""
        return stop.wait(seconds)


class RunProgress:
    """Rows of the whole grid: those stored before this invocation count as done from the start. Off a
    terminal, a log line every `log_every` seconds by the clock (a unit can take minutes)."""

    def __init__(self, total_rows: int, console: Console, log_every: float = 30.0, stored_rows: int = 0,
                 eta: Eta | None = None, clock: Clock = Clock()):
        self.console = console
        self.counts: Counter[RunStatus] = Counter()
        self.total, self.stored, self.eta = total_rows, stored_rows, eta
        self.clock = clock
        self.started = clock.now()
        self._log_every = log_every
        self._live = console.is_terminal
        self._stop = threading.Event()
        self._lock = threading.Lock()   # the log thread reads the counts while the run adds to them
        self._bar = Progress(TextColumn("[bold]rows"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                             TextColumn("ETA {task.fields[eta]}"), console=console, disable=not self._live)
        self._task = self._bar.add_task("run", total=total_rows, completed=stored_rows, failed=0,
                                        eta=self._eta_text())

    def __enter__(self):
        self._bar.__enter__()
        if not self._live:
            threading.Thread(target=self._log, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._bar.__exit__(*exc)

    def _log(self) -> None:
        while not self.clock.wait(self._stop, self._log_every):
            # one line per mark in a log, however narrow its console (nohup gives 80 columns)
            self.console.print(self.line(), highlight=False, soft_wrap=True)

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        return sum(self.counts[status] for status in FAILED)

    def update(self, rows: list[Row]) -> None:
        """One unit's rows (the first one's key names the unit): counted, and done for the ETA."""
        with self._lock:
            self.counts.update(r.status for r in rows)
            if self.eta is not None and rows:
                self.eta.finished(rows[0].key, measured_seconds(rows))
            self._bar.update(self._task, advance=len(rows), failed=self.failed, eta=self._eta_text())

    def _eta_text(self) -> str:
        elapsed = self.clock.now() - self.started
        if self.eta is not None:
            return f"{self.eta.seconds(elapsed):.0f} s"
        return f"{elapsed / self.done * (self.total - self.stored - self.done):.0f} s" if self.done else "?"

    def line(self) -> str:
        """E.g. `300/5400 rows done (120 stored before), 2 failed, 5100 left, 60 s elapsed, ETA 1020 s`."""
        with self._lock:
            elapsed = self.clock.now() - self.started
            done, failed, eta = self.done, self.failed, self._eta_text()
        left = self.total - self.stored - done
        before = f" ({self.stored} stored before)" if self.stored else ""
        return (f"{self.stored + done}/{self.total} rows done{before}, {failed} failed, {left} left, "
                f"{elapsed:.0f} s elapsed, ETA {eta}")
