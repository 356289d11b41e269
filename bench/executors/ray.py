"""The Ray executor: the local executor's units as plain Ray tasks, on a local Ray or an existing cluster.

Each unit is one task running `run_unit`; its rows come back to the driver, which alone calls `on_rows`
(the store), so a cluster needs no shared results directory. A unit asks for a CPU per process it starts and,
where the cluster has a GPU, a share of one for a GPU sampler (bench.executors.resources). Faults end as in the
local executor:

* a worker process that dies mid-unit (killed, out of memory, its node lost) is retried by Ray, up to
  `max_retries` times, on any node; when every attempt dies the unit gets "error" rows ("worker process
  died ...");
* a unit past its time limit is cancelled, its worker killed, and gets "timeout" rows. Units are submitted
  as the CPUs and GPUs of the cluster's live nodes free up (a node that joins mid-run takes units too; a GPU
  unit waiting for a GPU does not hold up the CPU units behind it), so a
  submitted unit starts at once: its limit counts from its submission until the attempt reports its start (a
  node that hangs or is lost before that times it out), then from that start, reported by the task itself to
  a small actor on the head node (with a beat every second while it computes). A retry gets the whole limit
  again;
* a sampler that raises, or a method or dataset its node cannot load, is already an "error" row naming the
  node; a task that fails otherwise (e.g. a node that cannot set up the run's `py_modules`) stores the exception
  it raised, type and first line, without the terminal codes of Ray's error text, and the node where known;
* when no live node can take any unit left for a whole time limit (every node lost), the run stops with one
  line; what it computed is stored and the rerun computes the rest.

Code: a method from outside (a sampler or classifier by import path or from bench.toml) whose module the
driver imports from its own files, not from an installed distribution, is sent to the nodes with its units
(Ray's `py_modules`); an installed one must be installed on every node. Every node needs the same
environment (`pip install -e .[ray]`): library versions are part of each row's key, and a node with others
stores error rows naming them.

Data: each dataset travels through Ray's object store, put once by the driver and shared by its units; a node
registers it once in a data directory of its own and builds its splits there (bench.executors.shipping). A node
needs neither the driver's data directory nor a shared filesystem.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import re
import sysconfig
import threading
import time
from collections.abc import Callable
from pathlib import Path

import ray   # an optional extra: importing this module without Ray raises ImportError (bench.executors says so)

from ..config import ConfigError
from ..errors import UserError
from ..extensions import one_line
from ..protocol import Row, Unit, failed_rows
from ..run_status import RunStatus
from ..samplers.registry import preload, sampler_entry
from . import OnRows, Setup
from .resources import gpu_share, uses_gpu
from .shipping import Shipment, pack, unpack
from .unit import compute_unit, single_threaded

#: The name a unit's task runs under (a worker's process title while it computes one: ``ray::bench-unit``).
TASK_NAME = "bench-unit"
#: How often the driver looks for started attempts and expired time limits (seconds).
POLL_S = 0.5
#: How long the attempt log may take to start on the head node before the run stops (seconds).
LOG_START_S = 120.0
#: How often a running attempt tells the driver it is alive (seconds).
BEAT_S = 1.0
#: Task failures that mean the worker process itself died (after Ray's retries).
WORKER_DEATHS = ("WorkerCrashedError", "NodeDiedError", "OutOfMemoryError", "LocalRayletDiedError")
#: Terminal colour and cursor codes, which Ray's error texts carry and a stored message must not.
TERMINAL_CODES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: The resource only a cluster's head node has (Ray's own name for it).
HEAD_NODE = "node:__internal_head__"
#: Where the driver looks for a cluster when no address is given: Ray's own variable.
ADDRESS_ENV = "RAY_ADDRESS"


def unit_resources(unit: Unit, *, cluster_has_gpu: bool, max_node_cpus: float) -> dict[str, float]:
    """The Ray resources one unit asks for: a CPU per process it runs, and a GPU share for a GPU sampler.

    `n_jobs` (e.g. AutoSMOTE's actors) counts processes the joblib way (-1: one per CPU of the node), capped
    at the largest node so the unit can be placed; a GPU share only when the cluster has a GPU and the
    unit's parameters do not keep its sampler on the CPU.
    """
    if max_node_cpus < 1:
        raise ValueError(f"max_node_cpus must be at least 1, got {max_node_cpus!r}")
    params = json.loads(unit.params)
    n_jobs = params.get("n_jobs") or 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int):
        raise ValueError(f"n_jobs of {unit.label} must be an integer, got {n_jobs!r}")
    processes = n_jobs if n_jobs > 0 else max_node_cpus + 1 + n_jobs
    return {"num_cpus": float(min(max(processes, 1), max_node_cpus)),
            "num_gpus": gpu_share(unit, 1.0 if cluster_has_gpu else 0.0)}


class RayExecutor:
    """Runs units as Ray tasks, each cancelled past its time limit; the driver alone receives the rows.

    Without `address` a local Ray with `num_cpus` CPUs (default: every core) is started, and stopped at the
    end; with `address` ("auto", "ray://host:port") the cluster there is used. A Ray already initialised
    in this process is used as it is. Arguments are checked here, before Ray starts.
    """

    def __init__(self, data_dir: Path, *, address: str | None = None, num_cpus: int | None = None,
                 max_retries: int = 1, say: Callable[[str], None] = lambda line: None,
                 rows_instead: Callable[[Unit], list | None] = lambda unit: None,
                 holds_back: Callable[[Unit], bool] = lambda unit: False):
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        if num_cpus is not None and (isinstance(num_cpus, bool) or not isinstance(num_cpus, int) or num_cpus < 1):
            raise ValueError(f"num_cpus must be a positive integer, got {num_cpus!r}")
        if num_cpus is not None and address is not None:
            raise ValueError("num_cpus sizes a local Ray; a cluster at an address has its own CPUs")
        self.data_dir, self.address, self.num_cpus = Path(data_dir), address, num_cpus
        self.max_retries, self.say = max_retries, say
        self.rows_instead, self.holds_back = rows_instead, holds_back   # bench.pruning, as the local executor

    @staticmethod
    def check(units: list[Unit]) -> None:
        """A method module that cannot travel to the nodes is refused before a store exists."""
        modules_to_send(units)

    @classmethod
    def for_run(cls, setup: Setup) -> "RayExecutor":
        """The cluster at `setup.address` (--address, else [run] ray_address), else at $RAY_ADDRESS, else a local
        Ray sized by --workers (a cluster brings its own CPUs)."""
        address = setup.address or os.environ.get(ADDRESS_ENV) or None
        return cls(setup.data_dir, address=address, say=setup.say, rows_instead=setup.rows_instead,
                   holds_back=setup.holds_back, num_cpus=(setup.workers or None) if address is None else None)

    def run(self, units: list[Unit], on_rows: OnRows) -> None:
        if not units:
            return
        modules = modules_to_send(units)
        started = _connect(self.address, self.num_cpus, modules)
        if modules:
            names = ", ".join(sorted(Path(m).stem for m in modules))
            self.say(f"sent to the nodes: {names}" if started else
                     f"Ray was started before this run: its nodes must import {names} themselves")
        try:
            _run(units, self.data_dir, on_rows, self.max_retries, self.say, self.rows_instead, self.holds_back)
        finally:
            if started:
                ray.shutdown()


def _connect(address: str | None, num_cpus: int | None, modules: list[str]) -> bool:
    """Start or join Ray, the `modules` sent to its nodes; True when this call did (and so must shut it down)."""
    if ray.is_initialized():
        return False
    runtime_env = {"py_modules": modules} if modules else None
    if address is None:   # "local": a new Ray here, even where $RAY_ADDRESS names a cluster
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), include_dashboard=False,
                 log_to_driver=False, runtime_env=runtime_env)
    else:
        ray.init(address=address, log_to_driver=False, runtime_env=runtime_env)
    return True


def _run(units: list[Unit], data_dir: Path, on_rows: OnRows, max_retries: int, say: Callable[[str], None],
         rows_instead: Callable[[Unit], list | None], holds_back: Callable[[Unit], bool]) -> None:
    """Submit units as the live nodes' CPUs and GPUs free up, so that a submitted unit starts at once: its time
    limit then counts from its submission until its start is reported (a node that hangs or is lost before
    it starts the unit times it out), and from its start after that. A unit's request is worked out from the
    nodes alive when it is submitted; when no live node can take any unit left for a whole time limit, the run
    stops (what it computed is stored; the rerun computes the rest)."""
    nodes = _Nodes()
    for unit in units:   # every unit's parameters checked before any is submitted
        nodes.request(unit)
    say(f"Ray: {nodes.capacity['num_cpus']:g} CPUs and {nodes.capacity['num_gpus']:g} GPUs on {nodes.count} "
        f"node(s); {sum(nodes.request(u)['num_gpus'] > 0 for u in units)} of {len(units)} units ask for a GPU share "
        f"({sum(map(uses_gpu, units))} are of GPU samplers)")
    datasets = {name: ray.put(pack(data_dir, name)) for name in dict.fromkeys(u.dataset for u in units)}
    # The log lives on the head node, the one node a cluster cannot lose and go on (the driver's own node may be
    # any worker node: a lost worker node must not take the log with it).
    log = ray.remote(num_cpus=0, resources={HEAD_NODE: 0.001})(AttemptLog).remote()
    task = ray.remote(_unit_task)
    waiting = list(range(len(units)))[::-1]
    running: dict[object, int] = {}    # task reference -> unit index
    granted: dict[int, dict[str, float]] = {}   # unit index -> the resources it was submitted with
    in_use = {"num_cpus": 0.0, "num_gpus": 0.0}
    deadlines: dict[int, float] = {}   # unit index -> when its time is up (monotonic): from submission, then start
    unstarted: set[int] = set()
    seen_starts, next_poll, starved_since = 0, 0.0, None

    def next_that_fits() -> int | None:
        """The position in `waiting` of the first unit (in plan order) that fits the free resources: a GPU
        unit waiting for a GPU does not hold up the CPU units behind it; a held-back unit (bench.pruning) waits
        while another fits."""
        blocked, held = set(), None
        for position in range(len(waiting) - 1, -1, -1):
            request = nodes.request(units[waiting[position]])
            shape = tuple(request.values())
            if shape not in blocked:
                if all(in_use[k] + request[k] <= nodes.capacity[k] for k in in_use):
                    if not holds_back(units[waiting[position]]):
                        return position
                    held = position if held is None else held
                else:
                    blocked.add(shape)
        return held

    def submit_what_fits() -> None:
        nonlocal starved_since
        while waiting and (position := next_that_fits()) is not None:
            index = waiting.pop(position)
            unit = units[index]
            instead = rows_instead(unit)
            if instead is not None:
                on_rows(instead)
                continue
            granted[index] = nodes.request(unit)
            options = dict(name=TASK_NAME, max_retries=max_retries, retry_exceptions=False, **granted[index])
            running[task.options(**options).remote(unit, datasets[unit.dataset], index, log)] = index
            for k in in_use:
                in_use[k] += granted[index][k]
            deadlines[index] = time.monotonic() + unit.time_limit
            unstarted.add(index)
        if running or not waiting:
            starved_since = None
        elif starved_since is None:
            starved_since = time.monotonic()
            say(f"no live node can take the next unit (it asks for {_asks(nodes.request(units[waiting[-1]]))}; "
                f"the cluster has {_asks(nodes.capacity)}): waiting for nodes")
        elif time.monotonic() - starved_since > units[waiting[-1]].time_limit:
            raise ClusterError(f"no live node could take any of the {len(waiting)} units left for "
                               f"{units[waiting[-1]].time_limit:g} s (the cluster has {_asks(nodes.capacity)}): "
                               "start nodes and run again; the rows computed are stored")

    def done(ref) -> int:
        index = running.pop(ref)
        deadlines.pop(index, None)
        unstarted.discard(index)
        for k, amount in granted.pop(index).items():
            in_use[k] -= amount
        return index

    try:
        try:   # the log answers once before any unit depends on it
            ray.get(log.report.remote(0, []), timeout=LOG_START_S)
        except ray.exceptions.GetTimeoutError:
            raise ClusterError(f"the cluster's head node did not start bench's attempt log (a zero-CPU actor) in "
                               f"{LOG_START_S:g} s: check `ray status` on the head node") from None
        submit_what_fits()
        while running or waiting:
            if running:
                ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                if ready:
                    ready, _ = ray.wait(list(running), num_returns=len(running), timeout=0)
            else:   # nothing fits the live nodes: wait for one to join
                ready = []
                time.sleep(POLL_S)
            for ref in ready:
                index = done(ref)
                on_rows(_collect(ref, units[index], max_retries))
            now = time.monotonic()
            if now >= next_poll:
                next_poll = now + POLL_S
                nodes.refresh()   # nodes lost or joined since
                live = set(running.values())
                expired = [i for i, d in deadlines.items() if d <= now and i not in unstarted]
                started, silence = ray.get(log.report.remote(seen_starts, expired))
                seen_starts += len(started)
                unstarted.difference_update(started)
                deadlines.update((i, now + units[i].time_limit) for i in started if i in live)
                over = {i for i in set(expired) - set(started)
                        if _out_of_time(units[i], overdue=now - deadlines[i], silence=silence[i])}
                never_started = {i for i in unstarted if deadlines[i] <= now}
                for ref in [r for r, i in running.items() if i in over | never_started]:
                    index = done(ref)
                    ray.cancel(ref, force=True)   # kills the worker process; a cancelled task is not retried
                    unit = units[index]
                    why = " before it started (its node hung or was lost)" if index in never_started else ""
                    on_rows(failed_rows(unit, RunStatus.TIMEOUT,
                                        f"exceeded the time limit of {unit.time_limit:g} s{why}"))
            submit_what_fits()
    finally:
        for ref in running:   # interrupted: stop what is still queued or computing
            ray.cancel(ref, force=True)
        ray.kill(log)


class ClusterError(UserError):
    """The cluster cannot go on with the run (no live node can take its units); str(e) is one line."""


class _Nodes:
    """The cluster's live nodes as units are submitted: their CPUs and GPUs, and what a unit asks of them (worked
    out again only when the largest node or the presence of a GPU changes)."""

    def __init__(self):
        self._shape: tuple[float, bool] | None = None
        self._requests: dict[tuple[str, str], dict[str, float]] = {}
        self.refresh()

    def refresh(self) -> None:
        alive = [n["Resources"] for n in ray.nodes() if n["Alive"]]
        shape = (max((n.get("CPU", 0) for n in alive), default=0), any(n.get("GPU", 0) > 0 for n in alive))
        if shape != self._shape:
            self._shape, self._requests = shape, {}
        self.count = len(alive)
        self.capacity = {"num_cpus": sum(n.get("CPU", 0) for n in alive),
                         "num_gpus": sum(n.get("GPU", 0) for n in alive)}

    def request(self, unit: Unit) -> dict[str, float]:
        key = (unit.sampler, unit.params)
        if key not in self._requests:
            max_node_cpus, has_gpu = self._shape
            self._requests[key] = unit_resources(unit, cluster_has_gpu=has_gpu, max_node_cpus=max(max_node_cpus, 1))
        return self._requests[key]


def _asks(resources: dict[str, float]) -> str:
    return f"{resources['num_cpus']:g} CPUs, {resources['num_gpus']:g} GPUs"


def _out_of_time(unit: Unit, *, overdue: float, silence: float) -> bool:
    """Whether an attempt past its deadline is to be cancelled.

    Yes when it beat after the deadline (still computing). An attempt silent since then has most likely
    died and is waiting for Ray's retry, which gets a clock of its own; but one silent for a whole further
    time limit is cancelled all the same (hung with the interpreter locked, or its retry not placed).
    """
    return silence < overdue or overdue >= unit.time_limit


def _collect(ref, unit: Unit, max_retries: int) -> list[Row]:
    """A finished task's rows; a task that failed in Ray itself (its worker died every time) as error rows."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as err:
        kind = type(err).__name__
        if kind in WORKER_DEATHS:
            return failed_rows(unit, RunStatus.ERROR, f"worker process died ({kind}, {max_retries + 1} attempts)")
        node = getattr(err, "ip", None)   # a task's error knows the node it ran on
        return failed_rows(unit, RunStatus.ERROR, cause(err) + (f" (on node {node})" if node else ""))


