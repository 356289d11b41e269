"""The data layer: datasets registered into a data directory and the protocol's splits built from them
(``specs/protocol.md``: Datasets, Preprocessing, Splits). The harness uses ``DataCatalog``."""
from .catalog import DataCatalog
from .errors import DataError
from .paper import KNOWN_DATASETS, PAPER_DATASETS
from .registry import DatasetRecord
from .split_protocol import Split, ir_split, stratified_split
from .summary import table1

__all__ = ["DataCatalog", "DataError", "DatasetRecord", "KNOWN_DATASETS", "PAPER_DATASETS", "Split", "ir_split",
           "stratified_split", "table1"]
