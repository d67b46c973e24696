"""Real clients against a real `mrkg serve`, for every engine: SPARQLWrapper, rdflib's SPARQLStore, curl."""

from __future__ import annotations

import subprocess

import pytest
from conftest import BULK_GRAPH, BULK_SIZE, require_tool

DRUGS = "PREFIX mrkg: <https://w3id.org/mrkg/ontology/> SELECT ?d WHERE { ?d a mrkg:Drug } ORDER BY ?d"
BACLOFEN = "https://w3id.org/mrkg/entity/baclofen"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select_json(live_server, method):
    from SPARQLWrapper import JSON, SPARQLWrapper

    client = SPARQLWrapper(live_server.endpoint)
    client.setMethod(method)
    client.setQuery(DRUGS)
    client.setReturnFormat(JSON)
    result = client.query().convert()
    assert [b["d"]["value"] for b in result["results"]["bindings"]] == [BACLOFEN,
                                                                       "https://w3id.org/mrkg/entity/cyclobenzaprine"]


def test_sparqlwrapper_select_xml(live_server):
    from SPARQLWrapper import XML, SPARQLWrapper

    client = SPARQLWrapper(live_server.endpoint)
    client.setQuery(DRUGS)
    client.setReturnFormat(XML)
    document = client.query().convert()
    assert len(document.getElementsByTagName("result")) == 2


def test_sparqlwrapper_ask(live_server):
    from SPARQLWrapper import JSON, SPARQLWrapper

    client = SPARQLWrapper(live_server.endpoint)
    client.setQuery(f"ASK {{ <{BACLOFEN}> ?p ?o }}")
    client.setReturnFormat(JSON)
    assert client.query().convert()["boolean"] is True


def test_sparqlwrapper_construct_turtle(live_server):
    from SPARQLWrapper import TURTLE, SPARQLWrapper

    client = SPARQLWrapper(live_server.endpoint)
    client.setQuery(f"CONSTRUCT {{ <{BACLOFEN}> ?p ?o }} WHERE {{ <{BACLOFEN}> ?p ?o }}")
    client.setReturnFormat(TURTLE)
    assert b"Lioresal" in client.query().convert()


def test_sparqlwrapper_default_graph(live_server):
    from SPARQLWrapper import JSON, SPARQLWrapper

    client = SPARQLWrapper(live_server.endpoint, defaultGraph=BULK_GRAPH)
    client.setQuery("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    client.setReturnFormat(JSON)
    assert client.query().convert()["results"]["bindings"][0]["n"]["value"] == str(BULK_SIZE)


def test_sparqlwrapper_update_refused(live_server):
    import urllib.error

    from SPARQLWrapper import POST, SPARQLWrapper

    client = SPARQLWrapper(live_server.endpoint)
    client.setMethod(POST)
    client.setQuery("INSERT DATA { <urn:a> <urn:b> <urn:c> }")
    assert client.isSparqlUpdateRequest()  # sent as update=..., the SPARQL 1.1 Update protocol
    # SPARQLWrapper raises its own exceptions for 400, 401, 404, 414 and 500 only; a 403 comes as urllib's HTTPError.
    with pytest.raises(urllib.error.HTTPError) as info:
        client.query()
    assert info.value.code == 403
    assert info.value.read().decode() == "This endpoint is read-only: SPARQL Update is not accepted (no update= " \
                                          "parameter, no application/sparql-update body).\n"


def test_rdflib_sparqlstore(live_server):
    from rdflib import Graph, URIRef
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    graph = Graph(store=SPARQLStore(live_server.endpoint, returnFormat="json"))
    rows = list(graph.query(DRUGS))
    assert [row.d for row in rows] == [URIRef(BACLOFEN), URIRef("https://w3id.org/mrkg/entity/cyclobenzaprine")]
    assert graph.query(f"ASK {{ <{BACLOFEN}> ?p ?o }}").askAnswer is True
    labels = {str(o) for o in graph.objects(URIRef(BACLOFEN), URIRef("http://www.w3.org/2000/01/rdf-schema#label"))}
    assert labels == {"baclofen"}


@pytest.fixture
def curl() -> str:
    return require_tool("curl", package="curl")[0]


def _curl(curl: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([curl, "-sS", *args], capture_output=True, text=True, timeout=30)


def test_curl_get_csv(live_server, curl):
    done = _curl(curl, "-f", "-H", "Accept: text/csv", "--data-urlencode", f"query={DRUGS}", "-G", live_server.endpoint)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["d", BACLOFEN, "https://w3id.org/mrkg/entity/cyclobenzaprine"]


def test_curl_post_direct(live_server, curl):
    done = _curl(curl, "-f", "-H", "Content-Type: application/sparql-query", "-H", "Accept: text/tab-separated-values",
                 "--data-binary", DRUGS, live_server.endpoint)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == f"<{BACLOFEN}>"


def test_curl_post_form_dataset(live_server, curl):
    done = _curl(curl, "-f", "--data-urlencode", "query=SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                 "--data-urlencode", f"default-graph-uri={BULK_GRAPH}", "-H", "Accept: text/csv", live_server.endpoint)
    assert done.stdout.splitlines() == ["n", str(BULK_SIZE)]


def test_curl_conditional_get_304(live_server, curl):
    first = _curl(curl, "-i", "-G", "--data-urlencode", f"query={DRUGS}", live_server.endpoint)
    etag = next(line.split(":", 1)[1].strip() for line in first.stdout.splitlines() if line.lower().startswith("etag:"))
    again = _curl(curl, "-o", "/dev/null", "-w", "%{http_code}", "-H", f"If-None-Match: {etag}", "-G",
                  "--data-urlencode", f"query={DRUGS}", live_server.endpoint)
    assert again.stdout == "304"


def test_curl_update_refused(live_server, curl):
    done = _curl(curl, "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/sparql-update",
                 "--data-binary", "CLEAR ALL", live_server.endpoint)
    assert done.stdout == "403"
