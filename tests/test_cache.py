"""The result cache: keyed by the guard's canonical query, format and dataset version; complete answers only;
bounded."""

from __future__ import annotations

import pytest
from conftest import endpoint_settings

from mrkg.engine.cache import CACHE_HEADER, ResultCache
from mrkg.engine.errors import QueryTimeoutError
from mrkg.engine.runner import Answer, Job


def _canonical(text: str, base: str | None = None) -> str:
    from mrkg.engine.guard import Limits, check_query

    return check_query(text, base=base, prefixes={"ex": "urn:ex:"}, limits=Limits()).text


@pytest.mark.parametrize("a,b", [
    ("SELECT * WHERE { ?s ?p ?o }", "SELECT *\n  WHERE {\t?s ?p ?o }  # all of it\n"),
    ("ASK { <urn:a#b> ?p ?o }", "ASK{ <urn:a#b>   ?p ?o }"),
    ("SELECT * WHERE { ?s ?p ?o FILTER(?o < 3) }", "SELECT * WHERE { ?s ?p ?o FILTER(?o   <   3) }"),
    ("ASK { ?s ex:a ?o }", "PREFIX ex: <urn:ex:> ASK { ?s <urn:ex:a> ?o }"),
    # The poisoning of 2026-12-01 (a comment ended by \r, which pyoxigraph read as code): one key, because the
    # key is the text that runs, and what runs is the guard's reading, in which it is all comment.
    ("SELECT * WHERE { ?s ?p ?o }", "SELECT * WHERE { # \r ?s ?p 1 . \n ?s ?p ?o }"),
])
def test_key_same_query(a, b):
    """The key is the guard's canonical text: the same question, however it is laid out, is one entry."""
    assert _canonical(a) == _canonical(b)


@pytest.mark.parametrize("a,b", [
    ('ASK { ?s ?p "a  b" }', 'ASK { ?s ?p "a b" }'),  # whitespace inside a string matters
    ("ASK { ?s ?p '# not a comment' }", "ASK { ?s ?p '' }"),
    ('ASK { ?s ?p """x\n  # y""" }', 'ASK { ?s ?p """x\n""" }'),
    ("ASK { <urn:a#b> ?p ?o }", "ASK { <urn:a> ?p ?o }"),  # a '#' in an IRI is not a comment
    (r"ASK { ?s ex:a\#b ?o }", "ASK { ?s ex:a ?o }"),  # nor an escaped one in a prefixed name
    ("SELECT ?a WHERE { ?a ?b ?c }", "SELECT ?b WHERE { ?a ?b ?c }"),
])
def test_key_different_queries(a, b):
    assert _canonical(a) != _canonical(b)


def _answer(body=b"{}", **kw) -> Answer:
    return Answer(status=200, content_type="application/sparql-results+json", body=body, form="SELECT", rows=1, **kw)


def test_repeated_query_is_a_hit():
    cache, calls = ResultCache(1 << 20), []

    def compute(job):
        calls.append(job)
        return _answer()

    first = cache.run(Job("ASK {}", accept="application/json"), _canonical("ASK {}"), "v1", compute)
    again = cache.run(Job("ASK  {}  # again", accept="application/json"), _canonical("ASK  {}  # again"), "v1",
                      compute)
    assert (first.headers[CACHE_HEADER], again.headers[CACHE_HEADER]) == ("miss", "hit")
    assert len(calls) == 1 and (cache.hits, cache.misses) == (1, 1)
    assert again.body == first.body


def test_new_dataset_version_misses():
    cache = ResultCache(1 << 20)
    cache.run(Job("ASK {}"), "ASK {}", "v1", lambda job: _answer())
    assert cache.get(Job("ASK {}"), "ASK {}", "v2") is None
    assert cache.get(Job("ASK {}"), "ASK {}", "v1") is not None


@pytest.mark.parametrize("other", [Job("ASK {}", accept="text/csv"), Job("ASK {}", format="xml"),
                                   Job("ASK {}", default_graphs=["urn:g"]), Job("ASK {}", named_graphs=["urn:g"]),
                                   Job("ASK {}", base="http://elsewhere/")])
def test_format_and_dataset_are_in_the_key(other):
    cache = ResultCache(1 << 20)
    cache.put(Job("ASK {}"), "ASK {}", "v1", _answer())
    assert cache.get(other, "ASK {}", "v1") is None


def test_errors_and_truncated_answers_are_not_kept():
    cache = ResultCache(1 << 20)
    assert not cache.put(Job("A"), "A", "v", Answer(status=400, body=b"bad"))
    assert not cache.put(Job("B"), "B", "v", _answer(truncated=True))
    assert len(cache) == 0

    def timeout(job):
        raise QueryTimeoutError(503, "stopped")

    with pytest.raises(QueryTimeoutError):
        cache.run(Job("C"), "C", "v", timeout)
    assert len(cache) == 0


