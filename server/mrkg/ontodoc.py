"""The ontology reference: one HTML page, generated at build time from the ontology graph (ontology/*.ttl), with
every class, property, individual and lexicon concept: label, definition, domain, range, super- and sub-terms, and
an example SPARQL query (a competency question of queries/ that uses the term where one does, else a small one made
here), each linked to the query UI with the query filled in and run, and the number of rows it gives on this build.

Served at /ontology/ (the page is written into the build as ontology.html). Our own generator, not pyLODE: see the
README's dependency table for why."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from .namespaces import BASE, MRKG, ONTOLOGY, PREFIXES

TEMPLATES = Path(__file__).parent / "templates"
NS = str(MRKG)
SCHEMA_PREFIXES = sorted(((str(ns), p) for p, ns in PREFIXES.items()), key=lambda item: -len(item[0]))

# Sections of the page, in order: (id, heading, rdf:type IRIs that put a term there).
SECTIONS = (
    ("classes", "Classes", (OWL.Class, RDFS.Class)),
    ("object-properties", "Object properties", (OWL.ObjectProperty,)),
    ("datatype-properties", "Datatype properties", (OWL.DatatypeProperty,)),
    ("annotation-properties", "Annotation properties", (OWL.AnnotationProperty, RDF.Property)),
    ("schemes", "Lexicons (SKOS concept schemes)", (SKOS.ConceptScheme,)),
    ("concepts", "Lexicon entries (SKOS concepts)", (SKOS.Concept,)),
    ("individuals", "Individuals (values of the closed lists)", (OWL.NamedIndividual,)),
)
CHARACTERISTICS = {OWL.FunctionalProperty: "functional", OWL.SymmetricProperty: "symmetric",
                   OWL.TransitiveProperty: "transitive", OWL.InverseFunctionalProperty: "inverse functional"}
ROW_LIMIT = 20
REFERENCE_FILE = "ontology.html"  # in the build folder, served at /ontology/


@dataclass
class Link:
    iri: str
    text: str
    anchor: str | None  # "#id" on this page, for a term of the ontology graph
    href: str | None  # where the text links to


@dataclass
class Example:
    query: str
    origin: str  # "queries/NAME.rq" or "generated"
    title: str
    ui_href: str
    rows: str | None = None  # what it answers on this build ("3 rows", "true"); None: not run
    error: str | None = None


@dataclass
class Term:
    iri: str
    anchor: str
    curie: str
    label: str
    section: str
    page_href: str | None
    types: list[Link] = field(default_factory=list)
    definition: list[str] = field(default_factory=list)
    comment: list[str] = field(default_factory=list)
    pref_labels: list[str] = field(default_factory=list)
    alt_labels: list[str] = field(default_factory=list)
    characteristics: list[str] = field(default_factory=list)
    domain: list[Link] = field(default_factory=list)
    range: list[Link] = field(default_factory=list)
    supers: list[Link] = field(default_factory=list)
    subs: list[Link] = field(default_factory=list)
    in_domain_of: list[Link] = field(default_factory=list)
    in_range_of: list[Link] = field(default_factory=list)
    members: list[Link] = field(default_factory=list)  # individuals of a class, concepts of a scheme
    schemes: list[Link] = field(default_factory=list)
    other: list[tuple[Link, str]] = field(default_factory=list)  # further statements (predicate, value text)
    example: Example | None = None


def curie(iri: str) -> str:
    for namespace, prefix in SCHEMA_PREFIXES:
        if iri.startswith(namespace) and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", iri[len(namespace):]):
            return f"{prefix}:{iri[len(namespace):]}"
    return f"<{iri}>"


def anchor_of(iri: str) -> str:
    """The fragment id of a term: its local name for an mrkg: term (/ontology/#hasAdverseEffect), else its CURIE."""
    if iri.startswith(NS) and re.fullmatch(r"[A-Za-z0-9_-]+", iri[len(NS):]):
        return iri[len(NS):]
    return re.sub(r"[^A-Za-z0-9_-]+", "-", curie(iri)).strip("-")


def page_href(iri: str) -> str | None:
    """The HTML view of an IRI, relative to /ontology/: our own pages for the dataset's IRIs, http(s) IRIs as such."""
    if iri.startswith(BASE) and not iri[len(BASE):].startswith(("/", "\\")):
        return "../" + iri[len(BASE):]
    return iri if re.match(r"https?://", iri) else None


def _texts(g: Graph, s: URIRef, p: URIRef) -> list[str]:
    values = [o for o in g.objects(s, p) if isinstance(o, Literal)]
    english = [o for o in values if o.language in (None, "en")]
    return sorted(str(o) for o in (english or values))


def _term_pattern(iri: str) -> re.Pattern:
    local = curie(iri)
    forms = [re.escape("<" + iri + ">")]
    if not local.startswith("<"):
        forms.append(re.escape(local) + r"(?![A-Za-z0-9_.-]*[A-Za-z0-9_-])")
    return re.compile("(?<![A-Za-z0-9_])(?:" + "|".join(forms) + ")")


def ui_href(query: str) -> str:
    """The query UI (relative to /ontology/) with ``query`` filled in and run."""
    return "../?" + urllib.parse.urlencode({"query": query})


def _prefix_lines(query: str) -> str:
    used = sorted({p for p in re.findall(r"(?<![A-Za-z0-9_<])([a-z][a-z0-9]*):[A-Za-z_]", query)
                   if p in PREFIXES})
    return "".join(f"PREFIX {p}: <{PREFIXES[p]}>\n" for p in used)


def generated_example(term: Term, g: Graph) -> tuple[str, str]:
    """A small real query for a term no competency question uses: (title, query)."""
    c = term.curie
    iri = URIRef(term.iri)
    if term.section == "classes":
        has_subs = any(True for _ in g.subjects(RDFS.subClassOf, iri))
        type_path = "a/rdfs:subClassOf*" if has_subs else "a"
        body = (f"SELECT ?thing ?label WHERE {{\n  ?thing {type_path} {c} .\n"
                f"  OPTIONAL {{ ?thing rdfs:label|skos:prefLabel ?label }}\n}}\nORDER BY ?thing LIMIT {ROW_LIMIT}\n")
        return f"Things of the class {term.label}{' (or a subclass)' if has_subs else ''}", body
    if term.section in ("object-properties", "datatype-properties", "annotation-properties"):
        has_subs = any(True for _ in g.subjects(RDFS.subPropertyOf, iri))
        if has_subs:
            body = (f"SELECT ?property (COUNT(*) AS ?statements) WHERE {{\n  ?property rdfs:subPropertyOf* {c} .\n"
                    f"  ?subject ?property ?value .\n}}\nGROUP BY ?property ORDER BY DESC(?statements) ?property\n")
            return f"Statements made with {term.label} or one of its sub-properties, per property", body
        body = (f"SELECT ?subject ?value WHERE {{\n  ?subject {c} ?value .\n}}\n"
                f"ORDER BY ?subject ?value LIMIT {ROW_LIMIT}\n")
        return f"What {term.label} relates", body
    if term.section == "schemes":
        body = (f"SELECT ?concept ?label ?definition WHERE {{\n  ?concept skos:inScheme {c} ; skos:prefLabel ?label .\n"
                f"  OPTIONAL {{ ?concept skos:definition ?definition }}\n}}\nORDER BY ?label ?concept\n")
        return f"The entries of {term.label}", body
    body = (f"SELECT ?property (COUNT(?subject) AS ?uses) WHERE {{\n  ?subject ?property {c} .\n"
            f"  FILTER(?property != rdf:type)\n}}\nGROUP BY ?property ORDER BY DESC(?uses) ?property\n")
    return f"Where {term.label} is used as a value, per property", body


def collect_terms(g: Graph, queries: list | None = None) -> list[Term]:
    """Every term of the ontology graph: each IRI with an rdf:type other than the ontology itself."""
    ontology = URIRef(ONTOLOGY)
    labels: dict[str, str] = {}
    terms: dict[str, Term] = {}
    for s in sorted(set(g.subjects(RDF.type)), key=str):
        if not isinstance(s, URIRef) or s == ontology or (s, RDF.type, OWL.Ontology) in g:
            continue
        types = set(g.objects(s, RDF.type))
        section = next((sid for sid, _, kinds in SECTIONS if types & set(kinds)), None)
        if section is None:
            # typed only by one of our classes (the values of mrkg:Certainty...): an individual
            section = "individuals"
        label = (_texts(g, s, RDFS.label) or _texts(g, s, SKOS.prefLabel) or [curie(str(s))])[0]
        labels[str(s)] = label
        terms[str(s)] = Term(str(s), anchor_of(str(s)), curie(str(s)), label, section, page_href(str(s)))

    def link(node) -> Link:
        iri = str(node)
        if isinstance(node, BNode):
            return Link(iri, "(an anonymous class)", None, None)
        if iri in terms:
            return Link(iri, labels[iri], "#" + terms[iri].anchor, "#" + terms[iri].anchor)
        return Link(iri, curie(iri), None, page_href(iri))

    def links(nodes) -> list[Link]:
        return sorted((link(n) for n in set(nodes)), key=lambda k: (k.text.lower(), k.iri))

    shown = {RDF.type, RDFS.label, SKOS.definition, RDFS.comment, SKOS.prefLabel, SKOS.altLabel, RDFS.domain,
             RDFS.range, RDFS.subClassOf, RDFS.subPropertyOf, SKOS.broader, SKOS.narrower, SKOS.inScheme}
    for iri, term in terms.items():
        s = URIRef(iri)
        types = set(g.objects(s, RDF.type))
        term.types = links(t for t in types if t not in CHARACTERISTICS)
        term.characteristics = sorted(CHARACTERISTICS[t] for t in types if t in CHARACTERISTICS)
        term.definition = _texts(g, s, SKOS.definition)
        term.comment = _texts(g, s, RDFS.comment)
        term.pref_labels = _texts(g, s, SKOS.prefLabel)
        term.alt_labels = _texts(g, s, SKOS.altLabel)
        term.domain = links(g.objects(s, RDFS.domain))
        term.range = links(g.objects(s, RDFS.range))
        term.supers = links([*g.objects(s, RDFS.subClassOf), *g.objects(s, RDFS.subPropertyOf),
                             *g.objects(s, SKOS.broader)])
        term.subs = links([*g.subjects(RDFS.subClassOf, s), *g.subjects(RDFS.subPropertyOf, s),
                           *g.subjects(SKOS.broader, s), *g.objects(s, SKOS.narrower)])
        term.in_domain_of = links(g.subjects(RDFS.domain, s))
        term.in_range_of = links(g.subjects(RDFS.range, s))
        term.members = links([*(m for m in g.subjects(RDF.type, s) if str(m) in terms), *g.subjects(SKOS.inScheme, s)])
        term.schemes = links(g.objects(s, SKOS.inScheme))
        term.other = sorted(((link(p), str(o) if isinstance(o, Literal) else curie(str(o)))
                             for p, o in g.predicate_objects(s) if p not in shown),
                            key=lambda item: (item[0].text, item[1]))
        term.example = pick_example(term, g, queries or [])
    order = {sid: i for i, (sid, _, _) in enumerate(SECTIONS)}
    return sorted(terms.values(), key=lambda t: (order[t.section], t.label.lower(), t.iri))


def pick_example(term: Term, g: Graph, queries: list) -> Example:
    """The shortest competency question that names the term, else a generated query."""
    pattern = _term_pattern(term.iri)
    using = sorted((q for q in queries if pattern.search(_strip_comments(q.text))), key=lambda q: (len(q.text), q.name))
    if using:
        q = using[0]
        return Example(q.text, f"queries/{q.name}.rq", q.title, ui_href(q.text))
    title, body = generated_example(term, g)
    text = _prefix_lines(body) + body
    return Example(text, "generated", title, ui_href(text))


def _strip_comments(query: str) -> str:
    return "\n".join(line for line in query.splitlines() if not line.lstrip().startswith("#"))


def answer_text(result) -> str:
    """What a query answers, in words: "3 rows", "1 row", "true", "12 triples"."""
    import pyoxigraph as ox

    if isinstance(result, ox.QueryBoolean):
        return "true" if bool(result) else "false"
    n = sum(1 for _ in result)
    unit = "triple" if isinstance(result, ox.QueryTriples) else "row"
    return f"{n} {unit}{'' if n == 1 else 's'}"


def count_rows(terms: list[Term], quads=None, answers: dict | None = None) -> dict:
    """Run every example on this build (pyoxigraph, the default graph the union of all graphs, as /sparql); with
    ``answers`` (what an earlier call returned: query -> (rows, error)), no store is made for the queries it has."""
    import pyoxigraph as ox

    cache: dict[str, tuple[str | None, str | None]] = dict(answers or {})
    store = None
    for term in terms:
        ex = term.example
        if ex.query not in cache:
            if store is None:
                store = ox.Store()
                store.bulk_extend(quads or ())
            try:
                cache[ex.query] = (answer_text(store.query(ex.query, use_default_graph_as_union=True)), None)
            except (SyntaxError, OSError, ValueError) as exc:
                cache[ex.query] = (None, str(exc).splitlines()[0])
        ex.rows, ex.error = cache[ex.query]
    return cache


def example_answers(g: Graph, queries_dir: Path | None, quads) -> dict:
    """What every example of the reference page of ``g`` answers on ``quads`` (query -> (rows, error)), for
    ``render_reference(..., answers=)``: the build counts them while no dump is held, then drops the store."""
    from .queries import read_queries

    queries = read_queries(queries_dir) if queries_dir and queries_dir.is_dir() else []
    return count_rows(collect_terms(g, queries), quads)


def render_reference(g: Graph, version: str, queries_dir: Path | None = None, quads=None,
                     answers: dict | None = None) -> str:
    """The reference page of the ontology graph ``g``; with ``quads`` (the whole build) or ``answers`` (their
    example_answers), each example is run once and its row count shown."""
    from .queries import read_queries

    queries = read_queries(queries_dir) if queries_dir and queries_dir.is_dir() else []
    terms = collect_terms(g, queries)
    with_rows = quads is not None or answers is not None
    if with_rows:
        count_rows(terms, quads, answers)
    ontology = URIRef(ONTOLOGY)
    meta = {
        "iri": ONTOLOGY,
        "title": (_texts(g, ontology, DCTERMS.title) or _texts(g, ontology, RDFS.label) or ["mrkg ontology"])[0],
        "description": _texts(g, ontology, DCTERMS.description) or _texts(g, ontology, RDFS.comment),
        "version": (_texts(g, ontology, OWL.versionInfo) or [version])[0],
        "version_iri": next((str(o) for o in g.objects(ontology, OWL.versionIRI)), None),
        "license": next((str(o) for o in g.objects(ontology, DCTERMS.license)), None),
    }
    sections = [(sid, heading, [t for t in terms if t.section == sid]) for sid, heading, _ in SECTIONS]
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env.get_template("ontology.html").render(meta=meta, sections=[s for s in sections if s[2]],
                                                    terms=terms, dataset_version=version,
                                                    with_rows=with_rows)


def ontology_graph(dataset) -> Graph:
    """The ontology graph of a build's QuadSet as an rdflib Graph."""
    from .namespaces import GRAPH_ONTOLOGY

    g = Graph()
    for triple in dataset.graph(GRAPH_ONTOLOGY):
        g.add(triple)
    return g
