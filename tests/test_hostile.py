"""The hostile corpus (tests/hostile/) against the guard, the engines and a real `mrkg serve` per engine.

What is checked is what runs: the guard parses a query once and engines evaluate only the canonical rendering of
that parse. So a text that two parsers read differently cannot smuggle a SERVICE past the guard, cannot share a
cache key with a query of another meaning, and cannot reach an engine deeper than max_query_depth.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import LEAKED_REPLY, ConnectionCounter, start_server, stop_server, worker_pids
from hostile.queries import ORDINARY, POISON, SERVICE_DIFFERENTIALS, UPDATES, all_queries, crashers
from mrkg.engine.errors import QueryError
from mrkg.engine.guard import Limits, check_query
from mrkg.web.app import PREFIX_MAP

BASE = "http://127.0.0.1:8000/sparql"
CORPUS = all_queries()


def _service_free(text: str) -> bool:
    """True when rdflib's parse of ``text`` holds no SERVICE anywhere (the canonical text has no comments)."""
    from rdflib.plugins.sparql.parser import parseQuery
    from rdflib.plugins.sparql.parserutils import CompValue

    stack: list = [parseQuery(text)]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            if node.name == "ServiceGraphPattern":
                return False
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return True


def _verdict(text: str) -> tuple[int, str]:
    try:
        return 200, check_query(text, base=BASE, prefixes=PREFIX_MAP, limits=Limits()).text
    except QueryError as exc:
        return exc.status, exc.message


# --- the guard and the engines, in process ------------------------------------------------------------------

@pytest.mark.parametrize("hostile", CORPUS, ids=lambda h: h.name)
def test_guard_answers_each_hostile_query_as_expected(hostile):
    status, text = _verdict(hostile.for_listener("http://127.0.0.1:9"))
    assert status in hostile.statuses, (hostile.why, text)
    if status == 200:
        assert _service_free(text)


@pytest.mark.parametrize("hostile", SERVICE_DIFFERENTIALS, ids=lambda h: h.name)
def test_canonical_text_makes_pyoxigraph_call_no_one(hostile, leaky_counter):
    """pyoxigraph, given what the guard hands on, never connects; given the raw text it did (the differential)."""
    import pyoxigraph

    status, text = _verdict(hostile.for_listener(leaky_counter.url))
    if status != 200:
        return
    store = pyoxigraph.Store()
    result = store.query(text, use_default_graph_as_union=True)
    if isinstance(result, pyoxigraph.QueryBoolean):
        bool(result)
    else:
        list(result)
    assert leaky_counter.settle() == 0


def test_the_differential_is_real(leaky_counter):
    """The attack above means something: pyoxigraph, given the raw text, does call the listener."""
    import pyoxigraph

    text = SERVICE_DIFFERENTIALS[0].for_listener(leaky_counter.url)
    try:
        list(pyoxigraph.Store().query(text))
    except OSError:
        pass
    assert leaky_counter.settle() >= 1


def test_crashers_are_refused_before_any_parser(monkeypatch):
    """The raw-text limits refuse the crashers without running rdflib's parser at all."""
    import rdflib.plugins.sparql.parser as parser

    def no_parse(text):  # noqa: ARG001
        raise AssertionError("the parser ran")

    monkeypatch.setattr(parser, "parseQuery", no_parse)
    for hostile in crashers():
        if hostile.name == "deep-but-short":
            continue
        status, message = _verdict(hostile.text)
        assert status == 400 and "too" in message, (hostile.name, message)


def test_depth_is_measured_on_the_parse():
    """Under the raw limits but deeper than max_query_depth: refused with a sentence naming the setting."""
    status, message = _verdict("SELECT * WHERE " + "{" * 60 + "?s ?p ?o" + "}" * 60)
    assert status == 400 and "max_query_depth" in message
    status, _ = _verdict("SELECT * WHERE " + "{" * 20 + "?s ?p ?o" + "}" * 20)
    assert status == 200


