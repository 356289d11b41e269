"""Decision policies, straight-through Gumbel-Softmax and the joint generator + classifier (spec §2.2, §3, §4).

The policies return decision logits; `JointModel.synthesize` turns them into one-hot (or relaxed) decisions with
Gumbel noise that was drawn beforehand (`Draws`), so that a mini-batch can re-evaluate its synthetic rows with the
current parameters while the randomness stays fixed for the epoch (spec §8, implementation note).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .aggregation import AGGREGATIONS, MAX_K, candidates

HEADS = {"participation": 2, "k": MAX_K, "aggregation": len(AGGREGATIONS)}
PARTICIPATION_READINGS = ("mix", "loss_weight")   # O3


def gumbel_noise(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Standard Gumbel(0, 1) samples from an explicit generator (no global RNG state)."""
    uniform = torch.rand(shape, generator=generator, device=device)
    tiny = torch.finfo(uniform.dtype).tiny
    return -torch.log(-torch.log(uniform.clamp(tiny, 1.0 - 1e-7)))


def straight_through(logits: torch.Tensor, noise: torch.Tensor, temperature: float, hard: bool) -> torch.Tensor:
    """Gumbel-Softmax sample; with `hard`, one-hot forward and the relaxed sample's gradient backward (O7)."""
    soft = torch.softmax((logits + noise) / temperature, dim=-1)
    if not hard:
        return soft
    one_hot = nn.functional.one_hot(soft.argmax(dim=-1), soft.shape[-1]).to(soft.dtype)
    return one_hot - soft.detach() + soft


def mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    """One hidden ReLU layer: the classifier of the authors' harness and our decision heads (O8)."""
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


