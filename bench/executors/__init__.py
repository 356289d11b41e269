"""Executors: what computes a plan's units - worker processes here (local) or tasks on a Ray cluster (ray) - behind
one small interface, chosen by name.

An executor runs each unit once and hands its rows to `on_rows` in the driver, which alone writes the store; a
unit that fails, runs out of time or loses its worker still gets rows (with a status), so a plan always ends
stored. Both read what a unit asks of the machine (a GPU share, a pinned CPU code path) from the sampler
catalogue (bench.executors.resources), and compute it the same way (bench.executors.unit).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Protocol

from ..config import ConfigError

if TYPE_CHECKING:
    from ..protocol import Row, Unit

OnRows = Callable[["list[Row]"], None]


class Executor(Protocol):
    @staticmethod
    def check(units: "list[Unit]") -> None:
        """Raise ConfigError where this executor cannot run `units` (called before a store exists)."""

    def run(self, units: "list[Unit]", on_rows: OnRows) -> None:
        """Compute every unit, handing each one's rows to `on_rows` as they come."""


@dataclass(frozen=True)
class Setup:
    """What a run tells its executor; each takes what applies to it."""
    data_dir: Path
    workers: Optional[int] = None    # worker processes (local) or CPUs of a local Ray; None or 0: one per core
    address: Optional[str] = None    # a Ray cluster to attach to; None: start a local one
    rows_instead: Callable[["Unit"], "Optional[list[Row]]"] = lambda unit: None   # bench.pruning: not to start
    holds_back: Callable[["Unit"], bool] = lambda unit: False   # bench.pruning: not to start yet
    say: Callable[[str], None] = lambda line: None   # a line for the run's console (e.g. where units compute)


#: Executor name -> its class, "module:attr", imported when chosen (Ray is an optional extra).
EXECUTORS = {"local": "bench.executors.local:LocalExecutor", "ray": "bench.executors.ray:RayExecutor"}


def executor_class(name: str):
    """The class of executor `name` (a key of EXECUTORS), imported now; one whose library is missing is a
    one-line error naming the install."""
    module, _, attr = EXECUTORS[name].partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError:
        raise ConfigError(f"the {name} executor needs {name.capitalize()}: pip install -e '.[{name}]'") from None


def make_executor(name: str, setup: Setup) -> Executor:
    return executor_class(name).for_run(setup)
