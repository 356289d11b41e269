import pytest

from bench.config import ConfigError, load_settings, parse_settings


def test_profile_then_flags_override_run_section():
    s = parse_settings({"run": {"seeds": [1, 2, 3], "irs": [20]}, "profiles": {"quick": {"seeds": [1]}}})
    assert s.run_for("quick").seeds == (1,)
    assert s.run_for("quick").irs == (20,)
    assert s.run_for("paper").seeds == (1, 2, 3)
    assert s.run_for("quick", irs=(50,), seeds=None).irs == (50,)


@pytest.mark.parametrize("raw, words", [
    ({"run": {"seedz": [1]}}, ["run.seedz", "seeds"]),
    ({"run": {"seeds": "one"}}, ["run.seeds", "integer"]),
    ({"run": {"time_limit": -3}}, ["run.time_limit", "positive number"]),
    ({"data": {"leak": "no"}}, ["data.leak", "true or false"]),
    ({"table": {"pairing": "pairs"}}, ["table.pairing", "configuration"]),
    ({"profiles": {"quick": {"ratios": ["a"]}}}, ["profiles.quick.ratios", "positive number"]),
    ({"runs": {}}, ["[runs]"]),
])
def test_malformed_settings_name_the_key_and_type(raw, words):
    with pytest.raises(ConfigError) as err:
        parse_settings(raw)
    assert all(w in str(err.value) for w in words), str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_profile_is_named():
    with pytest.raises(ConfigError, match="unknown profile 'fast'"):
        parse_settings({}).run_for("fast")


def test_invalid_toml_names_the_file(tmp_path):
    bad = tmp_path / "bench.toml"
    bad.write_text("[run]\nseeds = [1, 2\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad)


def test_project_bench_toml_is_valid():
    from pathlib import Path
    s = load_settings(Path(__file__).resolve().parents[1] / "bench.toml")
    for name in ("paper", "quick", "ci"):
        s.run_for(name)
