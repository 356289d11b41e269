"""The compiled loop of the exact block sampler (autosmote/rl/acting.py), in numba.

`row_steps` plays one row's low-level steps as a generator: compiled code runs the sampling (usage
counts, bins and their slack, inverse-CDF draws, segments) and hands back to Python, with a `yield`,
only for the two things that must stay NumPy's and torch's to keep every number bit-identical to the
interpreted sampler it replaced:

- NEED_EXP_STATE / NEED_EXP_PAIRS: the caller exponentiates `state_w` (all actions of a new state) or
  `pair_w` (the weights of one neighbour whose bin changed) in place with np.exp. NumPy's exp is not
  libm's (it uses SIMD implementations that differ in the last bit), and the weights feed the
  log-normalisers that the learner sees, so no other exp will do.
- NEED_LOGITS: logits missing from the row's cache. The kernel has written the first-layer input rows of
  the missing entries into `x` (relu(state part + neighbour part + weight part), float32 additions in
  the same order as torch's, so the same bits); the caller runs the second layer and the output layer
  with torch (oneDNN's and BLAS's summation order), writing into `mv`, and the kernel stores
  `mv + out_b` into the cache when it resumes.

Resuming a numba generator costs well under a microsecond, so the Python interpreter is entered a few
times per state instead of several times per step. Log-normalisers (shift + log total) are computed by
the caller with math.log from the recorded shifts and totals.
"""
from __future__ import annotations

import numpy as np
from numba import njit

NEED_LOGITS = 1
NEED_EXP_STATE = 2
NEED_EXP_PAIRS = 3


@njit(cache=True)
def _queue(n, row, row_bin, rank, partner_bin, partners, n_bins, state_h, neighbour_h, weight_h, x, missing):
    """Write the first-layer rows of cache entry (row bin, rank, partner bin) as the n-th missing one."""
    own = row * n_bins + row_bin
    partner = partners[rank] * n_bins + partner_bin
    n_weights, hidden = weight_h.shape
    zero = np.float32(0.0)
    for w in range(n_weights):
        r = n * n_weights + w
        for c in range(hidden):
            v = (state_h[own, c] + neighbour_h[partner, c]) + weight_h[w, c]
            x[r, c] = zero if v < zero else v          # torch's relu: negative -> +0, keeps -0 and NaN
    missing[n, 0] = row_bin
    missing[n, 1] = rank
    missing[n, 2] = partner_bin
    return n + 1


@njit(cache=True)
def _store(block, missing, n, mv, out_b):
    """Cache the logits of the n missing entries: the output layer's products plus its bias (float32)."""
    n_weights = block.shape[3]
    for p in range(n):
        row_bin, rank, partner_bin = missing[p, 0], missing[p, 1], missing[p, 2]
        for w in range(n_weights):
            block[row_bin, rank, partner_bin, w] = mv[p * n_weights + w] + out_b


