"""Methods from outside the package: samplers and classifiers named by import path (`mypkg.mod:Class[k=3]`),
defined in bench.toml ([samplers.NAME], [classifiers.NAME]) or installed as entry points (the groups
`bench.samplers` and `bench.classifiers` of a package's metadata).

What every such reference shares lives here: the `Name[key=value,...]` syntax, importing with one-line
errors that name the fix, checking fixed parameters against the constructor, and the method's code identity
(bench.code_identity) - so that editing a method recomputes its runs and nothing else.
"""
from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
from importlib import metadata
from typing import Any

from . import code_identity
from .names import UnknownNameError

SAMPLER_GROUP = "bench.samplers"
CLASSIFIER_GROUP = "bench.classifiers"
#: Installed entry points that cannot be loaded: name -> the one-line error, raised where the name is used.
UNLOADABLE: dict[str, str] = {}


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


@functools.cache
def entry_points(group: str) -> dict[str, str]:
    """Installed packages' methods: entry-point name -> "module:attr" (nothing is imported here)."""
    return {ep.name: ep.value for ep in metadata.entry_points(group=group)}


def forget_installed() -> None:
    """Read the installed packages afresh (after installing one into a running process, as tests do)."""
    entry_points.cache_clear()
    code_identity.forget_installed()
    UNLOADABLE.clear()


def define_entry_points(group: str, registry: dict, build) -> None:
    """Put each installed entry point of `group` into `registry` as build(name, reference). One that cannot be
    loaded is remembered in UNLOADABLE: an error only where it is named (`loadable`), not for every command."""
    for name, reference in entry_points(group).items():
        if name not in registry and name not in UNLOADABLE:
            try:
                registry[name] = build(name, reference)
            except UnknownNameError as err:
                UNLOADABLE[name] = str(err)


def loadable(name: str) -> None:
    """Raise the one-line error of an installed entry point `name` that could not be loaded."""
    if name in UNLOADABLE:
        raise UnknownNameError(UNLOADABLE[name])


def define_from_settings(settings) -> None:
    """Register bench.toml's [samplers.NAME] and [classifiers.NAME], for every command that reads the settings."""
    if settings.samplers:
        from .samplers.user import define_samplers
        define_samplers(settings.samplers)
    if settings.classifiers:
        from .classifiers import define_classifiers
        define_classifiers(settings.classifiers)
