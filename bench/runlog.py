"""The run log: every `bench run` on a store - its command, the settings in effect, the process that ran it and
how it ended - so that a store says what computed its rows. A row names the invocation that stored it, so an
invocation's row count is counted, never written at exit: a killed driver writes nothing.

`RunLog` is a part of bench.store.ResultStore (mixed into it): the store's connection, its transactions and
its run lock (`_transaction`, `_frame`, `is_running`) are what the log is written and read through.
"""
from __future__ import annotations

import enum
import json
import os
import socket
import time
from typing import Any

import pandas as pd


class InvocationStatus(str, enum.Enum):
    """How a `bench run` ended. RUNNING that no process holds any more was killed (e.g. SIGKILL)."""
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


class RunLog:
    """The `invocations` table of a store, read and written through the store that mixes it in."""

    def begin_invocation(self, command: str, settings: dict[str, Any]) -> int:
        """Record a `bench run` as it starts, with the settings that are in effect for it."""
        with self._transaction() as cur:
            cur.execute("INSERT INTO invocations (command, settings, started_at, status, pid, host) "
                        "VALUES (?,?,?,?,?,?)",
                        (command, json.dumps(settings, sort_keys=True, default=list), time.time(),
                         InvocationStatus.RUNNING.value, os.getpid(), socket.gethostname()))
            return cur.lastrowid

    def end_invocation(self, invocation: int, status: InvocationStatus, message: str = "") -> None:
        with self._transaction() as cur:
            cur.execute("UPDATE invocations SET ended_at = ?, status = ?, message = ? WHERE id = ?",
                        (time.time(), status.value, message, invocation))

    def invocations(self) -> pd.DataFrame:
        """Every `bench run` with its true row count (rows it stored that are still in the store, counted,
        not written at exit: a killed driver writes nothing) and how it ended. One still marked running whose
        lock is free or whose driver has ended (on this host) was killed: it shows as interrupted."""
        frame = self._frame("SELECT i.*, (SELECT COUNT(*) FROM runs r WHERE r.invocation = i.id) AS rows "
                            "FROM invocations i ORDER BY i.id")
        locked = self.is_running()
        killed = [status == InvocationStatus.RUNNING.value and not (locked and driver_alive(pid, host))
                  for status, pid, host in zip(frame["status"], frame["pid"], frame["host"])]
        frame.loc[killed, "status"] = InvocationStatus.INTERRUPTED.value
        return frame

    def _close_abandoned_invocations(self) -> None:
        """Under the run lock, an invocation still marked running was killed: record it as interrupted,
        ended at its last stored row."""
        with self._transaction() as cur:
            cur.execute("UPDATE invocations SET status = ?, message = 'the driver was killed', ended_at = "
                        "(SELECT MAX(finished_at) FROM runs r WHERE r.invocation = invocations.id) "
                        "WHERE status = ?",
                        (InvocationStatus.INTERRUPTED.value, InvocationStatus.RUNNING.value))


def driver_alive(pid, host) -> bool:
    """Whether a process (a run's driver) still exists; one on another host, or unknown, counts as alive."""
    if pd.isna(pid) or (not pd.isna(host) and host != socket.gethostname()):
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # another user's process
        return True
    return True
