"""bench.toml -> typed, validated settings; profiles; command-line overrides.

The pydantic models below are the one source of the settings' types, constraints, allowed values and built-in
defaults: the command line's flags and help, the tables' options (bench.analysis.context.Options) and the
statistics (bench.stats.WilcoxonSetting) read theirs from here; the paper's six datasets come from
bench.data.paper. Every user mistake in the file ends as a ConfigError whose message is one line naming the
file, the key, what was expected and the fix, so the CLI can print it and exit 2.
"""
from __future__ import annotations

import copy
import difflib
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Optional, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MinLen
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictBool,
                      StringConstraints, ValidationError, model_validator)

from .data.paper import PAPER_DATASETS
from .errors import UserError
from .metrics import METRICS

CONFIG_ENV = "BENCH_CONFIG"
DATA_DIR_ENV = "BENCH_DATA_DIR"
#: The built-in profiles, [profiles.NAME] tables as the project's bench.toml states them (a test keeps the two
#: equal): a config file of one's own that leaves them out still has them, so `quick` stays the quick job
#: and does not become [run]'s full paper grid. A file's own [profiles.NAME] replaces the built-in one.
PROFILES: dict[str, dict[str, Any]] = {
    "paper": {"results": "results/paper",
              "samplers": ["No-resampling", "imblearn", "CTGAN", "TVAE", "MESA", "AutoSMOTE"],
              "time_limits": {"smote_variants": 300}},
    "quick": {"seeds": [1], "ratios": [0.2, 0.4, 0.6, 0.8, 1.0], "time_limit": 300,
              "params": {"AutoSMOTE": {"budget": 100}}},
    "ci": {"datasets": ["phoneme", "mozilla4"], "irs": [20, 50], "seeds": [1], "ratios": [0.5, 1.0], "time_limit": 120,
           "params": {"AutoSMOTE": {"budget": 20}}},
}


class ConfigError(UserError):
    """A bench.toml or flag problem; str(e) is one line naming the fix."""


# ------------------------------------------------------------------------------------------ value types
class _Says(NamedTuple):
    """How an error message names what a value must be: one of them, and a list of them."""
    one: str
    many: str


def _one_is_a_list(value: Any) -> Any:
    """`datasets = "phoneme"` means `datasets = ["phoneme"]`."""
    return [value] if isinstance(value, str) else value


def _first_of_each(values: tuple) -> tuple:
    """`irs = [20, 20]` means `irs = [20]`: a grid value given twice would be computed twice."""
    return tuple(dict.fromkeys(values))


def _list(item: Any) -> Any:
    """A non-empty TOML array, held as a tuple, each value once."""
    return Annotated[tuple[item, ...], BeforeValidator(_one_is_a_list), MinLen(1), AfterValidator(_first_of_each)]


Text = Annotated[str, Strict(), MinLen(1), _Says("a non-empty string", "non-empty strings")]
Flag = Annotated[bool, Strict(), _Says("true or false", "trues or falses")]
Count = Annotated[int, Strict(), Ge(0), _Says("an integer >= 0", "integers >= 0")]
PositiveInt = Annotated[int, Strict(), Gt(0), _Says("a positive integer", "positive integers")]
Positive = Annotated[float, Strict(), Gt(0), _Says("a positive number", "positive numbers")]
Fraction = Annotated[float, Strict(), Gt(0), Lt(1), _Says("a number between 0 and 1 (both excluded)",
                                                          "numbers between 0 and 1 (both excluded)")]
Texts = _list(Text)
Counts = _list(Count)
PositiveInts = _list(PositiveInt)
Positives = _list(Positive)
# The protocol's ratio N_minority / N_majority after resampling: above 0, at most 1 (balanced)
Ratio = Annotated[float, Strict(), Gt(0), Le(1), _Says("a ratio in (0, 1]", "ratios in (0, 1]")]
Ratios = _list(Ratio)
SamplerParams = Annotated[dict[str, Any], _Says("a table of parameters, e.g. { budget = 100 }",
                                                "tables of parameters")]

_FROZEN = ConfigDict(extra="forbid", frozen=True)

# The full ratio grid
_RATIOS = tuple(round(0.1 * i, 1) for i in range(1, 11))


# ------------------------------------------------------------------------------------------- sections
class DataSettings(BaseModel):
    model_config = _FROZEN

    dir: Text = "~/.cache/autosmote-bench"           # BENCH_DATA_DIR overrides it (Settings.data_dir)
    impute: Literal["zero", "mean"] = "zero"        # numeric gaps: 0 (the paper) or the mean (the authors' code)
    leak: Flag = False                              # fit preprocessing on all rows (the authors' code)


