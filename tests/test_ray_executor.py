"""The Ray executor: the local executor's rows on a local Ray of 2 CPUs, time limits, and real worker kills."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from bench import methods  # noqa: E402
from bench.config import load_settings  # noqa: E402
from bench.data import DataCatalog  # noqa: E402
from bench.protocol import Unit  # noqa: E402
from bench.pruning import TimeoutPruning  # noqa: E402
from bench.executors.local import LocalExecutor  # noqa: E402
from bench.executors.ray import RayExecutor, _out_of_time, unit_resources  # noqa: E402
from bench.executors.resources import GPU_SHARE  # noqa: E402
from bench.runner import make_plan  # noqa: E402
from bench.samplers.registry import SAMPLERS, SamplerEntry, register  # noqa: E402
from bench.store import ResultStore  # noqa: E402
from conftest import add_to_config  # noqa: E402

SCORE_COLUMNS = ["key", "status", "n_train", "n_minority", "val_macro_f1", "test_macro_f1", "val_mcc", "test_mcc"]


class _SleepsAfterWritingItsPid:
    """Writes its worker's pid to `marker`, then sleeps past any time limit of these tests."""

    def __init__(self, marker):
        self.marker = Path(marker)

    def fit_resample(self, X, y):
        self.marker.write_text(str(os.getpid()))
        time.sleep(120)
        return X, y


class _SleepsOnlyTheFirstTime(_SleepsAfterWritingItsPid):
    """The first attempt sleeps (to be killed); once `marker` exists, doubles the minority rows."""

    def fit_resample(self, X, y):
        if not self.marker.exists():
            return super().fit_resample(X, y)
        return np.vstack([X, X[y == 1]]), np.concatenate([y, y[y == 1]])


class _SleepsAtEveryRatio:
    def fit_resample(self, X, y):
        time.sleep(120)


class _KillsItsOwnWorker:
    def fit_resample(self, X, y):
        os.kill(os.getpid(), signal.SIGKILL)


class _Raises:
    def fit_resample(self, X, y):
        raise RuntimeError("broken on purpose")


def _register_test_samplers() -> None:
    """In the test process and, through Ray's worker set-up hook, in every Ray worker."""
    makers = {"ray-test-sleeps": lambda params, context: _SleepsAfterWritingItsPid(params["marker"]),
              "ray-test-sleeps-once": lambda params, context: _SleepsOnlyTheFirstTime(params["marker"]),
              "ray-test-kills-worker": lambda params, context: _KillsItsOwnWorker(),
              "ray-test-raises": lambda params, context: _Raises()}
    for name, make in makers.items():
        if name not in SAMPLERS:
            register(SamplerEntry(name, "test", "test", make, version="1", tunes_ratio=False))
    if "ray-test-slow" not in SAMPLERS:
        register(SamplerEntry("ray-test-slow", "test", "test", lambda params, context: _SleepsAtEveryRatio(),
                              version="1"))


_register_test_samplers()


