"""Search over the graph: labels, synonyms, the sources' own words (mrkg:subjectText / mrkg:objectText) and quotes.

The index is built once from the graph when the app is created (before the HTTP workers are forked, so they share
it), with a handful of SELECT queries; /sparql's path is not touched. A search ranks, best first: an exact label,
an exact synonym or source wording, a label or synonym starting with the words typed, one containing them, a close
spelling (difflib), then quotes containing them. ``GET /search?q=`` answers HTML or JSON (``Accept`` or
``format=json``); ``GET /search/terms`` lists the dataset's entities, properties and classes for the query editor's
completion; a 404 of a page of the dataset suggests the closest entities ("did you mean").
"""

from __future__ import annotations

import difflib
import json
import re
import threading
import time
import unicodedata
from dataclasses import dataclass, field

from flask import Blueprint, Flask, Response, current_app, render_template, request

from ..engine.formats import Format, negotiate
from ..engine.guard import Limits
from ..engine.runner import Job, Runner
from ..namespaces import BASE
from .service import PREFIX_MAP, service
from .ops import text_response

bp = Blueprint("search", __name__)

EXTENSION = "mrkg.search"
MAX_QUERY_CHARS = 200
DEFAULT_LIMIT = 20
MAX_LIMIT = 50
SUGGEST_LIMIT = 8
HTML = Format("html", "text/html", ("application/xhtml+xml",))
JSON = Format("json", "application/json", ())
# Tiers, best first; the score of a hit is its tier's, plus closeness for fuzzy hits.
TIERS = {"label": 100, "synonym": 90, "source words": 85, "prefix": 70, "contains": 60, "fuzzy": 40, "quote": 20}
# What a page of each kind is called, for IRIs whose type has no label.
KIND_NAMES = {"entity": "entity", "claim": "claim", "source": "source", "conflict": "conflict", "ontology": "term",
              "mapping": "mapping", "activity": "activity", "agent": "agent", "graph": "graph"}
GENERIC = {"claim", "namedindividual", "named individual", "entity", "thing", "resource"}
OWL = "http://www.w3.org/2002/07/owl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
FINDABLE = ("entity/", "source/", "conflict/", "ontology/", "agent/", "activity/")  # by label (claims: by quote)

P = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#> " \
    "PREFIX dct: <http://purl.org/dc/terms/> PREFIX mrkg: <https://w3id.org/mrkg/ontology/> "
OURS = f'FILTER(isIRI(?x) && STRSTARTS(STR(?x), "{BASE}"))'
QUERIES = {
    "label": P + f"SELECT DISTINCT ?x ?t WHERE {{ ?x rdfs:label|skos:prefLabel|dct:title ?t {OURS} }}",
    "synonym": P + f"SELECT DISTINCT ?x ?t WHERE {{ ?x skos:altLabel ?t {OURS} }}",
    "source words": P + f"SELECT DISTINCT ?x ?t WHERE {{ {{ ?c mrkg:subjectText ?t ; mrkg:subject ?x }} UNION "
                        f"{{ ?c mrkg:objectText ?t ; mrkg:object ?x }} {OURS} }}",
    "quote": P + f"SELECT DISTINCT ?x ?t WHERE {{ ?x mrkg:quote ?t {OURS} }}",
    # every typed node (kinds, classes, declared properties and the index pages' members come from it) and every
    # predicate used: plain patterns, no string functions, so that rdflib (the memory engine) is quick too
    "type": "SELECT DISTINCT ?x ?type WHERE { ?x a ?type FILTER(isIRI(?x)) }",
    "predicate": "SELECT DISTINCT ?x WHERE { ?s ?x ?o }",
}


def normalise(text: str) -> str:
    """Lower case, accents and punctuation folded, spaces collapsed: 'Baclofen (Lioresal)' -> 'baclofen lioresal'."""
    text = unicodedata.normalize("NFKD", text).casefold()
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w%.-]+", " ", text).split())


@dataclass
class Hit:
    iri: str
    label: str
    kind: str
    match: str  # which tier
    text: str  # the text that matched (a synonym, the source's words, the quote)
    score: float

    def as_json(self) -> dict:
        return {"iri": self.iri, "href": local_path(self.iri), "label": self.label, "kind": self.kind,
                "match": self.match, "text": self.text, "score": round(self.score, 1)}


def local_path(iri: str) -> str:
    return "/" + iri[len(BASE):] if iri.startswith(BASE) else iri


