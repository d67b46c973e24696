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
import urllib.parse
import urllib.request

import pytest
from conftest import CARTESIAN, http_request, start_server, stop_server

from mrkg.engine.errors import BusyError
from mrkg.engine.watchdog import Watchdog

SMALL = "ASK { ?s a <https://w3id.org/mrkg/ontology/Drug> }"
# Sorting needs every row first: a cartesian product sorted grows memory until something stops it.
MEMORY_HOG = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i"


class Fake:
    """What the watchdog does to the outside world, recorded: answers, SIGTERM, exit."""

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


def _watched(watchdog: Watchdog, fake: Fake, timeout: float, work) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        with watchdog.watch(timeout, fake.answer):
            work()
        outcome["returned"] = True  # only reached when the watchdog did not answer this client

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_watchdog_leaves_queries_within_the_limit_alone():
    fake = Fake()
    watchdog = Watchdog(grace=0.2, stop_accepting=fake.stop, exit=fake.exit)
    threads = [_watched(watchdog, fake, 2.0, lambda: time.sleep(0.05)) for _ in range(20)]
    for thread, outcome in threads:
        thread.join(5)
        assert outcome == {"returned": True}
    time.sleep(0.3)
    assert (fake.answers, fake.stops, fake.exits) == ([], 0, 0)
    assert watchdog.doomed_at is None


def test_watchdog_answers_a_late_query_once_then_stops_the_worker():
    fake = Fake()
    watchdog = Watchdog(grace=0.5, stop_accepting=fake.stop, exit=fake.exit)
    thread, outcome = _watched(watchdog, fake, 0.2, lambda: time.sleep(0.6))
    assert fake.exited.wait(5)
    assert fake.answers == [(503, "Query stopped after the 0.2 s time limit.")]
    assert fake.stops == 1
    thread.join(1.0)
    assert thread.is_alive() and outcome == {}, "the late request thread must park, never answer a second time"
    with pytest.raises(BusyError):  # a worker being stopped takes no new query
        with watchdog.watch(1.0, fake.answer):
            pass


def test_watchdog_ends_the_worker_once_its_other_connections_are_done():
    fake = Fake()
    watchdog = Watchdog(grace=30.0, stop_accepting=fake.stop, exit=fake.exit)
    connections = {"open": 2}  # the stopped query's own connection and one other client's
    watchdog.open_connections = lambda: connections["open"]
    _watched(watchdog, fake, 0.1, lambda: time.sleep(5))
    time.sleep(0.5)
    assert fake.answers and fake.stops == 1
    assert not fake.exited.is_set(), "another client's request is still in flight"
    connections["open"] = 1
    assert fake.exited.wait(2)


def test_watchdog_answers_every_query_still_running_when_it_ends_the_worker():
    fake = Fake()
    watchdog = Watchdog(grace=0.3, stop_accepting=fake.stop, exit=fake.exit)
    _watched(watchdog, fake, 0.1, lambda: time.sleep(5))
    _watched(watchdog, fake, 60.0, lambda: time.sleep(5))
    assert fake.exited.wait(5)
    statuses = sorted(message for _, message in fake.answers)
    assert [status for status, _ in fake.answers] == [503, 503]
    assert "time limit" in statuses[0] and "restarted" in statuses[1]


def test_watchdog_stops_a_query_over_the_memory_limit():
    fake = Fake()
    watchdog = Watchdog(memory_mb=32, grace=0.3, stop_accepting=fake.stop, exit=fake.exit)
    hoard: list[bytearray] = []

    def grow() -> None:
        for _ in range(40):
            hoard.append(bytearray(8 << 20))  # zero-filled pages are touched: they count in RSS
            hoard[-1][::4096] = b"x" * len(range(0, 8 << 20, 4096))
            time.sleep(0.02)
        time.sleep(2)

    _watched(watchdog, fake, 60.0, grow)
    assert fake.exited.wait(10)
    hoard.clear()
    assert fake.answers == [(503, "Query stopped: it needed more memory than a query may use.")]


