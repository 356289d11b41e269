"""What every artefact reads: the store's rows, the reader's options, and the sampler metadata of each row.

Rows are chosen by metadata, never by name patterns: the split kind in a row's spec (SplitKind: the paper's
IR protocol, the holdout split at the data's own imbalance, or stratified train/test), and the entry behind a
sampler label - its family and category, and the parameters the label fixes: ``AutoSMOTE[g1=10]`` is a
*variant* of the entry ``AutoSMOTE``. Labels are read as data (bench.samplers.labels): reading imports no method
and registers nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from .. import stats
from ..config import TableSettings
from ..data.split_protocol import TOO_SMALL_FOR_HOLDOUT, SplitKind
from ..errors import UserError
from ..metrics import METRICS
from ..names import resolve_name
from ..run_status import SCORED, RunStatus
from ..samplers.labels import SamplerLabels

REPORT_METRICS = ("macro_f1", "mcc")     # the paper's two; multi-metric artefacts (Table 4) show both
STORE_COLUMNS = ("key", "dataset", "ir", "seed", "sampler", "params", "classifier", "tune_metric", "status",
                 "message", "spec")
# Figure 7's samplers. The paper also draws CTGAN; it is left out by default because it alone takes minutes
# on a CPU (about 5 on two shared cores): pass toy_samplers=(..., "CTGAN") to add it.
TOY_SAMPLERS = ("No-resampling", "SMOTE", "BorderlineSMOTE", "ADASYN", "SVMSMOTE", "AutoSMOTE")
SMOTE_VARIANTS = "smote_variants"       # the family of Table 3
NO_RESAMPLING = "No-resampling"         # the input: what a sampler that cannot run is scored as ([table] failed)
AS_INPUT = "could not run, scored as its input"   # the message that marks such a row
# the flags' choices and the options' defaults are the settings' own (bench.config.TableSettings)
FLAG_CHOICES = {name: TableSettings.choices(name)
                for name in ("pairing", "alternative", "noop", "correction", "failed")}
_TABLE = TableSettings()
#: The split kinds whose samplers are tuned on a validation part: Table 2 ranks their rows (the IR protocol's and
#: the holdout split's; a configuration's IR is 0 at the data's own imbalance). The stratified split has none.
TUNED_KINDS = (SplitKind.IR, SplitKind.HOLDOUT)


class NotApplicable(UserError):
    """Why an artefact cannot be built from these rows, in one line (`bench table` prints it, exit code 2)."""

    def __init__(self, why: str):
        super().__init__(" ".join(str(why).split()))


@dataclass(frozen=True)
class Options:
    """The reader's choices: the reference and its Wilcoxon marks, no-op handling, the report's metrics
    and inputs that are not in the store (the paper's tables, Figure 7's toy data)."""
    reference: str = _TABLE.reference
    pairing: str = _TABLE.pairing
    alternative: str = _TABLE.alternative
    alpha: float = _TABLE.alpha
    noop: str = _TABLE.noop
    correction: str = _TABLE.correction
    failed: str = _TABLE.failed
    metrics: tuple[str, ...] = REPORT_METRICS
    paper_tables: Path | None = None
    toy_csv: Path | None = None
    toy_samplers: tuple[str, ...] = TOY_SAMPLERS
    toy_seed: int = 1

    def __post_init__(self) -> None:
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown or not self.metrics:
            raise ValueError(f"metrics must be a non-empty subset of {list(METRICS)}, got {list(self.metrics)}")
        for name in ("noop", "failed"):
            if getattr(self, name) not in FLAG_CHOICES[name]:
                raise ValueError(f"{name} must be one of {FLAG_CHOICES[name]}, got {getattr(self, name)!r}")
        _ = self.wilcoxon   # WilcoxonSetting validates pairing, alternative, alpha and correction

    @classmethod
    def from_settings(cls, table: Any, **given: Any) -> Options:
        """``[table]`` settings, overridden by every ``given`` value that is not None; a flag's unknown value
        is one line naming the choices."""
        given = {k: v for k, v in given.items() if v is not None}
        for name, allowed in FLAG_CHOICES.items():
            if name in given:
                given[name] = resolve_name(given[name], allowed, name, listing=" | ".join(allowed))
        base = {"reference": table.reference, "pairing": table.pairing, "alternative": table.alternative,
                "alpha": table.alpha, "noop": table.noop, "correction": table.correction, "failed": table.failed}
        return cls(**{**base, **given})

    @property
    def wilcoxon(self) -> stats.WilcoxonSetting:
        """The Wilcoxon setting; correction "auto" not yet resolved for a store (:meth:`for_store`) is "none"."""
        correction = "none" if self.correction == "auto" else self.correction
        return stats.WilcoxonSetting(self.reference, self.pairing, self.alternative, self.alpha, correction)

    def for_store(self, collection: bool) -> Options:
        """The "auto" choices resolved for a store. Where it holds a collection's rows (the holdout split: one
        control against many samplers over many datasets, Demsar 2006) the correction is Holm and a sampler that
        cannot run on a dataset is scored as its input; else the paper's uncorrected marks, and such a sampler
        is missing there (as the paper's Table 2)."""
        resolved = {}
        if self.correction == "auto":
            resolved["correction"] = "holm" if collection else "none"
        if self.failed == "auto":
            resolved["failed"] = "input" if collection else "missing"
        return replace(self, **resolved)


def is_variant_of(labels: pd.Series, reference: str, parameters: set[str], samplers: SamplerLabels) -> pd.Series:
    """Mask: the label is a variant of the reference's entry fixing one of ``parameters``."""
    entry = samplers(reference).entry

    def test(label: str) -> bool:
        meta = samplers(label)
        return meta.entry == entry and bool(set(meta.fixed) & parameters)
    return labels.map(test).astype(bool)


def split_kind(spec: str) -> SplitKind:
    """A row's split kind; stores older than the split field hold IR rows only."""
    split = json.loads(spec).get("split") or {}
    return SplitKind(split.get("kind", SplitKind.IR))


class Context:
    """One store's rows, read once, with the reader's options; builds are kept, so that every format of an
    artefact (and `bench report`'s index) renders the one build."""

    def __init__(self, frame: pd.DataFrame, options: Options = Options(), catalog: Any = None,
                 plan: tuple[list, int] | None = None, samplers: SamplerLabels | None = None):
        absent = [c for c in STORE_COLUMNS if c not in frame.columns]
        if absent:
            raise ValueError(f"frame lacks the store column(s) {absent}: pass ResultStore.frame()")
        self.frame, self.catalog, self._options = frame, catalog, options
        self.plan = plan   # (units left to compute, workers): what `bench run --dry-run` prices
        # the rows' sampler labels: bench.methods.sampler_labels(settings) knows bench.toml's definitions too
        self.samplers = samplers or SamplerLabels()
        self.builds: dict[tuple[str, str | None], Any] = {}
        self.selection: str | None = None   # which of the store's rows these are, when not all (e.g. some seeds)
        self._table2_rows: dict[tuple[SplitKind, ...], pd.DataFrame] = {}   # read by most artefacts, many times

    @cached_property
    def options(self) -> Options:
        """The reader's options, their "auto" choices resolved for this store (:meth:`Options.for_store`)."""
        return self._options.for_store(collection=self.is_collection)

    @cached_property
    def is_collection(self) -> bool:
        """Whether the store holds a collection's rows (the holdout split's): many datasets, compared over them."""
        return bool((self.split_kinds == SplitKind.HOLDOUT).any())

    @cached_property
    def split_kinds(self) -> pd.Series:
        return self.frame["spec"].map(split_kind, na_action="ignore").fillna(SplitKind.IR)

    def rows(self, kind: SplitKind | tuple[SplitKind, ...] | None = SplitKind.IR) -> pd.DataFrame:
        """The rows of one split kind, or of several (None: every row)."""
        if kind is None:
            return self.frame
        return self.frame[self.split_kinds.isin(kind) if isinstance(kind, tuple) else self.split_kinds == kind]

    def unregistered(self, rows: pd.DataFrame, what: str) -> str | None:
        """Why the data catalogue cannot give the ``what`` (e.g. statistics) of the datasets in ``rows``, or None."""
        from ..data import DataError
        if self.catalog is None:
            return f"no dataset catalogue to read the datasets' {what} from"
        unknown = []
        for name in pd.unique(rows["dataset"]):
            try:
                self.catalog.get(name)
            except DataError:
                unknown.append(name)
        if unknown:
            return (f"dataset(s) {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''} not registered in "
                    f"{self.catalog.root}: `bench data import` them or point BENCH_DATA_DIR at their data directory")
        return None

    def meta(self, rows: pd.DataFrame, field: str) -> pd.Series:
        """One metadata field per row (``family``, ``entry``, ``is_variant`` ...)."""
        return rows["sampler"].map(lambda label: getattr(self.samplers(label), field))

    def table2_rows(self, kinds: tuple[SplitKind, ...] = TUNED_KINDS) -> pd.DataFrame:
        """Table 2's rows (also Figure 4's, the CD diagram's, the paper comparison's and the Bayesian test's):
        the split kinds tuned on validation (IR and holdout splits; ``kinds`` to narrow), every family but
        smote_variants, no variants. A variant whose entry has no rows of its own stands for it (e.g.
        ``MESA[n_estimators=3]`` in a quick profile). Computed once per ``kinds``: callers must not change it."""
        if kinds not in self._table2_rows:
            rows = self.rows(kinds)
            variant, entry = self.meta(rows, "is_variant").astype(bool), self.meta(rows, "entry")
            represented = set(entry[~variant])
            keep = (self.meta(rows, "family") != SMOTE_VARIANTS) & (~variant | ~entry.isin(represented))
            self._table2_rows[kinds] = self.failures_scored(rows[keep.astype(bool)])
        return self._table2_rows[kinds]

    def failures_scored(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` under the reader's ``failed`` choice: with "input", each sampler that could not run on a
        configuration scored as its input (:func:`scored_as_input`, No-resampling's rows of any tuned split)."""
        if self.options.failed != "input":
            return rows
        return scored_as_input(rows, self.rows(TUNED_KINDS))

    def reference_family(self, parameters: set[str]) -> pd.DataFrame:
        """The reference's rows and those of its variants fixing one of ``parameters``, on the configurations
        (dataset, IR, seed, classifier) where such a variant ran: the reference's other runs (e.g. Table 2
        runs on other datasets or IRs) are not comparisons, and would leave every variant unranked for lack
        of a score there."""
        rows = self.rows(SplitKind.IR)
        variant = is_variant_of(rows["sampler"], self.options.reference, parameters, self.samplers)
        keys = ["dataset", "ir", "seed", "classifier"]
        covered = rows.loc[variant, keys].drop_duplicates()
        return rows[variant | (rows["sampler"] == self.options.reference)].merge(covered, on=keys)


def scored_as_input(rows: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """``rows`` where each sampler that could not run on a configuration (dataset, IR, seed, classifier) -
    every row of it there (of its search for one metric) an error or a skip, none timed out or scored - has
    instead one row scored as its input: No-resampling's scored row of that configuration in ``baseline``, as a
    no-op row of the sampler whose message keeps why it could not run. This is smote_variants' rule (an
    oversampler that cannot run returns its input) for the samplers that raise instead, e.g. imbalanced-learn's
    ADASYN where no minority row has a majority neighbour. A configuration without such a No-resampling row, or skipped because the dataset is too
    small for the split (every sampler's, No-resampling's too), stays as it is. Row order is kept."""
    config = ["dataset", "ir", "seed", "classifier"]
    group = [*config, "sampler", "tune_metric"]   # a search per metric (AutoSMOTE's) fails or runs on its own
    small = rows["message"].fillna("").astype(str).str.startswith(TOO_SMALL_FOR_HOLDOUT)
    cannot = rows["status"].isin((RunStatus.ERROR, RunStatus.SKIPPED)) & ~small
    whole_group = cannot.groupby([rows[k] for k in group], dropna=False).transform("all").astype(bool)
    if not whole_group.any():
        return rows
    failed = rows[whole_group]
    own = [c for c in ("key", "config") if c in rows.columns]   # the failed run's identity stays its own
    inputs = baseline[(baseline["sampler"] == NO_RESAMPLING) & baseline["status"].isin(SCORED)]
    inputs = inputs.drop_duplicates(config).drop(columns=[*own, "sampler", "tune_metric", "status", "message"])
    failed_rows = failed.drop_duplicates(group)[[*own, *group, "status", "message"]].reset_index(names="_row")
    scored = failed_rows.merge(inputs, on=config)
    if scored.empty:
        return rows
    why = scored["status"].astype(str) + ": " + scored["message"].fillna("").astype(str)
    scored = scored.assign(status=RunStatus.NO_OP, message=AS_INPUT + " (" + why + ")").set_index("_row")
    scored.index.name = rows.index.name
    replaced = pd.MultiIndex.from_frame(failed[config]).isin(pd.MultiIndex.from_frame(inputs[config]))
    kept = rows.drop(index=failed.index[replaced])
    return pd.concat([kept, scored[rows.columns]]).sort_index(kind="mergesort")


def describe_rows(rows: pd.DataFrame) -> str:
    """What an artefact was computed from, read off its rows."""
    return (f"from {len(rows)} rows: datasets {listing(rows['dataset'])}; IRs {listing(rows['ir'])}; seeds "
            f"{listing(rows['seed'])}; classifiers {listing(rows['classifier'])}; "
            f"{rows['sampler'].nunique()} samplers")


def listing(values: pd.Series) -> str:
    return ", ".join(str(v) for v in sorted(pd.unique(values.dropna())))


def json_dict(text) -> dict:
    return json.loads(text) if isinstance(text, str) else {}
