"""The paper's split protocol (``specs/protocol.md``, Preprocessing and Splits) as pure functions of the
data: no disk, no global RNG state, every random draw seeded from ``seed``, so a split is fully named by
its dataset's checksum and its arguments (the split cache relies on that)."""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import DataError, TooSmallToSplit, first_line
from .normalize import is_numeric

#: ``zero``: the paper (impute 0, then scale); ``mean``: the reference code (scale, then mean +
#: missing-indicator columns).
IMPUTE_CHOICES = ("zero", "mean")

#: The protocol's shares of the rows: validation, test, and the training split's, the rest.
VALIDATION_SHARE = 0.2
TEST_SHARE = 0.2
TRAINING_SHARE = 1 - (VALIDATION_SHARE + TEST_SHARE)
#: The holdout split's test share of what is left after the validation part: 0.25 of 80 % is the paper's 20 %.
_HOLDOUT_TEST_OF_REST = TEST_SHARE / (1 - VALIDATION_SHARE)
#: Rows of each class a holdout split needs: with 20 % shares a class of 5 rows has one row in the validation
#: part and one in the test part (scikit-learn's stratified counts floor each class's share of a part).
HOLDOUT_MIN_CLASS_ROWS = 5
#: How the reason a dataset is too small for the holdout split starts (its runs' `skipped` message).
TOO_SMALL_FOR_HOLDOUT = "too small for the holdout split"
_MISSING_CATEGORY = "__missing__"


class SplitKind(str, enum.Enum):
    """How a run splits its data; the value is what a run's spec stores (part of its key), so it never changes."""
    IR = "ir"                   # the paper's: shuffled 20/20/60, each part under-sampled to the run's IR
    STRATIFIED = "stratified"   # train/test at the data's own imbalance, no validation part; its runs store IR 0
    HOLDOUT = "holdout"         # stratified 60/20/20 train/validation/test at the data's own imbalance; IR 0

    def __str__(self) -> str:   # "ir", not "SplitKind.IR", wherever a kind is printed
        return self.value

    def irs(self, grid: Iterable[int]) -> tuple[int, ...]:
        """The IRs a run of this kind covers: the grid's for the paper's splits; one for a stratified run, stored
        as 0 (the data's own imbalance, a value no IR split has), so its keys read as they always have."""
        return tuple(grid) if self is SplitKind.IR else (0,)


