"""The second wall (engine/sandbox.py): processes that evaluate queries cannot open network connections, even when
a query reaches the engine without the guard. Every test has a listener on 127.0.0.1 that counts connections.

- a forked child walls itself off, then hands SERVICE queries straight to pyoxigraph and rdflib;
- a real gunicorn started with `mrkg serve`'s own options and hooks (``serve_options``) serves a small WSGI app
  (run from this file, see ``_serve_bypass``) that hands the request's raw text to each engine, bypassing the guard:
  oxigraph (inline, in the HTTP worker), memory (in a query pool's workers), remote (through the forwarder);
- the real `mrkg serve`: its query processes are walled (``Seccomp: 2``), and it refuses to start without a wall.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import _terminate, endpoint_settings, free_port, start_server, stop_server, wait_until_up

from mrkg.engine import sandbox

SERVICE = "SELECT * WHERE {{ SERVICE <{url}/x> {{ ?s ?p ?o }} }}"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
needs_landlock = pytest.mark.skipif(sandbox.landlock_abi() < 4, reason="the kernel has no Landlock network rules "
                                                                        "(ABI 4, Linux 6.7)")


def in_child(work, *, wall: bool = True) -> dict:
    """``work()`` (a dict of what it saw) run in a forked child, walled off first unless ``wall`` is False."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            try:
                seen = {"layers": list(sandbox.wall_off_network())} if wall else {}
                seen.update(work())
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                seen = {"crash": f"{type(exc).__name__}: {exc}"}
            os.write(write, json.dumps(seen).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        seen = json.loads(pipe.read() or b'{"crash": "no report"}')
    os.waitpid(pid, 0)
    assert "crash" not in seen, seen["crash"]
    return seen


def attempt(call) -> str:
    """'ok', or the name and message of the error ``call()`` raised."""
    try:
        call()
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    return "ok"


# --- a forked child -------------------------------------------------------------------------------------------

def _oxigraph_service(url: str) -> str:
    import pyoxigraph

    return attempt(lambda: list(pyoxigraph.Store().query(SERVICE.format(url=url))))


def test_sandbox_child_pyoxigraph_service_makes_no_connection(connection_counter):
    url = connection_counter.url
    seen = in_child(lambda: {"service": _oxigraph_service(url),
                             "connect": attempt(lambda: socket.create_connection(("127.0.0.1",
                                                                                  connection_counter.port)).close())})
    assert "Permission denied" in seen["service"], seen
    assert seen["connect"].startswith("PermissionError"), seen
    assert connection_counter.settle() == 0


def test_sandbox_child_unwalled_pyoxigraph_does_connect(connection_counter):
    """The test above means something: without the wall, the same query reaches the listener."""
    url = connection_counter.url
    in_child(lambda: {"service": _oxigraph_service(url)}, wall=False)
    assert connection_counter.settle() >= 1


def test_sandbox_child_rdflib_service_makes_no_connection(connection_counter):
    """The memory engine's evaluator (rdflib, urllib) in a walled child: the SERVICE call fails, nothing connects."""
    from rdflib import Dataset

    url = connection_counter.url
    seen = in_child(lambda: {"service": attempt(lambda: list(Dataset().query(SERVICE.format(url=url))))})
    assert "Permission denied" in seen["service"], seen
    assert connection_counter.settle() == 0


def test_sandbox_child_unix_sockets_still_work(tmp_path: Path):
    path = str(tmp_path / "u.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def work() -> dict:
        left, right = socket.socketpair()
        left.sendall(b"pair")
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(path)
        client.sendall(b"path")
        return {"pair": right.recv(4).decode(), "families": [left.family, client.family]}

    try:
        seen = in_child(work)
        conn, _ = server.accept()
        assert conn.recv(4) == b"path"
        conn.close()
    finally:
        server.close()
    assert seen["pair"] == "pair" and seen["families"] == [socket.AF_UNIX, socket.AF_UNIX]


def test_sandbox_child_every_family_but_unix_refused():
    families = {"inet": (socket.AF_INET, socket.SOCK_STREAM), "inet6": (socket.AF_INET6, socket.SOCK_STREAM),
                "udp": (socket.AF_INET, socket.SOCK_DGRAM), "netlink": (socket.AF_NETLINK, socket.SOCK_RAW),
                "packet": (socket.AF_PACKET, socket.SOCK_RAW)}
    seen = in_child(lambda: {name: attempt(lambda f=f: socket.socket(*f).close()) for name, f in families.items()}
                    | {"inet pair": attempt(lambda: socket.socketpair(socket.AF_INET))})
    assert all(result.startswith("PermissionError") for name, result in seen.items() if name != "layers"), seen


def test_sandbox_child_threads_and_children_inherit_the_wall(connection_counter):
    port = connection_counter.port

    def work() -> dict:
        results = {}
        thread = threading.Thread(target=lambda: results.update(
            thread=attempt(lambda: socket.create_connection(("127.0.0.1", port)).close())))
        thread.start()
        thread.join()
        code = f"import socket; socket.create_connection(('127.0.0.1', {port}))"
        child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        results["child"] = child.stderr.strip().splitlines()[-1] if child.returncode else "ok"
        return results

    seen = in_child(work)
    assert seen["thread"].startswith("PermissionError") and seen["child"].startswith("PermissionError"), seen
    assert connection_counter.settle() == 0


def _syscall(number: int, *args) -> str:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(number, *args) >= 0:
        return "ok"
    return os.strerror(ctypes.get_errno())


def test_sandbox_child_bypasses_refused(connection_counter):
    """What would make a connection without socket(): io_uring, TCP Fast Open on an inherited socket, x32 calls."""
    import ctypes

    if os.uname().machine != "x86_64":
        pytest.skip("the system call numbers below are x86_64's")
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # an inherited, unconnected TCP socket
    target = ("127.0.0.1", connection_counter.port)

    def work() -> dict:
        params = ctypes.create_string_buffer(120)  # struct io_uring_params
        return {"io_uring_setup": _syscall(425, 8, params),
                "fast_open": attempt(lambda: holder.sendto(b"GET / HTTP/1.0\r\n\r\n", sandbox.MSG_FASTOPEN, target)),
                "x32 socket": _syscall(0x40000000 | 41, socket.AF_INET, socket.SOCK_STREAM, 0)}

    try:
        seen = in_child(work)
    finally:
        holder.close()
    assert seen["io_uring_setup"] == os.strerror(1) and seen["x32 socket"] == os.strerror(1), seen
    assert seen["fast_open"].startswith("PermissionError"), seen
    assert connection_counter.settle() == 0


@needs_landlock
def test_sandbox_child_inherited_tcp_socket_cannot_reconnect(connection_counter):
    """gunicorn's listener and accepted clients are TCP sockets inherited inside the wall; connect(AF_UNSPEC)
    dissolves one, and connect() would then point it anywhere: Landlock refuses that connect."""
    import ctypes

    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()

    def work() -> dict:
        libc = ctypes.CDLL(None, use_errno=True)
        results = {}
        for name, sock in (("accepted", accepted), ("listener", server)):
            unspec = (ctypes.c_ubyte * 16)()  # sa_family 0: AF_UNSPEC
            libc.connect(sock.fileno(), unspec, 16)
            sock.settimeout(5)
            results[name] = attempt(lambda s=sock: s.connect(("127.0.0.1", connection_counter.port)))
        return results

    try:
        seen = in_child(work)
    finally:
        for sock in (client, accepted, server):
            sock.close()
    assert "landlock" in seen["layers"]
    assert seen["accepted"].startswith("PermissionError") and seen["listener"].startswith("PermissionError"), seen
    assert connection_counter.settle() == 0


@needs_landlock
def test_sandbox_refused_once_threads_run():
    """Landlock binds the calling thread only: with another thread running, the wall is refused, not half-built."""
    def work() -> dict:
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        try:
            sandbox.wall_off_network()
            return {"result": "walled"}
        except sandbox.SandboxError as exc:
            return {"result": str(exc), "inet": attempt(lambda: socket.socket().close())}
        finally:
            stop.set()
            thread.join()

    seen = in_child(work, wall=False)
    assert "before the process starts threads" in seen["result"], seen
    assert seen["inet"] == "ok"  # nothing was installed: the caller knows it is not walled


def test_sandbox_without_libseccomp_fails_closed():
    def work() -> dict:
        sys.modules["pyseccomp"] = None  # as on a machine without it: the import fails
        try:
            sandbox.wall_off_network()
            return {"result": "walled"}
        except sandbox.SandboxError as exc:
            return {"result": str(exc), "walled": sandbox.walled()}

    seen = in_child(work, wall=False)
    assert seen["result"].startswith("seccomp is not available") and seen["walled"] is None, seen


def test_sandbox_pool_without_wall_does_not_start():
    """The query pool fails closed: a zygote that cannot wall itself off forks no worker, and start() raises."""
    from mrkg.engine.pool import WorkerPool

    def work() -> dict:
        sys.modules["pyseccomp"] = None
        try:
            pool = WorkerPool(_BypassRunner(None), size=1).start()
            return {"result": "started", "alive": pool.alive()}
        except sandbox.SandboxError as exc:
            return {"result": str(exc), "children": _descendants(os.getpid())}

    seen = in_child(work, wall=False)
    assert seen["result"].startswith("The query workers cannot wall off the network, so none will run: seccomp is "
                                     "not available"), seen
    assert seen["children"] == [], seen


def test_sandbox_check_reports_the_layers():
    layers = sandbox.check()
    assert layers[0] == "seccomp" and ("landlock" in layers) == (sandbox.landlock_abi() >= 4)
    assert sandbox.walled() is None  # the check ran in a child: this process is not walled


@pytest.fixture
def tls_store(tmp_path: Path, monkeypatch):
    """An HTTPS "store" on 127.0.0.1 with a certificate for the name localhost only (trusted through SSL_CERT_FILE),
    answering every POST with ASK true; yields (port, the Host headers it was sent)."""
    import http.server
    import ssl

    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "cert.pem"))
    hosts: list[str] = []

    class Store(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            hosts.append(self.headers["Host"])
            body = b'{"head":{},"boolean":true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Store)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hosts
    server.shutdown()
    server.server_close()


def test_sandbox_remote_https_through_the_forwarder(tls_store):
    """A walled child reaches an https store through the forwarder, with TLS end to end: the certificate and the
    name are checked by mrkg's client (a name the certificate does not have is refused), not by the forwarder."""
    from mrkg.engine.remote import RESULTS_JSON, RemoteBackend

    port, hosts = tls_store
    good, wrong = RemoteBackend(f"https://localhost:{port}/sparql"), RemoteBackend(f"https://127.0.0.1:{port}/sparql")
    try:
        for backend in (good, wrong):
            backend.before_fork()

        def work() -> dict:
            return {"good": attempt(lambda: good._post("ASK {}", RESULTS_JSON)),  # noqa: SLF001
                    "wrong": attempt(lambda: wrong._post("ASK {}", RESULTS_JSON)),  # noqa: SLF001
                    "direct": attempt(lambda: socket.create_connection(("127.0.0.1", port)).close())}

        seen = in_child(work)
    finally:
        good.close()
        wrong.close()
    assert seen["good"] == "ok" and hosts == [f"localhost:{port}"], (seen, hosts)
    assert "CERTIFICATE_VERIFY_FAILED" in seen["wrong"] or "certificate verify failed" in seen["wrong"], seen
    assert seen["direct"].startswith("PermissionError"), seen
    assert good.forwarder.process is None  # closed


# --- a real gunicorn with mrkg's serve options, serving an app that bypasses the guard ---------------------------

def _seccomp(pid: int | str = "self") -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Seccomp:"):
            return line.split()[1]
    return "?"


class _BypassRunner:
    """A query pool's runner that evaluates the job's raw text with rdflib (no guard), or tries a connection."""

    def __init__(self, backend) -> None:
        self.backend = backend

    def run(self, job):
        from mrkg.engine.runner import Answer

        if job.query.startswith("connect "):
            seen = {"result": attempt(lambda: socket.create_connection(("127.0.0.1", int(job.query.split()[1])),
                                                                       timeout=5).close())}
        else:
            rows: list = []
            seen = {"result": attempt(lambda: rows.extend(self.backend.dataset.query(job.query))), "rows": len(rows)}
        seen.update(pid=os.getpid(), seccomp=_seccomp())
        return Answer(body=json.dumps(seen).encode())


def _bypass_app(service, pool):
    """WSGI: POST /raw?port=N with a query body. The text goes to the engine without the guard: oxigraph in this HTTP
    worker, memory in ``pool``'s workers, remote to the store through the forwarder. /local evaluates with an
    in-process pyoxigraph here, /connect?port=N tries a TCP connection from where the engine evaluates."""
    from mrkg.engine.runner import Job

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        params = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        size = int(environ.get("CONTENT_LENGTH") or 0)
        text = environ["wsgi.input"].read(size).decode() if size else ""
        backend = service.backend
        seen: dict = {}
        if path == "/health":
            seen = {"result": "ok"}
        elif path == "/local":
            import pyoxigraph

            seen = {"result": attempt(lambda: list(pyoxigraph.Store().query(text)))}
        elif pool is not None and path in {"/raw", "/connect"}:  # evaluated in a query worker
            job = Job(text if path == "/raw" else f"connect {params['port'][0]}")
            seen = json.loads(pool.run(job).body)
        elif path == "/connect":
            port = int(params["port"][0])
            seen = {"result": attempt(lambda: socket.create_connection(("127.0.0.1", port), timeout=5).close())}
        elif path == "/raw" and backend.name == "oxigraph":
            rows: list = []
            seen = {"result": attempt(lambda: rows.extend(backend.store.query(text, use_default_graph_as_union=True))),
                    "rows": len(rows)}
        elif path == "/raw" and backend.name == "remote":
            from mrkg.engine.remote import RESULTS_JSON

            body: list = []
            seen = {"result": attempt(lambda: body.append(backend._post(text, RESULTS_JSON)[0]))}  # noqa: SLF001
            seen["rows"] = len(json.loads(body[0])["results"]["bindings"]) if body else 0
        seen.setdefault("pid", os.getpid())
        seen.setdefault("seccomp", _seccomp())
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(seen).encode()]

    return app