class RunSettings(BaseModel):
    model_config = _FROZEN

    profile: Text = "quick"
    results: Text = "runs"
    datasets: Texts = PAPER_DATASETS
    irs: PositiveInts = (20, 50, 100)
    seeds: Counts = (1, 2, 3, 4, 5)
    classifiers: Texts = ("SVM", "KNN", "DT", "AdaBoost")
    samplers: Texts = ("No-resampling", "imblearn", "AutoSMOTE")
    metrics: Texts = ("macro_f1", "mcc")
    ratios: Ratios = _RATIOS
    # "ir": the paper's IR splits; "holdout": the paper's 60/20/20 train/validation/test, stratified, at the data's own
    # imbalance; "stratified": train/test at the data's own imbalance, without a validation part
    split: Literal["ir", "stratified", "holdout"] = "ir"
    test_size: Fraction = 0.2                   # for split = "stratified"
    workers: Count = 0                          # 0 = one worker process per CPU core
    ray_address: Optional[Text] = None          # --executor ray: the cluster to attach to (--address overrides it)
    time_limit: Positive = 900.0
    # sampler or group -> parameters (part of every run's key, not of the name in tables); a name over its group
    params: Annotated[dict[str, SamplerParams], _Says("a table keyed by sampler or group name, e.g. "
                                                      "{ AutoSMOTE = { budget = 100 } }", "tables")] = \
        Field(default_factory=lambda: {"AutoSMOTE": {"budget": 1000}})
    # sampler or group -> seconds, overrides time_limit; a name over its group (bench.samplers.registry.per_sampler)
    time_limits: Annotated[dict[str, Positive], _Says("a table of seconds keyed by sampler or group name, e.g. "
                                                      "{ AutoSMOTE = 7200 }", "tables")] = \
        Field(default_factory=lambda: {"AutoSMOTE": 7200.0})


class TableSettings(BaseModel):
    model_config = _FROZEN

    metric: Literal[tuple(METRICS)] = "macro_f1"   # `bench table` when --metric is not given
    reference: Text = "AutoSMOTE"
    pairing: Literal["configuration", "run"] = "configuration"
    alternative: Literal["greater", "two-sided"] = "greater"
    alpha: Fraction = 0.05
    noop: Literal["score", "missing"] = "score"
    # multiple-testing correction of the Wilcoxon marks: "auto" is Holm for a store holding the holdout split's rows
    # (a collection: many datasets), else none (the paper's uncorrected marks)
    correction: Literal["auto", "none", "holm"] = "auto"
    # a sampler that could not run on a configuration (every row there failed or was skipped, none timed out):
    # "input" scores it as its input, No-resampling's score (smote_variants' rule for an oversampler that cannot
    # run), "missing" leaves it unranked there; "auto" is input for a store of the holdout split (a collection,
    # where one dataset a sampler cannot handle would otherwise drop it from every overall rank), else missing
    failed: Literal["auto", "missing", "input"] = "auto"

    @classmethod
    def choices(cls, key: str) -> tuple[str, ...]:
        """The values ``key`` allows (its Literal): what the flags accept and their help lists."""
        return get_args(cls.model_fields[key].annotation)


class CheckSettings(BaseModel):
    model_config = _FROZEN

    profile: Text = "ci"
    baseline: Text = "results/ci"
    tolerance: Positive = 0.5          # the largest allowed move of an average rank
    score_tolerance: Positive = 0.02   # across environments: the largest allowed difference of a score


Factory = Annotated[str, Strict(), StringConstraints(pattern=r"^[\w.]+:\w+$"),
                    _Says("module:Class, e.g. \"mypkg.oversampling:MyOverSampler\"", "module:Class references")]


class SamplerDefinition(BaseModel):
    """[samplers.NAME]: a sampler of one's own under a name of one's choosing."""
    model_config = _FROZEN

    factory: Factory
    category: Text = "user"                                 # its row group in Table 2
    params: SamplerParams = Field(default_factory=dict)     # fixed parameters, part of every run's key
    tunes_ratio: Optional[StrictBool] = None   # grid-searched over the protocol's ratio (default: takes sampling_strategy)
    binary_only: Optional[StrictBool] = None   # cannot handle multi-class data (default: the class's binary_only)


class ClassifierDefinition(BaseModel):
    """[classifiers.NAME]: a classifier of one's own under a name of one's choosing."""
    model_config = _FROZEN

    factory: Factory
    params: SamplerParams = Field(default_factory=dict)     # fixed parameters, part of every run's key


