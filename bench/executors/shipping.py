"""The data a Ray unit carries to its node, so that a node needs nothing of the driver's filesystem.

The driver reads each dataset's stored copy once (checked against its registered sha256) and puts it into Ray's
object store; every unit of that dataset takes the same object. On a node the copy is registered once, through
the same import a user's file takes, into a data directory of the node's own named by the content's digest; the
node builds its splits there (a split depends only on the data and its spec). A unit then reads the data its key
names: were the node's copy other content, its split is refused (bench.protocol.load_split), never scored.
"""
from __future__ import annotations

import fcntl
import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..data import DataCatalog
from ..data.errors import DataError
from ..data.storage import atomic_write

#: Where a node keeps the datasets units brought it, one directory per content digest.
NODE_DATA = Path(tempfile.gettempdir()) / "bench-ray-data"


@dataclass(frozen=True)
class Shipment:
    """One dataset as its units carry it: its stored copy (Parquet) and what registering it needs."""
    name: str
    target: str
    content: str        # the content digest every unit's key holds
    parquet: bytes


def pack(data_dir: Path, name: str) -> Shipment:
    """The driver's registered copy of dataset `name` (registry.json and datasets/<name>.parquet under
    `data_dir`), refused if it changed since it was registered."""
    catalog = DataCatalog(data_dir)
    record = catalog.get(name)
    path = Path(data_dir) / "datasets" / f"{record.name}.parquet"
    parquet = path.read_bytes()
    if hashlib.sha256(parquet).hexdigest() != record.sha256:
        raise DataError(f"the stored copy of {record.name} ({path}) changed since it was registered: register it "
                        "again with `bench data import PATH`")
    return Shipment(record.name, record.target, catalog.content(record.name), parquet)


def unpack(shipment: Shipment) -> Path:
    """The node's data directory holding `shipment`'s dataset, registered on first use (one process of the
    node does it while the others wait)."""
    root = NODE_DATA / shipment.content[:32]
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        catalog = DataCatalog(root)
        if catalog.registered_content(shipment.name) != shipment.content:
            incoming = root / "incoming" / f"{shipment.name}.parquet"
            atomic_write(incoming, shipment.parquet)
            catalog.import_files([incoming], target=shipment.target, name=shipment.name)
            incoming.unlink()
    return root
