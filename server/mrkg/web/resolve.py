"""Every IRI of the dataset's namespace answers: the IRIs that pages.py does not serve (the ontology itself, the
dataset and its subsets as VoID/DCAT name them, the named graphs, the SHACL shapes) and index pages per kind
(/entity/, /source/, /conflict/...), each as HTML for browsers or RDF by content negotiation (``Accept`` or
``format=``). Also the HTML view of VoID and of the Service Description (``format=html``)."""

from __future__ import annotations

import functools
import urllib.parse

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, parse

from ..engine import EngineError
from ..engine.formats import GRAPH_FORMATS, by_name, content_type, describe_choices, negotiate, prefers
from ..engine.results import write_graph
from ..namespaces import BASE, DATASET
from .service import PACKAGE_DIR, PREFIX_MAP, service
from .voidgraph import _void_triples
from .ops import text_response
from .pages import HTML, PAGE_FORMATS, compact
from .search import index as search_index
from .ui import local_href

bp = Blueprint("resolve", __name__)

SHAPES_DIR = PACKAGE_DIR.parents[1] / "shapes"  # the repository's shapes/ (absent from an installed wheel)
SHAPES = BASE + "shapes"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
XSD_INTEGER = NamedNode("http://www.w3.org/2001/XMLSchema#integer")
EXTRA_PREFIXES = {"sd": SD, "sh": "http://www.w3.org/ns/shacl#", "mrkgsh": BASE + "shapes/",
                  "dataset": BASE + "dataset/", "spdx": "http://spdx.org/rdf/terms#"}
GRAPH_ROLES = {
    "ontology": "the mrkg ontology: classes, properties and individuals with their labels and definitions",
    "entities": "the entities (drugs, classes, conditions, effects...) with their labels and synonyms",
    "mappings": "the external identifiers of the entities, each mapping with its evidence",
    "asserted": "the plain triple (subject predicate object) of every affirmed claim, so simple questions stay "
                "one line",
    "conflicts": "the places where sources disagree: each conflict with the claims on either side",
    "consensus": "the consensus view: one node per statement, with the sources that affirm, negate or hedge it, "
                 "the values each gives and whether it is disputed",
}
# Index pages: kind -> (title, the IRIs' prefix, what they are)
INDEXES = {
    "entity": ("Entities", BASE + "entity/", "drugs, drug classes, conditions, effects and the other things the "
                                             "sources speak of"),
    "source": ("Sources", BASE + "source/", "the source documents the claims come from"),
    "conflict": ("Conflicts", BASE + "conflict/", "the places where sources disagree (the graph does not decide "
                                                  "who is right)"),
    "claim": ("Claims", BASE + "claim/", "every statement of every source, with its quote"),
    "statement": ("Statements", BASE + "statement/", "the consensus view: each statement the sources make, which "
                                                     "sources affirm, negate or hedge it, and whether it is disputed"),
    "mapping": ("Mappings", BASE + "mapping/", "external identifiers of the entities, with their evidence"),
    "activity": ("Activities", BASE + "activity/", "the curation activities the claims were extracted by"),
    "agent": ("Agents", BASE + "agent/", "who curated the claims"),
    "graph": ("Named graphs", BASE + "graph/", "the named graphs of the endpoint; the default graph is their union"),
    "dataset": ("Dataset and subsets", BASE + "dataset/", "the dataset and one subset per named graph (VoID)"),
    "shapes": ("SHACL shapes", BASE + "shapes/", "the shapes every fact is validated against"),
    "ontology": ("Ontology terms", BASE + "ontology/", "the classes, properties and individuals of the mrkg "
                                                      "ontology"),
}


# --- negotiation -------------------------------------------------------------------------------------------------

def _picked():
    wanted = request.args.get("format")
    return by_name(wanted, PAGE_FORMATS) if wanted else negotiate(request.headers.get("Accept"), PAGE_FORMATS)


