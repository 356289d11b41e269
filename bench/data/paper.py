"""The paper's six datasets: the one list the harness runs by default, pulls from OpenML and checks imports against."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownDataset:
    """One of the paper's six datasets, with the counts an imported copy must match."""

    name: str
    openml_id: int
    target: str
    drop: tuple[str, ...]
    n_rows: int
    n_features: int
    class_counts: tuple[int, int]  # (majority, minority)


KNOWN_DATASETS: dict[str, KnownDataset] = {
    k.name: k
    for k in (
        KnownDataset("phoneme", 1489, "Class", (), 5404, 5, (3818, 1586)),
        KnownDataset("PhishingWebsites", 4534, "Result", (), 11055, 30, (6157, 4898)),
        KnownDataset("eeg-eye-state", 1471, "Class", (), 14980, 14, (8257, 6723)),
        KnownDataset("mozilla4", 1046, "state", (), 15545, 5, (10437, 5108)),
        KnownDataset("MagicTelescope", 1120, "class:", ("id", "ID"), 19020, 10, (12332, 6688)),
        KnownDataset("electricity", 151, "class", (), 45312, 8, (26075, 19237)),
    )
}
#: The paper's datasets in the paper's order: what a run uses when it names none.
PAPER_DATASETS = tuple(KNOWN_DATASETS)


def fold_name(name: str) -> str:
    """Case-insensitive key that ignores '-', '_' and spaces (``EEGEyeState`` == ``eeg-eye-state``)."""
    return re.sub(r"[\s_\-]+", "", name).lower()


_BY_FOLDED = {fold_name(k): v for k, v in KNOWN_DATASETS.items()}
_BY_OPENML_ID = {v.openml_id: v for v in KNOWN_DATASETS.values()}


def match_known(name: str) -> KnownDataset | None:
    """The paper dataset ``name`` spells, however it is cased or punctuated."""
    return _BY_FOLDED.get(fold_name(name))


def known_by_openml_id(did: int) -> KnownDataset | None:
    return _BY_OPENML_ID.get(did)
