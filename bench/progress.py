"""Live progress of a run: a rich bar on a terminal, a periodic one-line log elsewhere (CI, batch jobs)."""
from __future__ import annotations

import threading
import time
from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn

from .protocol import Row
from .run_status import RunStatus


class RunProgress:
    """Rows of the whole grid: those stored before this invocation count as done from the start. Off a
    terminal, a log line every `log_every` seconds by the clock (a unit can take minutes)."""

    def __init__(self, total_rows: int, console: Console, log_every: float = 30.0, stored_rows: int = 0):
        self.console = console
        self.counts: Counter[str] = Counter()
        self.total, self.stored = total_rows, stored_rows
        self.started = time.monotonic()
        self._log_every = log_every
        self._live = console.is_terminal
        self._stop = threading.Event()
        self._bar = Progress(TextColumn("[bold]rows"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                             TextColumn("ETA"), TimeRemainingColumn(), console=console,
                             disable=not self._live)
        self._task = self._bar.add_task("run", total=total_rows, completed=stored_rows, failed=0)

    def __enter__(self):
        self._bar.__enter__()
        if not self._live:
            threading.Thread(target=self._log, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._bar.__exit__(*exc)

    def _log(self) -> None:
        while not self._stop.wait(self._log_every):
            self.console.print(self.line(), highlight=False)

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        return self.counts[RunStatus.ERROR] + self.counts[RunStatus.TIMEOUT]

    def update(self, rows: list[Row]) -> None:
        self.counts.update(str(r.status) for r in rows)
        self._bar.update(self._task, advance=len(rows), failed=self.failed)

    def line(self) -> str:
        """E.g. `300/5400 rows done (120 stored before), 2 failed, 5100 left, 60 s elapsed, ETA 1020 s`."""
        elapsed = time.monotonic() - self.started
        left = self.total - self.stored - self.done
        eta = f"{elapsed / self.done * left:.0f} s" if self.done else "?"
        before = f" ({self.stored} stored before)" if self.stored else ""
        return (f"{self.stored + self.done}/{self.total} rows done{before}, {self.failed} failed, {left} left, "
                f"{elapsed:.0f} s elapsed, ETA {eta}")
