"""AutoSMOTE: automated over-sampling by hierarchical reinforcement learning (Zha et al., CIKM 2022).

    from autosmote import AutoSMOTE
    X_res, y_res = AutoSMOTE(classifier=LinearSVC(), metric="macro_f1", budget=1000,
                             validation=(X_val, y_val), random_state=0, n_jobs=2).fit_resample(X, y)

`autosmote.space` is the SMOTE search space (neighbours, synthetic rows, the G1 rule); `autosmote.rl` the
policies, V-trace learner, actors and the sampler. The library does not depend on the benchmark harness.
`autosmote.determinism` pins the CPU code paths, so that a search repeats on another CPU (AUTOSMOTE_PORTABLE=1).

`AutoSMOTE` is imported on first use (PEP 562): it loads torch, which takes seconds, and `autosmote.space`
(numpy only) is read by the harness's tables without it.
"""
from . import determinism

determinism.apply_if_requested()   # before numpy, torch and numba are imported by any submodule

__version__ = "0.1.0"
__all__ = ["AutoSMOTE", "__version__"]


def __getattr__(name: str):
    if name == "AutoSMOTE":
        from .rl.sampler import AutoSMOTE
        return AutoSMOTE
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "AutoSMOTE"])
