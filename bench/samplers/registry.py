"""One registry for every sampler: the built-in ones come from catalog.toml (metadata as data); each family's
adapter module (bench/samplers/*_adapter.py) builds its samplers, imported only when a unit runs one.

A sampler reference in bench.toml or on the command line is a name (`SMOTE`), a selection group
(`imblearn`, `under`, `over`, `combined`), or a name with fixed parameters (`SMOTE[k_neighbors=3]`),
which become part of the run's identity.

Samplers from outside the package work the same way: by import path (`--samplers
"mypkg.oversampling:MyOverSampler[k=3]"`), as [samplers.NAME] in bench.toml (bench.methods defines them), or
installed under the entry-point group `bench.samplers`. Any imbalanced-learn compatible class works (a class
whose instances have `fit_resample`). One that takes `sampling_strategy` gets the protocol's ratio grid, by the
same rule as the built-in imbalanced-learn samplers (bench.samplers.imblearn_adapter builds both); one that
takes `random_state` gets the run's seed. Its code is part of its runs' keys (bench.code_identity), so editing
the method recomputes its runs and nothing else. What it cannot handle is skipped, not an error: a class
attribute `binary_only = True` says it needs two classes; a `k_neighbors` parameter (imbalanced-learn's name
for neighbours among the minority rows) that it needs more minority rows than that.

Parsing a name never registers anything: SAMPLERS holds the catalogue, and what a run registers for its
duration (`registered`) so that its plan and forked workers find the methods it defines or names from outside.
"""
from __future__ import annotations

import dataclasses
import importlib
import re
import tomllib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable

from .. import code_identity, extensions
from ..environment import package_version
from ..extensions import load_factory
from ..names import UnknownNameError, resolve_name


@dataclass(frozen=True)
class SamplerContext:
    """What a unit knows besides the parameters: methods that search use the validation split."""
    random_state: int
    X_val: Any = None
    y_val: Any = None
    classifier: str | None = None   # set for per-classifier methods (they search against it)
    metric: str | None = None       # set for per-metric methods (their reward)


@dataclass(frozen=True)
class SamplerEntry:
    name: str
    category: str                   # Table 2's row group: No-resampling, under, over, combined, ...
    family: str                     # the library it comes from; also a selection group
    make: Callable[[dict[str, Any], SamplerContext], Any]   # -> object with fit_resample (or fit/predict)
    version: str                    # part of a run's key: a new library version means new runs
    libraries: tuple[str, ...] = ()  # packages besides bench.environment.KEY_LIBRARIES whose versions are in the key
    tunes_ratio: bool = True        # grid-searched over the desired ratio on validation
    identity: bool = False          # returns its input by design (No-resampling): not a "no-op"
    per_classifier: bool = False    # one unit per classifier (the method searches against it)
    per_metric: bool = False        # one unit per tuning metric (the method's reward)
    predicts: bool = False          # make() gives a classifier wrapping the base one, not a resampler
    fit_info: Callable[[Any], dict[str, Any]] | None = None   # what to store from the fitted object
    description: str = ""
    factory: str = ""               # the method, "module:attr" (metadata: nothing imports it but the adapter)
    binary_only: bool = False       # cannot handle multi-class data
    neighbours: str | int | None = None   # needs more minority rows than this k (or the parameter holding it)
    uses_gpu: bool = False          # trains a torch model on a GPU when one is visible (bench.executors.resources)
    on_cpu: dict[str, Any] = field(default_factory=dict)   # the parameters that keep such a model on the CPU
    pinned: bool = False            # its units run in a process pinned to one CPU code path (autosmote.determinism)
    variants: tuple[str, ...] = ()  # named fixed parameters worth listing, e.g. "ablation=flat" (Table 4)
    cost: float | None = None       # measured seconds per 1000 original training rows (bench.cost)
    params: dict[str, Any] = field(default_factory=dict)   # fixed parameters of every run ([samplers.NAME])

    def __post_init__(self) -> None:
        # the adapter builds this entry, the one a definition made of it too (dataclasses.replace): an entry
        # needs no registry to be built from, so that one never registered (an import path) runs as well
        if isinstance(self.make, _FromAdapter):
            object.__setattr__(self, "make", dataclasses.replace(self.make, entry=self))


