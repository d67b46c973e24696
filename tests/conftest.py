"""Shared fixtures: the repository, the shared folder beside it, and one real build of the real facts."""

from __future__ import annotations

import os
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
    gunicorn's client socket, which Flask's test client has not): its query workers are real processes."""
    from mrkg.web import create_app

    app = create_app({"TESTING": True, **endpoint_settings(endpoint_build, request.param, executor="pool")})
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
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"mrkg serve exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            if time.monotonic() > deadline:
                stop_server(server)
                raise RuntimeError(f"mrkg serve did not answer within 60 s: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)


def sparql_get(url: str, query: str, *, source: str | None = None, timeout: float = 60,
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

VIRTUOSO_PACKAGE = "virtuoso-opensource-7-bin"
# A database in a temporary folder (paths relative to it), both ports on 127.0.0.1, no checkpoints, no OS calls,
# files readable only from that folder. The anonymous SPARQL user is given update rights (see virtuoso_serve).
VIRTUOSO_INI = """\
[Database]
DatabaseFile = virtuoso.db
ErrorLogFile = virtuoso.log
LockFile = virtuoso.lck
TransactionFile = virtuoso.trx
xa_persistent_file = virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = virtuoso-temp.db
TransactionFile = virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{isql_port}
DisableUnixSocket = 1
MaxClientConnections = 8
CheckpointInterval = 0
AllowOSCalls = 0
DirsAllowed = .
NumberOfBuffers = 4000
MaxDirtyBuffers = 3000
ThreadsPerQuery = 2

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = .
MaxClientConnections = 8
ServerThreads = 8
EnabledDavVSP = 0
HTTPProxyEnabled = 0
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = {max_seconds}
MaxQueryCostEstimationTime = 0
"""
# Virtuoso stops a query at MaxQueryExecutionTime on its own side (and mrkg answers 503): short, for the tests.
VIRTUOSO_MAX_SECONDS = 2


def virtuoso_binaries() -> tuple[str, str] | None:
    """(virtuoso-t, isql-vt) from Debian's virtuoso-opensource-7-bin, or None when it is not installed."""
    import shutil

    server, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    return (server, isql) if server and isql else None


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
    through isql-vt); one server per file for the whole session, all stopped at its end. The store is left
    as permissive as Virtuoso lets an anonymous SPARQL client be (updates, LOAD of remote IRIs): mrkg's guards,
    not the store, must keep it read-only and closed. Skips when Virtuoso is not installed."""
    import secrets
    import shutil
    import urllib.parse

    servers: dict[Path, tuple[str, subprocess.Popen]] = {}

    def serve(data: Path) -> str:
        data = Path(data).resolve()
        if data in servers:
            return servers[data][0]
        binaries = virtuoso_binaries()
        if binaries is None:
            pytest.skip(f"Virtuoso is not installed (virtuoso-t and isql-vt, Debian package {VIRTUOSO_PACKAGE}; "
                        ".ci/run installs it)")
        server_binary, isql_binary = binaries
        started = time.monotonic()
        folder = tmp_path_factory.mktemp("virtuoso")
        shutil.copyfile(data, folder / "data.nq")  # ld_dir reads only below DirsAllowed (the folder)
        isql_port, http_port = free_port(), free_port()
        (folder / "virtuoso.ini").write_text(VIRTUOSO_INI.format(isql_port=isql_port, http_port=http_port,
                                                                 max_seconds=VIRTUOSO_MAX_SECONDS))
        log = (folder / "stdout.log").open("wb")
        process = subprocess.Popen([server_binary, "+foreground", "+configfile", "virtuoso.ini"], cwd=folder,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{http_port}/sparql"
        servers[data] = (url, process)

        def failed(what: str) -> RuntimeError:
            logs = "".join(p.read_text(errors="replace")[-1500:] for p in (folder / "stdout.log",
                                                                           folder / "virtuoso.log") if p.exists())
            return RuntimeError(f"Virtuoso {what}: {logs}")

        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "?query=ASK%7B%7D", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise failed("did not start") from None
                time.sleep(0.1)
        online = time.monotonic()
        # Load, then give the anonymous SPARQL user every right it can have, then lock the dba account.
        script = ("ld_dir('.', 'data.nq', 'urn:mrkg:test:no-graph'); rdf_loader_run(); "
                  'GRANT SPARQL_UPDATE TO "SPARQL"; GRANT SPARQL_SPONGE TO "SPARQL"; '
                  f"USER_SET_PASSWORD('dba', '{secrets.token_hex(16)}');")
        loaded = subprocess.run([isql_binary, f"127.0.0.1:{isql_port}", "dba", "dba", f"exec={script}"], cwd=folder,
                                capture_output=True, text=True, timeout=120)
        if loaded.returncode != 0 or "*** Error" in loaded.stdout + loaded.stderr:
            raise failed(f"load failed: {loaded.stdout[-1000:]} {loaded.stderr[-1000:]}")
        expected = _quad_counts(data)
        query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        request = urllib.request.Request(url, data=urllib.parse.urlencode({"query": query}).encode(),
                                         headers={"Accept": "application/sparql-results+json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            rows = json.load(response)["results"]["bindings"]
        held = {row["g"]["value"]: int(row["n"]["value"]) for row in rows}
        if any(held.get(graph) != n for graph, n in expected.items()):
            raise failed(f"holds {held}, not the {expected} of {data.name}")
        (folder / "timing.txt").write_text(f"start {online - started:.2f} s, load {time.monotonic() - online:.2f} s\n")
        return url

    yield serve
    for _, process in servers.values():
        _terminate(process)
