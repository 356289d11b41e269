"""One registry for every sampler: the built-in ones come from catalog.toml (metadata as data); each family's
adapter module (bench/samplers/*_adapter.py) builds its samplers, imported only when a unit runs one.

A sampler reference in bench.toml or on the command line is a name (`SMOTE`), a selection group
(`imblearn`, `under`, `over`, `combined`), or a name with fixed parameters (`SMOTE[k_neighbors=3]`),
which become part of the run's identity.
"""
from __future__ import annotations

import importlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .. import extensions
from ..environment import package_version
from ..names import resolve_name


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
    uses_gpu: bool = False          # trains a torch model on a GPU when one is visible
    variants: tuple[str, ...] = ()  # named fixed parameters worth listing, e.g. "ablation=flat" (Table 4)
    cost: float | None = None       # measured seconds per 1000 original training rows (bench.cost)
    params: dict[str, Any] = field(default_factory=dict)   # fixed parameters of every run ([samplers.NAME])


@dataclass(frozen=True)
class _FromAdapter:
    """`make` / `fit_info` of a catalogue entry: the family's adapter module is imported on first call only,
    so that listing, planning and tables never import a method's library (torch, sdv, smote_variants)."""
    adapter: str
    name: str
    function: str                   # "make" (params, context, entry) or "fit_info" (fitted object)

    def __call__(self, *args):
        module = importlib.import_module(self.adapter)
        if self.function == "make":
            return module.make(SAMPLERS[self.name], *args)
        report = getattr(module, "fit_info", None)
        return report(*args) if report is not None else {}


def load_factory(reference: str) -> Any:
    """The object a "module:attr" reference names (a catalogue entry's `factory`)."""
    module, _, attr = reference.partition(":")
    return getattr(importlib.import_module(module), attr)


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
            make=_FromAdapter(family["adapter"], item["name"], "make"), version=version,
            libraries=tuple(family.get("libraries", ())),
            fit_info=_FromAdapter(family["adapter"], item["name"], "fit_info"))
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


SAMPLERS: dict[str, SamplerEntry] = _catalogue()
#: Table 2's row groups: the catalogue's, and "user" (the default of a sampler of one's own).
CATEGORIES = (*dict.fromkeys(entry.category for entry in SAMPLERS.values()), "user")


def register(entry: SamplerEntry) -> SamplerEntry:
    if entry.name in SAMPLERS:
        raise ValueError(f"sampler {entry.name} registered twice")
    SAMPLERS[entry.name] = entry
    return entry


def groups() -> dict[str, list[str]]:
    """Selection groups: each family and each category, plus `all`."""
    out: dict[str, list[str]] = {"all": list(_with_entry_points())}
    for entry in SAMPLERS.values():
        out.setdefault(entry.family, []).append(entry.name)
        out.setdefault(entry.category, []).append(entry.name)
    return out


def parse_sampler(text: str) -> SamplerChoice:
    """`Name`, `module:Class` (a sampler from outside the package) or either with `[key=value,...]`; values
    are Python literals (numbers, strings, True/False)."""
    name, fixed = extensions.parse_reference(text, "sampler")
    if ":" in name:   # a sampler from outside the package, by import path
        from .user import user_entry
        SAMPLERS[name] = user_entry(name, fixed)   # checked with these parameters; forked workers find it here
        return SamplerChoice(SAMPLERS[name], fixed)
    known = _with_entry_points()
    extensions.loadable(name)   # an installed entry point that could not be loaded
    entry = SAMPLERS[resolve_name(name, known, "sampler", listing="bench list samplers")]
    return SamplerChoice(entry, fixed)


def sampler_entry(name: str, factory: str = "") -> SamplerEntry:
    """The entry a unit names; a sampler from outside that this process has no definition of (a Ray node
    without the driver's bench.toml) is built again from its factory."""
    if name not in SAMPLERS and factory:
        from .user import user_entry
        SAMPLERS[name] = user_entry(factory, {}, name)
    return SAMPLERS[name]


def resolve_samplers(refs: list[str] | tuple[str, ...]) -> list[SamplerChoice]:
    """Expand groups and parse names; keep the first occurrence of each label, in order."""
    by_group = groups()
    out: dict[str, SamplerChoice] = {}
    for ref in refs:
        if ref in by_group:
            choices = [SamplerChoice(SAMPLERS[n]) for n in by_group[ref]]
        else:
            choices = [parse_sampler(ref)]
            _check_fixed(choices[0], ref)
        for choice in choices:
            out.setdefault(choice.label, choice)
    return list(out.values())


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
    what the driver imported before forking is there for free, what a worker imports it pays every unit."""
    for name in names:
        entry = SAMPLERS[name]
        if isinstance(entry.make, _FromAdapter):
            importlib.import_module(entry.make.adapter)
            if entry.factory:
                load_factory(entry.factory)


def all_entries() -> list[SamplerEntry]:
    """Every sampler in Table 2's order (the catalogue's, then any registered later)."""
    return list(_with_entry_points().values())


def _with_entry_points() -> dict[str, SamplerEntry]:
    """The registry with installed packages' samplers (entry-point group `bench.samplers`) in it."""
    from .user import define_entry_points
    define_entry_points()
    return SAMPLERS
