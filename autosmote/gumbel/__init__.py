"""Gumbel-Softmax AutoSMOTE (Kishanthan & Hevapathige, arXiv 2502.06878): learned oversampling decisions.

`AutoSMOTESelf` decides per minority instance, `AutoSMOTECohort` per learned cohort. Both are imbalanced-learn
samplers whose fitted object is also the paper's end-to-end MLP classifier (`predict`, `predict_proba`).
"""
from .sampler import AutoSMOTECohort, AutoSMOTESelf

__all__ = ["AutoSMOTESelf", "AutoSMOTECohort"]
