"""The search loop: actors play episodes in index order; the learner learns block by block beside them.

Episodes are grouped in blocks of B = n_actors * sync_interval consecutive indices. Episode i (block
r = i // B) is played with the weights the learner had after learning from blocks <= r - 1 - policy_lag,
and it goes to whichever actor is idle first: there is no barrier between blocks, so an actor that
finished a short episode never waits for another's long one unless it runs policy_lag blocks ahead of
the learner. The learner learns a block, its episodes in index order, as soon as all of them are back,
while the actors go on playing. A longer block lets an actor reuse its cached logits across episodes.
Both settings are IMPALA's policy lag, which V-trace corrects.

Every episode's random numbers come from (seed, episode index) alone and its weights from its block, so a
search is a pure function of (data, parameters, seed, n_actors): bit-identical reruns in-process and with
actor processes, whichever actor plays which episode. That holds because an actor's logits do not depend
on what else was in the batch that computed them (oneDNN's kernels give each row the same result
whatever the batch; tests/test_autosmote_rl.py checks it), so its cache history does not matter.
"""
from __future__ import annotations

import itertools
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
    """Hand episodes to idle actors in index order, learn each block once all its episodes are back."""
    timings = {"acting": 0.0, "fitting": 0.0, "learning": 0.0, "waiting": 0.0,
               "acting_cpu": 0.0, "fitting_cpu": 0.0, "learning_cpu": 0.0}
    block = actors.n_actors * sync_interval
    n_blocks = math.ceil(budget / block)
    snapshots = {-1: learner.weights() if learner else {}}   # weights after learning blocks <= key
    returned: dict[int, list[Episode]] = {r: [] for r in range(n_blocks)}
    scores = [math.nan] * budget
    best: Episode | None = None
    idle = list(range(actors.n_actors))
    next_index, learned_upto, n_returned = 0, -1, 0
    timings["setup"] = time.perf_counter() - start

    def block_size(r: int) -> int:
        return min(budget, (r + 1) * block) - r * block

    def learn_block(r: int) -> None:
        t0, t0_cpu = time.perf_counter(), time.process_time()
        episodes = sorted(returned.pop(r), key=lambda e: e.index)
        if learner is not None:
            for episode in episodes:
                learner.add(episode.steps, episode.score)
            learner.learn()
        for episode in episodes:
            episode.steps = {}
        snapshots[r] = learner.weights() if learner else {}
        timings["learning"] += time.perf_counter() - t0
        timings["learning_cpu"] += time.process_time() - t0_cpu

    while n_returned < budget:
        while idle and next_index < budget:
            needed = max(next_index // block - 1 - policy_lag, -1)
            if needed > learned_upto:
                break
            actors.submit(idle.pop(0), snapshots[needed], next_index)
            for key in [key for key in snapshots if key < needed]:
                del snapshots[key]
            next_index += 1
        r = learned_upto + 1
        if r < n_blocks and len(returned[r]) == block_size(r):
            learn_block(r)          # the actors keep playing meanwhile
            learned_upto = r
            continue
        t0 = time.perf_counter()
        finished = actors.results()
        waited = time.perf_counter() - t0
        if isinstance(actors, InProcessActors):
            waited -= sum(e.act_s + e.fit_s for _, e in finished)
        timings["waiting"] += max(0.0, waited)
        for actor, episode in finished:
            idle.append(actor)
            n_returned += 1
            returned[episode.index // block].append(episode)
            timings["acting"] += episode.act_s
            timings["fitting"] += episode.fit_s
            timings["acting_cpu"] += episode.act_cpu
            timings["fitting_cpu"] += episode.fit_cpu
            scores[episode.index] = episode.score
            if best is None or (episode.score, -episode.index) > (best.score, -best.index):
                best = episode
    curve = list(itertools.accumulate(scores, max))
    timings["total"] = time.perf_counter() - start
    return SearchResult(curve, scores, best, timings, dict(learner.updates) if learner else {})
