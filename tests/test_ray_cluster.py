"""The Ray executor on a two-node cluster on this machine: a head without CPUs and worker nodes that cannot see
the researcher's folder (the driver's working directory, its data directory, its sampler module, its bench.toml),
run through `bench run --executor ray --address`.

A worker node here is a second raylet (ray.cluster_utils.Cluster) started with its own temporary directory and a
`sitecustomize` whose audit hook refuses to open, list, create, rename or remove anything under the hidden folder
(symbolic links resolved), and to open an SQLite database there, in every Python process of that node. So a unit
that read the driver's files, or imported the researcher's module from the driver's folder, would fail on the node;
each test with worker nodes first checks that the hook refuses, in a worker set up with the run's own runtime
environment. (What the hook cannot see: a file opened by C code without Python, e.g. pyarrow reading a path, and a
stat() call.) The cluster and its driver run in a fresh process per test (`_in_a_fresh_process`).
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from bench.cli import app  # noqa: E402
from bench.config import load_settings  # noqa: E402
from bench.data import DataCatalog  # noqa: E402
from bench.executors.ray import ClusterError, RayExecutor  # noqa: E402
from bench.runner import make_plan  # noqa: E402
from bench.store import ResultStore  # noqa: E402
from conftest import OFFLINE_DATASETS, importable_module, needs_offline_datasets  # noqa: E402

pytestmark = needs_offline_datasets

SCORE_COLUMNS = ["key", "status", "n_train", "n_minority", "val_macro_f1", "test_macro_f1", "val_mcc", "test_mcc"]

#: Installed in every Python process of a worker node: touching a path under $HIDDEN_FROM_NODE raises.
HIDING_HOOK = '''
import os, sys

_HIDDEN = tuple(os.path.realpath(p) for p in os.environ.get("HIDDEN_FROM_NODE", "").split(os.pathsep) if p)
_EVENTS = {"open", "os.listdir", "os.scandir", "os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir",
           "sqlite3.connect"}


def _refuse_hidden(event, args):
    if event in _EVENTS:
        for arg in args[:2]:   # a path, and a rename's target
            if isinstance(arg, (str, bytes, os.PathLike)):
                path = os.path.realpath(os.fsdecode(arg))
                if any(path == h or path.startswith(h + os.sep) for h in _HIDDEN):
                    raise PermissionError(f"hidden from this node: {path}")


if _HIDDEN:
    sys.addaudithook(_refuse_hidden)
'''

#: The researcher's sampler, in a folder only the driver has on its path. On the node named by $SLOW_NODE it
#: holds for a minute once it starts resampling (so a test can kill that node mid-unit); it writes a marker in
#: its node's temporary directory while it holds.
OWN_SAMPLER = '''
import os, tempfile, time
from pathlib import Path

from imblearn.over_sampling import RandomOverSampler


class NodeOverSampler(RandomOverSampler):
    def fit_resample(self, X, y):
        if os.environ.get("SLOW_NODE") == "yes":
            Path(tempfile.gettempdir(), "computing").write_text(str(os.getpid()))
            time.sleep(60)
        return super().fit_resample(X, y)
'''


def bench(*args):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def researcher(tmp_path, monkeypatch):
    """A researcher's folder: bench.toml on phoneme (IR 20, seed 1) with SMOTE and their own sampler, the data
    imported into its data directory, the sampler module on the driver's path only."""
    importable_module(tmp_path, monkeypatch, "node_over_sampler", OWN_SAMPLER)
    data_dir = tmp_path / "data"
    config = tmp_path / "bench.toml"
    config.write_text(f"""
[data]
dir = "{data_dir}"
[run]
profile = "cluster"
datasets = ["phoneme"]
irs = [20]
seeds = [1]
classifiers = ["SVM", "DT"]
samplers = ["SMOTE", "node_over_sampler:NodeOverSampler"]
ratios = [0.5, 1.0]
time_limit = 300
[profiles.cluster]
[profiles.lost-node]
samplers = ["node_over_sampler:NodeOverSampler"]
ratios = [0.5, 0.75, 1.0]
""")
    monkeypatch.setenv("BENCH_CONFIG", str(config))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    imported = bench("data", "import", str(OFFLINE_DATASETS / "phoneme.csv"))
    assert imported.exit_code == 0, imported.output
    monkeypatch.chdir(tmp_path)
    return tmp_path


