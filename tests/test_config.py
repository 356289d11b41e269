from pathlib import Path

import pydantic
import pytest

from bench.config import (PROFILES, CheckSettings, ConfigError, DataSettings, RunSettings, Settings, TableSettings,
                          load_settings, parse_settings)

PROJECT_TOML = Path(__file__).resolve().parents[1] / "bench.toml"


def test_profile_then_flags_override_run_section():
    s = parse_settings({"run": {"seeds": [1, 2, 3], "irs": [20]}, "profiles": {"quick": {"seeds": [1]}}})
    assert s.run_for("quick").seeds == (1,)
    assert s.run_for("quick").irs == (20,)
    assert s.run_for("paper").seeds == (1, 2, 3)
    assert s.run_for("quick", irs=(50,), seeds=None).irs == (50,)
    assert s.run_for("quick", irs=(50,), seeds=None).seeds == (1,)   # None: the flag was not given
    assert s.run_for().profile == "quick" and s.run_for("ci").profile == "ci"


def test_profile_per_sampler_tables_merge_key_by_key():
    s = parse_settings({"run": {"params": {"AutoSMOTE": {"budget": 1000, "g2": 10}, "SMOTE": {"k": 5}},
                                "time_limits": {"AutoSMOTE": 7200, "SMOTE": 60}},
                        "profiles": {"quick": {"params": {"AutoSMOTE": {"budget": 100}, "ADASYN": {"n": 3}},
                                               "time_limits": {"SMOTE": 30}}}})
    run = s.run_for("quick")
    assert run.params == {"AutoSMOTE": {"budget": 100, "g2": 10}, "SMOTE": {"k": 5}, "ADASYN": {"n": 3}}
    assert run.time_limits == {"AutoSMOTE": 7200.0, "SMOTE": 30.0}
    assert s.run.params["AutoSMOTE"] == {"budget": 1000, "g2": 10}   # [run] itself is untouched


@pytest.mark.parametrize("raw, words", [
    ({"run": {"seedz": [1]}}, ["run.seedz", "seeds"]),
    ({"run": {"seeds": "one"}}, ["run.seeds", "integer"]),
    ({"run": {"time_limit": -3}}, ["run.time_limit", "positive number"]),
    ({"data": {"leak": "no"}}, ["data.leak", "true or false"]),
    ({"table": {"pairing": "pairs"}}, ["table.pairing", "configuration"]),
    ({"profiles": {"quick": {"ratios": ["a"]}}}, ["profiles.quick.ratios", "ratios in (0, 1]"]),
    ({"runs": {}}, ["[runs]"]),
    ({"profiles": {"quick": {"seeds": [1, "x"]}}}, ["profiles.quick.seeds", "integer", "item 2", "[profiles.quick]"]),
    ({"profiles": {"quick": {"sed": [1]}}}, ["profiles.quick.sed", "profiles.quick.seeds"]),
    ({"profiles": {"quick": 3}}, ["profiles.quick", "table"]),
    ({"run": 3}, ["[run]", "table"]),
    ({"run": {"irs": 5.5}}, ["run.irs", "list of positive integers"]),
    ({"run": {"irs": []}}, ["run.irs", "non-empty list"]),
    ({"run": {"split": "random"}}, ["run.split", '"ir", "stratified"', 'split = "ir"']),
    ({"run": {"test_size": 1.0}}, ["run.test_size", "between 0 and 1"]),
    ({"run": {"workers": -1}}, ["run.workers", "integer >= 0"]),
    ({"run": {"workers": 1.5}}, ["run.workers", "integer"]),
    ({"run": {"params": {"AutoSMOTE": 100}}}, ["run.params.AutoSMOTE", "table of parameters"]),
    ({"run": {"time_limits": {"AutoSMOTE": "long"}}}, ["run.time_limits.AutoSMOTE", "positive number"]),
    ({"data": {"impute": "median"}}, ["data.impute", '"zero", "mean"']),
    ({"table": {"alternative": "less"}}, ["table.alternative", '"greater", "two-sided"']),
    ({"table": {"noop": 0}}, ["table.noop", '"score", "missing"']),
    ({"table": {"alpha": 5}}, ["table.alpha", "between 0 and 1"]),
    ({"check": {"tolerance": 0}}, ["check.tolerance", "positive number"]),
    ({"check": {"score_tolerance": -0.1}}, ["check.score_tolerance", "positive number"]),
    ({"check": {"baseline": 1}}, ["check.baseline", "string"]),
])
def test_malformed_settings_name_the_key_and_type(raw, words):
    with pytest.raises(ConfigError) as err:
        parse_settings(raw, source="my.toml")
    message = str(err.value)
    assert message.startswith("my.toml: "), message
    assert all(w in message for w in words), message
    assert "\n" not in message


def test_unknown_key_suggests_the_nearest():
    with pytest.raises(ConfigError) as err:
        parse_settings({"run": {"sed": [1]}})
    assert str(err.value) == "bench.toml: unknown key run.sed; did you mean run.seeds?"
    with pytest.raises(ConfigError, match=r"unknown section \[tables\]; did you mean \[table\]\?"):
        parse_settings({"tables": {}})
    with pytest.raises(ConfigError, match=r"unknown key table.xyz; use one of table.metric, table.reference, "):
        parse_settings({"table": {"xyz": 1}})


