"""The six aggregation functions and the same-class neighbour pool (spec §2.1, open points O1, O2, O4-O6).

Every function takes `points` of shape (n, 1 + MAX_K, d): row 0 is the anchor x_i, rows 1..MAX_K its same-class
neighbours by increasing distance. It returns the candidate for every k at once, shape (n, MAX_K, d), where
slot k-1 aggregates the anchor and its k nearest neighbours. Computing all k together is what lets a
one-hot k decision select a candidate differentiably (spec §2.2).
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

MAX_K = 6   # O1: k in {1..6}
AGGREGATIONS = ("linear", "min", "max", "sum", "average", "weighted_average")   # O1, in this order
SUM_READINGS = ("literal", "offsets")   # O4


def linear(points: torch.Tensor, lam: torch.Tensor, pick: torch.Tensor) -> torch.Tensor:
    """SMOTE interpolation toward one neighbour drawn uniformly among the k nearest (O5).

    `lam` (n,) is SMOTE's gap in [0, 1); `pick` (n,) in [0, 1) selects neighbour floor(pick * k) for every k, so
    one draw per synthetic row serves all six k options.
    """
    anchor = points[:, 0]
    ks = torch.arange(1, MAX_K + 1, device=points.device)
    rank = 1 + torch.floor(pick[:, None] * ks).long()          # (n, K), in 1..k
    neighbour = torch.gather(points, 1, rank[:, :, None].expand(-1, -1, points.shape[2]))
    return anchor[:, None] + lam[:, None, None] * (neighbour - anchor[:, None])


def minimum(points: torch.Tensor) -> torch.Tensor:
    """Element-wise minimum over the anchor and its k nearest neighbours."""
    return torch.cummin(points, dim=1).values[:, 1:]


def maximum(points: torch.Tensor) -> torch.Tensor:
    """Element-wise maximum over the anchor and its k nearest neighbours."""
    return torch.cummax(points, dim=1).values[:, 1:]


def total(points: torch.Tensor, reading: str) -> torch.Tensor:
    """SUM (O4). "literal": the sum of the k + 1 points, which leaves [0, 1] by design (up to k + 1).

    "offsets": x_i + sum_j (x_j - x_i) / k, clipped to [0, 1] (the min-max scaled range the paper works in).
    """
    running = torch.cumsum(points, dim=1)[:, 1:]
    if reading == "literal":
        return running
    ks = torch.arange(1, MAX_K + 1, device=points.device, dtype=points.dtype)[None, :, None]
    anchor = points[:, :1]
    return (anchor + (running - (ks + 1) * anchor) / ks).clamp(0.0, 1.0)


def average(points: torch.Tensor) -> torch.Tensor:
    """Centroid of the anchor and its k nearest neighbours."""
    sizes = torch.arange(2, MAX_K + 2, device=points.device, dtype=points.dtype)[None, :, None]
    return torch.cumsum(points, dim=1)[:, 1:] / sizes


def weighted_average(points: torch.Tensor, rank_logits: torch.Tensor) -> torch.Tensor:
    """Weighted average with learnable weights over rank positions (O6): w = softmax(rank_logits[0..k]).

    `rank_logits` (n, 1 + MAX_K): learned, global in AutoSMOTESelf and per cohort in AutoSMOTECohort.
    """
    ranks = torch.arange(MAX_K + 1, device=points.device)
    beyond_k = ranks[None, :] > torch.arange(1, MAX_K + 1, device=points.device)[:, None]   # (K, K+1)
    masked = rank_logits[:, None, :].masked_fill(beyond_k[None], float("-inf"))
    return torch.einsum("bkr,brd->bkd", torch.softmax(masked, dim=-1), points)


def candidates(points: torch.Tensor, lam: torch.Tensor, pick: torch.Tensor, rank_logits: torch.Tensor,
               sum_reading: str) -> torch.Tensor:
    """A[i, k, a]: every (k, aggregation) candidate for every anchor, shape (n, MAX_K, 6, d), in AGGREGATIONS order."""
    return torch.stack([linear(points, lam, pick), minimum(points), maximum(points), total(points, sum_reading),
                        average(points), weighted_average(points, rank_logits)], dim=2)


def same_class_neighbours(X: np.ndarray, codes: np.ndarray, classes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's MAX_K nearest same-class neighbours (Euclidean, itself excluded) and how many exist (O2).

    Rows of `classes` only; other rows keep themselves as padding. A class with fewer than MAX_K + 1 members
    pads with its last real neighbour; `n_real` tells the caller which k options to mask.
    """
    neighbours = np.repeat(np.arange(len(X))[:, None], MAX_K, axis=1)
    n_real = np.zeros(len(X), dtype=np.int64)
    for code in classes:
        members = np.flatnonzero(codes == code)
        k = min(MAX_K, len(members) - 1)
        if k == 0:
            continue
        # kneighbors() without X leaves each point out of its own neighbour list, even with duplicates.
        found = members[NearestNeighbors(n_neighbors=k).fit(X[members]).kneighbors(return_distance=False)]
        neighbours[members] = np.concatenate([found, np.repeat(found[:, -1:], MAX_K - k, axis=1)], axis=1)
        n_real[members] = k
    return neighbours, n_real
