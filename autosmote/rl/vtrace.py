"""V-trace targets (Espeholt et al., IMPALA 2018, eq. 1) and the actor-critic loss of AutoSMOTE (eq. 2).

The targets are computed without gradients, in float64 numpy: a 300-step backward recursion is a few
hundred scalar-vector steps, cheaper on the host than as tiny device kernels.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch


class VTraceReturns(NamedTuple):
    vs: np.ndarray              # (T, B) value targets
    pg_advantages: np.ndarray   # (T, B) rho_t * (r_t + gamma_t * v_{t+1} - V(s_t))


def vtrace(behaviour_logp: np.ndarray, target_logp: np.ndarray, rewards: np.ndarray, discounts: np.ndarray,
           values: np.ndarray, bootstrap_value: np.ndarray, rho_bar: float = 1.0, c_bar: float = 1.0,
           pg_rho_bar: float = 1.0) -> VTraceReturns:
    """V-trace for time-major (T, B) unrolls; discounts are 0 after a terminal step.

    v_s = V(s) + sum_t gamma^(t-s) (prod_{i<t} c_i) delta_t,  delta_t = rho_t (r_t + gamma V(s_{t+1}) - V(s_t)),
    with truncated importance weights rho_t = min(rho_bar, pi/mu), c_i = min(c_bar, pi/mu).
    """
    rhos = np.exp(np.asarray(target_logp, float) - np.asarray(behaviour_logp, float))
    clipped_rhos = np.minimum(rho_bar, rhos)
    cs = np.minimum(c_bar, rhos)
    values = np.asarray(values, float)
    bootstrap_value = np.asarray(bootstrap_value, float)
    next_values = np.concatenate([values[1:], bootstrap_value[None]], axis=0)
    deltas = clipped_rhos * (rewards + discounts * next_values - values)
    corrections = np.empty_like(values)
    acc = np.zeros_like(bootstrap_value)
    for t in range(len(values) - 1, -1, -1):
        acc = deltas[t] + discounts[t] * cs[t] * acc
        corrections[t] = acc
    vs = values + corrections
    next_vs = np.concatenate([vs[1:], bootstrap_value[None]], axis=0)
    pg_advantages = np.minimum(pg_rho_bar, rhos) * (rewards + discounts * next_vs - values)
    return VTraceReturns(vs, pg_advantages)


def actor_critic_loss(target_logp: torch.Tensor, entropy: torch.Tensor, values: torch.Tensor,
                      returns: VTraceReturns, baseline_cost: float, entropy_cost: float) -> torch.Tensor:
    """Policy gradient with V-trace advantages + baseline_cost * half squared error - entropy_cost * entropy.

    Summed over all steps of the batch (IMPALA's convention).
    """
    vs = torch.as_tensor(returns.vs, dtype=values.dtype, device=values.device)
    advantages = torch.as_tensor(returns.pg_advantages, dtype=values.dtype, device=values.device)
    pg_loss = -(target_logp * advantages).sum()
    baseline_loss = baseline_cost * 0.5 * ((vs - values) ** 2).sum()
    entropy_loss = -entropy_cost * entropy.sum()
    return pg_loss + baseline_loss + entropy_loss
