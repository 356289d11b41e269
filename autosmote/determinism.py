"""One CPU code path for the search, so that a seed gives the same search on any x86-64-v3 CPU (issue 26).

Torch (ATen's vector kernels, oneDNN's ISA, MKL's code branch), NumPy (its SIMD dispatch) and numba (the
LLVM target) each pick kernels by the CPU they run on. The picks differ in the last bit (reduction order,
exp/log implementations) and the RL search amplifies that into different episodes. Each library reads
its choice from an environment variable once, at import or at first use, so the pin is the environment
of a fresh process: `pinned_environment()` for a process of one's own, `call_pinned()` to run a call in
a pinned interpreter, `AUTOSMOTE_PORTABLE=1` to have `import autosmote` pin the libraries not yet
imported (and fit_resample warn about any it could not).

The level is x86-64-v3 (AVX2, FMA: Intel since 2013, AMD since 2015), the fastest that every such CPU
runs the same way; on a CPU without it the pin does not take, and `unpinned()` says so. MKL is pinned
lower: on non-Intel CPUs it maps its ISA branches (AVX2, ...) to its own CPU-dependent dispatch, so only
its SSE2 "COMPATIBLE" branch is fixed. benchmarks/pinning_speed.py measures the cost. OpenBLAS (numpy's
and scipy's BLAS) keeps choosing its kernels: pinned, the pinned rows would record another BLAS than every
other sampler's rows, and the searches do not move with it (OPENBLAS_CORETYPE Prescott, Haswell, Zen and
SkylakeX gave the same LinearSVC and KNN searches on mozilla4 at IR 50, 100 episodes).
"""
from __future__ import annotations

import ctypes
import os
import pickle
import platform
import signal
import subprocess
import sys
import warnings
from importlib import metadata
from multiprocessing.connection import Connection, Pipe

#: The pinned settings. Each is read once per process: at import (NumPy, numba) or at first use (torch).
PIN = {
    "ATEN_CPU_CAPABILITY": "avx2",        # torch's own vector kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",         # oneDNN, torch's fused linear layers
    "MKL_CBWR": "COMPATIBLE",             # MKL, torch's matrix products: the one branch fixed on every CPU
    "NPY_ENABLE_CPU_FEATURES": "X86_V3",  # NumPy's SIMD loops (exp, log, ...) beyond its X86_V2 baseline
    "NUMBA_CPU_NAME": "generic",          # numba's compiled sampling loop
}
#: Settings that would override or fight the pin (NumPy refuses to start with both of its variables).
CLEARED = ("NPY_DISABLE_CPU_FEATURES", "NUMBA_CPU_FEATURES", "MKL_ENABLE_INSTRUCTIONS")
#: Set to 1: `import autosmote` pins what is not imported yet, and a search warns if not pinned.
PORTABLE = "AUTOSMOTE_PORTABLE"
_MKL_CBWR_COMPATIBLE = 3   # mkl_service.h: MKL_CBWR_COMPATIBLE


class UnpinnedWarning(RuntimeWarning):
    """AUTOSMOTE_PORTABLE=1 was asked for, but some library runs its CPU's own code path."""


def pinned_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """`environ` (default: this process's) with the pin, for a process started with it."""
    env = {key: value for key, value in (os.environ if environ is None else environ).items() if key not in CLEARED}
    return {**env, **PIN, PORTABLE: "1"}


def apply_if_requested() -> None:
    """Under AUTOSMOTE_PORTABLE=1, set the pin in os.environ (it reaches the libraries not imported yet)."""
    if os.environ.get(PORTABLE) == "1":
        for key in CLEARED:
            os.environ.pop(key, None)
        os.environ.update(PIN)


