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


#: Rows with scores (a no-op row scores the unchanged data): what statistics rank and timings price.
SCORED = (RunStatus.OK, RunStatus.NO_OP)
#: Rows that failed: counted as failed by a run's progress and outcome, listed by reports, computed again by
#: `bench run --retry-failed`. A skip is neither: the method declared it cannot run there.
FAILED = (RunStatus.ERROR, RunStatus.TIMEOUT)
