"""What the AutoSMOTE benchmarks share: the arguments naming one search, and the split they name."""
from __future__ import annotations

import argparse

from bench.classifiers import CLASSIFIERS
from bench.config import load_settings
from bench.data import DataCatalog, DataError, Split
from bench.metrics import METRICS


def search_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the dataset / IR / classifier / metric / budget / seed / actors of one search."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--dataset", default="mozilla4")
    parser.add_argument("--ir", type=int, default=100)
    parser.add_argument("--classifier", default="SVM", choices=sorted(CLASSIFIERS))
    parser.add_argument("--metric", default="macro_f1", choices=sorted(METRICS))
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n-jobs", type=int, default=2)
    return parser


def load_split(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Split:
    """The protocol's split of the named dataset, from the data directory `bench` uses (BENCH_DATA_DIR);
    a dataset or IR it cannot make ends the script with the catalogue's one-line error and exit code 2."""
    try:
        return DataCatalog(load_settings().data_dir).split(args.dataset, args.ir, args.seed)
    except DataError as err:
        parser.error(str(err))
