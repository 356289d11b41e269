"""The local executor: units in forked worker processes of its own, so that a unit over its time limit can be
killed outright (a thread or a pool worker cannot be); the driver alone writes the store. A worker dies with its
driver, however the driver ends: a worker left behind would hold the directory and compute for no one.

Where torch sees a GPU, the units of GPU samplers (bench.executors.resources) take a share of it each, as under
Ray: as many run at once as the shares allow, and the others wait while units on the CPU go on. Without a GPU
every unit runs on the CPU.
"""
from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from pathlib import Path

from .. import environment
from ..classifiers import CLASSIFIERS
from ..extensions import load_factory
from ..protocol import Row, Unit, failed_rows
from ..run_status import RunStatus
from ..samplers.registry import preload
from . import OnRows, Setup
from .resources import GPU_SHARE, gpu_share, uses_gpu, visible_gpus
from .unit import compute_unit, single_threaded

#: Units one worker process runs before it is replaced, bounding what a leaky method can accumulate.
UNITS_PER_WORKER = 100
#: Seconds between an idle worker's checks that its driver still lives, where the kernel cannot tell it.
DRIVER_CHECK_S = 1.0
PR_SET_PDEATHSIG = 1   # from <linux/prctl.h>


class LocalExecutor:
    """Runs units in at most `workers` forked worker processes, each unit killed past its time limit.

    A worker runs units one after another (a fresh fork per unit costs about as much again as a small unit:
    the child's first touches of the driver's memory are copy-on-write page faults); one whose unit runs out
    of time is killed and replaced, as is one that dies. Every unit seeds its own randomness, so its rows do
    not depend on what its worker ran before (the CI check compares them with rows of one process per unit).
    `rows_instead(unit)` may give the rows to store instead of starting a unit (bench.pruning). `gpus`: the
    GPUs the units may share (default: those torch sees, counted only when a unit would use one)."""

    def __init__(self, data_dir: Path, *, workers: int, gpus: float | None = None,
                 rows_instead: Callable[[Unit], list[Row] | None] = lambda unit: None,
                 holds_back: Callable[[Unit], bool] = lambda unit: False,
                 say: Callable[[str], None] = lambda line: None):
        self.data_dir, self.workers, self.gpus = Path(data_dir), max(1, workers), gpus
        self.rows_instead, self.holds_back, self.say = rows_instead, holds_back, say

    @staticmethod
    def check(units: list[Unit]) -> None:
        """Nothing to check: worker processes forked here have the driver's files and modules."""

    @classmethod
    def for_run(cls, setup: Setup) -> "LocalExecutor":
        return cls(setup.data_dir, workers=setup.workers or os.cpu_count() or 1, rows_instead=setup.rows_instead,
                   holds_back=setup.holds_back, say=setup.say)

    def run(self, units: list[Unit], on_rows: OnRows) -> None:
        gpus = self._gpus(units)
        _import_before_forking(units)
        ctx = mp.get_context("fork")
        pending = list(units)
        idle: list[_Worker] = []
        busy: dict[object, _Worker] = {}   # the worker's end of its pipe -> the worker
        try:
            while pending or busy:
                while len(busy) < self.workers:
                    gpu_free = gpus - sum(gpu_share(w.unit, gpus) for w in busy.values())
                    unit = _next_unit(pending, gpus, gpu_free, self.holds_back)
                    if unit is None:
                        break
                    instead = self.rows_instead(unit)
                    if instead is not None:
                        on_rows(instead)
                        continue
                    worker = idle.pop() if idle else _Worker(ctx, self.data_dir, [*busy, *(w.connection for w in idle)])
                    worker.start(unit)
                    busy[worker.connection] = worker
                if not busy:
                    continue
                next_deadline = min(w.deadline for w in busy.values())
                for connection in wait(list(busy), timeout=max(0.0, next_deadline - time.monotonic())):
                    worker = busy.pop(connection)
                    try:
                        rows = connection.recv()
                    except EOFError:   # the worker died without answering (killed, out of memory, ...)
                        worker.kill()
                        rows = failed_rows(worker.unit, RunStatus.ERROR,
                                           f"worker process died (exit code {worker.process.exitcode})")
                    else:
                        if worker.units < UNITS_PER_WORKER:
                            idle.append(worker)
                        else:
                            worker.stop()
                    on_rows(rows)
                now = time.monotonic()
                for connection in [c for c, w in busy.items() if w.deadline <= now]:
                    worker = busy.pop(connection)
                    worker.kill()
                    on_rows(failed_rows(worker.unit, RunStatus.TIMEOUT,
                                        f"exceeded the time limit of {worker.unit.time_limit:g} s"))
        finally:
            for worker in idle:
                worker.stop()
            for worker in busy.values():
                worker.kill()

    def _gpus(self, units: list[Unit]) -> float:
        """The GPUs the units share, said on the run's console when a unit would train on one."""
        on_gpu = sum(uses_gpu(u) for u in units)
        if not on_gpu:
            return 0.0
        gpus = visible_gpus() if self.gpus is None else self.gpus
        if gpus:
            self.say(f"{on_gpu} units train on {gpus:g} GPU(s), {int(gpus / GPU_SHARE)} at a time")
        else:
            self.say(f"no GPU visible: {on_gpu} units of GPU samplers train on the CPU")
        return float(gpus)