def _serve_bypass(config: dict) -> None:
    """The gunicorn of a test (run as ``python tests/test_sandbox.py CONFIG``): mrkg's app and serve options."""
    from gunicorn.app.base import BaseApplication

    from mrkg import settings as settings_module
    from mrkg.engine.pool import WorkerPool
    from mrkg.web import create_app
    from mrkg.web.commands import serve_options

    values = settings_module.defaults() | endpoint_settings(Path(config["build"]), config["engine"],
                                                           **config["overrides"])
    values |= {"port": config["port"], "http_workers": 1}
    app = create_app(values)
    service = app.extensions["mrkg"]
    pool = WorkerPool(_BypassRunner(service.backend), size=1).start() if service.pool is not None else None
    wsgi = _bypass_app(service, pool)

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in serve_options(values, app).items():
                self.cfg.set(key, value)

        def load(self):
            return wsgi

    Server().run()


def start_bypass(tmp_path: Path, build: Path, engine: str, env: dict | None = None, **overrides):
    port = free_port()
    log = tmp_path / f"bypass-{engine}.log"
    config = {"build": str(build), "engine": engine, "port": port, "overrides": overrides}
    process = subprocess.Popen([sys.executable, __file__, json.dumps(config)], stdout=log.open("wb"),
                               stderr=subprocess.STDOUT, start_new_session=True, env={**os.environ, **(env or {})})
    return f"http://127.0.0.1:{port}", process, log


