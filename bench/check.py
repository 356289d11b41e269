"""The rank regression check that CI runs: a small fixed plan against a committed baseline.

Two things are compared. Ranks: every sampler's average rank per dataset and overall, per metric, must stay
within `tolerance` of the baseline's. Scores: every stored row computed on a CPU is compared with the
baseline's row of the same run (same dataset, IR, seed, sampler, parameters, classifier), in one of two modes:

* exact - when the baseline's environment (package versions, Python, CPU and BLAS identification; see
  bench.environment.comparable) is this one: scores must agree to the last digit the CSV keeps;
* tolerance - otherwise: floats differ across CPUs and BLAS kernels, and a tiny difference can flip one
  prediction of a discrete method (a SMOTEN run moved 0.0024 in Macro-F1 between two machines). Scores must
  agree within `score_tolerance` (absolute), and a rank move is not a failure when every score of that
  column (a dataset, or all for "overall") is within it: the move is explained by those differences. Where
  only the CPU differs, the samplers run pinned to one CPU code path (AutoSMOTE) must still agree exactly.

A run whose status changed (ok -> error, ...) or that is in only one of baseline and run always fails.

:func:`run_check` is the workflow (`bench check` and bench.api.check): run the profile afresh into a scratch
store, then compare it with the baseline, or rewrite the baseline from it.
"""
from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
from rich.console import Console

from . import environment, stats
from .config import Settings

RANKS_FILE = "baseline_ranks.csv"
SCORES_FILE = "baseline_scores.csv"
ENVIRONMENT_FILE = "environment.json"
SCORE_DIGITS = 12   # CSV keeps this many decimals; a real change moves a score far more
SCORE_COLUMNS = ["run", "sampler", "dataset", "status", "column", "value"]


@dataclass
class CheckResult:
    problems: list[str]
    rows: int
    mode: str = "exact"                              # "exact" or "tolerance"
    why: str = ""                                    # why that mode
    notes: list[str] = field(default_factory=list)   # what passed only thanks to the tolerance
    baseline: Optional[Path] = None                  # the baseline compared with, or written
    updated: bool = False                            # the baseline was rewritten from this run

    @property
    def ok(self) -> bool:
        return not self.problems


def run_check(settings: Settings, *, console: Console, update: bool = False, profile: Optional[str] = None,
              baseline: Optional[Path | str] = None, tolerance: Optional[float] = None,
              score_tolerance: Optional[float] = None, workers: Optional[int] = None) -> CheckResult:
    """Run ``profile`` (default: [check] profile) afresh into a scratch store and compare it with ``baseline``
    ([check] baseline), within ``tolerance`` and ``score_tolerance`` ([check]'s); ``update``: rewrite the
    baseline from the run instead. A run whose every computed row failed is a failed check, and never a
    baseline. Ctrl-C raises bench.execution.Interrupted."""
    from . import methods
    from .execution import execute
    from .store import ResultStore
    cfg = settings.check
    name = profile or cfg.profile
    run_settings = settings.run_for(name, workers=workers)
    directory = Path(baseline or cfg.baseline)
    with tempfile.TemporaryDirectory(prefix="bench-check-") as scratch, methods.registered(settings, run_settings):
        store = ResultStore(Path(scratch))
        try:
            outcome = execute(run_settings, settings, store, console=console,
                              flags={"profile": name, "workers": workers})
            frame = store.frame()
            environments = list(store.environments()["description"])
        finally:
            store.close()
    if outcome.all_failed:
        return CheckResult([f"all {sum(outcome.computed.values())} computed rows failed"] + [
            f"{label}: {n} rows failed, the first: {message}" for label, (n, message) in outcome.failures.items()],
            len(frame), baseline=directory)
    if update:
        write_baseline(frame, environments, directory, run_settings.metrics)
        return CheckResult([], len(frame), baseline=directory, updated=True)
    result = compare(frame, environments, directory, run_settings.metrics,
                     cfg.tolerance if tolerance is None else tolerance,
                     cfg.score_tolerance if score_tolerance is None else score_tolerance)
    result.baseline = directory
    return result


def run_identity(spec_json: str) -> str:
    """What was run, without the versions of code and libraries that ran it: the same run on two machines
    or library versions has the same identity, so their scores can be compared."""
    spec = json.loads(spec_json)
    kept = {k: v for k, v in spec.items() if k not in ("libraries", "version")}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:24]


