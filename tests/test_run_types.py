"""The types a run is made of - a unit, its split kind, a row's status - name every run by the key it always had."""
from __future__ import annotations

import json

import pytest

from bench.data.split_protocol import SplitKind
from bench.protocol import Row, Unit, split_spec
from bench.run_status import RunStatus


def _units() -> tuple[Unit, Unit]:
    ir = Unit("toy", 20, 1, "SMOTE", "SMOTE[k_neighbors=3]", '{"k_neighbors": 3, "ratio": 0.5}', "v1",
              split_spec(SplitKind.IR, "zero", False, 0.2), '{"numpy": "2.0"}', ("SVM", "mine:C"),
              classifier_code='{"mine:C": {"factory": "mine:C", "params": {}, "version": "3"}}', data="abc")
    stratified = Unit("toy", 0, 2, "SMOTE", "SMOTE", '{"ratio": 1.0}', "v1",
                      split_spec(SplitKind.STRATIFIED, "mean", False, 0.25), "{}", ("DT",))
    return ir, stratified


def test_keys_and_split_specs_are_those_the_stores_hold():
    """Computed by the code before SplitKind and the parsed unit fields: a changed key would recompute a store."""
    ir, stratified = _units()
    assert [ir.key(c) for c in ir.classifiers] == ["944a0229873c371ca7bd6f31", "72ba6b5dd017a452c2950bd5"]
    assert stratified.key("DT") == "1ba52cbb171fe36a4b8971db"
    assert ir.split_spec == '{"impute": "zero", "kind": "ir", "leak": false}'
    assert stratified.split_spec == '{"impute": "mean", "kind": "stratified", "test_size": 0.25}'
    assert (ir.split_kind, stratified.split_kind) == (SplitKind.IR, SplitKind.STRATIFIED)


def test_a_unit_made_again_from_its_fields_keys_alike_and_only_outside_classifiers_carry_code():
    ir, _ = _units()
    again = Unit(**{name: getattr(ir, name) for name in ir.__dataclass_fields__})
    assert again.key("SVM") == ir.key("SVM") and again.spec("mine:C") == ir.spec("mine:C")
    assert "classifier_code" not in ir.spec("SVM")   # a built-in classifier's key holds no code identity
    assert json.loads(json.dumps(ir.spec("mine:C")))["classifier_code"]["version"] == "3"


def test_a_row_s_status_is_a_run_status_and_a_misspelt_one_is_refused():
    assert Row("k", {}, "no-op").status is RunStatus.NO_OP
    assert Row("k", {}, RunStatus.TIMEOUT).status is RunStatus.TIMEOUT
    with pytest.raises(ValueError, match="'fine'"):
        Row("k", {}, "fine")
