"""No outbound request, ever: a listener on 127.0.0.1 is named by SERVICE, FROM, FROM NAMED, default-graph-uri,
named-graph-uri and LOAD in requests to a real `mrkg serve`, for every engine, and must see no connection."""

from __future__ import annotations

import urllib.parse
import urllib.request

import pytest
from conftest import http_request


def _send(server, method: str, params: dict | None = None, body: bytes | None = None, content_type: str | None = None):
    url = server.endpoint + ("?" + urllib.parse.urlencode(params) if params else "")
    return http_request(url, method=method, data=body, headers={"Content-Type": content_type} if content_type else None,
                        timeout=30).status


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def remote_live_server(request, build_dir, tmp_path_factory):
    """`mrkg serve` with the remote engine in front of `oxigraph serve` or Virtuoso holding the real build."""
    from conftest import start_server, stop_server

    store = request.getfixturevalue(f"{request.param}_serve")(build_dir / "mrkg.nq")
    log = tmp_path_factory.mktemp(f"serve-remote-{request.param}") / "serve.log"
    server = start_server(build_dir, "remote", log, remote_endpoint=store)
    yield server
    stop_server(server)


def test_get_sparql_remote_engine_no_outbound_connection(remote_live_server, connection_counter):
    """The remote engine too: neither mrkg nor the store behind it may reach the listener."""
    test_get_sparql_no_outbound_connection(remote_live_server, connection_counter)


def test_post_virtuoso_sparql_load_reaches_the_listener(virtuoso_serve, build_dir, connection_counter):
    """The test above means something: the Virtuoso behind mrkg, asked directly, does fetch (LOAD)."""
    there = connection_counter.url
    store = virtuoso_serve(build_dir / "mrkg.nq")
    request = urllib.request.Request(store, data=urllib.parse.urlencode(
        {"query": f"LOAD <{there}/canary> INTO GRAPH <urn:mrkg:test:canary>"}).encode())
    try:
        urllib.request.urlopen(request, timeout=30).close()
    except OSError:
        pass  # the listener closes the connection unanswered: Virtuoso's LOAD fails (or this request times out)
    assert connection_counter.settle() >= 1


def test_get_sparql_no_outbound_connection(live_server, connection_counter):
    there = connection_counter.url
    queries = [
        f"SELECT * WHERE {{ SERVICE <{there}/sparql> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ SERVICE SILENT <{there}/sparql> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?x ?y ?z FILTER EXISTS {{ SERVICE SILENT <{there}/e> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE SILENT <{there}/sub> {{ ?s ?p ?o }} }} }} }}",
        f"SELECT * FROM <{there}/from> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{there}/named> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        f"ASK FROM <{there}/ask> {{ ?s ?p ?o }}",
        f"CONSTRUCT {{ ?s ?p ?o }} FROM <{there}/construct> WHERE {{ ?s ?p ?o }}",
        f"DESCRIBE <{there}/describe>",
        f"LOAD <{there}/load>",
        f"LOAD SILENT <{there}/load> INTO GRAPH <urn:x>",
    ]
    statuses = []
    for query in queries:
        statuses.append(_send(live_server, "GET", {"query": query}))
        statuses.append(_send(live_server, "POST", body=query.encode(), content_type="application/sparql-query"))
    for params in ({"default-graph-uri": f"{there}/dg"}, {"named-graph-uri": f"{there}/ng"}):
        statuses.append(_send(live_server, "GET", {"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1", **params}))
        statuses.append(_send(live_server, "POST", body=urllib.parse.urlencode(
            {"query": "ASK { GRAPH ?g { ?s ?p ?o } }", **params}).encode(),
            content_type="application/x-www-form-urlencoded"))
    statuses.append(_send(live_server, "POST", body=f"LOAD <{there}/u>".encode(),
                          content_type="application/sparql-update"))
    statuses.append(_send(live_server, "POST", body=urllib.parse.urlencode({"update": f"LOAD <{there}/u>"}).encode(),
                          content_type="application/x-www-form-urlencoded"))
    statuses.append(_send(live_server, "GET", {"update": f"LOAD <{there}/u>"}))
    assert connection_counter.settle() == 0, f"{live_server.engine} engine connected to the listener"
    assert all(s < 500 for s in statuses), statuses
    assert all(s >= 400 for s in statuses[:4]), "SERVICE must be refused"
