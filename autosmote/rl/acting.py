"""The actor's side: play one episode of Algorithm 1 (paper 3.2) with fixed policy weights, on CPU.

Exact batching of the low-level policy. Within one row's g samples the features the low-level policy
sees change only when a usage count crosses a bin edge (the row's own count, or the count of the
neighbour just chosen). So one set of logits serves every sample up to that point: the sampler draws a
block of actions from it by inverse CDF, one uniform per sample, scans the block for the first bin
crossing, keeps the samples up to and including it, and continues with the changed logits on the
following uniforms. The result is the same sequence of samples that one-at-a-time sampling with the same
uniforms gives; only the number of network evaluations differs.

Pair logits depend only on (row, row bin, neighbour rank, neighbour bin), so they are cached per row for
as long as the actor's weights are unchanged (across episodes too), and computed in batches: at a row's
start, for every row bin the row will pass through and for the neighbours' current bins (plus the next
bin of neighbours close to an edge); anything else on demand.

The sampling loop itself is compiled (autosmote/rl/_compiled.py, numba): it returns to Python only to
exponentiate a state's logits with NumPy's exp and to have torch evaluate missing logits, so every draw,
segment and log-probability is bit-identical to the interpreted loop it replaced
(tests/test_acting_compiled.py keeps that loop as the reference).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from ..space import N_USAGE_BINS, SearchSpace, state_features
from ._compiled import NEED_EXP_PAIRS, NEED_EXP_STATE, row_steps
from .policies import LowLevelPolicy, StatePolicy, build_policies, load_flat_parameters

TOP_BIN = N_USAGE_BINS - 1
NEVER = 1 << 60      # "this count never changes bin again" (already in the top bin)
ABLATIONS = ("no_cross_instance", "no_instance_specific", "no_low_level", "flat", "random_search", "merged",
             "random_per_row", "random_flat")
RANDOM = ("random_search", "random_per_row", "random_flat")   # every decision uniform, nothing learned


@dataclass(frozen=True)
class PlayerConfig:
    """What an actor needs to know about the search besides the data."""
    space: SearchSpace
    bin_width: int = 20
    kept_subepisodes: int = 10
    ablation: str | None = None
    within_row_updates: bool = True   # False: the approximation that freezes a row's state at its start

    @property
    def learned(self) -> dict[str, bool]:
        """Which decisions a policy makes (the others are fixed or uniform)."""
        a = self.ablation
        return {"cross": a not in ("no_cross_instance", "flat", *RANDOM),
                "instance": a not in ("no_instance_specific", "flat", *RANDOM),
                "low": a not in ("no_low_level", *RANDOM),
                "flat": a == "flat"}


@dataclass
class Episode:
    """One episode: the decisions (enough to rebuild its synthetic set) and the steps for the learner."""
    index: int
    samples_per_row: np.ndarray          # (n,) synthetic samples started at each minority row
    actions: np.ndarray                  # (S,) low-level action ids, rows in order
    g1: int
    g2: np.ndarray                       # (n,) instance-specific factors (-1 under the flat policy)
    steps: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)   # policy -> step arrays
    score: float = float("nan")
    act_s: float = 0.0            # wall seconds generating the episode and its synthetic rows
    fit_s: float = 0.0            # wall seconds fitting the classifier and scoring it
    act_cpu: float = 0.0          # the same in CPU seconds of the actor's process
    fit_cpu: float = 0.0


class RowDraw(NamedTuple):
    """One row's low-level steps and the segments of steps that share one state."""
    steps: np.ndarray       # (T,) int64 action ids
    segments: np.ndarray    # (S, 3 + K) int64: first step, end step, row bin, the K neighbours' bins (own first)
    log_norms: np.ndarray   # (S,) log normaliser of each segment's state


class StateActing:
    """A state policy's action distribution for every (row, usage bin), computed once per weight version."""

    def __init__(self, net: StatePolicy, states: torch.Tensor):
        with torch.inference_mode():
            logits, _ = net(states.reshape(-1, states.shape[-1]))
            logp = torch.log_softmax(logits.double(), dim=-1)
        self.logp = logp.numpy().reshape(states.shape[0], states.shape[1], -1)
        self.cdf = np.cumsum(np.exp(self.logp), axis=-1)

    def sample(self, row: int, usage_bin: int, u: float) -> tuple[int, float]:
        cdf = self.cdf[row, usage_bin]
        action = int(np.searchsorted(cdf[:-1], u * cdf[-1], side="right"))
        return action, float(self.logp[row, usage_bin, action])


