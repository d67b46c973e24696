""""Did you mean": close matches for a mistyped entity id, kind or field, and a word's article.

rapidfuzz's normalised Indel similarity (``fuzz.ratio``, 0-100) ranks the candidates: ``baclofn`` -> ``baclofen``
93, ``spastisity`` -> ``spasticity`` 90, ``adverse-efect`` -> ``adverse-effect`` 96, ``objet`` -> ``object`` 91.
Only matches at or above ``CUTOFF`` are offered, and only those within ``SPREAD`` of the best one, so a clear
winner comes alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Protocol

from rapidfuzz import fuzz, process

CUTOFF = 75.0
SPREAD = 6.0
LIMIT = 3


def article(word: str) -> str:
    """``a`` or ``an`` before ``word`` (by its first letter: "an adverse-effect claim", "a drug-class claim")."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def with_article(word: str) -> str:
    return f"{article(word)} {word}"


def _norm(text: str) -> str:
    return re.sub(r"[\s_]+", "-", text.strip().lower())


def close_matches(word: str, choices: Iterable[str], limit: int = LIMIT) -> list[str]:
    """The choices closest to ``word``, best first (at most ``limit``; none below CUTOFF)."""
    choices = list(dict.fromkeys(choices))
    if not word or not choices:
        return []
    found = process.extract(_norm(word), {c: _norm(c) for c in choices}, scorer=fuzz.ratio, score_cutoff=CUTOFF,
                            limit=None)
    if not found:
        return []
    found.sort(key=lambda item: (-item[1], item[2]))
    best = found[0][1]
    return [choice for _, score, choice in found if score >= best - SPREAD][:limit]


def quoted_list(names: Iterable[str], word: str = "or") -> str:
    names = [f"'{n}'" for n in names]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``did you mean 'x'?`` (or ``'x' or 'y'``), or the empty string."""
    found = close_matches(word, choices)
    return f"did you mean {quoted_list(found)}?" if found else ""


class _Entity(Protocol):
    id: str
    type: str
    label: str
    synonyms: list[str]


def entity_hint(word: str, entities: Mapping[str, _Entity], allowed_types: Iterable[str] = (),
                key: str = "") -> str:
    """What to write instead of ``word``, which is not an entity id.

    A label or synonym of an entity resolves to it (``benzodiazepine`` -> ``benzodiazepines``); otherwise the
    closest ids, labels and synonyms are offered, entities of an allowed type first."""
    allowed = set(allowed_types)
    wanted = _norm(word)
    named = [e for e in entities.values() if wanted in {_norm(n) for n in [e.label, *e.synonyms]}]
    named.sort(key=lambda e: (e.type not in allowed, e.id))
    if named:
        entity = named[0]
        how = "the label" if _norm(entity.label) == wanted else "a synonym"
        write = f"{key}: {entity.id}" if key else entity.id
        text_key = f"{key}_text" if key in ("subject", "object") else ""
        keep = f" (keep the source's word in {text_key}: {word})" if text_key else ""
        return f"'{word}' is {how} of entity '{entity.id}' ({entity.type}): write {write}{keep}"
    names: dict[str, str] = {}
    for entity in sorted(entities.values(), key=lambda e: (e.type not in allowed, e.id)):
        for name in [entity.id, entity.label, *entity.synonyms]:
            names.setdefault(name, entity.id)
    found = close_matches(word, names, limit=LIMIT * 2)
    ids = list(dict.fromkeys(names[f] for f in found))
    if allowed:
        fitting = [i for i in ids if entities[i].type in allowed]
        ids = fitting or ids
    ids = ids[:LIMIT]
    if ids:
        return f"did you mean {quoted_list(ids)}?"
    types = sorted(allowed)
    where = f"facts/entities/ ({' or '.join(types)})" if types else "facts/entities/"
    return f"if it is new, declare it in {where} in the same change"


__all__ = ["article", "close_matches", "did_you_mean", "entity_hint", "quoted_list", "with_article"]
