"""One stored form for every source: a file import and an OpenML pull of the same data give the same
Parquet copy and record, and a copy of one of the paper's six must match the paper's counts."""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError
from .paper import match_known
from .registry import DatasetRecord, Prepared

# Column names (lower-case, trailing ':' stripped) tried, in order, as the target of a new file.
_TARGET_CANDIDATES = ("class", "target", "label", "labels", "y", "outcome", "result", "classes")


def clean_name(text: str) -> str:
    """``text`` as a dataset name: runs of other characters become '_' (may be empty)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("._-+")


def is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _label_str(v: Any) -> str:
    """Labels and categories as strings; integral floats lose their '.0' (1.0 -> '1')."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return str(v)


def _as_str_column(s: pd.Series) -> pd.Series:
    """Categorical column as python strings (None where missing), the stored representation."""
    obj = s.astype(object)
    mask = pd.isna(obj).to_numpy()
    out = np.array([None if m else _label_str(v) for v, m in zip(obj.to_numpy(), mask)], dtype=object)
    return pd.Series(out, index=s.index, name=s.name, dtype=object)


def _find_target(frame: pd.DataFrame, target: str | None, where: str) -> str:
    cols = list(frame.columns)
    if target is not None:
        if target in cols:
            return target
        folded = [c for c in cols if c.lower() == target.lower()]
        if len(folded) == 1:
            return folded[0]
        raise DataError(f"{where} has no column {target!r} (columns: {', '.join(cols[:12])}"
                        f"{', ...' if len(cols) > 12 else ''}): pass an existing column as --target")
    by_key = {}
    for c in cols:
        by_key.setdefault(c.strip().rstrip(":").strip().lower(), c)
    for cand in _TARGET_CANDIDATES:
        if cand in by_key:
            return by_key[cand]
    return cols[-1]


def prepare(frame: pd.DataFrame, categorical: set[str], *, name: str, source: str, where: str,
            target: str | None) -> Prepared:
    """Apply the known-dataset rules or the generic target detection, normalize and check.

    ``where`` names the input in error messages; ``target`` applies to data that is not one of the six.
    """
    known = match_known(name)
    if known is not None:
        name = known.name
        frame = frame.drop(columns=[c for c in known.drop if c in frame.columns])
        if known.target not in frame.columns:
            raise DataError(f"{where} has no target column {known.target!r} expected for {name}: "
                            f"use the original {name} file, or import it under another name with --name")
        target_col = known.target
    else:
        if frame.shape[1] < 2:
            raise DataError(f"{where} has {frame.shape[1]} column(s); a dataset needs features and a "
                            "target: check the file's delimiter/format")
        target_col = _find_target(frame, target, where)

    if len(set(frame.columns)) != frame.shape[1]:
        dup = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
        raise DataError(f"{where} has duplicate column names {dup}: rename them")

    y_raw = frame[target_col]
    n_missing = int(y_raw.isna().sum())
    if n_missing:
        raise DataError(f"{where}: target column {target_col!r} has {n_missing} missing values: "
                        "remove those rows or pass another --target")
    if is_numeric(y_raw) and pd.api.types.is_float_dtype(y_raw.dtype):
        vals = y_raw.to_numpy(dtype=float)
        if not np.all(np.isfinite(vals) & (vals == np.round(vals))):
            raise DataError(f"{where}: target column {target_col!r} has non-integer numbers (a "
                            "regression target?): pass the class column with --target")
    y = _as_str_column(y_raw)
    counts = y.value_counts()
    if len(counts) < 2:
        raise DataError(f"{where}: target column {target_col!r} has {len(counts)} class(es); "
                        "classification needs at least 2: pass the class column with --target")

    features = [c for c in frame.columns if c != target_col]
    if not features:
        raise DataError(f"{where} has no feature columns besides target {target_col!r}: check the file")
    out = {}
    cat_cols: list[str] = []
    n_encoded = 0
    for c in features:
        s = frame[c]
        if c in categorical or not is_numeric(s):
            out[c] = _as_str_column(s)
            cat_cols.append(c)
            n_encoded += int(out[c].nunique(dropna=True)) + int(out[c].isna().any())
        else:
            out[c] = pd.to_numeric(s, errors="coerce").astype("float64").reset_index(drop=True)
            n_encoded += 1
    out[target_col] = y
    stored = pd.DataFrame({k: v.reset_index(drop=True) for k, v in out.items()})

    # Largest class first; ties by label so the order (and the minority) is deterministic.
    ordered = sorted(((str(k), int(v)) for k, v in counts.items()), key=lambda kv: (-kv[1], kv[0]))
    class_counts = dict(ordered)
    minority = ordered[-1][0] if len(ordered) == 2 else None

    if known is not None:
        found_counts = tuple(v for _, v in ordered)
        if (len(stored), len(features), found_counts) != (known.n_rows, known.n_features, known.class_counts):
            raise DataError(
                f"{where} does not match the known dataset {name}: expected {known.n_rows} rows, "
                f"{known.n_features} features, classes {known.class_counts[0]}/{known.class_counts[1]}; "
                f"found {len(stored)} rows, {len(features)} features, classes "
                f"{'/'.join(str(v) for v in found_counts)}: use the original {name} file, or import it "
                "under another name with --name")

    record = DatasetRecord(
        name=name, source=source, sha256="", n_rows=len(stored), n_features=len(features),
        n_features_encoded=n_encoded, categorical=cat_cols, target=target_col,
        class_counts=class_counts, minority_label=minority, known=known is not None)
    return Prepared(name=name, source=source, frame=stored, record=record)
