"""/sparql, method × condition → status and media type, for every engine (the app fixture is per engine)."""

from __future__ import annotations

import json

import pytest
from conftest import (BULK_GRAPH, BULK_SIZE, ENDPOINT_LIMITS, ENGINES, KASEI, endpoint_settings, http_request,
                      sparql_get, start_server, stop_server)

SELECT = "SELECT ?label WHERE { <https://w3id.org/mrkg/entity/baclofen> rdfs:label ?label }"
CONSTRUCT = "CONSTRUCT { ?d rdfs:label ?l } WHERE { ?d a mrkg:Drug ; rdfs:label ?l }"
DESCRIBE = "DESCRIBE <https://w3id.org/mrkg/entity/baclofen>"
FORM = "application/x-www-form-urlencoded"
RESULT_TYPES = {
    "application/sparql-results+json": "json", "application/sparql-results+xml": "xml",
    "text/csv": "csv", "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {
    "text/turtle": "turtle", "application/n-triples": "ntriples", "application/rdf+xml": "rdfxml",
    "application/ld+json": "jsonld", "application/trig": "trig", "application/n-quads": "nquads",
}


def rows(response) -> list[dict]:
    return json.loads(response.data)["results"]["bindings"]


def count(client, query: str, **params) -> int:
    response = client.get("/sparql", query_string={"query": query, **params})
    assert response.status_code == 200, response.data
    return int(rows(response)[0]["n"]["value"])


# --- query forms and content negotiation -----------------------------------------------------------

def test_get_sparql_select_default_json(client):
    response = client.get("/sparql", query_string={"query": SELECT})
    assert response.status_code == 200
    assert response.mimetype == "application/sparql-results+json"
    assert rows(response) == [{"label": {"type": "literal", "value": "baclofen", "xml:lang": "en"}}]


@pytest.mark.parametrize("media_type", list(RESULT_TYPES))
def test_get_sparql_select_accept(client, media_type):
    response = client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert b"baclofen" in response.data


def _select_solutions(body: bytes, key: str) -> list[tuple[str, str, str | None]]:
    """(variable, value, language) of each binding of a SELECT answer in the results format ``key``."""
    if key == "json":
        return [(name, term["value"], term.get("xml:lang")) for row in json.loads(body)["results"]["bindings"]
                for name, term in row.items()]
    if key == "xml":
        import xml.etree.ElementTree as ET

        ns = "{http://www.w3.org/2005/sparql-results#}"
        return [(b.get("name"), b[0].text, b[0].get("{http://www.w3.org/XML/1998/namespace}lang"))
                for b in ET.fromstring(body).iter(f"{ns}binding")]
    lines = body.decode().splitlines()
    return [(lines[0].lstrip("?"), value, None) for value in lines[1:]]


SELECT_SOLUTIONS = {"json": [("label", "baclofen", "en")], "xml": [("label", "baclofen", "en")],
                    "csv": [("label", "baclofen", None)], "tsv": [("label", '"baclofen"@en', None)]}


@pytest.mark.parametrize("media_type,key", list(RESULT_TYPES.items()))
def test_get_sparql_select_format_param(client, media_type, key):
    response = client.get("/sparql", query_string={"query": SELECT, "format": key},
                          headers={"Accept": "application/sparql-results+xml"})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert _select_solutions(response.data, key) == SELECT_SOLUTIONS[key]


def test_get_sparql_select_accept_q_values(client):
    accept = "application/sparql-results+json;q=0.2, text/csv;q=0.9, application/sparql-results+xml;q=0.5"
    response = client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": accept})
    assert response.mimetype == "text/csv"


