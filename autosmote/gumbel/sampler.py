"""AutoSMOTE-self and AutoSMOTE-cohort (Kishanthan & Hevapathige, arXiv 2502.06878) as imbalanced-learn samplers.

The spec (shared/specs/autosmote-gumbel.md) reconstructs the method from summaries; its open points O1..O21 and
their defaults are cited where a choice is made. One object serves both uses of the method:
`fit_resample` trains the decision policy jointly with the MLP classifier and returns the data plus synthetic rows
drawn from the learned decisions (for any classifier); `fit` does the same training without drawing; after either,
`predict` / `predict_proba` are the paper's end-to-end MLP. One class rather than a sampler plus a classifier because
the two are one training run: the decisions are only meaningful relative to the MLP they were learned against.
"""
from __future__ import annotations

import numbers
from contextlib import contextmanager

import numpy as np
import torch
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_sampling_strategy
from scipy import sparse
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .aggregation import AGGREGATIONS, MAX_K, SUM_READINGS, same_class_neighbours
from .model import (CLASSIFIER_INPUTS, PARTICIPATION_READINGS, CohortPolicy, JointModel, SelfPolicy, alive_units,
                    classifier_mlp)
from .._torch import resolve_device

_COMMON_DOC = """
    Every choice the paper leaves open follows the spec's default (shared/specs/autosmote-gumbel.md, §7):

    - Scaling: features are min-max scaled internally (scaler fit on the training rows; synthetic rows are
      inverse-transformed back), because the paper works on [0, 1] data and MIN / MAX / SUM mean what they say
      only there (§1). Test rows given to `predict` go through the same scaler.
    - Options (O1): k in 1..6 same-class neighbours (Euclidean in the scaled space, self excluded, 6-NN computed
      once; a class with n_c <= k members masks k > n_c - 1, O2; a single-member class is copied); aggregations
      linear (SMOTE interpolation toward one of the k nearest, lambda ~ U(0, 1), O5), min, max, sum (O4),
      average and weighted average (learnable softmax weights over rank positions, O6).
    - How many rows (O9): `sampling_strategy` as in imbalanced-learn; the default 'auto' balances every class
      but the largest up to its size. The same per-class budget is generated during training, regenerated with
      fresh noise every epoch (O10), and drawn once more after training for the returned rows.
    - Networks (O8, §3): decision MLPs and the classifier have one hidden ReLU layer of `hidden_size` units;
      decision inputs are the anchor's scaled features.
    - Loss (O13): mean cross-entropy over real and synthetic rows with equal weight, no class weights.
    - Optimiser (O14): one Adam over all parameters, lr `learning_rate`, no weight decay, no scheduler, no
      early stopping; shuffled mini-batches of `batch_size` rows (real and synthetic together).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        As in imbalanced-learn; a float (binary only) is the desired N_minority / N_majority after resampling.
{extra_parameters}    epochs : int, default=200
        Training epochs (the paper's 200, O14).
    learning_rate : float, default=0.05
        Adam's learning rate (the paper's 0.05, O14).
    batch_size : int, default=2500
        Rows per step. The authors used 500 (all of their small datasets in one batch) and 2500 or 5000 for
        larger ones (spec §3); 2500 keeps small data full-batch and is their value for annthyroid and bank.
    temperature : float, default=1.0
        Gumbel-Softmax temperature, fixed (O7; the paper only says tau > 0).
    hard : bool, default=True
        Straight-through: one-hot decisions forward, relaxed gradient backward (O7). False keeps relaxed
        (mixed) decisions forward too.
    participation : {'mix', 'loss_weight'}, default='mix'
        How the participation decision acts (O3). 'mix': a participating anchor contributes its synthetic row,
        a non-participating one a copy of itself (random oversampling). 'loss_weight': the decision weights the
        synthetic row's loss, with the penalty `participation_penalty * (mean rate - participation_target)^2`
        that keeps it from collapsing to "never"; the returned rows then come from anchors drawn in proportion
        to their learned participation probability.
    participation_target : float, default=0.5
        Target participation rate for 'loss_weight' (O3).
    participation_penalty : float, default=1.0
        Weight of the participation penalty for 'loss_weight' (O3).
    sum_reading : {'offsets', 'literal'}, default='offsets'
        SUM aggregation (O4). 'offsets': x + sum_j (x_j - x) / k, clipped to [0, 1]. 'literal': the sum of
        anchor and k neighbours, which leaves the data range (up to k + 1 times the scaled values); the policy
        learned to pick it for rows the classifier finds easy, and on the Gumbel protocol's eight datasets x
        seeds 1-10 'offsets' scored a little higher in Macro-F1 for both variants (+0.006 / +0.010, Wilcoxon p 0.15 /
        0.11; results/gumbel), so it is the default.
    classifier_inputs : {'standardized', 'minmax'}, default='standardized'
        What the classifier MLP sees: the min-max scaled rows standardised with the training rows' mean and
        standard deviation (a fixed affine layer, so the model class is unchanged), or the min-max values as
        they are. On all-positive, alike inputs (annthyroid's binary columns) one Adam step at the paper's lr
        0.05 switched every hidden unit off in some runs ('minmax'); standardised inputs did not.
    hidden_size : int, default=64
        Hidden units of every MLP (O8; the authors' classifier uses 64).
    device : str or None, default=None
        Torch device; None picks 'cuda' when torch sees a GPU, else 'cpu'.
    n_threads : int or None, default=1
        CPU threads torch may use while training (restored afterwards); None keeps torch's setting. The networks
        are tiny, so more threads mostly add contention (on a busy 2-core machine, 2 threads ran a 20-epoch fit
        9-45x slower than 1), and a benchmark runs one process per core anyway.
    random_state : int, RandomState instance or None, default=None
        Seeds parameter initialisation, noise, neighbour picks and shuffling. Results repeat exactly on CPU
        for an int seed (deterministic torch algorithms are switched on during training).

    Attributes
    ----------
    sampling_strategy_ : dict
        Rows to generate per class.
    classes_ : ndarray
        Class labels, as seen by `fit` / `fit_resample`.
    model_ : JointModel
        The trained decision policy and classifier (torch module).
    scaler_ : MinMaxScaler
        The internal scaler.
    loss_curve_ : list of float
        Mean training loss per epoch.
    decision_counts_ : dict
        How often each decision was taken for the last synthetic rows made: the returned rows after
        `fit_resample`, the last epoch's rows after `fit`.
    alive_units_ : int
        Hidden units of the trained classifier that are on for at least one training row.
    dead_network_ : bool
        No hidden unit is on for any training row: the classifier outputs one constant (a dead network).

    Notes
    -----
    The policy is trained to lower the classifier's loss, so it is rewarded for synthetic rows the classifier
    finds easy. In our runs (200 epochs) nearly all decisions converged to "participate, k = 6, SUM" under the
    literal reading on glass and on mozilla4 at IR 20 (rows far outside the data range), and to "participate,
    k = 6, MIN" under 'offsets' on mozilla4. Check `decision_counts_` before reading much into the rows.
"""


