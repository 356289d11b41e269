"""Tests for bench.data: registration, the protocol's IR splits (pure and cached), the split cache, OpenML pull.

Real-data tests read the offline copies in $BENCH_OFFLINE_DATASETS (skipped, saying so, when unset); everything
else uses small synthetic files under tmp_path. No test touches the network.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bench.data.catalog as facade
from bench import runner
from bench.config import load_settings, parse_settings
from bench.data import (
    KNOWN_DATASETS,
    DataCatalog,
    DataError,
    DatasetRecord,
    Split,
    ir_split,
    stratified_split,
    table1,
)

from conftest import OFFLINE_DATASETS as SHARED, needs_offline_datasets as needs_shared  # noqa: E402

EXPECTED = {  # name: (rows, features, encoded, majority, minority)
    "phoneme": (5404, 5, 5, 3818, 1586),
    "PhishingWebsites": (11055, 30, 68, 6157, 4898),
    "eeg-eye-state": (14980, 14, 14, 8257, 6723),
    "mozilla4": (15545, 5, 5, 10437, 5108),
    "MagicTelescope": (19020, 10, 10, 12332, 6688),
    "electricity": (45312, 8, 14, 26075, 19237),
}


# ------------------------------------------------------------------------------------------
# helpers / fixtures
# ------------------------------------------------------------------------------------------


def _binary_frame(n: int = 400, minority_frac: float = 0.3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.RandomState(seed)
    n_min = int(n * minority_frac)
    y = np.array(["neg"] * (n - n_min) + ["pos"] * n_min)
    rng.shuffle(y)
    return pd.DataFrame({
        "rowid": np.arange(n, dtype=float),  # unique per row: lets tests trace rows through splits
        "x1": rng.exponential(2.0, n),
        "x2": rng.normal(5.0, 3.0, n),
        "color": rng.choice(["red", "green", "blue"], n),
        "target": y,
    })


def _write_csv(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def synth(tmp_path: Path) -> tuple[DataCatalog, str]:
    csv = _write_csv(tmp_path / "synth.csv", _binary_frame())
    cat = DataCatalog(tmp_path / "data")
    (rec,) = cat.import_files([csv])
    return cat, rec.name


@pytest.fixture(scope="module")
def offline(tmp_path_factory) -> DataCatalog:
    if SHARED is None or not (SHARED / "phoneme.csv").is_file():
        pytest.skip("real-data test: set BENCH_OFFLINE_DATASETS to a folder holding the paper's six datasets "
                    "(as .ci/run does)")
    cat = DataCatalog(tmp_path_factory.mktemp("offline") / "data")
    cat.import_files([SHARED])
    return cat


def _assert_same_split(a: Split, b: Split) -> None:
    for f in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), f
    assert a.feature_names == b.feature_names


# ------------------------------------------------------------------------------------------
# registration
# ------------------------------------------------------------------------------------------


@needs_shared
def test_import_offline_dir_registers_exactly_the_six(offline: DataCatalog):
    recs = {r.name: r for r in offline.records()}
    assert set(recs) == set(EXPECTED)  # toy2/ and extra/ are subfolders: not scanned
    for name, (rows, feats, enc, maj, mino) in EXPECTED.items():
        r = recs[name]
        assert (r.n_rows, r.n_features, r.n_features_encoded) == (rows, feats, enc), name
        assert sorted(r.class_counts.values(), reverse=True) == [maj, mino], name
        assert r.class_counts[r.minority_label] == mino and r.known
        assert r.target == KNOWN_DATASETS[name].target
    assert recs["electricity"].categorical == ["day"]
    assert len(recs["PhishingWebsites"].categorical) == 30
    X, y = offline.load_frame("MagicTelescope")
    assert "id" not in X.columns and "ID" not in X.columns and X.shape == (19020, 10)
    assert (offline.root / "datasets" / "phoneme.parquet").is_file()
    reg = json.loads((offline.root / "registry.json").read_text())
    assert set(reg["datasets"]) == set(EXPECTED)
    # JSON round trip of the records
    assert DatasetRecord.from_dict(reg["datasets"]["phoneme"]) == recs["phoneme"]


@pytest.mark.parametrize("fname,canonical", [
    ("phoneme.csv", "phoneme"), ("PHONEME.csv", "phoneme"), ("EEGEyeState.csv", "eeg-eye-state"),
    ("eeg_eye state.csv", "eeg-eye-state"), ("phishingwebsites.csv", "PhishingWebsites"),
])
def test_known_name_with_wrong_counts_is_refused(tmp_path, fname, canonical):
    kd = KNOWN_DATASETS[canonical]
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(rng.normal(size=(100, kd.n_features)),
                         columns=[f"V{i}" for i in range(kd.n_features)])
    frame[kd.target] = ["1"] * 70 + ["2"] * 30
    path = _write_csv(tmp_path / fname, frame)
    cat = DataCatalog(tmp_path / "data")
    with pytest.raises(DataError) as e:
        cat.import_files([path])
    msg = str(e.value)
    assert "\n" not in msg and fname in msg and canonical in msg
    assert f"expected {kd.n_rows} rows" in msg and "found 100 rows" in msg and "70/30" in msg
    assert not (tmp_path / "data").exists()  # nothing stored on failure


@needs_shared
def test_truncated_real_phoneme_is_refused(tmp_path):
    lines = (SHARED / "phoneme.csv").read_text().splitlines()[:101]
    path = tmp_path / "phoneme.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"expected 5404 rows.*3818/1586.*found 100 rows"):
        DataCatalog(tmp_path / "data").import_files([path])


def test_csv_with_target_option_and_autodetect(tmp_path):
    frame = _binary_frame(60).rename(columns={"target": "grp"})
    frame["other"] = np.arange(60) % 2  # last column: would be the fallback target
    cat = DataCatalog(tmp_path / "data")
    (rec,) = cat.import_files([_write_csv(tmp_path / "mine.csv", frame)], target="grp")
    assert rec.name == "mine" and rec.target == "grp" and not rec.known
    assert rec.categorical == ["color"] and rec.n_features == 5
    assert rec.n_features_encoded == 4 + 3
    assert rec.class_counts == {"neg": 42, "pos": 18} and rec.minority_label == "pos"
    assert list(rec.class_counts) == ["neg", "pos"]  # majority first

    # auto-detect: a column called Label (any case) wins over the last column
    f2 = frame.rename(columns={"grp": "Label"})
    (rec2,) = cat.import_files([_write_csv(tmp_path / "auto.csv", f2)])
    assert rec2.target == "Label"
    # no candidate name: the last column
    f3 = frame.rename(columns={"grp": "zzz"})
    (rec3,) = cat.import_files([_write_csv(tmp_path / "last.csv", f3)])
    assert rec3.target == "other" and rec3.class_counts == {"0": 30, "1": 30}
    assert [r.name for r in cat.records()] == ["auto", "last", "mine"]

    with pytest.raises(DataError, match="no column 'nope'"):
        cat.import_files([tmp_path / "mine.csv"], target="nope")
    one_class = frame.assign(grp="a")
    with pytest.raises(DataError, match="1 class"):
        cat.import_files([_write_csv(tmp_path / "one.csv", one_class)], target="grp")


def test_arff_round_trip(tmp_path):
    text = """% comment