def test_get_sparql_select_accept_type_wildcard(client):
    response = client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": "text/*"})
    assert response.mimetype == "text/csv"


def test_get_sparql_select_accept_browser_default(client):
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == "application/xml"  # the results XML, under the name the client asked for


def test_get_sparql_select_accept_unacceptable_406(client):
    response = client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert b"application/sparql-results+json" in response.data


def test_get_sparql_select_accept_q_zero_406(client):
    response = client.get("/sparql", query_string={"query": SELECT},
                          headers={"Accept": "application/sparql-results+json;q=0, image/png"})
    assert response.status_code == 406


def test_get_sparql_select_unknown_format_400(client):
    response = client.get("/sparql", query_string={"query": SELECT, "format": "yaml"})
    assert response.status_code == 400


def test_get_sparql_construct_format_for_select_406(client):
    response = client.get("/sparql", query_string={"query": SELECT, "format": "turtle"})
    assert response.status_code == 406


@pytest.mark.parametrize("media_type", ["application/sparql-results+json", "application/sparql-results+xml"])
def test_get_sparql_ask(client, media_type):
    response = client.get("/sparql", query_string={"query": "ASK { ?s a mrkg:Drug }"}, headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert b"true" in response.data


def test_get_sparql_ask_csv_406(client):
    response = client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Accept": "text/csv"})
    assert response.status_code == 406


@pytest.mark.parametrize("media_type", list(GRAPH_TYPES))
def test_get_sparql_construct_accept(client, media_type):
    response = client.get("/sparql", query_string={"query": CONSTRUCT}, headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert b"cyclobenzaprine" in response.data


RDF_FORMATS = {"turtle": "TURTLE", "ntriples": "N_TRIPLES", "rdfxml": "RDF_XML", "jsonld": "JSON_LD", "trig": "TRIG",
               "nquads": "N_QUADS"}


def _triples(body: bytes, key: str) -> set[tuple[str, str, str]]:
    """The triples of an RDF answer in the format ``key`` (pyoxigraph's parsers: nothing is fetched)."""
    from pyoxigraph import BlankNode, RdfFormat, parse

    def term(t):
        return "_:" if isinstance(t, BlankNode) else str(t)

    return {(term(q.subject), term(q.predicate), term(q.object))
            for q in parse(body, format=getattr(RdfFormat, RDF_FORMATS[key]))}


CONSTRUCTED = {("<https://w3id.org/mrkg/entity/baclofen>", "<http://www.w3.org/2000/01/rdf-schema#label>", '"baclofen"@en'),
               ("<https://w3id.org/mrkg/entity/cyclobenzaprine>", "<http://www.w3.org/2000/01/rdf-schema#label>",
                '"cyclobenzaprine"@en')}


@pytest.mark.parametrize("media_type,key", list(GRAPH_TYPES.items()))
def test_get_sparql_construct_format_param(client, media_type, key):
    response = client.get("/sparql", query_string={"query": CONSTRUCT, "format": key})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert _triples(response.data, key) == CONSTRUCTED


def test_get_sparql_construct_default_turtle(client):
    response = client.get("/sparql", query_string={"query": CONSTRUCT}, headers={"Accept": "*/*"})
    assert response.mimetype == "text/turtle"


def test_get_sparql_construct_parses_back(client):
    from pyoxigraph import RdfFormat, parse

    response = client.get("/sparql", query_string={"query": CONSTRUCT, "format": "ntriples"})
    assert len(list(parse(response.data, format=RdfFormat.N_TRIPLES))) == 2