def test_pattern_count_is_measured_on_the_parse():
    text = "SELECT * WHERE { " + " ".join(f"?s <urn:p{i}> ?o{i} ." for i in range(300)) + " }"
    status, message = _verdict(text)
    assert status == 400 and "max_query_patterns" in message


def test_poisoned_query_renders_to_the_ordinary_query():
    """rdflib reads the crafted text as ORDINARY itself; that is all any engine will run, and its cache key."""
    assert _verdict(POISON.text)[1] == _verdict(ORDINARY)[1]


# --- generated variants ---------------------------------------------------------------------------------------

_LINE_ENDS = st.sampled_from(["\n", "\r", "\r\n", "\\u000A", "\\u000D", " "])
_NOISE = st.sampled_from(["", " ", "\t", "\f", "\\u0020", "#", "# c", "\"", "'", "\\u0022", "\\u0027", "\\u0023",
                          "\\u003C", "<", ">", "{", "}", "\"\"\"", "'''"])


@st.composite
def _smuggled(draw):
    """A query around a SERVICE pattern aimed at {listener}, wrapped in comments, strings and escapes."""
    service = draw(st.sampled_from(["SERVICE", "SERVICE SILENT", "service", "SeRvIcE"])) + " <{listener}/x> { ?s ?p ?o }"
    before = draw(st.lists(_NOISE, max_size=4))
    after = draw(st.lists(_NOISE, max_size=4))
    end = draw(_LINE_ENDS)
    depth = draw(st.integers(0, 3))
    core = "".join(before) + draw(st.sampled_from(["# c", '?s ?p "a\\u0022 # " .', "", "?s ?p ?o ."])) + end + \
        service + "".join(after) + draw(_LINE_ENDS)
    body = "{ " * depth + core + " }" * depth
    form = draw(st.sampled_from(["SELECT * WHERE { %s }", "ASK { %s }", "CONSTRUCT WHERE { ?s ?p ?o } ",
                                 "SELECT * WHERE { { SELECT * WHERE { %s } } }",
                                 "SELECT * WHERE { ?s ?p ?o FILTER NOT EXISTS { %s } }"]))
    return form % body if "%s" in form else form + "# " + body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_smuggled())
def test_fuzz_whatever_the_guard_accepts_calls_no_one(leaky_counter, text):
    import pyoxigraph

    status, canonical = _verdict(text.replace("{listener}", leaky_counter.url))
    if status != 200:
        assert status in (400, 403)
        return
    assert _service_free(canonical)
    result = pyoxigraph.Store().query(canonical)
    if isinstance(result, pyoxigraph.QueryBoolean):
        bool(result)
    else:
        list(result)
    assert leaky_counter.settle() == 0


# --- a real `mrkg serve` per engine -----------------------------------------------------------------------------

ENGINE_SERVERS = ["oxigraph", "memory", "remote"]


@pytest.fixture(scope="module", params=ENGINE_SERVERS)
def hostile_server(request, build_dir, tmp_path_factory):
    """`mrkg serve` of the real build, one HTTP worker (so that every request meets the same worker and cache),
    with the oxigraph (inline executor), memory (query pool) or remote (in front of `oxigraph serve`) engine."""
    extra = {}
    if request.param == "remote":
        extra["remote_endpoint"] = request.getfixturevalue("oxigraph_serve")(build_dir / "mrkg.nq")
    log = tmp_path_factory.mktemp(f"hostile-{request.param}") / "serve.log"
    server = start_server(build_dir, request.param, log, query_timeout=5.0, max_query_chars=100_000,
                          max_body_bytes=1_000_000, **extra)
    yield server
    stop_server(server)


