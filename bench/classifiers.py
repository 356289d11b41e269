"""The base classifiers by name, built exactly as the protocol says (reference code settings)."""
from __future__ import annotations

from typing import Callable

from sklearn.base import ClassifierMixin
from sklearn.ensemble import AdaBoostClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from .names import resolve_name

# name -> (factory taking the run seed, description). SVM and AdaBoost use random_state=0 as the
# authors' code does; the tree takes the run seed so that a run repeats exactly.
CLASSIFIERS: dict[str, tuple[Callable[[int], ClassifierMixin], str]] = {
    "SVM": (lambda seed: LinearSVC(random_state=0), "LinearSVC(random_state=0)"),
    "KNN": (lambda seed: KNeighborsClassifier(), "KNeighborsClassifier()"),
    "DT": (lambda seed: DecisionTreeClassifier(random_state=seed), "DecisionTreeClassifier(random_state=seed)"),
    "AdaBoost": (lambda seed: AdaBoostClassifier(random_state=0), "AdaBoostClassifier(random_state=0)"),
    # The Gumbel-AutoSMOTE paper's classifier (its authors' harness): one hidden layer of 64, Adam at
    # lr 0.05, 200 epochs, no weight decay; batches of 500 (full batch for its small datasets).
    "mlp": (lambda seed: MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=0.05, max_iter=200, alpha=0.0,
                                       batch_size=500, n_iter_no_change=200, random_state=seed),
            "MLPClassifier(64 hidden, Adam lr 0.05, 200 epochs, batch 500)"),
}
ALIASES = {"LinearSVC": "SVM", "DecisionTree": "DT", "MLP": "mlp"}


def make_classifier(name: str, seed: int) -> ClassifierMixin:
    return CLASSIFIERS[name][0](seed)


def resolve_classifiers(names: list[str] | tuple[str, ...]) -> list[str]:
    """Canonical names, in the order given; unknown names raise NameError_ with suggestions."""
    return [resolve_name(n, CLASSIFIERS, "classifier", aliases=ALIASES) for n in names]
