"""The plan (grid of units minus what is stored) and the local executor.

The executor runs units in forked worker processes of its own so that a unit over its time limit can be
killed outright (a thread or a pool worker cannot be); the driver alone writes the store. A worker dies with
its driver, however the driver ends: a worker left behind would hold the directory and compute for no one.
"""
from __future__ import annotations

import ctypes
import json
import multiprocessing as mp
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from itertools import product
from multiprocessing.connection import wait
from pathlib import Path

from . import environment
from .classifiers import CLASSIFIERS, identities, resolve_classifiers
from .config import RunSettings
from .data import PAPER_DATASETS, DataCatalog
from .metrics import METRICS
from .names import UnknownNameError, resolve_name
from .protocol import Row, Unit, failed_rows, load_split, run_unit, split_spec, unit_libraries
from .run_status import RunStatus
from .samplers.registry import load_factory, preload, resolve_samplers


@dataclass
class Plan:
    units: list[Unit]          # what is left to compute
    total_rows: int            # rows of the whole grid, stored or not
    stored_rows: int

    @property
    def rows(self) -> int:
        return sum(len(u.classifiers) for u in self.units)


def resolve_datasets(names: Iterable[str], catalog: DataCatalog) -> list[str]:
    """`all` means the paper's six; a group (bench.data.groups: `keel`, `collection`, `keel-min20`, ...) its
    registered datasets; other names must be registered in the data directory."""
    from .data import groups
    records = catalog.records()
    registered = {r.name for r in records}
    known = sorted(registered | set(PAPER_DATASETS) | set(groups.GROUPS))
    out = []
    for name in names:
        if name == "all":
            out += [_registered_or_pulled(n, registered, catalog) for n in PAPER_DATASETS]
            continue
        group = None if name in registered else groups.split_group(name)
        if group is None:
            try:
                name = resolve_name(name, known, "dataset", listing="bench list datasets")
            except UnknownNameError:
                if groups.looks_like_group(name):
                    raise UnknownNameError(f"unknown dataset group {name!r} (nor a registered dataset): the "
                                           f"groups are {groups.SPELLING}; see `bench list datasets`") from None
                raise
            group = groups.split_group(name) if name in groups.GROUPS else None
        if group is not None:
            out += groups.members(*group, records)
        else:
            out.append(_registered_or_pulled(name, registered, catalog))
    return list(dict.fromkeys(out))   # a dataset named twice (e.g. in two spellings) is run once


def _registered_or_pulled(name: str, registered: set[str], catalog: DataCatalog) -> str:
    if name not in registered:
        # A paper dataset not yet here is fetched from OpenML; offline that fails with a DataError
        # that names `bench data import`.
        catalog.pull([name])
    return name


def make_plan(run: RunSettings, catalog: DataCatalog, stored: set[str], impute: str, leak: bool) -> Plan:
    """Every (unit, classifier) row of the grid that the store lacks, grouped into units."""
    classifiers = resolve_classifiers(run.classifiers)
    samplers = resolve_samplers(run.samplers)
    metrics = [resolve_name(m, METRICS, "metric", listing="bench list metrics") for m in run.metrics]
    for name in (*run.params, *run.time_limits):   # per-sampler settings must name real samplers
        resolve_samplers([name])
    datasets = resolve_datasets(run.datasets, catalog)   # last: a paper dataset not here yet is downloaded
    spec = split_spec(run.split, impute, leak, run.test_size)
    irs = run.irs if run.split == "ir" else (0,)   # 0: the data's own imbalance
    libraries = {c.entry.name: unit_libraries(c.entry.libraries) for c in samplers}
    contents = {name: catalog.content(name) for name in datasets}
    units, total, done = [], 0, 0
    for dataset, ir, seed, choice in product(datasets, irs, run.seeds, samplers):
        entry = choice.entry
        # Methods that search against a classifier or a metric get a unit for each.
        groups = [(c,) for c in classifiers] if entry.per_classifier else [tuple(classifiers)]
        tune_metrics = metrics if entry.per_metric else [None]
        # parameters from [samplers.NAME] and [run.params]: part of the key, not of the label
        defaults = {**entry.params, **run.params.get(entry.name, {})}
        limit = run.time_limits.get(entry.name, run.time_limit)
        for params, group, metric in product(choice.grid(run.ratios), groups, tune_metrics):
            unit = Unit(dataset, ir, seed, entry.name, choice.label, json.dumps({**defaults, **params}, sort_keys=True),
                        entry.version, spec, libraries[entry.name], group, metric, limit,
                        classifier_code=identities(group), factory=entry.factory if entry.family == "user" else "",
                        data=contents[dataset])
            missing = tuple(c for c in group if unit.key(c) not in stored)
            total += len(group)
            done += len(group) - len(missing)
            if missing:
                units.append(replace(unit, classifiers=missing))
    return Plan(units, total, done)


