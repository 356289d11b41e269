"""How much of an AutoSMOTE search is overhead: wall time against the classifier fits it cannot avoid.

    BENCH_DATA_DIR=/tmp/bd python benchmarks/autosmote_overhead.py --dataset mozilla4 --ir 100 \
        --classifier SVM --budget 1000 --seed 1 --n-jobs 2

Prints the wall time, the summed fit time (fit + validation predict + metric, over all actors), the ratio
wall / (fit / n_jobs) (1.0 = nothing but fits, perfectly parallel), the acting / learning / waiting
seconds, and the validation and test scores of the classifier refitted on the output. On a shared
machine wall times depend on the other load, so it also prints CPU seconds: the search's whole process
tree against the fits' CPU time; with n_jobs equal to the free cores, that CPU ratio is about the wall
ratio an idle machine would give (a little less: it ignores the time actors wait for each other).
"""
from __future__ import annotations

import cProfile
import pstats
import resource
import time
import warnings
from pathlib import Path

from _search_args import load_split, search_parser
from autosmote import AutoSMOTE
from bench.classifiers import make_classifier
from bench.metrics import METRICS


def main() -> None:
    parser = search_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--ablation", default=None)
    parser.add_argument("--policy-lag", type=int, default=1)
    parser.add_argument("--sync-interval", type=int, default=1)
    parser.add_argument("--frozen-rows", action="store_true",
                        help="the approximation within_row_updates=False (one forward pass per row)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a cProfile of the main process here and print its top entries")
    args = parser.parse_args()

    split = load_split(parser, args)
    sampler = AutoSMOTE(classifier=make_classifier(args.classifier, args.seed), metric=args.metric,
                        budget=args.budget, validation=(split.X_val, split.y_val), random_state=args.seed,
                        n_jobs=args.n_jobs, ablation=args.ablation,
                        policy_lag=args.policy_lag, sync_interval=args.sync_interval, device=args.device,
                        within_row_updates=not args.frozen_rows)
    profiler = cProfile.Profile() if args.profile else None
    cpu_start = _tree_cpu()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if profiler:
            profiler.enable()
        X_res, y_res = sampler.fit_resample(split.X_train, split.y_train)
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - start
        cpu = _tree_cpu() - cpu_start
        model = make_classifier(args.classifier, args.seed).fit(X_res, y_res)
    metric = METRICS[args.metric]
    t = sampler.timings_
    n_actors = t["n_actors"]
    print(f"{args.dataset} IR {args.ir} {args.classifier} {args.metric} budget {args.budget} seed {args.seed} "
          f"actors {n_actors} ablation {args.ablation} lag {args.policy_lag} "
          f"sync every {args.sync_interval} within-row updates {not args.frozen_rows}")
    print(f"minority rows {int((split.y_train == 1).sum())}, majority rows {int((split.y_train == 0).sum())}, "
          f"G1 {sampler.search_space_.g1_actions}, G2 {sampler.search_space_.g2_actions}, "
          f"K {sampler.search_space_.k}")
    print(f"wall {wall:.2f} s   fit sum {t['fitting']:.2f} s   ratio wall/(fit/actors) "
          f"{wall / (t['fitting'] / n_actors):.2f}")
    print(f"acting {t['acting']:.2f} s (summed over actors)   learning {t['learning']:.2f} s   "
          f"waiting {t['waiting']:.2f} s   setup {t['setup']:.2f} s   learner updates {sampler.learner_updates_}")
    print(f"CPU: search {cpu:.2f} s   fits {t['fitting_cpu']:.2f} s   ratio {cpu / t['fitting_cpu']:.2f}   "
          f"acting {t['acting_cpu']:.2f} s   learning {t['learning_cpu']:.2f} s")
    per = 1e3 / args.budget
    other = cpu - t["fitting_cpu"] - t["acting_cpu"] - t["learning_cpu"]
    print(f"CPU per episode: fit {per * t['fitting_cpu']:.1f} ms   act {per * t['acting_cpu']:.1f} ms   "
          f"learn {per * t['learning_cpu']:.1f} ms   other {per * other:.1f} ms   "
          f"synthetic rows in best {sampler.n_synthetic_}")
    val_score = metric(split.y_val, model.predict(split.X_val))
    test_score = metric(split.y_test, model.predict(split.X_test))
    print(f"best validation {sampler.best_score_:.4f}   refit: validation {val_score:.4f}   test {test_score:.4f}")
    if profiler:
        profiler.dump_stats(args.profile)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def _tree_cpu() -> float:
    """CPU seconds of this process and its finished children (the actor processes, once joined)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


if __name__ == "__main__":
    main()
