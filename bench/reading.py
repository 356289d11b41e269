"""Reading a store into tables and reports: the one path of `bench table`, `bench report` and bench.api, so that
the API prints what the command line prints.

It holds the defaults of what the store does not: the inputs beside the project (the paper's tables, Figure 7's
toy data) and where a report goes. Reading opens the store read-only and never computes (but Figure 7).
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from collections.abc import Sequence
from typing import Any, Optional

from .config import ConfigError, Settings

PathLike = str | Path

# Inputs that are not in the store, used where they exist (relative to the working directory: beside the project)
PAPER_TABLES = Path("../shared/paper-tables")
TOY_CSV = Path("../shared/datasets/toy2/toy2_1.csv")
FORMATS = ("markdown", "latex", "csv")


def open_store(settings: Settings, results: Optional[PathLike] = None):
    """The store of ``results`` (default: [run] results), opened read-only: never written to."""
    from .store import ResultStore
    return ResultStore(Path(results or settings.run.results), readonly=True)


def table_key(key: str) -> str:
    """``key`` as the artefact registry spells it ("2", "gumbel", ..., or "all")."""
    from . import analysis
    from .names import resolve_name
    return resolve_name(str(key), analysis.TABLE_KEYS, "table", listing="bench table --help")


def text(settings: Settings, key: str = "all", metric: Optional[str] = None, fmt: str = "markdown", *,
         results: Optional[PathLike] = None, **options: Any) -> str:
    """What `bench table --table KEY --metric METRIC --format FMT` prints (metric: [table] metric unless given);
    ``options`` as its flags: reference, pairing, alternative, noop, correction, failed, seeds, paper_tables."""
    from . import analysis
    from .names import resolve_name
    metric = _metric(settings, metric)
    fmt = resolve_name(fmt, FORMATS, "format", listing="bench table --help")
    key = table_key(key)
    return analysis.text(context(settings, results, **options), key, metric, fmt)


def built(settings: Settings, key: str, metric: Optional[str] = None, *, results: Optional[PathLike] = None,
          **options: Any):
    """The build (frame, title, notes) of the artefact `bench table --table KEY` prints."""
    from . import analysis
    from .analysis.artefact import built_for
    metric, chosen = _metric(settings, metric), analysis.artefact(table_key(key))
    return built_for(context(settings, results, **options), chosen, metric)


def _metric(settings: Settings, metric: Optional[str]) -> str:
    from .metrics import METRICS
    from .names import resolve_name
    return resolve_name(metric or settings.table.metric, METRICS, "metric", listing="bench list metrics")


def report(settings: Settings, results: Optional[PathLike] = None, out: Optional[PathLike] = None,
           **options: Any) -> list[Path]:
    """`bench report`: every artefact that applies into ``out`` (default: :func:`report_folder`); the files
    written, index.md last."""
    from . import analysis
    located = inputs(options.pop("paper_tables", None), options.pop("toy_csv", None))
    options["seeds"] = _seed_list(options.get("seeds"))
    store = open_store(settings, results)
    try:
        ctx = _shared_context(settings, store, options, located)
        invocations, environments = store.invocations(), store.environments(ctx.frame)   # the rows read
        folder = Path(out) if out is not None else report_folder(store.directory, options["seeds"])
    finally:
        store.close()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"--out {folder} cannot be a folder ({err.strerror}): pass a folder for the report") from None
    return analysis.write(ctx, folder, invocations=invocations, environments=environments)


def report_folder(results: Path, seeds: Optional[Sequence[int]] = None) -> Path:
    """Beside the store (`runs/report`), unless the store is committed to git (results/...): a report
    into committed results is written only when asked (--out), so then `runs/report/<name>`. A report of some
    seeds only goes to `report-seeds-1-2`, beside the whole store's."""
    if seeds:
        whole = report_folder(results)
        return whole.with_name(f"{whole.name}-seeds-{'-'.join(map(str, seeds))}")
    store = (Path(results) / "bench.sqlite").resolve()
    try:
        tracked = subprocess.run(["git", "-C", str(store.parent), "ls-files", "--error-unmatch", store.name],
                                 capture_output=True).returncode == 0
    except OSError:   # no git: nothing is committed
        tracked = False
    return Path("runs") / "report" / Path(results).resolve().name if tracked else Path(results) / "report"


def context(settings: Settings, results: Optional[PathLike] = None, **options: Any):
    """The rows of ``results`` with the reader's options (see :func:`_context`)."""
    located = inputs(options.pop("paper_tables", None), options.pop("toy_csv", None))
    store = open_store(settings, results)
    try:
        return _shared_context(settings, store, options, located)
    finally:
        store.close()


#: The last context read, with what it was read from (:func:`_shared_context`).
_last_context: tuple[tuple, Any] | None = None


