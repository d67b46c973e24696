"""Shared fixtures: the repository, the shared folder beside it, and one real build of the real facts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def tree_digest(folder: Path) -> str:
    """One SHA-256 over every file below ``folder`` (names and contents): equal digests, unchanged tree."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return h.hexdigest()


def shared_dir() -> Path:
    """The shared/ folder beside the project root (MRKG_SHARED overrides it)."""
    return Path(os.environ.get("MRKG_SHARED", REPO.parent / "shared")).resolve()


def in_ci() -> bool:
    """True under CI=true (.ci/run sets it): there every tool a test needs is installed, so none may be missing."""
    return os.environ.get("CI", "").lower() == "true"


def require_tool(*names: str, package: str) -> list[str]:
    """The paths of the executables ``names``. When one is missing the test fails under CI=true (.ci/run
    installs them all) and is skipped elsewhere, saying which Debian package brings it."""
    import shutil

    paths = [shutil.which(name) for name in names]
    missing = [name for name, path in zip(names, paths) if path is None]
    if missing:
        message = f"{', '.join(missing)} not installed (Debian package {package}; .ci/run installs it)"
        if in_ci():
            pytest.fail(f"CI must run this test, but {message}", pytrace=False)
        pytest.skip(message)
    return paths


def json_term(term: dict | None):
    """A term of SPARQL's JSON results format as a pyoxigraph term, nothing dropped (language tag, datatype);
    None for an unbound variable."""
    from pyoxigraph import BlankNode, Literal, NamedNode

    if term is None:
        return None
    if term["type"] == "uri":
        return NamedNode(term["value"])
    if term["type"] == "bnode":
        return BlankNode(term["value"])
    if "xml:lang" in term:
        return Literal(term["value"], language=term["xml:lang"])
    if "datatype" in term:
        return Literal(term["value"], datatype=NamedNode(term["datatype"]))
    return Literal(term["value"])


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if not (path / "sources").is_dir():
        pytest.fail(f"no shared/sources beside the project (looked in {path}); set MRKG_SHARED")
    return path


@pytest.fixture(scope="session")
def sources_dir(shared: Path) -> Path:
    return shared / "sources"


@pytest.fixture(scope="session")
def reference_tsv(shared: Path) -> Path:
    return shared / "reference" / "identifiers.tsv"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, sources_dir: Path, reference_tsv: Path):
    """One build of the real facts into a private folder, shared by the whole session."""
    from mrkg.build import run_build

    out = tmp_path_factory.mktemp("build") / "build"
    return run_build(REPO / "facts", REPO / "ontology", sources_dir, reference_tsv, out)


@pytest.fixture(scope="session")
def build_dir(built) -> Path:
    """The folder of the session's real build (mrkg.nq, dumps, manifest.json, void.ttl...)."""
    return built.out


# --- The endpoint (issue 5): a small build of test data, one app and one real server per engine ------------

import gzip  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from mrkg import virtuoso  # noqa: E402

ENDPOINT_DATA = REPO / "tests" / "data" / "endpoint"
ENGINES = ["oxigraph", "memory"]
KASEI = "http://kasei.us/2009/09/sparql/data/"
BULK_GRAPH = "urn:mrkg:test:bulk"
BULK_SIZE = 300
# results-format test data: conformance file -> the named graph it is loaded into
RESULTS_GRAPHS = {
    "json-res/data.ttl": "urn:mrkg:test:json-res",
    "csv-tsv-res/data.ttl": "urn:mrkg:test:csv-tsv",
    "csv-tsv-res/data2.ttl": "urn:mrkg:test:csv-tsv-2",
}
# Short limits, so hostile-query tests stay fast.
ENDPOINT_LIMITS = {"query_timeout": 3.0, "max_rows": 100, "workers": 2, "max_body_bytes": 50_000,
                   "max_query_chars": 20_000, "max_offset": 10_000}