def _ask(url: str, path: str, text: str = "", **params) -> dict:
    target = url + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(urllib.request.Request(target, data=text.encode()), timeout=60) as response:
        return json.loads(response.read())


@pytest.fixture(params=["oxigraph", "memory", "remote"])
def bypass_server(request, endpoint_build: Path, tmp_path: Path):
    engine = request.param
    overrides = {"remote_endpoint": request.getfixturevalue("oxigraph_serve")(endpoint_build / "mrkg.nq")} \
        if engine == "remote" else {}
    url, process, log = start_bypass(tmp_path, endpoint_build, engine, **overrides)
    try:
        wait_until_up(url + "/health", process, log, f"gunicorn ({engine})")
        yield engine, url, overrides.get("remote_endpoint")
    finally:
        _terminate(process)


def test_sandbox_gunicorn_raw_service_makes_no_connection(bypass_server, connection_counter):
    """SERVICE handed straight to the engine where it evaluates (no guard): an error, and no connection; the
    process that tried is walled (Seccomp: 2); normal queries still answer."""
    engine, url, _ = bypass_server
    service = SERVICE.format(url=connection_counter.url)
    where = "/local" if engine == "remote" else "/raw"  # the remote store evaluates on its own (see the README)
    tried = _ask(url, where, service)
    assert "Permission denied" in tried["result"], tried
    assert tried["seccomp"] == "2", tried
    assert connection_counter.settle() == 0, f"the {engine} engine connected to the listener"
    if engine != "remote":  # the HTTP worker itself (oxigraph: it evaluated; memory: it only forwards)
        local = _ask(url, "/local", service)
        assert "Permission denied" in local["result"] and local["seccomp"] == "2", local
        assert connection_counter.settle() == 0
    answered = _ask(url, "/raw", COUNT)
    assert answered["result"] == "ok" and answered["rows"] == 1, answered