@dataclass(frozen=True)
class _FromAdapter:
    """`make` / `fit_info` of an entry: the family's adapter module is imported on first call only, so that
    listing, planning and tables never import a method's library (torch, sdv, smote_variants)."""
    adapter: str
    function: str                   # "make" (entry, params, context) or "fit_info" (fitted object)
    entry: SamplerEntry | None = field(default=None, repr=False, compare=False)   # set by the entry itself

    def __call__(self, *args):
        module = importlib.import_module(self.adapter)
        if self.function == "make":
            return module.make(self.entry, *args)
        report = getattr(module, "fit_info", None)
        return report(*args) if report is not None else {}


def _catalogue() -> dict[str, SamplerEntry]:
    """The built-in samplers from catalog.toml, versions resolved from installed package metadata."""
    raw = tomllib.loads((Path(__file__).parent / "catalog.toml").read_text())
    families = raw["families"]
    out = {}
    for item in raw["samplers"]:
        family = families[item["family"]]
        version = re.sub(r"\{([\w.-]+)\}", lambda m: package_version(m.group(1)), family["version"])
        out[item["name"]] = SamplerEntry(
            **{**item, "variants": tuple(item.get("variants", ()))},
            make=_FromAdapter(family["adapter"], "make"), version=version,
            libraries=tuple(family.get("libraries", ())), fit_info=_FromAdapter(family["adapter"], "fit_info"),
            on_cpu=dict(family.get("on_cpu", {})))
    return out


@dataclass(frozen=True)
class SamplerChoice:
    """A registry entry plus the fixed parameters the user gave it."""
    entry: SamplerEntry
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return extensions.label(self.entry.name, self.fixed)

    def grid(self, ratios: tuple[float, ...]) -> list[dict[str, Any]]:
        """The parameter sets tried on the validation split (one when the sampler takes no ratio)."""
        if not self.entry.tunes_ratio:
            return [dict(self.fixed)]
        return [{**self.fixed, "ratio": float(r)} for r in ratios]


#: The built-in samplers, in Table 2's order.
CATALOGUE: Mapping[str, SamplerEntry] = MappingProxyType(_catalogue())
#: Every sampler known by name here: the catalogue's, and those registered for a run (or for the process).
SAMPLERS: dict[str, SamplerEntry] = dict(CATALOGUE)
#: Table 2's row groups: the catalogue's, and "user" (the default of a sampler of one's own).
CATEGORIES = (*dict.fromkeys(entry.category for entry in CATALOGUE.values()), "user")
#: The adapter of samplers from outside (the imbalanced-learn API).
USER_ADAPTER = "bench.samplers.imblearn_adapter"


def registered(entries: Mapping[str, SamplerEntry]) -> AbstractContextManager[None]:
    """`entries` known by name inside the block and gone after it (bench.methods.registered: a run's own)."""
    return extensions.registered_in(SAMPLERS, entries, reserved=CATALOGUE, kind="sampler")


def register(entry: SamplerEntry) -> SamplerEntry:
    """`entry` known by name for the life of the process (a test's own sampler, a Ray worker's set-up hook)."""
    if entry.name in SAMPLERS:
        raise ValueError(f"sampler {entry.name} registered twice")
    SAMPLERS[entry.name] = entry
    return entry


def user_entry(reference: str, fixed: dict[str, Any], name: str | None = None, kind: str = "sampler") -> SamplerEntry:
    """The entry of a sampler from outside, `module:attr`, under `name` (default: the reference): imported and
    checked against `fixed` now; a reference that cannot work is a one-line error naming the fix."""
    module, factory = extensions.import_reference(reference, kind, must_have="fit_resample")
    accepted = extensions.check_parameters(factory, fixed, reference, kind)
    return SamplerEntry(name or reference, "user", "user", make=_FromAdapter(USER_ADAPTER, "make"),
                        version=code_identity.code_version(module, factory),
                        tunes_ratio="sampling_strategy" in accepted,
                        fit_info=_FromAdapter(USER_ADAPTER, "fit_info"), factory=reference,
                        binary_only=bool(getattr(factory, "binary_only", False)),
                        neighbours="k_neighbors" if "k_neighbors" in accepted else None,
                        description=extensions.first_line(factory))