def _dense_relu_impl():
    """relu(x @ w.T + b) in one oneDNN call where torch has it (saves two passes over the output)."""
    try:
        op = torch.ops.mkldnn._linear_pointwise
        op(torch.zeros(1, 2), torch.zeros(3, 2), torch.zeros(3), "relu", [], "")
        return lambda x, w, b: op(x, w, b, "relu", [], "")
    except (AttributeError, RuntimeError):
        return lambda x, w, b: torch.relu(torch.nn.functional.linear(x, w, b))


dense_relu = _dense_relu_impl()


def acting_rows(n: int) -> int:
    """The padded batch size of an actor's evaluation of n rows: a multiple of 32 (at least 32), of 128
    above 1024. oneDNN builds a kernel per shape (about 0.4 ms, once per process), and a row's logits do
    not depend on the batch it was computed in at these shapes (tests/test_acting_compiled.py checks each
    one), so the actors use finer steps than the learner's padded_rows: about a fifth fewer rows."""
    return max(32, -(-n // 32) * 32) if n <= 1024 else -(-n // 128) * 128


class LowLevelActing:
    """Pair logits of the low-level policy with a per-row cache; the exact block sampler of one row."""

    def __init__(self, net: LowLevelPolicy, states: torch.Tensor, neighbours: np.ndarray, bin_width: int):
        n_rows, k = neighbours.shape
        self.k, self.n_weights, self.bin_width = k, net.n_weights, bin_width
        self.neighbours = neighbours
        self.neighbour_lists = neighbours.tolist()
        self.n_pairs = k * net.n_weights
        self.rank_of = [a // net.n_weights for a in range(self.n_pairs + 1)]   # the stop action gets rank k
        with torch.inference_mode():      # the first layer in three parts, each computed once per input
            flat_states = states.reshape(-1, states.shape[-1])
            self.state_h = net.state_part(flat_states).contiguous()           # (n * bins, H)
            self.neighbour_h = net.neighbour_part(flat_states).contiguous()   # (n * bins, H)
            self.weight_h = net.weight_part().contiguous()                     # (n_weights, H)
            self.second_w = net.second.weight.detach().contiguous()
            self.second_b = net.second.bias.detach()
            self.out_w = net.out.weight[0].detach()
            self.out_b = float(net.out.bias)
            _, stop = net.value_and_stop(flat_states)
        self.stop_logits = None if stop is None else stop.double().numpy().reshape(n_rows, N_USAGE_BINS)
        self.cache: dict[int, np.ndarray] = {}
        self.arange_k = np.arange(k)
        self._buffer = torch.zeros(0, self.state_h.shape[1])
        # the compiled sampler's side (autosmote/rl/_compiled.py)
        self._state_h_np, self._neighbour_h_np = self.state_h.numpy(), self.neighbour_h.numpy()
        self._weight_h_np = self.weight_h.numpy()
        self._out_b32 = np.float32(self.out_b)
        self._stop_np = self.stop_logits if self.stop_logits is not None else np.zeros((1, 1))
        self._x = self._mv = None                  # first-layer rows of missing entries; their outputs
        self._missing = np.zeros((N_USAGE_BINS * 2 * k, 3), dtype=np.int64)
        self._io = np.zeros(3, dtype=np.int64)
        self._state_w = np.zeros(self.n_pairs + (self.stop_logits is not None))
        self._pair_w = np.zeros(net.n_weights)
        self._capacity = 0

    # ----------------------------------------------------------------- pair logits
    def pair_logits(self, own: np.ndarray, partner: np.ndarray) -> np.ndarray:
        """(P, n_weights) logits for P (row * bins + row bin, neighbour * bins + neighbour bin) codes."""
        n_pairs, n_weights, hidden = len(own), self.n_weights, self.state_h.shape[1]
        n_rows = n_pairs * n_weights
        with torch.inference_mode():
            h = self.state_h[torch.from_numpy(own)]
            h += self.neighbour_h[torch.from_numpy(partner)]
            x = self._input_buffer(n_rows)
            torch.add(h[:, None, :], self.weight_h, out=x[:n_rows].view(n_pairs, n_weights, hidden))
            x.relu_()
            h = dense_relu(x, self.second_w, self.second_b)
            logits = torch.mv(h, self.out_w)[:n_rows].add_(self.out_b)
        return logits.numpy().reshape(n_pairs, n_weights)

    def _input_buffer(self, n_rows: int) -> torch.Tensor:
        """A (acting_rows(n_rows), H) view of a reused buffer; the padding rows hold stale finite values."""
        padded = acting_rows(n_rows)
        if len(self._buffer) < padded:
            self._buffer = torch.zeros(padded, self.state_h.shape[1])
        return self._buffer[:padded]

    def _row_cache(self, row: int) -> np.ndarray:
        """(row bin, neighbour rank, neighbour bin, weight) logits of one row; NaN = not computed yet."""
        block = self.cache.get(row)
        if block is None:
            block = np.full((N_USAGE_BINS, self.k, N_USAGE_BINS, self.n_weights), np.nan, dtype=np.float32)
            self.cache[row] = block
        return block

    def _fill(self, row: int, block: np.ndarray, row_bins: np.ndarray, ranks: np.ndarray,
              partner_bins: np.ndarray) -> None:
        """Compute the missing entries among the given (row bin, rank, neighbour bin) combinations."""
        missing = np.isnan(block[row_bins, ranks, partner_bins, 0])
        if not missing.any():
            return
        row_bins, ranks, partner_bins = row_bins[missing], ranks[missing], partner_bins[missing]
        own = row * N_USAGE_BINS + row_bins
        partner = self.neighbours[row][ranks] * N_USAGE_BINS + partner_bins
        block[row_bins, ranks, partner_bins] = self.pair_logits(own, partner)

    def state_logits(self, row: int, row_bin: int, bins) -> np.ndarray:
        """(K * n_weights [+ stop],) logits of the state (row, row bin, neighbours' bins)."""
        block = self._row_cache(row)
        bins_arr = np.asarray(bins)
        logits = block[row_bin, self.arange_k, bins_arr]
        if np.isnan(logits[:, 0]).any():
            self._fill(row, block, np.full(self.k, row_bin), self.arange_k, bins_arr)
            logits = block[row_bin, self.arange_k, bins_arr]
        logits = logits.reshape(-1).astype(np.float64)
        if self.stop_logits is not None:
            logits = np.append(logits, self.stop_logits[row, row_bin])
        return logits

    # ----------------------------------------------------------------- sampling one row
    def draw_row(self, row: int, g: int, u: np.ndarray, counts: np.ndarray) -> RowDraw:
        """Up to g low-level steps for `row` (all g, or until the stop action under the flat policy).

        Updates `counts` (int64 usage counts of all minority rows) in place. The compiled loop
        (_compiled.row_steps) hands back for NumPy's exp and for torch's evaluation of missing logits.
        """
        self._reserve(g)
        state_w, pair_w = self._state_w, self._pair_w
        for need in row_steps(row, g, u, counts, self.neighbours[row], self._row_cache(row), self._stop_np,
                              self.stop_logits is not None, self.bin_width, TOP_BIN, NEVER, self._state_h_np,
                              self._neighbour_h_np, self._weight_h_np, self._x_np, self._mv_np, self._out_b32,
                              self._missing, self._io, state_w, pair_w, self._steps, self._segments, self._shifts,
                              self._totals):
            if need == NEED_EXP_STATE:
                np.exp(state_w, out=state_w)
            elif need == NEED_EXP_PAIRS:
                np.exp(pair_w, out=pair_w)
            else:
                self._evaluate_missing(int(self._io[0]))
        n_steps, n_segments = int(self._io[1]), int(self._io[2])
        log_norms = [shift + math.log(total) for shift, total
                     in zip(self._shifts[:n_segments].tolist(), self._totals[:n_segments].tolist())]
        return RowDraw(self._steps[:n_steps].copy(), self._segments[:n_segments].copy(), np.array(log_norms))

    def _reserve(self, g: int) -> None:
        """Scratch space for g steps, and the first-layer buffer on first use."""
        if self._x is None:
            rows = acting_rows(len(self._missing) * self.n_weights)
            self._x = torch.zeros(rows, self.state_h.shape[1])
            self._mv = torch.zeros(rows)
            self._x_np, self._mv_np = self._x.numpy(), self._mv.numpy()
        if g > self._capacity:
            self._capacity = max(g, 2 * self._capacity)
            self._steps = np.zeros(self._capacity, dtype=np.int64)
            self._segments = np.zeros((self._capacity, 3 + self.k), dtype=np.int64)
            self._shifts, self._totals = np.zeros(self._capacity), np.zeros(self._capacity)

    def _evaluate_missing(self, n_pairs: int) -> None:
        """The second and output layers on the first-layer rows the compiled loop wrote (what pair_logits
        does after its first layer, on the same padded shapes)."""
        padded = acting_rows(n_pairs * self.n_weights)
        h = dense_relu(self._x[:padded], self.second_w, self.second_b)
        torch.mv(h, self.out_w, out=self._mv[:padded])

    def sample_row(self, row: int, g: int, u: np.ndarray, counts: list[int]) -> tuple[list[int], list[tuple]]:
        """draw_row with `counts` a list (updated in place) and the result as lists: the step actions and
        the segments [(first step, end step, row bin, neighbours' bins, log normaliser)]."""
        counts_array = np.array(counts, dtype=np.int64)
        draw = self.draw_row(row, g, np.ascontiguousarray(u, dtype=np.float64), counts_array)
        counts[:] = counts_array.tolist()
        return self._as_lists(draw)

    def draw_row_frozen(self, row: int, g: int, u: np.ndarray, counts: np.ndarray) -> RowDraw:
        """The approximation: all of the row's steps are drawn from the state at the row's start (one
        forward pass per row); usage counts (int64, updated in place) still change, for the next rows'
        states."""
        partners = self.neighbours[row]
        bins = np.minimum(counts[partners] // self.bin_width, TOP_BIN)
        logits = self.state_logits(row, int(bins[0]), bins)
        shift = logits.max()
        cdf = np.exp(logits - shift).cumsum()
        drawn = cdf[:-1].searchsorted(u[:g] * cdf[-1], "right")
        stops = np.flatnonzero(drawn == self.n_pairs)
        n_samples = int(stops[0]) if len(stops) else len(drawn)
        np.add.at(counts, partners, np.bincount(drawn[:n_samples] // self.n_weights, minlength=self.k))
        counts[row] += n_samples
        steps = drawn[:n_samples + (1 if len(stops) else 0)].astype(np.int64)
        segment = np.concatenate([[0, len(steps), bins[0]], bins])[None]
        return RowDraw(steps, segment, np.array([shift + math.log(cdf[-1])]))

    def sample_row_frozen(self, row: int, g: int, u: np.ndarray, counts: list[int]) -> tuple[list[int], list[tuple]]:
        """draw_row_frozen with sample_row's interface (list counts updated in place, lists out)."""
        counts_array = np.array(counts, dtype=np.int64)
        draw = self.draw_row_frozen(row, g, np.asarray(u, dtype=np.float64), counts_array)
        counts[:] = counts_array.tolist()
        return self._as_lists(draw)

    @staticmethod
    def _as_lists(draw: RowDraw) -> tuple[list[int], list[tuple]]:
        """A RowDraw as lists: the step actions and the segments [(first step, end step, row bin,
        neighbours' bins, log normaliser)]."""
        segments = [(start, end, row_bin, tuple(bins), log_norm) for (start, end, row_bin, *bins), log_norm
                    in zip(draw.segments.tolist(), draw.log_norms.tolist())]
        return draw.steps.tolist(), segments

    def draw_log_probs(self, row: int, draw: RowDraw) -> np.ndarray:
        """behaviour_log_probs of a RowDraw: each step's cached logit (its segment's state) minus the
        segment's log normaliser."""
        segments, actions = draw.segments, draw.steps
        which = np.repeat(np.arange(len(segments)), segments[:, 1] - segments[:, 0])
        ranks, weights = np.divmod(actions, self.n_weights)
        stop = ranks == self.k                        # the flat policy's "next row" (rank k)
        ranks = np.minimum(ranks, self.k - 1)
        row_bins = segments[which, 2]
        logits = self._row_cache(row)[row_bins, ranks, segments[which, 3 + ranks], weights].astype(np.float64)
        if stop.any():
            logits[stop] = self.stop_logits[row, row_bins[stop]]
        return logits - draw.log_norms[which]

    def behaviour_log_probs(self, row: int, steps: list[int], segments: list[tuple]) -> np.ndarray:
        """log mu of each step, from the cached logits of its segment's state (weights unchanged since)."""
        actions = np.asarray(steps)
        out = np.empty(len(actions))
        for start, end, row_bin, bins, log_norm in segments:
            out[start:end] = self.state_logits(row, row_bin, bins)[actions[start:end]] - log_norm
        return out


def segment_steps(row: int, draw: RowDraw, logmu: np.ndarray) -> dict:
    """The learner's step arrays of one low-level sub-episode."""
    n, segments = len(draw.steps), draw.segments
    lengths = segments[:, 1] - segments[:, 0]
    done = np.zeros(n, dtype=bool)
    done[-1] = True
    return {"rows": np.full(n, row, dtype=np.int32), "bins": np.repeat(segments[:, 2], lengths).astype(np.int8),
            "partner_bins": np.repeat(segments[:, 3:], lengths, axis=0).astype(np.int8),
            "actions": draw.steps.astype(np.int16), "logmu": logmu, "done": done}


class EpisodePlayer:
    """Plays episodes with the latest weights it was given; one per actor."""

    def __init__(self, config: PlayerConfig, X_scaled: np.ndarray, neighbours: np.ndarray):
        self.config = config
        self.space = config.space
        self.neighbours = neighbours
        self.n_rows = len(neighbours)
        self.states = torch.from_numpy(state_features(X_scaled))
        learned = config.learned
        self.nets = build_policies(self.states.shape[-1], self.space.g1_actions, self.space.g2_actions,
                                   self.space.n_weights, seed=0, cross=learned["cross"],
                                   instance=learned["instance"], low=learned["low"], flat=learned["flat"])
        self.versions: dict[str, int] = {}
        self.acting: dict[str, object] = {}

    def load(self, weights: dict[str, tuple[int, np.ndarray]]) -> None:
        """Take new weights; derived tables and caches are rebuilt only for nets whose version changed."""
        for name, (version, flat) in weights.items():
            if self.versions.get(name) == version:
                continue
            net = self.nets[name]
            load_flat_parameters(net, flat)
            if name == "low":
                self.acting[name] = LowLevelActing(net, self.states, self.neighbours, self.config.bin_width)
            else:
                states = self.states[:1, :1] if name == "cross" else self.states
                self.acting[name] = StateActing(net, states)
            self.versions[name] = version

    def play(self, index: int, seed: int) -> Episode:
        """Algorithm 1 with the current weights; the RNG stream depends only on (seed, index)."""
        start, start_cpu = time.perf_counter(), time.process_time()
        rng = np.random.default_rng([seed, index])
        space, cfg, n = self.space, self.config, self.n_rows
        steps: dict[str, dict[str, np.ndarray]] = {}
        g1 = self._cross_instance(rng, steps)
        counts = np.zeros(n, dtype=np.int64)
        g2 = np.full(n, -1, dtype=np.int64)
        per_row = np.zeros(n, dtype=np.int64)
        actions: list[np.ndarray] = []
        instance_steps = []
        low_rows: list[tuple[int, RowDraw]] = []
        low = self.acting.get("low")
        flat = cfg.ablation in ("flat", "random_flat")
        row_uniforms = rng.random(n)
        # random_per_row: a g1 of each row's own instead of the episode's (drawn after the g2 uniforms, so
        # that the other searches' random streams are what they were)
        row_g1 = (rng.random(n) * space.g1_actions).astype(np.int64) if cfg.ablation == "random_per_row" else None
        for i in range(n):
            if flat:
                g = space.max_per_row                # the flat policy stops earlier by itself
            else:
                g2[i] = self._instance_specific(i, counts, row_uniforms[i], instance_steps)
                g = (g1 if row_g1 is None else int(row_g1[i])) * int(g2[i])
            if g == 0:
                continue
            if low is None:
                row_actions = self._uniform_actions(rng, g)
                self._count_uniform(i, row_actions, counts)
                actions.append(row_actions)
                per_row[i] = len(row_actions)
                continue
            draw_row = low.draw_row if cfg.within_row_updates else low.draw_row_frozen
            draw = draw_row(i, g, rng.random(g), counts)
            samples = draw.steps[draw.steps < space.n_pairs] if flat else draw.steps
            per_row[i] = len(samples)
            actions.append(samples)
            low_rows.append((i, draw))
        if instance_steps:
            steps["instance"] = self._instance_arrays(instance_steps)
        if low is not None and low_rows:
            steps["low"] = self._kept_low_steps(low_rows, rng)
        all_actions = np.concatenate(actions).astype(np.int16) if actions else np.zeros(0, np.int16)
        episode = Episode(index, per_row.astype(np.int32), all_actions, g1, g2.astype(np.int32), steps)
        episode.act_s = time.perf_counter() - start
        episode.act_cpu = time.process_time() - start_cpu
        return episode

    # ----------------------------------------------------------------- the decisions
    def _uniform_actions(self, rng: np.random.Generator, g: int) -> np.ndarray:
        """A row's g uniform (neighbour, weight) actions; under random_flat each step is uniform over those
        and "next row" (the flat policy's actions), so the row ends at its first "next row"."""
        if self.config.ablation != "random_flat":
            return rng.integers(0, self.space.n_pairs, size=g)
        drawn = rng.integers(0, self.space.n_pairs + 1, size=g)   # n_pairs: the "next row" action
        stops = np.flatnonzero(drawn == self.space.n_pairs)
        return drawn[:stops[0]] if len(stops) else drawn

    def _cross_instance(self, rng: np.random.Generator, steps: dict) -> int:
        """g1 from the cross-instance policy (its state: the first row, all counts zero), or fixed/uniform
        (-1: no episode-wide g1, under the flat policies and random_per_row)."""
        u = rng.random()
        if self.config.ablation in ("flat", "random_flat", "random_per_row"):
            return -1
        if self.config.ablation == "no_cross_instance":
            return self.space.g1_actions // 2
        if "cross" not in self.acting:
            return int(u * self.space.g1_actions)
        action, logmu = self.acting["cross"].sample(0, 0, u)
        steps["cross"] = {"rows": np.zeros(1, np.int32), "bins": np.zeros(1, np.int8),
                          "actions": np.array([action], np.int16), "logmu": np.array([logmu]),
                          "done": np.ones(1, bool)}
        return action

    def _instance_specific(self, row: int, counts: np.ndarray, u: float, record: list) -> int:
        if self.config.ablation == "no_instance_specific":
            return self.space.g2_actions // 2
        if "instance" not in self.acting:
            return int(u * self.space.g2_actions)
        usage_bin = min(int(counts[row]) // self.config.bin_width, TOP_BIN)
        action, logmu = self.acting["instance"].sample(row, usage_bin, u)
        record.append((row, usage_bin, action, logmu))
        return action

    def _count_uniform(self, row: int, row_actions: np.ndarray, counts: np.ndarray) -> None:
        """Usage counts under uniform low-level decisions (they feed the instance-specific state)."""
        partners = self.neighbours[row]
        per_rank = np.bincount(row_actions // self.space.n_weights, minlength=self.space.k)
        for j in np.flatnonzero(per_rank).tolist():
            counts[partners[j]] += int(per_rank[j])
        counts[row] += len(row_actions)

    @staticmethod
    def _instance_arrays(record: list) -> dict[str, np.ndarray]:
        rows, bins, actions, logmu = zip(*record)
        done = np.zeros(len(rows), bool)
        done[-1] = True
        return {"rows": np.array(rows, np.int32), "bins": np.array(bins, np.int8),
                "actions": np.array(actions, np.int16), "logmu": np.array(logmu), "done": done}

    def _kept_low_steps(self, low_rows: list, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """A random sample of `kept_subepisodes` low-level sub-episodes (rows in order), as step arrays."""
        kept = rng.choice(len(low_rows), size=min(self.config.kept_subepisodes, len(low_rows)), replace=False)
        low = self.acting["low"]
        parts = [segment_steps(row, draw, low.draw_log_probs(row, draw))
                 for row, draw in (low_rows[j] for j in sorted(kept.tolist()))]
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