def test_sandbox_gunicorn_connect_refused_where_queries_run(bypass_server, connection_counter):
    """The remote worker reaches its store (through the forwarder) but neither the listener nor, directly, the
    store's own port; the other engines' evaluating processes reach nothing."""
    engine, url, remote = bypass_server
    tried = _ask(url, "/connect", port=connection_counter.port)
    assert tried["result"].startswith("PermissionError"), tried
    assert connection_counter.settle() == 0
    if engine == "remote":
        direct = _ask(url, "/connect", port=urllib.parse.urlsplit(remote).port)
        assert direct["result"].startswith("PermissionError"), direct
        through = _ask(url, "/raw", COUNT)
        assert through["result"] == "ok" and through["rows"] == 1 and through["seccomp"] == "2", through


def test_sandbox_gunicorn_worker_without_wall_stops_the_server(endpoint_build: Path, tmp_path: Path):
    """serve_options' post_fork hook fails closed: a worker that cannot wall itself off exits with gunicorn's
    boot-error code, and gunicorn stops; no request is ever answered."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pyseccomp.py").write_text('raise RuntimeError("Unable to find libseccomp")\n')
    url, process, log = start_bypass(tmp_path, endpoint_build, "oxigraph", env={"PYTHONPATH": str(shadow)})
    try:
        code = process.wait(timeout=60)
    finally:
        _terminate(process)
    output = log.read_text()
    assert code == 3, output  # gunicorn's WORKER_BOOT_ERROR, after which its master halts
    assert "cannot wall off the network, so it will not evaluate queries: seccomp is not available" in output
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/health", timeout=5)


# --- the real `mrkg serve` ----------------------------------------------------------------------------------

def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _processes(master: int) -> dict[int, tuple[str, bytes]]:
    """Every process below ``master``: its seccomp mode and command line."""
    found = {}
    for pid in _descendants(master):
        try:
            found[pid] = (_seccomp(pid), Path(f"/proc/{pid}/cmdline").read_bytes())
        except OSError:  # gone meanwhile
            pass
    return found


@pytest.mark.parametrize("engine, executor", [("oxigraph", "inline"), ("memory", "pool"), ("oxigraph", "pool"),
                                              ("remote", "inline")])
def test_sandbox_mrkg_serve_query_processes_are_walled(engine, executor, endpoint_build, tmp_path, oxigraph_serve):
    overrides = {"remote_endpoint": oxigraph_serve(endpoint_build / "mrkg.nq")} if engine == "remote" else {}
    server = start_server(endpoint_build, engine, tmp_path / "serve.log", executor=executor, http_workers=2,
                          **overrides)
    try:
        query = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
        with urllib.request.urlopen(f"{server.endpoint}?{query}", timeout=30) as response:
            assert json.loads(response.read())["boolean"] is True
        # HTTP workers, plus the pool's zygote and workers; the forwarder alone outside (remote engine only)
        expected = 2 + (1 + 2 if executor == "pool" else 0)
        deadline = time.monotonic() + 30  # gunicorn forks its second worker a moment after the first
        while time.monotonic() < deadline:
            processes = _processes(server.process.pid)
            walled = [pid for pid, (seccomp, _) in processes.items() if seccomp == "2"]
            if len(walled) >= expected:
                break
            time.sleep(0.05)
    finally:
        stop_server(server)
    forwarders = [pid for pid, (_, cmdline) in processes.items() if b"mrkg.engine.sandbox\0forward" in cmdline]
    assert _seccomp(os.getpid()) == "0"
    assert len(walled) == expected, processes
    assert len(forwarders) == (1 if engine == "remote" else 0) and processes.keys() == set(walled) | set(forwarders)
    assert all(processes[pid][0] == "0" for pid in forwarders)
    assert "walled off from the network: seccomp" in server.log.read_text()


def test_sandbox_mrkg_serve_refuses_to_start_without_a_wall(endpoint_build: Path, tmp_path: Path):
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pyseccomp.py").write_text('raise RuntimeError("Unable to find libseccomp")\n')
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(shadow), "MRKG_BUILD_DIR": str(endpoint_build)}
    result = subprocess.run([sys.executable, "-m", "mrkg", "serve", "--port", str(port)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "seccomp is not available (Unable to find libseccomp" in lines[0], result.stderr


def test_sandbox_differential_service_makes_no_connection(live_server, connection_counter):
    """The SERVICE forms that two parsers read differently (issue 10): whatever the guard decides, the evaluating
    process is walled, so no connection and no fetched row (a 4xx, or the engine's error)."""
    there = connection_counter.url
    for body in (f"SELECT * WHERE {{ # c\r SERVICE <{there}/cr> {{ ?s ?p ?o }} \n }}",
                 f"SELECT * WHERE {{ # c\r SERVICE SILENT <{there}/silent> {{ ?s ?p ?o }} \n }}"):
        request = urllib.request.Request(live_server.endpoint, data=body.encode(),
                                         headers={"Content-Type": "application/sparql-query"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
                assert answer["results"]["bindings"] in ([], [{}]), answer  # SILENT: one empty solution at most
        except urllib.error.HTTPError as exc:
            assert exc.code in {400, 403, 500}, exc.read()
    assert connection_counter.settle() == 0, f"the {live_server.engine} engine connected to the listener"


if __name__ == "__main__":
    _serve_bypass(json.loads(sys.argv[1]))
