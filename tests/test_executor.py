"""The inline executor (engine/watchdog.py): queries evaluated in the HTTP worker, which is stopped at a query's
deadline after every client it would leave has been answered.

Unit tests drive the Watchdog with a fake exit; the live tests run real `mrkg serve` (gunicorn) processes and real
HTTP clients, and check that a runaway query never costs another client its answer (no reset connection, no
truncated 200), that memory is capped, and that the worker comes back.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest
from conftest import CARTESIAN, raw_sparql_get, start_server, stop_server

from mrkg.engine.watchdog import Watchdog

SMALL = "ASK { ?s a <https://w3id.org/mrkg/ontology/Drug> }"
# Sorting needs every row first: a cartesian product sorted grows memory until something stops it.
MEMORY_HOG = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i"


class Fake:
    """What the watchdog does to the outside world, recorded: answers, stops (no new connections), exit."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, str]] = []
        self.stops = 0
        self.exits = 0
        self.exited = threading.Event()

    def answer(self, status: int, message: str) -> None:
        self.answers.append((status, message))

    def stop(self) -> None:
        self.stops += 1

    def exit(self, code: int) -> None:
        self.exits += 1
        self.exited.set()


def _manual(fake: Fake, **options) -> Watchdog:
    """A watchdog without its thread: the test runs each round (``check``) itself, at the times it chooses."""
    return Watchdog(stop_accepting=fake.stop, exit=fake.exit, thread=False, **options)


class Query:
    """A request thread evaluating under ``watchdog.watch`` until ``release`` is set (or ``work`` returns)."""

    def __init__(self, watchdog: Watchdog, fake: Fake, timeout: float, work=None) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.returned = threading.Event()  # set only when the watchdog did not answer this client
        self._work = work or self.release.wait

        def run() -> None:
            with watchdog.watch(timeout, fake.answer):
                self.entered.set()
                self._work()
            self.returned.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.entered.wait(10)


def test_watchdog_leaves_queries_within_the_limit_alone():
    fake = Fake()
    watchdog = _manual(fake, grace=0.2)
    queries = [Query(watchdog, fake, 60.0) for _ in range(5)]
    assert watchdog.check(time.monotonic() + 30) is False  # half-way to their deadline
    for query in queries:
        query.release.set()
        assert query.returned.wait(10)
    assert watchdog.check(time.monotonic() + 120) is False  # nothing left to watch
    assert (fake.answers, fake.stops, fake.exits) == ([], 0, 0)
    assert watchdog.doomed_at is None


def test_watchdog_answers_a_late_query_once_then_stops_the_worker():
    fake = Fake()
    watchdog = _manual(fake, grace=30.0)
    query = Query(watchdog, fake, 0.2)
    now = time.monotonic()
    assert watchdog.check(now + 1) is False  # answered and stopped; the grace period has not run out
    assert watchdog.check(now + 2) is False
    assert fake.answers == [(503, "Query stopped after the 0.2 s time limit.")]
    assert fake.stops == 1 and fake.exits == 0
    query.release.set()  # the engine returns: the request thread parks, it never answers a second time
    assert watchdog.wait_parked(1, 10)
    assert not query.returned.is_set()
    with watchdog.watch(60.0, fake.answer):  # the worker still answers the connections it has, queries too
        pass
    assert len(fake.answers) == 1


def test_watchdog_ends_the_worker_once_its_other_connections_are_done():
    fake = Fake()
    watchdog = _manual(fake, grace=30.0)
    connections = {"open": 1}  # another client's connection, still to be answered
    watchdog.open_connections = lambda: connections["open"]
    Query(watchdog, fake, 0.1)
    now = time.monotonic()
    assert watchdog.check(now + 1) is False, "another client's request is still in flight"
    assert fake.answers and fake.stops == 1
    connections["open"] = 0
    assert watchdog.check(now + 1.1) is True
    watchdog.finish()
    assert fake.exits == 1


def test_watchdog_ends_the_worker_after_the_grace_period_whatever_is_open():
    fake = Fake()
    watchdog = _manual(fake, grace=5.0)
    watchdog.open_connections = lambda: 3
    Query(watchdog, fake, 0.1)
    now = time.monotonic()
    assert watchdog.check(now + 1) is False
    assert watchdog.check(now + 5.9) is False
    assert watchdog.check(now + 6.1) is True


def test_watchdog_answers_every_query_still_running_when_it_ends_the_worker():
    fake = Fake()
    watchdog = _manual(fake, grace=0.3)
    Query(watchdog, fake, 0.1)
    Query(watchdog, fake, 60.0)
    now = time.monotonic()
    assert watchdog.check(now + 1) is False
    assert watchdog.check(now + 1.5) is True
    watchdog.finish()
    assert fake.exits == 1
    messages = sorted(message for _, message in fake.answers)
    assert [status for status, _ in fake.answers] == [503, 503]
    assert "time limit" in messages[0] and "restarted" in messages[1]


