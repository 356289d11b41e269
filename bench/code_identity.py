"""What a method from outside the package is identified by in its runs' keys, so that editing it recomputes its
runs and nothing else (as benchopt keys solvers by their code).

- a module of an installed distribution whose files are as installed (their sha256 equals the RECORD that
  pip wrote): the distribution's name and version;
- anything else importable from a path - an editable install (`pip install -e`, whose version does not change
  when its source does), a folder on PYTHONPATH, a script: a hash of the source of its whole top-level package
  (an edit to a helper module counts too);
- a class whose source cannot be read (a notebook cell, a REPL): a hash of its bytecode and constants.
Never "unknown": a method without an identity would keep stale rows forever.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import inspect
import json
import sys
import types
from importlib import metadata
from pathlib import Path


def code_version(module: types.ModuleType, factory: object) -> str:
    """The identity of `factory` (a class or function) defined in `module`."""
    top = module.__name__.split(".")[0]
    for dist in _distributions().get(top, []):
        if _installed_unmodified(dist, top):
            return f"{dist}-{metadata.version(dist)}"
    files = _source_files(module)
    if files:
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return "source-" + digest.hexdigest()[:12]
    return "bytecode-" + hashlib.sha256(_bytecode(factory)).hexdigest()[:12]


@functools.cache
def _distributions() -> dict[str, list[str]]:
    """Top-level module -> installed distributions; reading every package's metadata once per process."""
    return metadata.packages_distributions()


def forget_installed() -> None:
    """Read the installed packages afresh (after installing one into a running process, as tests do)."""
    _distributions.cache_clear()
    _installed_unmodified.cache_clear()


@functools.cache
def _installed_unmodified(dist_name: str, top: str) -> bool:
    """True when `dist_name` is a regular (not editable) install and its Python files of package `top` still
    have the sha256 its RECORD lists. Checked once per process (hashing a large library takes ~0.1 s)."""
    dist = metadata.distribution(dist_name)
    direct = dist.read_text("direct_url.json")
    if direct and json.loads(direct).get("dir_info", {}).get("editable"):
        return False
    files = [f for f in dist.files or [] if f.parts[0] in (top, f"{top}.py") and f.suffix == ".py"]
    if not files:
        return False
    for file in files:
        if file.hash is None or file.hash.mode != "sha256":
            return False
        try:
            data = Path(dist.locate_file(file)).read_bytes()
        except OSError:
            return False
        actual = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        if actual != file.hash.value:
            return False
    return True


def _source_files(module: types.ModuleType) -> list[Path]:
    """The .py files of the module's top-level package (or the module's own file), sorted; [] if unreadable."""
    top = sys.modules.get(module.__name__.split(".")[0], module)
    origin = getattr(top, "__file__", None)
    if not origin:
        return []
    path = Path(origin)
    if path.name == "__init__.py":
        return sorted(p for p in path.parent.rglob("*.py") if "__pycache__" not in p.parts)
    return [path] if path.suffix == ".py" and path.is_file() else []


def _bytecode(obj: object) -> bytes:
    """A class's or function's compiled code, constants and names, recursively - nothing that varies between
    processes (memory addresses, the order of a set of strings under hash randomisation)."""
    parts: list[bytes] = []

    def code(c: types.CodeType) -> None:
        parts.append(c.co_code + repr(c.co_names).encode())
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                code(const)
            else:
                parts.append(repr(sorted(map(repr, const)) if isinstance(const, frozenset) else const).encode())

    def member(value: object) -> None:
        functions = (value.fget, value.fset, value.fdel) if isinstance(value, property) else \
            (getattr(value, "__func__", value),)
        for function in functions:
            if hasattr(function, "__code__"):
                code(function.__code__)
        if isinstance(value, (int, float, str, bytes, bool, type(None), tuple, list, dict)):
            parts.append(repr(value).encode())

    if inspect.isclass(obj):
        parts.append(repr([b.__qualname__ for b in obj.__mro__]).encode())
        for name, value in sorted(vars(obj).items()):
            if name not in ("__dict__", "__weakref__", "__module__", "__doc__"):
                parts.append(name.encode())
                member(value)
    else:
        member(obj)
    return b"\0".join(parts)
