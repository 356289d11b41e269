"""How far `bench run`'s ETA was off: replays finished runs from their stores.

    BENCH_DATA_DIR=/tmp/bd python benchmarks/eta_replay.py results/gumbel:4 results/quick:2 ...

Each argument names a store and one of its invocations (`bench status` lists them). The invocation's own
settings (stored with it) are planned again; the units it computed are those whose rows it stored (matched
on the run's identity without code versions, so a run made before a method's version changed still
replays), each unit's end is when its rows were stored, and at 1 / 5 / 10 / 25 / 50 / 90 % of its rows the
remaining time two estimators gave then is printed against the time that really remained: rows per second
extrapolated, and bench.cost.Eta as `bench run` computes it live (the model's expected unit costs, corrected
by the finished units of the same kind and by the clock; the replay uses the model alone, not stored timings).
"""
from __future__ import annotations

import argparse
import json
import os

from bench.config import RunSettings, load_settings
from bench.cost import Eta, UnitCosts, group
from bench.data import DataCatalog
from bench.protocol import config_key
from bench.runner import make_plan
from bench.store import ResultStore

MARKS = (0.01, 0.05, 0.1, 0.25, 0.5, 0.9)


def stored_workers(stored: dict) -> int:
    """The workers an invocation ran with, from its stored settings (0 or none: one per core, of this machine)."""
    return stored.get("workers") or stored.get("run", stored).get("workers") or os.cpu_count() or 1


def replay(results: str, invocation_id: int, settings, catalog) -> list[tuple[float, float, float]]:
    """(share of rows, rows/s estimate / really left, Eta / really left) at each mark."""
    store = ResultStore(results, readonly=True)
    invocation = store.invocations().set_index("id").loc[invocation_id]
    stored = json.loads(invocation["settings"])
    run = stored.get("run", stored)   # older invocations stored [run] at the top, with other sections
    run = RunSettings.model_validate({k: v for k, v in run.items() if k in RunSettings.model_fields})
    workers = stored_workers(stored)
    frame = store.frame(superseded=True)   # the invocation's rows, also those computed again since
    frame = frame[frame["invocation"] == invocation_id]
    # from the spec, not the config column: a store read without migrating may hold an older schema's config
    frame = frame.set_index(frame["spec"].map(lambda spec: config_key(json.loads(spec))))
    data = {**settings.data.model_dump(), **stored.get("data", {})}   # how its splits were made
    plan = make_plan(run, catalog, set(), data["impute"], data["leak"])
    costs = UnitCosts(frame.iloc[:0], {r.name: r for r in catalog.records()})   # the model alone
    units = [(u.key(u.classifiers[0]), [config_key(u.spec(c)) for c in u.classifiers], (group(u), costs(u)[0]))
             for u in plan.units]
    units = [u for u in units if all(k in frame.index for k in u[1])]   # the units this invocation computed
    eta = Eta({uid: expected for uid, _, expected in units}, workers)
    ends = sorted((frame.loc[keys, "finished_at"].max(), uid, keys) for uid, keys, _ in units)
    if not ends:
        print(f"{results}:{invocation_id}: none of its rows is planned by today's code (the protocol changed)")
        return []
    start, end = invocation["started_at"], ends[-1][0]
    total, done, marks, out = sum(len(keys) for *_, keys in ends), 0, list(MARKS), []
    print(f"{results}:{invocation_id} ({run.profile}, {workers} workers): {total} rows in {len(units)} units, "
          f"{end - start:.0f} s; the model expected {sum(e for *_, (_, e) in units) / workers:.0f} s")
    for finished_at, uid, keys in ends:
        rows = frame.loc[keys]
        eta.finished(uid, rows["resample_s"].iloc[0] + rows["fit_s"].fillna(0).sum())
        done += len(keys)
        while marks and done >= marks[0] * total and finished_at < end:
            elapsed, left = finished_at - start, end - finished_at
            out.append((marks.pop(0), elapsed / done * (total - done) / left, eta.seconds(elapsed) / left))
    print("  " + " | ".join(f"{m:.0%}: rows/s {old:.2f}x, Eta {new:.2f}x" for m, old, new in out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", metavar="RESULTS:INVOCATION")
    args = parser.parse_args()
    settings = load_settings()
    catalog = DataCatalog(settings.data_dir)
    factors = {"rows/s": [], "Eta": []}
    for run in args.runs:
        results, _, invocation = run.rpartition(":")
        for _, old, new in replay(results, int(invocation), settings, catalog):
            factors["rows/s"].append(old)
            factors["Eta"].append(new)
    for name, values in factors.items():   # how far off, either way: max(x, 1/x)
        off = sorted(max(v, 1 / v) for v in values if v > 0)
        if off:
            print(f"{name}: off by a median {off[len(off) // 2]:.2f}x, at worst {off[-1]:.2f}x over {len(off)} marks")


if __name__ == "__main__":
    main()