@pytest.fixture
def ray_with_test_samplers():
    """A local Ray of 2 CPUs whose workers import this module, so that they know its samplers."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={
        "env_vars": {"PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.getcwd()])},
        "worker_process_setup_hook": f"{Path(__file__).stem}._register_test_samplers"})
    yield
    ray.shutdown()


def _plan(results_dir, **overrides):
    settings = load_settings()
    run = settings.run_for(results=str(results_dir), **overrides)
    store = ResultStore(results_dir)
    return make_plan(run, DataCatalog(settings.data_dir), store.keys(), "zero", False), settings.data_dir, store


def _run_local(results_dir, **overrides):
    plan, data_dir, store = _plan(results_dir, **overrides)
    LocalExecutor(data_dir, workers=2).run(plan.units, store.write)
    return store.frame()


def _run_ray(results_dir, **kwargs):
    """The Ray executor on a plan; also every batch of rows it handed to the driver."""
    overrides = {k: kwargs.pop(k) for k in ("samplers", "classifiers", "time_limits", "ratios", "seeds")
                 if k in kwargs}
    observe = kwargs.pop("observe", lambda rows: None)
    plan, data_dir, store = _plan(results_dir, **overrides)
    batches = []

    def on_rows(rows):
        batches.append(rows)
        store.write(rows)
        observe(rows)

    RayExecutor(data_dir, **kwargs).run(plan.units, on_rows)
    return store.frame(), batches


def _unit(sampler="SMOTE", params=None):
    return Unit("toy", 5, 1, sampler, sampler, json.dumps(params or {}, sort_keys=True), "1", "{}", "{}",
                ("SVM",))


def test_resources_ask_for_a_cpu_per_actor_and_a_gpu_share_for_torch_learners():
    def resources(sampler, params=None, gpu=False, cpus=8):
        return unit_resources(_unit(sampler, params), cluster_has_gpu=gpu, max_node_cpus=cpus)

    assert resources("SMOTE") == {"num_cpus": 1.0, "num_gpus": 0.0}
    assert resources("SMOTE", gpu=True) == {"num_cpus": 1.0, "num_gpus": 0.0}
    assert resources("AutoSMOTE", {"n_jobs": 4}) == {"num_cpus": 4.0, "num_gpus": 0.0}
    assert resources("AutoSMOTE", {"n_jobs": 16})["num_cpus"] == 8.0          # capped at the largest node
    assert resources("AutoSMOTE", {"n_jobs": -1})["num_cpus"] == 8.0          # joblib's -1: every CPU
    assert resources("AutoSMOTE", {"n_jobs": -2})["num_cpus"] == 7.0
    assert resources("AutoSMOTE", {"n_jobs": 4}, gpu=True) == {"num_cpus": 4.0, "num_gpus": GPU_SHARE}
    assert resources("AutoSMOTE", {"device": "cpu"}, gpu=True)["num_gpus"] == 0.0
    assert resources("CTGAN", {"ratio": 0.5}, gpu=True)["num_gpus"] == GPU_SHARE
    assert resources("TVAE", {"ratio": 0.5, "enable_gpu": False}, gpu=True)["num_gpus"] == 0.0
    assert resources("CTGAN", {"ratio": 0.5}, gpu=False)["num_gpus"] == 0.0
    # every sampler the catalogue marks uses_gpu, not a list of names: MESA and the Gumbel entries too
    assert resources("MESA", gpu=True)["num_gpus"] == GPU_SHARE
    assert resources("MESA", {"device": "cpu"}, gpu=True)["num_gpus"] == 0.0
    assert resources("AutoSMOTE-self", {"ratio": 0.5}, gpu=True)["num_gpus"] == GPU_SHARE
    assert resources("CTGAN-ctgan", {"ratio": 0.5, "enable_gpu": False}, gpu=True)["num_gpus"] == 0.0
    with pytest.raises(ValueError, match="n_jobs"):
        resources("AutoSMOTE", {"n_jobs": "4"})
    with pytest.raises(ValueError, match="max_node_cpus"):
        resources("SMOTE", cpus=0)


def test_an_overdue_attempt_is_cancelled_once_it_shows_it_is_still_computing():
    unit = dataclasses.replace(_unit(), time_limit=10.0)
    assert _out_of_time(unit, overdue=2.0, silence=0.5)        # beat after its deadline: still computing
    assert not _out_of_time(unit, overdue=2.0, silence=3.0)    # silent since before it: died, Ray retries it
    assert _out_of_time(unit, overdue=10.0, silence=12.0)      # silent for a whole further limit: given up


def test_arguments_are_checked_before_ray_starts(tmp_path):
    with pytest.raises(ValueError, match="max_retries"):
        RayExecutor(tmp_path, max_retries=-1)
    with pytest.raises(ValueError, match="num_cpus"):
        RayExecutor(tmp_path, num_cpus=0)
    with pytest.raises(ValueError, match="num_cpus"):
        RayExecutor(tmp_path, address="auto", num_cpus=2)


def test_ray_stores_the_rows_and_scores_of_the_local_executor(toy_env):
    local = _run_local(toy_env / "local")
    was_running = ray.is_initialized()
    remote, batches = _run_ray(toy_env / "ray", num_cpus=2)
    assert ray.is_initialized() == was_running   # a Ray it started is shut down again
    assert len(local) == 8 and set(local["status"]) == {"ok"}
    assert remote[SCORE_COLUMNS].equals(local[SCORE_COLUMNS])
    assert remote["extra"].equals(local["extra"])
    # one batch per unit (4 units x 2 classifiers), every key once
    assert sorted(len(b) for b in batches) == [2, 2, 2, 2]
    assert len({r.key for b in batches for r in b}) == 8


def _state(pid: int) -> str:
    """A process's state letter; "gone" once it has been reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return "gone"


