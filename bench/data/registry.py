"""The registered datasets of one data directory: ``registry.json`` and a normalized Parquet copy of each,
whose sha256 every split is keyed by, so a replaced dataset never reuses stale splits; and the digest of each
dataset's content, which every run's key holds, so a replaced dataset never reuses stale results."""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .errors import DataError, first_line
from .paper import fold_name, match_known
from .storage import atomic_write, sha256

_REGISTRY_VERSION = 1


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
    content: str = ""  # content_digest of the data; "" in registries written before it was recorded
    citation: str = ""  # the citation key of a collection's dataset (bench.data.collection: keel, krnn)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DatasetRecord":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class Prepared:
    """A dataset normalized and checked, ready to register."""

    name: str
    source: str
    frame: pd.DataFrame  # features (stored order) + target as the last column
    record: DatasetRecord  # sha256 still empty


class Registry:
    """``registry.json`` and ``datasets/<name>.parquet`` under ``root`` (created on the first write)."""

    def __init__(self, root: Path):
        self.path = root / "registry.json"
        self._datasets = root / "datasets"

    def _dataset_path(self, name: str) -> Path:
        return self._datasets / f"{name}.parquet"

    def _load(self) -> dict[str, DatasetRecord]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw)
            return {n: DatasetRecord.from_dict(d) for n, d in data["datasets"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise DataError(f"{self.path} is unreadable ({first_line(e)}): delete it and "
                            "register the datasets again with `bench data import PATH`") from e

    def _save(self, reg: dict[str, DatasetRecord]) -> None:
        data = {"version": _REGISTRY_VERSION,
                "datasets": {n: dataclasses.asdict(reg[n]) for n in sorted(reg)}}
        atomic_write(self.path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())

    def records(self) -> list[DatasetRecord]:
        """Registered datasets, sorted by name."""
        reg = self._load()
        return [reg[n] for n in sorted(reg)]

    def get(self, name: str) -> DatasetRecord:
        """The record for ``name`` (exact, else the unique case/punctuation-insensitive match)."""
        reg = self._load()
        if name in reg:
            return reg[name]
        folded = [n for n in reg if fold_name(n) == fold_name(name)]
        if len(folded) == 1:
            return reg[folded[0]]
        close = difflib.get_close_matches(name, sorted(reg), n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        known = match_known(name)
        pull = f"`bench data pull {known.name}`" if known else "`bench data pull NAME`"
        raise DataError(f"unknown dataset {name!r}{hint}: register it with `bench data import PATH` or {pull}")

    def content(self, name: str) -> str:
        """The content digest of a registered dataset (computed from its stored copy and recorded, for records
        registered before digests were)."""
        rec = self.get(name)
        if rec.content:
            return rec.content
        digest = content_digest(pd.read_parquet(io.BytesIO(self._checked_bytes(rec))))
        reg = self._load()
        reg[rec.name] = dataclasses.replace(rec, content=digest)
        self._save(reg)
        return digest

    def stored(self, name: str) -> DatasetRecord | None:
        """The record of ``name`` when its stored copy is present (a fallback when OpenML is unreachable)."""
        rec = self._load().get(name)
        return rec if rec is not None and self._dataset_path(rec.name).is_file() else None

    def register(self, items: Sequence[Prepared]) -> list[DatasetRecord]:
        """Store normalized copies + records, in the order of ``items``; identical content is a no-op."""
        names = [it.name for it in items]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            srcs = [it.source for it in items if it.name in dups]
            raise DataError(f"several inputs give the dataset name {dups[0]!r} ({', '.join(srcs)}): "
                            "import them one at a time with --name")
        reg = self._load()
        out: list[DatasetRecord] = []
        changed = False
        for it in items:
            data = _parquet_bytes(it.frame)
            sha = sha256(data)
            path = self._dataset_path(it.name)
            old = reg.get(it.name)
            if old is not None and old.sha256 == sha and path.is_file():
                if not old.content:   # registered before digests were recorded
                    reg[it.name], changed = self._with_content(old, data), True
                out.append(reg[it.name])
                continue
            try:
                atomic_write(path, data)
            except OSError as e:   # e.g. a name the filesystem cannot hold (ENAMETOOLONG)
                raise DataError(f"cannot write {it.name!r} into {self._datasets} ({e.strerror}): choose a shorter "
                                "dataset name (--name) or another data directory (BENCH_DATA_DIR)") from None
            rec = self._with_content(dataclasses.replace(it.record, sha256=sha), data)
            reg[it.name] = rec
            out.append(rec)
            changed = True
        if changed:
            self._save(reg)
        return out

    @staticmethod
    def _with_content(rec: DatasetRecord, parquet: bytes) -> DatasetRecord:
        # from the Parquet copy read back, so that a digest computed later from the stored copy is the same
        return dataclasses.replace(rec, content=content_digest(pd.read_parquet(io.BytesIO(parquet))))

    def _checked_bytes(self, rec: DatasetRecord) -> bytes:
        path = self._dataset_path(rec.name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DataError(f"the stored copy of {rec.name} ({path}) is missing: register it again with "
                            "`bench data import PATH`") from None
        if sha256(data) != rec.sha256:
            raise DataError(f"the stored copy of {rec.name} ({path}) changed since it was registered: "
                            "register it again with `bench data import PATH`")
        return data

    def load_frame(self, rec: DatasetRecord) -> tuple[pd.DataFrame, pd.Series]:
        """Raw features (categoricals as pandas Categorical) and the string target of a checked stored copy."""
        frame = pd.read_parquet(io.BytesIO(self._checked_bytes(rec)))
        y = frame[rec.target].astype(object).astype(str).rename(rec.target)
        X = frame.drop(columns=[rec.target])
        for c in rec.categorical:
            col = X[c].astype(object).where(X[c].notna(), None)
            X[c] = pd.Categorical(col, categories=sorted(col.dropna().unique().tolist()))
        for c in X.columns:
            if c not in rec.categorical:
                X[c] = X[c].astype("float64")
        return X, y


def content_digest(frame: pd.DataFrame) -> str:
    """sha256 of a normalized dataset's content: column names, numeric columns as little-endian float64 (one
    NaN), the others as their values' text. Not of the Parquet file, whose bytes change with the pyarrow
    version that wrote it: the same data gets the same digest on every machine."""
    digest = hashlib.sha256()
    for name in frame.columns:
        column = frame[name]
        digest.update(json.dumps(str(name)).encode())
        if pd.api.types.is_numeric_dtype(column) and not isinstance(column.dtype, pd.CategoricalDtype):
            values = column.to_numpy(dtype="float64", na_value=np.nan)
            digest.update(b"n" + np.where(np.isnan(values), np.nan, values).astype("<f8").tobytes())
        else:
            digest.update(b"t" + json.dumps([None if pd.isna(v) else str(v) for v in column]).encode())
    return "sha256:" + digest.hexdigest()


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False, engine="pyarrow")
    return buf.getvalue()