class Standardize(nn.Module):
    """x -> (x - mean) / std with the training rows' statistics, fixed (buffers, not learned): an affine change
    of the classifier's inputs, so the model class is the same MLP. Min-max scaled inputs are all
    non-negative and alike (annthyroid: 15 binary columns), where one Adam step at lr 0.05 can switch a
    hidden unit off for every row; centred inputs keep units alive."""

    def __init__(self, rows: torch.Tensor):
        super().__init__()
        std = rows.std(dim=0, unbiased=False)
        self.register_buffer("mean", rows.mean(dim=0))
        self.register_buffer("std", torch.where(std > 0, std, torch.ones_like(std)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


CLASSIFIER_INPUTS = ("standardized", "minmax")


def classifier_mlp(rows: torch.Tensor, hidden: int, n_classes: int, inputs: str) -> nn.Sequential:
    """The classifier MLP on min-max scaled rows: standardised first ("standardized", the default), or on the
    min-max values as they are ("minmax", the first implementation, which can die on all-positive inputs)."""
    net = mlp(rows.shape[1], hidden, n_classes)
    return nn.Sequential(Standardize(rows), *net) if inputs == "standardized" else net


def alive_units(classifier: nn.Sequential, rows: torch.Tensor) -> int:
    """Hidden units of the classifier that are on (ReLU > 0) for at least one of `rows`."""
    with torch.no_grad():
        hidden = classifier[:-1](rows)
    return int((hidden > 0).any(dim=0).sum())


class SelfPolicy(nn.Module):
    """AutoSMOTE-self: three MLPs map each anchor to its own decision logits; one global WAVG weight vector (O6)."""

    def __init__(self, n_features: int, hidden: int):
        super().__init__()
        self.heads = nn.ModuleDict({name: mlp(n_features, hidden, size) for name, size in HEADS.items()})
        self.rank_logits = nn.Parameter(torch.zeros(MAX_K + 1))
        self.noise_sizes = dict(HEADS)

    def forward(self, anchors, noise, temperature, hard):
        logits = {name: head(anchors) for name, head in self.heads.items()}
        return logits, self.rank_logits.expand(len(anchors), -1), None

    def participation_probability(self, anchors: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.heads["participation"](anchors), dim=-1)[:, 1]


class CohortPolicy(nn.Module):
    """AutoSMOTE-cohort: an MLP + Gumbel-Softmax assigns each anchor to one of G cohorts (O11); every cohort owns
    one table row of decision logits and WAVG weights, so all its members share one decision distribution.

    The decisions themselves are still drawn per row from the shared logits (O12, the spec's default).
    Tables start near zero, N(0, 0.1^2): decisions close to uniform, yet distinct per cohort, so that the grouping
    MLP gets a gradient from the first step (with all-zero tables the cohorts would be interchangeable).
    """

    def __init__(self, n_features: int, hidden: int, n_cohorts: int):
        super().__init__()
        self.grouping = mlp(n_features, hidden, n_cohorts)
        self.tables = nn.ParameterDict({name: nn.Parameter(0.1 * torch.randn(n_cohorts, size))
                                        for name, size in HEADS.items()})
        self.rank_logits = nn.Parameter(0.1 * torch.randn(n_cohorts, MAX_K + 1))
        self.noise_sizes = {**HEADS, "cohort": n_cohorts}

    def forward(self, anchors, noise, temperature, hard):
        cohort = straight_through(self.grouping(anchors), noise["cohort"], temperature, hard)
        logits = {name: cohort @ table for name, table in self.tables.items()}
        return logits, cohort @ self.rank_logits, cohort

    def participation_probability(self, anchors: torch.Tensor) -> torch.Tensor:
        """Marginal over the (random) cohort assignment."""
        cohort = torch.softmax(self.grouping(anchors), dim=-1)
        return cohort @ torch.softmax(self.tables["participation"], dim=-1)[:, 1]


@dataclass
class Draws:
    """The randomness behind a set of synthetic rows: anchor rows, Gumbel noise per decision, SMOTE's gap and
    neighbour pick. Fixed for an epoch; a mini-batch takes a subset."""
    anchors: torch.Tensor
    noise: dict[str, torch.Tensor]
    lam: torch.Tensor
    pick: torch.Tensor

    def subset(self, index: torch.Tensor) -> "Draws":
        return Draws(self.anchors[index], {k: v[index] for k, v in self.noise.items()}, self.lam[index],
                     self.pick[index])


class JointModel(nn.Module):
    """The oversampling policy and the classifier MLP, trained together by one optimiser (spec §3).

    `points` (n, 1 + MAX_K, d) holds every training row followed by its ranked same-class neighbours;
    `n_neighbours` (n,) how many of them are real (O2: larger k are masked out).
    """

    def __init__(self, policy: nn.Module, classifier: nn.Module, points: torch.Tensor, n_neighbours: torch.Tensor,
                 *, temperature: float, hard: bool, sum_reading: str, participation: str):
        super().__init__()
        self.policy, self.classifier = policy, classifier
        self.register_buffer("points", points)
        self.register_buffer("n_neighbours", n_neighbours)
        self.temperature, self.hard = temperature, hard
        self.sum_reading, self.participation = sum_reading, participation

    def draw(self, anchors: torch.Tensor, generator: torch.Generator) -> Draws:
        device = self.points.device
        noise = {name: gumbel_noise((len(anchors), size), generator, device)
                 for name, size in self.policy.noise_sizes.items()}
        lam = torch.rand(len(anchors), generator=generator, device=device)
        pick = torch.rand(len(anchors), generator=generator, device=device)
        return Draws(anchors, noise, lam, pick)

    def synthesize(self, draws: Draws):
        """Synthetic rows (scaled space), their loss weights (None under "mix") and the decisions taken.

        z = sum_k sum_a g_k g_a A[k, a] (spec §2.2). Under "mix" (O3 default) a row is g_yes * z + g_no * x_i,
        a copy of its anchor when the anchor does not participate; under "loss_weight" the row is z and g_yes
        weights its loss. An anchor without same-class neighbours always yields a copy of itself.
        """
        points = self.points[draws.anchors]
        anchor = points[:, 0]
        logits, rank_logits, cohort = self.policy(anchor, draws.noise, self.temperature, self.hard)
        n_real = self.n_neighbours[draws.anchors]
        feasible = torch.arange(MAX_K, device=anchor.device)[None, :] < n_real.clamp(min=1)[:, None]
        logits["k"] = logits["k"].masked_fill(~feasible, float("-inf"))
        decisions = {name: straight_through(value, draws.noise[name], self.temperature, self.hard)
                     for name, value in logits.items()}
        pool = candidates(points, draws.lam, draws.pick, rank_logits, self.sum_reading)
        z = torch.einsum("bk,ba,bkad->bd", decisions["k"], decisions["aggregation"], pool)
        z = torch.where((n_real > 0)[:, None], z, anchor)
        if cohort is not None:
            decisions["cohort"] = cohort
        joins = decisions["participation"][:, 1]
        if self.participation == "mix":
            return joins[:, None] * z + decisions["participation"][:, :1] * anchor, None, decisions
        return z, joins, decisions
