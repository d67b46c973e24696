"""Slow, idle and hostile clients against a real `mrkg serve` (gunicorn master, event-loop workers): none of them may
keep another client from its answer, and every client gets one whole answer, never a reset connection.

The attackers are real sockets on 127.0.0.1; the innocent client speaks from 127.0.0.2, another loopback address.
No duration is asserted: each check is an answer, with a client timeout that only a hang reaches. The latencies
seen are printed (`pytest -s`) and measured properly by `benchmarks/attack_bench.py`.
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import statistics
import threading
import time
import urllib.error
import urllib.request

import pytest
from conftest import CARTESIAN, raw_sparql_get, start_server, stop_server

SMALL = "ASK { ?s a <https://w3id.org/mrkg/ontology/Drug> }"
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
INNOCENT = "127.0.0.2"
HANG = 30  # seconds: a client timeout only a hang reaches


def _open_files(count: int) -> None:
    """Make room in this process for ``count`` more sockets (the soft limit up to the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count + 256:
        if hard != resource.RLIM_INFINITY and hard < count + 256:
            pytest.skip(f"this machine allows {hard} open files, the test needs {count + 256}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (count + 256, hard))


def _port(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _connect(server, timeout: float = HANG) -> socket.socket:
    return socket.create_connection(("127.0.0.1", _port(server)), timeout=timeout)


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset raises)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _status_and_body(raw: bytes) -> tuple[int, dict[str, str], str]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body.decode()


@pytest.fixture(scope="module")
def shipped_server(endpoint_build, tmp_path_factory):
    """`mrkg serve` with the settings it ships with (two HTTP workers of eight threads, default deadlines)."""
    log = tmp_path_factory.mktemp("serve-shipped") / "serve.log"
    server = start_server(endpoint_build, "oxigraph", log, http_workers=2, access_log=False)
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def quick_server(endpoint_build, tmp_path_factory):
    """Deadlines of one second, to see them act."""
    log = tmp_path_factory.mktemp("serve-quick") / "serve.log"
    server = start_server(endpoint_build, "oxigraph", log, header_timeout=1.0, body_timeout=1.0)
    yield server
    stop_server(server)


class Trickle:
    """Slow clients: each sends its request head (or, after a whole head, its body) one byte per round."""

    def __init__(self, server, heads: int, bodies: int) -> None:
        self.sockets: list[tuple[socket.socket, bytes]] = []
        for _ in range(heads):
            request = (b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 500 + b"\r\n\r\n")
            self.sockets.append((_connect(server), request))
        for _ in range(bodies):
            sock = _connect(server)
            body = b"ASK {" + b" " * 995 + b"}"
            sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body))
            self.sockets.append((sock, body))
        self.sent = 0  # rounds in which every slow client sent its byte
        self.failed: list[str] = []
        self.stop = threading.Event()
        self.round_done = threading.Event()  # set once every slow client has sent a byte
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        position = 0
        while not self.stop.wait(0.1):
            for sock, data in self.sockets:
                try:
                    sock.send(data[position:position + 1])
                except OSError as exc:
                    self.failed.append(f"{type(exc).__name__}: {exc}")
                    return
            position += 1
            self.sent += 1
            self.round_done.set()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(HANG)
        for sock, _ in self.sockets:
            sock.close()


@pytest.mark.slow
def test_idle_and_slow_clients_do_not_starve_a_small_query(shipped_server):
    _open_files(1100 + 64)
    idle = [_connect(shipped_server) for _ in range(1000)]
    slow = Trickle(shipped_server, heads=50, bodies=50)
    try:
        assert slow.round_done.wait(HANG)
        until = slow.sent + 5  # small queries for as long as the slow clients send five more bytes each
        latencies = []
        while slow.sent < until and len(latencies) < 2000:
            started = time.monotonic()
            status, body, _ = raw_sparql_get(shipped_server.url, SMALL, source=INNOCENT, timeout=HANG)
            latencies.append(time.monotonic() - started)
            assert status == 200, body
            assert json.loads(body)["boolean"] is True
        assert slow.failed == [], slow.failed
        for sock in idle[:50]:  # the idle connections are still open: the server did not just drop them
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
        print(f"\n{len(latencies)} small ASKs beside 1000 idle, 50 slow-head and 50 slow-body clients: median "
              f"{statistics.median(latencies) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    finally:
        slow.close()
        for sock in idle:
            sock.close()


def test_idle_connection_is_closed_after_the_head_deadline(quick_server):
    with _connect(quick_server) as sock:
        assert _answer(sock) == b""  # nothing sent, nothing to answer: just closed
    assert raw_sparql_get(quick_server.url, SMALL)[0] == 200


def test_slow_head_gets_408_one_line(quick_server):
    with _connect(quick_server) as sock:
        sock.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\n")  # ... and never the blank line
        status, headers, body = _status_and_body(_answer(sock))
    assert status == 408
    assert headers["content-type"] == "text/plain; charset=utf-8" and headers["connection"] == "close"
    assert body == "Request head not received within 1 s.\n"


def test_slow_body_gets_408_one_line(quick_server):
    with _connect(quick_server) as sock:
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                     b"Content-Length: 100\r\n\r\nASK {")
        status, headers, body = _status_and_body(_answer(sock))
    assert status == 408
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert body == "Request body not received within 1 s.\n"


def _http_error(url: str, headers: dict[str, str] | None = None) -> urllib.error.HTTPError:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=HANG)
    return caught.value


def test_get_sparql_request_line_too_long_414_one_line(live_server):
    error = _http_error(live_server.endpoint + "?query=" + "A" * 20_000)
    assert error.code == 414
    assert error.headers.get_content_type() == "text/plain"
    assert error.read().decode() == ("Request line too long: at most 16384 bytes accepted; send a long query in a "
                                     "POST body.\n")


