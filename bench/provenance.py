"""Where a store's rows came from, as text: its invocations (what ran, how it ended, how many rows it
stored) and its environments (which rows each computed). `bench status` prints it and `bench report`'s
index.md holds it, so both say the same."""
from __future__ import annotations

import datetime
import json

import pandas as pd

from . import environment


def invocation_lines(invocations: pd.DataFrame) -> list[str]:
    """A Markdown table of every `bench run` in the store, then each one's effective settings."""
    if invocations.empty:
        return ["No `bench run` is recorded in this store."]
    lines = ["| # | command | ended | rows stored | started (UTC) | duration | data directory |",
             "|---:|:---|:---|---:|:---|---:|:---|"]
    for inv in invocations.itertuples(index=False):
        settings = _json(inv.settings)
        # schema 1 stored the configured [data] dir, not the one BENCH_DATA_DIR may have chosen
        data_dir = settings.get("data", {}).get("dir", "?") if "run" in settings else "not recorded"
        ended = inv.status + (f" ({inv.message})" if inv.message else "")
        duration = f"{inv.ended_at - inv.started_at:.0f} s" if pd.notna(inv.ended_at) else "—"
        lines.append(f"| {inv.id} | `{inv.command}` | {ended} | {inv.rows} | {_when(inv.started_at)} | "
                     f"{duration} | {data_dir} |")
    lines += ["", "Settings in effect for each (bench.toml, then the profile, then flags and environment "
                  "variables; invocations recorded before schema 2 stored only the resolved run settings):", ""]
    for inv in invocations.itertuples(index=False):
        lines += [f"- #{inv.id}: `{json.dumps(_json(inv.settings), sort_keys=True)}`"]
    return lines


def environment_lines(environments: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """Each environment that computed current rows, and which rows: counts per sampler and dataset."""
    used = environments[environments["rows"] > 0]
    unknown = int(frame["environment"].isna().sum()) if "environment" in frame else len(frame)
    if used.empty and not unknown:
        return ["No rows."]
    lines = [f"The rows were computed in {len(used)} environment{'s' if len(used) != 1 else ''}"
             + (" - the store mixes environments: compare their rows with care." if len(used) > 1 else ".")]
    for env in used.itertuples(index=False):
        rows = frame[frame["environment"] == env.id]
        lines += ["", f"- `{env.id}` ({env.rows} rows): {environment.summary(env.description)}",
                  f"  - samplers: {_counts(rows['sampler'])}",
                  f"  - datasets: {_counts(rows['dataset'])}"]
    if unknown:
        lines += ["", f"- {unknown} rows record no environment."]
    return lines


def _counts(values: pd.Series, most: int = 8) -> str:
    counts = values.value_counts()
    shown = ", ".join(f"{name} {n}" for name, n in counts.head(most).items())
    return shown + (f", and {len(counts) - most} more" if len(counts) > most else "")


def _when(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _json(text: str) -> dict:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