def prepare_splits(units: list[Unit], catalog: DataCatalog) -> None:
    """Build every split the plan needs once, in the driver, before workers read them from the cache."""
    for unit in {(u.dataset, u.ir, u.seed, u.split_spec): u for u in units}.values():
        load_split(catalog, unit)


#: Units one worker process runs before it is replaced, bounding what a leaky method can accumulate.
UNITS_PER_WORKER = 100
#: Seconds between an idle worker's checks that its driver still lives, where the kernel cannot tell it.
DRIVER_CHECK_S = 1.0
PR_SET_PDEATHSIG = 1   # from <linux/prctl.h>


def execute_local(units: list[Unit], data_dir: Path, *, workers: int, on_rows: Callable[[list[Row]], None],
                  rows_instead: Callable[[Unit], list[Row] | None] = lambda unit: None) -> None:
    """Run units in at most `workers` forked worker processes, each unit killed past its time limit.

    A worker runs units one after another (a fresh fork per unit costs about as much again as a small unit:
    the child's first touches of the driver's memory are copy-on-write page faults); one whose unit runs out
    of time is killed and replaced, as is one that dies. Every unit seeds its own randomness, so its rows do
    not depend on what its worker ran before (the CI check compares them with rows of one process per unit).
    `rows_instead(unit)` may give the rows to store instead of starting a unit (bench.pruning)."""
    _import_before_forking(units)
    ctx = mp.get_context("fork")
    pending = list(reversed(units))
    idle: list[_Worker] = []
    busy: dict[object, _Worker] = {}   # the worker's end of its pipe -> the worker
    try:
        while pending or busy:
            while pending and len(busy) < max(1, workers):
                unit = pending.pop()
                instead = rows_instead(unit)
                if instead is not None:
                    on_rows(instead)
                    continue
                worker = idle.pop() if idle else _Worker(ctx, data_dir, [*busy, *(w.connection for w in idle)])
                worker.start(unit)
                busy[worker.connection] = worker
            if not busy:
                continue
            next_deadline = min(w.deadline for w in busy.values())
            for connection in wait(list(busy), timeout=max(0.0, next_deadline - time.monotonic())):
                worker = busy.pop(connection)
                try:
                    rows = connection.recv()
                except EOFError:   # the worker died without answering (killed, out of memory, ...)
                    worker.kill()
                    rows = failed_rows(worker.unit, RunStatus.ERROR,
                                       f"worker process died (exit code {worker.process.exitcode})")
                else:
                    if worker.units < UNITS_PER_WORKER:
                        idle.append(worker)
                    else:
                        worker.stop()
                on_rows(rows)
            now = time.monotonic()
            for connection in [c for c, w in busy.items() if w.deadline <= now]:
                worker = busy.pop(connection)
                worker.kill()
                on_rows(failed_rows(worker.unit, RunStatus.TIMEOUT, f"exceeded the time limit of {worker.unit.time_limit:g} s"))
    finally:
        for worker in idle:
            worker.stop()
        for worker in busy.values():
            worker.kill()


