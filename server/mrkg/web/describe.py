"""Self-description: the SPARQL Service Description (GET /sparql without a query) and VoID (GET /void)."""

from __future__ import annotations

from flask import Blueprint, Response, request
from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from ..engine.formats import GRAPH_FORMATS, RESULT_FORMATS, choose, content_type, describe_choices, prefers
from ..engine.results import write_graph
from ..namespaces import DATASET
from .service import PREFIX_MAP, service
from .voidgraph import DCT_LICENSE, DEFAULT_LICENSE, OWL_VERSION, RDF_TYPE, SD, VOID, XSD_INTEGER, _void_triples, void
from .ops import text_response

bp = Blueprint("describe", __name__)

RDFS_COMMENT = NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
RDFS_SEEALSO = NamedNode("http://www.w3.org/2000/01/rdf-schema#seeAlso")
HTML = "text/html"


def sd(term: str) -> NamedNode:
    return NamedNode(SD + term)


def _licence(void_triples: list[Triple]) -> str:
    for triple in void_triples:
        if triple.predicate == DCT_LICENSE and triple.subject == NamedNode(DATASET):
            return triple.object.value
    return DEFAULT_LICENSE


def _negotiated(triples: list[Triple], *, html_ok: bool) -> Response:
    formats = GRAPH_FORMATS
    if (request.args.get("format") or "").strip().lower() in {"html", "text/html"}:  # the page for a browser
        from .resolve import triples_view

        return triples_view("sd" if html_ok else "void", triples)
    accept = request.headers.get("Accept")
    picked = choose(accept, request.args.get("format"), formats)
    if html_ok and not request.args.get("format") and prefers(accept, HTML, formats):
            from .ui import index

            response = index()
            response.headers["Vary"] = "Accept"
            return response
    if picked is None:
        return text_response(406, f"No acceptable format; available: {describe_choices(formats)}.")
    fmt, media_type = picked
    body = write_graph(triples, fmt.key, PREFIX_MAP | {"sd": SD, "void": VOID})
    return Response(body, content_type=content_type(media_type, fmt),
                    headers={"Vary": "Accept", "ETag": f'"{service().release.etag}-{fmt.key}"'})


def service_description() -> Response:
    svc = service()
    endpoint = NamedNode(request.base_url)
    dataset = NamedNode(DATASET)
    described = BlankNode()
    default_graph = BlankNode()
    s = svc.settings
    triples = [
        Triple(endpoint, RDF_TYPE, sd("Service")),
        Triple(endpoint, sd("endpoint"), endpoint),
        Triple(endpoint, sd("supportedLanguage"), sd("SPARQL11Query")),
        Triple(endpoint, sd("feature"), sd("UnionDefaultGraph")),
        Triple(endpoint, sd("defaultEntailmentRegime"), NamedNode("http://www.w3.org/ns/entailment/Simple")),
        Triple(endpoint, sd("defaultDataset"), described),
        Triple(endpoint, RDFS_SEEALSO, NamedNode(request.host_url + "void")),
        Triple(endpoint, RDFS_COMMENT, Literal(
            "Read-only SPARQL 1.1 Query endpoint of mrkg. The default graph is the union of all named graphs; "
            "FROM / FROM NAMED / default-graph-uri / named-graph-uri select among the local named graphs only "
            "(an unknown graph is empty, nothing is fetched). SERVICE and SPARQL Update are refused. "
            f"Limits: {s['query_timeout']:g} s per query (503 when exceeded), at most {s['max_rows']} result rows "
            "(response header MRKG-Truncated: true when cut), "
            f"{s['max_query_chars']} query characters, OFFSET {s['max_offset']}, {s['max_body_bytes']} body bytes, "
            f"{s['workers']} queries evaluated at once.", language="en")),
        Triple(described, RDF_TYPE, sd("Dataset")),
        Triple(described, sd("defaultGraph"), default_graph),
        Triple(described, RDFS_SEEALSO, dataset),
        Triple(default_graph, RDF_TYPE, sd("Graph")),
        Triple(default_graph, void("triples"), Literal(str(sum(svc.graphs.values())), datatype=XSD_INTEGER)),
        Triple(default_graph, RDFS_COMMENT, Literal("The union of all named graphs.", language="en")),
        Triple(dataset, OWL_VERSION, Literal(svc.release.version)),
        Triple(dataset, DCT_LICENSE, NamedNode(_licence(_void_triples()))),
        Triple(dataset, void("sparqlEndpoint"), endpoint),
    ]
    for fmt in RESULT_FORMATS + GRAPH_FORMATS:
        triples.append(Triple(endpoint, sd("resultFormat"), NamedNode(fmt.w3c)))
    for name, count in sorted(svc.graphs.items()):
        named, graph = BlankNode(), BlankNode()
        triples += [Triple(described, sd("namedGraph"), named), Triple(named, RDF_TYPE, sd("NamedGraph")),
                    Triple(named, sd("name"), NamedNode(name)), Triple(named, sd("graph"), graph),
                    Triple(graph, RDF_TYPE, sd("Graph")),
                    Triple(graph, void("triples"), Literal(str(count), datatype=XSD_INTEGER))]
    return _negotiated(triples, html_ok=True)


@bp.get("/void")
@bp.get("/.well-known/void")
def void_description() -> Response:
    if not request.args.get("format") and prefers(request.headers.get("Accept"), HTML, GRAPH_FORMATS):
        from .resolve import triples_view  # a browser: the description as a page (RDF clients get RDF)

        return triples_view("void", _void_triples())
    return _negotiated(_void_triples(), html_ok=False)
