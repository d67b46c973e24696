"""Search (issue 16) over the real build: labels, synonyms, the sources' own words and quotes, ranked; /search as
HTML and JSON on a real `mrkg serve`; bad input answered 400 or empty, never 500; "did you mean" on a 404; the
query editor's term list."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from conftest import REPO, start_server, stop_server

ENT = "https://w3id.org/mrkg/entity/"


@pytest.fixture(scope="module")
def server(build_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-search") / "serve.log"
    server = start_server(build_dir, "oxigraph", log, queries_dir=str(REPO / "queries"), max_rows=10000,
                          max_query_chars=100_000)
    yield server
    stop_server(server)


def fetch(url: str, accept: str = "*/*") -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def search(server, q: str, **params) -> dict:
    status, media, body = fetch(f"{server.url}/search?" + urllib.parse.urlencode({"q": q, "format": "json",
                                                                                 **params}))
    assert status == 200 and media.startswith("application/json"), (status, body)
    return json.loads(body)


def test_exact_label_first(server):
    doc = search(server, "baclofen")
    first = doc["results"][0]
    assert first["iri"] == ENT + "baclofen" and first["match"] == "label" and first["href"] == "/entity/baclofen"
    assert first["kind"] == "drug"
    assert doc["total"] > len(doc["results"]) == 20  # bounded: the default limit


def test_synonym_and_source_words_find_the_entity(server):
    doc = search(server, "stomach upset")  # a synonym (skos:altLabel) of upset stomach
    assert doc["results"][0]["iri"] == ENT + "upset-stomach" and doc["results"][0]["match"] == "synonym"
    doc = search(server, "a natural brain chemical called GABA")  # a source's own words for GABA (objectText)
    assert doc["results"][0]["iri"] == ENT + "gaba"
    assert doc["results"][0]["match"] in {"synonym", "source words"}


def test_ranking_tiers(server):
    doc = search(server, "tizan", limit=50)
    tiers = [r["match"] for r in doc["results"]]
    assert doc["results"][0]["iri"] == ENT + "tizanidine" and tiers[0] == "prefix"
    order = ["label", "synonym", "source words", "prefix", "contains", "fuzzy", "quote"]
    ranks = [order.index(t) for t in tiers]
    assert ranks == sorted(ranks), tiers  # best tier first
    assert "quote" in tiers  # claims whose quote names it


def test_fuzzy_finds_a_misspelling(server):
    doc = search(server, "baclofn")
    assert doc["results"][0]["iri"] == ENT + "baclofen" and doc["results"][0]["match"] == "fuzzy"
    doc = search(server, "cyclobenzaprin")
    assert doc["results"][0]["iri"] == ENT + "cyclobenzaprine"


def test_quote_text_is_searched(server):
    doc = search(server, "if it upsets your stomach")  # words of a quote only
    assert doc["results"], doc
    assert all(r["match"] == "quote" and r["iri"].startswith("https://w3id.org/mrkg/claim/") for r in doc["results"])
    assert "if it upsets your stomach" in doc["results"][0]["text"]
    doc = search(server, "milk or a light snack")  # a source's own words for food, and the quote they are in
    assert [(r["iri"], r["match"]) for r in doc["results"][:2]] == [
        (ENT + "food", "source words"), ("https://w3id.org/mrkg/claim/003-baclofen-with-food-for-stomach", "quote")]


def test_limit_is_bounded(server):
    assert len(search(server, "a", limit=50)["results"]) == 50
    status, _, body = fetch(f"{server.url}/search?q=a&limit=51&format=json")
    assert status == 400 and "limit" in body
    status, _, body = fetch(f"{server.url}/search?q=a&limit=x&format=json")
    assert status == 400


@pytest.mark.parametrize("query, expected", [
    ("q=", 200), ("q=%20%20", 200), ("", 200),
    ("q=" + "x" * 201, 400), ("q=" + "baclofen+" * 1000, 400),
    ("q=%FF", 400), ("q=%C3%28", 400), ("q=a&q=b", 400), ("q=%00abc", 400),
    ("q=%3Cscript%3E", 200), ("q=%27%22%7B%7D%5C", 200), ("q=%F0%9F%92%8A", 200),
])
def test_bad_input_is_400_or_empty_never_500(server, query, expected):
    for fmt in ("json", "html"):
        status, media, body = fetch(f"{server.url}/search?{query}&format={fmt}")
        assert status == expected, (query, fmt, status, body[:200])
        if status == 400:
            assert media.startswith("text/plain") and len(body.splitlines()) == 1, body
        elif fmt == "json":
            results = json.loads(body)["results"]
            if query in {"q=", "q=%20%20", ""}:
                assert results == []
    status, _, body = fetch(f"{server.url}/search?q=%3Cscript%3Ealert(1)%3C/script%3E", "text/html")
    assert status == 200 and "<script>alert" not in body  # echoed escaped


def test_content_negotiation(server):
    status, media, body = fetch(f"{server.url}/search?q=baclofen", "application/json")
    assert status == 200 and media.startswith("application/json") and json.loads(body)["results"]
    status, media, body = fetch(f"{server.url}/search?q=baclofen",
                                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    assert status == 200 and media.startswith("text/html")
    assert 'href="/entity/baclofen"' in body and 'id="search-results"' in body
    status, _, _ = fetch(f"{server.url}/search?q=baclofen", "text/turtle")
    assert status == 406


def test_did_you_mean_on_a_404(server):
    status, media, body = fetch(f"{server.url}/entity/baclofn")  # */*, as curl sends
    assert status == 404 and media.startswith("text/plain")
    assert body.startswith("Not found: /entity/baclofn; did you mean /entity/baclofen")
    status, media, body = fetch(f"{server.url}/entity/baclofn", "text/html")
    assert status == 404 and media.startswith("text/html")
    assert 'id="did-you-mean"' in body and 'href="/entity/baclofen"' in body
    status, _, body = fetch(f"{server.url}/entity/zzzzqqqq")
    assert status == 404 and "did you mean" not in body  # no suggestion rather than a bad one
    status, _, body = fetch(f"{server.url}/no-such-route", "text/plain")
    assert status == 404 and body.strip() == "Not found: /no-such-route"


def test_search_box_on_every_page_works_without_javascript(server):
    for path in ("/", "/entity/baclofen", "/download/", "/entity/", "/graph/asserted", "/search"):
        status, _, body = fetch(server.url + path, "text/html")
        assert status == 200, path
        assert '<form class="site-search" role="search" method="get" action="/search">' in body, path
        assert '<label for="site-search-q">' in body and 'name="q"' in body, path


def test_terms_for_the_query_editor(server):
    status, media, body = fetch(f"{server.url}/search/terms")
    doc = json.loads(body)
    assert status == 200 and media.startswith("application/json")
    assert ENT + "baclofen" in doc["entities"]
    assert "https://w3id.org/mrkg/ontology/hasAdverseEffect" in doc["properties"]
    assert "https://w3id.org/mrkg/ontology/Drug" in doc["classes"]
    assert doc["prefixes"]["ent"] == ENT


def test_index_is_built_once_and_quickly(build_dir):
    from mrkg.web.app import create_app

    app = create_app({"build_dir": str(build_dir), "access_log": False})
    try:
        index = app.extensions["mrkg.search"]
        assert index.seconds < 10, index.seconds  # measured about 0.3 s on the real build (oxigraph)
        assert len(index.entities) > 200 and len(index.quotes) > 600
    finally:
        app.extensions["mrkg"].close()


def test_normalise():
    from mrkg.web.search import normalise

    assert normalise("  Baclofen (Lioresal) ") == "baclofen lioresal"
    assert normalise("Ém—dash") == "em dash"
    assert normalise("10-63%") == "10-63%"
