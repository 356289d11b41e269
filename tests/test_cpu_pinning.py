"""AutoSMOTE's CPU pin (autosmote.determinism, issue 26): one fixed small search, hashed, in fresh processes.

"Another CPU" is emulated on this one by lowering what each library dispatches to: torch's ATen and oneDNN
to AVX2, NumPy's SIMD loops to X86_V3, numba's target to haswell (an x86-64 CPU without AVX-512), and MKL to
its reproducible AUTO mode (another of MKL's code paths, as another CPU's dispatch picks one). Unpinned, the
search's hash moves with them; pinned, it is the committed one. Run as a script, this file prints the hash
of the search in the process it runs in.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import warnings
from multiprocessing import Pipe

from autosmote import determinism   # before numpy: under AUTOSMOTE_PORTABLE=1 it pins the imports below

import numpy as np
import pytest

#: The fixed search's hash under the pin, the same on any x86-64-v3 CPU (computed on an AMD EPYC, family 26,
#: with AVX-512; torch 2.13.0, numpy 2.4.6, scikit-learn 1.9.1). A change to the search's numbers, or to those
#: libraries, changes it: recompute it with `AUTOSMOTE_PORTABLE=1 python tests/test_cpu_pinning.py` and say
#: why in the commit.
GOLDEN = "4074489afd93cebb"
#: An AVX2 CPU without AVX-512, with MKL on another code path (see the module docstring).
EMULATED_CPU = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "NUMBA_CPU_NAME": "haswell",
                "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "MKL_CBWR": "AUTO"}
needs_the_pin = pytest.mark.skipif(determinism.cannot_pin() is not None, reason=str(determinism.cannot_pin()))


def fixed_search() -> dict:
    """A small search that learns (short unrolls, small batches) on data drawn without libm or BLAS (uniform
    draws, a decision tree): its hash covers the output, every episode's score and every published weight."""
    from sklearn.tree import DecisionTreeClassifier

    from autosmote import AutoSMOTE
    from autosmote.rl import learner
    from bench import environment

    rng = np.random.default_rng(26)

    def draw(n_major, n_minor):
        X = rng.random((n_major + n_minor, 5))
        X[n_major:, :2] += 0.35
        return X, np.repeat([0, 1], [n_major, n_minor])

    (X, y), validation = draw(1000, 20), draw(500, 10)   # IR 50
    digest = hashlib.sha256()
    published = learner.Learner.weights

    def weights(self):
        out = published(self)
        for name in sorted(out):
            digest.update(out[name][1].tobytes())
        return out

    learner.Learner.weights = weights
    sampler = AutoSMOTE(DecisionTreeClassifier(random_state=0), metric="mcc", budget=16, validation=validation,
                        random_state=1, unroll_lengths=(2, 20, 20), batch_size=4, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X_res, y_res = sampler.fit_resample(X, y)
    for array in (X_res, y_res, np.array(sampler.episode_scores_)):
        digest.update(np.ascontiguousarray(array).tobytes())
    return {"hash": digest.hexdigest()[:16], "unpinned": determinism.unpinned(), "updates": sampler.learner_updates_,
            "environment": environment.environment_id(environment.describe())}


def _unpinned_environment(**emulated: str) -> dict[str, str]:
    """This process's environment without any pin setting, plus the emulated CPU's."""
    drop = {*determinism.PIN, *determinism.CLEARED, determinism.PORTABLE}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **emulated}


@pytest.fixture(scope="module")
def searches() -> dict[str, dict]:
    """The fixed search in four fresh processes, two at a time: this CPU and the emulated one, each unpinned
    and pinned (the pin sets every knob the emulation lowers: what the pin fixes is which code runs)."""
    environments = {"here": _unpinned_environment(), "emulated": _unpinned_environment(**EMULATED_CPU)}
    environments.update({f"{name}, pinned": determinism.pinned_environment(env)
                         for name, env in list(environments.items())})
    out = {}
    names = list(environments)
    for pair in (names[:2], names[2:]):
        running = {name: subprocess.Popen([sys.executable, __file__], env=environments[name], text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) for name in pair}
        for name, process in running.items():
            stdout, stderr = process.communicate(timeout=300)
            assert process.returncode == 0, stderr[-3000:]
            out[name] = json.loads(stdout.strip().splitlines()[-1])
    return out


