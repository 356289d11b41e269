"""The paper's Table 1, computed from registered records (no data is read)."""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from .registry import DatasetRecord


def table1(records: Sequence[DatasetRecord], irs: Sequence[int]) -> pd.DataFrame:
    """The paper's Table 1: binary datasets, full majority count and majority // IR per IR.

    Rows keep the order of ``records``; ``df.attrs["irs"]`` names the IRs of the minority column.
    """
    rows = []
    for r in records:
        if r.minority_label is None:
            continue
        majority = max(r.class_counts.values())
        rows.append({"name": r.name, "majority": majority,
                     "minority": "/".join(str(majority // int(ir)) for ir in irs),
                     "n_features_encoded": r.n_features_encoded})
    df = pd.DataFrame(rows, columns=["name", "majority", "minority", "n_features_encoded"])
    df.attrs["irs"] = [int(ir) for ir in irs]
    return df
