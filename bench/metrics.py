"""The evaluation metrics by name. Every run computes all of them (they are cheap); tuning picks one.
scikit-learn is imported on first use, so that listing metrics or reading settings does not load it."""
from __future__ import annotations


def _macro_f1(y, p) -> float:
    from sklearn.metrics import f1_score
    return float(f1_score(y, p, average="macro"))


def _mcc(y, p) -> float:
    from sklearn.metrics import matthews_corrcoef
    return float(matthews_corrcoef(y, p))


def _macro_precision(y, p) -> float:
    from sklearn.metrics import precision_score
    return float(precision_score(y, p, average="macro", zero_division=0))


def _macro_recall(y, p) -> float:
    from sklearn.metrics import recall_score
    return float(recall_score(y, p, average="macro", zero_division=0))


METRICS = {"macro_f1": _macro_f1, "mcc": _mcc, "macro_precision": _macro_precision, "macro_recall": _macro_recall}
LABELS = {"macro_f1": "Macro-F1", "mcc": "MCC", "macro_precision": "Macro-precision", "macro_recall": "Macro-recall"}
