"""The remote engine: the real build in the oxigraph server gives the answers the in-process engine gives,
and the guards hold (read-only, no SERVICE, datasets confined to the remote's graphs, time limits)."""

from __future__ import annotations

import http.server
import json
import re
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from conftest import REPO
from pyoxigraph import RdfFormat, parse

from mrkg.engine import ConfigurationError, EngineError, open_backend
from mrkg.engine.base import DatasetSpec
from mrkg.engine.guard import Limits
from mrkg.engine.pool import WorkerPool
from mrkg.engine.remote import EMPTY_GRAPH, RemoteBackend
from mrkg.engine.runner import Job, Runner
from mrkg.queries import read_queries
from mrkg.web.app import PREFIX_MAP

MIX = read_queries(REPO / "queries") + read_queries(REPO / "benchmarks" / "queries")


@pytest.fixture(scope="module")
def remote_url(oxigraph_serve, build_dir: Path) -> str:
    return oxigraph_serve(build_dir / "mrkg.nq")


@pytest.fixture(scope="module")
def local_runner(build_dir: Path) -> Runner:
    backend = open_backend("oxigraph")
    backend.load(build_dir / "mrkg.nq")
    return Runner(backend, limits=Limits(), prefixes=PREFIX_MAP, max_rows=10_000)


@pytest.fixture(scope="module")
def remote_runner(remote_url: str) -> Runner:
    return Runner(RemoteBackend(remote_url, timeout=10), limits=Limits(), prefixes=PREFIX_MAP, max_rows=10_000)


@pytest.mark.parametrize("query", MIX, ids=[q.name for q in MIX])
@pytest.mark.parametrize("key", ["json", "xml"])
def test_remote_same_answer_as_oxigraph_on_the_real_build(query, key, local_runner, remote_runner):
    if re.search(r"^\s*(CONSTRUCT|DESCRIBE)\b", query.text, re.MULTILINE | re.IGNORECASE):
        key = {"json": "ntriples", "xml": "turtle"}[key]
    local = local_runner.run(Job(query.text, format=key))
    remote = remote_runner.run(Job(query.text, format=key))
    assert local.status == 200, local.body
    assert (remote.status, remote.rows) == (200, local.rows), remote.body
    assert _solutions(remote.body, key) == _solutions(local.body, key)


def _solutions(body: bytes, key: str):
    """The answer as a sorted list (row order is not part of the contract of an unordered query)."""
    if key == "ntriples":
        return sorted(body.splitlines())
    if key == "turtle":
        return sorted((t.subject, t.predicate, t.object) for t in parse(body, format=RdfFormat.TURTLE))
    if key == "xml":
        lines = body.splitlines()
        return sorted(lines)
    doc = json.loads(body)
    if "boolean" in doc:
        return doc["boolean"]
    return doc["head"], sorted(json.dumps(b, sort_keys=True) for b in doc["results"]["bindings"])


def test_remote_graphs_and_size_match_the_build(remote_url, build_dir):
    manifest = json.loads((build_dir / "manifest.json").read_text())
    backend = RemoteBackend(remote_url)
    assert backend.graph_names() == sorted(manifest["graphs"])
    assert len(backend) == sum(manifest["graphs"].values())


def test_remote_construct_and_prefixes(remote_runner):
    answer = remote_runner.run(Job("CONSTRUCT WHERE { ent:baclofen rdfs:label ?l }", format="ntriples"))
    assert answer.status == 200
    assert b'<https://w3id.org/mrkg/entity/baclofen> <http://www.w3.org/2000/01/rdf-schema#label> "baclofen"' \
        in answer.body


def test_remote_from_graph_is_confined(remote_runner):
    asserted = "https://w3id.org/mrkg/graph/asserted"
    only = remote_runner.run(Job(f"SELECT (COUNT(*) AS ?n) FROM <{asserted}> WHERE {{ ?s ?p ?o }}", format="json"))
    everything = remote_runner.run(Job("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", format="json"))
    n = [int(json.loads(a.body)["results"]["bindings"][0]["n"]["value"]) for a in (only, everything)]
    assert 0 < n[0] < n[1]


def test_remote_missing_url_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="remote_endpoint"):
        open_backend("remote")
    with pytest.raises(ConfigurationError, match="http"):
        RemoteBackend("file:///etc/passwd")


def test_remote_load_refused(tmp_path):
    path = tmp_path / "x.nq"
    path.write_text("")
    with pytest.raises(ConfigurationError, match="read-only"):
        RemoteBackend("http://127.0.0.1:9/sparql").load(path)


