"""The evaluation metrics by name. Every run computes all of them (they are cheap); tuning picks one."""
from __future__ import annotations

from sklearn.metrics import f1_score, matthews_corrcoef

METRICS = {
    "macro_f1": lambda y, p: float(f1_score(y, p, average="macro")),
    "mcc": lambda y, p: float(matthews_corrcoef(y, p)),
}
LABELS = {"macro_f1": "Macro-F1", "mcc": "MCC"}
