"""The routes around /sparql, method × endpoint × condition, for every engine: /, /void, /health, /download/,
linked-data pages."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import urllib.parse
from html.parser import HTMLParser

import pytest
from conftest import http_request

BACLOFEN = "/entity/baclofen"
NEGATED = "/claim/001-baclofen-not-benzodiazepine"


# --- the query UI -----------------------------------------------------------------------------------

def test_get_index_html(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Drugs and their labels" in page  # examples come from queries_dir
    assert "PREFIX mrkg: &lt;https://w3id.org/mrkg/ontology/&gt;" in page  # prefixes preloaded
    assert "cdn" not in page.lower() and "https://" not in page.split("<body>")[0]


def test_get_index_plain_form_runs_query(client):
    response = client.get("/", query_string={"query": "SELECT ?d WHERE { ?d a mrkg:Drug } ORDER BY ?d"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<th>?d</th>" in page
    assert 'href="/entity/baclofen"' in page


def test_get_index_plain_form_load_example(client):
    response = client.get("/", query_string={"example": "02-negated", "load": "1", "query": "old text"})
    page = response.get_data(as_text=True)
    assert "mrkg:polarity mrkg:Negated" in page
    assert 'id="results"' not in page


def test_get_index_plain_form_shows_error(client):
    page = client.get("/", query_string={"query": "SELECT * WHERE {"}).get_data(as_text=True)
    assert 'class="error"' in page


def test_get_index_plain_form_ask(client):
    page = client.get("/", query_string={"query": "ASK { ?s ?p ?o }"}).get_data(as_text=True)
    assert "Answer: <strong>true</strong>" in page


def test_get_static_ui_script(client):
    from mrkg.web.app import PACKAGE_DIR

    response = client.get("/static/mrkg-ui.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.data == (PACKAGE_DIR / "static" / "mrkg-ui.js").read_bytes()


# --- VoID and health ----------------------------------------------------------------------------------

def test_get_void_turtle_licence_and_version(client):
    response = client.get("/void", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.mimetype == "text/turtle"
    assert b"creativecommons.org/licenses/by/4.0" in response.data
    assert b"test-1" in response.data


def test_get_void_jsonld(client):
    response = client.get("/.well-known/void", headers={"Accept": "application/ld+json"})
    assert response.mimetype == "application/ld+json"
    json.loads(response.data)


def test_get_void_unacceptable_406(client):
    assert client.get("/void", headers={"Accept": "image/png"}).status_code == 406
    html = client.get("/void", headers={"Accept": "text/html"})  # a browser: the description as a page (issue 16)
    assert html.status_code == 200 and html.mimetype == "text/html" and b"VoID description" in html.data


def test_get_health(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["version"] == "test-1"
    assert body["engine"] in {"oxigraph", "memory"}


def test_get_unknown_route_404_text(client):
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert response.mimetype == "text/plain"


# --- downloads -----------------------------------------------------------------------------------------

def test_get_download_listing_html(client):
    response = client.get("/download/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "mrkg.trig.gz" in response.get_data(as_text=True)


def test_get_download_listing_json_checksums(client, endpoint_build):
    response = client.get("/download/", headers={"Accept": "application/json"})
    files = response.get_json()["files"]
    data = (endpoint_build / "mrkg.trig").read_bytes()
    assert files["mrkg.trig"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert "SHA256SUMS" in files


def test_get_download_file_matches_checksum(client, endpoint_build):
    response = client.get("/download/mrkg.trig")
    assert response.status_code == 200
    assert response.mimetype == "application/trig"
    assert hashlib.sha256(response.data).hexdigest() == response.headers["MRKG-SHA256"]
    assert "Content-Encoding" not in response.headers


def test_get_download_gzip_encoding(client, endpoint_build):
    response = client.get("/download/mrkg.trig", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(response.data) == (endpoint_build / "mrkg.trig").read_bytes()


def test_get_download_gz_file(client, endpoint_build):
    response = client.get("/download/mrkg.trig.gz", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.mimetype == "application/gzip"
    assert "Content-Encoding" not in response.headers  # the file itself, not a transfer encoding of mrkg.trig
    manifest = json.loads((endpoint_build / "manifest.json").read_text())
    assert hashlib.sha256(response.data).hexdigest() == manifest["files"]["mrkg.trig.gz"]["sha256"]
    assert gzip.decompress(response.data) == (endpoint_build / "mrkg.trig").read_bytes()


def test_get_download_sha256sums(client):
    response = client.get("/download/SHA256SUMS")
    assert response.status_code == 200
    assert b"mrkg.trig" in response.data


def test_get_download_if_none_match_304(client):
    first = client.get("/download/mrkg.trig")
    again = client.get("/download/mrkg.trig", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("name", ["nothing.ttl", "..%2Fmanifest.json", "%2E%2E%2Fbuild%2Fmrkg.nq", "mrkg.trig.bak"])
def test_get_download_unknown_404(client, name):
    response = client.get(f"/download/{name}")
    assert (response.status_code, response.mimetype) == (404, "text/plain")
    assert response.get_data(as_text=True).startswith("Not found: /download/")


def test_get_download_not_listed_404(endpoint_build, tmp_path):
    """A file in the build folder is served only when the manifest lists it."""
    import shutil

    from conftest import endpoint_settings

    from mrkg.web import create_app

    build = tmp_path / "build"
    shutil.copytree(endpoint_build, build)
    manifest = json.loads((build / "manifest.json").read_text())
    del manifest["files"]["mrkg.nq"]
    (build / "manifest.json").write_text(json.dumps(manifest))
    app = create_app(endpoint_settings(build, "oxigraph", executor="pool", workers=1))
    try:
        client = app.test_client()
        assert client.get("/download/mrkg.nq").status_code == 404
        assert client.get("/download/mrkg.trig").status_code == 200
    finally:
        app.extensions["mrkg"].close()


def test_get_download_nquads_listed(client, endpoint_build):
    response = client.get("/download/mrkg.nq")
    assert (response.status_code, response.mimetype) == (200, "application/n-quads")
    assert response.data == (endpoint_build / "mrkg.nq").read_bytes()


# --- linked-data pages -------------------------------------------------------------------------------------

def test_get_entity_html(client):
    response = client.get(BACLOFEN, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<h1 id=\"title\">baclofen</h1>" in page
    assert 'id="identity"' in page and 'id="adverse"' in page  # grouped by kind: class, adverse outcomes
    assert "Baclofen is not a benzodiazepine." in page  # the quote
    assert 'class="badge negated"' in page  # negated claim shown
    assert "hedged: “may”" in page  # hedge cue
    assert 'class="badge conflict"' in page and "polarity conflict" in page  # conflict shown
    assert 'href="/source/001"' in page  # the source


def test_get_entity_default_html(client):
    assert client.get(BACLOFEN).mimetype == "text/html"


@pytest.mark.parametrize("media_type", ["text/turtle", "application/ld+json", "application/n-triples",
                                        "application/rdf+xml"])
def test_get_entity_rdf(client, media_type):
    response = client.get(BACLOFEN, headers={"Accept": media_type})
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert b"Lioresal" in response.data
    assert response.headers["Vary"] == "Accept"


def test_get_entity_format_param(client):
    response = client.get(BACLOFEN, query_string={"format": "jsonld"})
    assert response.mimetype == "application/ld+json"
    assert any(node.get("@id", "").endswith("/entity/baclofen") for node in json.loads(response.data))


def test_get_entity_unacceptable_406(client):
    assert client.get(BACLOFEN, headers={"Accept": "image/png"}).status_code == 406


def test_get_entity_unknown_404(client):
    assert client.get("/entity/no-such-drug").status_code == 404
    assert client.get("/entity/no-such-drug", headers={"Accept": "text/turtle"}).status_code == 404


def test_get_entity_if_none_match_304(client):
    first = client.get(BACLOFEN)
    assert client.get(BACLOFEN, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_get_claim_html(client):
    page = client.get(NEGATED).get_data(as_text=True)
    assert "baclofen is not a benzodiazepine" in page
    assert "conflicts with" in page and "/claim/002-baclofen-benzodiazepine" in page


def test_get_source_html(client):
    page = client.get("/source/001").get_data(as_text=True)
    assert "Test source one" in page
    assert "Baclofen may cause drowsiness." in page


def test_get_conflict_html(client):
    response = client.get("/conflict/baclofen-benzodiazepine")
    assert response.status_code == 200
    assert "sources disagree" in response.get_data(as_text=True)


def test_get_page_rejects_iri_injection(client):
    assert client.get("/entity/x%3E%20%3Fp%20%3Fo%20%7D%20%23").status_code == 404


# --- security headers, on a real server ------------------------------------------------------------------------

ROUTES = ["/", "/?query=ASK%7B%7D", "/sparql", "/sparql?query=ASK%7B%7D", "/void", "/health", "/download/",
          "/download/mrkg.trig", "/static/mrkg-ui.js", BACLOFEN, "/nothing/here", "/sparql?query=SELECT"]


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
@pytest.mark.parametrize("path", ROUTES)
def test_get_any_route_security_headers(live_server, path):
    from mrkg.web.ops import CONTENT_SECURITY_POLICY

    answer = http_request(live_server.url + path, headers={"Accept": "*/*"})
    assert answer.status in {200, 400, 404}, (path, answer.status)
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["Referrer-Policy"] == "same-origin"


def test_content_security_policy_allows_only_this_server():
    from mrkg.web.ops import CONTENT_SECURITY_POLICY

    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"  # no inline script
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "http" not in CONTENT_SECURITY_POLICY and "*" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
@pytest.mark.parametrize("path,name", [("/?query=ASK%20%7B%7D%E9", "query"), (f"{BACLOFEN}?format=%FF", "format")])
def test_get_page_parameter_not_utf8_400_names_it(live_server, path, name):
    answer = http_request(live_server.url + path)
    assert (answer.status, answer.media_type) == (400, "text/plain")
    assert answer.text.startswith(f"Parameter {name!r} in the query string is not UTF-8 text"), answer.text


# --- links only to the web and to our own pages; the UI's endpoint never from the client's Host ------------------

# Minted IRIs of every kind a query can return: only the http(s) ones and ours may become links.
MINTED = ('SELECT ?x WHERE { { VALUES ?x { <https://w3id.org/mrkg/entity/baclofen> <https://example.org/a> '
          '<mailto:a@example.org> <urn:x:1> <data:text/html,x> } } UNION { BIND(IRI("javascript:alert(1)") AS ?x) } }')


class _Links(HTMLParser):
    """The links (href) and the text of the cells of a page's #results table."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.cells: list[str] = []
        self._in_results = self._in_cell = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_results |= attrs.get("id") == "results"
        if self._in_results and tag == "a":
            self.hrefs.append(attrs.get("href"))
        if self._in_results and tag == "td":
            self._in_cell = True
            self.cells.append("")

    def handle_endtag(self, tag):
        self._in_cell &= tag != "td"

    def handle_data(self, data):
        if self._in_cell:
            self.cells[-1] += data