@contextmanager
def _torch_settings(n_threads: int | None):
    """Deterministic kernels and the thread count while training, restoring the caller's settings afterwards."""
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    threads = torch.get_num_threads()
    torch.use_deterministic_algorithms(True, warn_only=True)
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
        torch.set_num_threads(threads)


class _GumbelAutoSMOTE(BaseOverSampler):
    """Shared training, drawing and prediction; subclasses only build their decision policy."""

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "hard": ["boolean"],
        "participation": [StrOptions(set(PARTICIPATION_READINGS))],
        "participation_target": [Interval(numbers.Real, 0, 1, closed="both")],
        "participation_penalty": [Interval(numbers.Real, 0, None, closed="left")],
        "sum_reading": [StrOptions(set(SUM_READINGS))],
        "classifier_inputs": [StrOptions(set(CLASSIFIER_INPUTS))],
        "hidden_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [str, None],
        "n_threads": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(self, *, sampling_strategy="auto", epochs=200, learning_rate=0.05, batch_size=2500,
                 temperature=1.0, hard=True, participation="mix", participation_target=0.5,
                 participation_penalty=1.0, sum_reading="offsets", classifier_inputs="standardized", hidden_size=64,
                 device=None, n_threads=1, random_state=None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.temperature = temperature
        self.hard = hard
        self.participation = participation
        self.participation_target = participation_target
        self.participation_penalty = participation_penalty
        self.sum_reading = sum_reading
        self.classifier_inputs = classifier_inputs
        self.hidden_size = hidden_size
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    def _make_policy(self, n_features: int) -> torch.nn.Module:
        raise NotImplementedError

    # -- the scikit-learn / imbalanced-learn surface ------------------------------------------------------------

    def fit(self, X, y):
        """Train the decision policy and the classifier MLP jointly; no rows are returned."""
        self._validate_params()
        check_classification_targets(y)
        X, y, _ = self._check_X_y(X, y)
        self.sampling_strategy_ = check_sampling_strategy(self.sampling_strategy, y, self._sampling_type)
        self._train(_dense(X), y)
        return self

    def _fit_resample(self, X, y):
        generator = self._train(_dense(X), y)
        X_new, y_new = self._draw(_dense(X), y, generator)
        X_res = sparse.vstack([X, sparse.csr_matrix(X_new)], format=X.format) if sparse.issparse(X) \
            else np.vstack([X, X_new])
        return X_res, np.concatenate([y, y_new])

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of the end-to-end classifier MLP, columns in `classes_` order."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X=X, reset=False, accept_sparse=["csr", "csc"])
        scaled = torch.as_tensor(self.scaler_.transform(_dense(X)), dtype=torch.float32, device=self._device_)
        with torch.no_grad():
            return torch.softmax(self.model_.classifier(scaled), dim=-1).double().cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """Labels from the end-to-end classifier MLP (argmax of its logits)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # -- training ---------------------------------------------------------------------------------------------

    def _train(self, X: np.ndarray, y: np.ndarray) -> torch.Generator:
        """Fit scaler, neighbour pool and the joint model; return the generator for the final draw."""
        self._device_ = self._resolve_device()
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self.classes_, codes = np.unique(y, return_inverse=True)
        self.scaler_ = MinMaxScaler().fit(X)
        scaled = self.scaler_.transform(X)
        self._budgets = {int(np.searchsorted(self.classes_, label)): int(n)
                         for label, n in self.sampling_strategy_.items() if n > 0}
        self._codes = torch.as_tensor(codes, device=self._device_)
        self.model_ = self._build_model(scaled, codes, seed)
        generator = torch.Generator(device=self._device_).manual_seed(seed)
        rows = torch.as_tensor(scaled, dtype=torch.float32, device=self._device_)
        with _torch_settings(self.n_threads):
            self._optimise(rows, generator)
        self.alive_units_ = alive_units(self.model_.classifier, rows)
        self.dead_network_ = self.alive_units_ == 0
        return generator

    def _build_model(self, scaled: np.ndarray, codes: np.ndarray, seed: int) -> JointModel:
        neighbours, n_real = same_class_neighbours(scaled, codes, list(self._budgets))
        ranked = np.concatenate([np.arange(len(scaled))[:, None], neighbours], axis=1)
        with torch.random.fork_rng(devices=[]):   # seeded initialisation without touching the caller's RNG
            torch.default_generator.manual_seed(seed)
            # the classifier first: under one seed it starts where GumbelMLPClassifier's does
            classifier = classifier_mlp(torch.as_tensor(scaled, dtype=torch.float32), self.hidden_size,
                                        len(self.classes_), self.classifier_inputs)
            policy = self._make_policy(scaled.shape[1])
        return JointModel(policy, classifier, torch.as_tensor(scaled[ranked], dtype=torch.float32),
                          torch.as_tensor(n_real), temperature=self.temperature, hard=self.hard,
                          sum_reading=self.sum_reading, participation=self.participation).to(self._device_)

    def _optimise(self, X: torch.Tensor, generator: torch.Generator) -> None:
        """Adam over policy + classifier; synthetic rows regenerated every epoch and re-evaluated per batch."""
        optimiser = torch.optim.Adam(self.model_.parameters(), lr=self.learning_rate)
        n_real = len(X)
        self.loss_curve_, self.decision_counts_ = [], {}
        for _ in range(self.epochs):
            anchors = self._cycle_anchors(generator)
            draws = self.model_.draw(anchors, generator)
            order = torch.randperm(n_real + len(anchors), generator=generator, device=self._device_)
            losses = []
            for batch in order.split(self.batch_size):
                real, slots = batch[batch < n_real], batch[batch >= n_real] - n_real
                rows, weights, _ = self.model_.synthesize(draws.subset(slots))
                logits = self.model_.classifier(torch.cat([X[real], rows]))
                targets = torch.cat([self._codes[real], self._codes[anchors[slots]]])
                loss = self._loss(torch.nn.functional.cross_entropy(logits, targets, reduction="none"),
                                  len(real), weights)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                losses.append(loss.item())
            self.loss_curve_.append(float(np.mean(losses)))
        if len(anchors):
            with torch.no_grad():
                self.decision_counts_ = self._count(self.model_.synthesize(draws)[2])

    def _loss(self, per_row: torch.Tensor, n_real: int, weights: torch.Tensor | None) -> torch.Tensor:
        """Mean CE (O13); under 'loss_weight' synthetic rows count by their participation, plus its penalty (O3)."""
        if weights is None:
            return per_row.mean()
        loss = (per_row[:n_real].sum() + (weights * per_row[n_real:]).sum()) / len(per_row)
        if len(weights):
            loss = loss + self.participation_penalty * (weights.mean() - self.participation_target) ** 2
        return loss

    def _cycle_anchors(self, generator: torch.Generator) -> torch.Tensor:
        """Each class's budget of anchors: whole passes over its rows, the remainder a random subset (§2.3)."""
        parts = []
        for code, budget in self._budgets.items():
            members = torch.nonzero(self._codes == code).flatten()
            rest = torch.randperm(len(members), generator=generator, device=self._device_)[:budget % len(members)]
            parts += [members.repeat(budget // len(members)), members[rest]]
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long, device=self._device_)

    # -- drawing the returned rows ----------------------------------------------------------------------------

    def _draw(self, X: np.ndarray, y: np.ndarray, generator: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Synthetic rows from the learned decisions with fresh noise, in the caller's feature space.

        Rows that are copies of their anchor (no participation under hard 'mix', or no same-class neighbour) are
        taken from X itself, so they are exact duplicates rather than float32 round trips through the scaler.
        """
        if self.participation == "mix":
            anchors = self._cycle_anchors(generator)
        else:
            anchors = self._participating_anchors(generator)
        if len(anchors) == 0:
            return X[:0], y[:0]
        with torch.no_grad():
            rows, _, decisions = self.model_.synthesize(self.model_.draw(anchors, generator))
            copies = self.model_.n_neighbours[anchors] == 0
            if self.hard and self.participation == "mix":
                copies |= decisions["participation"][:, 0] == 1
        self.decision_counts_ = self._count(decisions)
        X_new = self.scaler_.inverse_transform(rows.double().cpu().numpy()).astype(X.dtype, copy=False)
        anchors, copies = anchors.cpu().numpy(), copies.cpu().numpy()
        X_new[copies] = X[anchors[copies]]
        return X_new, y[anchors]

    def _participating_anchors(self, generator: torch.Generator) -> torch.Tensor:
        """'loss_weight' reading: anchors drawn with replacement in proportion to their participation probability."""
        parts = []
        with torch.no_grad():
            for code, budget in self._budgets.items():
                members = torch.nonzero(self._codes == code).flatten()
                weight = self.model_.policy.participation_probability(self.model_.points[members, 0])
                parts.append(members[torch.multinomial(weight.clamp(min=1e-12), budget, replacement=True,
                                                       generator=generator)])
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long, device=self._device_)

    @staticmethod
    def _count(decisions: dict[str, torch.Tensor]) -> dict:
        """Per decision, how many rows took each option (JSON-serialisable)."""
        counts = {name: torch.bincount(value.argmax(dim=1), minlength=value.shape[1]).tolist()
                  for name, value in decisions.items()}
        counts["aggregation"] = dict(zip(AGGREGATIONS, counts["aggregation"]))
        counts["k"] = dict(zip(range(1, MAX_K + 1), counts["k"]))
        return counts

    def _resolve_device(self) -> torch.device:
        return resolve_device(self.device)


def _dense(X) -> np.ndarray:
    """The model works on dense rows; sparse input is densified (tabular data of modest width)."""
    return X.toarray() if sparse.issparse(X) else X


class AutoSMOTESelf(_GumbelAutoSMOTE):
    __doc__ = ("""Gumbel-Softmax AutoSMOTE, per-instance decisions (AutoSMOTE_self).

    For every minority anchor three MLPs give the logits of three discrete decisions - participate or not,
    k in 1..6 same-class neighbours, one of six aggregations - each drawn by straight-through Gumbel-Softmax
    and trained jointly with an MLP classifier through the classifier's cross-entropy.
    """ + _COMMON_DOC.replace("{extra_parameters}", ""))

    def _make_policy(self, n_features: int) -> torch.nn.Module:
        return SelfPolicy(n_features, self.hidden_size)


class AutoSMOTECohort(_GumbelAutoSMOTE):
    __doc__ = ("""Gumbel-Softmax AutoSMOTE, cohort-shared decisions (AutoSMOTE_cohort).

    An MLP + Gumbel-Softmax assigns each minority anchor to one of `n_cohorts` learned cohorts (shared across
    classes, O11); each cohort owns one set of decision logits and weighted-average weights, so all its
    members share one decision distribution. Decisions are still drawn per row (O12).
    """ + _COMMON_DOC.replace("{extra_parameters}", """    n_cohorts : int, default=4
        Number of cohorts G (O11: unknown in the paper; 1 gives one global policy; the spec sweeps 1..7).
"""))

    _parameter_constraints: dict = {**_GumbelAutoSMOTE._parameter_constraints,
                                    "n_cohorts": [Interval(numbers.Integral, 1, None, closed="left")]}

    def __init__(self, *, sampling_strategy="auto", n_cohorts=4, epochs=200, learning_rate=0.05, batch_size=2500,
                 temperature=1.0, hard=True, participation="mix", participation_target=0.5,
                 participation_penalty=1.0, sum_reading="offsets", classifier_inputs="standardized", hidden_size=64,
                 device=None, n_threads=1, random_state=None):
        super().__init__(sampling_strategy=sampling_strategy, epochs=epochs, learning_rate=learning_rate,
                         batch_size=batch_size, temperature=temperature, hard=hard, participation=participation,
                         participation_target=participation_target, participation_penalty=participation_penalty,
                         sum_reading=sum_reading, classifier_inputs=classifier_inputs, hidden_size=hidden_size,
                         device=device, n_threads=n_threads, random_state=random_state)
        self.n_cohorts = n_cohorts

    def _make_policy(self, n_features: int) -> torch.nn.Module:
        return CohortPolicy(n_features, self.hidden_size, self.n_cohorts)
