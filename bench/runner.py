"""The planner: a run's grid of units (built once per run) and its plan, the grid minus what a store holds.
Executors (bench.executors) compute the plan's units.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from collections import Counter
from dataclasses import dataclass, field, replace
from itertools import product

from .classifiers import identities, resolve_classifiers
from .config import RunSettings
from .data import PAPER_DATASETS, DataCatalog
from .data.split_protocol import SplitKind
from .metrics import METRICS
from .names import UnknownNameError, resolve_name
from .protocol import Unit, config_key, load_split, split_spec, unit_libraries, what_changed
from .samplers.registry import check_table_key, per_sampler, resolve_samplers


@dataclass
class Plan:
    units: list[Unit]          # what is left to compute
    total_rows: int            # rows of the whole grid, stored or not
    stored_rows: int
    # rows left that recompute a stored run under changed code or data: (label, what changed) -> rows
    recomputed: Counter = field(default_factory=Counter)

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


@dataclass(frozen=True)
class Grid:
    """Every unit a run's settings name, each with all its classifiers. Building it resolves every name, fetches a
    paper dataset not here yet and reads each dataset's checksum, so a run builds it once (bench.execution's
    check_inputs) and plans it against its store when the store is locked."""
    units: tuple[Unit, ...]

    def plan(self, stored: set[str], stored_specs: dict[str, dict] | None = None) -> Plan:
        """Every (unit, classifier) row of the grid whose key is not in `stored`, grouped into units; with the
        store's specs by config key (ResultStore.specs_by_config), also which of them recompute a stored run
        because its code or data changed, and what changed."""
        units, total, done, recomputed = [], 0, 0, Counter()
        for unit in self.units:
            missing = tuple(c for c in unit.classifiers if unit.key(c) not in stored)
            total += len(unit.classifiers)
            done += len(unit.classifiers) - len(missing)
            if missing:
                units.append(replace(unit, classifiers=missing))
            for classifier in missing if stored_specs else ():
                spec = unit.spec(classifier)
                before = stored_specs.get(config_key(spec))
                change = what_changed(before, spec) if before is not None else ""
                if change:   # "" : new, or the same identity retried (--retry-failed)
                    recomputed[unit.label, change] += 1
        return Plan(units, total, done, recomputed)


def make_grid(run: RunSettings, catalog: DataCatalog, impute: str, leak: bool) -> Grid:
    """The run's grid, names resolved (a bad one is a one-line error)."""
    classifiers = resolve_classifiers(run.classifiers)
    samplers = resolve_samplers(run.samplers)
    metrics = [resolve_name(m, METRICS, "metric", listing="bench list metrics") for m in run.metrics]
    for table, keys in (("params", run.params), ("time_limits", run.time_limits)):
        for key in keys:   # exact sampler or group names: per_sampler matches no other spelling
            check_table_key(key, table)
    datasets = resolve_datasets(run.datasets, catalog)   # last: a paper dataset not here yet is downloaded
    spec = split_spec(run.split, impute, leak, run.test_size)
    libraries = {c.entry.name: unit_libraries(c.entry.libraries) for c in samplers}
    contents = {name: catalog.content(name) for name in datasets}
    units = []
    for dataset, ir, seed, choice in product(datasets, SplitKind(run.split).irs(run.irs), run.seeds, samplers):
        entry = choice.entry
        # Methods that search against a classifier or a metric get a unit for each.
        groups = [(c,) for c in classifiers] if entry.per_classifier else [tuple(classifiers)]
        tune_metrics = metrics if entry.per_metric else [None]
        # parameters from [samplers.NAME] and [run.params] (by group, then by name): part of the key, not the label
        defaults = {**entry.params, **{k: v for table in per_sampler(run.params, entry) for k, v in table.items()}}
        limit = ([run.time_limit] + per_sampler(run.time_limits, entry))[-1]
        for params, group, metric in product(choice.grid(run.ratios), groups, tune_metrics):
            units.append(Unit(dataset, ir, seed, entry.name, choice.label,
                              json.dumps({**defaults, **params}, sort_keys=True), entry.version, spec,
                              libraries[entry.name], group, metric, limit, classifier_code=identities(group),
                              factory=entry.factory if entry.family == "user" else "", data=contents[dataset]))
    return Grid(tuple(units))


def make_plan(run: RunSettings, catalog: DataCatalog, stored: set[str], impute: str, leak: bool) -> Plan:
    """The grid's plan against `stored`, for a caller that plans once (a benchmark, a test)."""
    return make_grid(run, catalog, impute, leak).plan(stored)


def prepare_splits(units: list[Unit], catalog: DataCatalog) -> None:
    """Build every split the plan needs once, in the driver, before workers read them from the cache."""
    for unit in {(u.dataset, u.ir, u.seed, u.split_spec): u for u in units}.values():
        load_split(catalog, unit)