@needs_the_pin
def test_unpinned_searches_differ_between_the_emulated_cpus_and_pinned_ones_do_not(searches):
    assert searches["here"]["hash"] != searches["emulated"]["hash"]
    assert searches["here, pinned"]["hash"] == searches["emulated, pinned"]["hash"]
    assert searches["here, pinned"]["unpinned"] == searches["emulated, pinned"]["unpinned"] == []
    assert searches["here"]["unpinned"] and searches["emulated"]["unpinned"]
    assert all(n > 0 for n in searches["here, pinned"]["updates"].values())   # every policy learned


@needs_the_pin
def test_the_pinned_search_has_the_committed_hash(searches):
    assert searches["here, pinned"]["hash"] == GOLDEN


@needs_the_pin
def test_pinned_rows_record_the_environment_of_the_others(searches):
    """OpenBLAS is not pinned, so a pinned unit records the environment an unpinned one does: a CI run of
    every sampler stays in one environment, and `bench check` in its exact mode."""
    assert len({s["environment"] for s in searches.values()}) == 1


@needs_the_pin
def test_call_pinned_runs_in_a_pinned_interpreter_and_raises_its_errors():
    assert determinism.call_pinned(determinism.unpinned) == []
    with pytest.raises(ValueError, match="invalid literal"):
        determinism.call_pinned(int, "x")
    assert determinism.call_pinned(os.getpid) == determinism.call_pinned(os.getpid)   # one process, reused


def test_a_pinned_interpreter_where_the_pin_did_not_take_refuses_every_call():
    ours, theirs = Pipe()
    answering = threading.Thread(target=determinism._answer, args=(theirs, ["torch runs its DEFAULT kernels"]))
    answering.start()
    ours.send((os.getpid, ()))
    ok, error = ours.recv()
    ours.send(None)
    answering.join()
    assert not ok and "torch runs its DEFAULT kernels" in str(error)


def test_pinned_environment_clears_what_would_fight_the_pin():
    env = determinism.pinned_environment({"NPY_DISABLE_CPU_FEATURES": "AVX2", "PATH": "/bin"})
    assert env == {**determinism.PIN, determinism.PORTABLE: "1", "PATH": "/bin"}


def test_portable_mode_warns_when_the_libraries_run_unpinned(monkeypatch):
    """Asked for too late (here numba is imported and its setting gone): the search says what is unpinned."""
    from sklearn.tree import DecisionTreeClassifier

    from autosmote import AutoSMOTE
    monkeypatch.setenv(determinism.PORTABLE, "1")
    monkeypatch.delenv("NUMBA_CPU_NAME", raising=False)
    X = np.random.default_rng(0).random((60, 3))
    y = np.repeat([0, 1], [50, 10])
    with pytest.warns(determinism.UnpinnedWarning, match="NUMBA_CPU_NAME=None"):
        AutoSMOTE(DecisionTreeClassifier(random_state=0), budget=2, random_state=0).fit_resample(X, y)


def test_only_autosmote_rl_units_run_pinned_and_are_keyed_so():
    """The catalogue's pinned flag is what both executors read (bench.executors.unit), and the keys of what it
    pins say so."""
    import json

    from bench.executors.resources import pinned
    from bench.protocol import Unit
    from bench.samplers.registry import CATALOGUE
    keyed = {name for name, entry in CATALOGUE.items() if "+pinned" in entry.version}
    flagged = {name for name in CATALOGUE
               if pinned(Unit("toy", 5, 1, name, name, json.dumps({}), "1", "{}", "{}", ("SVM",)))}
    assert flagged == keyed == {"AutoSMOTE"}


if __name__ == "__main__":
    print(json.dumps(fixed_search()))
