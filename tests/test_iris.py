"""Every IRI of the dataset's namespace that the build uses resolves (issue 16): found by reading the real build
(mrkg.nq and void.ttl) and the shapes, each one's path answers 200 on a real `mrkg serve` as HTML and as Turtle;
and the w3id.org redirect rules send every one of them to a route the server has."""

from __future__ import annotations

import http.client
import urllib.parse
from pathlib import Path

import pytest
from conftest import REPO, start_server, stop_server

BASE = "https://w3id.org/mrkg/"
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # what Chromium sends
SAMPLED = ("claim/", "mapping/")  # thousands of IRIs of one shape each: every sub-path kind, the first few of each
PER_SHAPE = 5


def _namespace_iris(build: Path) -> set[str]:
    from pyoxigraph import NamedNode, RdfFormat, parse

    found = set()
    for path, fmt in ((build / "mrkg.nq", RdfFormat.N_QUADS), (build / "void.ttl", RdfFormat.TURTLE),
                      *((p, RdfFormat.TURTLE) for p in sorted((REPO / "shapes").glob("*.ttl")))):
        for quad in parse(path=str(path), format=fmt):
            for term in (quad.subject, quad.predicate, quad.object, getattr(quad, "graph_name", None)):
                if isinstance(term, NamedNode) and term.value.startswith(BASE):
                    found.add(term.value.split("#", 1)[0])
    return found


def _shape(rest: str) -> tuple:
    """An IRI path's shape: its family, its depth and its last segment when deeper than family/id (/annotation...)."""
    depth = rest.count("/")
    return rest.split("/", 1)[0], depth, rest.rsplit("/", 1)[-1] if depth > 1 else ""


def _checked_paths(iris: set[str]) -> list[tuple[str, bool]]:
    """(path, whether its HTML is fetched too) for every IRI, except claims and mappings (thousands, of a few shapes):
    of those the first PER_SHAPE of each shape. The pages of pages.py (one template, ~0.3 s each) are fetched as HTML
    for the first PER_SHAPE of each shape; every path is fetched as Turtle."""
    from mrkg.web.pages import KINDS

    paths, seen = [], {}
    for iri in sorted(iris):
        rest = iri[len(BASE):]
        shape = _shape(rest)
        seen[shape] = seen.get(shape, 0) + 1
        if rest.startswith(SAMPLED) and seen[shape] > PER_SHAPE:
            continue
        paths.append(("/" + rest, shape[0] not in KINDS or seen[shape] <= PER_SHAPE or rest == "entity/baclofen"))
    return paths