def defined_entry(name: str, definition) -> SamplerEntry:
    """bench.toml's [samplers.NAME] (a bench.config.SamplerDefinition): a sampler of one's own under NAME, with
    its category, its declarations and fixed parameters (part of every run's key, not of the name in tables)."""
    if name in CATALOGUE:
        raise UnknownNameError(f"[samplers.{name}] takes the name of a built-in sampler: choose another name")
    if definition.category not in CATEGORIES:   # a misspelt group would be a row group of its own in Table 2
        raise UnknownNameError(f"[samplers.{name}] category = {definition.category!r} is not a group of Table 2: "
                               f"use one of {', '.join(CATEGORIES)}")
    entry = user_entry(definition.factory, definition.params, name, kind=f"[samplers.{name}]")
    declared = {k: v for k, v in (("tunes_ratio", definition.tunes_ratio),
                                  ("binary_only", definition.binary_only)) if v is not None}
    if declared.get("tunes_ratio") and not entry.tunes_ratio:
        raise UnknownNameError(f"[samplers.{name}] tunes_ratio = true, but {definition.factory} takes no "
                               "sampling_strategy: remove tunes_ratio")
    return dataclasses.replace(entry, category=definition.category, params=dict(definition.params), **declared)


def _installed_entry(name: str, reference: str) -> SamplerEntry:
    """An installed package's sampler (entry point `name` of group `bench.samplers`), imported now."""
    return user_entry(reference, {}, name, kind=f"sampler {name!r} (entry point {reference})")


def installed() -> dict[str, SamplerEntry]:
    """Installed packages' samplers whose names are not taken, each imported (listing shows what they take).
    One that cannot be loaded is left out: its one-line error is raised where it is named."""
    return extensions.loadable_entry_points(extensions.SAMPLER_GROUP, SAMPLERS, _installed_entry)


def all_entries() -> list[SamplerEntry]:
    """Every sampler in Table 2's order: the catalogue's, those registered, then installed packages'."""
    return [*SAMPLERS.values(), *installed().values()]


def groups(entries: list[SamplerEntry] | None = None) -> dict[str, list[str]]:
    """Selection groups of `entries` (default: every sampler): each family and each category, plus `all`."""
    entries = all_entries() if entries is None else entries
    out: dict[str, list[str]] = {"all": [entry.name for entry in entries]}
    for entry in entries:
        out.setdefault(entry.family, []).append(entry.name)
        out.setdefault(entry.category, []).append(entry.name)
    return out


def per_sampler(table: dict[str, Any], entry: SamplerEntry) -> list[Any]:
    """The values of a per-sampler table of bench.toml ([run.params], [run.time_limits]) that apply to `entry`,
    least specific first: keyed by `all`, its category, its family, then its own name - so that
    `time_limits = { smote_variants = 300, "sv.ADG" = 900 }` gives every smote-variants sampler 300 s and ADG 900 s.
    Keys are matched exactly: check_table_key refuses any other spelling when the grid is made."""
    return [table[key] for key in keys_for(table, entry)]


def keys_for(table: dict[str, Any], entry: SamplerEntry) -> list[str]:
    """The keys of `table` that apply to `entry`, least specific first (per_sampler's order)."""
    return [key for key in ("all", entry.category, entry.family, entry.name) if key in table]


def check_table_key(key: str, table: str) -> None:
    """A key of a per-sampler table must be a sampler's or a group's exact name: the name resolver forgives
    case and punctuation (`smote`) and takes fixed parameters (`SMOTE[k_neighbors=3]`), which per_sampler would
    then match to nothing - a setting silently ignored. Raises UnknownNameError naming the spelling to use."""
    try:
        choices = resolve_samplers([key])
    except UnknownNameError as err:   # the resolver's suggestions, said as this table's key
        raise UnknownNameError(f"{table} key: {err}") from None
    if _group(key) is not None or (len(choices) == 1 and choices[0].entry.name == key):
        return
    exact = choices[0].entry.name if len(choices) == 1 else None
    fixed = " (fixed parameters go in its value)" if exact and choices[0].fixed and table == "params" else ""
    fix = f"write {exact!r}{fixed}" if exact else "use a sampler's or a group's name (`bench list samplers`)"
    raise UnknownNameError(f"{table} key {key!r} is not a sampler's or a group's exact name: {fix}")


