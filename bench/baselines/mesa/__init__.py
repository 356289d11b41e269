"""MESA (Liu et al., NeurIPS 2020): an ensemble whose under-sampling is steered by a learned meta-sampler.

Written from the paper "MESA: Boost Ensemble Imbalanced Learning with MEta-SAmpler", not from the authors'
code (which is pinned to torch 1.0 / gym 0.17 and takes label 1 as the minority). Its three parts:

* ensemble training (the paper's Algorithm 1): member 1 is fitted on a random balanced subset, each later
  member on all minority rows plus |minority| majority rows chosen by the meta-sampler; the ensemble F
  averages the members' minority-class probabilities;
* meta-sampling: the meta-state is the histogram of the ensemble's errors |F(x) - y| on the training and on
  the validation data (b bins each, as shares of rows); the action mu in [0, 1] centres a Gaussian kernel
  exp(-(e - mu)^2 / (2 sigma^2)) that weights each majority row by its error e;
* meta-training: a step's reward is the change of the ensemble's validation score; the meta-sampler is a
  Soft Actor-Critic policy (Haarnoja et al. 2018: twin Q networks with soft-updated targets, a tanh-squashed
  Gaussian policy, an entropy temperature, a replay buffer) trained over episodes that each build a k-member
  ensemble from scratch. The final ensemble is then built once more with the policy's mean action.

Numbers. The paper's: k = 10 members, sigma = 0.2, the AUCPRC reward, SAC as the learner, a meta-state of
training and validation error histograms. Ours (its appendix values were not checked against the paper):
b = 10 bins, 50 meta-training episodes, 2 x 50 ReLU MLPs, Adam with lr 1e-3, gamma 0.99, tau 0.01, batch 64,
a replay buffer of 10,000, one update per step, uniform random actions until the buffer holds one batch, and
an auto-tuned temperature (target entropy -1): rewards are validation-score differences of about 0.01, which
a fixed temperature's entropy bonus would drown.

Modules: `environment` (ensemble training and meta-sampling, numpy and scikit-learn only), `learner` (Soft
Actor-Critic and its replay buffer, torch; nothing of ensembles), `estimator` (the meta-training loop and the
scikit-learn classifier `MESA`, which the harness's adapter builds).
"""
from __future__ import annotations

from .estimator import MESA

__all__ = ["MESA"]
