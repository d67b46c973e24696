"""The IRIs of mrkg: one base, separate paths for ontology terms, entities, claims, sources and graphs."""

from rdflib import Namespace
from rdflib.namespace import DCAT, DCTERMS, OWL, PROV, RDF, RDFS, SKOS, VOID, XSD

BASE = "https://w3id.org/mrkg/"
MRKG = Namespace(BASE + "ontology/")
ONTOLOGY = BASE + "ontology"
ENT = Namespace(BASE + "entity/")
CLAIM = Namespace(BASE + "claim/")
SRC = Namespace(BASE + "source/")
GRAPH = Namespace(BASE + "graph/")
MAPPING = Namespace(BASE + "mapping/")
CONFLICT = Namespace(BASE + "conflict/")
ACTIVITY = Namespace(BASE + "activity/")
AGENT = Namespace(BASE + "agent/")
DATASET = BASE + "dataset"
DOWNLOAD = Namespace(BASE + "download/")
OA = Namespace("http://www.w3.org/ns/oa#")
SCHEMA = Namespace("http://schema.org/")
OBO = Namespace("http://purl.obolibrary.org/obo/")
ECO_AUTHOR_STATEMENT = OBO["ECO_0000302"]  # author statement used in manual assertion

GRAPH_ONTOLOGY = GRAPH["ontology"]
GRAPH_ENTITIES = GRAPH["entities"]
GRAPH_MAPPINGS = GRAPH["mappings"]
GRAPH_ASSERTED = GRAPH["asserted"]
GRAPH_CONFLICTS = GRAPH["conflicts"]
GRAPH_AGENTS = GRAPH["agents"]  # who extracted the claims: each agent described once, not in every source graph


def source_graph(source_id: str):
    return GRAPH[f"source/{source_id}"]


PREFIXES = {
    "mrkg": MRKG, "ent": ENT, "claim": CLAIM, "src": SRC, "graph": GRAPH, "mapping": MAPPING,
    "conflict": CONFLICT, "rdf": RDF, "rdfs": RDFS, "owl": OWL, "xsd": XSD, "skos": SKOS,
    "prov": PROV, "oa": OA, "dct": DCTERMS, "schema": SCHEMA, "void": VOID, "dcat": DCAT, "obo": OBO,
}

__all__ = [name for name in dir() if name.isupper() or name == "source_graph"]
