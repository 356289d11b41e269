"""Fault injection: a 100+-unit plan through `bench run` while workers and the driver are killed; the store
must end as an undisturbed run's (keys, statuses, scores).

    nice -n 19 python benchmarks/faults.py                       # the local executor
    nice -n 19 python benchmarks/faults.py --executor ray        # passes --executor ray [--address ...] on

In a scratch directory: a synthetic dataset (two Gaussian classes and a categorical column) is registered
and a profile runs it at IR 5 with seven imbalanced-learn samplers, the ratios 0.3..1.0 and `--seeds`
seeds on SVM and DT (126 units, 252 rows with 3 seeds). Then:

1. an undisturbed `bench run` into one store;
2. a disturbed `bench run` into another: every `--kill-every` seconds (jittered) one random worker process
   computing a unit gets SIGKILL (local: a forked child of the driver; ray: a process titled
   ``ray::bench-unit``); when the store holds a quarter and three quarters of the rows, the driver's whole
   process group (with a local Ray, Ray too) gets SIGKILL, and at half the rows the driver alone does (as
   `kill -9 PID` or the OOM killer would: its workers must die with it, and their lock with them); after
   each, `bench run` is started again;
3. `bench run --retry-failed` on the disturbed store, undisturbed: the local executor records a killed
   worker's unit as an "error" row (worker process died) rather than retrying it, and Ray does the same
   once a unit's retries are spent; this recomputes those rows, as a user would;
4. the comparison of the two stores, printed with the units, the kills and the diff (exit code 1 if any).
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.synthetic import write_toy_csv

REPO = Path(__file__).resolve().parents[1]
SAMPLERS = ["No-resampling", "RandomOverSampler", "SMOTE", "ADASYN", "BorderlineSMOTE", "RandomUnderSampler",
            "TomekLinks"]
RATIOS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
DIED = "worker process died"


@dataclass
class Disturbance:
    """What the disturbed run went through."""
    worker_kills: int = 0
    driver_kills: list[str] = field(default_factory=list)   # rows stored when each kill landed, and whose
    survivors: int = 0   # local workers alive after their driver alone was killed (they should die with it)
    driver_starts: int = 0
    seconds: float = 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executor", choices=("local", "ray"), default="local")
    parser.add_argument("--address", default=None,
                        help="with --executor ray: the cluster (auto, HOST:6379, ray://HOST:10001 with ray[client])")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the plan (42 units each)")
    parser.add_argument("--rows", type=int, default=4000, help="rows of the synthetic dataset")
    parser.add_argument("--kill-every", type=float, default=2.0, help="mean seconds between worker kills")
    parser.add_argument("--random-state", type=int, default=0, help="seeds the choice of victims and intervals")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="scratch directory, kept for inspection (default: a new temporary one)")
    args = parser.parse_args()
    if args.seeds < 1 or args.rows < 100 or args.kill_every <= 0:
        parser.error("--seeds must be at least 1, --rows at least 100 and --kill-every positive")
    if args.address and args.executor != "ray":
        parser.error("--address goes with --executor ray")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-faults-"))
    config = write_setup(workdir, args.seeds, args.rows)
    env = {**os.environ, "BENCH_CONFIG": str(config)}
    executor = []
    if args.executor == "ray":   # a cluster has its own CPUs: the profile's 2 workers size only a local Ray
        executor = ["--executor", "ray", *(["--address", args.address, "--workers", "0"] if args.address else [])]
    units, rows = plan_size(config)
    print(f"plan: {units} units, {rows} rows (synthetic data of {args.rows} rows at IR 5, {args.seeds} seeds, "
          f"{len(SAMPLERS)} samplers, ratios {RATIOS[0]}..{RATIOS[-1]}, SVM and DT); executor {args.executor}; "
          f"scratch {workdir}", flush=True)

    start = time.monotonic()
    finish(bench_run(workdir / "clean", executor, env, workdir / "clean.log"), workdir / "clean.log")
    print(f"undisturbed run: {count_rows(workdir / 'clean')} rows in {time.monotonic() - start:.0f} s", flush=True)

    disturbance = disturbed_run(workdir / "faulty", executor, env, rows, args, workdir)
    statuses = status_counts(workdir / "faulty")
    died = count_rows(workdir / "faulty", f"message LIKE '{DIED}%'")
    print(f"disturbed run: {disturbance.worker_kills} worker kills, {len(disturbance.driver_kills)} driver kills "
          f"(at {', '.join(disturbance.driver_kills)} rows stored), {disturbance.driver_starts} driver "
          f"starts, {disturbance.seconds:.0f} s; workers alive after their driver alone was killed: "
          f"{disturbance.survivors}; store: {count_rows(workdir / 'faulty')} rows ({statuses}), "
          f"{died} of them '{DIED}'", flush=True)

    finish(bench_run(workdir / "faulty", [*executor, "--retry-failed"], env, workdir / "retry.log"),
           workdir / "retry.log")
    print(f"retry pass (bench run --retry-failed): {status_counts(workdir / 'faulty')}", flush=True)

    problems = compare(workdir / "clean", workdir / "faulty")
    print(f"compared {count_rows(workdir / 'clean')} rows with {count_rows(workdir / 'faulty')}: "
          f"keys, statuses and {count_scores(workdir / 'clean')} scores; "
          + ("diff: none" if not problems else f"diff: {len(problems)} differences"))
    for line in problems[:20]:
        print(f"  {line}")
    sys.exit(1 if problems or disturbance.survivors else 0)


def write_setup(workdir: Path, seeds: int, rows: int) -> Path:
    """The synthetic dataset, registered, and the bench.toml whose `faults` profile runs the plan."""
    workdir.mkdir(parents=True, exist_ok=True)
    write_toy_csv(workdir / "toy.csv", n=rows)
    config = workdir / "bench.toml"
    config.write_text(f"""