@dataclass
class SearchIndex:
    labels: dict[str, str] = field(default_factory=dict)  # IRI -> its display label
    kinds: dict[str, str] = field(default_factory=dict)  # IRI -> kind (its type's label)
    terms: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # normalised -> [(IRI, field, text)]
    quotes: list[tuple[str, str, str]] = field(default_factory=list)  # (normalised quote, IRI, quote)
    entities: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)  # every IRI of the namespace that has a triple
    properties: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @classmethod
    def build(cls, rows: dict[str, list[tuple[str, str]]]) -> "SearchIndex":
        started = time.perf_counter()
        index = cls()
        types: dict[str, set[str]] = {}
        for iri, kind in rows.get("type", []):
            types.setdefault(iri, set()).add(kind)
        for iri, text in sorted(rows.get("label", [])):
            index.labels.setdefault(iri, text)
            if iri.startswith(tuple(BASE + f for f in FINDABLE)) or iri == BASE + "ontology":
                index._add(text, iri, "label")
        for name in ("synonym", "source words"):
            for iri, text in sorted(rows.get(name, [])):
                index._add(text, iri, name)
        for iri, text in sorted(rows.get("quote", [])):
            index.quotes.append((normalise(text), iri, text))
        for iri, kinds in types.items():
            if iri.startswith(BASE) and not iri.startswith(BASE + "claim/"):
                names = sorted((index._type_name(t) for t in kinds), key=lambda n: (n.casefold() in GENERIC, n))
                index.kinds[iri] = names[0]
        index.entities = sorted(i for i in index.labels if i.startswith(BASE + "entity/"))
        index.subjects = sorted({i for i in types if i.startswith(BASE)} | {i for i in index.labels})
        declared = {OWL + "ObjectProperty", OWL + "DatatypeProperty", OWL + "AnnotationProperty", RDF + "Property"}
        index.properties = sorted({i for (i,) in rows.get("predicate", [])}
                                  | {i for i, kinds in types.items() if kinds & declared})
        index.classes = sorted({t for kinds in types.values() for t in kinds}
                               | {i for i, kinds in types.items() if OWL + "Class" in kinds})
        index.seconds = time.perf_counter() - started
        return index

    def _type_name(self, iri: str) -> str:
        return self.labels.get(iri) or re.split(r"[/#]", iri)[-1]

    def _add(self, text: str, iri: str, where: str) -> None:
        key = normalise(text)
        if key:
            entries = self.terms.setdefault(key, [])
            if (iri, where, text) not in entries:
                entries.append((iri, where, text))

    def label(self, iri: str) -> str:
        return self.labels.get(iri) or iri[len(BASE):] if iri.startswith(BASE) else iri

    def kind(self, iri: str) -> str:
        if iri in self.kinds:
            return self.kinds[iri]
        return KIND_NAMES.get(iri[len(BASE):].split("/", 1)[0], "resource") if iri.startswith(BASE) else "resource"

    def search(self, query: str, limit: int = DEFAULT_LIMIT) -> tuple[list[Hit], int]:
        """The best ``limit`` hits for ``query`` (one per IRI, its best match) and how many IRIs matched at all."""
        key = normalise(query)
        if not key:
            return [], 0
        best: dict[str, Hit] = {}

        def offer(iri: str, match: str, text: str, score: float) -> None:
            if iri not in best or score > best[iri].score:
                best[iri] = Hit(iri, self.label(iri), self.kind(iri), match, text, score)

        for iri, where, text in self.terms.get(key, []):
            offer(iri, where, text, TIERS[where])
        words = key.split()
        for term, entries in self.terms.items():
            if term == key:
                continue
            if term.startswith(key):
                tier, closeness = "prefix", len(key) / len(term)
            elif all(w in term for w in words):
                tier, closeness = "contains", len(key) / len(term)
            else:
                continue
            for iri, where, text in entries:
                offer(iri, tier, text, TIERS[tier] + 9 * closeness - (0 if where == "label" else 1))
        if len(key) >= 3:
            for term in difflib.get_close_matches(key, self.terms.keys(), n=10, cutoff=0.75):
                closeness = difflib.SequenceMatcher(None, key, term).ratio()
                for iri, where, text in self.terms[term]:
                    offer(iri, "fuzzy", text, TIERS["fuzzy"] + 10 * closeness)
        for quote_key, iri, text in self.quotes:
            if all(w in quote_key for w in words):
                offer(iri, "quote", text, TIERS["quote"] + min(9.0, 9 * len(key) / 40))
        ranked = sorted(best.values(), key=lambda h: (-h.score, h.label.casefold(), h.iri))
        return ranked[:limit], len(ranked)

    def did_you_mean(self, wanted: str, prefix: str, n: int = 3) -> list[str]:
        """The IRIs under ``prefix`` whose last part or label is closest to ``wanted`` (a mistyped id)."""
        candidates: dict[str, str] = {}
        for iri in self.labels:
            if iri.startswith(prefix):
                candidates[iri[len(prefix):].casefold()] = iri
                candidates.setdefault(normalise(self.labels[iri]), iri)
        wanted = wanted.casefold()
        found: list[str] = []
        for key in difflib.get_close_matches(wanted, candidates.keys(), n=n * 2, cutoff=0.6):
            if candidates[key] not in found:
                found.append(candidates[key])
        return found[:n]