class Settings(BaseModel):
    model_config = _FROZEN

    data: DataSettings = Field(default_factory=DataSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    table: TableSettings = Field(default_factory=TableSettings)
    check: CheckSettings = Field(default_factory=CheckSettings)
    # profile name -> its [profiles.NAME] table as written (checked against [run] when the settings are made)
    profiles: dict[str, dict[str, Any]] = Field(default_factory=lambda: copy.deepcopy(PROFILES))
    samplers: dict[str, SamplerDefinition] = Field(default_factory=dict)   # [samplers.NAME]
    classifiers: dict[str, ClassifierDefinition] = Field(default_factory=dict)   # [classifiers.NAME]
    source: str = "built-in defaults"

    @model_validator(mode="after")
    def _profiles_are_valid(self) -> Settings:
        for name, body in self.profiles.items():
            _validate_run(_apply(self.run, body), ("profiles", name), self.source, body)
        return self

    @property
    def data_dir(self) -> Path:
        return Path(os.environ.get(DATA_DIR_ENV) or self.data.dir).expanduser()

    def run_for(self, profile: str | None = None, **overrides: Any) -> RunSettings:
        """The [run] section, then the profile's keys, then overrides (flags) that are not None."""
        name = profile or self.run.profile
        if name not in self.profiles:
            raise ConfigError(f"unknown profile {name!r}: use one of {', '.join(sorted(self.profiles))} "
                              f"or add [profiles.{name}] to {self.source}")
        unknown = [key for key in overrides if key not in RunSettings.model_fields]
        if unknown:
            raise TypeError(f"run_for() got unknown setting(s) {unknown}")
        changes = {key: value for key, value in overrides.items() if value is not None}
        merged = {**_apply(self.run, self.profiles[name]), **changes, "profile": name}
        return _validate_run(merged, ("profiles", name), self.source, self.profiles[name], flags=changes)


def _apply(run: RunSettings, body: dict[str, Any]) -> dict[str, Any]:
    """[run] with a profile's keys: the per-sampler tables (params, time_limits) merge key by key, a sampler's
    parameter table parameter by parameter; every other key replaces."""
    out = run.model_dump()
    for key, value in body.items():
        base = out.get(key)
        if isinstance(value, dict) and isinstance(base, dict):
            value = {sampler: {**base[sampler], **v} if isinstance(v, dict) and isinstance(base.get(sampler), dict)
                     else v for sampler, v in {**base, **value}.items()}
        out[key] = value
    return out


def _validate_run(merged: dict[str, Any], where: tuple[str, ...], source: str, body: dict[str, Any],
                  flags: dict[str, Any] | None = None) -> RunSettings:
    try:
        return RunSettings.model_validate(merged)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        if flags and first["loc"] and first["loc"][0] in flags:   # a flag's value, not the file's
            raise ConfigError(_flag_message(first, flags)) from None
        raise ConfigError(_message(err, {**merged, **body}, source, where, RunSettings)) from None


# --------------------------------------------------------------------------------------------- loading
def find_config(explicit: Path | None = None, *, named_by: str = "--config") -> Path | None:
    """--config, else $BENCH_CONFIG, else ./bench.toml, else the one beside the package (editable install)."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist: {named_by} must name an existing bench.toml")
        return explicit
    if os.environ.get(CONFIG_ENV):
        return find_config(Path(os.environ[CONFIG_ENV]), named_by=f"${CONFIG_ENV}")
    for candidate in (Path.cwd() / "bench.toml", Path(__file__).resolve().parents[1] / "bench.toml"):
        if candidate.is_file():
            return candidate
    return None


def load_settings(path: Path | None = None) -> Settings:
    path = find_config(path)
    if path is None:
        return Settings()
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML ({err}): fix the syntax") from None
    return parse_settings(raw, source=str(path))


_SECTIONS = ("data", "run", "table", "check", "profiles", "samplers", "classifiers")


def parse_settings(raw: dict[str, Any], source: str = "bench.toml") -> Settings:
    """Validate a parsed bench.toml; the built-in profiles (PROFILES) exist even when the file lacks them."""
    for key in raw:
        if key not in _SECTIONS:
            raise ConfigError(_unknown(source, f"[{key}]", key, _SECTIONS, "section", lambda k: f"[{k}]"))
    profiles = raw.get("profiles", {})
    if isinstance(profiles, dict):
        profiles = {**copy.deepcopy(PROFILES), **profiles}
    for section, model in (("samplers", SamplerDefinition), ("classifiers", ClassifierDefinition)):
        definitions = raw.get(section, {})
        for name, body in (definitions.items() if isinstance(definitions, dict) else ()):
            try:   # each [samplers.NAME] on its own, so that the message names its keys
                model.model_validate(body)
            except ValidationError as err:
                raise ConfigError(_message(err, body if isinstance(body, dict) else {}, source, (section, name),
                                           model)) from None
    try:
        return Settings.model_validate({**raw, "profiles": profiles, "source": source})
    except ValidationError as err:
        raise ConfigError(_message(err, raw, source, (), Settings)) from None


# ---------------------------------------------------------------------------------------------- errors
def _message(err: ValidationError, raw: dict[str, Any], source: str, where: tuple[str, ...],
             model: type[BaseModel]) -> str:
    """pydantic's first error as one line: the file, the dotted key, what it must be, what it is, the fix."""
    # an unknown key first: a misspelt key also shows up as a missing one
    errors = sorted(err.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    more = f" (and {len(errors) - 1} more problem{'s' * (len(errors) > 2)} after this one)" if len(errors) > 1 else ""
    loc, path, value = list(first["loc"]), list(where), raw
    field = None
    while loc and isinstance(loc[0], str) and loc[0] in model.model_fields:   # down the sections to the field
        name = loc.pop(0)
        path.append(name)
        value = value.get(name) if isinstance(value, dict) else None
        annotation = model.model_fields[name].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            field = model.model_fields[name]
            break
    table = ".".join(path)
    if field is None:
        if first["type"] == "extra_forbidden" and loc:   # an unknown key in a section
            return _unknown(source, f"{table}.{loc[0]}", str(loc[0]), model.model_fields, "key",
                            lambda k: f"{table}.{k}") + more
        return (f"{source}: [{table}] must be a table of keys, got {first['input']!r}; write [{table}] "
                f"followed by lines key = value{more}")
    if model is Settings and path == ["profiles"]:   # [profiles] itself, or a profile that is no table
        named = ".".join(["profiles", *map(str, loc)])
        return (f"{source}: {named} must be a table of [run]'s keys, e.g. [profiles.quick] with seeds = [1], "
                f"got {first['input']!r}; write it as [{named}]" + more)
    key = table
    says = _says(field.annotation, field.metadata)
    if field.is_required():
        fix = f"set {path[-1]} under [{'.'.join(path[:-1])}]"
    else:
        example = _toml(field.get_default(call_default_factory=True))
        fix = f"write e.g. {path[-1]} = {example} under [{'.'.join(path[:-1])}]"
    if loc and get_origin(field.annotation) is dict:   # one sampler's entry of a per-sampler table
        key += f".{_toml_key(str(loc[0]))}"
        value = value.get(loc[0]) if isinstance(value, dict) else first["input"]
        says = _says(get_args(field.annotation)[1])
        loc = loc[1:]
    detail = ""
    if loc and isinstance(loc[0], int):   # one item of a list
        detail = f" (item {loc[0] + 1}: {first['msg'][0].lower()}{first['msg'][1:]})"
    return f"{source}: {key} must be {says}, got {value!r}{detail}; {fix}{more}"


def _flag_message(error: dict[str, Any], flags: dict[str, Any]) -> str:
    name = error["loc"][0]
    field = RunSettings.model_fields[name]
    given = flags[name]
    shown = ",".join(str(v) for v in given) if isinstance(given, tuple) else repr(given)   # as it was typed
    return f"--{name.replace('_', '-')} must be {_says(field.annotation, field.metadata)}, got {shown}"


def _unknown(source: str, shown: str, key: str, valid, kind: str, spell) -> str:
    """An unknown key or section, with the nearest valid one as the fix."""
    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    fix = f"did you mean {spell(close[0])}?" if close else f"use one of {', '.join(spell(k) for k in valid)}"
    return f"{source}: unknown {kind} {shown}; {fix}"


def _says(annotation: Any, metadata: list[Any] = (), plural: bool = False) -> str:
    """What a field of this type must be, in words (from the type, so it cannot disagree with it)."""
    for item in metadata:
        if isinstance(item, _Says):
            return item.many if plural else item.one
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *more = get_args(annotation)
        return _says(base, more, plural)
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(choice) for choice in get_args(annotation))
    if origin is tuple:
        return "a non-empty list of " + _says(get_args(annotation)[0], plural=True)
    return getattr(annotation, "__name__", str(annotation))


def _toml(value: Any, whole: bool = True) -> str:
    """A value as it is written in bench.toml (for the fix in a message): `time_limit = 900`, `[0.5, 1.0]`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and whole:
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v, whole=False) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    return repr(value)


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)
