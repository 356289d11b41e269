"""Finished splits on disk (``<key>.npz`` + a ``.sha256`` sidecar): building a split of a large dataset
takes seconds and every unit of a run needs one; a missing, corrupt or mismatching file is rebuilt."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .split_protocol import Split
from .storage import atomic_write, sha256

#: Bump whenever the split/preprocessing code changes, so old cached splits are not reused.
SPLIT_VERSION = 1

_SPLIT_ARRAYS = ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test")


class SplitCache:
    """The split files in one folder (created on the first write)."""

    def __init__(self, folder: Path):
        self.folder = folder

    @staticmethod
    def key(data_sha256: str, **params: Any) -> str:
        """The cache key of the split ``params`` name, of the stored copy with checksum ``data_sha256``."""
        payload = json.dumps({"sha256": data_sha256, "version": SPLIT_VERSION, **params}, sort_keys=True)
        return sha256(payload.encode())[:32]

    def get(self, key: str, build: Callable[[], Split]) -> Split:
        """The cached split ``key``, else ``build()``, stored for next time."""
        path = self.folder / f"{key}.npz"
        split = _read(path)
        if split is None:
            split = build()
            _write(path, split)
        return split


def _write(path: Path, split: Split) -> None:
    buf = io.BytesIO()
    arrays = {k: getattr(split, k) for k in _SPLIT_ARRAYS}
    np.savez(buf, feature_names=np.asarray(split.feature_names, dtype=str), **arrays)
    data = buf.getvalue()
    atomic_write(path, data)
    atomic_write(path.with_suffix(".sha256"), (sha256(data) + "\n").encode())


def _read(path: Path) -> Split | None:
    """The cached split, or None when it is missing, corrupt or fails its checksum (-> rebuild)."""
    try:
        data = path.read_bytes()
        expected = path.with_suffix(".sha256").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if sha256(data) != expected:
        return None
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: np.ascontiguousarray(z[k]) for k in _SPLIT_ARRAYS}
            names = [str(s) for s in z["feature_names"].tolist()]
    except Exception:  # any unreadable content just means: build it again
        return None
    return Split(feature_names=names, **arrays)
