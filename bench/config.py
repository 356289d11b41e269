"""bench.toml -> typed, validated settings; profiles; command-line overrides.

Every user mistake in the file ends as a ConfigError whose message names the key, the expected type and
the fix, so the CLI can print one line and exit 2.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

CONFIG_ENV = "BENCH_CONFIG"
DATA_DIR_ENV = "BENCH_DATA_DIR"
PROFILES = ("paper", "quick", "ci")


class ConfigError(Exception):
    """A bench.toml or flag problem; str(e) is one line naming the fix."""


@dataclass(frozen=True)
class DataSettings:
    dir: str = "~/.cache/autosmote-bench"
    impute: str = "zero"
    leak: bool = False


@dataclass(frozen=True)
class RunSettings:
    profile: str = "quick"
    results: str = "runs"
    datasets: tuple[str, ...] = ()
    irs: tuple[int, ...] = (20, 50, 100)
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)
    classifiers: tuple[str, ...] = ("SVM", "KNN", "DT", "AdaBoost")
    samplers: tuple[str, ...] = ("No-resampling", "imblearn")
    metrics: tuple[str, ...] = ("macro_f1", "mcc")
    ratios: tuple[float, ...] = tuple(round(0.1 * i, 1) for i in range(1, 11))
    split: str = "ir"              # "ir": the paper's IR splits; "stratified": train/test at the data's own imbalance
    test_size: float = 0.2         # for split = "stratified"
    workers: int = 0
    time_limit: float = 900.0
    params: dict[str, dict[str, Any]] = field(default_factory=dict)   # sampler -> parameters (part of the key)
    time_limits: dict[str, float] = field(default_factory=dict)       # sampler -> seconds, overrides time_limit


@dataclass(frozen=True)
class TableSettings:
    reference: str = "SMOTE"
    pairing: str = "configuration"
    alternative: str = "greater"
    alpha: float = 0.05
    noop: str = "score"


@dataclass(frozen=True)
class CheckSettings:
    profile: str = "ci"
    baseline: str = "results/ci"
    tolerance: float = 0.5          # the largest allowed move of an average rank
    score_tolerance: float = 0.02   # across environments: the largest allowed difference of a score


@dataclass(frozen=True)
class Settings:
    data: DataSettings = field(default_factory=DataSettings)
    run: RunSettings = field(default_factory=RunSettings)
    table: TableSettings = field(default_factory=TableSettings)
    check: CheckSettings = field(default_factory=CheckSettings)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "built-in defaults"

    @property
    def data_dir(self) -> Path:
        return Path(os.environ.get(DATA_DIR_ENV) or self.data.dir).expanduser()

    def run_for(self, profile: str | None = None, **overrides: Any) -> RunSettings:
        """The [run] section, then the profile's keys, then flags that are not None."""
        name = profile or self.run.profile
        if name not in self.profiles:
            raise ConfigError(f"unknown profile {name!r}: use one of {', '.join(sorted(self.profiles))} "
                              f"or add [profiles.{name}] to {self.source}")
        merged = _section(RunSettings, self.profiles[name], f"profiles.{name}", base=self.run)
        changes = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(merged, profile=name, **changes)


_CHOICES = {
    "data.impute": ("zero", "mean"),
    "run.split": ("ir", "stratified"),
    "profiles.split": ("ir", "stratified"),
    "table.pairing": ("configuration", "run"),
    "table.alternative": ("greater", "two-sided"),
    "table.noop": ("score", "missing"),
}


_PLURAL = {"int": "integers", "float": "positive numbers", "str": "strings"}