def conformance_dir() -> Path:
    return shared_dir() / "conformance"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _endpoint_quads() -> list:
    from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, parse

    quads = list(parse(path=str(ENDPOINT_DATA / "mini.trig"), format=RdfFormat.TRIG))
    protocol = conformance_dir() / "sparql11-protocol"
    for n in (1, 2, 3):
        graph = NamedNode(f"{KASEI}data{n}.rdf")
        quads += [Quad(t.subject, t.predicate, t.object, graph)
                  for t in parse(path=str(protocol / f"data{n}.nt"), format=RdfFormat.N_TRIPLES)]
    results = conformance_dir() / "sparql11-results-formats"
    for name, graph in RESULTS_GRAPHS.items():
        quads += [Quad(t.subject, t.predicate, t.object, NamedNode(graph))
                  for t in parse(path=str(results / name), format=RdfFormat.TURTLE)]
    bulk, predicate = NamedNode(BULK_GRAPH), NamedNode("urn:mrkg:test:p")
    quads += [Quad(NamedNode(f"urn:mrkg:test:s{i}"), predicate, Literal(f"value {i}"), bulk) for i in range(BULK_SIZE)]
    return quads


@pytest.fixture(scope="session")
def endpoint_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build folder (mrkg.nq, a dump with .gz, SHA256SUMS, void.ttl, manifest.json) of the endpoint test data."""
    from pyoxigraph import RdfFormat, Triple, serialize

    out = tmp_path_factory.mktemp("endpoint") / "build"
    out.mkdir()
    quads = _endpoint_quads()
    triples = [Triple(q.subject, q.predicate, q.object) for q in quads]
    files = {"mrkg.nq": (serialize(quads, format=RdfFormat.N_QUADS), "application/n-quads"),
             "mrkg.trig": (serialize(quads, format=RdfFormat.TRIG), "application/trig"),
             "mrkg.ttl": (serialize(triples, format=RdfFormat.TURTLE), "text/turtle")}
    for name in ("mrkg.trig", "mrkg.ttl"):
        files[name + ".gz"] = (gzip.compress(files[name][0], mtime=0), files[name][1])
    manifest = {"version": "test-1", "files": {}, "graphs": {}}
    for name, (data, media_type) in files.items():
        (out / name).write_bytes(data)
        manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                                   "media_type": media_type}
        if name.endswith(".gz"):
            manifest["files"][name]["compression"] = "application/gzip"
    manifest["dataset_sha256"] = manifest["files"]["mrkg.nq"]["sha256"]
    (out / "SHA256SUMS").write_text("".join(f"{info['sha256']}  {name}\n"
                                            for name, info in sorted(manifest["files"].items())))
    (out / "void.ttl").write_text(
        "@prefix void: <http://rdfs.org/ns/void#> . @prefix dct: <http://purl.org/dc/terms/> .\n"
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "<https://w3id.org/mrkg/dataset> a void:Dataset ; owl:versionInfo \"test-1\" ;\n"
        "  dct:license <https://creativecommons.org/licenses/by/4.0/> ;\n"
        "  void:sparqlEndpoint <https://w3id.org/mrkg/sparql> .\n")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out


def endpoint_settings(build: Path, engine: str, **overrides) -> dict:
    return {"build_dir": str(build), "store": engine, "queries_dir": str(ENDPOINT_DATA / "queries"),
            "access_log": False, **ENDPOINT_LIMITS, **overrides}


@pytest.fixture(scope="session", params=ENGINES)
def endpoint_app(request: pytest.FixtureRequest, endpoint_build: Path):
    """The Flask app over the endpoint test data, once per engine, with the pool executor (the inline one needs
    gunicorn's client socket, which Flask's test client has not): its query workers are real processes. The result
    cache is off, so that every answer is evaluated, whichever test asked the same query before (test_cache.py
    tests the cache on apps of its own)."""
    from mrkg.web import create_app

    app = create_app({"TESTING": True, **endpoint_settings(endpoint_build, request.param, executor="pool",
                                                           cache_bytes=0)})
    yield app
    app.extensions["mrkg"].close()


@pytest.fixture
def client(endpoint_app):
    return endpoint_app.test_client()


@dataclass
class LiveServer:
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    engine: str
    process: subprocess.Popen
    log: Path

    @property
    def endpoint(self) -> str:
        return self.url + "/sparql"


def wait_until_up(url: str, process: subprocess.Popen, log: Path, what: str, timeout: float = 60) -> None:
    """Return once ``url`` answers 200; raise (with the end of ``log``) when ``process`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer within {timeout:g} s: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)


class ConnectionCounter:
    """A TCP listener on 127.0.0.1 whose thread accepts every connection, closes it at once and counts it.

    ``settle()`` is the count of connections made before it was called, with no sleep: it connects itself and
    waits until the thread has accepted that connection (a listener accepts in the order connections were made).
    With ``reply`` (e.g. LEAKED_REPLY), each counted connection is answered with those bytes before it is closed,
    so that a fetch would also show in a result.
    """

    def __init__(self, reply: bytes | None = None) -> None:
        import threading

        self.reply = reply

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.peers: list[tuple] = []  # every connection accepted, the sentinels' included
        self._sentinels: dict[tuple, threading.Event] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, name="connection-counter", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:  # closed
                return
            with self._lock:
                sentinel = self._sentinels.get(peer)
            if sentinel is None and self.reply is not None:
                try:
                    conn.settimeout(1)
                    conn.recv(65536)
                    conn.sendall(self.reply)
                except OSError:
                    pass
            conn.close()
            with self._lock:
                self.peers.append(peer)
            if sentinel is not None:
                sentinel.set()

    def settle(self, timeout: float = 30) -> int:
        import threading

        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.bind(("127.0.0.1", 0))
        me = probe.getsockname()
        accepted = threading.Event()
        with self._lock:
            self._sentinels[me] = accepted
        try:
            probe.connect(("127.0.0.1", self.port))
            if not accepted.wait(timeout):
                raise RuntimeError("the connection counter did not accept its own connection")
        finally:
            probe.close()
        with self._lock:
            return sum(1 for peer in self.peers[:self.peers.index(me)] if peer not in self._sentinels)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self.sock.close()
        self._thread.join(timeout=5)


@pytest.fixture
def connection_counter():
    """A ConnectionCounter for one test."""
    counter = ConnectionCounter()
    yield counter
    counter.close()


def start_server(build: Path, engine: str, log: Path, **overrides) -> LiveServer:
    """`mrkg serve` (gunicorn) in a subprocess on a free port of 127.0.0.1, settings through MRKG_* variables."""
    port = free_port()
    env = dict(os.environ)
    for name, value in {**endpoint_settings(build, engine, access_log=True), "http_workers": 1,
                        **overrides}.items():
        env[f"MRKG_{name.upper()}"] = str(value)
    handle = log.open("wb")
    process = subprocess.Popen([sys.executable, "-m", "mrkg", "serve", "--port", str(port)], env=env,
                               stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    server = LiveServer(f"http://127.0.0.1:{port}", engine, process, log)
    try:
        wait_until_up(server.url + "/health", process, log, "mrkg serve")
    except RuntimeError:
        stop_server(server)
        raise
    return server


def raw_sparql_get(url: str, query: str, *, source: str | None = None, timeout: float = 60,
               accept: str = "application/sparql-results+json", sent=None):
    """One GET /sparql over a fresh connection to the server at ``url`` (from the loopback address ``source``, e.g.
    127.0.0.2, to be another client): (status, body text, headers); ``sent`` (an Event) is set once the request is
    written. A reset or an empty answer raises: that is what the endpoint must never do."""
    import http.client
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                            source_address=(source, 0) if source else None)
    try:
        connection.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": accept})
        if sent is not None:
            sent.set()
        response = connection.getresponse()
        return response.status, response.read().decode(), response.headers
    finally:
        connection.close()


def _terminate(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if ``process`` has not ended within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def stop_server(server: LiveServer) -> None:
    _terminate(server.process)


@pytest.fixture(scope="session", params=ENGINES)
def live_server(request: pytest.FixtureRequest, endpoint_build: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real `mrkg serve` (gunicorn) over the endpoint test data, once per engine."""
    log = tmp_path_factory.mktemp(f"serve-{request.param}") / "serve.log"
    server = start_server(endpoint_build, request.param, log)
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def pool_server(endpoint_build: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real `mrkg serve` with the pool executor (query worker processes) instead of the default inline one."""
    log = tmp_path_factory.mktemp("serve-pool") / "serve.log"
    server = start_server(endpoint_build, "oxigraph", log, executor="pool")
    yield server
    stop_server(server)


# --- The remote engine (issue 6): the oxigraph server (PyPI `oxigraph`) on 127.0.0.1, once per dataset ------

def _oxigraph_binary() -> str:
    import shutil

    local = Path(sys.executable).parent / "oxigraph"
    found = str(local) if local.exists() else shutil.which("oxigraph")
    if found is None:
        pytest.fail("the oxigraph server is not installed: run `make setup` (it comes with the test extra)")
    return found


@pytest.fixture(scope="session")
def oxigraph_serve(tmp_path_factory: pytest.TempPathFactory):
    """``oxigraph_serve(path)`` -> the query URL of `oxigraph serve-read-only --union-default-graph` over the
    N-Quads file ``path``; one server per file for the whole session, all stopped at its end."""
    servers: dict[Path, tuple[str, subprocess.Popen]] = {}

    def serve(data: Path) -> str:
        data = Path(data).resolve()
        if data in servers:
            return servers[data][0]
        binary = _oxigraph_binary()
        folder = tmp_path_factory.mktemp("oxigraph")
        subprocess.run([binary, "load", "--location", str(folder / "db"), "--file", str(data)], check=True,
                       capture_output=True)
        port = free_port()
        log = (folder / "serve.log").open("wb")
        process = subprocess.Popen([binary, "serve-read-only", "--location", str(folder / "db"), "--bind",
                                    f"127.0.0.1:{port}", "--union-default-graph"], stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}/query"
        servers[data] = (url, process)
        deadline = time.monotonic() + 30
        while True:
            try:
                request = urllib.request.Request(url, data=b"query=ASK%7B%7D",
                                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
                with urllib.request.urlopen(request, timeout=2):
                    return url
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"oxigraph serve did not start: {(folder / 'serve.log').read_text()[-1000:]}") \
                        from None
                time.sleep(0.1)

    yield serve
    for _, process in servers.values():
        _terminate(process)


# --- The remote engine over Virtuoso (issue 6): Debian's virtuoso-t on 127.0.0.1, once per dataset -----------

VIRTUOSO_PACKAGE = virtuoso.PACKAGE
# Virtuoso stops a query at MaxQueryExecutionTime on its own side (and mrkg answers 503): short, for the tests.
VIRTUOSO_MAX_SECONDS = 2


def virtuoso_binaries() -> tuple[str, str] | None:
    """(virtuoso-t, isql-vt) from Debian's virtuoso-opensource-7-bin, or None when it is not installed."""
    return virtuoso.binaries()


def _quad_counts(data: Path) -> dict[str, int]:
    from pyoxigraph import RdfFormat, parse

    counts: dict[str, int] = {}
    for quad in parse(path=str(data), format=RdfFormat.N_QUADS):
        counts[quad.graph_name.value] = counts.get(quad.graph_name.value, 0) + 1
    return counts


@pytest.fixture(scope="session")
def virtuoso_serve(tmp_path_factory: pytest.TempPathFactory):
    """``virtuoso_serve(path)`` -> the SPARQL URL of a Virtuoso (`virtuoso-t +foreground`, its own virtuoso.ini
    and database in a temporary folder) holding the N-Quads file ``path`` (loaded with ld_dir/rdf_loader_run
    through isql-vt; mrkg.virtuoso, which the bench uses too); one server per file for the whole session, all
    stopped at its end. The store is left as permissive as Virtuoso lets an anonymous SPARQL client be (updates,
    LOAD of remote IRIs): mrkg's guards, not the store, must keep it read-only and closed. Without Virtuoso:
    skipped, and under CI=true failed."""
    servers: dict[tuple, tuple[str, subprocess.Popen]] = {}

    def serve(data: Path, *, max_rows: int = 1_000_000, anytime_seconds: int = 0) -> str:
        """``max_rows``: Virtuoso's ResultSetMaxRows; ``anytime_seconds``: its ExecutionTimeout, after which a
        query answers with what it found so far ("anytime" answers; 0: off)."""
        data = Path(data).resolve()
        key = (data, max_rows, anytime_seconds)
        if key in servers:
            return servers[key][0]
        require_tool("virtuoso-t", "isql-vt", package=VIRTUOSO_PACKAGE)
        folder = tmp_path_factory.mktemp("virtuoso")
        url, process = virtuoso.start_virtuoso(folder, data, expected=_quad_counts(data), max_rows=max_rows,
                                               max_seconds=VIRTUOSO_MAX_SECONDS, anytime_seconds=anytime_seconds,
                                               grant_updates=True)
        servers[key] = (url, process)
        return url

    yield serve
    for _, process in servers.values():
        _terminate(process)


# --- What a fetch would get back: an answer like a SPARQL endpoint's, one row of "LEAKED" (issue 10) ------------

_LEAKED_ROW = b'{"head":{"vars":["s","p","o"]},"results":{"bindings":[{"s":{"type":"literal","value":"LEAKED"},' \
              b'"p":{"type":"literal","value":"LEAKED"},"o":{"type":"literal","value":"LEAKED"}}]}}'
LEAKED_REPLY = (b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\nContent-Length: "
                + str(len(_LEAKED_ROW)).encode() + b"\r\nConnection: close\r\n\r\n" + _LEAKED_ROW)


@pytest.fixture
def leaky_counter():
    """A ConnectionCounter that answers like a SPARQL endpoint with a row of "LEAKED"."""
    counter = ConnectionCounter(LEAKED_REPLY)
    yield counter
    counter.close()


def worker_pids(server: "LiveServer") -> set[int]:
    """The pids of the processes `mrkg serve`'s master has forked (its HTTP workers, a query pool's zygote)."""
    path = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    return {int(pid) for pid in path.read_text().split()}


# --- One HTTP client for the tests (urllib, never through a proxy) and the queries several files send ---------

# Runs far longer than any test's query_timeout on the endpoint test data: a query that must be stopped.
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@dataclass
class HttpAnswer:
    """A whole HTTP response, whatever its status."""

    status: int
    headers: "email.message.Message"  # case-insensitive: headers["content-type"]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def media_type(self) -> str:
        return self.headers.get_content_type()

    def json(self):
        return json.loads(self.body)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only: never a proxy


def http_request(url: str, *, method: str | None = None, data=None, headers: dict[str, str] | None = None,
                 timeout: float = 60) -> HttpAnswer:
    """One request with urllib; an error status is an answer too (not an exception). ``data`` as bytes is sent with
    a Content-Length, as an iterator of bytes chunked."""
    import urllib.error

    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return HttpAnswer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return HttpAnswer(exc.code, exc.headers, exc.read())


def sparql_get(server: "LiveServer", query: str, accept: str | None = "application/sparql-results+json",
               timeout: float = 60, **params: str) -> HttpAnswer:
    """GET /sparql?query=... (plus ``params``; ``default_graph_uri=`` for ``default-graph-uri``) on a live server."""
    import urllib.parse

    fields = {"query": query, **{name.replace("_", "-"): value for name, value in params.items()}}
    return http_request(server.endpoint + "?" + urllib.parse.urlencode(fields),
                        headers={"Accept": accept} if accept else None, timeout=timeout)


# --- Commands stopped at a named point (MRKG_PAUSE_AT, transaction.pause_point), to be killed exactly there -----

def start_paused(args: list[str], point: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """`python -m mrkg ARGS` run until it says it is paused at ``point``; fails if it ends before."""
    process = subprocess.Popen([sys.executable, "-m", "mrkg", *args], cwd=cwd, text=True,
                               env={**os.environ, **(env or {}), "MRKG_PAUSE_AT": point},
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.strip() == f"mrkg: paused at {point}":
            return process
    process.wait(timeout=60)
    raise AssertionError(f"mrkg {args[0]} ended ({process.returncode}) before {point}: {''.join(seen)[-2000:]}")


def stop_paused(process: subprocess.Popen, sig: int) -> tuple[int, str]:
    """Send ``sig`` to a paused command, then let it go on (if it is still there); its exit code and stderr."""
    import signal

    process.send_signal(sig)
    if sig != signal.SIGKILL:
        try:
            process.stdin.write("\n")
            process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
    _, err = process.communicate(timeout=120)
    return process.returncode, err


# --- Debian's headless Chromium (tests/test_browser.py, test_explorer_browser.py, test_pages_browser.py) ---------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def chromium_driver(tmp_path_factory: pytest.TempPathFactory, *, javascript: bool = True, window: str | None = None,
                    performance_log: bool = False):
    """A selenium driver of Debian's chromium with Debian's chromedriver (given explicitly, so selenium-manager never
    downloads anything), headless, with its console kept ("browser" log) and, if asked, the network requests."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        require_tool("chromium", "chromedriver", package="chromium, chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                     *([f"--window-size={window}"] if window else []),
                     f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", **({"performance": "ALL"} if performance_log else {})})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver
