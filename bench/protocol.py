"""One unit of work: resample a training split once, then fit and score every classifier on it.

A unit's rows are a pure function of their specs, so the store can key them by a hash and a rerun
reproduces them exactly. The best ratio per metric is chosen later from the stored validation scores
(bench.stats.select_best), so one fit serves both metrics and validation and test scores.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import time
import traceback
import warnings
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from . import environment
from .run_status import RunStatus
from .classifiers import make_classifier
from .data import DataCatalog, DataError
from .data.errors import TooSmallToSplit
from .data.split_protocol import Split, SplitKind
from .metrics import METRICS
from .samplers.registry import SamplerContext, load_factory, sampler_entry
from .samplers.rules import ratio_met, returned_input



@dataclass(frozen=True)
class Unit:
    """A resampling of one split with one parameter set, shared by several classifiers."""
    dataset: str
    ir: int
    seed: int
    sampler: str            # registry name
    label: str              # the name shown in tables (with fixed parameters, if any)
    params: str             # JSON, sorted keys: the parameters tried (e.g. {"ratio": 0.3})
    version: str            # the sampler's code version
    split_spec: str         # JSON: how the split is made (its SplitKind's value, preprocessing)
    libraries: str          # JSON: versions of the libraries that change the unit's numbers
    classifiers: tuple[str, ...]
    tune_metric: str | None = None   # set for samplers that tune on one metric internally
    time_limit: float = 900.0        # seconds before the worker is killed (not part of the identity)
    classifier_code: str = "{}"      # JSON: identities of classifiers from outside (bench.classifiers.identities)
    factory: str = ""                # a sampler from outside: "module:attr", for workers that lack its definition
    data: str = ""                   # the digest of the dataset's content (bench.data.registry.content_digest)

    @property
    def split(self) -> dict[str, Any]:
        """How the split is made: its kind and preprocessing (the spec's "split")."""
        return _parsed(self.split_spec)

    @property
    def split_kind(self) -> SplitKind:
        return SplitKind(self.split["kind"])

    def spec(self, classifier: str) -> dict[str, Any]:
        spec = {"dataset": self.dataset, "data": self.data, "ir": self.ir, "seed": self.seed, "sampler": self.label,
                "params": _parsed(self.params), "version": self.version, "split": self.split,
                "classifier": classifier, "tune_metric": self.tune_metric, "libraries": _parsed(self.libraries)}
        code = self.classifier_identity(classifier)
        if code:   # only classifiers from outside: the built-in ones' keys stay what they always were
            spec["classifier_code"] = code
        return spec

    def classifier_identity(self, classifier: str) -> dict[str, Any] | None:
        return _parsed(self.classifier_code).get(classifier)

    def key(self, classifier: str) -> str:
        return spec_key(self.spec(classifier))


@lru_cache(maxsize=1024)
def _parsed(text: str) -> Any:
    """A unit's JSON field as a value, parsed once however many keys are made of it (a plan makes one per unit and
    classifier, and a grid's units share most of their fields). Shared by every spec made of it: never changed."""
    return json.loads(text)


def spec_key(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]


def what_changed(stored: dict[str, Any], planned: dict[str, Any]) -> str:
    """In words, how a planned run's code and data differ from a stored run of the same config_key ("" when they
    do not): the sampler's version, a key library's, the data's content, an outside classifier's code."""
    changes = []
    if stored.get("version") != planned.get("version"):
        changes.append(f"version {stored.get('version')} -> {planned.get('version')}")
    old, new = stored.get("libraries") or {}, planned.get("libraries") or {}
    changes += [f"{name} {old.get(name, '-')} -> {new.get(name, '-')}"
                for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]
    if stored.get("data") != planned.get("data"):
        changes.append("the data's content")
    if (stored.get("classifier_code") or {}).get("version") != (planned.get("classifier_code") or {}).get("version"):
        changes.append("the classifier's code")
    return ", ".join(changes)


def config_key(spec: dict[str, Any]) -> str:
    """The run's identity without the code that computed it - library versions, the sampler's version, a
    classifier's from outside - nor the content of its dataset: the same run computed in two environments,
    again after its method changed, or on a dataset registered again with other content, shares it, and
    tables use its newest row only (bench.store.ResultStore.frame)."""
    same = {k: v for k, v in spec.items() if k not in ("libraries", "version", "data")}
    if "classifier_code" in spec:
        same["classifier_code"] = {k: v for k, v in spec["classifier_code"].items() if k != "version"}
    return spec_key(same)


def unit_libraries(extra: tuple[str, ...] = ()) -> str:
    """The `libraries` of a unit: the versions installed here of the key libraries and the sampler's own."""
    return json.dumps(environment.library_versions(environment.KEY_LIBRARIES + tuple(extra)), sort_keys=True)


@dataclass
class Row:
    """One stored result: a (unit, classifier) pair with its status and scores."""
    key: str
    spec: dict[str, Any]
    status: RunStatus
    message: str = ""
    resample_s: float = 0.0
    fit_s: float = 0.0
    n_train: int = 0
    n_minority: int = 0
    scores: dict[tuple[str, str], float] = field(default_factory=dict)   # (split, metric) -> value
    extra: dict[str, Any] = field(default_factory=dict)   # what the method reports (e.g. a search curve)
    environment: dict[str, Any] | None = None   # where it was computed (bench.environment.describe)

    def __post_init__(self):
        self.status = RunStatus(self.status)   # a status's text ("ok") is taken too: a misspelt one fails here


def failed_rows(unit: Unit, status: RunStatus, message: str) -> list[Row]:
    return [Row(unit.key(c), unit.spec(c), status, message) for c in unit.classifiers]


def split_spec(kind: SplitKind | str, impute: str, leak: bool, test_size: float) -> str:
    """The JSON that names a split's construction; part of every run's identity."""
    kind = SplitKind(kind)
    spec = {"kind": kind.value, "impute": impute}
    spec.update({"test_size": test_size} if kind is SplitKind.STRATIFIED else {"leak": leak})
    return json.dumps(spec, sort_keys=True)


@dataclass(frozen=True)
class NoSplit:
    """Why the data is too small for the unit's split (bench.data.errors.TooSmallToSplit): its rows are skipped."""
    reason: str


def load_split(catalog: DataCatalog, unit: Unit) -> Split | NoSplit:
    """The paper's IR split (train/validation/test), a stratified train/test split without validation, or the
    holdout split (stratified train/validation/test at the data's own imbalance), of the data the unit's key
    names - or, where the data has too few rows of a class for that split, why (a NoSplit: the driver's
    preparing of the splits goes on, and the unit's rows are `skipped`). A dataset registered again with other
    content since the plan was made is an error, not rows stored under the old content's key."""
    if unit.data and catalog.content(unit.dataset) != unit.data:
        raise DataError(f"dataset {unit.dataset} was registered again with other content after this run was "
                        "planned: run `bench run` again")
    spec = unit.split
    if unit.split_kind is SplitKind.STRATIFIED:
        return catalog.stratified_split(unit.dataset, unit.seed, spec["test_size"], impute=spec["impute"])
    if unit.split_kind is SplitKind.HOLDOUT:
        try:
            return catalog.holdout_split(unit.dataset, unit.seed, impute=spec["impute"], leak=spec["leak"])
        except TooSmallToSplit as small:
            return NoSplit(str(small))
    return catalog.split(unit.dataset, unit.ir, unit.seed, impute=spec["impute"], leak=spec["leak"])


def run_unit(unit: Unit, data_dir: Path) -> list[Row]:
    """Compute a unit's rows, each with the environment that computed it. Never raises for a method's
    failure: that becomes an error row."""
    rows = _compute(unit, data_dir)
    env = environment.describe(gpu=_gpu_used(rows))
    for row in rows:
        row.environment = env
    return rows


def _compute(unit: Unit, data_dir: Path) -> list[Row]:
    planned = json.loads(unit.libraries)
    here = environment.library_versions(tuple(planned))
    if here != planned:   # e.g. a Ray node with other versions: its rows would carry a key that lies
        wrong = ", ".join(f"{n} {here[n]} (plan: {v})" for n, v in planned.items() if here[n] != v)
        return failed_rows(unit, RunStatus.ERROR, f"this worker has {wrong}: install the versions of the machine "
                                          "that planned the run on every worker")
    entry = sampler_entry(unit.sampler, unit.factory)
    split = load_split(DataCatalog(data_dir), unit)
    if isinstance(split, NoSplit):   # a property of the data, like a method's declaration below: not an error
        return failed_rows(unit, RunStatus.SKIPPED, split.reason)
    params = json.loads(unit.params)
    context = SamplerContext(unit.seed, split.X_val, split.y_val,
                             classifier=unit.classifiers[0] if entry.per_classifier else None,
                             metric=unit.tune_metric)
    reason = why_it_cannot_run(entry, params, split.y_train)
    if reason:   # by the method's own declaration: not an error, and no resampling is attempted
        return failed_rows(unit, RunStatus.SKIPPED, reason)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        if entry.predicts:   # the method is itself the classifier (it wraps the base one)
            return [fit_and_score(Row(unit.key(name), unit.spec(name), RunStatus.OK), split, split.X_train,
                                  split.y_train, lambda: entry.make(params, replace(context, classifier=name)),
                                  entry.fit_info)
                    for name in unit.classifiers]
        start = time.perf_counter()
        try:
            X, y, info = resample(entry, params, context, split.X_train, split.y_train)
        except Exception as err:  # any failure of a third-party method is a result, not a crash
            return failed_rows(unit, RunStatus.ERROR, _one_line(err))
        resample_s = time.perf_counter() - start
        unchanged = returned_input(split.X_train, split.y_train, X, y)
        status = RunStatus.NO_OP if unchanged and not entry.identity else RunStatus.OK
        message = "the sampler returned its input unchanged" if status == RunStatus.NO_OP else ""
        return [fit_and_score(Row(unit.key(name), unit.spec(name), status, message, resample_s=resample_s,
                                  extra=info),
                              split, X, y, lambda: make_classifier(name, unit.seed, unit.classifier_identity(name)))
                for name in unit.classifiers]


def why_it_cannot_run(entry, params: dict[str, Any], y: np.ndarray) -> str | None:
    """Why a method cannot run on this training split, by what it declares: a binary-only method on multi-class
    data; fewer rows in a minority class than its neighbours need (k of them besides the row itself)."""
    labels, counts = np.unique(y, return_counts=True)
    if entry.binary_only and len(labels) > 2:
        return f"{entry.name} handles two classes only; this data has {len(labels)}"
    k = neighbours_needed(entry, params)
    if k is not None and counts.min() <= k:
        return (f"{entry.name} needs more than {k} rows in each minority class (its {k} neighbours); "
                f"the smallest has {counts.min()}")
    return None


def neighbours_needed(entry, params: dict[str, Any]) -> int | None:
    """The k of a method that declares `neighbours`: a fixed number, or the parameter holding it (its value in
    the run's parameters, else the method's default)."""
    declared = entry.neighbours
    if declared is None or isinstance(declared, int):
        return declared
    if declared in params:
        value = params[declared]
    else:
        value = inspect.signature(load_factory(entry.factory)).parameters[declared].default
    return value if isinstance(value, int) and not isinstance(value, bool) else None   # an estimator: unknown


def _gpu_used(rows: list[Row]) -> str | None:
    """The GPU a unit's torch model ran on, if any (methods report their device in `extra`)."""
    if not any(str(r.extra.get("device", "")).startswith("cuda") for r in rows):
        return None
    import torch   # already loaded by the method that used it
    return torch.cuda.get_device_name()


def fit_and_score(row: Row, split, X: np.ndarray, y: np.ndarray, build, fit_info=None) -> Row:
    """Fit one model on (X, y) and score it on the validation and test splits with every metric."""
    row.n_train, row.n_minority = len(y), int(np.sum(y == 1))
    try:
        start = time.perf_counter()
        model = build().fit(X, y)
        row.fit_s = time.perf_counter() - start
        if fit_info is not None:
            row.extra = fit_info(model)
        # A protocol without a validation split (stratified) scores the real training rows instead: the
        # training error beside the test error (the Gumbel paper's generalisation check).
        fitted_on = ("val", split.X_val, split.y_val) if len(split.y_val) else ("train", split.X_train, split.y_train)
        for split_name, Xs, ys in (fitted_on, ("test", split.X_test, split.y_test)):
            pred = model.predict(Xs)
            for metric, score in METRICS.items():
                row.scores[(split_name, metric)] = score(ys, pred)
    except Exception as err:
        row.status, row.message, row.scores = RunStatus.ERROR, _one_line(err), {}
    return row


def resample(entry, params: dict[str, Any], context: SamplerContext, X: np.ndarray, y: np.ndarray):
    """The resampled training set and what the method reports about its fit (e.g. a search curve). A ratio the
    data meets already (bench.samplers.rules) gets the training set back: no sampler is built."""
    ratio = params.get("ratio")
    if ratio is not None and ratio_met(ratio, np.bincount(y)):
        return X, y, {}
    sampler = entry.make(params, context)
    X_res, y_res = sampler.fit_resample(X, y)
    info = entry.fit_info(sampler) if entry.fit_info is not None else {}
    X_res = np.asarray(X_res, dtype=float)
    if not np.isfinite(X_res).all():   # some classifiers (trees) would fit on them and score the sampler ok
        raise ValueError(f"the sampler {entry.name} returned non-finite values (NaN or infinity) in "
                         f"{int((~np.isfinite(X_res)).any(axis=1).sum())} of {len(X_res)} rows")
    return X_res, np.asarray(y_res), info


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or "(no message)"
    where = traceback.extract_tb(err.__traceback__)[-1] if err.__traceback__ else None
    origin = f" [{Path(where.filename).name}:{where.lineno}]" if where else ""
    return f"{type(err).__name__}: {text[:400]}{origin}"