def test_get_sparql_request_line_too_long_sent_slowly_414(live_server):
    with _connect(live_server) as sock:
        sock.sendall(b"GET /sparql?query=" + b"A" * 16_000)
        for _ in range(10):
            sock.sendall(b"A" * 100)  # more, in pieces: the limit holds however the line arrives
        status, headers, body = _status_and_body(_answer(sock))
    assert status == 414 and body.startswith("Request line too long")


def test_get_sparql_headers_too_large_431_one_line(live_server):
    error = _http_error(live_server.endpoint + "?query=ASK%7B%7D",
                        {f"X-Padding-{i}": "p" * 1000 for i in range(70)})
    assert error.code == 431
    assert error.headers.get_content_type() == "text/plain"
    assert error.read().decode() == "Request header fields too large: at most 65536 bytes in all accepted.\n"


def test_post_sparql_chunked_body_over_the_limit_413(live_server):
    with _connect(live_server) as sock:
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"#" * 10_000
        for _ in range(6):  # 60,000 bytes: over the tests' max_body_bytes (50,000)
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, _, body = _status_and_body(_answer(sock))
    assert status == 413
    assert body == "Request body too large: at most 50000 bytes accepted.\n"


def test_post_sparql_body_too_large_sent_anyway_still_gets_its_413(live_server):
    """The server answers before reading the body, then reads and drops the rest before closing: a connection
    closed with unread bytes would be reset, and the client could lose its 413."""
    with _connect(live_server) as sock:
        body = b"#" * 400_000
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body)
        status, _, answer = _status_and_body(_answer(sock))
    assert status == 413
    assert answer == "Request body too large: at most 50000 bytes accepted.\n"


def test_post_sparql_chunked_body_within_the_limit_answered(live_server):
    with _connect(live_server) as sock:
        sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                     b"Accept: application/sparql-results+json\r\nConnection: close\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        for piece in (b"ASK { ?s a ", b"<https://w3id.org/mrkg/ontology/Drug> }"):
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        sock.sendall(b"0\r\n\r\n")
        status, _, body = _status_and_body(_answer(sock))
    assert status == 200, body
    assert json.loads(body)["boolean"] is True


def test_threads_shared_between_clients_without_refusing_anyone():
    from mrkg.web.front import Front

    async def scenario() -> None:
        front = Front(None, threads=2, per_client=1)
        front.loop = asyncio.get_running_loop()
        assert await front._take_thread("a")
        second_a = asyncio.ensure_future(front._take_thread("a"))
        await asyncio.sleep(0)  # let it run up to its wait
        assert not second_a.done(), "a client holding its share waits, holding no thread"
        assert await front._take_thread("b"), "another client is not held back"
        third_a = asyncio.ensure_future(front._take_thread("a"))
        front._give_back("b")  # a free thread, but "a" holds its share: "a" waits on
        await asyncio.sleep(0)
        assert not second_a.done() and not third_a.done()
        front._give_back("a")  # its own thread back: the first of its waiting requests goes on
        assert await second_a is True
        assert not third_a.done()
        front.server = type("Server", (), {"servers": []})()
        front._doom()  # a worker being stopped answers whoever still waits (503) instead of keeping them
        assert await third_a is False

    asyncio.run(scenario())


@pytest.mark.slow
def test_burst_of_hostile_queries_gets_whole_answers_and_others_are_answered(shipped_server):
    """32 cartesian queries at once from one address: each gets 200 or 503 with Retry-After (never a reset); small
    queries from another address keep being answered while the workers are stopped and replaced."""
    hostile: list = []
    errors: list = []
    small: list[tuple[int, float]] = []
    done = threading.Event()
    lock = threading.Lock()

    def attack() -> None:
        try:
            answer = raw_sparql_get(shipped_server.url, CARTESIAN, timeout=HANG * 2)
        except Exception as exc:  # noqa: BLE001 - a reset is the failure this test looks for
            answer = None
            errors.append(f"hostile: {type(exc).__name__}: {exc}")
        with lock:
            hostile.append(answer)
            if len(hostile) == 32:
                done.set()

    def innocent() -> None:
        while not done.is_set() and len(small) < 5000:
            started = time.monotonic()
            try:
                status, body, _ = raw_sparql_get(shipped_server.url, SMALL, source=INNOCENT, timeout=HANG)
            except Exception as exc:  # noqa: BLE001
                errors.append(f"small: {type(exc).__name__}: {exc}")
                return
            small.append((status, time.monotonic() - started))

    threads = [threading.Thread(target=attack) for _ in range(32)] + [threading.Thread(target=innocent)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG * 3)
    assert errors == []
    assert len(hostile) == 32
    for status, body, headers in hostile:
        assert status in {200, 503}, body
        if status == 503:
            assert headers["Retry-After"] == "1", body
    assert any(status == 503 and "time limit" in body for status, body, _ in hostile)
    assert small and all(status == 200 for status, _ in small), small
    print(f"\n32 hostile queries: {sum(s == 503 for s, _, _ in hostile)} answered 503; small queries from "
          f"another address: {len(small)}, max {max(t for _, t in small) * 1000:.0f} ms")
    assert raw_sparql_get(shipped_server.url, SMALL)[0] == 200  # the replaced workers answer
    # Under the previous design this load left "PyQuerySolutions is unsendable, but is being dropped on another
    # thread" in the log (pyoxigraph results leaked, 4 and 5 times in two 15 s runs of such a mix); never again.
    log = shipped_server.log.read_text(errors="replace")
    assert "unsendable" not in log and "Traceback" not in log, log[-2000:]
