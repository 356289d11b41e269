"""How a stored row ended: one enum for the executors, the store, the statistics, the reports and progress."""
from __future__ import annotations

import enum


class RunStatus(str, enum.Enum):
    """How a stored (unit, classifier) row ended; the store, statistics and reports share these values."""
    OK = "ok"
    NO_OP = "no-op"          # the sampler returned its input unchanged
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"      # the method cannot run on this cell (e.g. binary-only on multi-class data)

    def __str__(self) -> str:   # "ok", not "RunStatus.OK", wherever a status is printed
        return self.value


SCORED = (RunStatus.OK, RunStatus.NO_OP)        # rows with scores (a no-op row scores the unchanged data)
FAILED = (RunStatus.ERROR, RunStatus.TIMEOUT)
