"""The SMOTE search space of AutoSMOTE (Zha et al., CIKM 2022, Section 3.1), in plain numpy.

One episode picks a cross-instance factor g1, then for each minority row an instance-specific factor g2;
the row gets g = g1 * g2 synthetic samples, each an interpolation X[i] + w * (X[nbr(i, j)] - X[i])
between the row and one of its K nearest minority neighbours (rank 0 is the row itself).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
DEFAULT_G2 = 10            # the paper's max instance-specific factor G2
DEFAULT_K_NEIGHBORS = 30   # the paper's max number of neighbours K
N_USAGE_BINS = 10          # the one-hot "usage count" part of the state (paper: 10 bins)


@dataclass(frozen=True)
class SearchSpace:
    """Action-space sizes: g1 in {0..g1_actions-1}, g2 in {0..g2_actions-1}, K neighbours x weights."""

    g1_actions: int
    g2_actions: int
    k: int
    weights: tuple[float, ...] = DEFAULT_WEIGHTS

    @property
    def n_weights(self) -> int:
        return len(self.weights)

    @property
    def n_pairs(self) -> int:
        """Low-level actions: (neighbour rank, weight) pairs, numbered rank * n_weights + weight index."""
        return self.k * self.n_weights

    @property
    def max_per_row(self) -> int:
        """The most samples one row can get: (G1 - 1) * (G2 - 1)."""
        return (self.g1_actions - 1) * (self.g2_actions - 1)


def cross_instance_actions(imbalance_ratio: float, g2_actions: int) -> int:
    """G1 = 4 * IR / G2 (paper 4.1), rounded; at least 2 so that some over-sampling is always possible."""
    return max(2, int(round(4.0 * imbalance_ratio / g2_actions)))


def neighbour_table(X_min: np.ndarray, k: int) -> np.ndarray:
    """(n, k) indices of each row's k nearest minority rows by Euclidean distance, the row itself first.

    Ties keep the lower row index first (stable sort), so the table is a pure function of X_min.
    """
    n = len(X_min)
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of minority rows ({n}), got {k}")
    out = np.empty((n, k), dtype=np.int64)
    chunk = max(1, 2**22 // max(1, n * X_min.shape[1]))   # bounds the (chunk, n, d) difference array
    for start in range(0, n, chunk):
        rows = slice(start, min(n, start + chunk))
        d2 = ((X_min[rows, None, :] - X_min[None, :, :]) ** 2).sum(axis=2)
        d2[np.arange(d2.shape[0]), np.arange(rows.start, rows.stop)] = -1.0   # self first, even among duplicates
        out[rows] = np.argsort(d2, axis=1, kind="stable")[:, :k]
    return out


def rows_for_counts(samples_per_row: np.ndarray) -> np.ndarray:
    """The start row of every synthetic sample, rows in order: row i repeated samples_per_row[i] times."""
    return np.repeat(np.arange(len(samples_per_row)), samples_per_row)


def synthesize(X_min: np.ndarray, neighbours: np.ndarray, rows: np.ndarray, nbr_ranks: np.ndarray,
               weights: np.ndarray) -> np.ndarray:
    """Synthetic rows X[i] + w * (X[nbr(i, j)] - X[i]) for each (row i, neighbour rank j, weight w)."""
    start = X_min[rows]
    partner = X_min[neighbours[rows, nbr_ranks]]
    return start + np.asarray(weights, dtype=X_min.dtype)[:, None] * (partner - start)


def decode_pairs(actions: np.ndarray, n_weights: int) -> tuple[np.ndarray, np.ndarray]:
    """Low-level action ids -> (neighbour rank, weight index)."""
    actions = np.asarray(actions)
    return actions // n_weights, actions % n_weights


def state_features(X_scaled: np.ndarray) -> np.ndarray:
    """(n, N_USAGE_BINS, N_USAGE_BINS + d): the state of row i with usage bin b, for every (i, b).

    A state is the one-hot usage bin followed by the row's own (scaled) features; all policies share it.
    """
    n, d = X_scaled.shape
    out = np.zeros((n, N_USAGE_BINS, N_USAGE_BINS + d), dtype=np.float32)
    out[:, np.arange(N_USAGE_BINS), np.arange(N_USAGE_BINS)] = 1.0
    out[:, :, N_USAGE_BINS:] = X_scaled[:, None, :]
    return out