def parse_sampler(text: str) -> SamplerChoice:
    """`Name`, `module:Class` (a sampler from outside the package) or either with `[key=value,...]`; values
    are Python literals (numbers, strings, True/False). Registers nothing."""
    name, fixed = extensions.parse_reference(text, "sampler")
    if ":" in name:   # a sampler from outside the package, by import path: imported and checked now
        return SamplerChoice(user_entry(name, fixed), fixed)
    installed_names = extensions.entry_points(extensions.SAMPLER_GROUP, SAMPLERS)
    name = resolve_name(name, [*SAMPLERS, *installed_names], "sampler", listing="bench list samplers")
    entry = SAMPLERS[name] if name in SAMPLERS else _installed_entry(name, installed_names[name])
    return SamplerChoice(entry, fixed)


def sampler_entry(name: str, factory: str = "") -> SamplerEntry:
    """The entry a unit names: known here (a forked worker has its driver's), else - a sampler from outside on
    a worker that never read the run's settings (a Ray node) - built again from its factory."""
    if name in SAMPLERS or not factory:
        return SAMPLERS[name]
    return user_entry(factory, {}, name)


def resolve_samplers(refs: list[str] | tuple[str, ...]) -> list[SamplerChoice]:
    """Expand groups and parse names; keep the first occurrence of each label, in order."""
    out: dict[str, SamplerChoice] = {}
    for ref in refs:
        members = _group(ref)
        if members is not None:
            choices = [SamplerChoice(entry) for entry in members]
        else:
            choices = [parse_sampler(ref)]
            _check_fixed(choices[0], ref)
        for choice in choices:
            out.setdefault(choice.label, choice)
    return list(out.values())


def _group(ref: str) -> list[SamplerEntry] | None:
    """The samplers of the selection group `ref`, or None when it names none. Only `all` and `user`, the
    groups installed packages' samplers join, import those."""
    entries = all_entries() if ref in ("all", "user") else list(SAMPLERS.values())
    names = groups(entries).get(ref)
    if names is None:
        return None
    by_name = {entry.name: entry for entry in entries}
    return [by_name[name] for name in names]


#: Families whose adapter passes a label's fixed parameters to the factory's constructor as they are, so
#: that the constructor's signature says which it takes and its validation which values (No-resampling's
#: takes none; the other adapters read their own parameters, or build the method in `make`).
PARAMETERS_TO_FACTORY = ("none", "imblearn", "user", "smote_variants")


def _check_fixed(choice: SamplerChoice, ref: str) -> None:
    """`SMOTE[k_neighbours=3]` is one line before anything runs, not a grid of error rows."""
    if choice.fixed and choice.entry.family in PARAMETERS_TO_FACTORY:
        extensions.check_parameters(load_factory(choice.entry.factory), choice.fixed, ref, "sampler")


#: A parameter value the imbalanced-learn adapter works out from the training split: the smallest class's share
#: of it (KMeansSMOTE's cluster_balance_threshold in catalog.toml).
MINORITY_SHARE = "minority_share"


def check_values(entry: SamplerEntry, params: dict[str, Any], context: SamplerContext) -> None:
    """Build the sampler as a unit does and let the method validate its parameter values (scikit-learn's
    constraints where declared, else its constructor), fitting nothing: a bad value is refused before a run,
    not stored as a grid of error rows. Raises the library's error."""
    extensions.validate(entry.make(params, context))   # what `make` built: AutoSMOTE, Gumbel, MESA, an adapter
    if entry.family in PARAMETERS_TO_FACTORY:   # the method the adapter builds at fit time
        # a value the adapter works out from the training split (KMeansSMOTE's threshold) stands as a share
        given = {k: 0.5 if v == MINORITY_SHARE else v for k, v in params.items() if k != "ratio"}
        extensions.validate(load_factory(entry.factory)(**given))


def preload(names: set[str] | list[str]) -> None:
    """Import the adapters and methods of these samplers now. The local executor forks a worker per unit:
    what the driver imported before forking is there for free, what a worker imports it pays every unit.
    A sampler from outside that is not registered here was imported when its entry was built."""
    for name in names:
        entry = SAMPLERS.get(name)
        if entry is not None and isinstance(entry.make, _FromAdapter):
            importlib.import_module(entry.make.adapter)
            if entry.factory:
                load_factory(entry.factory)