def _import_before_forking(units: list[Unit]) -> None:
    """What the units will import (their samplers' adapters and methods, the classifiers, the metrics) and
    the environment their rows record, loaded once here: forked workers inherit it instead of each
    loading it again."""
    environment.describe()
    preload({u.sampler for u in units})
    for name in {c for u in units for c in u.classifiers}:
        load_factory(CLASSIFIERS[name].factory)
    import sklearn.metrics  # noqa: F401  (what bench.metrics imports on first use)


class _Worker:
    """A forked process that runs the units it is sent, one at a time, until it is sent None. `others`: the
    driver's ends of the other workers' pipes, which the child closes with its own."""

    def __init__(self, ctx, data_dir: Path, others: list):
        self.connection, child = ctx.Pipe()
        # not daemonic: a unit may start processes of its own (AutoSMOTE's actors)
        self.process = ctx.Process(target=_serve, args=(child, [self.connection, *others], data_dir, os.getpid()))
        self.process.start()
        child.close()
        self.unit: Unit | None = None
        self.deadline = float("inf")
        self.units = 0

    def start(self, unit: Unit) -> None:
        self.connection.send(unit)
        self.unit, self.deadline, self.units = unit, time.monotonic() + unit.time_limit, self.units + 1

    def stop(self) -> None:
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(timeout=10)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.connection.close()


def _serve(connection, driver_ends: list, data_dir: Path, driver: int) -> None:
    """A worker's loop; one thread, since the executor already runs one worker per core. It ends with its
    driver: the kernel kills it when the driver exits (Linux); elsewhere it finds the driver gone when idle.
    (The driver's run lock it inherited is closed at the fork: bench.store.)"""
    _die_with(driver)
    for end in driver_ends:   # the driver's ends: with them closed here, the driver's death is EOF here
        end.close()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)   # not the driver's handler (bench.execution), inherited
    os.environ["OMP_NUM_THREADS"] = "1"
    if "torch" in sys.modules:   # torch keeps its own thread pool, which threadpoolctl does not reach
        sys.modules["torch"].set_num_threads(1)
    try:
        while True:
            while not connection.poll(DRIVER_CHECK_S):
                if os.getppid() != driver:
                    os._exit(0)
            if (unit := connection.recv()) is None:
                break
            try:
                rows = compute_unit(unit, data_dir)
            except Exception as err:   # e.g. a split that cannot be read: still one answer per unit
                rows = failed_rows(unit, RunStatus.ERROR, f"{type(err).__name__}: {err}")
            connection.send(rows)
            stop_process_pools()
    except KeyboardInterrupt:   # Ctrl-C reaches the whole process group: the driver reports it, quietly here
        os._exit(130)
    except (EOFError, BrokenPipeError):   # the driver is gone
        os._exit(0)


def _die_with(driver: int) -> None:
    """Have the kernel send SIGKILL when the driver exits, however it does (SIGKILL, the OOM killer): Linux's
    prctl(PR_SET_PDEATHSIG), through ctypes since the standard library does not wrap it. A driver that died
    before this took effect is no longer the parent: the check after it catches that."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != driver:
        os._exit(0)


#: Samplers whose units run in a process pinned to one CPU code path (autosmote.determinism, issue 26): the
#: same key gives the same scores on any x86-64-v3 CPU. Their catalogue version says "+pinned".
PINNED_SAMPLERS = frozenset({"AutoSMOTE"})


def compute_unit(unit: Unit, data_dir: Path) -> list[Row]:
    """run_unit here, or in this worker's pinned interpreter for a pinned sampler."""
    if unit.sampler in PINNED_SAMPLERS:
        from autosmote.determinism import call_pinned   # here: importing autosmote loads torch
        return call_pinned(run_unit, unit, data_dir)
    return run_unit(unit, data_dir)


def stop_process_pools() -> None:
    """Shut down joblib's loky pool if the unit started one (ctgan does, for its data transformer). Its
    workers idle for 300 s before they exit, holding memory, and a process waits for its children when it
    ends, so a worker that is stopped or replaced would linger that long."""
    module = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(module, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)
