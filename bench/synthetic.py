"""A small synthetic binary dataset for the test suite and the fault-injection benchmark: two overlapping
Gaussian classes (60/40) and one categorical column, written as a CSV a user could import."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_toy_csv(path: Path, n: int = 1200, seed: int = 0) -> Path:
    """Columns a, b, c, d (numeric), colour (red/blue) and label (pos/neg)."""
    rng = np.random.RandomState(seed)
    y = (rng.rand(n) < 0.4).astype(int)
    frame = pd.DataFrame(rng.randn(n, 4) + y[:, None] * 1.2, columns=["a", "b", "c", "d"])
    frame["colour"] = np.where(rng.rand(n) < 0.5, "red", "blue")
    frame["label"] = np.where(y == 1, "pos", "neg")
    frame.to_csv(path, index=False)
    return path