@njit(cache=True)
def row_steps(row, g, u, counts, partners, block, stop_logits, has_stop, width, top, never,
              state_h, neighbour_h, weight_h, x, mv, out_b, missing, io,
              state_w, pair_w, steps, segments, shifts, totals):
    """Up to g low-level steps of `row` (see LowLevelActing.draw_row); yields what it needs.

    counts: int64 usage counts of all rows, updated in place. block: the row's (row bin, rank, neighbour
    bin, weight) float32 logits cache, NaN where not computed. Outputs: steps[:io[1]] the actions,
    segments[:io[2]] rows (first step, end step, row bin, the K neighbours' bins) with shifts and totals
    (log normaliser = shift + log(total)). io[0] is the number of missing entries at a NEED_LOGITS.
    """
    k = partners.shape[0]
    n_weights = weight_h.shape[0]
    n_bins = block.shape[0]
    n_actions = k * n_weights + (1 if has_stop else 0)
    bins = np.empty(k, np.int64)
    slack = np.empty(k, np.int64)
    cdf = np.empty(n_actions)
    for j in range(k):
        c = counts[partners[j]]
        b = min(c // width, top)
        bins[j] = b
        slack[j] = width - c % width if b < top else never
    count = counts[row]

    # One batched evaluation of what the row will most likely need (exactness does not depend on it):
    # every row bin it will pass through, with the neighbours' current bins and the next bin of
    # neighbours close to an edge.
    first, last = min(count // width, top), min((count + g - 1) // width, top)
    near = 2 * g // k + 1
    n = 0
    for row_bin in range(first, last + 1):
        for j in range(k):
            partner_bin = row_bin if j == 0 else bins[j]      # rank 0 is the row itself
            if np.isnan(block[row_bin, j, partner_bin, 0]):
                n = _queue(n, row, row_bin, j, partner_bin, partners, n_bins, state_h, neighbour_h, weight_h,
                           x, missing)
        for j in range(1, k):
            if slack[j] <= near and bins[j] < top and np.isnan(block[row_bin, j, bins[j] + 1, 0]):
                n = _queue(n, row, row_bin, j, bins[j] + 1, partners, n_bins, state_h, neighbour_h, weight_h,
                           x, missing)
    if n:
        io[0] = n
        yield NEED_LOGITS
        _store(block, missing, n, mv, out_b)

    t, n_segments, stopped = 0, 0, False
    while t < g and not stopped:
        row_bin = min(count // width, top)
        bins[0] = row_bin
        row_left = width - count % width if row_bin < top else never
        n = 0
        for j in range(k):
            if np.isnan(block[row_bin, j, bins[j], 0]):
                n = _queue(n, row, row_bin, j, bins[j], partners, n_bins, state_h, neighbour_h, weight_h, x,
                           missing)
        if n:
            io[0] = n
            yield NEED_LOGITS
            _store(block, missing, n, mv, out_b)
        shift = -np.inf
        for j in range(k):
            for w in range(n_weights):
                v = np.float64(block[row_bin, j, bins[j], w])
                state_w[j * n_weights + w] = v
                if v > shift:
                    shift = v
        if has_stop:
            v = stop_logits[row, row_bin]
            state_w[k * n_weights] = v
            if v > shift:
                shift = v
        for a in range(n_actions):
            state_w[a] -= shift
        yield NEED_EXP_STATE                      # state_w = exp(logits - shift)
        while True:
            total = 0.0
            for a in range(n_actions):            # cumsum, in order
                total += state_w[a]
                cdf[a] = total
            crossed, taken, used = 0, 0, row_left
            for i in range(t, t + min(g - t, row_left)):
                value = u[i] * total              # searchsorted(cdf[:-1], value, "right")
                lo, hi = 0, n_actions - 1
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if value < cdf[mid]:
                        hi = mid
                    else:
                        lo = mid + 1
                steps[i] = lo
                taken += 1
                j = lo // n_weights               # the stop action gets rank k
                if j == 0:
                    row_left -= 2                 # the row is its own neighbour: start and partner
                elif j == k:
                    stopped = True                # flat policy: move to the next row
                    break
                else:
                    row_left -= 1
                    counts[partners[j]] += 1
                    slack[j] -= 1
                    if slack[j] == 0:
                        crossed = j
                        break
                if row_left <= 0:
                    break
            count += used - row_left
            segments[n_segments, 0] = t
            segments[n_segments, 1] = t + taken
            segments[n_segments, 2] = row_bin
            segments[n_segments, 3:] = bins
            shifts[n_segments] = shift
            totals[n_segments] = total
            n_segments += 1
            t += taken
            if crossed:
                bins[crossed] += 1
                slack[crossed] = width if bins[crossed] < top else never
            if row_left <= 0 or t >= g or stopped or not crossed:
                break                             # done, or the row's own bin changed: all pairs change
            if np.isnan(block[row_bin, crossed, bins[crossed], 0]):
                n = _queue(0, row, row_bin, crossed, bins[crossed], partners, n_bins, state_h, neighbour_h,
                           weight_h, x, missing)
                io[0] = n
                yield NEED_LOGITS
                _store(block, missing, n, mv, out_b)
            for w in range(n_weights):            # a neighbour changed bin: only its pairs change
                pair_w[w] = np.float64(block[row_bin, crossed, bins[crossed], w]) - shift
            yield NEED_EXP_PAIRS                  # pair_w = exp(fresh - shift)
            for w in range(n_weights):
                state_w[crossed * n_weights + w] = pair_w[w]
    counts[row] = count
    io[1] = t
    io[2] = n_segments