@contextmanager
def cluster_without_the_drivers_files(researcher: Path, nodes: list[dict]):
    """A head node with no CPUs (the driver's node) and one worker node per entry of `nodes` (its CPUs and extra
    environment), each with a temporary directory of its own outside `researcher`, which is hidden from it; the
    driver works in `researcher` (Ray puts the driver's working directory on its workers' paths)."""
    outside = Path(tempfile.mkdtemp(prefix="bench-nodes-"))
    hook = outside / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HIDING_HOOK)
    driver_dir = os.getcwd()
    os.chdir(outside)   # the nodes' processes work outside the hidden folder, as on another machine
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = []
    try:
        for i, node in enumerate(nodes):
            tmp = outside / f"node-{i}-tmp"
            tmp.mkdir()
            env = {"TMPDIR": str(tmp), "PYTHONPATH": str(hook), "HIDDEN_FROM_NODE": str(researcher),
                   "RAY_worker_niceness": "0",   # as the local executor's workers, on a machine shared with others
                   **node.get("env", {})}
            workers.append((cluster.add_node(num_cpus=node["cpus"], env_vars=env), tmp))
        cluster.wait_for_nodes()
        os.chdir(driver_dir)
        yield cluster, workers
    finally:
        os.chdir(driver_dir)
        cluster.shutdown()
        shutil.rmtree(outside, ignore_errors=True)


def _hook_refuses(address: str, researcher: Path) -> str:
    """What a task on a worker node, set up with the run's runtime environment (the user module sent by
    py_modules, which rebuilds the worker's PYTHONPATH), gets when it opens the driver's data registry."""
    ray.init(address=address, log_to_driver=False,
             runtime_env={"py_modules": [str(researcher / "mine" / "node_over_sampler.py")]})
    try:
        @ray.remote(num_cpus=1)
        def read(path):
            try:
                Path(path).read_bytes()
                return "read"
            except PermissionError as err:
                return str(err)
        return ray.get(read.remote(str(researcher / "data" / "registry.json")))
    finally:
        ray.shutdown()


