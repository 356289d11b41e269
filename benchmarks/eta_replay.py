"""How far a run's ETA was off: replays a finished run from its store, side by side with the old estimate.

    BENCH_DATA_DIR=/tmp/bd python benchmarks/eta_replay.py RESULTS_DIR --profile quick [--workers 2]

The run must be one invocation of `bench run --profile NAME --results RESULTS_DIR` into an empty store.
Its units are re-planned (same settings), each unit's end is when its rows were stored, and at 10 / 50 /
90 % of the rows it prints the remaining time two estimators gave then against the time that really
remained: rows per second extrapolated (the progress bar before), and bench.cost.Eta (expected unit costs
from bench/cost.py's model, corrected by the finished units of the same kind and by the clock), as `bench run` computes it live.
"""
from __future__ import annotations

import argparse

from bench.config import load_settings
from bench.cost import Eta, UnitCosts, group
from bench.data import DataCatalog
from bench.runner import make_plan
from bench.store import ResultStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    settings = load_settings()
    catalog = DataCatalog(settings.data_dir)
    store = ResultStore(args.results, readonly=True)
    frame = store.frame().set_index("key")
    invocation = store.invocations().iloc[0]
    start, end = invocation["started_at"], frame["finished_at"].max()
    plan = make_plan(settings.run_for(args.profile), catalog, set(), settings.data.impute, settings.data.leak)
    costs = UnitCosts(frame.iloc[:0].reset_index(), {r.name: r for r in catalog.records()})   # the model alone
    units = [(u.key(u.classifiers[0]), [u.key(c) for c in u.classifiers], (group(u), costs(u)[0]))
             for u in plan.units]
    eta = Eta({uid: expected for uid, _, expected in units}, args.workers)
    ends = sorted((frame.loc[keys, "finished_at"].max(), uid, keys) for uid, keys, _ in units if keys[0] in frame.index)
    total = sum(len(keys) for _, _, keys in ends)
    done, marks = 0, [0.1, 0.5, 0.9]
    print(f"{total} rows, {end - start:.0f} s; model's expectation {sum(e for *_, (_, e) in units) / args.workers:.0f} s "
          f"on {args.workers} workers before any unit ran")
    print("progress | elapsed | really left | rows/s estimate (off by) | Eta (off by)")
    for finished_at, uid, keys in ends:
        rows = frame.loc[keys]
        eta.finished(uid, rows["resample_s"].iloc[0] + rows["fit_s"].fillna(0).sum())
        done += len(keys)
        while marks and done >= marks[0] * total:
            elapsed, left = finished_at - start, end - finished_at
            old = elapsed / done * (total - done)
            new = eta.seconds(elapsed)
            print(f"{marks.pop(0):.0%} | {elapsed:.0f} s | {left:.0f} s | {old:.0f} s ({old / left:.2f}x) | "
                  f"{new:.0f} s ({new / left:.2f}x)")


if __name__ == "__main__":
    main()
