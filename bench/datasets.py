"""Data layer: register datasets into a data directory and build cached IR splits.

Everything here follows ``specs/protocol.md`` (Datasets, Preprocessing, Splits):

* datasets are registered from local ``.arff`` / ``.csv`` / ``.parquet`` files or pulled from
  OpenML; a normalized Parquet copy and a JSON registry live under the data directory;
* ``DataCatalog.split`` reproduces the reference code's split order (shuffle, 20 % validation,
  20 % test, 60 % train), under-samples the minority class in each split to
  ``max(class counts) // IR`` and fits the preprocessing on the training split only (by default);
* finished splits are cached as ``.npz`` files keyed by the stored copy's sha256, so a replaced
  dataset never reuses stale splits.

Nothing uses global RNG state: every random draw is seeded from the ``seed`` argument.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hashlib
import io
import json
import os
import re
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DataError",
    "KnownDataset",
    "KNOWN_DATASETS",
    "DatasetRecord",
    "Split",
    "DataCatalog",
    "table1",
    "SPLIT_VERSION",
    "DATA_SUFFIXES",
    "IMPUTE_CHOICES",
]

#: Bump whenever the split/preprocessing code changes, so old cached splits are not reused.
SPLIT_VERSION = 1
#: File types that ``import_files`` reads (a directory scan silently skips everything else).
DATA_SUFFIXES = (".arff", ".csv", ".parquet")
#: ``zero``: the paper (impute 0, then scale); ``mean``: the reference code (scale, then mean +
#: missing-indicator columns).
IMPUTE_CHOICES = ("zero", "mean")

_VAL_RATIO = 0.2
_TEST_RATIO = 0.2
_MISSING_CATEGORY = "__missing__"
_REGISTRY_VERSION = 1
# Column names (lower-case, trailing ':' stripped) tried, in order, as the target of a new file.
_TARGET_CANDIDATES = ("class", "target", "label", "labels", "y", "outcome", "result", "classes")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class DataError(Exception):
    """A problem the user can fix; str(e) is ONE line that names the fix (the CLI prints it and exits 2)."""

    def __init__(self, message: str):
        # Keep the one-line promise even when a message embeds a multi-line library error.
        super().__init__(" ".join(str(message).split()))


# --------------------------------------------------------------------------------------------
# The six paper datasets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownDataset:
    """One of the paper's six datasets, with the counts an imported copy must match."""

    name: str
    openml_id: int
    target: str
    drop: tuple[str, ...]
    n_rows: int
    n_features: int
    class_counts: tuple[int, int]  # (majority, minority)


KNOWN_DATASETS: dict[str, KnownDataset] = {
    k.name: k
    for k in (
        KnownDataset("phoneme", 1489, "Class", (), 5404, 5, (3818, 1586)),
        KnownDataset("PhishingWebsites", 4534, "Result", (), 11055, 30, (6157, 4898)),
        KnownDataset("eeg-eye-state", 1471, "Class", (), 14980, 14, (8257, 6723)),
        KnownDataset("mozilla4", 1046, "state", (), 15545, 5, (10437, 5108)),
        KnownDataset("MagicTelescope", 1120, "class:", ("id", "ID"), 19020, 10, (12332, 6688)),
        KnownDataset("electricity", 151, "class", (), 45312, 8, (26075, 19237)),
    )
}


def _norm_name(name: str) -> str:
    """Case-insensitive key that ignores '-', '_' and spaces (``EEGEyeState`` == ``eeg-eye-state``)."""
    return re.sub(r"[\s_\-]+", "", name).lower()


_KNOWN_BY_NORM = {_norm_name(k): v for k, v in KNOWN_DATASETS.items()}
_KNOWN_BY_ID = {v.openml_id: v for v in KNOWN_DATASETS.values()}


def _match_known(name: str) -> KnownDataset | None:
    return _KNOWN_BY_NORM.get(_norm_name(name))