def _links(page: str) -> _Links:
    parser = _Links()
    parser.feed(page)
    return parser


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_get_index_plain_form_links_only_web_iris(live_server):
    answer = http_request(live_server.url + "/?" + urllib.parse.urlencode({"query": MINTED}))
    assert answer.status == 200
    links = _links(answer.text)
    assert sorted(links.cells) == sorted(["ent:baclofen", "https://example.org/a", "mailto:a@example.org", "urn:x:1",
                                          "data:text/html,x", "javascript:alert(1)"])
    assert sorted(links.hrefs) == ["/entity/baclofen", "https://example.org/a"]
    assert "javascript:" not in answer.text.split('id="results"')[1].replace(">javascript:alert(1)<", "")


def test_local_href_only_for_web_and_own_iris():
    from mrkg.web.ui import local_href

    assert local_href("https://w3id.org/mrkg/entity/baclofen") == "/entity/baclofen"
    for iri in ("http://purl.obolibrary.org/obo/CHEBI_2972", "HTTPS://example.org/a"):
        assert local_href(iri) == iri
    # "//host/..." is another site for a browser: the IRI itself, never our own path
    assert local_href("https://w3id.org/mrkg//evil.example/x") == "https://w3id.org/mrkg//evil.example/x"
    for iri in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
                "data:text/html,x", "vbscript:x", "mailto:a@example.org", "file:///etc/passwd", "urn:x:1", "ftp://x/"):
        assert local_href(iri) is None, iri