def _send(server, text: str, how: str) -> tuple[int, bytes]:
    accept = {"Accept": "application/sparql-results+json, text/turtle;q=0.9"}
    if how == "get":
        request = urllib.request.Request(server.endpoint + "?" + urllib.parse.urlencode({"query": text}),
                                         headers=accept)
    elif how == "form":
        request = urllib.request.Request(server.endpoint, data=urllib.parse.urlencode({"query": text}).encode(),
                                         headers={**accept, "Content-Type": "application/x-www-form-urlencoded"})
    elif how == "direct":
        request = urllib.request.Request(server.endpoint, data=text.encode("utf-8"),
                                         headers={**accept, "Content-Type": "application/sparql-query"})
    else:  # the UI's plain form (no JavaScript)
        request = urllib.request.Request(server.url + "/?" + urllib.parse.urlencode({"query": text}))
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.parametrize("how", ["get", "form", "direct", "ui"])
def test_live_hostile_corpus_makes_no_connection_and_kills_no_worker(hostile_server, how):
    listener = ConnectionCounter(LEAKED_REPLY)
    try:
        before = worker_pids(hostile_server)
        for hostile in [*SERVICE_DIFFERENTIALS, *UPDATES, POISON]:
            status, body = _send(hostile_server, hostile.for_listener(listener.url), how)
            if how == "ui":  # the page answers 200 and shows the refusal as text
                assert status == 200 and b"LEAKED" not in body, hostile.name
                continue
            assert status in hostile.statuses, (hostile.name, status, body[:300])
            assert b"LEAKED" not in body and b"POISONED" not in body, hostile.name
        assert listener.settle() == 0
        assert worker_pids(hostile_server) == before
    finally:
        listener.close()


def test_live_crashers_refused_while_an_innocent_query_answers(hostile_server):
    """Each crasher gets a 400 with a sentence; an ordinary query sent meanwhile gets its answer; no worker died."""
    before = worker_pids(hostile_server)
    results: list[tuple[int, bytes]] = []
    innocent: list[tuple[int, bytes]] = []
    hostile = [threading.Thread(target=lambda h=h: results.append(_send(hostile_server, h.text, "form")))
               for h in crashers()]
    for thread in hostile:
        thread.start()
    innocent.append(_send(hostile_server, "ASK { ?s ?p ?o }", "get"))
    for thread in hostile:
        thread.join(timeout=120)
    assert sorted(status for status, _ in results) == [400] * len(crashers())
    assert all(b"too" in body.lower() for _, body in results)
    assert innocent == [(200, innocent[0][1])] and json.loads(innocent[0][1])["boolean"] is True
    assert worker_pids(hostile_server) == before


def test_live_cache_cannot_be_poisoned(hostile_server):
    """The crafted query first (same Accept, same Host), then the ordinary one: its true answer, every time."""
    truth_status, truth = _send(hostile_server, ORDINARY + " ", "form")  # a text of its own: its own cache entry
    assert truth_status == 200
    crafted_status, crafted = _send(hostile_server, POISON.text, "form")
    assert crafted_status == 200 and b"POISONED" not in crafted
    for _ in range(2):
        status, body = _send(hostile_server, ORDINARY, "form")
        assert status == 200 and b"POISONED" not in body
        assert json.loads(body)["results"] == json.loads(truth)["results"]


def test_live_log_has_no_leak_or_traceback(hostile_server):
    """After the corpus (runs last in this module for each engine): no pyoxigraph result dropped on another thread
    ("unsendable ... dropped on another thread", seen under load on 2026-12-01) and no traceback in the log."""
    for _ in range(3):  # a few plain queries of each form, so that the log sees every writer
        for text in ("SELECT * WHERE { ?s ?p ?o } LIMIT 5", "ASK { ?s ?p ?o }",
                     "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 5", "DESCRIBE <https://w3id.org/mrkg/entity/baclofen>"):
            assert _send(hostile_server, text, "form")[0] == 200
    log = hostile_server.log.read_text(errors="replace")
    assert "unsendable" not in log and "Traceback" not in log, log[-2000:]