def test_the_fix_shows_a_valid_value():
    with pytest.raises(ConfigError) as err:
        parse_settings({"run": {"time_limit": "fast"}})
    assert str(err.value).endswith("write e.g. time_limit = 900 under [run]")


def test_bad_flags_name_the_flag():
    s = parse_settings({})
    with pytest.raises(ConfigError, match=r"^--time-limit must be a positive number, got -5.0$"):
        s.run_for(time_limit=-5.0)
    with pytest.raises(ConfigError, match=r"^--ratios must be a non-empty list of ratios in \(0, 1\], got 0.5,2.0$"):
        s.run_for(ratios=(0.5, 2.0))   # a ratio above 1 asks the minority to outnumber the majority
    assert s.run_for(ratios=(1.0,)).ratios == (1.0,)
    with pytest.raises(TypeError):
        s.run_for(seedz=(1,))


def test_unknown_profile_is_named():
    with pytest.raises(ConfigError, match="unknown profile 'fast'"):
        parse_settings({}).run_for("fast")


def test_invalid_toml_names_the_file(tmp_path):
    bad = tmp_path / "bench.toml"
    bad.write_text("[run]\nseeds = [1, 2\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad)


def test_project_bench_toml_is_valid():
    s = load_settings(PROJECT_TOML)
    assert set(PROFILES) <= set(s.profiles)
    for name in s.profiles:
        s.run_for(name)


def test_project_bench_toml_states_the_built_in_defaults():
    """The project's bench.toml and the models' defaults are the same settings; the file names every key of
    [data], [run] and [check], but leaves the datasets (bench.data.paper's six), the Ray cluster's address (none:
    TOML has no null) and [table] to the models."""
    loaded, built_in = load_settings(PROJECT_TOML), Settings()
    assert loaded.model_copy(update={"profiles": {}, "source": ""}) == \
        built_in.model_copy(update={"profiles": {}, "source": ""})
    for section in ("data", "run", "check"):
        named = getattr(loaded, section).model_fields_set
        assert named == set(type(getattr(loaded, section)).model_fields) - {"datasets", "ray_address"}, section
    assert loaded.table.model_fields_set == set()
    assert set(built_in.profiles) == set(PROFILES) and built_in.run_for().profile == "quick"
    for name, body in PROFILES.items():   # the built-in profiles too
        assert loaded.profiles[name] == body, name


def test_a_config_of_one_s_own_keeps_the_built_in_profiles():
    """`quick` stays the quick job (not [run]'s 50400-row paper grid) in a file that does not define it."""
    own = parse_settings({"run": {"results": "mine"}}, source="mine.toml")
    project = load_settings(PROJECT_TOML)
    for name in PROFILES:
        assert own.run_for(name).model_dump(exclude={"results"}) == \
            project.run_for(name).model_dump(exclude={"results"}), name
    assert own.run_for().seeds == (1,) and own.run_for("ci").datasets == ("phoneme", "mozilla4")
    replaced = parse_settings({"profiles": {"quick": {"seeds": [7]}}})
    assert replaced.run_for("quick").seeds == (7,) and replaced.run_for("quick").ratios == RunSettings().ratios


def test_defaults_without_a_file_are_the_built_in_ones():
    assert parse_settings({}).model_copy(update={"source": Settings().source}) == Settings()
    assert Settings().run.samplers == ("No-resampling", "imblearn", "AutoSMOTE")


def test_the_table_settings_defaults_are_those_of_every_reader():
    """A table read with no [table] section and no flags uses the settings' defaults: the options of
    bench.analysis and the statistics' Wilcoxon setting take theirs from TableSettings, not from a copy."""
    from bench.analysis import Options
    from bench.stats import WilcoxonSetting
    table = TableSettings()
    assert Options() == Options.from_settings(table)
    assert Options().wilcoxon == WilcoxonSetting(table.reference) == Options.from_settings(table).wilcoxon
    for key in ("pairing", "alternative", "noop", "correction", "failed"):
        assert getattr(table, key) in TableSettings.choices(key)
        for other in TableSettings.choices(key):   # every choice the settings allow, the readers accept
            assert getattr(Options(**{key: other}), key) == other
    with pytest.raises(ValueError, match="pairing"):
        WilcoxonSetting(table.reference, pairing="seed")   # what the settings refuse, the statistics refuse


def test_the_table_metric_is_a_setting():
    assert TableSettings().metric == "macro_f1" and parse_settings({"table": {"metric": "mcc"}}).table.metric == "mcc"
    with pytest.raises(ConfigError, match=r'^my.toml: table.metric must be one of "macro_f1", "mcc", '):
        parse_settings({"table": {"metric": "auc"}}, source="my.toml")


def test_settings_are_frozen_and_round_trip():
    s = load_settings(PROJECT_TOML)
    run = s.run_for("ci", seeds=(7,))
    with pytest.raises(pydantic.ValidationError):
        run.seeds = (1,)
    assert RunSettings.model_validate(run.model_dump()) == run
    assert run.model_copy(update={"results": "elsewhere"}).results == "elsewhere"
    for model in (DataSettings, RunSettings, TableSettings, CheckSettings, Settings):
        assert model.model_config["extra"] == "forbid" and model.model_config["frozen"]


def test_data_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path))
    assert Settings().data_dir == tmp_path
    monkeypatch.delenv("BENCH_DATA_DIR")
    assert Settings().data_dir == Path("~/.cache/autosmote-bench").expanduser()