# --------------------------------------------------------------------------------------------
# Records and splits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetRecord:
    """One registered dataset (JSON-serialisable via ``dataclasses.asdict``)."""

    name: str
    source: str
    sha256: str  # of the stored normalized copy; part of every split cache key
    n_rows: int
    n_features: int  # raw feature columns
    n_features_encoded: int  # after one-hot of the categorical columns
    categorical: list[str]
    target: str
    class_counts: dict[str, int]  # original label -> count, largest first
    minority_label: str | None  # binary data only
    known: bool  # one of the six paper datasets

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DatasetRecord":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class Split:
    """Preprocessed train/validation/test arrays.

    X are float64 C-contiguous; y are int64: binary data -> minority 1, majority 0; multi-class ->
    LabelEncoder order of the (string) labels.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]


_SPLIT_ARRAYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder + os.replace, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _label_str(v: Any) -> str:
    """Labels and categories as strings; integral floats lose their '.0' (1.0 -> '1')."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return str(v)


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _as_str_column(s: pd.Series) -> pd.Series:
    """Categorical column as python strings (None where missing), the stored representation."""
    obj = s.astype(object)
    mask = pd.isna(obj).to_numpy()
    out = np.array([None if m else _label_str(v) for v, m in zip(obj.to_numpy(), mask)], dtype=object)
    return pd.Series(out, index=s.index, name=s.name, dtype=object)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


# --------------------------------------------------------------------------------------------
# File readers: each returns (frame, set of categorical column names)
# --------------------------------------------------------------------------------------------


def _read_arff(path: Path) -> tuple[pd.DataFrame, set[str]]:
    import arff  # liac-arff

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    data = arff.loads(text)
    attributes = data["attributes"]
    names = [str(a[0]) for a in attributes]
    frame = pd.DataFrame(data["data"], columns=names)
    categorical: set[str] = set()
    for name, kind in attributes:
        name = str(name)
        if isinstance(kind, (list, tuple)):  # nominal: keep the values as strings
            categorical.add(name)
        elif str(kind).upper() in ("NUMERIC", "REAL", "INTEGER"):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        else:  # STRING / DATE
            categorical.add(name)
    return frame, categorical


def _read_table(path: Path) -> tuple[pd.DataFrame, set[str]]:
    if path.suffix.lower() == ".csv":
        # '?' is ARFF's / OpenML's missing-value marker and appears in CSV exports of them.
        frame = pd.read_csv(path, na_values=["?"], low_memory=False)
    else:
        frame = pd.read_parquet(path)
    categorical = {str(c) for c in frame.columns if not _is_numeric(frame[c])}
    return frame, categorical


def _read_file(path: Path) -> tuple[pd.DataFrame, set[str]]:
    try:
        if path.suffix.lower() == ".arff":
            frame, categorical = _read_arff(path)
        else:
            frame, categorical = _read_table(path)
    except DataError:
        raise
    except Exception as e:  # parse errors of three libraries; the user fixes the file
        raise DataError(f"cannot parse {path}: {_first_line(e)}: check that it is a valid "
                        f"{path.suffix.lower()[1:].upper()} file") from e
    frame.columns = [str(c) for c in frame.columns]
    return frame, categorical


# --------------------------------------------------------------------------------------------
# Normalization (shared by import and pull)
# --------------------------------------------------------------------------------------------


@dataclass
class _Prepared:
    name: str
    source: str
    frame: pd.DataFrame  # features (stored order) + target as the last column
    record: DatasetRecord  # sha256 still empty


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


def _prepare(frame: pd.DataFrame, categorical: set[str], *, name: str, source: str, where: str,
             target: str | None) -> _Prepared:
    """Apply the known-dataset rules or the generic target detection, normalize and check."""
    known = _match_known(name)
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
    if _is_numeric(y_raw) and pd.api.types.is_float_dtype(y_raw.dtype):
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
        if c in categorical or not _is_numeric(s):
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
    return _Prepared(name=name, source=source, frame=stored, record=record)


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False, engine="pyarrow")
    return buf.getvalue()