def cause(err: BaseException) -> str:
    """A failed task's error as a stored message: the exception the task raised (a RayTaskError's cause), else
    Ray's own, as its type and first line, without terminal codes."""
    raised = getattr(err, "cause", None) or err
    text = TERMINAL_CODES.sub("", str(raised))
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "(no message)")
    return f"{type(raised).__name__}: {first_line[:400]}"


class AttemptLog:
    """Attempts as their tasks report them: when each started and when it last showed it is alive.

    Once an attempt starts its time limit runs from that start, seen here (before, from its submission),
    and a worker that died mid-unit stops beating, so its unit is not timed out while Ray retries it. Times are the
    actor's own, so clocks of different nodes never meet.
    """

    def __init__(self):
        self._started: list[int] = []
        self._last_beat: dict[int, float] = {}

    def started(self, index: int) -> None:
        self._started.append(index)
        self._last_beat[index] = time.monotonic()

    def beat(self, index: int) -> None:
        self._last_beat[index] = time.monotonic()

    def report(self, seen: int, indices: list[int]) -> tuple[list[int], dict[int, float]]:
        """The attempts started after the first `seen`, and how long each of `indices` has been silent."""
        now = time.monotonic()
        return self._started[seen:], {i: now - self._last_beat.get(i, float("-inf")) for i in indices}


