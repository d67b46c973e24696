"""The dataset's VoID description as triples: the build's void.ttl, or (for a folder without one) the essentials
from the service's own figures. Shared by /void (describe) and the dataset pages (resolve)."""

from __future__ import annotations

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, parse

from ..namespaces import BASE, DATASET
from .service import service

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
OWL_VERSION = NamedNode("http://www.w3.org/2002/07/owl#versionInfo")
DCT_LICENSE = NamedNode("http://purl.org/dc/terms/license")
XSD_INTEGER = NamedNode("http://www.w3.org/2001/XMLSchema#integer")
DEFAULT_LICENSE = "https://creativecommons.org/licenses/by/4.0/"


def void(term: str) -> NamedNode:
    return NamedNode(VOID + term)


def _void_triples() -> list[Triple]:
    svc = service()
    folder = svc.release.folder
    path = folder / "void.ttl" if folder else None
    if path and path.is_file():
        return [Triple(q.subject, q.predicate, q.object) for q in parse(path=str(path), format=RdfFormat.TURTLE)]
    dataset = NamedNode(DATASET)
    triples = [Triple(dataset, RDF_TYPE, void("Dataset")),
               Triple(dataset, OWL_VERSION, Literal(svc.release.version)),
               Triple(dataset, DCT_LICENSE, NamedNode(DEFAULT_LICENSE)),
               Triple(dataset, void("sparqlEndpoint"), NamedNode(BASE + "sparql")),
               Triple(dataset, void("triples"), Literal(str(sum(svc.graphs.values())), datatype=XSD_INTEGER))]
    for name, count in sorted(svc.graphs.items()):
        subset = BlankNode()
        triples += [Triple(dataset, void("subset"), subset), Triple(subset, RDF_TYPE, void("Dataset")),
                    Triple(subset, NamedNode(SD + "name"), NamedNode(name)),
                    Triple(subset, void("triples"), Literal(str(count), datatype=XSD_INTEGER))]
    return triples
