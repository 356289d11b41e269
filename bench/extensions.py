"""Methods from outside the package: samplers and classifiers named by import path (`mypkg.mod:Class[k=3]`),
defined in bench.toml ([samplers.NAME], [classifiers.NAME]) or installed as entry points (the groups
`bench.samplers` and `bench.classifiers` of a package's metadata).

What every such reference shares lives here: the `Name[key=value,...]` syntax, importing with one-line
errors that name the fix, checking fixed parameters against the constructor, reading which entry points are
installed, and registering such methods for the duration of a run. A leaf: the registries
(bench.samplers.registry, bench.classifiers) build on it, and bench.methods, above both, defines a run's
methods from its settings.
"""
from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
import sys
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from importlib import metadata
from typing import Any

from .names import UnknownNameError

SAMPLER_GROUP = "bench.samplers"
CLASSIFIER_GROUP = "bench.classifiers"


def parse_reference(text: str, kind: str) -> tuple[str, dict[str, Any]]:
    """`Name` or `module:attr`, optionally with `[key=value,...]`; values are Python literals (numbers,
    strings, True/False), anything else a string. The parameters must be JSON: they are part of run keys."""
    name, _, rest = text.strip().partition("[")
    fixed: dict[str, Any] = {}
    if rest:
        if not rest.endswith("]"):
            raise UnknownNameError(f"malformed {kind} {text!r}: write Name[key=value,...]")
        for item in filter(None, (p.strip() for p in rest[:-1].split(","))):
            key, eq, value = item.partition("=")
            if not eq:
                raise UnknownNameError(f"malformed {kind} parameter {item!r} in {text!r}: write key=value")
            try:
                fixed[key.strip()] = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError):
                fixed[key.strip()] = value.strip()
        try:
            json.dumps(fixed)
        except TypeError:
            raise UnknownNameError(f"{kind} {text!r}: parameters must be numbers, strings, booleans or lists of "
                                   "them") from None
    return name.strip(), fixed


def label(name: str, fixed: dict[str, Any]) -> str:
    """How a reference with fixed parameters is shown in tables: `Name[k=v,...]`, keys sorted."""
    if not fixed:
        return name
    return f"{name}[{','.join(f'{k}={v}' for k, v in sorted(fixed.items()))}]"


def import_reference(reference: str, kind: str, *, must_have: str) -> tuple[Any, type]:
    """The module and class that `module:attr` names; a reference that cannot work is a one-line error.
    `must_have`: the method that makes it a sampler (fit_resample) or a classifier (predict)."""
    module_name, _, attr = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise UnknownNameError(f"{kind} {reference!r}: cannot import {module_name!r} ({err}): install its "
                               "package or put its folder on PYTHONPATH") from None
    factory = getattr(module, attr, None)
    if factory is None:
        raise UnknownNameError(f"{kind} {reference!r}: {module_name} has no {attr!r}: check the name after ':'")
    if not (inspect.isclass(factory) and callable(getattr(factory, must_have, None))):
        what = {"fit_resample": "an imbalanced-learn sampler", "predict": "a scikit-learn classifier"}[must_have]
        raise UnknownNameError(f"{kind} {reference!r}: {attr} is not {what} (a class with {must_have})")
    return module, factory


def check_parameters(factory: type, fixed: dict[str, Any], reference: str, kind: str) -> set[str]:
    """The constructor's parameter names, after checking that it accepts `fixed`."""
    signature = inspect.signature(factory)
    try:
        signature.bind_partial(**fixed)
    except TypeError as err:
        raise UnknownNameError(f"{kind} {reference!r}: {factory.__name__} rejects the parameters {sorted(fixed)} "
                               f"({err}): it takes {', '.join(signature.parameters) or 'none'}") from None
    return set(signature.parameters)


def validate(method) -> None:
    """A built method's own check of its parameter values without fitting it: scikit-learn's constraints
    (`_validate_params`, the first thing its fit does) where it declares them; else its constructor's checks
    were all there is. Raises the library's error."""
    if hasattr(method, "_parameter_constraints") and hasattr(method, "_validate_params"):
        method._validate_params()


def built(factory: type, fixed: dict[str, Any], reference: str, kind: str):
    """`factory(**fixed)`, its values validated (`validate`); a value it refuses is one line naming the fix."""
    try:
        method = factory(**fixed)
        validate(method)
    except Exception as err:   # whatever a third-party constructor or validation raises
        raise UnknownNameError(f"{kind} {reference!r}: {label(factory.__name__, fixed)} cannot be built: "
                               f"{one_line(err)}; give its parameters values it accepts") from None
    return method


def one_line(err: BaseException) -> str:
    """A library's error as one line: its type and message."""
    return f"{type(err).__name__}: {' '.join(str(err).split()).rstrip('.') or '(no message)'}"


def first_line(factory: type) -> str:
    return (inspect.getdoc(factory) or "").split("\n")[0]


def load_factory(reference: str) -> Any:
    """The object a "module:attr" reference names (a catalogue entry's or a built-in classifier's `factory`)."""
    module, _, attr = reference.partition(":")
    return getattr(importlib.import_module(module), attr)


def entry_points(group: str, taken: Collection[str] = ()) -> dict[str, str]:
    """Installed packages' methods of `group` whose names are not `taken`: name -> "module:attr" (nothing is
    imported here). Read again when sys.path changes, so that a package put on it in a running process (a
    notebook, a test) is seen."""
    return {name: ref for name, ref in _entry_points(group, tuple(sys.path)).items() if name not in taken}


@functools.lru_cache(maxsize=8)
def _entry_points(group: str, path: tuple[str, ...]) -> dict[str, str]:
    return {ep.name: ep.value for ep in metadata.entry_points(group=group)}


def loadable_entry_points(group: str, taken: Collection[str], build: Callable[[str, str], Any]) -> dict[str, Any]:
    """Each installed method of `group` whose name is not `taken`, as build(name, reference) makes it (importing
    it). One that cannot be loaded is left out: its one-line error is raised where it is named."""
    out = {}
    for name, reference in entry_points(group, taken).items():
        try:
            out[name] = build(name, reference)
        except UnknownNameError:
            pass
    return out


@contextmanager
def registered_in(table: dict[str, Any], methods: Mapping[str, Any], reserved: Collection[str],
                  kind: str) -> Iterator[None]:
    """`methods` known by name in a registry's `table` inside the block, and gone after it: what a run defines
    or names from outside, which its plan and its forked workers look up by name. A `reserved` (built-in)
    name cannot be taken."""
    taken = sorted(set(methods) & set(reserved))
    if taken:
        raise ValueError(f"built-in {kind} names cannot be registered again: {taken}")
    before = dict(table)
    table.update(methods)
    try:
        yield
    finally:
        table.clear()
        table.update(before)