def negotiated(triples: list[Triple], html) -> Response:
    """HTML (``html()``, a string) or ``triples`` in the RDF format the client asked for."""
    picked = _picked()
    if picked is None:
        return text_response(406, f"No acceptable format; available: {describe_choices(PAGE_FORMATS)}.")
    fmt, media_type = picked
    headers = {"Vary": "Accept", "ETag": f'"{service().release.etag[:16]}-{fmt.key}"'}
    if request.if_none_match and headers["ETag"].strip('"') in request.if_none_match:
        return Response(status=304, headers=headers)
    if fmt is HTML:
        return Response(html(), mimetype="text/html", headers=headers)
    body = write_graph(triples, fmt.key, PREFIX_MAP | EXTRA_PREFIXES)
    return Response(body, content_type=content_type(media_type, fmt), headers=headers)


def _term(term) -> dict:
    """A pyoxigraph term as a SPARQL JSON term (what the page template shows)."""
    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    return out


def short(iri: str) -> str:
    """``iri`` as prefix:name, with the prefixes of these pages too (sh:, sd:, mrkgsh:...)."""
    for prefix, namespace in (PREFIX_MAP | EXTRA_PREFIXES).items():
        rest = iri[len(namespace):]
        if iri.startswith(namespace) and rest and "/" not in rest and "#" not in rest:
            return f"{prefix}:{rest}"
    return iri


def name(iri: str) -> str:
    idx = search_index()
    if iri in idx.labels:
        return idx.labels[iri]
    return short(iri)


def _subjects(triples: list[Triple], first: str | None) -> list[tuple[dict, list[tuple[str, dict]]]]:
    """The triples grouped by subject (``first`` first, then IRIs, then blank nodes), objects as JSON terms."""
    grouped: dict = {}
    for t in triples:
        grouped.setdefault(t.subject, []).append((t.predicate.value, _term(t.object)))
    order = sorted(grouped, key=lambda s: (s.value != first, isinstance(s, BlankNode), s.value))
    return [(_term(s), sorted(grouped[s], key=lambda po: (po[0] != RDF_TYPE, po[0], po[1]["value"])))
            for s in order]


def render_triples(title: str, iri: str | None, triples: list[Triple], *, intro: str = "", links=(),
                   rdf_formats=True) -> str:
    return render_template("resource.html", svc=service(), title=title, iri=iri, intro=intro, links=list(links),
                           subjects=_subjects(triples, iri), name=name, href=local_href, compact=short,
                           formats=GRAPH_FORMATS if rdf_formats else ())


def query_link(query: str) -> str:
    return url_for("ui.index") + "?" + urllib.parse.urlencode({"query": query})


# --- the ontology IRI itself (pages.py serves the terms below it) -----------------------------------------------

@bp.get("/ontology")
def ontology() -> Response:
    from . import pages

    iri = BASE + "ontology"
    picked = _picked()
    if picked is None:
        return text_response(406, f"No acceptable format; available: {describe_choices(PAGE_FORMATS)}.")
    try:
        return pages._html(iri) if picked[0] is HTML else pages._rdf(iri, *picked)
    except EngineError as exc:
        return text_response(exc.status, exc.message)


# --- the dataset (VoID / DCAT) ----------------------------------------------------------------------------------

def _describing(triples: list[Triple], iri: str) -> list[Triple]:
    """The triples about ``iri`` and the blank nodes they lead to."""
    out, todo, seen = [], [NamedNode(iri)], set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for t in triples:
            if t.subject == node:
                out.append(t)
                if isinstance(t.object, BlankNode):
                    todo.append(t.object)
    return out


@bp.get("/dataset")
@bp.get("/dataset/<path:rest>")
def dataset(rest: str = "") -> Response:

    iri = f"{DATASET}/{rest}" if rest else DATASET
    triples = _describing(_void_triples(), iri)
    if not triples:
        abort(404)
    if rest:
        intro = "A subset of the dataset: one named graph, as the VoID description counts it."
        links = [("The named graph: what it holds, links to query it", f"/graph/{rest}"),
                 ("The whole dataset", "/dataset")]
    else:
        intro = "The dataset as its VoID and DCAT description gives it: version, licence, distributions (the " \
                "downloads) and one subset per named graph."
        links = [("Its named graphs", "/graph/"), ("The downloads, with checksums", url_for("downloads.listing"))]
    return negotiated(triples, lambda: render_triples(name(iri) if iri in search_index().labels else
                                                      ("mrkg dataset" if not rest else f"dataset subset {rest}"),
                                                      iri, triples, intro=intro, links=links))


