"""The lean path of /sparql (web/lean.py) answers exactly as the Flask route does, is the path taken for a plain
``query=`` form POST, and keeps the watchdog's late answer."""

from __future__ import annotations

import http.client
import logging
import urllib.parse

import pytest
from conftest import CARTESIAN, endpoint_settings, start_server, stop_server

FORM = "application/x-www-form-urlencoded"
ASK = "ASK { <https://w3id.org/mrkg/entity/baclofen> a mrkg:Drug }"
SELECT = "SELECT ?label WHERE { <https://w3id.org/mrkg/entity/baclofen> rdfs:label ?label }"
CONSTRUCT = "CONSTRUCT { ?d rdfs:label ?l } WHERE { ?d a mrkg:Drug ; rdfs:label ?l }"


def form(**fields: str) -> bytes:
    return urllib.parse.urlencode(fields).encode()


# (name, body, Content-Type, Accept, whether the lean path answers it)
REQUESTS = [
    ("ask json", form(query=ASK), FORM, "application/sparql-results+json", True),
    ("ask, no Accept", form(query=ASK), FORM, None, True),
    ("ask xml, charset given", form(query=ASK), FORM + "; charset=utf-8", "application/sparql-results+xml", True),
    ("select json", form(query=SELECT), FORM, "application/sparql-results+json", True),
    ("select csv", form(query=SELECT), FORM, "text/csv", True),
    ("select tsv", form(query=SELECT), FORM, "text/tab-separated-values", True),
    ("select, q-values", form(query=SELECT), FORM, "text/csv;q=0.5, application/sparql-results+xml", True),
    ("construct turtle", form(query=CONSTRUCT), FORM, "text/turtle", True),
    ("construct, wildcard", form(query=CONSTRUCT), FORM, "*/*", True),
    ("no acceptable format (406)", form(query=ASK), FORM, "image/png", True),
    ("syntax error (400)", form(query="SELECT WHERE {"), FORM, None, True),
    ("empty query (400)", b"query=", FORM, None, True),
    ("an update as query (403 or 400)", form(query="INSERT DATA { <urn:a> <urn:b> <urn:c> }"), FORM, None, True),
    ("SERVICE (403)", form(query="SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"), FORM,
     None, True),
    ("escapes and plus signs", b"query=ASK+%7B+%3Fs+%3Fp+%3Fo+%7D", FORM, None, True),
    ("a stray percent sign", b"query=ASK+%7B+%3Fs+%3Fp+%22%zz%22+%7D", FORM, None, True),
    ("too long (400, Flask's)", form(query="ASK {}" + " " * 20_000), FORM, None, False),
    ("a second field", form(query=SELECT, format="csv"), FORM, None, False),
    ("two queries (400)", form(query=ASK) + b"&" + form(query=ASK), FORM, None, False),
    ("update= (403)", form(update="INSERT DATA { <urn:a> <urn:b> <urn:c> }"), FORM, None, False),
    ("no query field (400)", form(format="json"), FORM, None, False),
    ("UTF-8 text", form(query='ASK { ?s ?p "décontracturant" }'), FORM, None, False),
    ("not UTF-8 (400)", b"query=ASK+%7B+%3Fs+%3Fp+%22%FF%22+%7D", FORM, None, False),
    ("raw byte 0xFF (400)", b"query=ASK \xff", FORM, None, False),
    ("latin-1 form (415)", form(query=ASK), FORM + "; charset=latin-1", None, False),
    ("sparql-query body", ASK.encode(), "application/sparql-query", None, False),
    ("no Content-Type (415)", form(query=ASK), None, None, False),
    ("an update body (403)", b"INSERT DATA { <urn:a> <urn:b> <urn:c> }", "application/sparql-update", None, False),
]


@pytest.fixture(scope="module")
def lean_app(endpoint_build):
    """The app with its access log on (written to a list here), queries evaluated by one pool worker: the inline
    executor needs `mrkg serve`'s front, which Flask's test client has not (the live tests below use it)."""
    from mrkg.web import create_app

    app = create_app({"TESTING": True, **endpoint_settings(endpoint_build, "oxigraph", executor="pool", workers=1,
                                                           cache_bytes=0, access_log=True)})
    yield app
    app.extensions["mrkg"].close()


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _post(client, body: bytes, content_type: str | None, accept: str | None, path: str = "/sparql"):
    headers = {"User-Agent": "lean-test/1"}
    if content_type:
        headers["Content-Type"] = content_type
    if accept:
        headers["Accept"] = accept
    return client.post(path, data=body, headers=headers)