@relation some-other-name
@attribute width numeric
@attribute shape { round,  square , 'odd one' }
@attribute height real
@attribute kind {-1, 1}

@data
1.5, round, 2, -1
?, square, 3.25, 1
2.5, 'odd one', ?, 1
3, ?, 1, 1
"""
    path = tmp_path / "shapes.arff"
    path.write_text(text)
    cat = DataCatalog(tmp_path / "data")
    (rec,) = cat.import_files([path], target="kind")
    assert rec.name == "shapes" and rec.categorical == ["shape"]
    assert rec.class_counts == {"1": 3, "-1": 1} and rec.minority_label == "-1"
    assert rec.n_features_encoded == 2 + 3 + 1  # the missing shape counts as its own category
    X, y = cat.load_frame("shapes")
    assert list(X.columns) == ["width", "shape", "height"]
    assert X["width"].dtype == np.float64 and np.isnan(X["width"][1])
    assert X["shape"].tolist()[:3] == ["round", "square", "odd one"] and pd.isna(X["shape"][3])
    assert y.tolist() == ["-1", "1", "1", "1"] and y.name == "kind"


def test_parquet_round_trip_and_reimport_noop(tmp_path):
    frame = pd.DataFrame({
        "a": [0.5, 1.5, np.nan, 3.0, 4.0, 5.0],
        "flag": [True, False, True, True, False, True],
        "level": pd.Categorical(["lo", "hi", "hi", "lo", "mid", "lo"]),
        "n": pd.array([1, 2, 3, None, 5, 6], dtype="Int64"),
        "class": [1, 1, 1, 1, 2, 2],
    })
    path = tmp_path / "pq.parquet"
    frame.to_parquet(path)
    cat = DataCatalog(tmp_path / "data")
    (rec,) = cat.import_files([path])
    assert rec.target == "class" and rec.categorical == ["flag", "level"]
    assert rec.class_counts == {"1": 4, "2": 2} and rec.n_features_encoded == 2 + 2 + 3
    X, y = cat.load_frame("pq")
    np.testing.assert_array_equal(X["a"].to_numpy(), frame["a"].to_numpy())
    assert X["n"].dtype == np.float64 and np.isnan(X["n"][3])
    assert X["flag"].tolist() == ["True", "False", "True", "True", "False", "True"]
    assert X["level"].tolist() == frame["level"].tolist()
    assert y.tolist() == ["1", "1", "1", "1", "2", "2"]

    stored = cat.root / "datasets" / "pq.parquet"
    before = (stored.stat().st_mtime_ns, (cat.root / "registry.json").read_bytes())
    (again,) = cat.import_files([path])
    assert again == rec
    assert (stored.stat().st_mtime_ns, (cat.root / "registry.json").read_bytes()) == before


def test_multiclass_registers_without_minority(tmp_path):
    rng = np.random.RandomState(1)
    frame = pd.DataFrame({"f": rng.normal(size=90), "g": rng.normal(size=90),
                          "label": ["a"] * 50 + ["b"] * 30 + ["c"] * 10})
    cat = DataCatalog(tmp_path / "data")
    (rec,) = cat.import_files([_write_csv(tmp_path / "three.csv", frame)])
    assert rec.minority_label is None and len(rec.class_counts) == 3
    with pytest.raises(DataError, match="binary"):
        cat.split("three", 20, 0)
    s = cat.split("three", None, 0)
    assert set(np.unique(np.concatenate([s.y_train, s.y_val, s.y_test]))) == {0, 1, 2}
    _, y = cat.load_frame("three")
    # LabelEncoder order: a -> 0, b -> 1, c -> 2
    assert np.bincount(np.concatenate([s.y_train, s.y_val, s.y_test])).tolist() == [50, 30, 10]
    st = cat.stratified_split("three", 0)
    assert np.bincount(st.y_test).tolist() == [10, 6, 2]
    assert table1([rec], [20]).empty


def test_directory_scan_and_path_errors(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    _write_csv(src / "one.csv", _binary_frame(40))
    _write_csv(src / "sub" / "two.csv", _binary_frame(40, seed=2))
    (src / "PROVENANCE.md").write_text("# not data\n")
    (src / "notes.txt").write_text("nothing")
    cat = DataCatalog(tmp_path / "data")
    assert [r.name for r in cat.import_files([src])] == ["one"]
    assert sorted(r.name for r in cat.import_files([src], recursive=True)) == ["one", "two"]

    with pytest.raises(DataError, match="does not exist"):
        cat.import_files([tmp_path / "missing.csv"])
    with pytest.raises(DataError, match="not a data file"):
        cat.import_files([src / "notes.txt"])
    with pytest.raises(DataError, match="exactly one"):
        cat.import_files([src], name="x", recursive=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no .arff"):
        cat.import_files([empty])
    (tmp_path / "bad.csv").write_bytes(b'a,b\n"1,2\n')
    with pytest.raises(DataError, match="cannot parse"):
        cat.import_files([tmp_path / "bad.csv"])


def test_get_unknown_suggests_and_folds_names(synth):
    cat, name = synth
    assert cat.get("SYNTH").name == name
    with pytest.raises(DataError) as e:
        cat.get("synht")
    msg = str(e.value)
    assert "did you mean synth" in msg and "bench data import PATH" in msg and "\n" not in msg
    with pytest.raises(DataError, match="bench data pull phoneme"):
        cat.get("phoneme")
    assert str(DataError("two\nlines")) == "two lines"


def test_replacing_a_dataset_invalidates_its_splits(tmp_path):
    cat = DataCatalog(tmp_path / "data")
    a = _write_csv(tmp_path / "a.csv", _binary_frame(300, seed=0))
    (rec1,) = cat.import_files([a], name="same")
    s1 = cat.split("same", 5, 0)
    b = _write_csv(tmp_path / "b.csv", _binary_frame(300, seed=7))
    (rec2,) = cat.import_files([b], name="same")
    assert rec2.sha256 != rec1.sha256 and [r.name for r in cat.records()] == ["same"]
    s2 = cat.split("same", 5, 0)
    assert not np.array_equal(s1.X_train, s2.X_train)
    assert len(list((cat.root / "splits").glob("*.npz"))) == 2


# ------------------------------------------------------------------------------------------
# splits
# ------------------------------------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("ir", [20, 50, 100])
def test_phoneme_split_sizes_follow_table1_arithmetic(offline: DataCatalog, ir):
    seed = 3
    _, y = offline.load_frame("phoneme")
    is_min = (y.to_numpy() == "2")
    n = len(y)
    perm = np.random.RandomState(seed).permutation(n)
    b1, b2 = int(n * 0.2), int(n * 0.4)
    parts = {"val": perm[:b1], "test": perm[b1:b2], "train": perm[b2:]}
    # disjoint and covering, 60/20/20 before under-sampling
    assert sum(len(p) for p in parts.values()) == n and len(np.unique(perm)) == n
    assert (len(parts["val"]), len(parts["test"]), len(parts["train"])) == (1080, 1081, 3243)
    s = offline.split("phoneme", ir, seed)
    for key, ys in (("train", s.y_train), ("val", s.y_val), ("test", s.y_test)):
        maj = int((~is_min[parts[key]]).sum())
        assert int((ys == 0).sum()) == maj, key
        assert int((ys == 1).sum()) == maj // ir, key
    full = offline.split("phoneme", None, seed)
    assert (len(full.y_val), len(full.y_test), len(full.y_train)) == (1080, 1081, 3243)
    assert int(full.y_train.sum() + full.y_val.sum() + full.y_test.sum()) == 1586


@needs_shared
def test_phoneme_split_matches_manual_reference_pipeline(offline: DataCatalog):
    from imblearn.datasets import make_imbalance
    from sklearn.preprocessing import StandardScaler

    seed, ir = 4, 20
    X, y = offline.load_frame("phoneme")
    Xa = X.to_numpy(dtype=float)
    codes = (y.to_numpy() == "2").astype(int)  # LabelEncoder: '1' -> 0, '2' -> 1 (minority)
    n = len(y)
    perm = np.random.RandomState(seed).permutation(n)
    idx = {"val": perm[:int(n * 0.2)], "test": perm[int(n * 0.2):int(n * 0.4)],
           "train": perm[int(n * 0.4):]}
    res = {}
    for k, i in idx.items():
        counts = np.bincount(codes[i])
        res[k] = make_imbalance(Xa[i], codes[i], sampling_strategy={1: counts.max() // ir},
                                random_state=seed)
    sc = StandardScaler().fit(res["train"][0])
    s = offline.split("phoneme", ir, seed)
    for k, (xs, ys) in (("train", (s.X_train, s.y_train)), ("val", (s.X_val, s.y_val)),
                        ("test", (s.X_test, s.y_test))):
        np.testing.assert_allclose(xs, sc.transform(res[k][0]), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(ys, res[k][1])
    assert s.X_train.dtype == np.float64 and s.X_train.flags.c_contiguous
    assert s.y_train.dtype == np.int64 and s.feature_names == ["V1", "V2", "V3", "V4", "V5"]


def _rowids(s: Split) -> dict[str, set[float]]:
    """Row ids of each part, read back from the (monotone, shared) scaling of 'rowid'."""
    col = s.feature_names.index("rowid")
    return {k: set(np.round(getattr(s, f"X_{k}")[:, col], 9)) for k in ("train", "val", "test")}


def test_splits_disjoint_and_under_sampled_subsets(synth):
    cat, name = synth
    full = cat.split(name, None, 11, leak=True)  # leak=True: one scaler for every split
    ids = _rowids(full)
    assert not (ids["train"] & ids["val"]) and not (ids["train"] & ids["test"])
    assert not (ids["val"] & ids["test"])
    assert sum(len(v) for v in ids.values()) == 400
    assert (len(ids["val"]), len(ids["test"]), len(ids["train"])) == (80, 80, 240)
    sub = cat.split(name, 4, 11, leak=True)
    sub_ids = _rowids(sub)
    for k in ids:
        assert sub_ids[k] <= ids[k]
    for ys in (sub.y_train, sub.y_val, sub.y_test):
        assert (ys == 1).sum() == (ys == 0).sum() // 4
    assert sub.feature_names == ["rowid", "x1", "x2", "color_blue", "color_green", "color_red"]


def test_no_leakage_by_default(synth):
    cat, name = synth
    s = cat.split(name, None, 0)
    num = slice(0, 3)
    np.testing.assert_allclose(s.X_train[:, num].mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(s.X_train[:, num].std(axis=0), 1, atol=1e-10)
    assert np.all(np.abs(s.X_val[:, num].mean(axis=0)) > 1e-6)
    assert np.all(np.abs(s.X_test[:, num].mean(axis=0)) > 1e-6)

    leaky = cat.split(name, None, 0, leak=True)
    every = np.vstack([leaky.X_train, leaky.X_val, leaky.X_test])[:, num]
    np.testing.assert_allclose(every.mean(axis=0), 0, atol=1e-10)
    assert np.all(np.abs(leaky.X_train[:, num].mean(axis=0)) > 1e-6)
    np.testing.assert_array_equal(leaky.y_train, s.y_train)
    assert not np.allclose(leaky.X_train, s.X_train)


def test_impute_zero_and_mean(tmp_path):
    frame = _binary_frame(200)
    frame.loc[::7, "x1"] = np.nan
    frame.loc[::11, "color"] = np.nan
    cat = DataCatalog(tmp_path / "data")
    (rec,) = cat.import_files([_write_csv(tmp_path / "gaps.csv", frame)])
    assert rec.n_features_encoded == 3 + 4  # 3 colors + missing
    z = cat.split("gaps", None, 0)
    m = cat.split("gaps", None, 0, impute="mean")
    assert not np.isnan(z.X_train).any() and not np.isnan(m.X_train).any()
    assert "color___missing__" in z.feature_names and len(z.feature_names) == 7
    assert len(m.feature_names) == 8 and any("missingindicator" in f for f in m.feature_names)
    with pytest.raises(DataError, match="impute"):
        cat.split("gaps", None, 0, impute="median")


def test_ir_errors(synth):
    cat, name = synth
    with pytest.raises(DataError, match="smaller IR"):
        cat.split(name, 1000, 0)
    with pytest.raises(DataError, match="larger IR"):
        cat.split(name, 1, 0)
    with pytest.raises(DataError, match="positive integer"):
        cat.split(name, 0, 0)


def test_determinism(tmp_path):
    csv = _write_csv(tmp_path / "d.csv", _binary_frame(300))
    c1, c2 = DataCatalog(tmp_path / "one"), DataCatalog(tmp_path / "two")
    c1.import_files([csv])
    c2.import_files([csv])
    state = np.random.get_state()
    a, b = c1.split("d", 5, 7), c2.split("d", 5, 7)  # separate caches: both built from scratch
    _assert_same_split(a, b)
    other = c1.split("d", 5, 8)
    assert not np.array_equal(a.y_train, other.y_train) or not np.array_equal(a.X_train, other.X_train)
    assert c1.stratified_split("d", 1).y_test.tolist() == c2.stratified_split("d", 1).y_test.tolist()
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1])  # global RNG untouched


def test_split_cache_is_reused_and_rebuilt_when_corrupt(synth, monkeypatch):
    cat, name = synth
    calls = []
    real_build = facade.ir_split

    def counting(*args, **kwargs):
        calls.append(args)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(facade, "ir_split", counting)
    first = cat.split(name, 4, 0)
    assert len(calls) == 1
    (npz,) = (cat.root / "splits").glob("*.npz")
    sidecar = npz.with_suffix(".sha256")
    assert sidecar.read_text().strip() == hashlib.sha256(npz.read_bytes()).hexdigest()
    mtime = npz.stat().st_mtime_ns

    second = cat.split(name, 4, 0)
    assert len(calls) == 1 and npz.stat().st_mtime_ns == mtime
    _assert_same_split(first, second)

    # flip bytes in the middle of the npz: checksum mismatch -> silent rebuild, same content
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    third = cat.split(name, 4, 0)
    assert len(calls) == 2
    _assert_same_split(first, third)

    # garbage whose checksum matches (e.g. written by hand): unreadable -> rebuild
    npz.write_bytes(b"not a zip")
    sidecar.write_text(hashlib.sha256(b"not a zip").hexdigest())
    _assert_same_split(first, cat.split(name, 4, 0))
    assert len(calls) == 3

    sidecar.unlink()
    _assert_same_split(first, cat.split(name, 4, 0))
    assert len(calls) == 4

    # other parameters -> other cache entries
    cat.split(name, 4, 0, leak=True)
    cat.split(name, 4, 0, impute="mean")
    assert len(calls) == 6 and len(list((cat.root / "splits").glob("*.npz"))) == 3
    assert not list((cat.root / "splits").glob("*.tmp"))


def test_stratified_split(synth):
    cat, name = synth
    s = cat.stratified_split(name, 0)
    assert s.X_train.shape == (320, 6) and s.X_test.shape == (80, 6)
    assert s.X_val.shape == (0, 6) and s.y_val.shape == (0,) and s.y_val.dtype == np.int64
    assert s.y_train.sum() == 96 and s.y_test.sum() == 24  # 30 % minority in both
    np.testing.assert_allclose(s.X_train[:, :3].mean(axis=0), 0, atol=1e-10)
    assert len(list((cat.root / "splits").glob("*.npz"))) == 1
    _assert_same_split(s, cat.stratified_split(name, 0))
    assert len(list((cat.root / "splits").glob("*.npz"))) == 1
    assert cat.stratified_split(name, 0, test_size=0.25).X_test.shape == (100, 6)


# ------------------------------------------------------------------------------------------
# the split protocol as pure functions (no disk)
# ------------------------------------------------------------------------------------------


def _golden_frame(n_classes: int) -> pd.DataFrame:
    """120 rows: numbers exact in binary, missing values in a numeric and a categorical column."""
    rng = np.random.RandomState(42)
    n = 120
    labels = ["no", "yes", "maybe"][:n_classes]
    y = np.asarray(labels, dtype=object)[np.minimum((rng.rand(n) * 2.8).astype(int), n_classes - 1)]
    u = rng.randint(-40, 40, n) / 8.0
    u[rng.rand(n) < 0.1] = np.nan
    v = rng.randint(0, 100, n) / 4.0
    colour = rng.choice(["red", "green", "blue"], n).astype(object)
    colour[rng.rand(n) < 0.1] = None
    return pd.DataFrame({"u": u, "v": v, "colour": colour, "label": y})


def _digest(s: Split) -> str:
    h = hashlib.sha256()
    for f in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        a = getattr(s, f)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    h.update("\n".join(s.feature_names).encode())
    return h.hexdigest()


# Digests of the arrays DataCatalog.split / stratified_split gave for these frames (imported as Parquet)
# before the data layer became bench.data: the cached splits and the committed results depend on them.
@pytest.mark.parametrize("n_classes,kind,kwargs,expected", [
    (2, "ir", dict(ir=3, seed=5), "702a363052c9a92c83a6320702d78acd0be6cc54aafc9a48725153fc9cc903f3"),
    (2, "ir", dict(ir=3, seed=5, impute="mean"),
     "d957d51f9a009472d0d3043c790dd6fa11c9f818de053ebcb86f8bddb1575a1d"),
    (2, "ir", dict(ir=None, seed=9, leak=True),
     "85655e45a86f9b38981753a4107e039f978195264d301850b7471c607e3f6d14"),
    (2, "stratified", dict(seed=2, test_size=0.25, impute="mean"),
     "31ff0560e6d1d5da5fe27820a2fe9952aa97a55230bae3fbd82eaa5e5bb1f1d6"),
    (3, "ir", dict(ir=None, seed=1), "1c84da35dc596c86c774ca37e2ee5339d9f88fca50761936c3d765ffc3dd0047"),
    (3, "stratified", dict(seed=4), "026d8155f03ad27c8f0c8dd57925e52cb27199390500dc941febdbf12f06f46e"),
])
def test_pure_split_reproduces_the_earlier_catalog_bit_for_bit(n_classes, kind, kwargs, expected):
    frame = _golden_frame(n_classes)
    X, y = frame.drop(columns=["label"]), frame["label"]
    minority = "no" if n_classes == 2 else None  # 'yes' 70 / 'no' 50
    make = ir_split if kind == "ir" else stratified_split
    assert _digest(make(X, y, minority=minority, **kwargs)) == expected


def _tiny(n: int = 50, n_min: int = 10) -> tuple[pd.DataFrame, np.ndarray]:
    """Row i has rowid i; the minority 'pos' is every fifth row; v has a gap; 'c' is categorical."""
    y = np.where(np.arange(n) % (n // n_min) == 0, "pos", "neg")
    v = np.arange(n, dtype=float) * 2.0
    v[[3, 31]] = np.nan
    X = pd.DataFrame({"rowid": np.arange(n, dtype=float), "v": v,
                      "c": np.where(np.arange(n) < n - 1, "a", "b")})  # 'b' in one row only
    return X, y


def test_ir_split_sizes_and_class_counts_by_hand():
    X, y = _tiny()  # 50 rows: 40 neg, 10 pos
    s = ir_split(X, y, minority="pos", ir=None, seed=3)
    # int(50 * 0.2) = 10 validation rows, int(50 * 0.4) - 10 = 10 test rows, 30 training rows
    assert (len(s.y_val), len(s.y_test), len(s.y_train)) == (10, 10, 30)
    ys = np.concatenate([s.y_train, s.y_val, s.y_test])
    assert np.bincount(ys).tolist() == [40, 10] and ys.dtype == np.int64  # pos -> 1
    assert s.feature_names == ["rowid", "v", "c_a", "c_b"]  # 'b' encoded whichever split holds it

    # seed 3 deals (neg, pos) = (24, 6) to train, (9, 1) to validation, (7, 3) to test
    assert [np.bincount(p).tolist() for p in (s.y_train, s.y_val, s.y_test)] == [[24, 6], [9, 1], [7, 3]]
    u = ir_split(X, y, minority="pos", ir=5, seed=3)  # each split on its own: pos -> neg // 5
    assert [np.bincount(p).tolist() for p in (u.y_train, u.y_val, u.y_test)] == [[24, 4], [9, 1], [7, 1]]
    with pytest.raises(DataError, match="smaller IR"):
        ir_split(X, y, minority="pos", ir=100, seed=3, name="tiny")
    with pytest.raises(DataError, match="tiny has 3 classes; an IR needs binary"):
        ir_split(X, np.arange(50) % 3, minority=None, ir=4, seed=3, name="tiny")


def test_ir_split_order_and_preprocessing_fitted_on_train_only():
    X, y = _tiny()
    seed = 3
    perm = np.random.RandomState(seed).permutation(50)
    val, test, train = perm[:10], perm[10:20], perm[20:]  # the authors' order
    v0 = X["v"].fillna(0.0).to_numpy()  # impute 'zero': missing -> 0, then scale
    for leak, fit in ((False, train), (True, np.arange(50))):
        s = ir_split(X, y, minority="pos", ir=None, seed=seed, leak=leak)
        for rows, Xs in ((train, s.X_train), (val, s.X_val), (test, s.X_test)):
            np.testing.assert_allclose(Xs[:, 0], (rows - fit.mean()) / fit.std(), rtol=0, atol=1e-12)
            np.testing.assert_allclose(Xs[:, 1], (v0[rows] - v0[fit].mean()) / v0[fit].std(), rtol=0, atol=1e-12)
        assert s.X_train.dtype == np.float64 and s.X_train.flags.c_contiguous

    m = ir_split(X, y, minority="pos", ir=None, seed=seed, impute="mean")
    assert m.feature_names == ["rowid", "v", "missingindicator_v", "c_a", "c_b"]
    assert not np.isnan(m.X_val).any() and not np.isnan(m.X_train).any()


def test_pure_splits_are_deterministic_and_leave_inputs_and_global_rng_alone():
    X, y = _tiny()
    before = X.copy()
    state = np.random.get_state()
    a = ir_split(X, y, minority="pos", ir=5, seed=7)
    _assert_same_split(a, ir_split(X, y, minority="pos", ir=5, seed=7))
    assert not np.array_equal(a.X_val, ir_split(X, y, minority="pos", ir=5, seed=8).X_val)
    st = stratified_split(X, y, minority="pos", seed=7)
    _assert_same_split(st, stratified_split(X, y, minority="pos", seed=7))
    assert (len(st.y_train), len(st.y_val), len(st.y_test)) == (40, 0, 10)
    assert np.bincount(st.y_test).tolist() == [8, 2]  # stratified: 20 % of each class
    pd.testing.assert_frame_equal(X, before)
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1])


@needs_shared
def test_a_config_that_names_no_datasets_runs_the_paper_s_six(offline: DataCatalog):
    """Neither the project's bench.toml nor one's own names the six: a run plans every one of them."""
    own = parse_settings({"run": {"irs": [20], "seeds": [1], "classifiers": ["DT"], "samplers": ["No-resampling"]}})
    plan = runner.make_plan(own.run_for(), offline, set(), "zero", False)
    assert [u.dataset for u in plan.units] == ["phoneme", "PhishingWebsites", "eeg-eye-state", "mozilla4",
                                               "MagicTelescope", "electricity"]
    project = load_settings(Path(__file__).resolve().parents[1] / "bench.toml")
    for profile in ("quick", "paper", "reproduction", "paper-tvae"):
        assert project.run_for(profile).datasets == tuple(u.dataset for u in plan.units), profile


# ------------------------------------------------------------------------------------------
# OpenML pull (mocked: no network)
# ------------------------------------------------------------------------------------------


class _FakeOpenMLDataset:
    def __init__(self, frame: pd.DataFrame, target: str, name: str = "fake", row_id: str | None = None):
        self.frame, self.default_target_attribute, self.name = frame, target, name
        self.row_id_attribute = row_id
        self.calls: list[dict] = []

    def get_data(self, target=None, dataset_format="dataframe", **kw):
        self.calls.append({"target": target, "dataset_format": dataset_format})
        X = self.frame.drop(columns=[target])
        cat = [not pd.api.types.is_numeric_dtype(X[c]) for c in X.columns]
        return X, self.frame[target], cat, list(X.columns)


@pytest.fixture
def fake_openml(monkeypatch):
    openml = pytest.importorskip("openml")
    # pull() sets the global cache directory: restore it after the test
    monkeypatch.setattr(openml.config, "_root_cache_directory", openml.config._root_cache_directory)
    return openml


def test_pull_without_network(tmp_path, fake_openml, monkeypatch):
    import requests

    def offline(*a, **kw):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(fake_openml.datasets, "get_dataset", offline)
    cat = DataCatalog(tmp_path / "data")
    with pytest.raises(DataError) as e:
        cat.pull(["phoneme"])
    msg = str(e.value)
    assert msg.startswith("cannot reach OpenML and no cached copy of phoneme")
    assert "bench data import PATH" in msg and "\n" not in msg
    assert fake_openml.config._root_cache_directory == cat.root / "openml"

    def offline2(*a, **kw):
        raise requests.exceptions.ConnectionError("Max retries exceeded")

    monkeypatch.setattr(fake_openml.datasets, "get_dataset", offline2)
    with pytest.raises(DataError, match="cannot reach OpenML"):
        cat.pull(["12345"])
    with pytest.raises(DataError, match="give one of phoneme"):
        cat.pull(["not-a-dataset"])


def test_pull_success_with_fake_openml(tmp_path, fake_openml, monkeypatch):
    frame = _binary_frame(120).drop(columns=["rowid"])
    frame["color"] = frame["color"].astype("category")
    frame["target"] = frame["target"].astype("category")
    fake = _FakeOpenMLDataset(frame, "target", name="my data", row_id=None)
    seen = {}

    def get_dataset(did, **kw):
        seen.update(kw, did=did)
        return fake

    monkeypatch.setattr(fake_openml.datasets, "get_dataset", get_dataset)
    cat = DataCatalog(tmp_path / "data")
    (rec,) = cat.pull(["424242"])
    assert seen == {"did": 424242, "download_data": True, "download_qualities": False,
                    "download_features_meta_data": False}
    assert fake.calls == [{"target": "target", "dataset_format": "dataframe"}]
    assert rec.name == "my_data" and rec.source == "openml:424242" and not rec.known
    assert rec.categorical == ["color"] and rec.minority_label == "pos"
    assert cat.get("my_data") == rec and cat.split("my_data", None, 0).X_train.shape[1] == 5

    # a known name: same checks as an import
    monkeypatch.setattr(fake_openml.datasets, "get_dataset",
                        lambda did, **kw: _FakeOpenMLDataset(frame.rename(columns={"target": "Class"}),
                                                             "Class"))
    with pytest.raises(DataError, match="does not match the known dataset phoneme"):
        cat.pull(["phoneme"])

    # network down and phoneme never registered here: nothing to fall back on
    def offline(*a, **kw):
        raise ConnectionError("down")

    monkeypatch.setattr(fake_openml.datasets, "get_dataset", offline)
    with pytest.raises(DataError, match="no cached copy of phoneme"):
        cat.pull(["phoneme"])


@needs_shared
def test_pull_known_matches_import(tmp_path, offline: DataCatalog, fake_openml, monkeypatch):
    raw = pd.read_csv(SHARED / "phoneme.csv")
    raw["Class"] = raw["Class"].astype(str).astype("category")  # OpenML serves nominal targets
    monkeypatch.setattr(fake_openml.datasets, "get_dataset",
                        lambda did, **kw: _FakeOpenMLDataset(raw, "Class", name="phoneme", row_id=None))
    cat = DataCatalog(tmp_path / "data")
    (rec,) = cat.pull(["Phoneme"])
    imported = offline.get("phoneme")
    assert rec.sha256 == imported.sha256  # same normalized copy whichever way it came
    assert dataclasses.replace(rec, source="x") == dataclasses.replace(imported, source="x")

    def offline_get(*a, **kw):
        raise ConnectionError("down")

    monkeypatch.setattr(fake_openml.datasets, "get_dataset", offline_get)
    assert cat.pull(["1489"]) == [rec]  # registered copy used when OpenML is unreachable


# ------------------------------------------------------------------------------------------
# Table 1
# ------------------------------------------------------------------------------------------


@needs_shared
def test_table1_on_the_six(offline: DataCatalog):
    t = table1(offline.records(), [20, 50, 100])
    assert list(t.columns) == ["name", "majority", "minority", "n_features_encoded"]
    row = t.set_index("name").loc["phoneme"]
    assert row["majority"] == 3818 and row["minority"] == "190/76/38"
    assert t.set_index("name").loc["electricity", "minority"] == "1303/521/260"
    assert t.set_index("name")["n_features_encoded"].to_dict() == {k: v[2] for k, v in EXPECTED.items()}
    assert t.attrs["irs"] == [20, 50, 100]


def test_table1_synthetic():
    rec = DatasetRecord(name="x", source="s", sha256="0", n_rows=4003, n_features=2,
                        n_features_encoded=3, categorical=[], target="t",
                        class_counts={"a": 3818, "b": 185}, minority_label="b", known=False)
    t = table1([rec], [20, 50, 100])
    assert t.to_dict("records") == [{"name": "x", "majority": 3818, "minority": "190/76/38",
                                     "n_features_encoded": 3}]
