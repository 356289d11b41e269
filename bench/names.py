"""Name lookup with 'did you mean' suggestions, shared by every registry (datasets, samplers, classifiers)."""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from .errors import UserError


class UnknownNameError(UserError, ValueError):
    """An unknown dataset / sampler / classifier / metric name; the message suggests the closest ones."""


def _fold(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def resolve_name(name: str, known: Iterable[str], kind: str, aliases: Mapping[str, str] | None = None,
                 listing: str | None = None) -> str:
    """Return the canonical spelling of `name` (case and punctuation ignored) or raise with suggestions."""
    known = list(known)
    if name in known:
        return name
    # case and punctuation are forgiven, unless two names fold alike (SVMSMOTE vs sv.MSMOTE)
    hits = {k for k in known if _fold(k) == _fold(name)}
    hits |= {t for a, t in (aliases or {}).items() if _fold(a) == _fold(name)}
    if len(hits) > 1:
        raise UnknownNameError(f"ambiguous {kind} {name!r}: write one of {', '.join(sorted(hits))}")
    if hits:
        return hits.pop()
    folded = {_fold(k): k for k in known}
    folded.update({_fold(a): t for a, t in (aliases or {}).items()})
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    close += [folded[f] for f in difflib.get_close_matches(_fold(name), folded, n=3, cutoff=0.6)
              if folded[f] not in close]
    hint = f"did you mean {', '.join(close[:3])}?" if close else f"see `{listing or 'bench list ' + kind + 's'}`"
    raise UnknownNameError(f"unknown {kind} {name!r}: {hint}")
