"""Samplers from outside the package, named by import path: `--samplers "mypkg.oversampling:MyOverSampler[k=3]"`.

Any imbalanced-learn compatible class works (a class whose instances have `fit_resample`). One that takes
`sampling_strategy` gets the protocol's ratio grid, by the same rule as the built-in imbalanced-learn
samplers (bench.samplers.imblearn_adapter builds both); one that takes `random_state` gets the run's seed.
Its code is part of its runs' keys - the installed version of the distribution it comes from, else a hash
of its module's source, as benchopt identifies solvers - so editing the method recomputes its runs and
nothing else.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
from importlib import metadata
from typing import Any

from ..names import UnknownNameError
from .registry import SAMPLERS, SamplerEntry, _FromAdapter

ADAPTER = "bench.samplers.imblearn_adapter"


def user_entry(reference: str, fixed: dict[str, Any]) -> SamplerEntry:
    """The registry entry of `module:attr`; a reference that cannot work is a one-line error naming the fix."""
    module_name, _, attr = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise UnknownNameError(f"sampler {reference!r}: cannot import {module_name!r} ({err}): install its "
                               "package or put its folder on PYTHONPATH") from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise UnknownNameError(f"sampler {reference!r}: {module_name} has no {attr!r}: check the name after ':'")
    if not (inspect.isclass(factory) and callable(getattr(factory, "fit_resample", None))):
        raise UnknownNameError(f"sampler {reference!r}: {attr} is not an imbalanced-learn sampler "
                               "(a class with fit_resample)")
    parameters = inspect.signature(factory).parameters
    try:
        inspect.signature(factory).bind_partial(**fixed)
    except TypeError as err:
        raise UnknownNameError(f"sampler {reference!r}: {attr} rejects the parameters {sorted(fixed)} ({err}): "
                               f"it takes {', '.join(parameters) or 'none'}") from None
    return SamplerEntry(reference, "user", "user", make=_FromAdapter(ADAPTER, reference, "make"),
                        version=code_version(module), tunes_ratio="sampling_strategy" in parameters,
                        fit_info=_FromAdapter(ADAPTER, reference, "fit_info"), factory=reference,
                        description=(inspect.getdoc(factory) or "").split("\n")[0])


def define_samplers(definitions: dict) -> None:
    """bench.toml's [samplers.NAME] tables: each a sampler of one's own under NAME, with its category and
    fixed parameters (part of every run's key, not of the name in tables)."""
    for name, definition in definitions.items():
        known = SAMPLERS.get(name)
        if known is not None and known.family != "user":
            raise UnknownNameError(f"[samplers.{name}] takes the name of a built-in sampler: choose another name")
        entry = user_entry(definition.factory, definition.params)
        SAMPLERS[name] = dataclasses.replace(entry, name=name, category=definition.category,
                                             params=dict(definition.params),
                                             make=_FromAdapter(ADAPTER, name, "make"),
                                             fit_info=_FromAdapter(ADAPTER, name, "fit_info"))


def code_version(module) -> str:
    """The installed version of the module's distribution, else a hash of the module's source."""
    top = module.__name__.split(".")[0]
    for dist in metadata.packages_distributions().get(top, []):
        return f"{dist}-{metadata.version(dist)}"
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return "unknown"
    return "source-" + hashlib.sha256(source.encode()).hexdigest()[:12]
