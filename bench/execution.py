"""Running a plan: one code path for `bench run`, `bench check` and the Python API (bench.api).

Plan what the store lacks, compute it on the chosen executor with live progress, and log the invocation:
the settings in effect and how it ended; each row, the invocation that stored it (so its true row count
survives a killed driver). Nothing here prints to a terminal of its own: the caller's rich Console does.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

from rich.console import Console

from .config import CONFIG_ENV, DATA_DIR_ENV, ConfigError, RunSettings, Settings
from .executors import EXECUTORS, Setup, executor_class, make_executor
from .extensions import one_line
from .names import resolve_name
from .run_status import FAILED

if TYPE_CHECKING:
    from .runner import Grid


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during a run: what is stored stays, the invocation is logged as interrupted.
    `signal`: the one that stopped it (the command line exits with 128 + its number, as the shell does)."""

    def __init__(self, stored_rows: int, signum: int = signal.SIGINT):
        super().__init__(f"interrupted: {stored_rows} rows stored; run the same command to resume")
        self.stored_rows, self.signal = stored_rows, signum


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's KeyboardInterrupt would be, so that it takes the same way out."""


@contextmanager
def _terminate_like_ctrl_c() -> Iterator[None]:
    """SIGTERM (`kill PID`, a batch system's stop) ends a run as Ctrl-C does: workers stopped, the invocation
    logged as interrupted, the terminal's cursor shown again. Its default would end the driver on the spot.
    Python sets handlers in the main thread only; a run started in another one (a notebook's) keeps the default."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum, frame):
        raise Terminated()
    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class Outcome:
    """What one execution did: the plan's size, the computed rows' statuses and what failed."""
    total_rows: int
    stored_rows: int
    computed: dict[str, int] = field(default_factory=dict)   # status -> rows
    seconds: float = 0.0
    failures: dict[str, list] = field(default_factory=dict)   # sampler label -> [failed rows, the first message]

    def count_failures(self, rows) -> None:
        for row in rows:
            if row.status in FAILED:
                self.failures.setdefault(row.spec["sampler"], [0, row.message])[0] += 1

    @property
    def all_failed(self) -> bool:
        """Rows were computed and every one failed: `bench run` says why and exits with code 1."""
        return bool(self.computed) and all(status in FAILED for status in self.computed)

    def failure_lines(self) -> list[str]:
        """What failed, per sampler: its failed rows and the first one's message; then the fix."""
        return [f"all {sum(self.computed.values())} computed rows failed:",
                *(f"  {label}: {n} rows, the first: {message}" for label, (n, message) in self.failures.items()),
                "fix the cause, then run the same command with --retry-failed"]


@dataclass(frozen=True)
class CheckedRun:
    """A run's inputs once checked: its executor's canonical name and its grid, built once for the run."""
    executor: str
    grid: Grid


def check_inputs(run_settings: RunSettings, settings: Settings, executor: str = "local", *,
                 prepare: bool = True) -> CheckedRun:
    """Everything a run names resolved now - samplers, classifiers, datasets, metrics, per-sampler settings,
    the executor and its library - and (``prepare``) every split of the grid built or found in the data cache,
    so that an IR the data cannot give is refused too, and every sampler's parameter values validated by the
    method (which imports its library: seconds for torch, so a dry run skips both): bad input is one line,
    before a store exists. Called, as `execute`, inside bench.methods.registered: the run's own methods known
    by name. The grid it builds is the one `execute` and `price` plan."""
    from .data import DataCatalog
    from .runner import make_grid, prepare_splits
    executor = resolve_name(executor, list(EXECUTORS), "executor", listing="bench run --help")
    runs_units = executor_class(executor)   # its library installed
    catalog = DataCatalog(settings.data_dir)
    grid = make_grid(run_settings, catalog, settings.data.impute, settings.data.leak)
    runs_units.check(grid.units)
    if prepare:
        _check_parameters(grid.units, run_settings, settings.source)
        prepare_splits(grid.units, catalog)
    return CheckedRun(executor, grid)