def rank_frame(frame: pd.DataFrame, metrics: tuple[str, ...]) -> pd.DataFrame:
    """Long table of average ranks: metric, sampler, column (dataset or overall), rank."""
    parts = []
    for metric in metrics:
        ranks = stats.rank_table(stats.config_scores(stats.select_best(frame, metric)))
        long = ranks.rename_axis("sampler").reset_index().melt(id_vars="sampler", var_name="column",
                                                                 value_name="rank")
        parts.append(long.assign(metric=metric))
    return pd.concat(parts)[["metric", "sampler", "column", "rank"]].reset_index(drop=True)


def score_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Long table of the CPU-computed scores: run, sampler, dataset, status, column, value (rounded for CSV)."""
    cpu = frame[~frame["extra"].map(lambda e: json.loads(e or "{}").get("device") == "cuda")]
    cpu = cpu.assign(run=cpu["spec"].map(run_identity))
    columns = [c for c in frame.columns if c.startswith(("val_", "test_"))]
    long = cpu.melt(id_vars=["run", "sampler", "dataset", "status"], value_vars=columns, var_name="column",
                    value_name="value").dropna(subset=["value"])
    long["value"] = long["value"].round(SCORE_DIGITS)
    return long[SCORE_COLUMNS].sort_values(["run", "column"]).reset_index(drop=True)


def write_baseline(frame: pd.DataFrame, environments: list[dict], directory: Path,
                   metrics: tuple[str, ...]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    rank_frame(frame, metrics).to_csv(directory / RANKS_FILE, index=False)
    score_frame(frame).to_csv(directory / SCORES_FILE, index=False)
    (directory / ENVIRONMENT_FILE).write_text(json.dumps(environments, indent=1, sort_keys=True) + "\n")


def compare(frame: pd.DataFrame, environments: list[dict], directory: Path, metrics: tuple[str, ...],
            tolerance: float, score_tolerance: float) -> CheckResult:
    ranks_path, scores_path = directory / RANKS_FILE, directory / SCORES_FILE
    if not ranks_path.is_file() or not scores_path.is_file():
        return CheckResult([f"no baseline in {directory}: create it with `bench check --update`"], len(frame))
    env_path = directory / ENVIRONMENT_FILE
    baseline_envs = json.loads(env_path.read_text()) if env_path.is_file() else []
    mode, why = check_mode(baseline_envs, environments)
    base_scores = pd.read_csv(scores_path)
    if "run" not in base_scores.columns:
        return CheckResult([f"{scores_path} is in an older format: rewrite it with `bench check --update`"],
                           len(frame), mode, why)
    merged = base_scores.merge(score_frame(frame), on=["run", "column"], how="outer", suffixes=("_base", "_now"))
    allowed = 10.0 ** -SCORE_DIGITS if mode == "exact" else score_tolerance
    result = CheckResult(_score_problems(merged, allowed, mode), len(frame), mode, why)
    beyond = _beyond(merged, allowed)
    for move in _rank_moves(rank_frame(frame, metrics), pd.read_csv(ranks_path), tolerance):
        explained = mode == "tolerance" and not beyond.get(move["column"], False)
        text = (f"{move['sampler']}: {move['metric']} rank in {move['column']} moved {move['rank_base']:.2f} -> "
                f"{move['rank_now']:.2f} (tolerance {tolerance:g})")
        if explained:
            result.notes.append(f"{text}, explained by score differences within ±{score_tolerance:g}")
        else:
            result.problems.append(text)
    if mode == "tolerance" and _only_the_cpu_differs(baseline_envs, environments):
        result.problems += _pinned_problems(merged)
    within = merged[_differs(merged, 10.0 ** -SCORE_DIGITS) & ~_differs(merged, allowed)]
    if mode == "tolerance" and not within.empty:
        per_sampler = within.groupby("sampler_now")["run"].nunique()
        result.notes.append("scores within the tolerance but not equal: " + ", ".join(
            f"{sampler} ({n} run{'s' if n > 1 else ''})" for sampler, n in per_sampler.items()))
    return result


def check_mode(baseline_envs: list[dict], current_envs: list[dict]) -> tuple[str, str]:
    """("exact" | "tolerance", why): exact only when both sides ran in one and the same environment."""
    if not baseline_envs:
        return "tolerance", "the baseline records no environment"
    if len(baseline_envs) > 1 or len(current_envs) != 1:
        return "tolerance", "the baseline or this run spans several environments"
    base, now = baseline_envs[0], current_envs[0]
    if environment.comparable(base) == environment.comparable(now):
        return "exact", "the baseline was computed in this environment (packages, Python, CPU, BLAS)"
    return "tolerance", "the environments differ: " + "; ".join(environment.differences(base, now))


def _only_the_cpu_differs(baseline_envs: list[dict], current_envs: list[dict]) -> bool:
    """Both sides one environment, differing in CPU (and the BLAS kernels it picks) alone."""
    if len(baseline_envs) != 1 or len(current_envs) != 1:
        return False
    return all(d.startswith(("cpu", "blas")) for d in environment.differences(baseline_envs[0], current_envs[0]))


def _pinned_problems(merged: pd.DataFrame) -> list[str]:
    """Samplers whose units run pinned to one CPU code path (the catalogue's `pinned`) must match to the last
    digit across CPUs: the pin is what makes that so, and this is its check."""
    from .samplers.registry import CATALOGUE
    sampler = merged["sampler_now"].fillna(merged["sampler_base"]).astype(str)
    pinned = sampler.str.split("[").str[0].isin([name for name, entry in CATALOGUE.items() if entry.pinned])
    problems = []
    for name, rows in merged[pinned & _differs(merged, 10.0 ** -SCORE_DIGITS)].groupby("sampler_now"):
        first = rows.iloc[0]
        problems.append(f"{name}: {rows['run'].nunique()} run(s) with other scores on this CPU, although its units "
                        f"run pinned to one code path (e.g. {first['column']} {first['value_base']} -> "
                        f"{first['value_now']})")
    return problems


def _differs(merged: pd.DataFrame, allowed: float) -> pd.Series:
    both = merged["value_now"].notna() & merged["value_base"].notna()
    return both & ~np.isclose(merged["value_now"], merged["value_base"], rtol=0, atol=allowed)


def _beyond(merged: pd.DataFrame, allowed: float) -> dict[str, bool]:
    """Per rank column (each dataset, and "overall"): does any run there differ by more than allowed, change
    status, or exist on one side only?"""
    bad = _differs(merged, allowed) | merged["value_now"].isna() | merged["value_base"].isna() \
        | (merged["status_now"] != merged["status_base"])
    dataset = merged["dataset_now"].fillna(merged["dataset_base"])
    out = bad.groupby(dataset).any().to_dict()
    out[stats.OVERALL] = bool(bad.any())
    return out


def _rank_moves(now: pd.DataFrame, base: pd.DataFrame, tolerance: float) -> list[dict]:
    """Per (metric, sampler) the largest rank move beyond tolerance, or a rank present on one side only."""
    merged = base.merge(now, on=["metric", "sampler", "column"], how="outer", suffixes=("_base", "_now"))
    moves = []
    for (metric, sampler), rows in merged.groupby(["metric", "sampler"], sort=True):
        moved = rows[(rows["rank_now"] - rows["rank_base"]).abs() > tolerance]
        appeared = rows["rank_now"].notna() != rows["rank_base"].notna()
        if not moved.empty:
            moves.append(dict(moved.loc[(moved["rank_now"] - moved["rank_base"]).abs().idxmax()]))
        elif appeared.any():
            moves.append(dict(rows[appeared].iloc[0]))
    return moves


def _score_problems(merged: pd.DataFrame, allowed: float, mode: str) -> list[str]:
    problems = []
    what = "different scores than the baseline" if mode == "exact" else \
        f"scores further than ±{allowed:g} from the baseline"
    for sampler, rows in merged[_differs(merged, allowed)].groupby("sampler_now"):
        first = rows.iloc[0]
        problems.append(f"{sampler}: {rows['run'].nunique()} run(s) with {what} "
                        f"(e.g. {first['column']} {first['value_base']} -> {first['value_now']})")
    both = merged["status_now"].notna() & merged["status_base"].notna()
    changed = merged[both & (merged["status_now"] != merged["status_base"])]
    for sampler, rows in changed.groupby("sampler_now"):
        first = rows.iloc[0]
        problems.append(f"{sampler}: {rows['run'].nunique()} run(s) changed status "
                        f"(e.g. {first['status_base']} -> {first['status_now']})")
    missing = merged["value_now"].isna() | merged["value_base"].isna()
    if missing.any():
        who = sorted(set(merged.loc[missing, "sampler_now"].dropna()) | set(merged.loc[missing, "sampler_base"].dropna()))
        problems.append(f"{int(missing.sum())} scores in only one of baseline and run (samplers: {', '.join(who)}): "
                        "a sampler that fails now or failed then, or a changed plan (then `bench check --update`)")
    return problems
