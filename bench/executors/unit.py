"""One unit computed in an executor's worker, the same way by every executor: one thread, and a pinned sampler in
its worker's pinned interpreter; a unit always answers with rows."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from ..protocol import Row, Unit, failed_rows, run_unit
from ..run_status import RunStatus
from .resources import pinned


def single_threaded() -> None:
    """One thread per worker: an executor already runs one unit per core. torch keeps its own thread pool, which
    threadpoolctl does not reach."""
    os.environ["OMP_NUM_THREADS"] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def compute_unit(unit: Unit, data_dir: Path) -> list[Row]:
    """run_unit here, or in this worker's pinned interpreter for a pinned sampler; what it raises (e.g. a split
    that cannot be read) is the unit's error rows."""
    try:
        if pinned(unit):
            from autosmote.determinism import call_pinned   # here: importing autosmote loads torch
            return call_pinned(run_unit, unit, data_dir)
        return run_unit(unit, data_dir)
    except Exception as err:
        return failed_rows(unit, RunStatus.ERROR, f"{type(err).__name__}: {err}")