def _next_unit(pending: list[Unit], gpus: float, gpu_free: float, holds_back: Callable[[Unit], bool]) -> Unit | None:
    """Take the next unit to start from `pending`: the first one whose GPU share is free (one that needs none
    always is) and that is not held back (bench.pruning) - or, when every such unit is held back, the first of
    them rather than leave the worker idle; None when every pending unit waits for a GPU share."""
    held = None
    for i, unit in enumerate(pending):
        if gpu_share(unit, gpus) <= gpu_free:
            if not holds_back(unit):
                return pending.pop(i)
            held = i if held is None else held
    return None if held is None else pending.pop(held)


def _import_before_forking(units: list[Unit]) -> None:
    """What the units will import (their samplers' adapters and methods, the classifiers, the metrics) and
    the environment their rows record, loaded once here: forked workers inherit it instead of each
    loading it again."""
    environment.describe()
    preload({u.sampler for u in units})
    for name in {c for u in units for c in u.classifiers}:
        load_factory(CLASSIFIERS[name].factory)
    import sklearn.metrics  # noqa: F401  (what bench.metrics imports on first use)


class _Worker:
    """A forked process that runs the units it is sent, one at a time, until it is sent None. `others`: the
    driver's ends of the other workers' pipes, which the child closes with its own."""

    def __init__(self, ctx, data_dir: Path, others: list):
        self.connection, child = ctx.Pipe()
        # not daemonic: a unit may start processes of its own (AutoSMOTE's actors)
        self.process = ctx.Process(target=_serve, args=(child, [self.connection, *others], data_dir, os.getpid()))
        self.process.start()
        child.close()
        self.unit: Unit | None = None
        self.deadline = float("inf")
        self.units = 0

    def start(self, unit: Unit) -> None:
        self.connection.send(unit)
        self.unit, self.deadline, self.units = unit, time.monotonic() + unit.time_limit, self.units + 1

    def stop(self) -> None:
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(timeout=10)
        self.kill()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.connection.close()


def _serve(connection, driver_ends: list, data_dir: Path, driver: int) -> None:
    """A worker's loop; one thread, since the executor already runs one worker per core. It ends with its
    driver: the kernel kills it when the driver exits (Linux); elsewhere it finds the driver gone when idle.
    (The driver's run lock it inherited is closed at the fork: bench.store.)"""
    _die_with(driver)
    for end in driver_ends:   # the driver's ends: with them closed here, the driver's death is EOF here
        end.close()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)   # not the driver's handler (bench.execution), inherited
    single_threaded()
    try:
        while True:
            while not connection.poll(DRIVER_CHECK_S):
                if os.getppid() != driver:
                    os._exit(0)
            if (unit := connection.recv()) is None:
                break
            connection.send(compute_unit(unit, data_dir))
            stop_process_pools()
    except KeyboardInterrupt:   # Ctrl-C reaches the whole process group: the driver reports it, quietly here
        os._exit(130)
    except (EOFError, ConnectionError):   # the driver is gone (its pipe closed: EOF, or reset if data was unread)
        os._exit(0)


def _die_with(driver: int) -> None:
    """Have the kernel send SIGKILL when the driver exits, however it does (SIGKILL, the OOM killer): Linux's
    prctl(PR_SET_PDEATHSIG), through ctypes since the standard library does not wrap it. A driver that died
    before this took effect is no longer the parent: the check after it catches that."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != driver:
        os._exit(0)


def stop_process_pools() -> None:
    """Shut down joblib's loky pool if the unit started one (ctgan does, for its data transformer). Its
    workers idle for 300 s before they exit, holding memory, and a process waits for its children when it
    ends, so a worker that is stopped or replaced would linger that long."""
    module = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(module, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)
