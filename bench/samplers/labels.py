"""Sampler labels read as data, for reading a store (tables, figures, status, report): the entry behind a label,
its family and category, its place in Table 2's order and the parameters it fixes - without importing a method
or registering anything, so that a table prints whatever bench.toml or the installed packages hold.

Known are the catalogue's samplers, bench.toml's [samplers.NAME] (their category as written), installed packages'
entry points (by name, from their metadata) and samplers by import path (by their syntax): these are of family
"user". Any other label is its own entry, of family and category "other".
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .. import extensions
from ..names import UnknownNameError, resolve_name
from .registry import CATALOGUE


@dataclass(frozen=True)
class SamplerMeta:
    """A sampler label read as data: ``fixed`` non-empty makes it a variant of ``entry``."""
    entry: str
    family: str
    category: str
    position: int               # Table 2's order (the catalogue's, then bench.toml's, then installed); others last
    fixed: dict

    @property
    def is_variant(self) -> bool:
        return bool(self.fixed)


class SamplerLabels:
    """Label -> SamplerMeta, each label read once. `defined`: bench.toml's [samplers.NAME] -> its category."""

    def __init__(self, defined: Mapping[str, str] | None = None):
        self._defined = dict(defined or {})
        names = [*CATALOGUE, *self._defined, *extensions.entry_points(extensions.SAMPLER_GROUP)]
        self._position = {name: i for i, name in enumerate(dict.fromkeys(names))}
        self._read: dict[str, SamplerMeta] = {}

    def __call__(self, label: str) -> SamplerMeta:
        if label not in self._read:
            self._read[label] = self._meta(label)
        return self._read[label]

    def order(self, labels: Iterable[str]) -> list[str]:
        """Table 2's row order: entries in order, a variant after its entry, other labels last."""
        return sorted(labels, key=lambda label: (self(label).position, label))

    def _meta(self, label: str) -> SamplerMeta:
        last = len(self._position)
        try:
            name, fixed = extensions.parse_reference(label, "sampler")
            if ":" in name:   # a sampler by import path
                return SamplerMeta(name, "user", "user", last, fixed)
            name = resolve_name(name, self._position, "sampler")
        except UnknownNameError:
            return SamplerMeta(label, "other", "other", last, {})
        entry = CATALOGUE.get(name)
        if entry is not None:
            return SamplerMeta(name, entry.family, entry.category, self._position[name], fixed)
        return SamplerMeta(name, "user", self._defined.get(name, "user"), self._position[name], fixed)