def test_watchdog_release_ends_the_process_only_when_a_query_is_still_running():
    fake = Fake()
    watchdog = Watchdog(stop_accepting=fake.stop, exit=fake.exit)
    with watchdog.watch(5.0, fake.answer):
        pass
    watchdog.release()  # a normal stop: nothing running, a normal exit
    assert fake.exits == 0
    _watched(watchdog, fake, 60.0, lambda: time.sleep(5))
    time.sleep(0.1)
    watchdog.release()
    assert fake.exits == 1
    assert fake.answers == [(503, "Query stopped: the server is stopping; try again.")]


# --- live: real `mrkg serve`, real clients ---------------------------------------------------------------------

def _request(url: str, query: str, timeout: float = 60) -> tuple[int, str, dict]:
    """One GET over a fresh connection; a reset or an empty answer raises (that is what must never happen)."""
    answer = http_request(url + "/sparql?" + urllib.parse.urlencode({"query": query}),
                          headers={"Accept": "application/sparql-results+json"}, timeout=timeout)
    return answer.status, answer.text, dict(answer.headers.items())


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
    results: list = []
    errors: list = []

    def client(query: str, repeat: int, pause: float) -> None:
        for _ in range(repeat):
            try:
                results.append((query, _request(inline_server.url, query)))
            except Exception as exc:  # noqa: BLE001 - a reset connection is the failure this test looks for
                errors.append(f"{query[:20]}: {type(exc).__name__}: {exc}")
            time.sleep(pause)

    threads = [threading.Thread(target=client, args=(CARTESIAN, 1, 0)) for _ in range(2)]
    threads += [threading.Thread(target=client, args=(SMALL, 40, 0.1)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    hostile = [r for q, r in results if q == CARTESIAN]
    small = [r for q, r in results if q == SMALL]
    assert len(hostile) == 2 and len(small) == 120
    for status, body, headers in hostile:
        assert status == 503, body
        assert "time limit" in body or "restarted" in body
        assert headers.get("Retry-After") == "1" and headers.get("Connection") == "close"
    assert all(status == 200 and json.loads(body)["boolean"] is True for status, body, _ in small), \
        [(s, b[:80]) for s, b, _ in small if s != 200]
    log = inline_server.log.read_text()
    assert '"by":"watchdog"' in log and '"status":503' in log
    assert _request(inline_server.url, SMALL)[0] == 200  # the replacement worker answers


@pytest.mark.slow
def test_live_query_over_the_memory_limit_is_stopped(endpoint_build, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-inline-memory") / "serve.log"
    server = start_server(endpoint_build, "oxigraph", log, executor="inline", query_timeout=30.0,
                          worker_memory_mb=100)
    try:
        started = time.monotonic()
        status, body, _ = _request(server.url, MEMORY_HOG)
        assert status == 503, body[:200]
        assert "more memory" in body
        assert time.monotonic() - started < 25
        assert _request(server.url, SMALL)[0] == 200
    finally:
        stop_server(server)


@pytest.mark.slow
def test_live_pool_executor_stops_the_same_runaway_query(pool_server):
    with urllib.request.urlopen(pool_server.url + "/health", timeout=10) as response:
        health = json.load(response)
    assert health["executor"] == "pool" and health["query_workers"] == 2
    status, body, _ = _request(pool_server.url, CARTESIAN)
    assert status == 503 and "time limit" in body
    assert _request(pool_server.url, SMALL)[0] == 200


def test_inline_executor_refused_for_an_engine_that_holds_the_gil(endpoint_build):
    from mrkg.engine import ConfigurationError
    from mrkg.web import create_app

    with pytest.raises(ConfigurationError, match="executor=inline"):
        create_app({"build_dir": str(endpoint_build), "store": "memory", "executor": "inline"})
