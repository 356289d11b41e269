"""The Ray executor on a two-node cluster on this machine: a head without CPUs and worker nodes that cannot see
the driver's data directory nor the researcher's sampler module, run through `bench run --executor ray --address`.

A worker node here is a second raylet (ray.cluster_utils.Cluster) started with its own temporary directory and a
`sitecustomize` whose audit hook refuses to open or list anything under the hidden folders, in every Python
process of that node. So a unit that read the driver's files, or imported the researcher's module from the
driver's folder, would fail on the node - the test checks that the hook does refuse them.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from bench.cli import app  # noqa: E402
from bench.config import load_settings  # noqa: E402
from bench.data import DataCatalog  # noqa: E402
from bench.executors.ray import RayExecutor  # noqa: E402
from bench.runner import make_plan  # noqa: E402
from bench.store import ResultStore  # noqa: E402
from conftest import OFFLINE_DATASETS, importable_module, needs_offline_datasets  # noqa: E402

pytestmark = needs_offline_datasets

SCORE_COLUMNS = ["key", "status", "n_train", "n_minority", "val_macro_f1", "test_macro_f1", "val_mcc", "test_mcc"]

#: Installed in every Python process of a worker node: opening or listing a path under $HIDDEN_FROM_NODE raises.
HIDING_HOOK = '''
import os, sys

_HIDDEN = tuple(p for p in os.environ.get("HIDDEN_FROM_NODE", "").split(os.pathsep) if p)


def _refuse_hidden(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.abspath(os.fsdecode(args[0]))
        if path.startswith(_HIDDEN):
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
time_limit = 120
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
    return tmp_path


@contextmanager
def cluster_without_the_drivers_files(folder: Path, hidden: list[Path], nodes: list[dict]):
    """A head node with no CPUs (the driver's node) and one worker node per entry of `nodes` (its CPUs and extra
    environment), each with a temporary directory of its own and `hidden` out of its reach."""
    hook = folder / "node-hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HIDING_HOOK)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = []
    try:
        for i, node in enumerate(nodes):
            tmp = folder / f"node-{i}-tmp"
            tmp.mkdir()
            env = {"TMPDIR": str(tmp), "PYTHONPATH": str(hook),
                   "HIDDEN_FROM_NODE": os.pathsep.join(map(str, hidden)), **node.get("env", {})}
            workers.append((cluster.add_node(num_cpus=node["cpus"], env_vars=env), tmp))
        cluster.wait_for_nodes()
        yield cluster, workers
    finally:
        cluster.shutdown()


def _hook_refuses(address: str, path: Path) -> str:
    """What a task on a worker node gets when it opens `path` (the hook's check: this test cannot pass by accident)."""
    ray.init(address=address, log_to_driver=False)
    try:
        @ray.remote(num_cpus=1)
        def read(p):
            try:
                return Path(p).read_bytes()[:0].decode() or "read"
            except PermissionError as err:
                return str(err)
        return ray.get(read.remote(str(path)))
    finally:
        ray.shutdown()


def test_a_node_without_the_drivers_files_stores_the_local_executors_rows(researcher):
    local = bench("run", "--results", str(researcher / "local"))   # before Ray: this process forks its workers
    assert local.exit_code == 0, local.output
    data_dir, module_dir = researcher / "data", researcher / "mine"
    with cluster_without_the_drivers_files(researcher, [data_dir, module_dir], [{"cpus": 2}]) as (cluster, nodes):
        assert _hook_refuses(cluster.address, data_dir / "registry.json").startswith("hidden from this node")
        remote = bench("run", "--executor", "ray", "--address", cluster.address, "--results", str(researcher / "ray"))
        node_data = list((nodes[0][1] / "bench-ray-data").glob("*/splits/*.npz"))
    assert remote.exit_code == 0, remote.output
    assert "sent to the nodes: node_over_sampler" in remote.output
    assert "on 2 node(s)" in remote.output
    local_rows, ray_rows = ResultStore(researcher / "local").frame(), ResultStore(researcher / "ray").frame()
    assert len(local_rows) == 8 and set(ray_rows["status"]) == {"ok"}, ray_rows["message"].tolist()
    assert set(ray_rows["sampler"]) == {"SMOTE", "node_over_sampler:NodeOverSampler"}
    assert ray_rows[SCORE_COLUMNS].equals(local_rows[SCORE_COLUMNS])   # bit for bit
    assert ray_rows["extra"].equals(local_rows["extra"])
    assert node_data, "the node built its splits in a data directory of its own"


def test_a_node_killed_mid_run_loses_nothing_computed_and_the_rerun_completes_the_store(researcher):
    local = bench("run", "--profile", "lost-node", "--results", str(researcher / "local"))
    assert local.exit_code == 0, local.output
    hidden = [researcher / "data", researcher / "mine"]
    nodes = [{"cpus": 1, "env": {"SLOW_NODE": "yes"}}, {"cpus": 1}]
    with cluster_without_the_drivers_files(researcher, hidden, nodes) as (cluster, workers):
        slow_node, slow_tmp = workers[0]
        killed = []

        def kill_the_slow_node_mid_unit():
            deadline = time.monotonic() + 120
            while not (slow_tmp / "computing").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            if (slow_tmp / "computing").exists():
                cluster.remove_node(slow_node, allow_graceful=False)
                killed.append(slow_node.node_id)

        killer = threading.Thread(target=kill_the_slow_node_mid_unit)
        killer.start()
        store = researcher / "ray"
        # no retries (as when every attempt died): the unit on the lost node ends as an error row
        settings = load_settings()
        plan = make_plan(settings.run_for("lost-node", results=str(store)), DataCatalog(settings.data_dir), set(), "zero", False)
        RayExecutor(settings.data_dir, address=cluster.address, max_retries=0).run(plan.units,
                                                                                    ResultStore(store).write)
        killer.join()
        assert killed, "the slow node never started a unit"
        after_loss = ResultStore(store).frame()
        rerun = bench("run", "--executor", "ray", "--address", cluster.address, "--results", str(store),
                      "--profile", "lost-node", "--retry-failed")
    failed = after_loss[after_loss["status"] != "ok"]
    assert len(failed) == 2 and set(failed["status"]) == {"error"}, after_loss[["sampler", "status"]]
    assert failed["message"].str.startswith("worker process died (").all(), failed["message"].tolist()
    assert len(after_loss) == 6   # the other units went on on the surviving node
    assert rerun.exit_code == 0, rerun.output
    assert "2 to compute" in rerun.output, rerun.output
    final = ResultStore(store).frame()
    local_rows = ResultStore(researcher / "local").frame()
    assert final[SCORE_COLUMNS].equals(local_rows[SCORE_COLUMNS])
    ok_before = after_loss[after_loss["status"] == "ok"].set_index("key")
    kept = final.set_index("key").loc[ok_before.index]
    assert kept["finished_at"].equals(ok_before["finished_at"])   # what was computed before the loss was not recomputed