[data]
dir = "{workdir / 'data'}"
[run]
profile = "faults"
datasets = ["toy"]
irs = [5]
seeds = {list(range(1, seeds + 1))}
classifiers = ["SVM", "DT"]
samplers = {SAMPLERS}
ratios = {RATIOS}
workers = 2
time_limit = 600
[profiles.faults]
""")
    env = {**os.environ, "BENCH_CONFIG": str(config)}
    subprocess.run([sys.executable, "-m", "bench.cli", "data", "import", str(workdir / "toy.csv"),
                    "--target", "label"], env=env, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return config


def plan_size(config: Path) -> tuple[int, int]:
    """Units and rows of the whole plan, from the harness's own planner."""
    from bench.config import load_settings
    from bench.data import DataCatalog
    from bench.runner import make_plan
    settings = load_settings(config)
    plan = make_plan(settings.run_for(), DataCatalog(settings.data_dir), set(), settings.data.impute,
                     settings.data.leak)
    return len(plan.units), plan.total_rows


def bench_run(results: Path, extra: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`bench run` in a process group of its own, so that the driver and what it started die together."""
    with open(log, "a") as out:
        return subprocess.Popen([sys.executable, "-m", "bench.cli", "run", "--results", str(results), *extra],
                                env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def finish(proc: subprocess.Popen, log: Path) -> None:
    if proc.wait() != 0:
        sys.exit(f"bench run failed (exit code {proc.returncode}); its output: {log}\n{log.read_text()[-2000:]}")


def disturbed_run(results: Path, executor: list[str], env: dict[str, str], rows: int, args,
                  workdir: Path) -> Disturbance:
    """Run the plan to the end while killing workers at random and the driver at a third and two thirds."""
    rng = random.Random(args.random_state)
    log = workdir / "faulty.log"
    record = Disturbance()
    thresholds = [(rows // 4, "group"), (rows // 2, "driver alone"), (3 * rows // 4, "group")]
    start = time.monotonic()
    driver, record.driver_starts = bench_run(results, executor, env, log), 1
    next_kill = time.monotonic() + rng.uniform(0.5, 1.5) * args.kill_every
    while driver.poll() is None:
        stored = count_rows(results)
        if thresholds and stored >= thresholds[0][0]:
            _, whom = thresholds.pop(0)
            workers = worker_processes(driver.pid, "local")
            if whom == "group":
                os.killpg(driver.pid, signal.SIGKILL)
            else:
                os.kill(driver.pid, signal.SIGKILL)
            driver.wait()
            if whom != "group" and args.executor == "local":
                record.survivors += len(still_alive(workers))
            record.driver_kills.append(f"{stored} ({whom})")
            driver, record.driver_starts = bench_run(results, executor, env, log), record.driver_starts + 1
            continue
        if time.monotonic() >= next_kill:
            victims = worker_processes(driver.pid, args.executor)
            if victims:
                try:
                    os.kill(rng.choice(victims), signal.SIGKILL)
                    record.worker_kills += 1
                except ProcessLookupError:   # finished in the meantime
                    pass
            next_kill = time.monotonic() + rng.uniform(0.5, 1.5) * args.kill_every
        time.sleep(0.1)
    finish(driver, log)
    record.seconds = time.monotonic() - start
    return record


def worker_processes(driver: int, executor: str) -> list[int]:
    """Processes computing a unit: the local executor's forked children of the driver (same command line),
    or Ray workers titled with the executor's task name."""
    processes = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        processes[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmdline)
    if executor == "ray":
        from bench.executors.ray import TASK_NAME
        title = f"ray::{TASK_NAME}".encode()
        return [pid for pid, (_, cmdline) in processes.items() if cmdline.startswith(title)]
    own = processes.get(driver, (0, None))[1]
    return [pid for pid, (parent, cmdline) in processes.items() if parent == driver and cmdline == own]


def still_alive(pids: list[int], wait: float = 10.0) -> list[int]:
    """Those of `pids` that are still running (not zombies) after up to `wait` seconds."""
    def alive(pid: int) -> bool:
        try:
            return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    deadline = time.monotonic() + wait
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def _query(results: Path, sql: str) -> list[tuple]:
    db = results / "bench.sqlite"
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=60) as conn:
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:   # the schema is not written yet
            return []