def build_index(app: Flask, runner: Runner) -> SearchIndex:
    """Build the index from the graph behind ``runner`` (its own row cap does not apply) and keep it on ``app``."""
    started = time.perf_counter()
    unlimited = Runner(runner.backend, limits=Limits(max_query_chars=100_000), prefixes=PREFIX_MAP,
                       max_rows=10_000_000)
    rows: dict[str, list[tuple[str, ...]]] = {}
    for name, query in QUERIES.items():
        answer = unlimited.run(Job(query, format="json"))
        if answer.status != 200:
            app.logger.warning("search index: query %s failed: %s", name, answer.body[:200])
            rows[name] = []
            continue
        doc = json.loads(answer.body)
        variables = doc["head"]["vars"]
        rows[name] = [tuple(b[v]["value"] for v in variables if v in b) for b in doc["results"]["bindings"]]
    index = SearchIndex.build(rows)
    index.seconds = time.perf_counter() - started
    app.extensions[EXTENSION] = index
    return index


def index() -> SearchIndex:
    found = current_app.extensions.get(EXTENSION)
    if found is None:  # an app made without the hook: build on first use, once
        with _lock:
            found = current_app.extensions.get(EXTENSION)
            if found is None:
                found = build_index(current_app, service().runner)
    return found


_lock = threading.Lock()


def _limit() -> int | str:
    raw = request.args.get("limit", "")
    if not raw:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        return f"limit must be a whole number from 1 to {MAX_LIMIT}, not {raw[:20]!r}."
    return int(raw)


@bp.get("/search")
def search() -> Response:
    wanted = request.args.get("format")
    if wanted:
        picked = {"json": JSON, "html": HTML}.get(wanted.strip().lower())
    else:
        found = negotiate(request.headers.get("Accept"), (HTML, JSON))
        picked = found[0] if found else None
    if picked is None:
        return text_response(406, "No acceptable format; available: text/html, application/json (format=html, json).")
    queries = request.args.getlist("q")
    if len(queries) > 1:
        return text_response(400, "Give one q parameter, not several.")
    query = (queries[0] if queries else "").strip()
    if len(query) > MAX_QUERY_CHARS:
        return text_response(400, f"The search text is {len(query)} characters long; at most {MAX_QUERY_CHARS} "
                                  "are searched (try a few words).")
    if any(unicodedata.category(c) == "Cc" for c in query):
        return text_response(400, "The search text holds control characters; send plain words.")
    limit = _limit()
    if isinstance(limit, str):
        return text_response(400, limit)
    idx = index()
    hits, total = idx.search(query, limit)
    headers = {"Vary": "Accept", "Cache-Control": "public, max-age=300"}
    if picked is JSON:
        body = {"query": query, "total": total, "limit": limit, "results": [h.as_json() for h in hits]}
        return Response(json.dumps(body, ensure_ascii=False) + "\n", mimetype="application/json", headers=headers)
    html = render_template("search.html", svc=service(), q=query, hits=hits, total=total, limit=limit,
                           href=local_path)
    return Response(html, mimetype="text/html", headers=headers)


@bp.get("/search/terms")
def terms() -> Response:
    """The dataset's entities, properties and classes (full IRIs), for the query editor's completion."""
    idx = index()
    body = {"entities": idx.entities, "properties": idx.properties, "classes": idx.classes,
            "prefixes": PREFIX_MAP}
    return Response(json.dumps(body) + "\n", mimetype="application/json",
                    headers={"Cache-Control": "public, max-age=300", "ETag": f'"{service().release.etag}-terms"'})


def not_found(exc):
    """A 404 of a page of the dataset: the usual one line, plus the closest entities (HTML for browsers)."""
    path = request.path
    suggestions: list[str] = []
    kind = path.strip("/").split("/", 1)[0]
    if path.count("/") >= 2 and kind in KIND_NAMES and current_app.extensions.get("mrkg") is not None:
        try:
            suggestions = index().did_you_mean(path.split("/", 2)[2].strip("/"), f"{BASE}{kind}/")
        except Exception:  # a suggestion is a courtesy: never turn a 404 into a 500
            current_app.logger.exception("did-you-mean failed on %s", path)
    message = f"Not found: {path}"
    found = negotiate(request.headers.get("Accept"), (Format("text", "text/plain", ()), HTML))
    if found and found[0] is HTML and current_app.extensions.get("mrkg") is not None:
        html = render_template("notfound.html", svc=service(), path=path, suggestions=suggestions,
                               label=index().label, href=local_path)
        return Response(html, status=404, mimetype="text/html")
    if suggestions:
        message += "; did you mean " + " or ".join(local_path(s) for s in suggestions) + "?"
    return text_response(404, message)


def init_app(app: Flask, runner: Runner) -> None:
    app.register_blueprint(bp)
    app.register_error_handler(404, not_found)
    build_index(app, runner)
