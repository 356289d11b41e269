"""The Python API, for notebooks: run a plan and read its rows and any table as DataFrames, by the same code
as the CLI (bench.execution runs what `bench run` runs; bench.analysis builds what `bench table` prints).

    from bench import api
    api.run(profile="ci", samplers=["No-resampling", "SMOTE", "mypkg.oversampling:MyOverSampler"],
            results="runs/mine")
    rows = api.rows("runs/mine")                     # one row per (run, classifier), scores as columns
    ranks = api.table("2", metric="mcc", results="runs/mine")
    print(api.text("2", metric="mcc", results="runs/mine"))   # exactly what `bench table` prints
    api.report(results="runs/mine")                          # what `bench report` writes, where it writes it
    assert api.check().ok                                     # `bench check`: the ci profile against results/ci

Settings come from bench.toml (found as the CLI finds it, or `config=`), then the profile, then keyword
arguments named as `bench run`'s flags (lists for the list-valued ones). Reading goes through bench.reading and
checking through bench.check.run_check, as the CLI's commands do, with the same defaults. Bad input raises the
same one-line errors the CLI prints (bench.errors.UserError).
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
        checked = check_inputs(run_settings, loaded, executor)
        store = open_store(run_settings, loaded)
        try:
            execute(run_settings, loaded, store, console=Console(quiet=quiet), flags={"profile": profile, **flags},
                    command=f"bench.api.run({_call(profile, flags)})", retry_failed=retry_failed,
                    checked=checked, address=address)
            return store.frame()
        finally:
            store.close()


def rows(results: Optional[PathLike] = None, *, config: Optional[PathLike] = None) -> pd.DataFrame:
    """Every current row of a store (default: [run] results), as `bench table` reads them."""
    from .reading import open_store
    store = open_store(settings(config), results)
    try:
        return store.frame()
    finally:
        store.close()


def table(key: str = "2", metric: Optional[str] = None, *, results: Optional[PathLike] = None,
          config: Optional[PathLike] = None, **options: Any) -> pd.DataFrame:
    """The frame of a table or figure (`bench table --table KEY`: "1", "2", "3", "4", "gumbel", "fig4", ...),
    its notes in `.attrs["notes"]` and its title in `.attrs["title"]`. `metric`: [table] metric unless given;
    `options`: reference, pairing, alternative, noop, correction, failed, seeds, paper_tables (as `bench
    table`'s flags)."""
    from .errors import UserError
    from .reading import built, table_key
    if table_key(key) == "all":
        raise UserError("table() builds one table: pass its key (\"2\", \"3\", ...), or text(\"all\") for all")
    build = built(settings(config), key, metric, results=results, **options)
    frame = build.frame.copy()
    frame.attrs.update(title=build.title, notes=[str(n) for n in build.notes])
    return frame


def text(key: str = "2", metric: Optional[str] = None, fmt: str = "markdown", *,
         results: Optional[PathLike] = None, config: Optional[PathLike] = None, **options: Any) -> str:
    """Exactly what `bench table --table KEY --metric METRIC --format FMT` prints."""
    from .reading import text as table_text
    return table_text(settings(config), key, metric, fmt, results=results, **options)


def report(results: Optional[PathLike] = None, *, out: Optional[PathLike] = None,
           config: Optional[PathLike] = None, **options: Any) -> list[Path]:
    """What `bench report` writes, into `out` (default: report/ beside the store; for a store committed to git
    runs/report/NAME); the files written, index.md last. `options`: reference, correction, failed, seeds,
    paper_tables, toy_csv."""
    from .reading import report as write_report
    return write_report(settings(config), results, out, **options)


def check(profile: Optional[str] = None, *, config: Optional[PathLike] = None, update: bool = False,
          baseline: Optional[PathLike] = None, tolerance: Optional[float] = None,
          score_tolerance: Optional[float] = None, workers: Optional[int] = None, quiet: bool = False):
    """`bench check`: run the profile ([check] profile) afresh and compare it with the baseline ([check]
    baseline); `update=True` rewrites the baseline instead. Returns a bench.check.CheckResult: `.ok`,
    `.problems`, `.notes`, `.mode` and `.why`."""
    from .check import run_check
    return run_check(settings(config), console=Console(quiet=quiet), update=update, profile=profile,
                     baseline=baseline, tolerance=tolerance, score_tolerance=score_tolerance, workers=workers)


def _listed(value: Any) -> Any:
    """A list given for a list-valued setting may be any sequence; a path a Path."""
    if isinstance(value, Path):
        return str(value)
    return tuple(value) if isinstance(value, (list, tuple, set)) else value


def _call(profile, flags) -> str:
    given = ([repr(profile)] if profile else []) + [f"{k}={v!r}" for k, v in flags.items()]
    return ", ".join(given)