def count_rows(results: Path, where: str = "1") -> int:
    found = _query(results, f"SELECT COUNT(*) FROM runs WHERE {where}")
    return found[0][0] if found else 0


def count_scores(results: Path) -> int:
    found = _query(results, "SELECT COUNT(*) FROM scores")
    return found[0][0] if found else 0


def status_counts(results: Path) -> str:
    return ", ".join(f"{n} {s}" for s, n in _query(results, "SELECT status, COUNT(*) FROM runs GROUP BY status"))


def compare(expected: Path, actual: Path) -> list[str]:
    """Every key, status and score that differs between two stores, one line each."""
    problems = []
    a = dict(_query(expected, "SELECT key, status FROM runs"))
    b = dict(_query(actual, "SELECT key, status FROM runs"))
    problems += [f"{k}: missing from the disturbed store" for k in sorted(a.keys() - b.keys())]
    problems += [f"{k}: only in the disturbed store" for k in sorted(b.keys() - a.keys())]
    problems += [f"{k}: status {a[k]} undisturbed, {b[k]} disturbed" for k in sorted(a.keys() & b.keys())
                 if a[k] != b[k]]
    scores = "SELECT key, split, metric, value FROM scores"
    sa = {(k, s, m): v for k, s, m, v in _query(expected, scores)}
    sb = {(k, s, m): v for k, s, m, v in _query(actual, scores)}
    problems += [f"{k} {s} {m}: {sa.get((k, s, m))} undisturbed, {sb.get((k, s, m))} disturbed"
                 for k, s, m in sorted(sa.keys() | sb.keys()) if sa.get((k, s, m)) != sb.get((k, s, m))]
    return problems


if __name__ == "__main__":
    main()
