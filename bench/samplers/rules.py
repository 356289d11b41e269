"""The protocol's two rules on a resampling, written once: the unit (bench.protocol) applies them around any
method, the adapter base (bench.samplers.base) inside the library call.

numpy only: every reader of a store imports bench.protocol, and must not pay for a learning library.
"""
from __future__ import annotations

import sys

import numpy as np


def ratio_met(ratio: float, counts) -> bool:
    """Whether data with these class counts meets the ratio r = N_class / N_largest already (its smallest
    class is at or above r): such a ratio asks no class to change, and gets no resampling."""
    counts = np.asarray(counts)
    return bool(ratio <= counts.min() / counts.max())


def returned_input(X, y, X_res, y_res) -> bool:
    """Whether a sampler's output (X_res, y_res) is its input (X, y), row for row: a no-op."""
    if X_res.shape != X.shape or not np.array_equal(y_res, y):
        return False
    sparse = sys.modules.get("scipy.sparse")   # a sparse matrix exists only once scipy.sparse is imported
    if sparse is not None and sparse.issparse(X) and sparse.issparse(X_res):
        return (X != X_res).nnz == 0
    return np.array_equal(X_res, X)
