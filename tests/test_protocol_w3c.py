"""The W3C SPARQL 1.1 Protocol test suite (shared/conformance/sparql11-protocol) against a real `mrkg serve`,
for every engine. The 7 update_* tests need a writable endpoint and are skipped; everything else must pass."""

from __future__ import annotations

import http.client
import json
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
from conftest import conformance_dir

MF = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
HT = "http://www.w3.org/2011/http#"
CNT = "http://www.w3.org/2011/content#"
HTS = "http://www.w3.org/2011/http-statusCodes#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
READ_ONLY_SKIP = "needs a writable endpoint; mrkg is read-only by design (its bad_update_* tests still run)"
TABULAR = {"application/sparql-results+json", "application/sparql-results+xml", "text/csv",
           "text/tab-separated-values", "application/json", "application/xml", "text/xml"}
BOOLEAN = {"application/sparql-results+json", "application/sparql-results+xml", "application/json",
           "application/xml", "text/xml"}
RDF_TYPES = {"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json",
             "application/trig", "application/n-quads"}


def _manifest_tests() -> list[tuple[str, list[dict]]]:
    from rdflib import Graph, Namespace, URIRef
    from rdflib.collection import Collection

    path = conformance_dir() / "sparql11-protocol" / "manifest.ttl"
    if not path.is_file():
        return []
    graph = Graph().parse(path, format="turtle", publicID="http://www.w3.org/2009/sparql/docs/tests/data-sparql11/protocol/")
    mf, ht, cnt = Namespace(MF), Namespace(HT), Namespace(CNT)
    manifest = next(graph.subjects(URIRef(RDF + "type"), mf.Manifest))
    tests = []
    for test in Collection(graph, graph.value(manifest, mf.entries)):
        name = str(test).rsplit("#", 1)[-1]
        action = graph.value(test, mf.action)
        requests = []
        for req in Collection(graph, graph.value(action, ht.requests)):
            body = graph.value(req, ht.body)
            headers = {}
            header_list = graph.value(req, ht.headers)
            if header_list is not None:
                for header in Collection(graph, header_list):
                    headers[str(graph.value(header, ht.fieldName))] = str(graph.value(header, ht.fieldValue))
            resp = graph.value(req, ht.resp)
            requests.append({
                "method": str(graph.value(req, ht.methodName)),
                "path": str(graph.value(req, ht.absolutePath)),
                "headers": headers,
                "body": None if body is None else (str(graph.value(body, cnt.chars)),
                                                  str(graph.value(body, cnt.characterEncoding) or "UTF-8")),
                "status": {str(s).rsplit("#", 1)[-1] for s in graph.objects(resp, mf.expectedStatus)},
                "format": str(graph.value(resp, mf.expectedFormat) or "") or None,
                "boolean": None if graph.value(resp, mf.expectedBoolean) is None
                else graph.value(resp, mf.expectedBoolean).toPython(),
            })
        tests.append((name, requests))
    return tests


TESTS = _manifest_tests()


def _boolean(media_type: str, body: bytes) -> bool:
    if "json" in media_type:
        return json.loads(body)["boolean"]
    root = ET.fromstring(body)
    return root.find("{http://www.w3.org/2005/sparql-results#}boolean").text.strip() == "true"


def _send(server, request: dict) -> tuple[int, str, bytes]:
    path = request["path"].replace("/sparql/", "/sparql", 1)
    body = None
    if request["body"] is not None:
        chars, encoding = request["body"]
        body = chars.encode(encoding.lower())
    parsed = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        connection.request(request["method"], path, body=body, headers=request["headers"])
        response = connection.getresponse()
        return response.status, (response.getheader("Content-Type") or "").split(";")[0].strip(), response.read()
    finally:
        connection.close()


def test_protocol_manifest_found():
    assert len(TESTS) == 34, "the W3C protocol manifest should hold 34 tests (set MRKG_SHARED?)"


@pytest.mark.parametrize("name,requests", TESTS, ids=[name for name, _ in TESTS])
def test_protocol_w3c(live_server, name, requests):
    if name.startswith("update_"):
        pytest.skip(READ_ONLY_SKIP)
    for request in requests:
        status, media_type, body = _send(live_server, request)
        family = f"StatusCode{status // 100}xx"
        assert family in request["status"], f"{name}: got {status} ({body[:200]!r}), want {request['status']}"
        if request["format"] == "tabular":
            assert media_type in TABULAR, media_type
        elif request["format"] == "boolean":
            assert media_type in BOOLEAN, media_type
        elif request["format"] == "RDF":
            assert media_type in RDF_TYPES, media_type
        if request["boolean"] is not None:
            assert _boolean(media_type, body) is request["boolean"], f"{name}: {body!r}"
