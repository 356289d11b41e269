"""Units per second of the Ray executor on a two-node cluster against the local executor, on the same cores.

    BENCH_DATA_DIR=/tmp/bd python benchmarks/ray_throughput.py --datasets phoneme mozilla4 --repeats 2

The same plan (the datasets at IR 20/50/100, seed 1, the samplers over the ratio grid, the four classifiers) runs
into a fresh store each time, in a fresh process each time (a process that ran Ray cannot fork local workers
safely), in turn so that other load on a shared machine falls on every executor alike:

- local: the local executor with `--cpus` worker processes;
- cluster: a Ray cluster on this machine (ray.cluster_utils) of a head without CPUs and `--cpus` worker nodes
  of one CPU each, attached to by address as a real cluster is; its start (paid once per cluster) is timed apart;
- ray-local: the Ray the executor starts itself when given no address (`--cpus` CPUs on one node).

Prints each run's wall seconds and units per second, each executor's median, and its ratio to the local one.
Ray's workers run at the local executor's priority here (RAY_worker_niceness=0; Ray's default lowers them by 15),
so that other load on the machine falls on both alike.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXECUTORS = ("local", "cluster", "ray-local")


def one_run(executor: str, args: argparse.Namespace) -> dict:
    """The plan on `executor` into a fresh store, in this process: its units, wall seconds and statuses."""
    from bench.config import load_settings
    from bench.data import DataCatalog
    from bench.runner import make_plan
    from bench.store import ResultStore
    settings = load_settings()
    with tempfile.TemporaryDirectory() as results:
        run = settings.run_for(results=results, datasets=tuple(args.datasets), irs=(20, 50, 100), seeds=(1,),
                               samplers=tuple(args.samplers), ratios=tuple(args.ratios),
                               classifiers=("SVM", "KNN", "DT", "AdaBoost"))
        plan = make_plan(run, DataCatalog(settings.data_dir), set(), "zero", False)
        store = ResultStore(Path(results))
        started = 0.0
        if executor == "local":
            from bench.executors.local import LocalExecutor
            runner = LocalExecutor(settings.data_dir, workers=args.cpus)
        else:
            from bench.executors.ray import RayExecutor
            address = None
            if executor == "cluster":
                from ray.cluster_utils import Cluster
                begin = time.perf_counter()
                cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
                for _ in range(args.cpus):
                    cluster.add_node(num_cpus=1)
                cluster.wait_for_nodes()
                started, address = time.perf_counter() - begin, cluster.address
            runner = RayExecutor(settings.data_dir, address=address,
                                 num_cpus=args.cpus if address is None else None)
        try:
            begin = time.perf_counter()
            runner.run(plan.units, store.write)
            wall = time.perf_counter() - begin
            statuses = store.frame()["status"].value_counts().to_dict()
        finally:
            store.close()
            if executor == "cluster":
                cluster.shutdown()
    return {"units": len(plan.units), "wall": wall, "cluster_start": started, "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["phoneme", "mozilla4"])
    parser.add_argument("--samplers", nargs="+", default=["SMOTE", "RandomOverSampler"])
    parser.add_argument("--ratios", nargs="+", type=float, default=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    parser.add_argument("--cpus", type=int, default=2, help="local workers = cluster nodes of one CPU each")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--executors", nargs="+", choices=EXECUTORS, default=list(EXECUTORS))
    parser.add_argument("--child", choices=EXECUTORS, help=argparse.SUPPRESS)   # one run, in this process
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.child, args)))
        return
    forwarded = [a for a in sys.argv[1:] if a != "--child"]
    env = {**os.environ, "RAY_worker_niceness": "0"}
    runs: dict[str, list[dict]] = {name: [] for name in args.executors}
    for repeat in range(args.repeats):
        for name in args.executors:
            out = subprocess.run([sys.executable, __file__, *forwarded, "--child", name], check=True,
                                 capture_output=True, text=True, env=env).stdout
            result = json.loads(out.strip().splitlines()[-1])
            runs[name].append(result)
            start = f", cluster start {result['cluster_start']:.1f} s" if result["cluster_start"] else ""
            print(f"{name:9s} run {repeat + 1}: {result['units']} units in {result['wall']:.1f} s = "
                  f"{result['units'] / result['wall']:.2f} units/s{start}; rows {result['statuses']}", flush=True)
    baseline = statistics.median(r["units"] / r["wall"] for r in runs.get("local", runs[args.executors[0]]))
    for name, results in runs.items():
        rate = statistics.median(r["units"] / r["wall"] for r in results)
        print(f"{name:9s} median {rate:.2f} units/s, {rate / baseline:.2f}x the local executor")


if __name__ == "__main__":
    main()
