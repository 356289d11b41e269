"""The plan (grid of units minus what is stored) and the local executor.

The executor runs each unit in its own forked worker process so that a unit over its time limit can be
killed outright (a thread or a pool worker cannot be); the driver alone writes the store.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from itertools import product
from multiprocessing.connection import wait
from pathlib import Path

from .classifiers import resolve_classifiers
from .config import RunSettings
from .datasets import DataCatalog
from .metrics import METRICS
from .names import resolve_name
from .protocol import Row, Unit, failed_rows, load_split, run_unit, split_spec, unit_libraries
from .samplers.registry import resolve_samplers

PAPER_DATASETS = ("phoneme", "PhishingWebsites", "eeg-eye-state", "mozilla4", "MagicTelescope", "electricity")


@dataclass
class Plan:
    units: list[Unit]          # what is left to compute
    total_rows: int            # rows of the whole grid, stored or not
    stored_rows: int

    @property
    def rows(self) -> int:
        return sum(len(u.classifiers) for u in self.units)


def resolve_datasets(names: Iterable[str], catalog: DataCatalog) -> list[str]:
    """`all` means the paper's six; other names must be registered in the data directory."""
    names = list(names)
    if names == ["all"]:
        names = list(PAPER_DATASETS)
    registered = {r.name for r in catalog.records()}
    known = sorted(registered | set(PAPER_DATASETS))
    out = []
    for name in names:
        canonical = resolve_name(name, known, "dataset", listing="bench list datasets")
        if canonical not in registered:
            # A paper dataset not yet here is fetched from OpenML; offline that fails with a DataError
            # that names `bench data import`.
            catalog.pull([canonical])
        out.append(canonical)
    return out


def make_plan(run: RunSettings, catalog: DataCatalog, stored: set[str], impute: str, leak: bool) -> Plan:
    """Every (unit, classifier) row of the grid that the store lacks, grouped into units."""
    datasets = resolve_datasets(run.datasets, catalog)
    classifiers = resolve_classifiers(run.classifiers)
    samplers = resolve_samplers(run.samplers)
    metrics = [resolve_name(m, METRICS, "metric", listing="bench list metrics") for m in run.metrics]
    for name in (*run.params, *run.time_limits):   # per-sampler settings must name real samplers
        resolve_samplers([name])
    spec = split_spec(run.split, impute, leak, run.test_size)
    irs = run.irs if run.split == "ir" else (0,)   # 0: the data's own imbalance
    libraries = {c.entry.name: unit_libraries(c.entry.libraries) for c in samplers}
    units, total, done = [], 0, 0
    for dataset, ir, seed, choice in product(datasets, irs, run.seeds, samplers):
        entry = choice.entry
        # Methods that search against a classifier or a metric get a unit for each.
        groups = [(c,) for c in classifiers] if entry.per_classifier else [tuple(classifiers)]
        tune_metrics = metrics if entry.per_metric else [None]
        defaults = run.params.get(entry.name, {})   # from bench.toml: part of the key, not of the label
        limit = run.time_limits.get(entry.name, run.time_limit)
        for params, group, metric in product(choice.grid(run.ratios), groups, tune_metrics):
            unit = Unit(dataset, ir, seed, entry.name, choice.label, json.dumps({**defaults, **params}, sort_keys=True),
                        entry.version, spec, libraries[entry.name], group, metric, limit)
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


def execute_local(units: list[Unit], data_dir: Path, *, workers: int,
                  on_rows: Callable[[list[Row]], None]) -> None:
    """Run units in forked workers, at most `workers` at once, each killed past its time limit."""
    ctx = mp.get_context("fork")
    pending = list(reversed(units))
    running: dict[object, tuple[Unit, mp.Process, float]] = {}   # receiving end -> (unit, process, deadline)
    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                unit = pending.pop()
                receiver, sender = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_worker, args=(unit, data_dir, sender))   # not daemonic: a unit may start its own workers
                proc.start()
                sender.close()
                running[receiver] = (unit, proc, time.monotonic() + unit.time_limit)
            next_deadline = min(d for _, _, d in running.values())
            ready = wait(list(running), timeout=max(0.0, next_deadline - time.monotonic()))
            for receiver in ready:
                unit, proc, _ = running.pop(receiver)
                try:
                    rows = receiver.recv()
                except EOFError:   # the worker died without answering (killed, out of memory, ...)
                    proc.join()
                    rows = failed_rows(unit, "error", f"worker process died (exit code {proc.exitcode})")
                receiver.close()
                on_rows(rows)
                proc.join()
            now = time.monotonic()
            for receiver in [r for r, (_, _, d) in running.items() if d <= now]:
                unit, proc, _ = running.pop(receiver)
                proc.kill()
                proc.join()
                receiver.close()
                on_rows(failed_rows(unit, "timeout", f"exceeded the time limit of {unit.time_limit:g} s"))
    finally:
        for receiver, (_, proc, _) in running.items():
            proc.kill()
            proc.join()
            receiver.close()


def _worker(unit: Unit, data_dir: Path, sender) -> None:
    """One unit in a forked process; one thread, since the executor already runs one worker per core."""
    os.environ["OMP_NUM_THREADS"] = "1"
    if "torch" in sys.modules:   # torch keeps its own thread pool, which threadpoolctl does not reach
        sys.modules["torch"].set_num_threads(1)
    try:
        rows = run_unit(unit, data_dir)
    except Exception as err:   # e.g. a split that cannot be read: still one answer per unit
        rows = failed_rows(unit, "error", f"{type(err).__name__}: {err}")
    sender.send(rows)
    sender.close()
    stop_process_pools()


def stop_process_pools() -> None:
    """Shut down joblib's loky pool if the unit started one (ctgan does, for its data transformer). Its
    workers idle for 300 s before they exit, and a forked process waits for its children when it ends,
    so without this the unit's process, and its worker slot, would linger that long."""
    module = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(module, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)
