"""The base classifiers by name: the protocol's built-in ones and a researcher's own.

Each is data - the class as "module:attr", its fixed parameters, whether it takes the run's seed - so that
listing or validating built-in names imports no scikit-learn; the class is imported when a unit builds one.
A classifier from outside the package (`--classifiers "sklearn.ensemble:RandomForestClassifier[n_estimators=200]"`,
[classifiers.NAME] in bench.toml, or the `bench.classifiers` entry-point group) is seeded the way the built-in
ones are and carries its code identity into its runs' keys.

Naming a classifier never registers it: CLASSIFIERS holds the built-in ones, and what a run registers for its
duration (`registered`: bench.methods) so that its plan and forked workers find the classifiers it defines or
names from outside.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from . import code_identity, extensions
from .extensions import load_factory
from .names import UnknownNameError, resolve_name


@dataclass(frozen=True)
class ClassifierSpec:
    factory: str                                    # the estimator class, "module:attr"
    params: dict[str, Any] = field(default_factory=dict)
    seeded: bool = False                            # random_state = the run's seed (else fixed in params)
    description: str = ""
    version: str = ""                               # a classifier of one's own: its code version (else "")

    def build(self, seed: int):
        return load_factory(self.factory)(**self.params, **({"random_state": seed} if self.seeded else {}))

    def identity(self) -> dict[str, Any] | None:
        """What a run's key holds of a classifier from outside (built-in ones are known by name alone), and
        all a worker needs to build it where the definition is unknown (a Ray node)."""
        if not self.version:
            return None
        return {"factory": self.factory, "params": self.params, "seeded": self.seeded, "version": self.version}


# SVM and AdaBoost use random_state=0 as the authors' code does; the tree takes the run seed so that a run
# repeats exactly.
BUILT_IN: Mapping[str, ClassifierSpec] = MappingProxyType({
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
    # The Gumbel paper's protocol scores every sampler with the classifier its method trains end to end (the
    # same network, initialisation, input scaling, batches and epochs), so its table compares samplers.
    "gumbel-mlp": ClassifierSpec("autosmote.gumbel:GumbelMLPClassifier", seeded=True,
                                 description="Gumbel-AutoSMOTE's own MLP trained alone (64 hidden, min-max then "
                                             "standardised inputs, Adam lr 0.05, 200 epochs, batch 2500)"),
})
#: Every classifier known by name here: the built-in ones, and those registered for a run.
CLASSIFIERS: dict[str, ClassifierSpec] = dict(BUILT_IN)
ALIASES = {"LinearSVC": "SVM", "DecisionTree": "DT", "MLP": "mlp"}


def registered(specs: Mapping[str, ClassifierSpec]) -> AbstractContextManager[None]:
    """`specs` known by name inside the block and gone after it (bench.methods.registered: a run's own)."""
    return extensions.registered_in(CLASSIFIERS, specs, reserved={*BUILT_IN, *ALIASES}, kind="classifier")


def make_classifier(name: str, seed: int, identity: dict[str, Any] | None = None):
    """A fresh classifier for a run. One this process has no definition of (a Ray worker) is built from the
    unit's `identity`, else from its name (an import path or an installed entry point)."""
    if name in CLASSIFIERS:
        spec = CLASSIFIERS[name]
    elif identity is not None:
        spec = ClassifierSpec(**identity)
    else:
        spec = classifier_specs([name])[name]
    return spec.build(seed)


def user_spec(reference: str, fixed: dict[str, Any], kind: str = "classifier") -> ClassifierSpec:
    """A classifier from outside: imported, built with its parameters and checked by its own validation now
    (nothing is fitted), so that a bad reference or value fails before anything runs."""
    module, factory = extensions.import_reference(reference, kind, must_have="predict")
    accepted = extensions.check_parameters(factory, fixed, reference, kind)
    if not _is_classifier(extensions.built(factory, fixed, reference, kind)):
        raise UnknownNameError(f"{kind} {reference!r}: {factory.__name__} is not a classifier (scikit-learn's "
                               "is_classifier; a regressor predicts numbers): name a classifier, or derive yours "
                               "from sklearn.base.ClassifierMixin and BaseEstimator")
    return ClassifierSpec(reference, dict(fixed), seeded="random_state" in accepted and "random_state" not in fixed,
                          description=extensions.first_line(factory),
                          version=code_identity.code_version(module, factory))


def _is_classifier(model) -> bool:
    from sklearn.base import is_classifier
    try:
        return is_classifier(model)
    except AttributeError:   # scikit-learn >= 1.6 raises for a class without its estimator tags
        return False


def defined_spec(name: str, definition) -> ClassifierSpec:
    """bench.toml's [classifiers.NAME] (a bench.config.ClassifierDefinition): a classifier of one's own under NAME,
    with fixed parameters."""
    if name in BUILT_IN or name in ALIASES:
        raise UnknownNameError(f"[classifiers.{name}] takes the name of a built-in classifier: choose another name")
    return user_spec(definition.factory, definition.params, f"[classifiers.{name}]")


def _installed_spec(name: str, reference: str) -> ClassifierSpec:
    """An installed package's classifier (entry point `name` of group `bench.classifiers`), imported now."""
    return user_spec(reference, {}, f"classifier {name!r} (entry point {reference})")


def installed() -> dict[str, ClassifierSpec]:
    """Installed packages' classifiers whose names are not taken, each imported. One that cannot be loaded is
    left out: its one-line error is raised where it is named."""
    return extensions.loadable_entry_points(extensions.CLASSIFIER_GROUP, CLASSIFIERS, _installed_spec)


def all_classifiers() -> dict[str, ClassifierSpec]:
    """Every classifier known here: built-in, registered, installed as an entry point."""
    return {**CLASSIFIERS, **installed()}


def classifier_specs(names: list[str] | tuple[str, ...]) -> dict[str, ClassifierSpec]:
    """Canonical name -> spec, in the order given; registers nothing. A classifier by import path is known by
    its label; an installed one is imported when named. Unknown names raise UnknownNameError with
    suggestions."""
    out: dict[str, ClassifierSpec] = {}
    for text in names:
        reference, fixed = extensions.parse_reference(text, "classifier")
        if ":" in reference:
            name = extensions.label(reference, fixed)
            if name not in out:
                out[name] = user_spec(reference, fixed)
        elif fixed:
            raise UnknownNameError(f"classifier {text!r}: a built-in classifier takes no parameters; define "
                                   f"[classifiers.NAME] in bench.toml or name the class by import path")
        else:
            installed_names = extensions.entry_points(extensions.CLASSIFIER_GROUP, CLASSIFIERS)
            name = resolve_name(reference, [*CLASSIFIERS, *installed_names], "classifier", aliases=ALIASES,
                                listing="bench list classifiers")
            if name in out:   # a classifier named twice (e.g. SVM and LinearSVC) is fitted once
                continue
            out[name] = CLASSIFIERS[name] if name in CLASSIFIERS else _installed_spec(name, installed_names[name])
    return out


def resolve_classifiers(names: list[str] | tuple[str, ...]) -> list[str]:
    """Canonical names, in the order given (bench.classifiers.classifier_specs)."""
    return list(classifier_specs(names))


def identities(names: tuple[str, ...]) -> str:
    """The `classifier_code` of a unit: JSON of each outside classifier's identity (empty for built-ins)."""
    return json.dumps({n: CLASSIFIERS[n].identity() for n in names if CLASSIFIERS[n].identity()}, sort_keys=True)
