"""The file importer: local ``.arff`` / ``.csv`` / ``.parquet`` files (or folders of them) read and
normalized, every one checked before any is registered."""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Sequence

import pandas as pd

from .errors import DataError, first_line
from .normalize import clean_name, is_numeric, prepare
from .registry import Prepared

#: File types that ``read_inputs`` reads (a directory scan silently skips everything else).
DATA_SUFFIXES = (".arff", ".csv", ".parquet")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
#: The most columns a file may have, told by its header before it is parsed: the protocol's samplers and
#: classifiers are not made for wider data, and parsing 10^6 columns takes minutes and gigabytes.
MAX_COLUMNS = 10_000
#: The longest dataset name: it names files in the data directory (255 bytes on most filesystems).
MAX_NAME = 100


def read_inputs(paths: Sequence[Path], *, target: str | None = None, name: str | None = None,
                recursive: bool = False) -> list[Prepared]:
    """The files (or the data files in folders) normalized, named after their stem unless ``name`` is given.

    ``target`` applies to files that are not one of the six (those use their known target).
    """
    files = _resolve_paths(paths, recursive)
    if name is not None:
        if len(files) != 1:
            raise DataError(f"--name {name!r} needs exactly one input file, got {len(files)}: "
                            "import the files one at a time")
        _check_length(name, "pass a shorter --name")
        if not _NAME_RE.match(name):
            raise DataError(f"dataset name {name!r} is not allowed: use letters, digits, '.', '_', "
                            "'+' or '-'")
    items = []
    for f in files:
        ds_name = name if name is not None else _name_from_stem(f)
        frame, categorical = _read_file(f)
        items.append(prepare(frame, categorical, name=ds_name, source=str(f.resolve()),
                             where=str(f), target=target))
    return items


def _resolve_paths(paths: Sequence[Path], recursive: bool) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            it = p.rglob("*") if recursive else p.iterdir()
            found = sorted(f for f in it if f.is_file() and f.suffix.lower() in DATA_SUFFIXES
                           and not f.name.startswith("."))
            if not found:
                raise DataError(f"no {'/'.join(DATA_SUFFIXES)} files in {p}"
                                f"{'' if recursive else ' (add --recursive for subfolders)'}: "
                                "give a folder or file that holds data")
            files.extend(found)
        elif p.is_file():
            if p.suffix.lower() not in DATA_SUFFIXES:
                raise DataError(f"{p} is not a data file: give a {', '.join(DATA_SUFFIXES)} file")
            files.append(p)
        else:
            raise DataError(f"{p} does not exist: check the path")
    return files


def _name_from_stem(path: Path) -> str:
    cleaned = clean_name(path.stem)
    if not cleaned:
        raise DataError(f"cannot derive a dataset name from {path}: pass --name")
    _check_length(cleaned, "pass --name with a shorter one")
    return cleaned


def _check_length(name: str, fix: str) -> None:
    if len(name) > MAX_NAME:
        raise DataError(f"dataset name {name[:20]}... has {len(name)} characters, more than {MAX_NAME}: {fix}")


def _read_file(path: Path) -> tuple[pd.DataFrame, set[str]]:
    """The file's frame and its categorical column names; a file wider than MAX_COLUMNS is refused from its
    header, before it is parsed."""
    try:
        width = _width(path)
    except Exception as e:  # the header of three formats
        raise _unreadable(path, e) from e
    if width > MAX_COLUMNS:
        raise DataError(f"{path} has {width} columns, more than {MAX_COLUMNS}: import a file of the columns you "
                        f"need (at most {MAX_COLUMNS}, the target among them)")
    try:
        if path.suffix.lower() == ".arff":
            frame, categorical = _read_arff(path)
        else:
            frame, categorical = _read_table(path)
    except Exception as e:  # parse errors of three libraries; the user fixes the file
        raise _unreadable(path, e) from e
    frame.columns = [str(c) for c in frame.columns]
    return frame, categorical


def _unreadable(path: Path, e: Exception) -> DataError:
    return DataError(f"cannot parse {path}: {first_line(e)}: check that it is a valid "
                     f"{path.suffix.lower()[1:].upper()} file")


def _width(path: Path) -> int:
    """The file's columns, from its header alone: the Parquet schema, a CSV's first record, the ARFF
    attributes before @data. By hand for the last two: pandas takes minutes over the header alone of 10^5
    columns (read_csv with nrows=0: 164 s on a busy 2-core machine) and liac-arff parses the whole file."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq
        return len(pq.read_schema(path).names)
    with path.open("rb") as f:
        if suffix == ".csv":   # the record pandas reads as the header, in its default dialect (quotes and all)
            return len(next(csv.reader(line.decode("utf-8", "replace") for line in f), []))
        width = 0
        for line in f:
            word = line.lstrip()[:10].lower()
            if word.startswith(b"@data"):
                break
            width += word.startswith(b"@attribute")
        return width


def _read_arff(path: Path) -> tuple[pd.DataFrame, set[str]]:
    import arff  # liac-arff

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    data = arff.loads(text)
    attributes = data["attributes"]
    names = [str(a[0]) for a in attributes]
    frame = pd.DataFrame(data["data"], columns=names)
    categorical: set[str] = set()
    for name, kind in attributes:
        name = str(name)
        if isinstance(kind, (list, tuple)):  # nominal: keep the values as strings
            categorical.add(name)
        elif str(kind).upper() in ("NUMERIC", "REAL", "INTEGER"):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        else:  # STRING / DATE
            categorical.add(name)
    return frame, categorical


def _read_table(path: Path) -> tuple[pd.DataFrame, set[str]]:
    if path.suffix.lower() == ".csv":
        # '?' is ARFF's / OpenML's missing-value marker and appears in CSV exports of them.
        frame = pd.read_csv(path, na_values=["?"], low_memory=False)
    else:
        frame = pd.read_parquet(path)
    categorical = {str(c) for c in frame.columns if not is_numeric(frame[c])}
    return frame, categorical