def test_bounded_by_bytes_least_recently_used_first():
    cache = ResultCache(3000, max_entry_bytes=3000)
    for name in "abc":
        cache.put(Job(name), name, "v", _answer(b"x" * 600))
    cache.get(Job("a"), "a", "v")  # a is now the most recently used
    cache.put(Job("d"), "d", "v", _answer(b"x" * 600))
    assert cache.bytes <= 3000
    assert cache.get(Job("b"), "b", "v") is None and cache.get(Job("a"), "a", "v") is not None
    assert not cache.put(Job("huge"), "huge", "v", _answer(b"x" * 5000))


def test_invalid_size():
    with pytest.raises(ValueError):
        ResultCache(0)


# --- through the endpoint ---------------------------------------------------------------------------------

@pytest.fixture
def make_app(endpoint_build):
    from mrkg.web import create_app

    apps = []

    def make(**overrides):
        app = create_app({"TESTING": True, **endpoint_settings(endpoint_build, "oxigraph", executor="pool", **overrides)})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["mrkg"].close()


def test_get_sparql_repeated_query_served_from_cache(make_app):
    client = make_app().test_client()
    query = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}
    first = client.get("/sparql", query_string=query)
    second = client.get("/sparql", query_string={"query": query["query"] + "\n# same question\n"})
    assert first.headers[CACHE_HEADER] == "miss" and second.headers[CACHE_HEADER] == "hit"
    assert first.data == second.data and second.headers["MRKG-Rows"] == "1"
    stats = client.application.extensions["mrkg"].cache.stats()
    assert (stats["hits"], stats["misses"]) == (1, 1)


def test_get_sparql_errors_not_cached(make_app):
    """A refused query never reaches the cache (the guard answers first); an evaluation error is not kept."""
    client = make_app().test_client()
    for _ in range(2):
        response = client.get("/sparql", query_string={"query": "SELECT nonsense"})
        assert response.status_code == 400 and CACHE_HEADER not in response.headers
    for _ in range(2):  # parses, then fails in the engine: computed each time
        response = client.get("/sparql", query_string={"query": "SELECT ?x WHERE { ?x ?p ?o } GROUP BY ?p"})
        assert response.status_code == 400 and response.headers[CACHE_HEADER] == "miss"
    assert client.application.extensions["mrkg"].cache.stats()["hits"] == 0


def test_get_sparql_cache_off(make_app):
    app = make_app(cache_bytes=0)
    assert app.extensions["mrkg"].cache is None
    response = app.test_client().get("/sparql", query_string={"query": "ASK {}"})
    assert response.status_code == 200 and CACHE_HEADER not in response.headers


def test_new_build_version_misses(tmp_path, sources_dir, reference_tsv):
    """Two real builds into one build/ (the second from a copy of the facts without source 004): the app started
    on the first keeps answering from its own build, from the cache; an app started on the second, even holding
    the first one's cache, misses and answers from the new data."""
    import shutil

    from conftest import REPO

    from mrkg.build import run_build
    from mrkg.web import create_app

    facts, out = tmp_path / "facts", tmp_path / "build"
    shutil.copytree(REPO / "facts", facts)
    run_build(facts, REPO / "ontology", sources_dir, reference_tsv, out)
    count = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?claim a mrkg:Claim }"}
    apps = []
    try:
        apps.append(create_app({"TESTING": True, **endpoint_settings(out, "oxigraph", executor="pool")}))
        first = apps[0].test_client()
        before = first.get("/sparql", query_string=count)
        assert before.headers[CACHE_HEADER] == "miss"
        (facts / "sources" / "004.yaml").unlink()  # a copy: facts/ itself is never changed
        (facts / "coverage" / "004.yaml").unlink()  # with the source go its triage and the conflict decisions
        (facts / "conflicts.yaml").unlink()  # that name its claims (the build refuses stale ones)
        run_build(facts, REPO / "ontology", sources_dir, reference_tsv, out)

        again = first.get("/sparql", query_string=count)
        assert again.headers[CACHE_HEADER] == "hit" and again.data == before.data
        assert again.headers["ETag"] == before.headers["ETag"]  # the ETag carries the build it came from

        apps.append(create_app({"TESTING": True, **endpoint_settings(out, "oxigraph", executor="pool")}))
        apps[1].extensions["mrkg"].cache = apps[0].extensions["mrkg"].cache  # one cache across the move
        assert apps[1].extensions["mrkg"].release.sha256 != apps[0].extensions["mrkg"].release.sha256
        after = apps[1].test_client().get("/sparql", query_string=count)
        assert after.headers[CACHE_HEADER] == "miss" and after.headers["ETag"] != before.headers["ETag"]
        n = [int(r.json["results"]["bindings"][0]["n"]["value"]) for r in (before, after)]
        assert n[0] > n[1] > 0, n
    finally:
        for app in apps:
            app.extensions["mrkg"].close()
