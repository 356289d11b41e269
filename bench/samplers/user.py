"""Samplers from outside the package: by import path (`--samplers "mypkg.oversampling:MyOverSampler[k=3]"`),
as [samplers.NAME] in bench.toml, or installed under the entry-point group `bench.samplers`.

Any imbalanced-learn compatible class works (a class whose instances have `fit_resample`). One that takes
`sampling_strategy` gets the protocol's ratio grid, by the same rule as the built-in imbalanced-learn
samplers (bench.samplers.imblearn_adapter builds both); one that takes `random_state` gets the run's seed.
Its code is part of its runs' keys (bench.code_identity), so editing the method recomputes its
runs and nothing else. What it cannot handle is skipped, not an error: a class attribute `binary_only = True`
says it needs two classes; a `k_neighbors` parameter (imbalanced-learn's name for neighbours among the
minority rows) that it needs more minority rows than that.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from .. import code_identity, extensions
from ..names import UnknownNameError
from .registry import CATEGORIES, SAMPLERS, SamplerEntry, _FromAdapter

ADAPTER = "bench.samplers.imblearn_adapter"


def user_entry(reference: str, fixed: dict[str, Any], name: str | None = None, kind: str = "sampler") -> SamplerEntry:
    """The registry entry of `module:attr` under `name` (default: the reference); a reference that cannot work
    is a one-line error naming the fix."""
    module, factory = extensions.import_reference(reference, kind, must_have="fit_resample")
    accepted = extensions.check_parameters(factory, fixed, reference, kind)
    name = name or reference
    return SamplerEntry(name, "user", "user", make=_FromAdapter(ADAPTER, name, "make"),
                        version=code_identity.code_version(module, factory),
                        tunes_ratio="sampling_strategy" in accepted,
                        fit_info=_FromAdapter(ADAPTER, name, "fit_info"), factory=reference,
                        binary_only=bool(getattr(factory, "binary_only", False)),
                        neighbours="k_neighbors" if "k_neighbors" in accepted else None,
                        description=extensions.first_line(factory))


def define_samplers(definitions: dict) -> None:
    """bench.toml's [samplers.NAME] tables: each a sampler of one's own under NAME, with its category, its
    declarations and fixed parameters (part of every run's key, not of the name in tables)."""
    for name, definition in definitions.items():
        known = SAMPLERS.get(name)
        if known is not None and known.family != "user":
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
        SAMPLERS[name] = dataclasses.replace(entry, category=definition.category, params=dict(definition.params),
                                             **declared)


def define_entry_points() -> None:
    """Installed packages' samplers (entry-point group `bench.samplers`), under their entry-point names."""
    extensions.define_entry_points(extensions.SAMPLER_GROUP, SAMPLERS, lambda name, reference: user_entry(
        reference, {}, name, kind=f"sampler {name!r} (entry point {reference})"))
