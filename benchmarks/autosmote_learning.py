"""Does the AutoSMOTE search learn? Episode rewards over the search, next to its ablations.

    BENCH_DATA_DIR=/tmp/bd python benchmarks/autosmote_learning.py --dataset mozilla4 --ir 100 \
        --classifier SVM --budget 1000 --seed 1 --ablations none,random_search

The search keeps the best of `budget` episodes, so its output can match random search's even when the
policies learn. This prints, per sampler, the mean validation reward of the episodes in each tenth of the
search (a learning policy raises it; random search keeps it flat), the best validation score, the episode
that reached it, the size of its synthetic set and the test score of the classifier refitted on the output.
"""
from __future__ import annotations

import warnings

import numpy as np

from _search_args import load_split, search_parser
from autosmote import AutoSMOTE
from autosmote.rl.acting import ABLATIONS
from bench.classifiers import make_classifier
from bench.metrics import METRICS

N_WINDOWS = 10


def main() -> None:
    parser = search_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--ablations", default="none,random_search",
                        help=f"comma-separated; 'none' is AutoSMOTE itself, others from {', '.join(ABLATIONS)}")
    args = parser.parse_args()
    ablations = args.ablations.split(",")
    unknown = sorted(set(ablations) - {"none", *ABLATIONS})
    if unknown or args.budget < N_WINDOWS:
        parser.error(f"unknown ablations {unknown}" if unknown else f"--budget must be at least {N_WINDOWS}")

    split = load_split(parser, args)
    metric = METRICS[args.metric]
    print(f"{args.dataset} IR {args.ir} {args.classifier} {args.metric} budget {args.budget} seed {args.seed}: "
          f"mean episode reward per tenth of the search | best validation (episode) | synthetic rows | test")
    for ablation in ablations:
        sampler = AutoSMOTE(classifier=make_classifier(args.classifier, args.seed), metric=args.metric,
                            budget=args.budget, validation=(split.X_val, split.y_val), random_state=args.seed,
                            n_jobs=args.n_jobs, ablation=None if ablation == "none" else ablation)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X_res, y_res = sampler.fit_resample(split.X_train, split.y_train)
            model = make_classifier(args.classifier, args.seed).fit(X_res, y_res)
        windows = np.array_split(np.asarray(sampler.episode_scores_), N_WINDOWS)
        test = metric(split.y_test, model.predict(split.X_test))
        print(f"{ablation:>20} " + " ".join(f"{w.mean():.3f}" for w in windows)
              + f" | {sampler.best_score_:.4f} ({sampler.best_decisions_['episode']}) | {sampler.n_synthetic_}"
              + f" | {test:.4f}", flush=True)


if __name__ == "__main__":
    main()
