"""The data layer: datasets registered into a data directory and the protocol's splits built from them
(``specs/protocol.md``: Datasets, Preprocessing, Splits). The harness uses ``DataCatalog``.

The names below load on first use, so that reading the paper's six (``bench.data.paper``, which the settings'
defaults come from) does not import pandas.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_HOME = {"DataCatalog": "catalog", "DataError": "errors", "DatasetRecord": "registry", "KNOWN_DATASETS": "paper",
         "PAPER_DATASETS": "paper", "Split": "split_protocol", "ir_split": "split_protocol",
         "stratified_split": "split_protocol", "table1": "summary"}
__all__ = list(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value