def _check_parameters(units, run_settings: RunSettings, source: str) -> None:
    """Each sampler's parameters besides the ratio (from Name[k=v], [samplers.NAME] params, [run.params])
    validated once by the method itself (bench.samplers.registry.check_values), so that a bad value is one
    line instead of a grid of stored error rows."""
    from .samplers.registry import SAMPLERS, SamplerContext, check_values, keys_for
    checked = set()
    for unit in units:
        params = json.loads(unit.params)
        fixed = {k: v for k, v in params.items() if k != "ratio"}
        if not fixed or (unit.label, str(fixed)) in checked:
            continue
        checked.add((unit.label, str(fixed)))
        entry = SAMPLERS[unit.sampler]
        try:
            check_values(entry, params, SamplerContext(unit.seed, classifier=unit.classifiers[0],
                                                       metric=unit.tune_metric))
        except Exception as err:   # whatever the method's constructor or validation raises
            places = []
            if unit.label != unit.sampler:
                places.append(f"the name {unit.label}")
            if entry.params:
                places.append(f"[samplers.{unit.sampler}] params in {source}")
            keys = keys_for(run_settings.params, entry)
            if keys:   # the keys per_sampler applied to it: its own name, or a group's
                places.append(f"{' / '.join(f'params.{key}' for key in keys)} of [run] or "
                              f"[profiles.{run_settings.profile}] in {source}")
            raise ConfigError(f"sampler {unit.label} refuses the parameters {json.dumps(fixed)}: {one_line(err)}; "
                              f"correct them in {' or '.join(places)}") from None


def _announce(plan, run_settings: RunSettings, n_workers: int, console: Console, target) -> None:
    console.print(f"profile {run_settings.profile}: {_count(plan.total_rows, 'row')} in the grid, "
                  f"{plan.stored_rows} already stored, {plan.rows} to compute in {_count(len(plan.units), 'unit')} "
                  f"on {_count(n_workers, 'worker')} -> {target}", highlight=False)
    if plan.recomputed:   # not new work: stored runs whose code or data changed (a stale checkout, an upgrade)
        shown, total = plan.recomputed.most_common(5), sum(plan.recomputed.values())
        more = total - sum(n for _, n in shown)
        console.print(f"of these, {total} recompute stored runs under changed code or data "
                      "(the stored rows stay; tables read the newest): "
                      + "; ".join(f"{label} {n} ({change})" for (label, change), n in shown)
                      + (f"; and {more} rows more" if more > 0 else ""), highlight=False, markup=False)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def open_store(run_settings: RunSettings, settings: Settings):
    """The run's store, opened for writing: created, or migrated with the data directory's contents."""
    from .data import DataCatalog
    from .store import ResultStore
    return ResultStore(Path(run_settings.results), data_contents=DataCatalog(settings.data_dir).registered_content)


def price(run_settings: RunSettings, settings: Settings, results: Path, grid: Grid, *, console: Console,
          retry_failed: bool = False) -> Outcome:
    """`bench run --dry-run`: the plan of `grid` (check_inputs') and its estimated cost. Reads the store without
    its run lock (so it answers while a campaign runs on it), creates none and deletes nothing (`retry_failed`:
    failed rows count as left to compute)."""
    from . import analysis, methods
    from .data import DataCatalog
    from .store import DB_NAME, ResultStore, results_dir
    results = results_dir(results)
    catalog = DataCatalog(settings.data_dir)
    n_workers = run_settings.workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as scratch:
        # no store yet: an empty one elsewhere stands for it, so that nothing is created at `results`
        exists = (results / DB_NAME).exists()
        store = ResultStore(results if exists else Path(scratch), readonly=exists,
                            data_contents=catalog.registered_content)
        try:
            stored = store.keys() - (store.keys(FAILED) if retry_failed else set())
            plan = grid.plan(stored, store.specs_by_config())
            _announce(plan, run_settings, n_workers, console, results / DB_NAME)
            frame = store.frame()
            if retry_failed:   # the run forgets them before it starts: their timeouts prune nothing
                frame = frame[~frame["status"].isin(FAILED)]
            cost = analysis.Context(frame, catalog=catalog, plan=(plan.units, n_workers),
                                    samplers=methods.sampler_labels(settings))
        finally:
            store.close()
    console.print(analysis.text(cost, "cost", "macro_f1", "markdown"), highlight=False, markup=False)
    return Outcome(plan.total_rows, plan.stored_rows)


