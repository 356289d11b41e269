"""How fast the command line answers, and what `bench run` adds to the work it runs.

    BENCH_DATA_DIR=/tmp/bd python benchmarks/cli_speed.py [--results results/reproduction] [--repeat 3]

Prints, side by side in one run (each the best of --repeat):
1. `bench --help` wall time (the target: <= 0.5 s on 2 cores) and `bench table --results DIR` (<= 3 s);
2. the harness's overhead on small units: `bench run --workers 1` on phoneme IR 50, seed 1, seven
   imbalanced-learn samplers (six over the ratios 0.2..1.0 and TomekLinks once: 31 units, 124 rows) against
   a bare in-process loop doing the same work - load the split once, then per unit resample and per
   classifier fit and score validation and test with every metric (target: <= 1.15x). Both run as fresh
   processes, so both pay the interpreter's start and their imports.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

SAMPLERS = ["RandomOverSampler", "SMOTE", "BorderlineSMOTE", "ADASYN", "RandomUnderSampler", "NearMiss",
            "TomekLinks"]
RATIOS = [0.2, 0.4, 0.6, 0.8, 1.0]
CLASSIFIERS = ["SVM", "KNN", "DT", "AdaBoost"]
DATASET, IR, SEED = "phoneme", 50, 1
BENCH = [sys.executable, "-m", "bench.cli"]


def bare_loop() -> int:
    """The same work as the `bench run` below, with nothing around it; returns the rows computed."""
    from bench.classifiers import make_classifier
    from bench.data import DataCatalog
    from bench.metrics import METRICS
    from bench.samplers.registry import SAMPLERS as REGISTRY, SamplerContext
    split = DataCatalog(os.environ["BENCH_DATA_DIR"]).split(DATASET, IR, SEED)
    rows = 0
    for name in SAMPLERS:
        entry = REGISTRY[name]
        for params in ([{"ratio": r} for r in RATIOS] if entry.tunes_ratio else [{}]):
            X, y = entry.make(params, SamplerContext(SEED)).fit_resample(split.X_train, split.y_train)
            for classifier in CLASSIFIERS:
                model = make_classifier(classifier, SEED).fit(X, y)
                for X_eval, y_eval in ((split.X_val, split.y_val), (split.X_test, split.y_test)):
                    predicted = model.predict(X_eval)
                    [score(y_eval, predicted) for score in METRICS.values()]
                rows += 1
    return rows


def best_wall(command: list[str], repeat: int, before=None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    if sys.argv[1:] == ["--bare"]:
        print(bare_loop())
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="results/reproduction")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    help_s = best_wall([*BENCH, "--help"], args.repeat)
    table_s = best_wall([*BENCH, "table", "--results", args.results], args.repeat)
    print(f"bench --help: {help_s:.2f} s (target <= 0.5)")
    print(f"bench table --results {args.results}: {table_s:.2f} s (target <= 3)")

    with tempfile.TemporaryDirectory() as scratch:
        store = os.path.join(scratch, "runs")
        run = [*BENCH, "run", "--datasets", DATASET, "--irs", str(IR), "--seeds", str(SEED),
               "--samplers", ",".join(SAMPLERS), "--ratios", ",".join(map(str, RATIOS)),
               "--classifiers", ",".join(CLASSIFIERS), "--workers", "1", "--results", store]
        subprocess.run(run, check=True, stdout=subprocess.DEVNULL)   # builds the split cache once

        def fresh_store():
            subprocess.run(["rm", "-rf", store], check=True)
        bench_s = best_wall(run, args.repeat, before=fresh_store)
        bare_s = best_wall([sys.executable, __file__, "--bare"], args.repeat)
    print(f"bench run --workers 1 (31 units, 124 rows): {bench_s:.1f} s; bare loop: {bare_s:.1f} s; "
          f"ratio {bench_s / bare_s:.2f} (target <= 1.15)")


if __name__ == "__main__":
    main()
