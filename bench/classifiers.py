"""The base classifiers by name, built exactly as the protocol says (reference code settings).

Each is data - the class as "module:attr", its fixed parameters, whether it takes the run's seed - so that
listing or validating names imports no scikit-learn; the class is imported when a unit builds one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .names import resolve_name
from .samplers.registry import load_factory


@dataclass(frozen=True)
class ClassifierSpec:
    factory: str                                    # the estimator class, "module:attr"
    params: dict[str, Any] = field(default_factory=dict)
    seeded: bool = False                            # random_state = the run's seed (else fixed in params)
    description: str = ""

    def build(self, seed: int):
        return load_factory(self.factory)(**self.params, **({"random_state": seed} if self.seeded else {}))


# SVM and AdaBoost use random_state=0 as the authors' code does; the tree takes the run seed so that a run
# repeats exactly.
CLASSIFIERS: dict[str, ClassifierSpec] = {
    "SVM": ClassifierSpec("sklearn.svm:LinearSVC", {"random_state": 0}, description="LinearSVC(random_state=0)"),
    "KNN": ClassifierSpec("sklearn.neighbors:KNeighborsClassifier", description="KNeighborsClassifier()"),
    "DT": ClassifierSpec("sklearn.tree:DecisionTreeClassifier", seeded=True,
                         description="DecisionTreeClassifier(random_state=seed)"),
    "AdaBoost": ClassifierSpec("sklearn.ensemble:AdaBoostClassifier", {"random_state": 0},
                               description="AdaBoostClassifier(random_state=0)"),
    # The Gumbel-AutoSMOTE paper's classifier (its authors' harness): one hidden layer of 64, Adam at
    # lr 0.05, 200 epochs, no weight decay; batches of 500 (full batch for its small datasets).
    "mlp": ClassifierSpec("sklearn.neural_network:MLPClassifier",
                          dict(hidden_layer_sizes=(64,), learning_rate_init=0.05, max_iter=200, alpha=0.0,
                               batch_size=500, n_iter_no_change=200), seeded=True,
                          description="MLPClassifier(64 hidden, Adam lr 0.05, 200 epochs, batch 500)"),
}
ALIASES = {"LinearSVC": "SVM", "DecisionTree": "DT", "MLP": "mlp"}


def make_classifier(name: str, seed: int):
    return CLASSIFIERS[name].build(seed)


def resolve_classifiers(names: list[str] | tuple[str, ...]) -> list[str]:
    """Canonical names, in the order given; unknown names raise UnknownNameError with suggestions."""
    return [resolve_name(n, CLASSIFIERS, "classifier", aliases=ALIASES) for n in names]