def _logged(lines: list[str]) -> dict:
    import json

    assert len(lines) == 1, lines
    record = json.loads(lines[0])
    del record["time"], record["ms"]
    return record


@pytest.mark.parametrize("name, body, content_type, accept, lean", REQUESTS, ids=[r[0] for r in REQUESTS])
def test_lean_path_answers_as_the_flask_route(lean_app, name, body, content_type, accept, lean):
    lean_path = lean_app.wsgi_app
    client = lean_app.test_client()
    handler = _Lines()
    logging.getLogger("mrkg.access").addHandler(handler)
    try:
        lean_path.enabled = False
        before = lean_path.answered
        flask_answer = _post(client, body, content_type, accept)
        flask_log = _logged(handler.lines)
        assert lean_path.answered == before  # turned off, it answers nothing
        handler.lines.clear()
        lean_path.enabled = True
        lean_answer = _post(client, body, content_type, accept)
        lean_log = _logged(handler.lines)
    finally:
        lean_path.enabled = True
        logging.getLogger("mrkg.access").removeHandler(handler)
    assert lean_path.answered == before + (1 if lean else 0), "not the path this request should take"
    assert lean_answer.status == flask_answer.status
    assert list(lean_answer.headers) == list(flask_answer.headers)
    assert lean_answer.data == flask_answer.data
    assert lean_log == flask_log
    assert flask_answer.status_code in {200, 400, 403, 406, 415}, flask_answer.data
    if name.startswith(("ask", "select", "construct")):
        assert flask_answer.status_code == 200 and flask_answer.headers["ETag"], flask_answer.data


def post_on_both_paths(app, **request):
    """The same POST /sparql answered with the lean path off (the Flask route), then on: (flask, lean)."""
    lean_path = app.wsgi_app
    client = app.test_client()
    answers = []
    try:
        for enabled in (False, True):
            lean_path.enabled = enabled
            answers.append(client.post("/sparql", **request))
    finally:
        lean_path.enabled = True
    return tuple(answers)


@pytest.mark.parametrize("host", ["example.org:8080", "xn--dcontracturant-gmb.example", "bad host", "a/b", ""])
def test_lean_path_answers_any_host_as_the_flask_route(lean_app, host):
    """The Host header is the client's: it goes into the base IRI (and the ETag), or gets Flask's own refusal."""
    flask_answer, lean_answer = post_on_both_paths(
        lean_app, data=form(query="SELECT ?x WHERE { BIND(<rel> AS ?x) }"), headers={"Content-Type": FORM, "Host": host})
    assert (lean_answer.status, list(lean_answer.headers), lean_answer.data) == \
        (flask_answer.status, list(flask_answer.headers), flask_answer.data)
    assert flask_answer.status_code in {200, 400}, flask_answer.data
    if host == "example.org:8080":
        assert b'"http://example.org:8080/rel"' in flask_answer.data  # resolved against this request's URL


def test_lean_path_answers_an_unexpected_error_as_the_flask_route(lean_app, monkeypatch):
    svc = lean_app.extensions["mrkg"]

    def broken(job, **kwargs):
        raise RuntimeError("a bug, with a secret in its message")

    monkeypatch.setattr(svc, "run", broken)
    flask_answer, lean_answer = post_on_both_paths(lean_app, data=form(query=ASK), content_type=FORM)
    assert flask_answer.status_code == 500 and flask_answer.data == b"Internal error.\n"
    assert (lean_answer.status, list(lean_answer.headers), lean_answer.data) == \
        (flask_answer.status, list(flask_answer.headers), flask_answer.data)


