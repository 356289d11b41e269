"""The three actor-critic networks of AutoSMOTE (paper 3.3), 128-128 MLPs.

The low-level net scores each (neighbour, weight) pair from the concatenation [state, neighbour's state,
one-hot weight]; its first layer is one Linear over that concatenation, applied here in three parts
(state, neighbour, weight) because a sum of the parts equals the layer on the concatenation and each part
can be computed once per distinct input and reused across all pairs that share it.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

HIDDEN = 128


def _mlp(n_in: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())


class StatePolicy(nn.Module):
    """Cross-instance or instance-specific sub-policy: state -> 128 -> 128 -> (action logits, value)."""

    def __init__(self, state_dim: int, n_actions: int, hidden: int = HIDDEN):
        super().__init__()
        self.trunk = _mlp(state_dim, hidden)
        self.policy_head = nn.Linear(hidden, n_actions)
        self.value_head = nn.Linear(hidden, 1)

    def forward(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(states)
        return self.policy_head(h), self.value_head(h).squeeze(-1)


class LowLevelPolicy(nn.Module):
    """Low-level policy: a logit per (neighbour, weight) pair, softmax over all pairs; separate value MLP.

    With `stop_action` (the flat-policy ablation) it also gives a "move to the next row" logit, read from
    the value trunk, so that one policy decides both how many samples a row gets and where they go.
    """

    def __init__(self, state_dim: int, n_weights: int, hidden: int = HIDDEN, stop_action: bool = False):
        super().__init__()
        self.state_dim, self.n_weights = state_dim, n_weights
        self.first = nn.Linear(2 * state_dim + n_weights, hidden)   # on [state, neighbour state, weight]
        self.second = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 1)
        self.value_trunk = _mlp(state_dim, hidden)
        self.value_head = nn.Linear(hidden, 1)
        self.stop_head = nn.Linear(hidden, 1) if stop_action else None

    def state_part(self, states: torch.Tensor) -> torch.Tensor:
        """First-layer contribution of the current row's state (with the layer's bias)."""
        return states @ self.first.weight[:, :self.state_dim].T + self.first.bias

    def neighbour_part(self, states: torch.Tensor) -> torch.Tensor:
        """First-layer contribution of a neighbour's state."""
        return states @ self.first.weight[:, self.state_dim:2 * self.state_dim].T

    def weight_part(self) -> torch.Tensor:
        """(n_weights, hidden): first-layer contribution of each one-hot weight."""
        return self.first.weight[:, 2 * self.state_dim:].T

    def pair_logits(self, state_h: torch.Tensor, neighbour_h: torch.Tensor) -> torch.Tensor:
        """(P, n_weights) logits for P (state, neighbour) combinations, from their first-layer parts."""
        # contiguous: a transposed view would make the broadcast sum's strides permuted, and its reshape a copy
        # of the whole (pairs x weights, hidden) block at every update
        return _PairLogits.apply(state_h + neighbour_h, self.weight_part().contiguous(), self.second.weight,
                                 self.second.bias, self.out.weight[0], self.out.bias[0])

    def value_and_stop(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.value_trunk(states)
        stop = self.stop_head(h).squeeze(-1) if self.stop_head is not None else None
        return self.value_head(h).squeeze(-1), stop


class _PairLogits(torch.autograd.Function):
    """relu(pair + weight part) -> relu(Linear) -> Linear, with a hand-written backward.

    Autograd's version of these few lines allocates a fresh (pairs * n_weights, hidden) tensor for every
    elementwise step forwards and backwards; at the learner's sizes (about 20k rows) that memory traffic
    cost more than the matrix products. Here the activations are made in place and the backward reuses
    its buffers (tests/test_autosmote_rl.py checks the gradients against autograd's)."""

    @staticmethod
    def forward(ctx, pair_h, weight_h, second_w, second_b, out_w, out_b):
        n_pairs, hidden = pair_h.shape
        first = (pair_h[:, None, :] + weight_h[None]).reshape(-1, hidden).relu_()
        second = torch.addmm(second_b, first, second_w.T).relu_()
        ctx.save_for_backward(first, second, second_w, out_w)
        ctx.n_pairs = n_pairs
        return torch.addmv(out_b, second, out_w).view(n_pairs, -1)

    @staticmethod
    def backward(ctx, grad_logits):
        first, second, second_w, out_w = ctx.saved_tensors
        g = grad_logits.reshape(-1)
        grad_second = torch.outer(g, out_w)
        torch.ops.aten.threshold_backward.grad_input(grad_second, second, 0.0, grad_input=grad_second)
        grad_first = grad_second @ second_w
        torch.ops.aten.threshold_backward.grad_input(grad_first, first, 0.0, grad_input=grad_first)
        grad_first = grad_first.view(ctx.n_pairs, -1, first.shape[1])
        return (grad_first.sum(1), grad_first.sum(0), grad_second.T @ first, grad_second.sum(0),
                second.T @ g, g.sum())


def build_policies(state_dim: int, g1_actions: int, g2_actions: int, n_weights: int, *, seed: int,
                   cross: bool, instance: bool, low: bool, flat: bool) -> dict[str, nn.Module]:
    """The learned policies of a configuration, initialised from `seed` without touching torch's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        nets: dict[str, nn.Module] = {}
        if cross:
            nets["cross"] = StatePolicy(state_dim, g1_actions)
        if instance:
            nets["instance"] = StatePolicy(state_dim, g2_actions)
        if low or flat:
            nets["low"] = LowLevelPolicy(state_dim, n_weights, stop_action=flat)
    return nets


def padded_rows(n: int) -> int:
    """n rounded up to one of a few sizes (powers of two up to 512, then multiples of 256). oneDNN builds a
    kernel per matrix shape, which costs more than the product itself at these sizes, so the low-level
    net's batches are padded to these sizes and the padding rows' outputs dropped."""
    return 1 << max(5, (n - 1).bit_length()) if n <= 512 else -(-n // 256) * 256


def flat_parameters(net: nn.Module) -> np.ndarray:
    """All parameters as one float32 vector (what an actor receives)."""
    with torch.no_grad():
        return torch.cat([p.detach().reshape(-1).float().cpu() for p in net.parameters()]).numpy()


def load_flat_parameters(net: nn.Module, flat: np.ndarray) -> None:
    with torch.no_grad():
        offset = 0
        for p in net.parameters():
            size = p.numel()
            p.copy_(torch.from_numpy(np.asarray(flat[offset:offset + size])).view_as(p))
            offset += size
    if offset != len(flat):
        raise ValueError(f"parameter vector has {len(flat)} values, the net needs {offset}")
