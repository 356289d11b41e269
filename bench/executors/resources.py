"""What a unit asks of the machine, read from the sampler catalogue (bench/samplers/catalog.toml) by every executor:
a share of a GPU for a sampler that trains a torch model on one (`uses_gpu`, unless the unit's parameters keep it on
the CPU: its family's `on_cpu`), and a process pinned to one CPU code path (`pinned`).
"""
from __future__ import annotations

import json

from ..protocol import Unit
from ..samplers.registry import SAMPLERS, SamplerEntry

#: The share of a GPU one unit of a GPU sampler takes: their models are small, so four share a device.
GPU_SHARE = 0.25


def _entry(unit: Unit) -> SamplerEntry | None:
    """The unit's sampler as registered here (a sampler from outside that is not: None - it declares neither)."""
    return SAMPLERS.get(unit.sampler)


def uses_gpu(unit: Unit) -> bool:
    """Whether the unit's model trains on a GPU when one is visible: its sampler says so and the unit's parameters
    do not keep it on the CPU."""
    entry = _entry(unit)
    if entry is None or not entry.uses_gpu:
        return False
    params = json.loads(unit.params)
    return not (entry.on_cpu and all(params.get(k) == v for k, v in entry.on_cpu.items()))


def gpu_share(unit: Unit, gpus: float) -> float:
    """The share of a GPU the unit takes where `gpus` GPUs are visible (none without a GPU: it runs on the CPU)."""
    return GPU_SHARE if gpus > 0 and uses_gpu(unit) else 0.0


def pinned(unit: Unit) -> bool:
    """Whether the unit runs in a process pinned to one CPU code path (its key's version says "+pinned")."""
    entry = _entry(unit)
    return entry is not None and entry.pinned


def visible_gpus() -> int:
    """The GPUs torch sees in this process; 0 without torch. Counted through NVML, which does not start CUDA, so
    that forked workers can still start it (torch falls back to CUDA where NVML is missing)."""
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count()