# --- named graphs ------------------------------------------------------------------------------------------------

def graph_role(rest: str) -> str:
    if rest.startswith("source/"):
        number = rest.split("/", 1)[1]
        title = search_index().labels.get(BASE + "source/" + number)
        return f"the claims of source {number}" + (f" ({title})" if title else "") + \
            ": each with its quote, polarity, certainty, qualifiers, values and Web Annotation"
    return GRAPH_ROLES.get(rest, "")


@bp.get("/graph/<path:rest>")
def graph(rest: str) -> Response:
    iri = BASE + "graph/" + rest
    graphs = service().graphs
    if iri not in graphs:
        abort(404)
    role = graph_role(rest)
    node = NamedNode(iri)
    triples = [Triple(node, NamedNode(RDF_TYPE), NamedNode(SD + "NamedGraph")),
               Triple(node, NamedNode(SD + "name"), node),
               Triple(node, NamedNode(VOID + "triples"), Literal(str(graphs[iri]), datatype=XSD_INTEGER)),
               Triple(node, NamedNode(RDFS + "seeAlso"), NamedNode(f"{DATASET}/{rest}"))]
    if role:
        triples.append(Triple(node, NamedNode(RDFS + "comment"), Literal(f"Named graph of mrkg: {role}.",
                                                                         language="en")))
    sample = f"SELECT ?s ?p ?o WHERE {{\n  GRAPH <{iri}> {{ ?s ?p ?o }}\n}} LIMIT 100\n"
    counts = f"SELECT ?p (COUNT(*) AS ?n) WHERE {{\n  GRAPH <{iri}> {{ ?s ?p ?o }}\n}} GROUP BY ?p ORDER BY DESC(?n)\n"
    links = [("Its triples (the first 100), in the query page", query_link(sample)),
             ("Its properties and how often each is used", query_link(counts)),
             ("The whole dataset as a download (TriG, N-Quads keep the graphs)", url_for("downloads.listing"))]
    intro = f"A named graph holding {role}; {graphs[iri]:,} triples." if role else \
        f"A named graph of {graphs[iri]:,} triples."
    return negotiated(triples, lambda: render_triples(f"graph {rest}", iri, triples, intro=intro, links=links))


# --- SHACL shapes ------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def shape_triples() -> tuple[Triple, ...]:
    triples: list[Triple] = []
    if SHAPES_DIR.is_dir():
        for path in sorted(SHAPES_DIR.glob("*.ttl")):
            triples += [Triple(q.subject, q.predicate, q.object) for q in parse(path=str(path),
                                                                                format=RdfFormat.TURTLE)]
    return tuple(triples)


@bp.get("/shapes")
@bp.get("/shapes/<path:rest>")
def shapes(rest: str = "") -> Response:
    iri = f"{SHAPES}/{rest}" if rest else SHAPES
    every = list(shape_triples())
    triples = _describing(every, iri)
    if not triples:
        if not rest and every:  # the shapes graph itself (the sh:prefixes node): list the shapes
            return index_page("shapes")
        abort(404)
    targets = sorted({t.object.value for t in triples if t.predicate.value.endswith("#targetClass")})
    links = [(f"Instances of {compact(c)} in the query page",
              query_link(f"SELECT ?x WHERE {{ ?x a <{c}> }} LIMIT 100\n")) for c in targets]
    links.append(("All shapes", "/shapes/"))
    title = next((t.object.value for t in triples if t.subject == NamedNode(iri)
                  and t.predicate.value == RDFS + "label"), rest or "shapes")
    return negotiated(triples, lambda: render_triples(title, iri, triples, links=links,
                                                      intro="A SHACL shape: the constraints `mrkg validate` and "
                                                            "`mrkg build` check the facts against."))