@pytest.fixture(scope="module")
def real_server(build_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-iris") / "serve.log"
    server = start_server(build_dir, "oxigraph", log, queries_dir=str(REPO / "queries"), max_rows=10000,
                          max_query_chars=100_000)  # the settings' defaults (the tests' own are smaller)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def iris(build_dir) -> set[str]:
    found = _namespace_iris(build_dir)
    # what the issue found answering 404, so that the reading of the build cannot silently miss them
    for must in ("ontology", "dataset", "dataset/source/001", "graph/source/001", "graph/asserted",
                 "shapes/ClaimShape", "entity/baclofen", "ontology/Claim", "sparql"):
        assert BASE + must in found, must
    return found


def _get(connection: http.client.HTTPConnection, path: str, accept: str, hops: int = 3) -> tuple[int, str, bytes]:
    """GET ``path``, following a redirect to another path of the same server (303 See Other keeps Accept)."""
    path, _, query = path.partition("?")
    target = urllib.parse.quote(path, safe="/:@!$&'()*+,;=-._~") + (f"?{query}" if query else "")
    connection.request("GET", target, headers={"Accept": accept})
    response = connection.getresponse()
    body = response.read()
    location = response.headers.get("Location", "")
    if response.status in {301, 302, 303, 307, 308} and hops:
        parts = urllib.parse.urlsplit(urllib.parse.urljoin(f"http://{connection.host}:{connection.port}{path}",
                                                           location))
        if parts.netloc == f"{connection.host}:{connection.port}":
            return _get(connection, urllib.parse.unquote(parts.path) + (f"?{parts.query}" if parts.query else ""),
                        accept, hops - 1)
    return response.status, response.headers.get("Content-Type", ""), body


def test_every_iri_of_the_namespace_answers_html_and_turtle(real_server, iris):
    from pyoxigraph import RdfFormat, parse

    paths = _checked_paths(iris)
    assert len(paths) > 500 and sum(html for _, html in paths) > 100, len(paths)
    parts = urllib.parse.urlsplit(real_server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    failures = []
    try:
        for path, html in paths:
            download = path.startswith("/download/")
            if html:
                status, media, body = _get(connection, path, HTML)
                if status != 200 or (not download and not media.startswith("text/html")):
                    failures.append(f"{path} (HTML): {status} {media} {body[:120]!r}")
            status, media, body = _get(connection, path, "text/turtle")
            if status != 200:
                failures.append(f"{path} (Turtle): {status} {media} {body[:120]!r}")
            elif not download and path != "/sparql":  # the endpoint's Turtle is its Service Description, too
                if not media.startswith("text/turtle"):
                    failures.append(f"{path} (Turtle): {media}")
                else:
                    try:
                        triples = list(parse(body, format=RdfFormat.TURTLE))
                    except SyntaxError as exc:
                        failures.append(f"{path} (Turtle): does not parse: {exc}")
                    else:
                        if not triples:
                            failures.append(f"{path} (Turtle): no triples")
    finally:
        connection.close()
    assert not failures, f"{len(failures)} of {len(paths)} paths fail:\n" + "\n".join(failures[:30])


def test_index_pages_list_their_members(real_server):
    for path, member in (("/entity/", "/entity/baclofen"), ("/source/", "/source/001"),
                         ("/conflict/", "/conflict/polarity--"), ("/graph/", "/graph/asserted"),
                         ("/shapes/", "/shapes/ClaimShape")):
        parts = urllib.parse.urlsplit(real_server.url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        status, media, body = _get(connection, path, HTML)
        connection.close()
        assert status == 200 and media.startswith("text/html"), (path, status)
        assert f'href="{member}' in body.decode(), (path, member)


def test_graph_page_says_what_it_holds_and_links_a_query(real_server):
    parts = urllib.parse.urlsplit(real_server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    status, _, body = _get(connection, "/graph/source/001", HTML)
    text = body.decode()
    assert status == 200
    assert "the claims of source 001" in text and "triples" in text
    assert "/?query=SELECT" in text  # the query page, with the graph's triples
    status, _, body = _get(connection, "/graph/source/001", "text/turtle")
    connection.close()
    assert "void:triples" in body.decode() and "sd:NamedGraph" in body.decode()


def test_void_and_service_description_are_pages_for_browsers_and_rdf_for_clients(real_server):
    parts = urllib.parse.urlsplit(real_server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    status, media, body = _get(connection, "/void", HTML)
    assert status == 200 and media.startswith("text/html") and "VoID description" in body.decode()
    status, media, body = _get(connection, "/void", "text/turtle")
    assert status == 200 and media.startswith("text/turtle") and b"void:Dataset" in body
    status, media, body = _get(connection, "/sparql?format=html", "*/*")
    assert status == 200 and media.startswith("text/html") and "SPARQL Service Description" in body.decode()
    status, media, body = _get(connection, "/sparql", "text/turtle")
    connection.close()
    assert status == 200 and b"sd:Service" in body


def test_unknown_iris_still_404(real_server):
    parts = urllib.parse.urlsplit(real_server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    for path in ("/graph/nothing", "/dataset/nothing", "/shapes/NoShape", "/ontology/NoSuchTerm"):
        status, _, _ = _get(connection, path, "text/turtle")
        assert status == 404, path
    connection.close()


# --- the w3id.org redirect rules ---------------------------------------------------------------------------------

def test_w3id_rules_send_every_iri_to_a_route_the_server_has(build_dir, iris):
    from mrkg.web.app import create_app
    from mrkg.web.w3id import PLACEHOLDER, VARIABLE, parse, render, resolve
    from werkzeug.exceptions import NotFound

    shipped = (REPO / "w3id" / "mrkg" / ".htaccess").read_text(encoding="utf-8")
    assert shipped == render(), "w3id/mrkg/.htaccess is stale: run `mrkg w3id --out w3id/mrkg/.htaccess`"
    env, rules = parse(shipped)
    assert env == {VARIABLE: PLACEHOLDER}
    assert all(rule.flags in {"R=303,L", "R=307,L"} for rule in rules)
    app = create_app({"build_dir": str(build_dir), "access_log": False})
    try:
        urls = app.url_map.bind("localhost")
        unmatched, unrouted = [], []
        for iri in sorted(iris | {BASE, BASE + "entity/", BASE + "ontology/", BASE + "void"}):
            target = resolve((env, rules), iri[len(BASE):])
            if target is None:
                unmatched.append(iri)
                continue
            assert target.startswith(PLACEHOLDER + "/"), target
            path = target[len(PLACEHOLDER):]
            assert path == "/" + iri[len(BASE):], (iri, target)  # the server mirrors the IRIs' paths
            try:
                urls.match(path, method="GET")
            except NotFound:
                unrouted.append(path)
        assert not unmatched, f"IRIs no rule redirects: {unmatched[:10]}"
        assert not unrouted, f"rules lead to paths the server has no route for: {unrouted[:10]}"
        assert resolve((env, rules), "nothing/here") is None
    finally:
        app.extensions["mrkg"].close()


def test_w3id_rules_for_a_deployment(tmp_path):
    import subprocess
    import sys

    from mrkg.web.w3id import parse, resolve

    out = tmp_path / ".htaccess"
    done = subprocess.run([sys.executable, "-m", "mrkg", "w3id", "--server", "https://data.example.net/mrkg",
                           "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "PLACEHOLDER" not in text
    assert resolve(parse(text), "entity/baclofen") == "https://data.example.net/mrkg/entity/baclofen"
    bad = subprocess.run([sys.executable, "-m", "mrkg", "w3id", "--server", "javascript:alert(1)"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "not an http(s) address" in bad.stderr