def _network_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean 'OpenML could not be reached'."""
    errs: list[type[BaseException]] = [ConnectionError, TimeoutError, socket.gaierror, socket.timeout]
    with contextlib.suppress(ImportError):
        import requests

        errs += [requests.exceptions.ConnectionError, requests.exceptions.Timeout]
    with contextlib.suppress(ImportError):
        import urllib3

        errs.append(urllib3.exceptions.HTTPError)
    return tuple(errs)


# --------------------------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------------------------


def _make_preprocessor(X: pd.DataFrame, categorical: Sequence[str], impute: str):
    """ColumnTransformer: numeric impute+scale, categorical one-hot over the dataset's categories.

    The categories come from the whole stored copy (its schema, like an ARFF header), so the
    encoded width is always ``n_features_encoded`` whatever rows the training split holds;
    no statistic (mean, std) is taken from outside the fitting rows.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cat_cols = [c for c in X.columns if c in set(categorical)]
    num_cols = [c for c in X.columns if c not in set(categorical)]
    if impute == "zero":  # the paper: missing -> 0, then scale
        num = Pipeline([
            ("impute", SimpleImputer(strategy="constant", fill_value=0.0, keep_empty_features=True)),
            ("scale", StandardScaler()),
        ])
    else:  # the reference code: scale (NaN-aware), then mean-impute with indicator columns
        num = Pipeline([
            ("scale", StandardScaler()),
            ("impute", SimpleImputer(strategy="mean", add_indicator=True, keep_empty_features=True)),
        ])
    categories = [sorted(X[c].unique().tolist()) for c in cat_cols]
    cat = OneHotEncoder(categories=categories, handle_unknown="ignore", sparse_output=False,
                        dtype=np.float64)
    transformers = []
    if num_cols:
        transformers.append(("num", num, num_cols))
    if cat_cols:
        transformers.append(("cat", cat, cat_cols))
    return ColumnTransformer(transformers, sparse_threshold=0.0, verbose_feature_names_out=False)


def _model_frame(X: pd.DataFrame, categorical: Sequence[str]) -> pd.DataFrame:
    """Categoricals as plain object strings with missing values as their own category."""
    X = X.copy()
    for c in categorical:
        X[c] = X[c].astype(object).where(X[c].notna(), _MISSING_CATEGORY).astype(str).astype(object)
    return X


def _dense(a: Any) -> np.ndarray:
    if hasattr(a, "toarray"):
        a = a.toarray()
    return np.ascontiguousarray(np.asarray(a, dtype=np.float64))


# --------------------------------------------------------------------------------------------
# The catalog
# --------------------------------------------------------------------------------------------