def test_remote_app_serves_the_build(remote_url, build_dir):
    from mrkg.web import create_app

    app = create_app({"TESTING": True, "build_dir": str(build_dir), "store": "remote", "remote_endpoint": remote_url,
                      "access_log": False, "workers": 1, "cache_bytes": 0, "executor": "pool"})
    try:
        response = app.test_client().get("/sparql", query_string={"query": "ASK { ent:baclofen a mrkg:Drug }"},
                                         headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 200 and response.json["boolean"] is True
        refused = app.test_client().get("/sparql", query_string={
            "query": f"SELECT * WHERE {{ SERVICE <{remote_url}> {{ ?s ?p ?o }} }}"})
        assert refused.status_code == 403
    finally:
        app.extensions["mrkg"].close()


def test_remote_app_without_url_fails_at_start(build_dir):
    from mrkg.web import create_app

    with pytest.raises(ConfigurationError, match="MRKG_REMOTE_ENDPOINT"):
        create_app({"build_dir": str(build_dir), "store": "remote"})


# --- a recording fake endpoint: what the client sends, and how it copes with bad answers -----------------------

class _Fake(http.server.BaseHTTPRequestHandler):
    requests: list = []
    mode = "ok"

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append((self.path, urllib.parse.parse_qs(body.decode()), self.headers.get("Accept")))
        if "GRAPH ?g { }" in urllib.parse.parse_qs(body.decode())["query"][0]:
            payload = b'{"head":{"vars":["g"]},"results":{"bindings":[{"g":{"type":"uri","value":"urn:g1"}}]}}'
        elif self.mode == "slow":
            time.sleep(3)
            payload = b'{"head":{},"boolean":true}'
        elif self.mode == "truncated":
            payload = b'{"head":{"vars":["s"]},"results":{"bindings":[{"s":{"type":"uri","val'
        elif self.mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.end_headers()
            return
        else:
            payload = b'{"head":{"vars":["s"]},"results":{"bindings":[]}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def fake():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Fake.requests, _Fake.mode = [], "ok"
    yield f"http://127.0.0.1:{server.server_address[1]}/sparql"
    server.shutdown()
    server.server_close()


def _runner(url: str, timeout: float = 5) -> Runner:
    return Runner(RemoteBackend(url, timeout=timeout), limits=Limits(), prefixes={}, max_rows=10)


def test_remote_unknown_graphs_never_sent(fake):
    runner = _runner(fake)
    answer = runner.run(Job("SELECT * FROM <http://127.0.0.1:9/x> FROM NAMED <file:///etc/passwd> "
                            "FROM NAMED <urn:g1> WHERE { ?s ?p ?o }", format="json"))
    assert answer.status == 200
    _, params, accept = _Fake.requests[-1]
    assert params["default-graph-uri"] == [EMPTY_GRAPH]
    assert params["named-graph-uri"] == ["urn:g1"]
    assert accept == "application/sparql-results+json"


def test_remote_guard_runs_before_sending(fake):
    runner = _runner(fake)
    for text, status in (("SELECT * WHERE { SERVICE <http://127.0.0.1:9/x> { ?s ?p ?o } }", 403),
                         ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", 403), ("DROP ALL", 403), ("SELEC nonsense", 400)):
        assert runner.run(Job(text)).status == status
    assert _Fake.requests == []


def test_remote_truncated_answer_is_an_error(fake):
    _Fake.mode = "truncated"
    answer = _runner(fake).run(Job("SELECT * WHERE { ?s ?p ?o }"))
    assert answer.status == 502 and b"cut short" in answer.body


def test_remote_redirect_not_followed(fake):
    _Fake.mode = "redirect"
    answer = _runner(fake).run(Job("ASK { ?s ?p ?o }"))
    assert answer.status == 502


def test_remote_socket_timeout(fake):
    _Fake.mode = "slow"
    started = time.monotonic()
    answer = _runner(fake, timeout=0.5).run(Job("ASK { ?s ?p ?o }"))
    assert answer.status == 504 and time.monotonic() - started < 2.5


def test_remote_worker_deadline(fake):
    _Fake.mode = "slow"
    pool = WorkerPool(_runner(fake, timeout=30), size=1, timeout=0.7).start()
    try:
        started = time.monotonic()
        with pytest.raises(EngineError) as info:
            pool.run(Job("ASK { ?s ?p ?o }"))
        assert info.value.status == 503 and time.monotonic() - started < 2.5
    finally:
        pool.close()


def test_remote_unreachable_is_a_503():
    answer = _runner("http://127.0.0.1:9/sparql").run(Job("ASK { ?s ?p ?o }"))
    assert answer.status == 503


def test_remote_dataset_spec_without_graphs(fake):
    backend = RemoteBackend(fake)
    from mrkg.engine.guard import check_query

    query = check_query("SELECT * WHERE { ?s ?p ?o }", base=None, prefixes={}, limits=Limits())
    backend.evaluate(query, DatasetSpec((), ()), {})
    _, params, _ = _Fake.requests[-1]
    assert params["default-graph-uri"] == [EMPTY_GRAPH] and params["named-graph-uri"] == [EMPTY_GRAPH]