@dataclass
class Split:
    """Preprocessed train/validation/test arrays.

    X are float64 C-contiguous; y are int64: binary data -> minority 1, majority 0; multi-class ->
    LabelEncoder order of the (string) labels.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: list[str]


def check_impute(impute: str) -> None:
    if impute not in IMPUTE_CHOICES:
        raise DataError(f"unknown impute {impute!r}: use one of {', '.join(IMPUTE_CHOICES)}")


def checked_ir(ir: Any, minority: str | None, n_classes: int, name: str) -> int | None:
    """``ir`` as an int (None: keep the data's own ratio), refused unless it fits the data."""
    if ir is None:
        return None
    if isinstance(ir, bool) or int(ir) != ir or ir < 1:
        raise DataError(f"IR must be a positive integer, got {ir!r}: pass e.g. --ir 20")
    if minority is None:
        raise DataError(f"{name} has {n_classes} classes; an IR needs binary "
                        "data: leave the IR out or use a binary dataset")
    return int(ir)


def checked_test_size(test_size: Any) -> float:
    if not 0.0 < float(test_size) < 1.0:
        raise DataError(f"test_size must be between 0 and 1, got {test_size!r}")
    return float(test_size)


def ir_split(X: pd.DataFrame, y: Sequence[Any], *, minority: str | None, ir: int | None, seed: int,
             impute: str = "zero", leak: bool = False, name: str = "the data") -> Split:
    """The protocol's IR split, as the reference code makes it.

    Shuffle with ``seed``; the first 20 % of the rows are the validation split, the next 20 % the test
    split, the rest the training split; in each split ``imblearn``'s ``make_imbalance`` keeps
    ``max(class counts) // ir`` minority rows (``ir`` None: all rows); the preprocessing is fitted on
    the training split (``leak``: on all rows). ``X``: raw features, non-numeric columns categorical;
    ``y``: the class labels; ``minority``: the minority label of binary data, else None; ``name`` names
    the data in error messages.
    """
    check_impute(impute)
    codes, labels = _encode(y)
    ir = checked_ir(ir, minority, len(labels), name)
    n = len(codes)
    perm = np.random.RandomState(seed).permutation(n)
    # Boundaries as in the reference code: int(n*0.2) and int(n*(0.2+0.2)).
    b1, b2 = int(n * VALIDATION_SHARE), int(n * (VALIDATION_SHARE + TEST_SHARE))
    parts = {"validation": perm[:b1], "test": perm[b1:b2], "train": perm[b2:]}
    min_code = labels.index(minority) if minority is not None else None
    if ir is not None:
        for part, idx in parts.items():
            parts[part] = _undersample(idx, codes[idx], min_code, ir, seed, name, part)
    fit_rows = np.arange(n) if leak else parts["train"]
    return _preprocessed(X, codes, min_code, impute, fit_rows, parts["train"], parts["validation"],
                         parts["test"])


def stratified_split(X: pd.DataFrame, y: Sequence[Any], *, minority: str | None, seed: int,
                     test_size: float = 0.2, impute: str = "zero", name: str = "the data") -> Split:
    """A stratified train/test split without IR change, preprocessing fitted on the training split;
    X_val/y_val are empty. Arguments as for ``ir_split``."""
    check_impute(impute)
    test_size = checked_test_size(test_size)
    from sklearn.model_selection import train_test_split

    codes, labels = _encode(y)
    min_code = labels.index(minority) if minority is not None else None
    try:
        train, test = train_test_split(np.arange(len(codes)), test_size=test_size,
                                       stratify=codes, random_state=seed)
    except ValueError as e:
        raise DataError(f"cannot stratify {name} with test_size {test_size}: {first_line(e)}: "
                        "use another test_size or dataset") from e
    return _preprocessed(X, codes, min_code, impute, train, train, np.empty(0, dtype=np.int64), test)


def holdout_split(X: pd.DataFrame, y: Sequence[Any], *, minority: str | None, seed: int, impute: str = "zero",
                  leak: bool = False, name: str = "the data") -> Split:
    """The paper's 60/20/20 train/validation/test shares at the data's own imbalance: no under-sampling, each
    part stratified (every class in the same share in every part). With ``seed``, first the validation part
    (20 % of the rows), then the test part (25 % of the rest: 20 % of the rows), the rest is the training part -
    the reference code's order; the preprocessing is fitted on the training part (``leak``: on all rows).
    Raises :class:`TooSmallToSplit` when some class has fewer than ``HOLDOUT_MIN_CLASS_ROWS`` rows, which
    could leave a part without it. Arguments as for ``ir_split``."""
    check_impute(impute)
    from sklearn.model_selection import train_test_split

    codes, labels = _encode(y)
    counts = np.bincount(codes, minlength=len(labels))
    if len(labels) < 2 or counts.min() < HOLDOUT_MIN_CLASS_ROWS:
        smallest = int(counts.argmin())
        raise TooSmallToSplit(
            f"{TOO_SMALL_FOR_HOLDOUT}: {name} has {int(counts[smallest])} rows of class {labels[smallest]!r}, and the "
            f"stratified 60/20/20 split needs at least {HOLDOUT_MIN_CLASS_ROWS} of each of at least two classes (one "
            "in each of the validation and test parts)")
    min_code = labels.index(minority) if minority is not None else None
    rows = np.arange(len(codes))
    rest, val = train_test_split(rows, test_size=VALIDATION_SHARE, stratify=codes, random_state=seed)
    train, test = train_test_split(rest, test_size=_HOLDOUT_TEST_OF_REST, stratify=codes[rest], random_state=seed)
    fit_rows = rows if leak else train
    return _preprocessed(X, codes, min_code, impute, fit_rows, train, val, test)


def holdout_sizes(n: int) -> tuple[int, int, int]:
    """(train, validation, test) rows of a holdout split of ``n`` rows: scikit-learn rounds a test share up."""
    val = math.ceil(n * VALIDATION_SHARE)
    test = math.ceil((n - val) * _HOLDOUT_TEST_OF_REST)
    return n - val - test, val, test


def _encode(y: Sequence[Any]) -> tuple[np.ndarray, list[Any]]:
    """LabelEncoder codes (sorted labels), as the reference code encodes the target, and the labels."""
    labels, codes = np.unique(np.asarray(y, dtype=object), return_inverse=True)
    return codes.astype(np.int64), labels.tolist()


def _undersample(idx: np.ndarray, codes: np.ndarray, min_code: int, ir: int, seed: int, name: str,
                 part: str) -> np.ndarray:
    """Rows of one split after imblearn's make_imbalance (minority -> max(counts) // ir)."""
    from imblearn.datasets import make_imbalance

    counts = np.bincount(codes, minlength=max(int(codes.max(initial=0)) + 1, min_code + 1))
    k = int(counts.max()) // ir
    have = int(counts[min_code])
    if k < 1:
        raise DataError(f"IR {ir} leaves no minority rows in the {part} split of {name} (largest class "
                        f"{int(counts.max())} rows): use a smaller IR")
    if k > have:
        raise DataError(f"IR {ir} asks for {k} minority rows in the {part} split of {name} but it has "
                        f"{have}: use a larger IR (the data is already more imbalanced)")
    rows, _ = make_imbalance(idx.reshape(-1, 1), codes, sampling_strategy={min_code: k},
                             random_state=seed)
    return np.asarray(rows)[:, 0]


def _preprocessed(X: pd.DataFrame, codes: np.ndarray, min_code: int | None, impute: str,
                  fit_rows: np.ndarray, train: np.ndarray, val: np.ndarray, test: np.ndarray) -> Split:
    """The three splits' rows, preprocessed by a preprocessor fitted on ``fit_rows``."""
    categorical = [c for c in X.columns if not is_numeric(X[c])]
    Xm = _model_frame(X, categorical)
    pre = _make_preprocessor(Xm, categorical, impute)
    pre.fit(Xm.iloc[fit_rows])
    names = [str(f) for f in pre.get_feature_names_out()]

    def xs(idx: np.ndarray) -> np.ndarray:
        if len(idx) == 0:
            return np.zeros((0, len(names)), dtype=np.float64)
        return _dense(pre.transform(Xm.iloc[idx]))

    def ys(idx: np.ndarray) -> np.ndarray:
        c = codes[idx]
        return (c == min_code).astype(np.int64) if min_code is not None else c.astype(np.int64)

    return Split(X_train=xs(train), y_train=ys(train), X_val=xs(val), y_val=ys(val),
                 X_test=xs(test), y_test=ys(test), feature_names=names)


def _make_preprocessor(X: pd.DataFrame, categorical: Sequence[str], impute: str):
    """ColumnTransformer: numeric impute+scale, categorical one-hot over the dataset's categories.

    The categories come from all rows of ``X`` (the dataset's schema, like an ARFF header), so the
    encoded width is always ``n_features_encoded`` whatever rows the training split holds;
    no statistic (mean, std) is taken from outside the fitting rows.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cat_cols = [c for c in X.columns if c in set(categorical)]
    num_cols = [c for c in X.columns if c not in set(categorical)]
    if impute == "zero":  # the paper: missing -> 0, then scale
        num = Pipeline([
            ("impute", SimpleImputer(strategy="constant", fill_value=0.0, keep_empty_features=True)),
            ("scale", StandardScaler()),
        ])
    else:  # the reference code: scale (NaN-aware), then mean-impute with indicator columns
        num = Pipeline([
            ("scale", StandardScaler()),
            ("impute", SimpleImputer(strategy="mean", add_indicator=True, keep_empty_features=True)),
        ])
    categories = [sorted(X[c].unique().tolist()) for c in cat_cols]
    cat = OneHotEncoder(categories=categories, handle_unknown="ignore", sparse_output=False,
                        dtype=np.float64)
    transformers = []
    if num_cols:
        transformers.append(("num", num, num_cols))
    if cat_cols:
        transformers.append(("cat", cat, cat_cols))
    return ColumnTransformer(transformers, sparse_threshold=0.0, verbose_feature_names_out=False)


def _model_frame(X: pd.DataFrame, categorical: Sequence[str]) -> pd.DataFrame:
    """Categoricals as plain object strings with missing values as their own category."""
    X = X.copy()
    for c in categorical:
        X[c] = X[c].astype(object).where(X[c].notna(), _MISSING_CATEGORY).astype(str).astype(object)
    return X


def _dense(a: Any) -> np.ndarray:
    if hasattr(a, "toarray"):
        a = a.toarray()
    return np.ascontiguousarray(np.asarray(a, dtype=np.float64))
