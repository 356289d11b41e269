"""Small torch helpers shared by the methods (the RL search, the Gumbel model) and the harness's MESA."""
from __future__ import annotations

import torch


def resolve_device(device) -> torch.device:
    """None or "auto": CUDA when torch sees a GPU, else the CPU; otherwise the named device, checked."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device={device!r} is not a torch device (use 'auto', 'cpu', 'cuda' or 'cuda:0')") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    return resolved
