"""The search loop: actors play blocks of episodes; the learner learns between and beside them.

Block r: each of the n actors plays `sync_interval` episodes back to back (episode indices r * B + k * n
+ actor, B = n * sync_interval) with the weights the learner had after learning from blocks <= r - 1 -
policy_lag. With policy_lag >= 1 the learner learns from block r - 1 while the actors play block r, so
learning and acting overlap; a longer block lets actors reuse their cached logits across episodes and
evens out the episodes' different lengths. Both are IMPALA's policy lag, which V-trace corrects. The
learner consumes a block's episodes in index order. Every episode's random numbers come from
(seed, episode index) alone, so a search is a pure function of (data, parameters, seed, n_actors):
bit-identical reruns in-process and with actor processes alike (only the wall-clock interleaving varies).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from ..space import state_features
from .actors import InProcessActors, ProcessActors, SearchData
from .acting import Episode, PlayerConfig
from .learner import Learner, LearnerConfig
from .policies import build_policies


@dataclass
class SearchResult:
    curve: list[float]                   # best validation score after each episode
    scores: list[float]                  # each episode's validation score
    best: Episode
    timings: dict[str, float]
    updates: dict[str, int] = field(default_factory=dict)


def run_search(config: PlayerConfig, learner_config: LearnerConfig, data: SearchData, *, budget: int,
               n_actors: int, policy_lag: int, sync_interval: int, seed: int, device: torch.device) -> SearchResult:
    start = time.perf_counter()
    learned = config.learned
    states = state_features(data.X_min_scaled)
    nets = build_policies(states.shape[-1], config.space.g1_actions, config.space.g2_actions,
                          config.space.n_weights, seed=seed, cross=learned["cross"],
                          instance=learned["instance"], low=learned["low"], flat=learned["flat"])
    # Actors first: worker processes are forked before the learner touches an accelerator.
    actors = InProcessActors(config, data, seed) if n_actors == 1 else ProcessActors(n_actors, config, data, seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)       # small matrices; also keeps CPU results independent of the core count
    try:
        learner = Learner(nets, states, data.neighbours, learner_config, device) if nets else None
        return _rounds(actors, learner, budget=budget, policy_lag=policy_lag, sync_interval=sync_interval,
                       start=start)
    finally:
        torch.set_num_threads(threads)
        actors.close()


def _rounds(actors, learner: Learner | None, *, budget: int, policy_lag: int, sync_interval: int,
            start: float) -> SearchResult:
    timings = {"acting": 0.0, "fitting": 0.0, "learning": 0.0, "waiting": 0.0,
               "acting_cpu": 0.0, "fitting_cpu": 0.0, "learning_cpu": 0.0}
    snapshots = {-1: learner.weights() if learner else {}}   # weights after learning rounds <= key
    pending: dict[int, list[Episode]] = {}
    learned_upto = -1
    curve: list[float] = []
    scores: list[float] = []
    best: Episode | None = None
    timings["setup"] = time.perf_counter() - start

    def learn_round(k: int) -> None:
        t0, t0_cpu = time.perf_counter(), time.process_time()
        if learner is not None:
            for episode in pending.pop(k):
                learner.add(episode.steps, episode.score)
            learner.learn()
            snapshots[k] = learner.weights()
        else:
            pending.pop(k)
            snapshots[k] = {}
        timings["learning"] += time.perf_counter() - t0
        timings["learning_cpu"] += time.process_time() - t0_cpu

    per_block = actors.n_actors * sync_interval
    for r in range(math.ceil(budget / per_block)):
        needed = max(r - 1 - policy_lag, -1)
        while learned_upto < needed:
            learned_upto += 1
            learn_round(learned_upto)
        weights = snapshots[needed]
        for key in [key for key in snapshots if key < needed]:
            del snapshots[key]
        first, end = r * per_block, min(budget, (r + 1) * per_block)
        actors.dispatch(weights, [list(range(first + a, end, actors.n_actors)) for a in range(actors.n_actors)])
        while learned_upto < r - 1:               # overlaps with the actors playing block r
            learned_upto += 1
            learn_round(learned_upto)
        t0 = time.perf_counter()
        episodes = sorted(actors.collect(), key=lambda e: e.index)
        waited = time.perf_counter() - t0
        if isinstance(actors, InProcessActors):
            waited -= sum(e.act_s + e.fit_s for e in episodes)
        timings["waiting"] += max(0.0, waited)
        for episode in episodes:
            timings["acting"] += episode.act_s
            timings["fitting"] += episode.fit_s
            timings["acting_cpu"] += episode.act_cpu
            timings["fitting_cpu"] += episode.fit_cpu
            scores.append(episode.score)
            if best is None or episode.score > best.score:
                best = episode
            curve.append(best.score)
        pending[r] = episodes
    timings["total"] = time.perf_counter() - start
    return SearchResult(curve, scores, best, timings, dict(learner.updates) if learner else {})

