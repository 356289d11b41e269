"""MESA's learner: Soft Actor-Critic for the one-dimensional action (Haarnoja et al. 2018), with its replay
buffer. Nothing here knows of ensembles: states are vectors, actions lie in [-1, 1]."""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class ReplayBuffer:
    """A fixed-capacity ring of (state, action, reward, next state, done) transitions, sampled uniformly."""

    def __init__(self, capacity: int, n_state: int):
        self.states = np.zeros((capacity, n_state), dtype=np.float32)
        self.next_states = np.zeros_like(self.states)
        self.actions = np.zeros((capacity, 1), dtype=np.float32)
        self.rewards = np.zeros((capacity, 1), dtype=np.float32)
        self.dones = np.zeros((capacity, 1), dtype=np.float32)
        self.size = 0
        self._next = 0

    def __len__(self) -> int:
        return self.size

    def add(self, state, action: float, reward: float, next_state, done: bool) -> None:
        i = self._next
        self.states[i], self.actions[i], self.rewards[i] = state, action, reward
        self.next_states[i], self.dones[i] = next_state, done
        self._next = (i + 1) % len(self.states)
        self.size = min(self.size + 1, len(self.states))

    def sample(self, batch_size: int, rng: np.random.RandomState) -> tuple[np.ndarray, ...]:
        rows = rng.randint(0, self.size, size=batch_size)
        return self.states[rows], self.actions[rows], self.rewards[rows], self.next_states[rows], self.dones[rows]


def _mlp(n_in: int, n_out: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_out))


class SquashedGaussianPolicy(nn.Module):
    """pi(a | s): a = tanh(u) with u ~ N(m(s), s(s)^2), so that every action lies in [-1, 1]."""

    LOG_STD_RANGE = (-20.0, 2.0)   # the usual clamp of SAC implementations, for numerical safety

    def __init__(self, n_state: int, hidden: int):
        super().__init__()
        self.body = _mlp(n_state, 2, hidden)

    def forward(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.body(states).chunk(2, dim=-1)
        return mean, log_std.clamp(*self.LOG_STD_RANGE)

    def sample(self, states: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised action and its log-density, corrected for the tanh change of variables."""
        mean, log_std = self(states)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        pre_tanh = mean + log_std.exp() * noise
        gaussian_log_prob = -0.5 * noise.pow(2) - log_std - 0.5 * np.log(2.0 * np.pi)
        # log(1 - tanh(u)^2) written stably as 2 (log 2 - u - softplus(-2u)).
        log_det = 2.0 * (np.log(2.0) - pre_tanh - F.softplus(-2.0 * pre_tanh))
        return torch.tanh(pre_tanh), gaussian_log_prob - log_det


class SoftActorCritic:
    """SAC with twin Q networks, soft-updated target networks and a fixed or learned temperature."""

    def __init__(self, n_state: int, hidden_size: int, learning_rate: float, gamma: float, tau: float,
                 alpha: float | str, device: str | torch.device, seed: int):
        self.device = torch.device(device)
        with torch.random.fork_rng(devices=[]):   # seeded initial weights without touching global state
            torch.manual_seed(seed)
            self.policy = SquashedGaussianPolicy(n_state, hidden_size).to(self.device)
            self.q_nets = nn.ModuleList([_mlp(n_state + 1, 1, hidden_size) for _ in range(2)]).to(self.device)
        self.q_targets = copy.deepcopy(self.q_nets).requires_grad_(False)
        self.learns_alpha = alpha == "auto"
        start = 0.0 if self.learns_alpha else float(np.log(alpha))
        self.log_alpha = torch.tensor([start], device=self.device, requires_grad=self.learns_alpha)
        self.target_entropy = -1.0   # -dim(action), the SAC authors' choice
        self.gamma, self.tau = gamma, tau
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.policy_optimizer = torch.optim.Adam(self.policy.parameters(), lr=learning_rate)
        self.q_optimizer = torch.optim.Adam(self.q_nets.parameters(), lr=learning_rate)
        self.alpha_optimizer = torch.optim.Adam([self.log_alpha], lr=learning_rate) if self.learns_alpha else None

    def act(self, state: np.ndarray, deterministic: bool) -> float:
        """An action in [-1, 1]: the squashed mean, or a draw from the policy while exploring."""
        with torch.no_grad():
            states = torch.as_tensor(state, dtype=torch.float32, device=self.device).unsqueeze(0)
            action = torch.tanh(self.policy(states)[0]) if deterministic \
                else self.policy.sample(states, self.generator)[0]
        return float(action.item())

    def update(self, batch: tuple[np.ndarray, ...]) -> None:
        """One gradient step on the critics, the policy and (if learned) the temperature; then the targets."""
        states, actions, rewards, next_states, dones = (torch.as_tensor(a, device=self.device) for a in batch)
        alpha = self.log_alpha.detach().exp()
        with torch.no_grad():
            next_actions, next_log_prob = self.policy.sample(next_states, self.generator)
            next_value = self._min_q(self.q_targets, next_states, next_actions) - alpha * next_log_prob
            target = rewards + self.gamma * (1.0 - dones) * next_value
        inputs = torch.cat([states, actions], dim=-1)
        q_loss = sum(F.mse_loss(q(inputs), target) for q in self.q_nets)
        self._step(self.q_optimizer, q_loss)

        new_actions, log_prob = self.policy.sample(states, self.generator)
        policy_loss = (alpha * log_prob - self._min_q(self.q_nets, states, new_actions)).mean()
        self._step(self.policy_optimizer, policy_loss)
        if self.learns_alpha:
            alpha_loss = -(self.log_alpha * (log_prob.detach() + self.target_entropy)).mean()
            self._step(self.alpha_optimizer, alpha_loss)
        with torch.no_grad():
            for target_param, param in zip(self.q_targets.parameters(), self.q_nets.parameters()):
                target_param.lerp_(param, self.tau)

    @staticmethod
    def _min_q(nets: nn.ModuleList, states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        inputs = torch.cat([states, actions], dim=-1)
        return torch.min(nets[0](inputs), nets[1](inputs))

    @staticmethod
    def _step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
