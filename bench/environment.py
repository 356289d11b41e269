"""The environment a row was computed in: everything that can change its numbers, recorded once per value.

Floats are not bit-identical across CPUs, BLAS builds or library versions, so a stored score means little
without where it came from. A row stores the id of its environment (a hash of the description below); the
description itself is stored once per store (bench.store). Two parts matter differently:

* `KEY_LIBRARIES` (and a sampler's own libraries) are part of every run's key: upgrading one computes new
  rows instead of mixing old and new numbers in a table (bench.protocol);
* `comparable()` is what must agree for two computations of the same run to be expected bit for bit equal
  (bench.check demands exact scores only then).

Reading the description must not import torch or sdv (slow, and absent from a reading-only install):
package versions come from importlib.metadata, the BLAS from threadpoolctl over what numpy and scipy load.
"""
from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

#: Versions in every run's key: the libraries under every unit (arrays, splits, classifiers, metrics).
KEY_LIBRARIES = ("numpy", "scipy", "scikit-learn", "imbalanced-learn")
#: Packages whose versions the environment records (those that compute or shape a score).
PACKAGES = ("numpy", "scipy", "scikit-learn", "imbalanced-learn", "pandas", "torch", "sdv", "ctgan",
            "smote-variants", "threadpoolctl")
PROJECT = "autosmote-bench"
NOT_INSTALLED = "not installed"


@functools.lru_cache(maxsize=None)
def package_version(name: str) -> str:
    """Installed version of a distribution (cached: a process does not see its packages change)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return NOT_INSTALLED


def library_versions(names: tuple[str, ...] | list[str]) -> dict[str, str]:
    """Installed versions of `names`, for a run's key."""
    return {name: package_version(name) for name in names}


def describe(gpu: str | None = None) -> dict[str, Any]:
    """This process's environment; `gpu` names the device a unit used (None: it ran on the CPU)."""
    return {**_machine(), "gpu": gpu}


def environment_id(env: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()[:16]


def comparable(env: dict[str, Any]) -> dict[str, Any]:
    """The parts that must agree for scores to be expected equal to the last bit: package versions, Python,
    CPU and BLAS identification, GPU. Not the project's commit: a code change is what a check is for."""
    return {key: env.get(key) for key in ("python", "packages", "cpu", "blas", "gpu")}


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Human-readable differences between two environments' comparable parts, e.g. 'cpu.model: X -> Y'."""
    out = []
    for key, left in comparable(a).items():
        right = comparable(b)[key]
        if isinstance(left, dict) and isinstance(right, dict):
            out += [f"{key}.{name}: {left.get(name)} -> {right.get(name)}"
                    for name in sorted(set(left) | set(right)) if left.get(name) != right.get(name)]
        elif left != right:
            out.append(f"{key}: {_short(left)} -> {_short(right)}")
    return out


def summary(env: dict[str, Any]) -> str:
    """One line: CPU, BLAS, the key libraries, the project's commit."""
    packages = env.get("packages", {})
    libs = ", ".join(f"{name} {packages.get(name, '?')}" for name in KEY_LIBRARIES)
    project = env.get("project", {})
    commit = (project.get("commit") or "no commit")[:10] + ("+changes" if project.get("dirty") else "")
    gpu = f", GPU {env['gpu']}" if env.get("gpu") else ""
    note = f" [{env['note']}]" if env.get("note") else ""
    return f"CPU {_cpu_text(env.get('cpu'))}; BLAS {_short(env.get('blas'))}{gpu}; Python {env.get('python')}; " \
           f"{libs}; bench {project.get('version', '?')} ({commit}){note}"


def _cpu_text(cpu: Any) -> str:
    """E.g. "AuthenticAMD AMD EPYC (family 26, model 2, x86_64)": the numbers labelled."""
    if not isinstance(cpu, dict):
        return _short(cpu)
    numbers = [f"{label} {cpu[key]}" for key, label in (("family", "family"), ("model_number", "model"))
               if cpu.get(key) not in (None, "")]
    details = ", ".join(numbers + [cpu["machine"]] if cpu.get("machine") else numbers)
    name = " ".join(str(cpu[k]) for k in ("vendor", "model") if cpu.get(k)) or "unknown"
    return f"{name} ({details})" if details else name


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(str(v) for v in value.values() if v not in (None, ""))
    if isinstance(value, list):
        return " + ".join(_short(v) for v in value) or "none"
    return str(value)


@functools.lru_cache(maxsize=1)
def _machine() -> dict[str, Any]:
    """Cached per process: a forked worker inherits the driver's, a Ray worker computes its own."""
    return {"python": platform.python_version(), "packages": library_versions(PACKAGES),
            "project": _project(), "cpu": _cpu(), "blas": _blas()}


def _cpu() -> dict[str, str]:
    """Vendor, model name, and family/model numbers (a hypervisor may show only "AMD EPYC" as the name)."""
    fields = {"vendor_id": "vendor", "model name": "model", "cpu family": "family", "model": "model_number"}
    out = {"machine": platform.machine()}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {**out, "model": platform.processor() or "unknown"}
    for line in text.split("\n\n")[0].splitlines():
        name, _, value = line.partition(":")
        if name.strip() in fields:
            out[fields[name.strip()]] = value.strip()
    return out


def _blas() -> list[dict[str, str]]:
    """The BLAS libraries numpy and scipy use, with threadpoolctl's kernel architecture (e.g. Haswell): the
    same library picks different kernels on different CPUs, which is where float differences come from."""
    import numpy  # noqa: F401  (loads its BLAS)
    import scipy.linalg  # noqa: F401  (loads scipy's)
    from threadpoolctl import threadpool_info
    found = {(i.get("internal_api"), i.get("version"), i.get("architecture"))
             for i in threadpool_info() if i.get("user_api") == "blas"}
    return [{"library": lib, "version": version, "architecture": arch} for lib, version, arch in sorted(found, key=str)]


def _project() -> dict[str, Any]:
    """The project's version, and its git commit when it runs from a checkout (None otherwise)."""
    root = Path(__file__).resolve().parents[1]
    commit, dirty = None, None
    if (root / ".git").exists():
        try:
            commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                    text=True, timeout=10).stdout.strip() or None
            changes = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no",
                                      "--", "bench", "autosmote"], capture_output=True, text=True, timeout=10)
            dirty = bool(changes.stdout.strip()) if changes.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            pass
    return {"version": package_version(PROJECT), "commit": commit, "dirty": dirty}
