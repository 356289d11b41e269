"""The methods a run may name besides the built-in ones, above both registries: bench.toml's [samplers.NAME] and
[classifiers.NAME], and methods from outside the package (import paths, installed entry points).

Registering them is explicit and lasts one run (`registered`): the plan and the run's forked workers look
methods up by name. Reading a store never registers or imports a method - it reads labels as data
(`sampler_labels`) - so a definition that cannot be built stops a run, never a table.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from . import classifiers
from .config import RunSettings, Settings
from .samplers import registry
from .samplers.labels import SamplerLabels


def defined_samplers(settings: Settings) -> dict[str, registry.SamplerEntry]:
    """bench.toml's [samplers.NAME], each imported and checked now (a bad one is a one-line error)."""
    return {name: registry.defined_entry(name, definition) for name, definition in settings.samplers.items()}


def defined_classifiers(settings: Settings) -> dict[str, classifiers.ClassifierSpec]:
    """bench.toml's [classifiers.NAME], each imported and checked now (a bad one is a one-line error)."""
    return {name: classifiers.defined_spec(name, definition) for name, definition in settings.classifiers.items()}


@contextmanager
def registered(settings: Settings, run: RunSettings | None = None) -> Iterator[None]:
    """bench.toml's definitions, and the methods from outside that `run` names, known by name inside the block
    (what a run plans and its forked workers build) and gone after it. A bad definition or name is a one-line
    error before anything runs."""
    with registry.registered(defined_samplers(settings)), classifiers.registered(defined_classifiers(settings)):
        if run is None:
            yield
            return
        # classifiers first: a run reports a bad classifier before a bad sampler, as its plan resolves them
        named_classifiers = {name: spec for name, spec in classifiers.classifier_specs(run.classifiers).items()
                             if name not in classifiers.CLASSIFIERS}
        named_samplers = {choice.entry.name: choice.entry for choice in registry.resolve_samplers(run.samplers)
                          if choice.entry.name not in registry.SAMPLERS}
        with registry.registered(named_samplers), classifiers.registered(named_classifiers):
            yield


def listed_samplers(settings: Settings) -> list[registry.SamplerEntry]:
    """What `bench list samplers` shows: built-in, bench.toml's, then installed packages' samplers."""
    with registry.registered(defined_samplers(settings)):
        return registry.all_entries()


def listed_classifiers(settings: Settings) -> dict[str, classifiers.ClassifierSpec]:
    """What `bench list classifiers` shows: built-in, bench.toml's, then installed packages' classifiers."""
    with classifiers.registered(defined_classifiers(settings)):
        return classifiers.all_classifiers()


def sampler_labels(settings: Settings) -> SamplerLabels:
    """The sampler labels a store's rows carry, read with bench.toml's definitions (their Table 2 group) and
    without importing any method."""
    return SamplerLabels({name: definition.category for name, definition in settings.samplers.items()})