def test_lean_path_leaves_other_routes_and_methods_to_flask(lean_app):
    lean_path = lean_app.wsgi_app
    client = lean_app.test_client()
    before = lean_path.answered
    for path, method in (("/sparql/", "POST"), ("/sparql", "PUT"), ("/health", "POST"), ("/sparql", "GET")):
        response = client.open(path, method=method, data=form(query=ASK), content_type=FORM)
        assert response.status_code in {200, 404, 405}
    assert client.get("/sparql?" + urllib.parse.urlencode({"query": ASK})).status_code == 200
    response = client.post("/sparql?default-graph-uri=urn%3Ax", data=form(query=ASK), content_type=FORM)
    assert response.status_code == 200
    assert lean_path.answered == before
    assert client.post("/sparql", data=form(query=ASK), content_type=FORM).status_code == 200
    assert lean_path.answered == before + 1


def test_lean_path_off_by_setting(endpoint_build):
    from mrkg.web import create_app
    from mrkg.web.lean import LeanSparql

    app = create_app(endpoint_settings(endpoint_build, "memory", executor="pool", workers=1, lean_sparql=False))
    try:
        assert not isinstance(app.wsgi_app, LeanSparql)
        response = app.test_client().post("/sparql", data=form(query=ASK), content_type=FORM)
        assert response.status_code == 200 and response.json["boolean"] is True
    finally:
        app.extensions["mrkg"].close()


# --- live: `mrkg serve` with the inline executor, lean path on and off ------------------------------------------

def _raw_post(url: str, body: bytes, headers: dict[str, str], timeout: float = 60):
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("POST", "/sparql", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, [(k, v) for k, v in response.getheaders() if k.lower() != "date"], response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def live_pair(endpoint_build, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve-lean")
    servers = {}
    try:
        for lean in (True, False):
            servers[lean] = start_server(endpoint_build, "oxigraph", folder / f"serve-{lean}.log", executor="inline",
                                         query_timeout=2.0, lean_sparql=lean, cache_bytes=0)
        yield servers
    finally:
        for server in servers.values():
            stop_server(server)


def test_live_lean_path_answers_as_the_flask_route(live_pair):
    for name, body, content_type, accept, _ in REQUESTS:
        headers = {"User-Agent": "lean-test/1"}
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        lean = _comparable(live_pair[True].url, _raw_post(live_pair[True].url, body, headers))
        flask = _comparable(live_pair[False].url, _raw_post(live_pair[False].url, body, headers))
        assert lean == flask, name


def _comparable(url: str, answer):
    """An answer with its server's port (in the base IRI, so in the ETag and some error messages) taken out."""
    status, headers, body = answer
    port = str(urllib.parse.urlsplit(url).port)
    return (status, [(name, "<etag>" if name.lower() == "etag" else value) for name, value in headers],
            body.replace(port.encode(), b"<port>"))


def test_live_watchdog_answers_a_late_query_on_the_lean_path(live_pair, lean_app):
    body = form(query=CARTESIAN)
    headers = {"Content-Type": FORM, "Accept": "application/sparql-results+json"}
    # This very request takes the lean path (the same app code runs in the server's worker)...
    lean_path = lean_app.wsgi_app
    before = lean_path.answered
    assert lean_app.test_client().post("/sparql", data=form(query="ASK { ?s ?p ?o }"), headers=headers).status_code \
        == 200
    assert lean_path.answered == before + 1
    # ...and past its deadline the watchdog answers it: one whole 503, then the worker is replaced.
    server = live_pair[True]
    status, answer_headers, answer = _raw_post(server.url, body, headers)
    assert status == 503, answer
    assert answer == b"Query stopped after the 2 s time limit.\n"
    answer_headers = {k.lower(): v for k, v in answer_headers}
    assert answer_headers["retry-after"] == "1" and answer_headers["connection"] == "close"
    assert answer_headers["vary"] == "Accept"
    import json
    import time

    waited_until = time.monotonic() + 30  # the watchdog logs once the loop has written the answer: a moment later
    while '"by":"watchdog"' not in server.log.read_text() and time.monotonic() < waited_until:
        time.sleep(0.1)
    late = [json.loads(line) for line in server.log.read_text().splitlines() if '"by":"watchdog"' in line]
    assert late and late[-1]["status"] == 503
    assert late and late[-1]["method"] == "POST" and late[-1]["path"] == "/sparql" and "query_sha" in late[-1]
    status, _, answer = _raw_post(server.url, form(query=ASK), headers)  # the replacement worker answers
    assert status == 200 and b'"boolean":true' in answer