def test_watchdog_stops_a_query_over_the_memory_limit():
    fake = Fake()
    watchdog = Watchdog(memory_mb=32, grace=0.3, stop_accepting=fake.stop, exit=fake.exit)  # its own thread
    hoard: list[bytearray] = []

    def grow() -> None:
        for _ in range(40):
            if fake.exited.is_set():
                break
            hoard.append(bytearray(8 << 20))  # zero-filled pages are touched: they count in RSS
            hoard[-1][::4096] = b"x" * len(range(0, 8 << 20, 4096))
        fake.exited.wait(10)

    Query(watchdog, fake, 60.0, work=grow)
    assert fake.exited.wait(10)
    hoard.clear()
    assert fake.answers == [(503, "Query stopped: it needed more memory than a query may use.")]


def test_watchdog_release_ends_the_process_only_when_a_query_is_still_running():
    fake = Fake()
    watchdog = _manual(fake)
    with watchdog.watch(5.0, fake.answer):
        pass
    watchdog.release()  # a normal stop: nothing running, a normal exit
    assert fake.exits == 0
    Query(watchdog, fake, 60.0)
    watchdog.release()
    assert fake.exits == 1
    assert fake.answers == [(503, "Query stopped: the server is stopping; try again.")]


# --- live: real `mrkg serve`, real clients ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def inline_server(endpoint_build, tmp_path_factory):
    """One HTTP worker, so that the runaway query and every other request share the worker that is stopped."""
    log = tmp_path_factory.mktemp("serve-inline") / "serve.log"
    server = start_server(endpoint_build, "oxigraph", log, executor="inline", query_timeout=2.0, http_workers=1)
    yield server
    stop_server(server)


@pytest.mark.slow
def test_live_runaway_queries_cost_no_other_client_its_answer(inline_server):
    with urllib.request.urlopen(inline_server.url + "/health", timeout=10) as response:
        assert json.load(response)["executor"] == "inline"
    hostile: list = []
    small: list = []
    errors: list = []
    hostile_done = threading.Event()

    def attack() -> None:
        try:
            hostile.append(raw_sparql_get(inline_server.url, CARTESIAN))
        except Exception as exc:  # noqa: BLE001 - a reset connection is the failure this test looks for
            errors.append(f"hostile: {type(exc).__name__}: {exc}")
        if len(hostile) + len(errors) == 2:
            hostile_done.set()

    def client() -> None:  # small queries from another address, for as long as the runaway queries run
        while not hostile_done.is_set() and len(small) < 2000:
            try:
                small.append(raw_sparql_get(inline_server.url, SMALL, source="127.0.0.2"))
            except Exception as exc:  # noqa: BLE001
                errors.append(f"small: {type(exc).__name__}: {exc}")
                return

    threads = [threading.Thread(target=attack) for _ in range(2)] + [threading.Thread(target=client) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(hostile) == 2 and small
    for status, body, headers in hostile:
        assert status == 503, body
        assert "time limit" in body or "restarted" in body
        assert headers["Retry-After"] == "1" and headers["Connection"] == "close"
    assert all(status == 200 and json.loads(body)["boolean"] is True for status, body, _ in small), \
        [(s, b[:80]) for s, b, _ in small if s != 200]
    log = inline_server.log.read_text()
    assert '"by":"watchdog"' in log and '"status":503' in log
    assert raw_sparql_get(inline_server.url, SMALL)[0] == 200  # the replacement worker answers


@pytest.mark.slow
def test_live_query_over_the_memory_limit_is_stopped(endpoint_build, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-inline-memory") / "serve.log"
    server = start_server(endpoint_build, "oxigraph", log, executor="inline", query_timeout=30.0,
                          worker_memory_mb=100)
    try:
        status, body, _ = raw_sparql_get(server.url, MEMORY_HOG)
        assert status == 503, body[:200]
        assert "more memory" in body
        assert raw_sparql_get(server.url, SMALL)[0] == 200
    finally:
        stop_server(server)


@pytest.mark.slow
def test_live_pool_executor_stops_the_same_runaway_query(pool_server):
    with urllib.request.urlopen(pool_server.url + "/health", timeout=10) as response:
        health = json.load(response)
    assert health["executor"] == "pool" and health["query_workers"] == 2
    status, body, _ = raw_sparql_get(pool_server.url, CARTESIAN)
    assert status == 503 and "time limit" in body
    assert raw_sparql_get(pool_server.url, SMALL)[0] == 200


def test_inline_executor_refused_for_an_engine_that_holds_the_gil(endpoint_build):
    from mrkg.engine import ConfigurationError
    from mrkg.web import create_app

    with pytest.raises(ConfigurationError, match="executor=inline"):
        create_app({"build_dir": str(endpoint_build), "store": "memory", "executor": "inline"})
