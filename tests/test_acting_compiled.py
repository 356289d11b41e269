"""The compiled acting loop (autosmote/rl/_compiled.py) against the interpreted one it replaced.

`_reference_sample_row` below is LowLevelActing.sample_row as it was before the loop was compiled (Python
and NumPy, one interpreter pass per step), kept here as the definition of the exact block sampler. For
identical uniforms, usage counts and weights the compiled loop must give the same actions, the same
segments (bins and log normalisers to the last bit), the same updated counts and the same behaviour
log-probabilities, and a whole search must give the same output whichever of the two plays its episodes.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.tree import DecisionTreeClassifier

from autosmote import AutoSMOTE
from autosmote.rl import actors
from autosmote.rl.acting import NEVER, TOP_BIN, LowLevelActing, RowDraw, acting_rows
from autosmote.rl.policies import LowLevelPolicy
from autosmote.space import N_USAGE_BINS, neighbour_table, state_features


# ----------------------------------------------------------------------------- the reference
def _reference_prefetch(acting, row, block, count, g, bins, slack):
    first, last = min(count // acting.bin_width, TOP_BIN), min((count + g - 1) // acting.bin_width, TOP_BIN)
    bins_arr = np.array(bins)
    near = (np.array(slack) <= 2 * g // acting.k + 1) & (bins_arr < TOP_BIN)
    near[0] = False
    extra = np.flatnonzero(near)
    ranks = np.concatenate([acting.arange_k, extra])
    partner_bins = np.concatenate([bins_arr, bins_arr[extra] + 1])
    n_bins = last - first + 1
    row_bins = np.repeat(np.arange(first, last + 1), len(ranks))
    ranks, partner_bins = np.tile(ranks, n_bins), np.tile(partner_bins, n_bins)
    own_pairs = ranks == 0
    partner_bins[own_pairs] = row_bins[own_pairs]
    acting._fill(row, block, row_bins, ranks, partner_bins)


def _reference_sample_row(acting, row, g, u, counts):
    """The interpreted exact block sampler (LowLevelActing.sample_row before compilation)."""
    width, k, nw = acting.bin_width, acting.k, acting.n_weights
    partners, rank_of = acting.neighbour_lists[row], acting.rank_of
    block = acting._row_cache(row)
    bins = [min(counts[m] // width, TOP_BIN) for m in partners]
    slack = [width - counts[m] % width if b < TOP_BIN else NEVER for m, b in zip(partners, bins)]
    count = counts[row]
    _reference_prefetch(acting, row, block, count, g, bins, slack)
    steps: list[int] = []
    segments: list[tuple] = []
    t, stopped = 0, False
    while t < g and not stopped:
        row_bin = min(count // width, TOP_BIN)
        bins[0] = row_bin
        row_left = width - count % width if row_bin < TOP_BIN else NEVER
        logits = acting.state_logits(row, row_bin, bins)
        shift = logits.max()
        weights = np.exp(logits - shift)
        while True:
            cdf = weights.cumsum()
            total = cdf[-1]
            drawn = cdf[:-1].searchsorted(u[t:t + min(g - t, row_left)] * total, "right").tolist()
            crossed, taken, used = 0, 0, row_left
            for a in drawn:
                taken += 1
                j = rank_of[a]
                if j == 0:
                    row_left -= 2
                elif j == k:
                    stopped = True
                    break
                else:
                    row_left -= 1
                    counts[partners[j]] += 1
                    s = slack[j] - 1
                    slack[j] = s
                    if s == 0:
                        crossed = j
                        break
                if row_left <= 0:
                    break
            count += used - row_left
            segments.append((t, t + taken, row_bin, tuple(bins), shift + math.log(total)))
            steps += drawn[:taken]
            t += taken
            if crossed:
                bins[crossed] += 1
                slack[crossed] = width if bins[crossed] < TOP_BIN else NEVER
            if row_left <= 0 or t >= g or stopped or not crossed:
                break
            fresh = block[row_bin, crossed, bins[crossed]]
            if fresh[0] != fresh[0]:
                acting._fill(row, block, np.array([row_bin]), np.array([crossed]), np.array([bins[crossed]]))
            weights[crossed * nw:(crossed + 1) * nw] = np.exp(fresh - shift)
    counts[row] = count
    return steps, segments


def _reference_sample_row_frozen(acting, row, g, u, counts):
    """LowLevelActing.sample_row_frozen before the change (the approximation within_row_updates=False)."""
    width, nw = acting.bin_width, acting.n_weights
    partners = acting.neighbour_lists[row]
    bins = [min(counts[m] // width, TOP_BIN) for m in partners]
    logits = acting.state_logits(row, bins[0], bins)
    shift = logits.max()
    cdf = np.exp(logits - shift).cumsum()
    drawn = cdf[:-1].searchsorted(u[:g] * cdf[-1], "right")
    stops = np.flatnonzero(drawn == acting.n_pairs)
    samples = drawn[:stops[0]] if len(stops) else drawn
    per_rank = np.bincount(samples // nw, minlength=acting.k)
    for j in np.flatnonzero(per_rank).tolist():
        counts[partners[j]] += int(per_rank[j])
    counts[row] += len(samples)
    steps = drawn[:len(samples) + (1 if len(stops) else 0)].tolist()
    return steps, [(0, len(steps), bins[0], tuple(bins), shift + math.log(cdf[-1]))]


def _as_draw(steps, segments, k):
    table = np.array([(start, end, row_bin, *bins) for start, end, row_bin, bins, _ in segments],
                     dtype=np.int64).reshape(len(segments), 3 + k)
    return RowDraw(np.asarray(steps, dtype=np.int64), table, np.array([s[4] for s in segments], dtype=np.float64))


def _reference_draw_row(self, row, g, u, counts):
    """LowLevelActing.draw_row through the reference (what a search played before the change)."""
    return _as_draw(*_reference_sample_row(self, row, g, u, counts), self.k)


def _reference_draw_row_frozen(self, row, g, u, counts):
    return _as_draw(*_reference_sample_row_frozen(self, row, g, u, counts), self.k)


# ----------------------------------------------------------------------------- row by row
def _acting(flat, bin_width, k, n_weights=5, n_rows=12, seed=0, sharpness=40.0):
    rng = np.random.default_rng(seed)
    X_min = rng.normal(size=(n_rows, 3))
    neighbours = neighbour_table(X_min, k)
    torch.manual_seed(seed + 3)
    net = LowLevelPolicy(N_USAGE_BINS + 3, n_weights, stop_action=flat)
    with torch.no_grad():                                  # sharper logits: uneven, state-dependent choices
        net.out.weight.mul_(sharpness)
        if flat:
            net.stop_head.bias.fill_(-2.0)
    states = torch.from_numpy(state_features(X_min.astype(np.float32)))
    return LowLevelActing(net, states, neighbours, bin_width), LowLevelActing(net, states, neighbours, bin_width)


def _same_segments(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a[:4] == b[:4]
        assert a[4] == b[4] and np.float64(a[4]).tobytes() == np.float64(b[4]).tobytes()   # to the last bit


@pytest.mark.parametrize("flat", [False, True])
@pytest.mark.parametrize("bin_width, k", [(1, 3), (2, 6), (3, 6), (7, 4), (20, 6), (3, 1), (5, 12)])
def test_compiled_rows_equal_the_interpreted_sampler(flat, bin_width, k):
    compiled, reference = _acting(flat, bin_width, k, seed=bin_width + k)
    rng = np.random.default_rng(100 * bin_width + k)
    n = len(compiled.neighbours)
    # start some rows near bin edges and in the top bin
    counts = rng.integers(0, bin_width * (N_USAGE_BINS + 1), n).tolist()
    expected_counts = list(counts)
    segments_seen = crossings = 0
    for sweep in range(3):                                 # later sweeps find their logits cached
        for row in rng.permutation(n).tolist():
            g = int(rng.integers(1, 90))
            u = rng.random(g)
            draw = compiled.draw_row(row, g, u, counts_array := np.array(counts, dtype=np.int64))
            counts = counts_array.tolist()
            steps, segments = _reference_sample_row(reference, row, g, u, expected_counts)
            assert draw.steps.tolist() == steps
            assert counts == expected_counts
            listed = [(s, e, b, tuple(bins), ln) for (s, e, b, *bins), ln
                      in zip(draw.segments.tolist(), draw.log_norms.tolist())]
            _same_segments(listed, segments)
            logmu = compiled.draw_log_probs(row, draw)
            assert logmu.tobytes() == reference.behaviour_log_probs(row, steps, segments).tobytes()
            segments_seen += len(segments)
            crossings += sum(1 for a, b in zip(segments, segments[1:]) if a[2] == b[2])
    assert crossings > 3 or k == 1                         # neighbours really changed bin inside rows
    assert segments_seen > 3 * n


@pytest.mark.parametrize("flat", [False, True])
def test_sample_row_keeps_its_list_interface(flat):
    compiled, reference = _acting(flat, 3, 6)
    counts, expected_counts = [0] * 12, [0] * 12
    u = np.random.default_rng(4).random(70)
    steps, segments = compiled.sample_row(5, 70, u, counts)
    assert isinstance(steps, list) and isinstance(segments[0][3], tuple)
    expected_steps, expected_segments = _reference_sample_row(reference, 5, 70, u, expected_counts)
    assert steps == expected_steps and counts == expected_counts
    _same_segments(segments, expected_segments)


@pytest.mark.parametrize("flat", [False, True])
def test_frozen_rows_equal_the_interpreted_approximation(flat):
    acting, reference = _acting(flat, 3, 6)
    rng = np.random.default_rng(2)
    counts = rng.integers(0, 40, 12)
    expected_counts = counts.tolist()
    for row in rng.permutation(12).tolist() * 2:
        g = int(rng.integers(1, 90))
        u = rng.random(g)
        draw = acting.draw_row_frozen(row, g, u, counts)
        steps, segments = _reference_sample_row_frozen(reference, row, g, u, expected_counts)
        assert draw.steps.tolist() == steps and counts.tolist() == expected_counts
        _same_segments(LowLevelActing._as_lists(draw)[1], segments)
        assert acting.draw_log_probs(row, draw).tobytes() == \
            reference.behaviour_log_probs(row, steps, segments).tobytes()


def test_the_compiled_cache_holds_what_pair_logits_gives():
    """The compiled loop writes the first layer itself and has torch do the rest: the cached logits must be
    the bits that LowLevelActing.pair_logits (the torch path) gives for the same (state, neighbour) pairs."""
    compiled, _ = _acting(False, 2, 6)
    rng = np.random.default_rng(0)
    counts = np.zeros(12, dtype=np.int64)
    for row in range(12):
        g = int(rng.integers(20, 80))
        compiled.draw_row(row, g, rng.random(g), counts)
    checked = 0
    for row, block in compiled.cache.items():
        row_bins, ranks, partner_bins = np.nonzero(~np.isnan(block[..., 0]))
        own = row * N_USAGE_BINS + row_bins
        partner = compiled.neighbours[row][ranks] * N_USAGE_BINS + partner_bins
        expected = compiled.pair_logits(own, partner)
        assert block[row_bins, ranks, partner_bins].tobytes() == expected.tobytes()
        checked += len(own)
    assert checked > 100


def test_every_acting_batch_shape_gives_the_same_logits():
    """acting_rows pads to multiples of 32 (128 above 1024 rows): each such shape must give every row the
    bits it gets in any other batch (what lets the cache fill in whatever batches it likes, and what makes
    them equal to the learner's padded_rows shapes)."""
    rng = np.random.default_rng(0)
    k, n_weights = 30, 5
    X_min = rng.normal(size=(40, 4))
    neighbours = neighbour_table(X_min, k)
    torch.manual_seed(0)
    net = LowLevelPolicy(N_USAGE_BINS + 4, n_weights)
    acting = LowLevelActing(net, torch.from_numpy(state_features(X_min.astype(np.float32))), neighbours, 20)
    most = N_USAGE_BINS * 2 * k                            # pairs one evaluation can hold
    n_codes = 40 * N_USAGE_BINS
    own, partner = rng.integers(0, n_codes, most), rng.integers(0, n_codes, most)
    reference = acting.pair_logits(own, partner)
    shapes = sorted({acting_rows(n * n_weights) for n in range(1, most + 1)})
    assert shapes[0] == 32 and len(shapes) > 40
    for shape in shapes:
        n = min(most, shape // n_weights)
        chosen = rng.choice(most, size=n, replace=False)
        assert acting_rows(n * n_weights) == shape or n == most
        assert acting.pair_logits(own[chosen], partner[chosen]).tobytes() == reference[chosen].tobytes()


# ----------------------------------------------------------------------------- whole searches
def _episode_bytes(episode) -> bytes:
    """Everything an actor returns about an episode: its decisions, score and learner steps."""
    parts = [episode.samples_per_row, episode.actions, episode.g2, np.array([episode.g1, episode.score])]
    parts += [episode.steps[name][key] for name in sorted(episode.steps) for key in sorted(episode.steps[name])]
    return b"".join(np.ascontiguousarray(p).tobytes() for p in parts)


def _search(monkeypatch, reference: bool, X, y, **params):
    """A search's output and the bytes of every episode its actors returned."""
    episodes = {}
    with monkeypatch.context() as patch:
        if reference:
            patch.setattr(LowLevelActing, "draw_row", _reference_draw_row)
            patch.setattr(LowLevelActing, "draw_row_frozen", _reference_draw_row_frozen)
        for cls in (actors.InProcessActors, actors.ProcessActors):
            def results(self, _original=cls.results):
                out = _original(self)
                episodes.update({e.index: _episode_bytes(e) for _, e in out})
                return out
            patch.setattr(cls, "results", results)
        sampler = AutoSMOTE(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X_res, y_res = sampler.fit_resample(X, y)
    return X_res, y_res, sampler, episodes


SEARCHES = {
    "default": dict(),
    "learning": dict(unroll_lengths=(2, 10, 10), batch_size=2, bin_width=3),
    "flat": dict(ablation="flat", unroll_lengths=(2, 10, 10), batch_size=2, bin_width=4),
    "no_cross_instance": dict(ablation="no_cross_instance", bin_width=2, unroll_lengths=(2, 10, 10), batch_size=2),
    "frozen_rows": dict(within_row_updates=False, bin_width=3, unroll_lengths=(2, 10, 10), batch_size=2),
    "multi_class": dict(unroll_lengths=(2, 10, 10), batch_size=2, bin_width=3),
}


@pytest.mark.parametrize("n_jobs", [None, 2])
@pytest.mark.parametrize("name", list(SEARCHES))
def test_whole_searches_are_the_same_with_the_compiled_loop(monkeypatch, name, n_jobs):
    if name == "multi_class":
        X, y = make_classification(n_samples=400, n_features=5, n_informative=3, n_redundant=0, n_classes=3,
                                   weights=[0.8, 0.12, 0.08], random_state=0)
    else:
        X, y = make_classification(n_samples=300, n_features=5, n_informative=3, n_redundant=0, weights=[0.88],
                                   random_state=0)
    params = dict(budget=12, random_state=7, classifier=DecisionTreeClassifier(random_state=0), n_jobs=n_jobs,
                  **SEARCHES[name])
    X_new, y_new, new, new_episodes = _search(monkeypatch, False, X, y, **params)
    X_old, y_old, old, old_episodes = _search(monkeypatch, True, X, y, **params)
    assert X_new.tobytes() == X_old.tobytes() and np.array_equal(y_new, y_old)
    assert new.episode_scores_ == old.episode_scores_ and new.search_curve_ == old.search_curve_
    assert len(new_episodes) == 12 and new_episodes == old_episodes
    if name != "default":
        assert sum(new.learner_updates_.values()) > 0      # the weights changed: caches were rebuilt
