"""The OpenML client: one of the paper's six (by name or id) or any OpenML id, fetched through the
openml package's cache under the data directory and normalized like an imported file."""
from __future__ import annotations

import contextlib
import socket
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from .errors import DataError, first_line
from .normalize import clean_name, is_numeric, prepare
from .paper import KNOWN_DATASETS, KnownDataset, known_by_openml_id, match_known
from .registry import DatasetRecord, Prepared


def fetch(names: Sequence[str], cache: Path,
          stored: Callable[[str], DatasetRecord | None]) -> list[Prepared | DatasetRecord]:
    """Each named dataset, normalized, in the order of ``names``; every name is checked before any download.

    When OpenML cannot be reached, a paper dataset whose copy is already registered (``stored(name)``)
    stands in as its record; anything else is a DataError.
    """
    import openml

    wanted = [_resolve(str(raw).strip()) for raw in names]
    cache.mkdir(parents=True, exist_ok=True)
    openml.config.set_root_cache_directory(cache)
    network_errors = _network_errors()
    out: list[Prepared | DatasetRecord] = []
    for did, known in wanted:
        label = known.name if known else f"OpenML dataset {did}"
        try:
            ds = openml.datasets.get_dataset(did, download_data=True, download_qualities=False,
                                             download_features_meta_data=False)
            tgt = getattr(ds, "default_target_attribute", None) or (known.target if known else None)
            if not tgt or "," in str(tgt):
                raise DataError(f"OpenML dataset {did} has no single default target: download it "
                                "and run `bench data import PATH --target COLUMN`")
            X, y, cat_ind, attr_names = ds.get_data(target=tgt, dataset_format="dataframe")
        except network_errors as e:
            existing = stored(known.name) if known else None
            if existing is not None:
                out.append(existing)
                continue
            raise DataError(f"cannot reach OpenML and no cached copy of {label}: download "
                            f"{_where(known, did)} elsewhere and run `bench data import PATH` on it") from e
        except openml.exceptions.OpenMLServerError as e:
            raise DataError(f"OpenML could not provide {label} ({first_line(e)}): check the "
                            "id, or run `bench data import PATH` with a local copy") from e
        out.append(_from_openml(did, known, ds, X, y, cat_ind, attr_names, tgt))
    return out


def _where(known, did) -> str:
    """Where a dataset comes from, for a user without network: its OpenML page (ARFF or CSV both import)."""
    name = known.name if known else f"dataset {did}"
    return f"{name} (OpenML id {did}, https://www.openml.org/d/{did})"


def _resolve(raw: str) -> tuple[int, KnownDataset | None]:
    """(OpenML id, the paper dataset it is or None) for a name of the six or a numeric id."""
    known = match_known(raw)
    if known is None and raw.isdigit():
        return int(raw), known_by_openml_id(int(raw))
    if known is None:
        raise DataError(f"cannot pull {raw!r}: give one of {', '.join(KNOWN_DATASETS)} or an "
                        "OpenML id; for other data run `bench data import PATH`")
    return known.openml_id, known


def _network_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean 'OpenML could not be reached'."""
    errs: list[type[BaseException]] = [ConnectionError, TimeoutError, socket.gaierror, socket.timeout]
    with contextlib.suppress(ImportError):
        import requests

        errs += [requests.exceptions.ConnectionError, requests.exceptions.Timeout]
    with contextlib.suppress(ImportError):
        import urllib3

        errs.append(urllib3.exceptions.HTTPError)
    return tuple(errs)


def _from_openml(did: int, known: KnownDataset | None, ds: Any, X: Any, y: Any, cat_ind: Any,
                 attr_names: Any, tgt: str) -> Prepared:
    """OpenML's (X, y) -> the same normalized frame an import would produce."""
    frame = pd.DataFrame(X).copy()
    frame.columns = [str(c) for c in frame.columns]
    row_id = getattr(ds, "row_id_attribute", None)
    drop = set(known.drop) if known else set()
    if row_id:
        drop.add(str(row_id))
    frame = frame.drop(columns=[c for c in frame.columns if c in drop])
    categorical = {str(c) for c in frame.columns if not is_numeric(frame[c])}
    if cat_ind is not None and attr_names is not None:
        categorical |= {str(n) for n, is_cat in zip(attr_names, cat_ind) if is_cat}
    target_col = known.target if known else str(tgt)
    frame[target_col] = pd.Series(y).to_numpy()
    if known:
        name = known.name
    else:
        name = clean_name(str(getattr(ds, "name", "") or f"openml-{did}")) or f"openml-{did}"
    return prepare(frame, categorical, name=name, source=f"openml:{did}",
                   where=f"OpenML dataset {did} ({name})", target=target_col)