def _shared_context(settings: Settings, store, options: dict, located: dict):
    """:func:`_context`, kept for the next reader of the same store at rest with the same settings and options:
    `bench table` once per artefact in one process (the API, a notebook, the tests) builds each artefact once,
    as `bench report` does. A write to the store, the data registry or the inputs reads anew."""
    global _last_context
    key = _context_key(settings, store, options, located)
    if key is not None and _last_context is not None and _last_context[0] == key:
        return _last_context[1]
    ctx = _context(settings, store, **options, **located)
    if key is not None and _context_key(settings, store, options, located) == key:   # nothing changed meanwhile
        _last_context = (key, ctx)
    return ctx


def _context_key(settings: Settings, store, options: dict, located: dict) -> Optional[tuple]:
    """What a context is made of: the store's identity at rest (None while a run writes it), the settings, the
    reader's options and the state of the files it reads beside the store (the data registry, the inputs)."""
    identity = store.resting_identity()
    if identity is None:
        return None
    from .data.registry import Registry
    beside = [Registry(Path(settings.data_dir)).path, *(p for p in located.values() if p is not None)]
    states = tuple((str(p.resolve()), p.stat().st_mtime_ns if p.exists() else None) for p in beside)
    given = tuple(sorted((k, repr(_seed_list(v) if k == "seeds" else v)) for k, v in options.items()))
    return identity, settings.model_dump_json(), given, states


def inputs(paper_tables: Optional[PathLike] = None, toy_csv: Optional[PathLike] = None) -> dict[str, Optional[Path]]:
    """The inputs outside the store: as given (a wrong one is one line, before the store is opened), else
    beside the project where they exist."""
    return {"paper_tables": _input(paper_tables, PAPER_TABLES, Path.is_dir,
                                   "--paper-tables {} is not a directory: pass the folder holding table2.csv"),
            "toy_csv": _input(toy_csv, TOY_CSV, Path.is_file,
                              f"--toy {{}} is not a file: pass the toy CSV (e.g. {TOY_CSV})")}


def _input(given: Optional[PathLike], default: Path, exists, wrong: str) -> Optional[Path]:
    if given is None:
        return default if default.exists() else None
    if not exists(Path(given)):
        raise ConfigError(wrong.format(given))
    return Path(given)


def _context(settings: Settings, store, *, reference: Optional[str] = None, seeds: Optional[Sequence[int]] = None,
             **given: Any):
    """[table] settings, then every choice given; the reference in any spelling of a sampler the store holds;
    only the rows of `seeds` where given (e.g. the seeds a campaign has completed)."""
    from . import analysis, methods
    from .data import DataCatalog
    whole = store.frame()
    seeds = _seed_list(seeds)
    frame = _of_seeds(whole, seeds)
    options = analysis.Options.from_settings(settings.table, reference=_stored_sampler(reference, frame), **given)
    ctx = analysis.Context(frame, options, DataCatalog(settings.data_dir), samplers=methods.sampler_labels(settings))
    if seeds is not None:
        ctx.selection = (f"only seed{'s' if len(seeds) > 1 else ''} {_listing(seeds)} (`--seeds`) of the store's "
                         f"seeds {_listing(whole['seed'])}")
    return ctx


def _seed_list(seeds) -> Optional[list[int]]:
    """The seeds as given to the API or the CLI, as a list (None: all)."""
    if seeds is None:
        return None
    listed = [] if isinstance(seeds, (str, bytes, int)) else list(seeds)
    if (seeds and not listed) or not all(isinstance(s, int) and not isinstance(s, bool) for s in listed):
        raise ConfigError(f"seeds={seeds!r}: pass seeds as a list of integers, e.g. [1, 2]")
    return listed


def _of_seeds(frame, seeds: Optional[list[int]]):
    """The rows of `seeds` (all rows when None); a seed the store lacks is one line naming those it holds."""
    if seeds is None:
        return frame
    stored = sorted(int(s) for s in frame["seed"].unique())
    absent = [s for s in seeds if s not in stored]
    if absent or not seeds:
        raise ConfigError(f"--seeds {','.join(map(str, seeds)) or '(none)'}: the store holds seeds "
                          f"{','.join(map(str, stored)) or '(none)'}: pass some of them")
    return frame[frame["seed"].isin(seeds)].reset_index(drop=True)


def _listing(seeds) -> str:
    import pandas as pd
    from .analysis.context import listing
    return listing(pd.Series(list(seeds), dtype="int64"))


def _stored_sampler(reference: Optional[str], frame) -> Optional[str]:
    """A typo is one line, not a table without marks. (The configured default may be absent from a store:
    its tables then say so in a note.)"""
    from .names import resolve_name
    if reference is None:
        return None
    return resolve_name(reference, sorted(frame["sampler"].unique()), "reference sampler",
                        listing="bench status, for the samplers this store holds")