def execute(run_settings: RunSettings, settings: Settings, store, *, console: Console, flags: dict,
            command: Optional[str] = None, retry_failed: bool = False, checked: Optional[CheckedRun] = None,
            address: Optional[str] = None) -> Outcome:
    """Plan what the store lacks and compute it on the checked run's executor (`checked`: check_inputs' result;
    without it the inputs are checked here, for the local executor). Raises Interrupted on Ctrl-C (after
    logging it)."""
    from .cost import Eta, UnitCosts, group, plan_seconds
    from .data import DataCatalog
    from .progress import RunProgress
    from .pruning import TimeoutPruning
    from .runlog import InvocationStatus
    checked = checked or check_inputs(run_settings, settings)
    catalog = DataCatalog(settings.data_dir)
    with store.exclusive():
        if retry_failed:
            console.print(f"retrying {store.forget(FAILED)} failed rows")
        plan = checked.grid.plan(store.keys(), store.specs_by_config())
        outcome = Outcome(plan.total_rows, plan.stored_rows)
        n_workers = run_settings.workers or os.cpu_count() or 1
        _announce(plan, run_settings, n_workers, console, store.path)
        if not plan.units:
            return outcome
        started = time.monotonic()
        invocation = store.begin_invocation(command or " ".join(["bench", *sys.argv[1:]]), effective_settings(
            settings, run_settings, flags, workers=n_workers, executor=checked.executor, address=address,
            retry_failed=retry_failed))
        try:
            frame = store.frame()
            # every unit as if it ran (capped at its limit); those the pruning rule skips leave the ETA as they go
            expected = plan_seconds(plan.units, UnitCosts(frame, {r.name: r for r in catalog.records()}), frame,
                                    pruned=False)
            eta = Eta({u.key(u.classifiers[0]): (group(u), seconds) for u, (seconds, _) in zip(plan.units, expected)},
                      n_workers)
            pruning = TimeoutPruning.from_store(frame)

            def rows_instead(unit):
                rows = pruning.rows_instead(unit)
                if rows is not None:
                    eta.skipped(unit.key(unit.classifiers[0]))
                return rows
            with _terminate_like_ctrl_c(), \
                    RunProgress(plan.total_rows, console, stored_rows=plan.stored_rows, eta=eta) as progress:
                def on_rows(rows):
                    store.write(rows, invocation)
                    progress.update(rows)
                    pruning.observe(rows)
                    outcome.count_failures(rows)
                setup = Setup(settings.data_dir, workers=run_settings.workers,
                              address=address or run_settings.ray_address,
                              rows_instead=rows_instead, holds_back=pruning.holds_back,
                              say=lambda line: console.print(line, highlight=False, markup=False))
                make_executor(checked.executor, setup).run(plan.units, on_rows)
        except KeyboardInterrupt as stop:   # Ctrl-C or SIGTERM: what is stored stays; the same command resumes
            signum = signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT
            store.end_invocation(invocation, InvocationStatus.INTERRUPTED,
                                 "stopped by SIGTERM" if signum == signal.SIGTERM else "interrupted by the user")
            raise Interrupted(int(store.invocations().set_index("id").at[invocation, "rows"]), signum) from None
        except BaseException as err:
            store.end_invocation(invocation, InvocationStatus.FAILED, f"{type(err).__name__}: {err}"[:400])
            raise
        store.end_invocation(invocation, InvocationStatus.FINISHED)
        outcome.computed, outcome.seconds = dict(progress.counts), time.monotonic() - started
        counts = ", ".join(f"{n} {s}" for s, n in sorted(progress.counts.items()))
        console.print(f"done in {outcome.seconds:.0f} s: {counts}.", highlight=False)
        return outcome


def effective_settings(settings: Settings, run_settings: RunSettings, flags: dict, **invocation) -> dict:
    """What a run really ran with: the settings after bench.toml, the profile and the flags, the data
    directory after BENCH_DATA_DIR, and where each came from."""
    return {"run": run_settings.model_dump(), "config_file": settings.source,
            "flags": {k: v for k, v in flags.items() if v is not None},
            "environment_variables": {k: os.environ[k] for k in (CONFIG_ENV, DATA_DIR_ENV, "RAY_ADDRESS")
                                      if os.environ.get(k)},
            "data": {"dir": str(settings.data_dir), "impute": settings.data.impute, "leak": settings.data.leak},
            **invocation}