# --- index pages -------------------------------------------------------------------------------------------------

def _members(kind: str) -> list[str]:
    prefix = INDEXES[kind][1]
    if kind == "graph":
        return sorted(service().graphs)
    if kind == "dataset":
    
        return sorted({t.subject.value for t in _void_triples() if isinstance(t.subject, NamedNode)
                       and t.subject.value.startswith(DATASET)})
    if kind == "shapes":
        return sorted({t.subject.value for t in shape_triples() if isinstance(t.subject, NamedNode)
                       and t.subject.value.startswith(prefix) and t.predicate.value == RDF_TYPE
                       and t.object.value.endswith("#NodeShape")})
    return [i for i in search_index().subjects if i.startswith(prefix) and "/" not in i[len(prefix):]]


@bp.get("/<any(" + ", ".join(INDEXES) + "):kind>/")
def index_page(kind: str) -> Response:
    title, prefix, what = INDEXES[kind]
    reference = current_app.view_functions.get("reference.reference")  # the ontology reference page, where built
    if kind == "ontology" and reference is not None and not request.args.get("format") \
            and prefers(request.headers.get("Accept"), "text/html", GRAPH_FORMATS):
        response = reference()
        if response.status_code == 200:
            return response
    try:
        members = _members(kind)
    except EngineError as exc:
        return text_response(exc.status, exc.message)
    idx = search_index()
    collection = NamedNode(prefix)
    triples = [Triple(collection, NamedNode(RDFS + "member"), NamedNode(m)) for m in members]
    triples += [Triple(NamedNode(m), NamedNode(RDFS + "label"), Literal(idx.labels[m])) for m in members
                if m in idx.labels]
    counts = service().graphs if kind == "graph" else {}
    rows = [{"iri": m, "href": local_href(m), "label": idx.labels.get(m) or m[len(prefix):] or m,
             "kind": idx.kind(m), "size": counts.get(m)} for m in members]
    if kind in {"entity", "claim", "mapping"}:
        rows.sort(key=lambda r: r["label"].casefold())

    def html() -> str:
        if kind == "conflict":  # filtered by kind and severity (?kind=PolarityConflict&severity=Contradiction)
            from .views import conflict_index_data

            data = conflict_index_data(request.args.get("kind", ""), request.args.get("severity", ""))
            return render_template("conflict_index.html", svc=service(), data=data, name=data["name"],
                                   href=local_href, formats=GRAPH_FORMATS)
        return render_template("listing.html", svc=service(), title=title, what=what, rows=rows, kind=kind,
                               formats=GRAPH_FORMATS)

    return negotiated(triples, html)


@bp.before_app_request
def ontology_namespace_as_rdf():
    """The ontology's namespace IRI (https://w3id.org/mrkg/ontology/, the VoID's void:vocabulary) answers RDF
    clients with RDF even where another view (the ontology reference page, reference.py) serves its HTML."""
    if request.endpoint == "reference.reference" and request.method in {"GET", "HEAD"}:
        wanted = request.args.get("format")
        if wanted or not prefers(request.headers.get("Accept"), "text/html", GRAPH_FORMATS):
            return index_page("ontology")
    return None


# --- HTML views of VoID and the Service Description (describe.py calls this for format=html) --------------------

def triples_view(kind: str, triples: list[Triple]) -> Response:
    if kind == "void":
        title, iri = "VoID description of the dataset", DATASET
        intro = "The dataset's VoID and DCAT description, as RDF clients get it from /void (Turtle, RDF/XML, " \
                "JSON-LD...)."
    else:
        title, iri = "SPARQL Service Description", request.base_url
        intro = "What the endpoint at /sparql offers, as SPARQL clients get it from GET /sparql without a query."
    html = render_triples(title, iri, triples, intro=intro)
    return Response(html, mimetype="text/html", headers={"Vary": "Accept"})


def init_app(app) -> None:
    app.register_blueprint(bp)

