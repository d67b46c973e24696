"""The closed lexicons of the cue fields (hedge, modality, frequency_term, advice, evidence_level, primacy, severity),
read from ``ontology/lexicon.ttl``: the ontology is the only place a cue is defined.

A cue (the words a claim gives in one of these fields) is accepted when it contains at least one entry of its
field's lexicon, matched case-insensitively at word boundaries. Where entries overlap, the longest wins across all
lexicons: "may want to" (advice) is not the hedge "may", "can help" (ability) is not the bare possibility "can".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from .namespaces import MRKG

LEXICON_FILE = "lexicon.ttl"
DEFAULT_ONTOLOGY_DIR = Path(__file__).resolve().parents[2] / "ontology"

# facts field -> (the noun used in messages, the RDF property of the cue's type concept or None)
CUE_FIELDS: dict[str, tuple[str, str | None]] = {
    "hedge": ("an epistemic hedge cue", "hedgeCueType"),
    "modality": ("a modality cue", "modality"),
    "frequency_term": ("a frequency term", "frequencyTerm"),
    "advice": ("an advice cue", "advice"),
    "evidence_level": ("an evidence-level cue", "evidenceGrade"),
    "primacy": ("a primacy cue", None),
    "severity": ("a severity word", "severity"),
}

# facts field -> RDF property holding the cue's words on the claim
CUE_TEXT_PROPERTY: dict[str, str] = {
    "hedge": "hedgeCue",
    "modality": "modalityCue",
    "frequency_term": "frequencyTermCue",
    "advice": "adviceCue",
    "evidence_level": "evidenceLevel",
    "primacy": "primacy",
    "severity": "severityText",
}

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'})


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(_QUOTES)).strip().lower()


# Words that are no cue of any lexicon but that curators have put in cue fields, and where they go instead
NOT_CUES: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), advice) for p, advice in (
    (r"^(typical|usual|starting|maximum|max|initial)\b",
     "a table header (\"Typical\", \"Usual\") is the dose's dose_type (starting, usual, maximum), not a cue"),
    (r"\b(up to|no (longer|more) than|at most|not to exceed)\b",
     "a limit of a value is its bound (bound: upper on the value: \"up to three times daily\" -> "
     "times_per_day: 3, bound: upper), never a hedge"),
    (r"\b(at least|more than|over)\b", "a limit of a value is its bound (bound: lower on the value), never a hedge"),
    (r"\b(about|around|approximately|roughly)\b", "an approximate value is approximate: true on the value"),
    (r"^(if|when|in some cases|unless|while|for people|in people)\b",
     "words restricting when the statement applies go to conditional, never to a hedge"),
))


@dataclass(frozen=True)
class Entry:
    iri: URIRef
    field: str
    label: str  # skos:prefLabel
    words: tuple[str, ...]  # prefLabel and altLabels, normalised
    cue_type: URIRef  # skos:broader
    cue_type_label: str


@dataclass(frozen=True)
class Match:
    entry: Entry
    words: str  # the entry words that matched
    start: int
    end: int


@dataclass
class Lexicon:
    entries: list[Entry] = field(default_factory=list)
    schemes: dict[str, URIRef] = field(default_factory=dict)  # field -> scheme
    type_labels: dict[URIRef, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._cache: dict[str, list[Match]] = {}  # cue words repeat: each text is matched once
        self._patterns: list[tuple[re.Pattern, Entry, str]] = []
        for entry in self.entries:
            for words in entry.words:
                self._patterns.append((re.compile(r"(?<![\w'])" + re.escape(words) + r"(?![\w'])"), entry, words))

    def fields(self) -> list[str]:
        return [f for f in CUE_FIELDS if f in self.schemes]

    def all_matches(self, text: str) -> list[Match]:
        """Every entry of every lexicon found in ``text``, keeping per span only the longest (overlaps resolved)."""
        cached = self._cache.get(text)
        if cached is None:
            cached = self._cache[text] = self._all_matches(text)
        return cached

    def _all_matches(self, text: str) -> list[Match]:
        norm = normalise(text)
        found = [Match(entry, words, m.start(), m.end())
                 for pattern, entry, words in self._patterns for m in pattern.finditer(norm)]
        kept = []
        for match in found:
            covered = any(other.start <= match.start and match.end <= other.end
                          and (other.end - other.start) > (match.end - match.start) for other in found)
            if not covered:
                kept.append(match)
        return kept

    def matches(self, field_name: str, text: str) -> list[Match]:
        """The entries of ``field_name``'s lexicon in ``text`` (after longest-match across all lexicons)."""
        seen, out = set(), []
        for match in sorted(self.all_matches(text), key=lambda m: (m.start, m.entry.iri)):
            if match.entry.field == field_name and match.entry.iri not in seen:
                seen.add(match.entry.iri)
                out.append(match)
        return out

    def cue_types(self, field_name: str, text: str) -> list[URIRef]:
        types: list[URIRef] = []
        for match in self.matches(field_name, text):
            if match.entry.cue_type not in types:
                types.append(match.entry.cue_type)
        return types

    def suggestion(self, field_name: str, text: str) -> str | None:
        """'<other field>: <words>' for the first other lexicon that holds the cue, or None."""
        for match in sorted(self.all_matches(text), key=lambda m: m.start):
            if match.entry.field != field_name:
                return f"{match.entry.field}: {match.words}"
        return None

    def check(self, field_name: str, text: str) -> str | None:
        """None if ``text`` is a cue of ``field_name``; else the problem, with a suggestion where there is one."""
        if self.matches(field_name, text):
            return None
        noun = CUE_FIELDS[field_name][0]
        message = f'{field_name} "{text}" is not {noun}'
        hint = self.suggestion(field_name, text)
        if hint:
            return f"{message}; did you mean {hint}?"
        for pattern, advice in NOT_CUES:
            if pattern.search(normalise(text)):
                return f"{message}; {advice}"
        labels = sorted({e.label for e in self.entries if e.field == field_name})
        return f"{message} (the {field_name} lexicon in ontology/{LEXICON_FILE}: {', '.join(labels)})"


