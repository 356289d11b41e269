"""The speed cost of AutoSMOTE's CPU pin (autosmote.determinism): one search, unpinned and pinned, side by side.

    BENCH_DATA_DIR=/tmp/bd python benchmarks/pinning_speed.py --dataset mozilla4 --ir 50 --classifier SVM \
        --budget 100 --repeats 3

Each search runs in a fresh process (the pin is an environment that the libraries read when they start),
unpinned and pinned in turn, so that other load on a shared machine falls on both alike. Prints each run's
search wall and CPU seconds (the search's process and its actors), the pinned / unpinned ratios of the
medians, and how long a bench worker's pinned interpreter takes to start (paid once per worker).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings

from _search_args import load_split, search_parser
from autosmote import AutoSMOTE, determinism
from bench.classifiers import make_classifier


def one_search(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict:
    """The search in this process: its wall and CPU seconds, and its best score (the same pinned or not only
    by chance: the pin changes the numbers)."""
    split = load_split(parser, args)
    sampler = AutoSMOTE(classifier=make_classifier(args.classifier, args.seed), metric=args.metric,
                        budget=args.budget, validation=(split.X_val, split.y_val), random_state=args.seed,
                        n_jobs=args.n_jobs, device="cpu")
    start, cpu = time.perf_counter(), _cpu()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sampler.fit_resample(split.X_train, split.y_train)
    return {"wall": time.perf_counter() - start, "cpu": _cpu() - cpu, "best": sampler.best_score_,
            "pinned": not determinism.unpinned()}


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = search_parser(__doc__.split("\n\n")[0])
    parser.set_defaults(ir=50, budget=100, n_jobs=1)   # n_jobs 1: the harness's AutoSMOTE (one actor, in-process)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)   # one search, in this process
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_search(parser, args)))
        return
    unpinned = {k: v for k, v in os.environ.items() if k not in {*determinism.PIN, *determinism.CLEARED,
                                                                 determinism.PORTABLE}}
    environments = {"unpinned": unpinned, "pinned": determinism.pinned_environment(unpinned)}
    runs: dict[str, list[dict]] = {name: [] for name in environments}
    for repeat in range(args.repeats):
        for name, env in environments.items():
            out = subprocess.run([sys.executable, __file__, "--child", *sys.argv[1:]], env=env, check=True,
                                 capture_output=True, text=True).stdout
            runs[name].append(json.loads(out.strip().splitlines()[-1]))
            r = runs[name][-1]
            print(f"{name:>8} run {repeat + 1}: search wall {r['wall']:.2f} s, CPU {r['cpu']:.2f} s, "
                  f"best {r['best']:.4f}, pinned {r['pinned']}")
    print(f"{args.dataset} IR {args.ir} {args.classifier} {args.metric} budget {args.budget} n_jobs {args.n_jobs}")
    for what in ("wall", "cpu"):
        medians = {name: statistics.median(r[what] for r in rs) for name, rs in runs.items()}
        print(f"median {what}: unpinned {medians['unpinned']:.2f} s, pinned {medians['pinned']:.2f} s, "
              f"ratio pinned/unpinned {medians['pinned'] / medians['unpinned']:.2f}")
    start = time.perf_counter()
    determinism.call_pinned(os.getpid)
    print(f"a pinned interpreter starts in {time.perf_counter() - start:.2f} s wall (once per bench worker)")


if __name__ == "__main__":
    main()