class DataCatalog:
    """Datasets registered in one data directory, and the splits built from them.

    Layout: ``registry.json``, ``datasets/<name>.parquet``, ``splits/<key>.npz`` (+ ``.sha256``),
    ``openml/`` (OpenML's own cache). The directory is created on the first write.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    # ---------------- paths and registry ----------------

    @property
    def registry_path(self) -> Path:
        return self.root / "registry.json"

    def _dataset_path(self, name: str) -> Path:
        return self.root / "datasets" / f"{name}.parquet"

    def _split_path(self, key: str) -> Path:
        return self.root / "splits" / f"{key}.npz"

    def _load_registry(self) -> dict[str, DatasetRecord]:
        try:
            raw = self.registry_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw)
            return {n: DatasetRecord.from_dict(d) for n, d in data["datasets"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise DataError(f"{self.registry_path} is unreadable ({_first_line(e)}): delete it and "
                            "register the datasets again with `bench data import PATH`") from e

    def _save_registry(self, reg: dict[str, DatasetRecord]) -> None:
        data = {"version": _REGISTRY_VERSION,
                "datasets": {n: dataclasses.asdict(reg[n]) for n in sorted(reg)}}
        _atomic_write(self.registry_path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())

    def records(self) -> list[DatasetRecord]:
        """Registered datasets, sorted by name."""
        reg = self._load_registry()
        return [reg[n] for n in sorted(reg)]

    def get(self, name: str) -> DatasetRecord:
        """The record for ``name`` (exact, else the unique case/punctuation-insensitive match)."""
        reg = self._load_registry()
        if name in reg:
            return reg[name]
        folded = [n for n in reg if _norm_name(n) == _norm_name(name)]
        if len(folded) == 1:
            return reg[folded[0]]
        close = difflib.get_close_matches(name, sorted(reg), n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        known = _match_known(name)
        pull = f"`bench data pull {known.name}`" if known else "`bench data pull NAME`"
        raise DataError(f"unknown dataset {name!r}{hint}: register it with `bench data import PATH` or {pull}")

    # ---------------- registration ----------------

    def _resolve_paths(self, paths: Sequence[Path], recursive: bool) -> list[Path]:
        files: list[Path] = []
        for p in paths:
            p = Path(p)
            if p.is_dir():
                it = p.rglob("*") if recursive else p.iterdir()
                found = sorted(f for f in it if f.is_file() and f.suffix.lower() in DATA_SUFFIXES
                               and not f.name.startswith("."))
                if not found:
                    raise DataError(f"no {'/'.join(DATA_SUFFIXES)} files in {p}"
                                    f"{'' if recursive else ' (add --recursive for subfolders)'}: "
                                    "give a folder or file that holds data")
                files.extend(found)
            elif p.is_file():
                if p.suffix.lower() not in DATA_SUFFIXES:
                    raise DataError(f"{p} is not a data file: give a {', '.join(DATA_SUFFIXES)} file")
                files.append(p)
            else:
                raise DataError(f"{p} does not exist: check the path")
        return files

    def _register(self, items: Sequence[_Prepared]) -> list[DatasetRecord]:
        """Store normalized copies + records; identical content is a no-op."""
        names = [it.name for it in items]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            srcs = [it.source for it in items if it.name in dups]
            raise DataError(f"several inputs give the dataset name {dups[0]!r} ({', '.join(srcs)}): "
                            "import them one at a time with --name")
        reg = self._load_registry()
        out: list[DatasetRecord] = []
        changed = False
        for it in items:
            data = _parquet_bytes(it.frame)
            sha = _sha256(data)
            path = self._dataset_path(it.name)
            old = reg.get(it.name)
            if old is not None and old.sha256 == sha and path.is_file():
                out.append(old)
                continue
            _atomic_write(path, data)
            rec = dataclasses.replace(it.record, sha256=sha)
            reg[it.name] = rec
            out.append(rec)
            changed = True
        if changed:
            self._save_registry(reg)
        return out

    def import_files(self, paths: Sequence[Path], target: str | None = None, name: str | None = None,
                     recursive: bool = False) -> list[DatasetRecord]:
        """Register files (or the data files in folders); all are checked before any is stored.

        ``target`` applies to files that are not one of the six (those use their known target).
        """
        files = self._resolve_paths(paths, recursive)
        if name is not None:
            if len(files) != 1:
                raise DataError(f"--name {name!r} needs exactly one input file, got {len(files)}: "
                                "import the files one at a time")
            if not _NAME_RE.match(name):
                raise DataError(f"dataset name {name!r} is not allowed: use letters, digits, '.', '_', "
                                "'+' or '-'")
        items = []
        for f in files:
            ds_name = name if name is not None else self._name_from_stem(f)
            frame, categorical = _read_file(f)
            items.append(_prepare(frame, categorical, name=ds_name, source=str(f.resolve()),
                                  where=str(f), target=target))
        return self._register(items)

    @staticmethod
    def _name_from_stem(path: Path) -> str:
        cleaned = re.sub(r"[^A-Za-z0-9._+-]+", "_", path.stem).strip("._-+")
        if not cleaned:
            raise DataError(f"cannot derive a dataset name from {path}: pass --name")
        return cleaned

    def pull(self, names: Sequence[str]) -> list[DatasetRecord]:
        """Fetch datasets from OpenML (one of the six, or a numeric id) and register them."""
        import openml

        wanted: list[tuple[str, int, KnownDataset | None]] = []
        for raw in names:
            raw = str(raw).strip()
            known = _match_known(raw)
            if known is None and raw.isdigit():
                known = _KNOWN_BY_ID.get(int(raw))
                if known is None:
                    wanted.append((raw, int(raw), None))
                    continue
            if known is None:
                raise DataError(f"cannot pull {raw!r}: give one of {', '.join(KNOWN_DATASETS)} or an "
                                "OpenML id; for other data run `bench data import PATH`")
            wanted.append((raw, known.openml_id, known))

        cache = self.root / "openml"
        cache.mkdir(parents=True, exist_ok=True)
        openml.config.set_root_cache_directory(cache)
        network_errors = _network_errors()
        server_errors: tuple[type[BaseException], ...] = (openml.exceptions.OpenMLServerError,)

        items: list[_Prepared] = []
        cached: list[DatasetRecord] = []
        order: list[tuple[str, str]] = []  # ("item"|"cached", name)
        for raw, did, known in wanted:
            label = known.name if known else f"OpenML dataset {did}"
            try:
                ds = openml.datasets.get_dataset(did, download_data=True, download_qualities=False,
                                                 download_features_meta_data=False)
                tgt = getattr(ds, "default_target_attribute", None) or (known.target if known else None)
                if not tgt or "," in str(tgt):
                    raise DataError(f"OpenML dataset {did} has no single default target: download it "
                                    "and run `bench data import PATH --target COLUMN`")
                X, y, cat_ind, attr_names = ds.get_data(target=tgt, dataset_format="dataframe")
            except network_errors as e:
                existing = self._load_registry().get(known.name) if known else None
                if existing is not None and self._dataset_path(existing.name).is_file():
                    cached.append(existing)
                    order.append(("cached", existing.name))
                    continue
                raise DataError(f"cannot reach OpenML and no cached copy of {label}: run `bench data "
                                "import PATH` with a local copy (e.g. ../shared/datasets)") from e
            except server_errors as e:
                raise DataError(f"OpenML could not provide {label} ({_first_line(e)}): check the "
                                "id, or run `bench data import PATH` with a local copy") from e
            prepared = self._from_openml(did, known, ds, X, y, cat_ind, attr_names, tgt)
            items.append(prepared)
            order.append(("item", prepared.name))
        registered = {r.name: r for r in self._register(items)}
        by_cached = {r.name: r for r in cached}
        return [registered[n] if kind == "item" else by_cached[n] for kind, n in order]

    @staticmethod
    def _from_openml(did: int, known: KnownDataset | None, ds: Any, X: Any, y: Any, cat_ind: Any,
                     attr_names: Any, tgt: str) -> _Prepared:
        """OpenML's (X, y) -> the same normalized frame an import would produce."""
        frame = pd.DataFrame(X).copy()
        frame.columns = [str(c) for c in frame.columns]
        row_id = getattr(ds, "row_id_attribute", None)
        drop = set(known.drop) if known else set()
        if row_id:
            drop.add(str(row_id))
        frame = frame.drop(columns=[c for c in frame.columns if c in drop])
        categorical = {str(c) for c in frame.columns if not _is_numeric(frame[c])}
        if cat_ind is not None and attr_names is not None:
            categorical |= {str(n) for n, is_cat in zip(attr_names, cat_ind) if is_cat}
        target_col = known.target if known else str(tgt)
        frame[target_col] = pd.Series(y).to_numpy()
        if known:
            name = known.name
        else:
            raw_name = str(getattr(ds, "name", "") or f"openml-{did}")
            name = re.sub(r"[^A-Za-z0-9._+-]+", "_", raw_name).strip("._-+") or f"openml-{did}"
        return _prepare(frame, categorical, name=name, source=f"openml:{did}",
                        where=f"OpenML dataset {did} ({name})", target=target_col)

    # ---------------- loading ----------------

    def load_frame(self, name: str) -> tuple[pd.DataFrame, pd.Series]:
        """Raw features (drop applied; categoricals as pandas Categorical) and the string target."""
        rec = self.get(name)
        path = self._dataset_path(rec.name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DataError(f"the stored copy of {rec.name} ({path}) is missing: register it again with "
                            "`bench data import PATH`") from None
        if _sha256(data) != rec.sha256:
            raise DataError(f"the stored copy of {rec.name} ({path}) changed since it was registered: "
                            "register it again with `bench data import PATH`")
        frame = pd.read_parquet(io.BytesIO(data))
        y = frame[rec.target].astype(object).astype(str).rename(rec.target)
        X = frame.drop(columns=[rec.target])
        for c in rec.categorical:
            col = X[c].astype(object).where(X[c].notna(), None)
            X[c] = pd.Categorical(col, categories=sorted(col.dropna().unique().tolist()))
        for c in X.columns:
            if c not in rec.categorical:
                X[c] = X[c].astype("float64")
        return X, y

    # ---------------- splits ----------------

    @staticmethod
    def _split_key(rec: DatasetRecord, **params: Any) -> str:
        payload = json.dumps({"sha256": rec.sha256, "version": SPLIT_VERSION, **params}, sort_keys=True)
        return _sha256(payload.encode())[:32]

    def _cached(self, key: str, build: Callable[[], Split]) -> Split:
        path = self._split_path(key)
        split = _read_split(path)
        if split is None:
            split = build()
            _write_split(path, split)
        return split

    def split(self, name: str, ir: int | None, seed: int, *, impute: str = "zero",
              leak: bool = False) -> Split:
        """The protocol's IR split (cached): shuffle, 20/20/60, per-split under-sampling, preprocessing."""
        rec = self.get(name)
        _check_impute(impute)
        if ir is not None:
            if isinstance(ir, bool) or int(ir) != ir or ir < 1:
                raise DataError(f"IR must be a positive integer, got {ir!r}: pass e.g. --ir 20")
            ir = int(ir)
            if rec.minority_label is None:
                raise DataError(f"{rec.name} has {len(rec.class_counts)} classes; an IR needs binary "
                                "data: leave the IR out or use a binary dataset")
        seed = int(seed)
        key = self._split_key(rec, kind="ir", ir=ir, seed=seed, impute=impute, leak=bool(leak))
        return self._cached(key, lambda: self._build_split(rec, ir, seed, impute, bool(leak)))

    def stratified_split(self, name: str, seed: int, test_size: float = 0.2, *,
                         impute: str = "zero") -> Split:
        """Stratified train/test split without IR change (cached); X_val/y_val are empty."""
        rec = self.get(name)
        _check_impute(impute)
        if not 0.0 < float(test_size) < 1.0:
            raise DataError(f"test_size must be between 0 and 1, got {test_size!r}")
        seed = int(seed)
        key = self._split_key(rec, kind="stratified", test_size=float(test_size), seed=seed, impute=impute)
        return self._cached(key, lambda: self._build_stratified(rec, seed, float(test_size), impute))

    def _encoded_target(self, rec: DatasetRecord, y: pd.Series) -> tuple[np.ndarray, list[str]]:
        """LabelEncoder codes (sorted string labels), as the reference code encodes the target."""
        labels = sorted(rec.class_counts)
        codes = np.searchsorted(np.asarray(labels, dtype=object), y.to_numpy(dtype=object))
        return codes.astype(np.int64), labels

    def _build_split(self, rec: DatasetRecord, ir: int | None, seed: int, impute: str, leak: bool) -> Split:
        X, y = self.load_frame(rec.name)
        codes, labels = self._encoded_target(rec, y)
        n = len(codes)
        perm = np.random.RandomState(seed).permutation(n)
        # Boundaries as in the reference code: int(n*0.2) and int(n*(0.2+0.2)).
        b1, b2 = int(n * _VAL_RATIO), int(n * (_VAL_RATIO + _TEST_RATIO))
        parts = {"validation": perm[:b1], "test": perm[b1:b2], "train": perm[b2:]}
        min_code = labels.index(rec.minority_label) if rec.minority_label is not None else None
        if ir is not None:
            assert min_code is not None
            for part, idx in parts.items():
                parts[part] = _undersample(idx, codes[idx], min_code, ir, seed, rec.name, part)
        fit_rows = np.arange(n) if leak else parts["train"]
        return self._finish(rec, X, codes, min_code, impute, fit_rows,
                            parts["train"], parts["validation"], parts["test"])

    def _build_stratified(self, rec: DatasetRecord, seed: int, test_size: float, impute: str) -> Split:
        from sklearn.model_selection import train_test_split

        X, y = self.load_frame(rec.name)
        codes, labels = self._encoded_target(rec, y)
        min_code = labels.index(rec.minority_label) if rec.minority_label is not None else None
        try:
            train, test = train_test_split(np.arange(len(codes)), test_size=test_size,
                                           stratify=codes, random_state=seed)
        except ValueError as e:
            raise DataError(f"cannot stratify {rec.name} with test_size {test_size}: {_first_line(e)}: "
                            "use another test_size or dataset") from e
        return self._finish(rec, X, codes, min_code, impute, train, train,
                            np.empty(0, dtype=np.int64), test)

    @staticmethod
    def _finish(rec: DatasetRecord, X: pd.DataFrame, codes: np.ndarray, min_code: int | None,
                impute: str, fit_rows: np.ndarray, train: np.ndarray, val: np.ndarray,
                test: np.ndarray) -> Split:
        Xm = _model_frame(X, rec.categorical)
        pre = _make_preprocessor(Xm, rec.categorical, impute)
        pre.fit(Xm.iloc[fit_rows])
        names = [str(f) for f in pre.get_feature_names_out()]

        def xs(idx: np.ndarray) -> np.ndarray:
            if len(idx) == 0:
                return np.zeros((0, len(names)), dtype=np.float64)
            return _dense(pre.transform(Xm.iloc[idx]))

        def ys(idx: np.ndarray) -> np.ndarray:
            c = codes[idx]
            return (c == min_code).astype(np.int64) if min_code is not None else c.astype(np.int64)

        return Split(X_train=xs(train), y_train=ys(train), X_val=xs(val), y_val=ys(val),
                     X_test=xs(test), y_test=ys(test), feature_names=names)


def _check_impute(impute: str) -> None:
    if impute not in IMPUTE_CHOICES:
        raise DataError(f"unknown impute {impute!r}: use one of {', '.join(IMPUTE_CHOICES)}")


def _undersample(idx: np.ndarray, codes: np.ndarray, min_code: int, ir: int, seed: int, name: str,
                 part: str) -> np.ndarray:
    """Rows of one split after imblearn's make_imbalance (minority -> max(counts) // ir)."""
    from imblearn.datasets import make_imbalance

    counts = np.bincount(codes, minlength=max(int(codes.max(initial=0)) + 1, min_code + 1))
    k = int(counts.max()) // ir
    have = int(counts[min_code])
    if k < 1:
        raise DataError(f"IR {ir} leaves no minority rows in the {part} split of {name} (largest class "
                        f"{int(counts.max())} rows): use a smaller IR")
    if k > have:
        raise DataError(f"IR {ir} asks for {k} minority rows in the {part} split of {name} but it has "
                        f"{have}: use a larger IR (the data is already more imbalanced)")
    rows, _ = make_imbalance(idx.reshape(-1, 1), codes, sampling_strategy={min_code: k},
                             random_state=seed)
    return np.asarray(rows)[:, 0]


def _write_split(path: Path, split: Split) -> None:
    buf = io.BytesIO()
    arrays = {k: getattr(split, k) for k in _SPLIT_ARRAYS}
    np.savez(buf, feature_names=np.asarray(split.feature_names, dtype=str), **arrays)
    data = buf.getvalue()
    _atomic_write(path, data)
    _atomic_write(path.with_suffix(".sha256"), (_sha256(data) + "\n").encode())


def _read_split(path: Path) -> Split | None:
    """The cached split, or None when it is missing, corrupt or fails its checksum (-> rebuild)."""
    try:
        data = path.read_bytes()
        expected = path.with_suffix(".sha256").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if _sha256(data) != expected:
        return None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: np.ascontiguousarray(z[k]) for k in _SPLIT_ARRAYS}
            names = [str(s) for s in z["feature_names"].tolist()]
    except Exception:  # any unreadable content just means: build it again
        return None
    return Split(feature_names=names, **arrays)


# --------------------------------------------------------------------------------------------
# Table 1
# --------------------------------------------------------------------------------------------


def table1(records: Sequence[DatasetRecord], irs: Sequence[int]) -> pd.DataFrame:
    """The paper's Table 1: binary datasets, full majority count and majority // IR per IR.

    Rows keep the order of ``records``; ``df.attrs["irs"]`` names the IRs of the minority column.
    """
    rows = []
    for r in records:
        if r.minority_label is None:
            continue
        majority = max(r.class_counts.values())
        rows.append({"name": r.name, "majority": majority,
                     "minority": "/".join(str(majority // int(ir)) for ir in irs),
                     "n_features_encoded": r.n_features_encoded})
    df = pd.DataFrame(rows, columns=["name", "majority", "minority", "n_features_encoded"])
    df.attrs["irs"] = [int(ir) for ir in irs]
    return df