def test_get_sparql_describe_turtle(client):
    response = client.get("/sparql", query_string={"query": DESCRIBE}, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.mimetype == "text/turtle"
    assert b"Lioresal" in response.data


def test_get_sparql_construct_csv_406(client):
    response = client.get("/sparql", query_string={"query": CONSTRUCT}, headers={"Accept": "text/csv"})
    assert response.status_code == 406


# --- the three ways to send a query --------------------------------------------------------------

def test_post_sparql_form(client):
    response = client.post("/sparql", data={"query": SELECT}, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"


def test_post_sparql_direct(client):
    response = client.post("/sparql", data=SELECT.encode(), content_type="application/sparql-query")
    assert response.status_code == 200
    assert response.mimetype == "application/sparql-results+json"


def test_post_sparql_direct_charset_utf8(client):
    response = client.post("/sparql", data=SELECT.encode(), content_type="application/sparql-query; charset=UTF-8")
    assert response.status_code == 200


def test_post_sparql_form_graph_params_in_url(client):
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    response = client.post(f"/sparql?default-graph-uri={BULK_GRAPH}", data={"query": query})
    assert int(rows(response)[0]["n"]["value"]) == BULK_SIZE


def test_post_sparql_unknown_content_type_415(client):
    response = client.post("/sparql", data=SELECT, content_type="text/plain")
    assert response.status_code == 415
    assert response.mimetype == "text/plain"


def test_post_sparql_missing_content_type_415(client):
    response = client.post("/sparql", data=SELECT)
    assert response.status_code == 415


def test_post_sparql_direct_utf16_415(client):
    response = client.post("/sparql", data="ASK {}".encode("utf-16"),
                           content_type="application/sparql-query; charset=UTF-16")
    assert response.status_code == 415


def test_post_sparql_direct_invalid_utf8_400(client):
    response = client.post("/sparql", data=b"ASK { \xff }", content_type="application/sparql-query")
    assert response.status_code == 400


def test_post_sparql_body_too_large_413(client):
    body = "ASK {}" + " " * (ENDPOINT_LIMITS["max_body_bytes"] + 10)
    response = client.post("/sparql", data=body, content_type="application/sparql-query")
    assert response.status_code == 413
    assert b"at most" in response.data


def test_post_sparql_form_body_too_large_413(client):
    response = client.post("/sparql", data={"query": "ASK {}" + " " * (ENDPOINT_LIMITS["max_body_bytes"] + 10)})
    assert response.status_code == 413


def test_post_sparql_missing_query_400(client):
    response = client.post("/sparql", data={"default-graph-uri": BULK_GRAPH})
    assert response.status_code == 400


def test_get_sparql_two_queries_400(client):
    response = client.get("/sparql?query=ASK%20%7B%7D&query=SELECT%20*%20%7B%7D")
    assert response.status_code == 400


def test_post_sparql_direct_and_query_param_400(client):
    response = client.post("/sparql?query=ASK%20%7B%7D", data="ASK {}", content_type="application/sparql-query")
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_sparql_405(client, method):
    response = getattr(client, method)("/sparql?query=ASK%20%7B%7D")
    assert response.status_code == 405
    assert response.mimetype == "text/plain"


def test_get_sparql_syntax_error_400_with_parser_message(client):
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p "})
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert b"syntax error" in response.data.lower()
    assert b"Traceback" not in response.data


def test_get_sparql_empty_query_400(client):
    response = client.get("/sparql", query_string={"query": "  "})
    assert response.status_code == 400


def test_get_sparql_query_too_long_400(client):
    query = "ASK {}" + " " * ENDPOINT_LIMITS["max_query_chars"]
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == 400
    assert b"too long" in response.data


def test_get_sparql_offset_too_large_400(client):
    response = client.get("/sparql", query_string={
        "query": f"SELECT * WHERE {{ ?s ?p ?o }} OFFSET {ENDPOINT_LIMITS['max_offset'] + 1}"})
    assert response.status_code == 400
    assert b"OFFSET" in response.data


def test_get_sparql_offset_in_subquery_too_large_400(client):
    query = f"SELECT * WHERE {{ {{ SELECT ?s WHERE {{ ?s ?p ?o }} OFFSET {ENDPOINT_LIMITS['max_offset'] + 1} }} }}"
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == 400


@pytest.fixture(scope="module", params=ENGINES)
def patient_client(request, endpoint_build):
    """A client of an app with a query time limit only a hang reaches: pyoxigraph plans a 120-pattern join for a
    second or more even over nothing, which on a loaded machine can pass the session app's 3 s limit."""
    from mrkg.web import create_app

    app = create_app(endpoint_settings(endpoint_build, request.param, executor="pool", workers=1, cache_bytes=0,
                                       query_timeout=120))
    yield app.test_client()
    app.extensions["mrkg"].close()


def test_get_sparql_deep_nesting_answers(patient_client):
    """40 nested groups (under max_query_depth, 48) answer; deeper is a 400 naming the setting."""
    deeper = patient_client.get("/sparql", query_string={"query": "SELECT * WHERE " + "{ " * 60 + "?s ?p ?o " + "} " * 60})
    assert deeper.status_code == 400 and b"max_query_depth" in deeper.data
    query = "SELECT * WHERE " + "{ " * 40 + "?s ?p ?o " + "} " * 40
    response = patient_client.get("/sparql", query_string={"query": query})
    assert response.status_code == 200, response.data[:300]
    assert sorted(json.loads(response.data)["head"]["vars"]) == ["o", "p", "s"]
    assert len(rows(response)) == ENDPOINT_LIMITS["max_rows"] and response.headers["MRKG-Truncated"] == "true"


def test_get_sparql_long_bgp_answers(patient_client):
    query = "SELECT * WHERE { " + " ".join(f"?s <urn:p{i}> ?o{i} ." for i in range(120)) + " }"
    response = patient_client.get("/sparql", query_string={"query": query})
    assert response.status_code == 200, response.data[:300]
    assert sorted(json.loads(response.data)["head"]["vars"]) == sorted(["s"] + [f"o{i}" for i in range(120)])
    assert rows(response) == []


# --- read-only ------------------------------------------------------------------------------------

UPDATES = [
    "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
    "DELETE WHERE { ?s ?p ?o }",
    "DELETE { ?s ?p ?o } INSERT { ?s ?p 1 } WHERE { ?s ?p ?o }",
    "LOAD <http://127.0.0.1:9/data.ttl>",
    "CLEAR ALL",
    "DROP GRAPH <urn:mrkg:test:bulk>",
    "CREATE GRAPH <urn:x>",
    "COPY DEFAULT TO <urn:x>",
    "MOVE <urn:a> TO <urn:b>",
    "ADD <urn:a> TO <urn:b>",
    "PREFIX ex: <http://example.org/> INSERT DATA { ex:a ex:b ex:c }",
]


@pytest.mark.parametrize("update", UPDATES)
def test_get_sparql_update_as_query_403(client, update):
    response = client.get("/sparql", query_string={"query": update})
    assert response.status_code == 403
    assert b"read-only" in response.data


def test_get_sparql_update_param_403(client):
    response = client.get("/sparql", query_string={"update": "CLEAR ALL"})
    assert response.status_code == 403


def test_post_sparql_update_form_403(client):
    response = client.post("/sparql", data={"update": "CLEAR ALL"})
    assert response.status_code == 403


def test_post_sparql_update_body_403(client):
    response = client.post("/sparql", data="CLEAR ALL", content_type="application/sparql-update")
    assert response.status_code == 403


COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


def _send_every_update(send) -> list[int]:
    """Each update in UPDATES by every way a client could send one; the statuses."""
    statuses = []
    for update in UPDATES:
        statuses += [send("GET", {"update": update}, None, None), send("GET", {"query": update}, None, None),
                     send("POST", None, {"update": update}, None), send("POST", None, {"query": update}, None),
                     send("POST", None, update, "application/sparql-update"),
                     send("POST", None, update, "application/sparql-query")]
    return statuses


@pytest.mark.parametrize("engine", ENGINES)
def test_post_sparql_updates_leave_data_unchanged(endpoint_build, engine):
    # A fresh app with the result cache off and one query worker: every count is evaluated, by the one process
    # that would have run an update had one got through.
    from mrkg.web import create_app

    app = create_app(endpoint_settings(endpoint_build, engine, executor="pool", workers=1, cache_bytes=0))
    try:
        client = app.test_client()

        def send(method, params, data, content_type):
            return client.open("/sparql", method=method, query_string=params, data=data,
                               content_type=content_type or (FORM if data else None)).status_code

        def total() -> int:
            response = client.get("/sparql", query_string={"query": COUNT_ALL})
            assert (response.status_code, response.headers.get("MRKG-Cache")) == (200, None)
            return int(rows(response)[0]["n"]["value"])

        before = total()
        assert before > BULK_SIZE
        assert set(_send_every_update(send)) == {403}
        assert total() == before
    finally:
        app.extensions["mrkg"].close()


def test_post_sparql_updates_leave_a_writable_store_unchanged(endpoint_build, virtuoso_serve, tmp_path):
    """The remote engine over a Virtuoso whose anonymous user may update: only mrkg's guard keeps it read-only.
    The same count, through the same uncached server, sees a change made in the store itself."""
    import shutil
    import urllib.parse

    data = tmp_path / "mrkg.nq"
    shutil.copyfile(endpoint_build / "mrkg.nq", data)  # a Virtuoso of its own: no other test sees the insert
    store = virtuoso_serve(data)
    server = start_server(endpoint_build, "remote", tmp_path / "serve.log", remote_endpoint=store, cache_bytes=0)
    try:
        def send(method, params, body, content_type):
            url = server.endpoint + ("?" + urllib.parse.urlencode(params) if params else "")
            if isinstance(body, dict):
                body = urllib.parse.urlencode(body)
            headers = {"Content-Type": content_type or FORM} if body is not None else {}
            return http_request(url, method=method, data=body.encode() if body is not None else None,
                                headers=headers).status

        def total() -> int:
            answer = sparql_get(server, COUNT_ALL)
            assert (answer.status, answer.headers.get("MRKG-Cache")) == (200, None), answer.body
            return int(answer.json()["results"]["bindings"][0]["n"]["value"])

        before = total()
        assert set(_send_every_update(send)) == {403}
        assert total() == before
        insert = f"INSERT DATA {{ GRAPH <{BULK_GRAPH}> {{ <urn:mrkg:test:new> <urn:mrkg:test:p> \"new\" }} }}"
        direct = http_request(store, data=urllib.parse.urlencode({"query": insert}).encode(), headers={"Content-Type": FORM})
        assert direct.status == 200, direct.body
        assert total() == before + 1
    finally:
        stop_server(server)


# --- closed: no SERVICE ----------------------------------------------------------------------------

SERVICES = [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { SERVICE SILENT <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p ?o FILTER EXISTS { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }",
    "SELECT * WHERE { ?s ?p ?o FILTER NOT EXISTS { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }",
    "SELECT * WHERE { { SELECT ?s WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } } }",
    "SELECT * WHERE { ?s ?p ?o OPTIONAL { SERVICE <http://127.0.0.1:9/> { ?s ?q ?r } } }",
    "SELECT * WHERE { ?s ?p ?o MINUS { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }",
    "SELECT * WHERE { { ?s ?p ?o } UNION { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }",
    "SELECT * WHERE { GRAPH ?g { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }",
    "ASK { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "CONSTRUCT { ?s ?p ?o } WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { BIND(<http://127.0.0.1:9/> AS ?e) SERVICE ?e { ?s ?p ?o } }",
    "SELECT * WHERE { SERVIC\\u0045 <http://127.0.0.1:9/> { ?s ?p ?o } }",
]


@pytest.mark.parametrize("query", SERVICES)
def test_get_sparql_service_refused(client, query):
    response = client.get("/sparql", query_string={"query": query})
    assert 400 <= response.status_code < 500, response.data
    if response.status_code == 403:
        assert b"SERVICE" in response.data


# --- the dataset: union default graph, local graphs only --------------------------------------------

def test_get_sparql_default_graph_is_union(client):
    assert count(client, "SELECT (COUNT(*) AS ?n) WHERE { ?s a mrkg:Claim }") == 3


def test_get_sparql_graph_variable_lists_named_graphs(client):
    response = client.get("/sparql", query_string={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"})
    graphs = {row["g"]["value"] for row in rows(response)}
    assert BULK_GRAPH in graphs and "https://w3id.org/mrkg/graph/source/001" in graphs
    assert not any("rdflib" in g for g in graphs)


def test_get_sparql_default_graph_uri_selects(client):
    assert count(client, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **{"default-graph-uri": BULK_GRAPH}) == BULK_SIZE


def test_get_sparql_two_default_graph_uris_merge(client):
    response = client.get("/sparql?query=SELECT%20(COUNT(*)%20AS%20%3Fn)%20WHERE%20%7B%3Fs%20%3Fp%20%3Fo%7D"
                          f"&default-graph-uri={KASEI}data1.rdf&default-graph-uri={KASEI}data2.rdf")
    one = count(client, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **{"default-graph-uri": f"{KASEI}data1.rdf"})
    assert int(rows(response)[0]["n"]["value"]) > one


def test_get_sparql_named_graph_uri_selects(client):
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    response = client.get("/sparql", query_string={"query": query, "named-graph-uri": BULK_GRAPH})
    assert [row["g"]["value"] for row in rows(response)] == [BULK_GRAPH]


def test_get_sparql_named_graph_uri_only_empties_default(client):
    assert count(client, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **{"named-graph-uri": BULK_GRAPH}) == 0


def test_get_sparql_unknown_graph_is_empty(client):
    assert count(client, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }",
                 **{"default-graph-uri": "http://127.0.0.1:9/unknown"}) == 0


def test_get_sparql_from_selects_local_graph(client):
    assert count(client, f"SELECT (COUNT(*) AS ?n) FROM <{BULK_GRAPH}> WHERE {{ ?s ?p ?o }}") == BULK_SIZE


def test_get_sparql_from_named_selects_local_graph(client):
    query = f"SELECT (COUNT(*) AS ?n) FROM NAMED <{BULK_GRAPH}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"
    assert count(client, query) == BULK_SIZE


def test_get_sparql_from_file_is_empty(client):
    assert count(client, "SELECT (COUNT(*) AS ?n) FROM <file:///etc/passwd> WHERE { ?s ?p ?o }") == 0


def test_get_sparql_protocol_dataset_overrides_from(client):
    query = f"SELECT (COUNT(*) AS ?n) FROM <{KASEI}data1.rdf> WHERE {{ ?s ?p ?o }}"
    assert count(client, query, **{"default-graph-uri": BULK_GRAPH}) == BULK_SIZE


def test_get_sparql_relative_graph_uri_400(client):
    response = client.get("/sparql", query_string={"query": "ASK {}", "default-graph-uri": "not an iri"})
    assert response.status_code == 400


# --- limits and headers -----------------------------------------------------------------------------

def test_get_sparql_row_cap_signalled(client):
    response = client.get("/sparql", query_string={"query": f"SELECT * WHERE {{ GRAPH <{BULK_GRAPH}> {{ ?s ?p ?o }} }}"})
    assert response.status_code == 200
    assert len(rows(response)) == ENDPOINT_LIMITS["max_rows"]
    assert response.headers["MRKG-Truncated"] == "true"
    assert response.headers["MRKG-Row-Limit"] == str(ENDPOINT_LIMITS["max_rows"])


def test_get_sparql_row_cap_construct_signalled(client):
    query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{BULK_GRAPH}> {{ ?s ?p ?o }} }}"
    response = client.get("/sparql", query_string={"query": query, "format": "ntriples"})
    assert response.headers["MRKG-Truncated"] == "true"
    assert response.data.count(b"\n") == ENDPOINT_LIMITS["max_rows"]


def test_get_sparql_small_result_not_truncated(client):
    response = client.get("/sparql", query_string={"query": SELECT})
    assert "MRKG-Truncated" not in response.headers
    assert response.headers["MRKG-Rows"] == "1"


def test_get_sparql_every_answer_evaluated(client):
    # The session app has no result cache: what a test reads never depends on which test asked it first.
    first, again = (client.get("/sparql", query_string={"query": SELECT}) for _ in range(2))
    assert (first.status_code, again.status_code) == (200, 200)
    assert "MRKG-Cache" not in first.headers and "MRKG-Cache" not in again.headers


def test_get_sparql_vary_accept(client):
    assert client.get("/sparql", query_string={"query": SELECT}).headers["Vary"] == "Accept"


def test_get_sparql_dataset_version_header(client):
    assert client.get("/sparql", query_string={"query": SELECT}).headers["MRKG-Dataset-Version"] == "test-1"


def test_get_sparql_etag_from_build_checksum(client, endpoint_build):
    manifest = json.loads((endpoint_build / "manifest.json").read_text())
    etag = client.get("/sparql", query_string={"query": SELECT}).headers["ETag"]
    assert etag.strip('"').startswith(manifest["dataset_sha256"][:16])


def test_get_sparql_if_none_match_304(client):
    first = client.get("/sparql", query_string={"query": SELECT})
    again = client.get("/sparql", query_string={"query": SELECT}, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_get_sparql_etag_differs_per_format(client):
    json_tag = client.get("/sparql", query_string={"query": SELECT}).headers["ETag"]
    csv_tag = client.get("/sparql", query_string={"query": SELECT}, headers={"Accept": "text/csv"}).headers["ETag"]
    assert json_tag != csv_tag


def test_get_sparql_cors(client):
    response = client.get("/sparql", query_string={"query": SELECT}, headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "MRKG-Truncated" in response.headers["Access-Control-Expose-Headers"]


def test_options_sparql_cors_preflight(client):
    response = client.options("/sparql", headers={"Origin": "https://example.org",
                                                  "Access-Control-Request-Method": "POST"})
    assert response.status_code == 200
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


def test_get_sparql_implicit_prefixes(client):
    response = client.get("/sparql", query_string={"query": "SELECT ?d WHERE { ?d a mrkg:Drug }"})
    assert len(rows(response)) == 2


# --- Service Description ------------------------------------------------------------------------------

def test_get_sparql_no_query_service_description_turtle(client):
    from pyoxigraph import RdfFormat, parse

    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.mimetype == "text/turtle"
    triples = list(parse(response.data, format=RdfFormat.TURTLE))
    values = {t.object.value for t in triples}
    assert "http://www.w3.org/ns/sparql-service-description#UnionDefaultGraph" in values
    assert "http://www.w3.org/ns/sparql-service-description#SPARQL11Query" in values
    assert BULK_GRAPH in values
    assert "test-1" in values
    assert "https://creativecommons.org/licenses/by/4.0/" in values


@pytest.mark.parametrize("media_type", list(GRAPH_TYPES))
def test_get_sparql_no_query_service_description_formats(client, media_type):
    response = client.get("/sparql", headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert response.headers["Vary"] == "Accept"
    sd = "http://www.w3.org/ns/sparql-service-description#"
    triples = _triples(response.data, GRAPH_TYPES[media_type])
    assert ("<http://localhost/sparql>", "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>", f"<{sd}Service>") in triples
    assert ("<http://localhost/sparql>", f"<{sd}endpoint>", "<http://localhost/sparql>") in triples
    assert ("<http://localhost/sparql>", f"<{sd}feature>", f"<{sd}UnionDefaultGraph>") in triples


def test_get_sparql_no_query_browser_gets_html(client):
    response = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"


def test_get_sparql_no_query_unacceptable_406(client):
    assert client.get("/sparql", headers={"Accept": "image/png"}).status_code == 406


# --- bodies, bytes and headers as a real server receives them (gunicorn: chunked bodies, raw query strings) ---------

LIMIT = ENDPOINT_LIMITS["max_body_bytes"]


def _chunked(body: bytes, size: int = 8192):
    """``body`` as an iterator: urllib sends it with Transfer-Encoding: chunked (no Content-Length)."""
    return (body[i:i + size] for i in range(0, len(body), size))


def _form_of_length(length: int) -> bytes:
    """A form with a small query and padding in another parameter, exactly ``length`` bytes long."""
    head = b"query=ASK%20%7B%7D&padding="
    return head + b"x" * (length - len(head))


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_post_sparql_form_chunked_at_limit_answers(live_server):
    answer = http_request(live_server.endpoint, data=_chunked(_form_of_length(LIMIT)),
                          headers={"Content-Type": FORM, "Accept": "application/sparql-results+json"})
    assert (answer.status, answer.json()["boolean"]) == (200, True), answer.body[:200]


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_post_sparql_form_chunked_over_limit_413(live_server):
    # One byte over: werkzeug alone read the first LIMIT bytes and answered them (the padding cut, a 200).
    answer = http_request(live_server.endpoint, data=_chunked(_form_of_length(LIMIT + 1)),
                          headers={"Content-Type": FORM})
    assert (answer.status, answer.media_type) == (413, "text/plain")
    assert answer.text == f"Request body too large: at most {LIMIT} bytes accepted.\n"


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_post_sparql_direct_chunked_over_limit_413(live_server):
    body = b"ASK {}" + b" " * (LIMIT + 10_000)
    answer = http_request(live_server.endpoint, data=_chunked(body), headers={"Content-Type": "application/sparql-query"})
    assert (answer.status, answer.media_type) == (413, "text/plain")
    assert answer.text == f"Request body too large: at most {LIMIT} bytes accepted.\n"


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_post_sparql_direct_chunked_small_answers(live_server):
    answer = http_request(live_server.endpoint, data=_chunked(SELECT.encode(), size=7),
                          headers={"Content-Type": "application/sparql-query", "Accept": "text/csv"})
    assert (answer.status, answer.text) == (200, "label\r\nbaclofen\r\n")


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_post_sparql_content_length_over_limit_413(live_server):
    answer = http_request(live_server.endpoint, data=_form_of_length(LIMIT + 1), headers={"Content-Type": FORM})
    assert answer.status == 413
    assert answer.text == f"Request body too large: at most {LIMIT} bytes accepted.\n"


# A value that was not UTF-8 once percent-decoded used to reach the query as the three characters "%FF".
NOT_UTF8 = 'SELECT ("%FF" AS ?x) {}'.replace('"', "%22").replace(" ", "%20").replace("{", "%7B").replace("}", "%7D")


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_get_sparql_query_not_utf8_400_names_parameter(live_server):
    answer = http_request(f"{live_server.endpoint}?query={NOT_UTF8}")
    assert (answer.status, answer.media_type) == (400, "text/plain")
    assert answer.text.startswith("Parameter 'query' in the query string is not UTF-8 text"), answer.text
    assert answer.text.count("\n") == 1


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
@pytest.mark.parametrize("escape", ["%C3", "%80", "%9f"])  # a lead byte alone, continuation bytes alone
def test_get_sparql_graph_parameter_not_utf8_400_names_it(live_server, escape):
    answer = http_request(f"{live_server.endpoint}?query=ASK%7B%7D&default-graph-uri=urn:x{escape}")
    assert answer.status == 400
    assert answer.text.startswith("Parameter 'default-graph-uri' in the query string is not UTF-8"), answer.text


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
@pytest.mark.parametrize("body", [f"query={NOT_UTF8}".encode(), b'query=SELECT ("\xff" AS ?x) {}'],
                         ids=["percent-encoded", "raw-byte"])
def test_post_sparql_form_not_utf8_400_names_parameter(live_server, body):
    answer = http_request(live_server.endpoint, data=body, headers={"Content-Type": FORM})
    assert (answer.status, answer.media_type) == (400, "text/plain")
    assert answer.text.startswith("Parameter 'query' in the form body is not UTF-8 text"), answer.text


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_get_sparql_percent_encoded_utf8_kept(live_server):
    answer = sparql_get(live_server, 'SELECT ("é ü 中 %FF" AS ?x) {}', accept="text/csv")
    assert (answer.status, answer.text) == (200, "x\r\né ü 中 %FF\r\n")


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_get_sparql_406_echo_of_accept_bounded(live_server):
    accept = "image/png," + ",".join(f"x/y{i}" for i in range(800))  # 5 KB: under gunicorn's 8 KB header cap
    answer = sparql_get(live_server, "ASK {}", accept=accept)
    assert (answer.status, answer.media_type) == (406, "text/plain")
    assert answer.text.startswith("No acceptable format for a ASK result (Accept: image/png,x/y0,x/y1,")
    assert "x/y799" not in answer.text and len(answer.body) < 400, len(answer.body)
    assert "application/sparql-results+json" in answer.text


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
@pytest.mark.parametrize("params", [{"format": "y" * 5000}, {"default_graph_uri": "not an iri " * 500}],
                         ids=["format", "default-graph-uri"])
def test_get_sparql_400_echo_of_parameter_bounded(live_server, params):
    answer = sparql_get(live_server, "ASK {}", **params)
    assert answer.status == 400
    assert len(answer.body) < 300 and "…" in answer.text, answer.text[:300]