def _text(value) -> str:
    return str(value) if isinstance(value, Literal) else ""


def parse_lexicon(graph: Graph) -> Lexicon:
    schemes: dict[str, URIRef] = {}
    field_of_scheme: dict[URIRef, str] = {}
    for scheme in graph.subjects(RDF.type, SKOS.ConceptScheme):
        name = graph.value(scheme, MRKG.factsField)
        if name is not None and str(name) in CUE_FIELDS:
            schemes[str(name)] = scheme
            field_of_scheme[scheme] = str(name)
    type_labels: dict[URIRef, str] = {}
    entries: list[Entry] = []
    for concept in sorted(graph.subjects(RDF.type, SKOS.Concept)):
        scheme = graph.value(concept, SKOS.inScheme)
        if scheme not in field_of_scheme:
            continue
        broader = graph.value(concept, SKOS.broader)
        if broader is None:
            type_labels[concept] = _text(graph.value(concept, SKOS.prefLabel))
            continue
        pref = _text(graph.value(concept, SKOS.prefLabel))
        words = [pref] + sorted(_text(a) for a in graph.objects(concept, SKOS.altLabel))
        entries.append(Entry(concept, field_of_scheme[scheme], pref,
                             tuple(dict.fromkeys(normalise(w) for w in words if w)), broader,
                             _text(graph.value(broader, SKOS.prefLabel))))
    return Lexicon(entries, schemes, type_labels)


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Lexicon:
    return parse_lexicon(Graph().parse(path, format="turtle"))


def load_lexicon(ontology_dir: Path | None = None) -> Lexicon:
    """The lexicons of ``ontology_dir``/lexicon.ttl (default: the ontology of this checkout)."""
    path = Path(ontology_dir or DEFAULT_ONTOLOGY_DIR) / LEXICON_FILE
    if not path.is_file():
        path = DEFAULT_ONTOLOGY_DIR / LEXICON_FILE
    return _load(str(path), path.stat().st_mtime)
