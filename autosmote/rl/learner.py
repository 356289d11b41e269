"""The learner: one trajectory buffer per policy, cut into unrolls, V-trace updates in batches (paper Alg. 2).

Each policy's steps form one stream (episodes back to back, the reward on each sub-episode's final step).
When a stream holds `batch_size` unrolls of its length, they are popped and the policy takes one Adam step
on the IMPALA loss. The low-level policy is evaluated once per distinct state and, inside, once per
distinct (row, row bin, neighbour, neighbour bin) pair: consecutive steps of a segment share their state.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..space import N_USAGE_BINS
from .policies import LowLevelPolicy, StatePolicy, flat_parameters, padded_rows
from .vtrace import actor_critic_loss, vtrace

POLICY_ORDER = ("cross", "instance", "low")


@dataclass(frozen=True)
class LearnerConfig:
    unroll_lengths: tuple[int, int, int] = (2, 300, 300)   # cross-instance, instance-specific, low-level
    batch_size: int = 8
    learning_rate: float = 0.005
    entropy_cost: float = 0.0006
    baseline_cost: float = 0.5
    discount: float = 1.0
    grad_norm_clip: float = 40.0


class StepStream:
    """A policy's steps in arrival order; pops whole batches of consecutive unrolls."""

    def __init__(self):
        self.parts: list[dict[str, np.ndarray]] = []
        self.size = 0

    def push(self, steps: dict[str, np.ndarray]) -> None:
        self.parts.append(steps)
        self.size += len(steps["actions"])

    def pop(self, n: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
        """The first n steps, and the step after them (for bootstrapping) when there is one."""
        joined = {key: np.concatenate([p[key] for p in self.parts]) for key in self.parts[0]}
        batch = {key: value[:n] for key, value in joined.items()}
        rest = {key: value[n:] for key, value in joined.items()}
        self.size -= n
        self.parts = [rest] if self.size else []
        following = {key: value[:1] for key, value in rest.items()} if self.size else None
        return batch, following


class Learner:
    """Owns the learning copies of the policies (on `device`) and their optimisers."""

    def __init__(self, nets: dict[str, nn.Module], states: np.ndarray, neighbours: np.ndarray,
                 config: LearnerConfig, device: torch.device):
        self.config, self.device = config, device
        self.nets = {name: net.to(device) for name, net in nets.items()}
        self.optimizers = {name: torch.optim.Adam(net.parameters(), lr=config.learning_rate)
                           for name, net in self.nets.items()}
        self.streams = {name: StepStream() for name in self.nets}
        self.unroll = dict(zip(POLICY_ORDER, config.unroll_lengths))
        self.states = torch.from_numpy(states.reshape(-1, states.shape[-1])).to(device)   # (n * bins, dim)
        self.neighbours = neighbours
        self.versions = {name: 0 for name in self.nets}
        self._published: dict[str, tuple[int, np.ndarray]] = {}
        self.updates = {name: 0 for name in self.nets}

    def weights(self) -> dict[str, tuple[int, np.ndarray]]:
        """(version, flat parameters) per policy, for the actors; recomputed only after an update."""
        for name, net in self.nets.items():
            if self._published.get(name, (None,))[0] != self.versions[name]:
                self._published[name] = (self.versions[name], flat_parameters(net))
        return dict(self._published)

    def add(self, steps: dict[str, dict[str, np.ndarray]], reward: float) -> None:
        """Queue an episode's steps; every sub-episode's final step carries the episode's reward."""
        for name in POLICY_ORDER:
            if name in steps and name in self.streams:
                part = dict(steps[name])
                part["rewards"] = np.where(part["done"], reward, 0.0)
                self.streams[name].push(part)

    def learn(self) -> int:
        """Every update the buffers allow, policies in a fixed order; returns the number of updates."""
        done = 0
        for name in POLICY_ORDER:
            if name not in self.nets:
                continue
            n = self.unroll[name] * self.config.batch_size
            while self.streams[name].size >= n:
                batch, following = self.streams[name].pop(n)
                self._update(name, batch, following)
                done += 1
        return done

    # ----------------------------------------------------------------- one update
    def _update(self, name: str, batch: dict[str, np.ndarray], following: dict[str, np.ndarray] | None) -> None:
        cfg, n_unroll = self.config, self.unroll[name]
        steps = batch if following is None else {k: np.concatenate([batch[k], following[k]]) for k in batch}
        net = self.nets[name]
        if isinstance(net, LowLevelPolicy):
            logp, entropy, values = self._evaluate_low(net, steps)
        else:
            logp, entropy, values = self._evaluate_state_policy(net, steps)
        n = len(batch["actions"])
        bootstrap = values[n].detach() if following is not None else torch.zeros((), device=self.device)
        logp, entropy, values = logp[:n], entropy[:n], values[:n]

        def time_major(x: np.ndarray) -> np.ndarray:
            return x.reshape(cfg.batch_size, n_unroll).T

        value_np = values.detach().double().cpu().numpy()
        next_first = np.append(value_np[n_unroll::n_unroll], bootstrap.double().cpu().numpy())
        returns = vtrace(behaviour_logp=time_major(batch["logmu"]),
                         target_logp=time_major(logp.detach().double().cpu().numpy()),
                         rewards=time_major(batch["rewards"]),
                         discounts=time_major(cfg.discount * (~batch["done"]).astype(float)),
                         values=time_major(value_np), bootstrap_value=next_first)
        loss = actor_critic_loss(logp.view(cfg.batch_size, n_unroll).T, entropy.view(cfg.batch_size, n_unroll).T,
                                 values.view(cfg.batch_size, n_unroll).T, returns, cfg.baseline_cost,
                                 cfg.entropy_cost)
        optimizer = self.optimizers[name]
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_norm_clip)
        optimizer.step()
        self.versions[name] += 1
        self.updates[name] += 1

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.int64)).to(self.device)

    def _evaluate_state_policy(self, net: StatePolicy, steps: dict[str, np.ndarray]):
        index = steps["rows"].astype(np.int64) * N_USAGE_BINS + steps["bins"]
        logits, values = net(self.states[self._tensor(index)])
        logp_all = torch.log_softmax(logits, dim=-1)
        logp = logp_all.gather(1, self._tensor(steps["actions"])[:, None]).squeeze(1)
        entropy = -(logp_all.exp() * logp_all).sum(-1)
        return logp, entropy, values

    def _evaluate_low(self, net: LowLevelPolicy, steps: dict[str, np.ndarray]):
        """Target log-probs, entropies and values of low-level steps, each distinct input computed once."""
        rows = steps["rows"].astype(np.int64)
        keyed = np.column_stack([rows, steps["bins"], steps["partner_bins"]])
        new_state = np.ones(len(rows), bool)
        new_state[1:] = (keyed[1:] != keyed[:-1]).any(axis=1)
        state_id = np.cumsum(new_state) - 1
        first = np.flatnonzero(new_state)
        s_rows, s_bins, s_partner_bins = rows[first], steps["bins"][first].astype(np.int64), \
            steps["partner_bins"][first].astype(np.int64)
        n_codes = len(self.neighbours) * N_USAGE_BINS
        own = s_rows * N_USAGE_BINS + s_bins                                  # (U,)
        partner = self.neighbours[s_rows] * N_USAGE_BINS + s_partner_bins    # (U, K)
        pair_keys, pair_of = np.unique((own[:, None] * n_codes + partner).ravel(), return_inverse=True)
        own_codes, own_of = np.unique(pair_keys // n_codes, return_inverse=True)
        partner_codes, partner_of = np.unique(pair_keys % n_codes, return_inverse=True)
        state_h = net.state_part(self.states[self._tensor(own_codes)])
        partner_h = net.neighbour_part(self.states[self._tensor(partner_codes)])
        padded = padded_rows(len(pair_keys))     # a few matrix shapes, so oneDNN reuses its kernels
        own_of, partner_of = np.resize(own_of, padded), np.resize(partner_of, padded)
        pair = net.pair_logits(state_h[self._tensor(own_of)], partner_h[self._tensor(partner_of)])
        logits = pair[self._tensor(pair_of)].reshape(len(first), -1)          # (U, K * n_weights)
        values, stop = net.value_and_stop(self.states[self._tensor(own)])
        if stop is not None:
            logits = torch.cat([logits, stop[:, None]], dim=1)
        logp_all = torch.log_softmax(logits, dim=-1)
        entropy_all = -(logp_all.exp() * logp_all).sum(-1)
        ids = self._tensor(state_id)
        logp = logp_all[ids, self._tensor(steps["actions"])]
        return logp, entropy_all[ids], values[ids]
