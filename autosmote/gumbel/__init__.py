"""Gumbel-Softmax AutoSMOTE (Kishanthan & Hevapathige, arXiv 2502.06878): learned oversampling decisions.

`AutoSMOTESelf` decides per minority instance, `AutoSMOTECohort` per learned cohort. Both are imbalanced-learn
samplers whose fitted object is also the paper's end-to-end MLP classifier (`predict`, `predict_proba`);
`GumbelMLPClassifier` is that classifier trained alone (what the Gumbel protocol scores every sampler with).
"""
from .classifier import GumbelMLPClassifier
from .sampler import AutoSMOTECohort, AutoSMOTESelf

__all__ = ["AutoSMOTESelf", "AutoSMOTECohort", "GumbelMLPClassifier"]
