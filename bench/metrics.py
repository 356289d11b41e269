"""The evaluation metrics by name. Every run computes all of them (they are cheap); tuning picks one."""
from __future__ import annotations

from sklearn.metrics import f1_score, matthews_corrcoef, precision_score, recall_score

METRICS = {
    "macro_f1": lambda y, p: float(f1_score(y, p, average="macro")),
    "mcc": lambda y, p: float(matthews_corrcoef(y, p)),
    "macro_precision": lambda y, p: float(precision_score(y, p, average="macro", zero_division=0)),
    "macro_recall": lambda y, p: float(recall_score(y, p, average="macro", zero_division=0)),
}
LABELS = {"macro_f1": "Macro-F1", "mcc": "MCC", "macro_precision": "Macro-precision", "macro_recall": "Macro-recall"}