def cannot_pin() -> str | None:
    """Why this machine cannot run the pinned code paths at all, or None."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return f"the pin is for x86-64 CPUs; this is {platform.machine()}"
    numpy_version = tuple(int(part) for part in metadata.version("numpy").split(".")[:2])
    if numpy_version < (2, 4):   # older versions refuse the name X86_V3 at import
        return f"the pin names NumPy 2.4's CPU levels; NumPy {metadata.version('numpy')} is installed"
    return None


def unpinned() -> list[str]:
    """What in this process does not run the pinned code paths; empty when everything does."""
    reason = cannot_pin()
    if reason:
        return [reason]
    problems = [f"{key}={os.environ.get(key)!r}, not {value!r}" for key, value in PIN.items()
                if os.environ.get(key) != value]
    problems += [f"{key} is set" for key in CLEARED if key in os.environ]
    modules = sys.modules
    if "numpy" in modules:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
        used = [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]
        if used != ["X86_V3"]:
            problems.append(f"NumPy dispatches to {used or 'its baseline only'}, not X86_V3 alone (imported "
                            "unpinned, or a CPU without AVX2 and FMA)")
    if "torch" in modules:
        capability = modules["torch"].backends.cpu.get_cpu_capability()
        if capability != "AVX2":
            problems.append(f"torch runs its {capability} kernels, not AVX2 (started unpinned, or a CPU without "
                            "AVX2)")
        branch = _mkl_branch(modules["torch"])
        if branch not in (None, _MKL_CBWR_COMPATIBLE):
            problems.append(f"MKL runs code branch {branch}, not COMPATIBLE ({_MKL_CBWR_COMPATIBLE})")
    if "numba" in modules:
        config = modules["numba"].core.config
        if (config.CPU_NAME, config.CPU_FEATURES) != ("generic", ""):
            problems.append(f"numba compiles for {config.CPU_NAME or 'this CPU'}, not generic")
    return problems


def warn_if_requested_but_unpinned() -> None:
    """The library's check: under AUTOSMOTE_PORTABLE=1 a search that would not be portable says why."""
    if os.environ.get(PORTABLE) == "1":
        problems = unpinned()
        if problems:
            warnings.warn("AUTOSMOTE_PORTABLE=1, but this search will differ on other CPUs: " + "; ".join(problems)
                          + ". Set autosmote.determinism.PIN in the environment before Python starts, or import "
                          "autosmote before numpy, torch and numba.", UnpinnedWarning, stacklevel=3)


def _mkl_branch(torch) -> int | None:
    """MKL's code branch (mkl_serv_cbwr_get, exported by torch's statically linked MKL), None if unknown."""
    try:
        get = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")).mkl_serv_cbwr_get
    except (OSError, AttributeError):
        return None
    get.restype, get.argtypes = ctypes.c_int, [ctypes.c_int]
    return get(1)   # MKL_CBWR_BRANCH


# ----------------------------------------------------------------------------------------------- pinned calls
class PinnedProcess:
    """A Python interpreter started with the pin that runs the calls it is sent, one at a time.

    It dies with the process that started it (Linux), so a worker killed past its time limit takes it along.
    """

    def __init__(self):
        reason = cannot_pin()
        if reason:
            raise RuntimeError(reason)
        self.connection, theirs = Pipe()
        command = [sys.executable, "-c", f"from autosmote.determinism import _serve; _serve({theirs.fileno()}, "
                                         f"{os.getpid()})"]
        self.process = subprocess.Popen(command, env=pinned_environment(), pass_fds=(theirs.fileno(),))
        theirs.close()
        self.connection.send(sys.path)

    def call(self, fn, *args):
        """fn(*args) in the pinned interpreter (fn importable by name); its exception is raised here."""
        try:
            self.connection.send((fn, args))
            ok, value = self.connection.recv()
        except (EOFError, OSError):   # killed, out of memory, or its interpreter failed to start
            self.close()
            raise RuntimeError(f"the pinned process died (exit code {self.process.returncode})") from None
        if not ok:
            raise value
        return value

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.connection.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_process: PinnedProcess | None = None


def call_pinned(fn, *args):
    """fn(*args) in this process's pinned interpreter, started on first use and reused (imports are paid once)."""
    global _process
    if _process is None or not _process.alive():
        _process = PinnedProcess()
    return _process.call(fn, *args)


def _serve(fd: int, parent: int) -> None:
    """The pinned interpreter: answers calls until its parent is gone or sends None."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG: die with the parent
        if os.getppid() != parent:
            return
    connection = Connection(fd)
    sys.path[:] = connection.recv()
    import numba, numpy, torch  # noqa: E401,F401  (what the checks read; a search imports them anyway)
    try:
        _answer(connection, unpinned())
    except KeyboardInterrupt:   # Ctrl-C reaches the whole process group: the parent reports it, quietly here
        os._exit(130)


def _answer(connection: Connection, problems: list[str]) -> None:
    """Run each call sent; every one is refused when the pin did not take (e.g. on a CPU without AVX2)."""
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        fn, args = message
        try:
            if problems:
                raise RuntimeError("the pinned process does not run the pinned code paths: " + "; ".join(problems))
            reply = (True, fn(*args))
        except Exception as err:
            reply = (False, err)
        try:
            connection.send(reply)
        except (pickle.PicklingError, TypeError, AttributeError) as err:   # pickled before anything is sent
            connection.send((False, RuntimeError(f"cannot send back {reply[1]!r}: {err}")))
