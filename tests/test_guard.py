"""The guard's own machinery: the render-back check, the verdict cache, the recursion limit, the OFFSET bound."""

from __future__ import annotations

import sys

import pytest

from mrkg.engine import canonical
from mrkg.engine.errors import QueryError
from mrkg.engine.guard import GuardCache, Limits, check_query

LIMITS = Limits(max_offset=100)


def test_a_renderer_that_changes_the_query_is_caught(monkeypatch):
    """If the canonical text did not read back as itself (here: a renderer that drops FILTERs), the query is
    refused with a 400 instead of running something else."""
    real = canonical._Renderer.part

    def lossy(self, node):
        return "" if node.name == "Filter" and self.patterns == 1 else real(self, node)

    monkeypatch.setattr(canonical._Renderer, "part", lossy)
    with pytest.raises(QueryError) as info:
        check_query("SELECT * WHERE { ?s ?p ?o FILTER(?o = 1) }", base=None, prefixes={}, limits=LIMITS)
    assert info.value.status == 400 and "canonical form" in info.value.message


def test_canonical_text_is_plain():
    """No comment, prefixed name, \\u escape or relative IRI survives into what runs."""
    text = check_query("PREFIX ex: <urn:ex:> # a comment\nSELECT * WHERE { ?s ex:p \"caf\\u00E9\" ; ex:q <x> }",
                       base="http://h/sparql", prefixes={}, limits=LIMITS).text
    assert text == ('BASE <http://h/sparql> SELECT * WHERE { ?s <urn:ex:p> "café" . ?s <urn:ex:q> <http://h/x> . }')


@pytest.mark.parametrize("offset,status", [(100, 200), (101, 400)])
def test_offset_boundary(offset, status):
    query = f"SELECT * WHERE {{ {{ SELECT * WHERE {{ ?s ?p ?o }} OFFSET {offset} }} }}"
    try:
        check_query(query, base=None, prefixes={}, limits=LIMITS)
        got = 200
    except QueryError as exc:
        got = exc.status
        assert "OFFSET" in exc.message
    assert got == status


@pytest.mark.parametrize("text", ["SELECT * WHERE { ?s ?p ?o }", "SELECT nonsense", "SELECT * WHERE " + "{" * 60 + "}" * 60])
def test_recursion_limit_restored(text):
    before = sys.getrecursionlimit()
    try:
        check_query(text, base=None, prefixes={}, limits=LIMITS)
    except QueryError:
        pass
    assert sys.getrecursionlimit() == before


def test_verdict_cache_parses_once_and_keeps_refusals(monkeypatch):
    import mrkg.engine.guard as guard

    calls = []
    real = guard.check_query
    monkeypatch.setattr(guard, "check_query", lambda text, **kw: calls.append(text) or real(text, **kw))
    cache = GuardCache(LIMITS, {}, size=2)
    first = cache.check("ASK { ?s ?p ?o }", None)
    assert cache.check("ASK { ?s ?p ?o }", None) is first
    for _ in range(2):
        with pytest.raises(QueryError):
            cache.check("INSERT DATA { <a> <b> <c> }", None)
    assert calls == ["ASK { ?s ?p ?o }", "INSERT DATA { <a> <b> <c> }"]
    cache.check("ASK { ?s ?p 1 }", None)  # a third entry: the least recently used one goes
    cache.check("ASK { ?s ?p ?o }", None)
    assert calls[-1] == "ASK { ?s ?p ?o }" and len(calls) == 4
    cache.check("ASK { ?s ?p ?o }", "http://elsewhere/")  # the base is part of the key
    assert len(calls) == 5


def test_verdict_cache_refusal_is_the_same_every_time_and_holds_no_frames():
    """A memoised refusal is raised afresh: the same status and message, and a traceback of this raise only (raising
    the memoised exception again would chain each raise's frames onto it, a leak that grows with every request)."""
    cache = GuardCache(LIMITS, {})
    query = "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"
    seen = []
    for _ in range(5):
        with pytest.raises(QueryError) as info:
            cache.check(query, None)
        frames, tb = 0, info.value.__traceback__
        while tb is not None:
            frames, tb = frames + 1, tb.tb_next
        seen.append((type(info.value), info.value.status, info.value.message, frames))
    assert seen[0][1] == 403 and "SERVICE" in seen[0][2]
    assert len(set(seen[1:])) == 1 and seen[1] == seen[-1]  # no traceback grows with the hits