def find_config(explicit: Path | None = None) -> Path | None:
    """--config, else $BENCH_CONFIG, else ./bench.toml, else the one beside the package (editable install)."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist: pass an existing bench.toml to --config")
        return explicit
    if os.environ.get(CONFIG_ENV):
        return find_config(Path(os.environ[CONFIG_ENV]))
    for candidate in (Path.cwd() / "bench.toml", Path(__file__).resolve().parents[1] / "bench.toml"):
        if candidate.is_file():
            return candidate
    return None


def load_settings(path: Path | None = None) -> Settings:
    path = find_config(path)
    if path is None:
        return Settings(profiles={name: {} for name in PROFILES})
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML ({err}): fix the syntax") from None
    return parse_settings(raw, source=str(path))


def parse_settings(raw: dict[str, Any], source: str = "bench.toml") -> Settings:
    known = {"data", "run", "table", "check", "profiles"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{source}: unknown section [{key}]; expected one of {', '.join(sorted(known))}")
    profiles_raw = raw.get("profiles", {})
    if not isinstance(profiles_raw, dict):
        raise ConfigError(f"{source}: profiles must be tables like [profiles.quick]")
    run = _section(RunSettings, raw.get("run", {}), "run", source=source)
    profiles = {}
    for name, body in profiles_raw.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{source}: profiles.{name} must be a table [profiles.{name}]")
        _section(RunSettings, body, f"profiles.{name}", base=run, source=source)  # validate now
        profiles[name] = body
    for name in PROFILES:
        profiles.setdefault(name, {})
    return Settings(
        data=_section(DataSettings, raw.get("data", {}), "data", source=source),
        run=run,
        table=_section(TableSettings, raw.get("table", {}), "table", source=source),
        check=_section(CheckSettings, raw.get("check", {}), "check", source=source),
        profiles=profiles,
        source=source,
    )


def _section(cls, body: dict[str, Any], where: str, base=None, source: str = "bench.toml"):
    if not isinstance(body, dict):
        raise ConfigError(f"{source}: [{where}] must be a table")
    names = {f.name: f for f in fields(cls)}
    values = {}
    for key, value in body.items():
        if key not in names:
            raise ConfigError(f"{source}: unknown key {where}.{key}; expected one of {', '.join(names)}")
        values[key] = _coerce(value, names[key].type, f"{where}.{key}", source)
        if base is not None and isinstance(values[key], dict):   # a profile adds to the [run] tables
            values[key] = _merge(getattr(base, key), values[key])
        section = where.split(".")[0]
        choices = _CHOICES.get(f"{section}.{key}")
        if choices and values[key] not in choices:
            raise ConfigError(f"{source}: {where}.{key} must be one of {', '.join(choices)}, got {value!r}")
    return dataclasses.replace(base, **values) if base is not None else cls(**values)


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Per-sampler tables merge key by key; plain values replace."""
    out = dict(base)
    for name, value in update.items():
        out[name] = {**out[name], **value} if isinstance(value, dict) and isinstance(out.get(name), dict) else value
    return out


def _coerce(value: Any, type_name: str, key: str, source: str) -> Any:
    """Check a TOML value against the field's declared type (dataclass field types are strings here)."""
    def fail(expected: str):
        raise ConfigError(f"{source}: {key} must be {expected}, got {value!r}")

    if type_name == "bool":
        return value if isinstance(value, bool) else fail("true or false")
    if type_name == "int":
        return value if isinstance(value, int) and not isinstance(value, bool) else fail("an integer")
    if type_name == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        return float(value) if ok else fail("a positive number")
    if type_name == "str":
        return value if isinstance(value, str) else fail("a string")
    if type_name == "dict[str, Any]":
        return value if isinstance(value, dict) else fail("a table of parameters, e.g. { budget = 100 }")
    if type_name.startswith("dict["):
        if not isinstance(value, dict):
            fail("a table keyed by sampler name, e.g. { AutoSMOTE = ... }")
        inner = type_name[len("dict[str, "):-1]
        return {name: _coerce(v, inner, f"{key}.{name}", source) for name, v in value.items()}
    if type_name.startswith("tuple["):
        item = type_name[len("tuple["):].split(",")[0]
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            fail(f"a non-empty list of {_PLURAL[item]}")
        return tuple(_coerce(v, item, key, source) for v in value)
    raise AssertionError(f"unhandled settings type {type_name}")