def _unit_task(unit: Unit, dataset: Shipment, index: int, log) -> list[Row]:
    """One unit in a Ray worker, set up as the local executor's forked worker, on the data it carries; never
    raises."""
    try:
        sampler_entry(unit.sampler, unit.factory)   # a method from outside: this worker never read bench.toml
        preload([unit.sampler])   # import the method before the clock starts, as a forked local worker has it
    except Exception as err:   # e.g. a module from outside that this node lacks
        return _on_this_node(failed_rows(unit, RunStatus.ERROR, f"this worker cannot load {unit.label}: "
                                                                f"{one_line(err)}"))
    try:
        data_dir = unpack(dataset)
    except Exception as err:
        return _on_this_node(failed_rows(unit, RunStatus.ERROR, f"this worker cannot register {dataset.name}: "
                                                                f"{one_line(err)}"))
    single_threaded()
    log.started.remote(index)
    stop = threading.Event()
    threading.Thread(target=_beat, args=(log, index, stop), daemon=True).start()
    try:
        rows = compute_unit(unit, data_dir)   # a pinned sampler in the worker's pinned interpreter
    finally:
        stop.set()
    return _on_this_node(rows)


def _on_this_node(rows: list[Row]) -> list[Row]:
    """Error rows name the node that stored them: on a cluster the cause may be the node's own (e.g. other
    library versions than the driver's)."""
    node = ray.util.get_node_ip_address()
    for row in rows:
        if row.status == RunStatus.ERROR:
            row.message = f"{row.message} (on node {node})"
    return rows


def _beat(log, index: int, stop: threading.Event) -> None:
    while not stop.wait(BEAT_S):
        log.beat.remote(index)


def modules_to_send(units: list[Unit]) -> list[str]:
    """The files of what the units' methods from outside need on a node that has only the installed environment:
    each one's top-level module as the driver imported it, sent along (Ray's `py_modules`) unless an installed
    distribution provides it (then every node must install it, as the key libraries). A module that cannot be
    sent is a one-line error before anything is submitted."""
    factories = {u.factory for u in units} | {c["factory"] for u in units for c in json.loads(u.classifier_code).values()}
    installed = importlib.metadata.packages_distributions()
    stdlib = sysconfig.get_paths()["stdlib"]
    out = []
    for name in sorted({f.partition(":")[0].split(".")[0] for f in factories if f}):
        module = importlib.import_module(name)
        where = getattr(module, "__file__", None) or ""
        if name in installed or name in ("bench", "autosmote") or where.startswith(stdlib):
            continue
        paths = list(getattr(module, "__path__", [where]))
        if not where or len(paths) != 1:
            raise ConfigError(f"{name}, a method's module from outside, cannot be sent to Ray's nodes (a namespace "
                              "package): install it on every node and in the driver's environment")
        out.append(paths[0])
    return out