def _in_a_fresh_process(scenario, researcher: Path) -> dict:
    """`scenario(researcher)` (a function of this module, whose result is JSON) in a new Python process working
    in `researcher`: a process that ran Ray, even only a cluster's start, cannot safely fork the local executor's
    workers afterwards, and the rest of the suite forks them in this one."""
    code = (f"import json, sys; sys.path[:0] = {[str(Path(__file__).parent), str(researcher / 'mine')]!r}; "
            f"import {Path(__file__).stem} as here; "
            f"print('RESULT ' + json.dumps(here.{scenario.__name__}(here.Path({str(researcher)!r}))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=researcher, capture_output=True, text=True, timeout=900)
    result = next((line[7:] for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
    assert done.returncode == 0 and result, done.stdout[-4000:] + done.stderr[-4000:]
    return json.loads(result)


def _two_nodes(researcher: Path) -> dict:
    with cluster_without_the_drivers_files(researcher, [{"cpus": 2}]) as (cluster, nodes):
        hook = _hook_refuses(cluster.address, researcher)
        remote = bench("run", "--executor", "ray", "--address", cluster.address, "--results", str(researcher / "ray"))
        node_splits = len(list((nodes[0][1] / "bench-ray-data").glob("*/splits/*.npz")))
    return {"hook": hook, "exit_code": remote.exit_code, "output": remote.output, "node_splits": node_splits}


def test_a_node_without_the_drivers_files_stores_the_local_executors_rows(researcher):
    local = bench("run", "--results", str(researcher / "local"))
    assert local.exit_code == 0, local.output
    remote = _in_a_fresh_process(_two_nodes, researcher)
    assert remote["hook"].startswith("hidden from this node"), remote["hook"]
    assert remote["exit_code"] == 0, remote["output"]
    assert "sent to the nodes: node_over_sampler" in remote["output"]
    assert "on 2 node(s)" in remote["output"]
    local_rows, ray_rows = ResultStore(researcher / "local").frame(), ResultStore(researcher / "ray").frame()
    assert len(local_rows) == 8 and set(ray_rows["status"]) == {"ok"}, ray_rows["message"].tolist()
    assert set(ray_rows["sampler"]) == {"SMOTE", "node_over_sampler:NodeOverSampler"}
    assert ray_rows[SCORE_COLUMNS].equals(local_rows[SCORE_COLUMNS])   # bit for bit
    assert ray_rows["extra"].equals(local_rows["extra"])
    assert remote["node_splits"] > 0, "the node built its splits in a data directory of its own"


def _lost_node_plan(store: Path):
    settings = load_settings()
    return settings, make_plan(settings.run_for("lost-node", results=str(store)), DataCatalog(settings.data_dir),
                               set(), "zero", False)


def _lose_a_node_mid_unit(researcher: Path) -> dict:
    """Two one-CPU nodes; the researcher's sampler holds on the first, which is killed while it computes."""
    nodes = [{"cpus": 1, "env": {"SLOW_NODE": "yes"}}, {"cpus": 1}]
    store = researcher / "ray"
    with cluster_without_the_drivers_files(researcher, nodes) as (cluster, workers):
        hook = _hook_refuses(cluster.address, researcher)
        slow_node, slow_tmp = workers[0]
        killed, stop = [], threading.Event()

        def kill_the_slow_node_mid_unit():
            while not (slow_tmp / "computing").exists():
                if stop.wait(0.1):
                    return
            cluster.remove_node(slow_node, allow_graceful=False)
            killed.append(slow_node.node_id)

        killer = threading.Thread(target=kill_the_slow_node_mid_unit, daemon=True)
        killer.start()
        try:   # no retries (as when every attempt died): the unit on the lost node ends as error rows
            settings, plan = _lost_node_plan(store)
            RayExecutor(settings.data_dir, address=cluster.address, max_retries=0).run(plan.units,
                                                                                        ResultStore(store).write)
        finally:
            stop.set()
            killer.join()
        after_loss = ResultStore(store).frame()[["key", "status", "message", "finished_at"]]
        rerun = bench("run", "--executor", "ray", "--address", cluster.address, "--results", str(store),
                      "--profile", "lost-node", "--retry-failed")
    return {"hook": hook, "killed": bool(killed), "after_loss": after_loss.to_dict("records"),
            "rerun_exit_code": rerun.exit_code, "rerun_output": rerun.output}


def test_a_node_killed_mid_run_loses_nothing_computed_and_the_rerun_completes_the_store(researcher):
    local = bench("run", "--profile", "lost-node", "--results", str(researcher / "local"))
    assert local.exit_code == 0, local.output
    lost = _in_a_fresh_process(_lose_a_node_mid_unit, researcher)
    assert lost["hook"].startswith("hidden from this node"), lost["hook"]
    assert lost["killed"], "the slow node never started a unit"
    after_loss = pd.DataFrame(lost["after_loss"])
    failed = after_loss[after_loss["status"] != "ok"]
    assert len(failed) == 2 and set(failed["status"]) == {"error"}, after_loss[["status", "message"]]
    assert failed["message"].str.startswith("worker process died (").all(), failed["message"].tolist()
    assert len(after_loss) == 6   # the other units went on on the surviving node
    assert lost["rerun_exit_code"] == 0, lost["rerun_output"]
    assert "2 to compute" in lost["rerun_output"], lost["rerun_output"]
    final = ResultStore(researcher / "ray").frame()
    local_rows = ResultStore(researcher / "local").frame()
    assert final[SCORE_COLUMNS].equals(local_rows[SCORE_COLUMNS])
    ok_before = after_loss[after_loss["status"] == "ok"].set_index("key")
    kept = final.set_index("key").loc[ok_before.index]
    assert kept["finished_at"].equals(ok_before["finished_at"])   # what was computed before the loss was not recomputed


def _no_live_node_then_one_joins(researcher: Path) -> dict:
    store = researcher / "ray"
    with cluster_without_the_drivers_files(researcher, []) as (cluster, _):
        said = []
        settings, plan = _lost_node_plan(store)
        short = [dataclasses.replace(u, time_limit=2.0) for u in plan.units]
        try:
            RayExecutor(settings.data_dir, address=cluster.address, say=said.append).run(short,
                                                                                          ResultStore(store).write)
            stopped = None
        except ClusterError as err:
            stopped = str(err)
        rows_before = len(ResultStore(store).frame())
        cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        rerun = bench("run", "--executor", "ray", "--address", cluster.address, "--results", str(store),
                      "--profile", "lost-node")
    return {"stopped": stopped, "said": said, "rows_before": rows_before, "rerun_exit_code": rerun.exit_code,
            "rerun_output": rerun.output}


def test_a_cluster_without_a_live_node_stops_the_run_and_a_node_that_joins_completes_it(researcher):
    """Every worker node lost (here: none yet): no unit is submitted to wait for ever or stored as a false
    timeout; after a time limit the run stops with one line, and once a node joins the rerun computes it all."""
    result = _in_a_fresh_process(_no_live_node_then_one_joins, researcher)
    assert result["stopped"] is not None and result["stopped"].startswith(
        "no live node could take any of the 3 units left for 2 s"), result
    assert any(line.startswith("no live node can take the next unit (it asks for 1 CPUs, 0 GPUs; the cluster "
                               "has 0 CPUs, 0 GPUs): waiting for nodes") for line in result["said"]), result["said"]
    assert result["rows_before"] == 0
    assert result["rerun_exit_code"] == 0, result["rerun_output"]
    rows = ResultStore(researcher / "ray").frame()
    assert len(rows) == 6 and set(rows["status"]) == {"ok"}, rows["message"].tolist()
