"""Live progress of a run: a rich bar on a terminal, a periodic one-line log elsewhere (CI, batch jobs)."""
from __future__ import annotations

import time
from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
    TimeRemainingColumn

from .protocol import Row
from .run_status import RunStatus


class RunProgress:
    def __init__(self, total_rows: int, console: Console, log_every: float = 30.0):
        self.console = console
        self.counts: Counter[str] = Counter()
        self.total = total_rows
        self.started = time.monotonic()
        self._last_log = self.started
        self._log_every = log_every
        self._live = console.is_terminal
        self._bar = Progress(TextColumn("[bold]rows"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                             TextColumn("ETA"), TimeRemainingColumn(), console=console,
                             disable=not self._live)
        self._task = self._bar.add_task("run", total=total_rows, failed=0)

    def __enter__(self):
        self._bar.__enter__()
        return self

    def __exit__(self, *exc):
        self._bar.__exit__(*exc)

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        return self.counts[RunStatus.ERROR] + self.counts[RunStatus.TIMEOUT]

    def update(self, rows: list[Row]) -> None:
        self.counts.update(r.status for r in rows)
        self._bar.update(self._task, advance=len(rows), failed=self.failed)
        now = time.monotonic()
        if not self._live and now - self._last_log >= self._log_every:
            self._last_log = now
            self.console.print(self.line(), highlight=False)

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        left = self.total - self.done
        eta = f"{elapsed / self.done * left:.0f} s" if self.done else "?"
        return (f"{self.done}/{self.total} rows done, {self.failed} failed, {left} left, "
                f"{elapsed:.0f} s elapsed, ETA {eta}")
