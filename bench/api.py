"""The Python API, for notebooks: run a plan and read its rows and any table as DataFrames, by the same code
as the CLI (bench.execution runs what `bench run` runs; bench.analysis builds what `bench table` prints).

    from bench import api
    api.run(profile="ci", samplers=["No-resampling", "SMOTE", "mypkg.oversampling:MyOverSampler"],
            results="runs/mine")
    rows = api.rows("runs/mine")                     # one row per (run, classifier), scores as columns
    ranks = api.table("2", metric="mcc", results="runs/mine")
    print(api.text("2", metric="mcc", results="runs/mine"))   # exactly what `bench table` prints

Settings come from bench.toml (found as the CLI finds it, or `config=`), then the profile, then keyword
arguments named as `bench run`'s flags (lists for the list-valued ones). Bad input raises the same one-line
errors the CLI prints (bench.errors.UserError).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import pandas as pd
from rich.console import Console

from .config import Settings, load_settings

PathLike = str | Path


def settings(config: Optional[PathLike] = None) -> Settings:
    """bench.toml's settings (found as the CLI finds them, or `config`)."""
    return load_settings(Path(config) if config is not None else None)


def run(profile: Optional[str] = None, *, config: Optional[PathLike] = None, retry_failed: bool = False,
        executor: str = "local", address: Optional[str] = None, quiet: bool = False, **flags: Any) -> pd.DataFrame:
    """Compute what the store lacks for the profile with `flags` applied (e.g. samplers=[...], seeds=[1, 2],
    results="runs/mine"), then return the store's rows. What is already stored is not computed again."""
    from . import methods
    from .execution import check_inputs, execute, open_store
    loaded = settings(config)
    flags = {k: _listed(v) for k, v in flags.items()}
    run_settings = loaded.run_for(profile, **flags)
    with methods.registered(loaded, run_settings):
        executor = check_inputs(run_settings, loaded, executor)
        store = open_store(run_settings, loaded)
        try:
            execute(run_settings, loaded, store, console=Console(quiet=quiet), flags={"profile": profile, **flags},
                    command=f"bench.api.run({_call(profile, flags)})", retry_failed=retry_failed,
                    executor=executor, address=address)
            return store.frame()
        finally:
            store.close()


def rows(results: Optional[PathLike] = None, *, config: Optional[PathLike] = None) -> pd.DataFrame:
    """Every current row of a store (default: [run] results), as `bench table` reads them."""
    store = _store(results, settings(config))
    try:
        return store.frame()
    finally:
        store.close()


def table(key: str = "2", metric: str = "macro_f1", *, results: Optional[PathLike] = None,
          config: Optional[PathLike] = None, **options: Any) -> pd.DataFrame:
    """The frame of a table or figure (`bench table --table KEY`: "1", "2", "3", "4", "gumbel", "fig4", ...),
    its notes in `.attrs["notes"]` and its title in `.attrs["title"]`. `options`: reference, pairing,
    alternative, noop, correction, paper_tables (as `bench table`'s flags)."""
    from . import analysis
    from .analysis.artefact import built_for
    from .errors import UserError
    if _key(key) == "all":
        raise UserError("table() builds one table: pass its key (\"2\", \"3\", ...), or text(\"all\") for all")
    built = built_for(_context(results, config, options), analysis.artefact(_key(key)), metric)
    frame = built.frame.copy()
    frame.attrs.update(title=built.title, notes=[str(n) for n in built.notes])
    return frame


def text(key: str = "2", metric: str = "macro_f1", fmt: str = "markdown", *, results: Optional[PathLike] = None,
         config: Optional[PathLike] = None, **options: Any) -> str:
    """Exactly what `bench table --table KEY --metric METRIC --format FMT` prints."""
    from . import analysis
    return analysis.text(_context(results, config, options), _key(key), metric, fmt)


def _context(results, config, options):
    from . import analysis, methods
    from .data import DataCatalog
    loaded = settings(config)
    store = _store(results, loaded)
    try:
        frame = store.frame()
    finally:
        store.close()
    return analysis.Context(frame, analysis.Options.from_settings(loaded.table, **options),
                            DataCatalog(loaded.data_dir), samplers=methods.sampler_labels(loaded))


def _store(results, loaded: Settings):
    from .store import ResultStore
    return ResultStore(Path(results or loaded.run.results), readonly=True)


def _key(key: str) -> str:
    from . import analysis
    from .names import resolve_name
    return resolve_name(str(key), analysis.TABLE_KEYS, "table", listing="bench table --help")


def _listed(value: Any) -> Any:
    """A list given for a list-valued setting may be any sequence; a path a Path."""
    if isinstance(value, Path):
        return str(value)
    return tuple(value) if isinstance(value, (list, tuple, set)) else value


def _call(profile, flags) -> str:
    given = ([repr(profile)] if profile else []) + [f"{k}={v!r}" for k, v in flags.items()]
    return ", ".join(given)