def _wait_until(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def test_timeouts_crashes_and_errors_become_rows_with_a_status(toy_env, ray_with_test_samplers):
    marker = toy_env / "sleeper.pid"
    frame, batches = _run_ray(toy_env / "ray", time_limits={"ray-test-sleeps": 3.0}, samplers=(
        f"ray-test-sleeps[marker={marker}]", "ray-test-kills-worker", "ray-test-raises"))
    status = frame.groupby("sampler")["status"].unique().map(list).to_dict()
    assert status == {f"ray-test-sleeps[marker={marker}]": ["timeout"], "ray-test-kills-worker": ["error"],
                      "ray-test-raises": ["error"]}
    message = frame.groupby("sampler")["message"].unique().map(list).to_dict()
    # (counted from its submission where a loaded machine starts its worker late)
    assert message[f"ray-test-sleeps[marker={marker}]"][0].startswith("exceeded the time limit of 3 s")
    assert message["ray-test-kills-worker"] == ["worker process died (WorkerCrashedError, 2 attempts)"]
    assert message["ray-test-raises"][0].startswith("RuntimeError: broken on purpose")
    assert message["ray-test-raises"][0].endswith(f"(on node {ray.util.get_node_ip_address()})")   # a node's own
    assert sorted(len(b) for b in batches) == [2, 2, 2]
    # the timed-out unit's worker was killed, not left sleeping (on a loaded machine the limit can come
    # before the sampler starts, and then there is no pid to check)
    if marker.exists() and marker.read_text():
        assert _wait_until(lambda: _state(int(marker.read_text())) in ("gone", "Z"), timeout=30)


def test_the_larger_ratios_after_a_timeout_are_not_tried_under_ray_as_under_the_local_executor(
        toy_env, ray_with_test_samplers):
    """bench.pruning through the Ray executor: three series, two CPUs; seeds 1 and 2 spend one time limit each
    and their 1.0 is not tried (held back while their 0.5 runs, then left out)."""
    pruning = TimeoutPruning()
    frame, _ = _run_ray(toy_env / "ray", time_limits={"ray-test-slow": 2.0}, samplers=("ray-test-slow",),
                        ratios=[0.5, 1.0], seeds=[1, 2, 3], rows_instead=pruning.rows_instead,
                        holds_back=pruning.holds_back, observe=pruning.observe)
    assert set(frame["status"]) == {"timeout"}
    larger = frame[frame["params"].str.contains('"ratio": 1.0') & frame["seed"].isin([1, 2])]
    assert len(larger) == 4 and larger["message"].str.startswith("not tried: ratio 0.5").all(), larger["message"]


def test_a_worker_killed_mid_unit_is_retried_and_stored_once(toy_env, ray_with_test_samplers):
    marker = toy_env / "first-attempt.pid"
    sampler = f"ray-test-sleeps-once[marker={marker}]"
    killed = []

    def kill_first_attempt():
        if _wait_until(lambda: marker.exists() and marker.read_text()):
            pid = int(marker.read_text())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    killer = threading.Thread(target=kill_first_attempt)
    killer.start()
    frame, batches = _run_ray(toy_env / "ray", samplers=(sampler,), max_retries=1)
    killer.join()
    assert len(killed) == 1 and _state(killed[0]) in ("gone", "Z")
    assert len(batches) == 1 and len(frame) == 2 and set(frame["status"]) == {"ok"}
    # the retry's rows are those of an undisturbed run (the marker now exists, so nothing sleeps)
    undisturbed = _run_local(toy_env / "local", samplers=(sampler,))
    assert frame[SCORE_COLUMNS].equals(undisturbed[SCORE_COLUMNS])


def test_methods_defined_only_in_the_driver_run_on_ray_workers(toy_env, ray_with_test_samplers):
    """A Ray worker never read the driver's bench.toml: the unit carries what builds its methods."""
    add_to_config(toy_env, '\n[samplers.RayOver]\nfactory = "imblearn.over_sampling:RandomOverSampler"\n'
                           'params = { shrinkage = 0.3 }\n[classifiers.RayForest]\n'
                           'factory = "sklearn.ensemble:RandomForestClassifier"\nparams = { n_estimators = 3 }\n')
    chosen = dict(samplers=("RayOver",), classifiers=("RayForest", "sklearn.tree:DecisionTreeClassifier[max_depth=3]"))
    settings = load_settings()
    with methods.registered(settings, settings.run_for(**chosen)):
        local = _run_local(toy_env / "local", **chosen)
        remote, _ = _run_ray(toy_env / "ray", **chosen)
    assert len(local) == 4 and set(remote["status"]) == {"ok"}, remote["message"].tolist()
    assert remote[SCORE_COLUMNS].equals(local[SCORE_COLUMNS])


def test_a_failed_task_is_stored_as_the_exception_it_raised_without_terminal_codes():
    from bench.executors.ray import cause
    from bench.names import UnknownNameError
    raised = UnknownNameError("\x1b[31munknown sampler 'mine:Over'\x1b[0m\nsee `bench list samplers`")
    wrapped = ray.exceptions.RayTaskError("_unit_task", "\x1b[36mray::bench-unit()\x1b[39m Traceback ...", raised)
    assert cause(wrapped.as_instanceof_cause()) == "UnknownNameError: unknown sampler 'mine:Over'"
    assert cause(ray.exceptions.GetTimeoutError("\x1b[1mtimed out\x1b[0m")) == "GetTimeoutError: timed out"


def test_the_cluster_is_the_flag_then_run_settings_then_ray_address(tmp_path, monkeypatch):
    """--address, else [run] ray_address (both arrive as Setup.address), else $RAY_ADDRESS, else a local Ray."""
    from bench.executors import Setup
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    local = RayExecutor.for_run(Setup(tmp_path, workers=3))
    assert (local.address, local.num_cpus) == (None, 3)
    monkeypatch.setenv("RAY_ADDRESS", "head:6379")
    from_env = RayExecutor.for_run(Setup(tmp_path, workers=3))
    assert (from_env.address, from_env.num_cpus) == ("head:6379", None)
    assert RayExecutor.for_run(Setup(tmp_path, workers=3, address="auto")).address == "auto"


def test_run_settings_take_a_ray_address(toy_env):
    assert load_settings().run_for().ray_address is None
    add_to_config(toy_env, 'ray_address = "head:6379"\n')   # in the toy bench.toml's last table: [profiles.t]
    assert load_settings().run_for().ray_address == "head:6379"


#: A researcher's sampler, importable in the driver only (a folder on its sys.path, not on PYTHONPATH): a Ray
#: worker has it only if the executor sends it. Importing it anywhere but in the driver (pid written below)
#: hangs where HANG is set, before its unit can report that it started.
OWN_SAMPLER = """
import os, time

from imblearn.over_sampling import RandomOverSampler

if os.environ.get("HANG") == "{hang}" and os.getpid() != {driver}:
    time.sleep(600)


class OwnOverSampler(RandomOverSampler):
    pass
"""


def _own_sampler(folder, monkeypatch, name, hang=""):
    from conftest import importable_module
    importable_module(folder, monkeypatch, name, OWN_SAMPLER.format(driver=os.getpid(), hang=hang))
    return f"{name}:OwnOverSampler"


def test_a_module_on_the_drivers_path_only_is_sent_to_the_nodes(toy_env, monkeypatch):
    """(No local run to compare with here: a process that ran Ray cannot fork workers safely.)"""
    sampler = _own_sampler(toy_env, monkeypatch, "own_sampler_sent")
    said = []
    plan, data_dir, store = _plan(toy_env / "ray", samplers=(sampler,), ratios=(1.0,))
    RayExecutor(data_dir, num_cpus=2, say=said.append).run(plan.units, store.write)
    remote = store.frame()
    assert len(remote) == 2 and set(remote["status"]) == {"ok"}, remote["message"].tolist()
    assert (remote["n_minority"] * 2 == remote["n_train"]).all()   # the method ran: ratio 1.0 balances the classes
    assert "sent to the nodes: own_sampler_sent" in said


def test_a_unit_that_never_starts_is_timed_out_from_its_submission(toy_env, monkeypatch):
    """Its worker hangs importing the method, before it reports its start: the clock ran from submission."""
    sampler = _own_sampler(toy_env, monkeypatch, "own_sampler_hangs", hang="yes")
    plan, data_dir, store = _plan(toy_env / "ray", samplers=(sampler,), ratios=(1.0,))
    monkeypatch.setenv("HANG", "yes")   # the Ray started below passes it to its workers; this process does not hang
    RayExecutor(data_dir, num_cpus=2).run([dataclasses.replace(u, time_limit=3.0) for u in plan.units], store.write)
    frame = store.frame()
    assert set(frame["sampler"]) == {sampler} and len(frame) == 2
    assert frame["message"].unique().tolist() == [
        "exceeded the time limit of 3 s before it started (its node hung or was lost)"]


def test_units_carry_their_data_and_workers_never_read_the_drivers_data_directory(toy_env):
    """Each dataset goes through Ray's object store; a node builds its splits in a data directory of its own.
    (That its rows are the local executor's: test_ray_stores_the_rows_and_scores_of_the_local_executor.)"""
    from bench.executors.shipping import NODE_DATA
    plan, data_dir, store = _plan(toy_env / "ray")
    RayExecutor(data_dir, num_cpus=2).run(plan.units, store.write)
    frame = store.frame()
    assert len(frame) == 8 and set(frame["status"]) == {"ok"}, frame["message"].tolist()
    assert not (data_dir / "splits").exists()   # what the local executor's workers would have built
    assert any((NODE_DATA / plan.units[0].data[:32] / "splits").glob("*.npz"))   # where the node built them


def test_a_namespace_package_is_refused_in_one_line_before_a_store_exists(toy_env, monkeypatch):
    """Ray's py_modules sends a package by its one folder: a namespace package (no __init__.py) has none."""
    from typer.testing import CliRunner
    from bench.cli import app
    from conftest import refused_before_anything_is_stored
    package = toy_env / "mine" / "own_namespace"
    package.mkdir(parents=True)
    (package / "over.py").write_text(OWN_SAMPLER.format(driver=os.getpid(), hang="never"))
    monkeypatch.syspath_prepend(str(toy_env / "mine"))
    result = CliRunner().invoke(app, ["run", "--executor", "ray", "--samplers", "own_namespace.over:OwnOverSampler"])
    refused_before_anything_is_stored(result, toy_env, ["own_namespace", "namespace package", "install it"])