def test_get_entity_html_links_only_web_iris(tmp_path):
    from pyoxigraph import Literal, NamedNode, Quad, Store

    from mrkg.web import create_app

    entity, see_also = NamedNode("https://w3id.org/mrkg/entity/x"), NamedNode("http://www.w3.org/2000/01/rdf-schema#seeAlso")
    store = Store()
    graph = NamedNode("https://w3id.org/mrkg/graph/entities")
    store.add(Quad(entity, NamedNode("http://www.w3.org/2000/01/rdf-schema#label"), Literal("x"), graph))
    for target in ("javascript:alert(1)", "https://example.org/a", "urn:x:1"):
        store.add(Quad(entity, see_also, NamedNode(target), graph))
    app = create_app({"build_dir": str(tmp_path / "none"), "access_log": False, "workers": 1, "executor": "pool",
                      "cache_bytes": 0}, store=store)
    try:
        page = app.test_client().get("/entity/x").get_data(as_text=True)
    finally:
        app.extensions["mrkg"].close()
    assert '<a href="https://example.org/a">https://example.org/a</a>' in page
    assert "<td>javascript:alert(1)</td>" in page and "<td>urn:x:1</td>" in page
    assert 'href="javascript:' not in page and 'href="urn:' not in page and 'href="None"' not in page


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_get_index_endpoint_not_from_host_header(live_server):
    answer = http_request(live_server.url + "/", headers={"Host": "evil.example:8443"})
    assert answer.status == 200
    config = json.loads(re.search(r'<script type="application/json" id="mrkg-config">(.*?)</script>', answer.text,
                                  re.S).group(1))
    assert config["endpoint"] == "/sparql"
    assert "evil.example" not in answer.text
