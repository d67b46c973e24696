"""Debian's Virtuoso (virtuoso-t, isql-vt) on 127.0.0.1 holding one N-Quads file: for the bench and the tests.

The database lives in a folder of its own (paths relative to it), both ports on 127.0.0.1, no checkpoints, no OS
calls, files readable only from that folder. `start_virtuoso` starts `virtuoso-t +foreground`, loads the file with
ld_dir / rdf_loader_run through isql-vt, checks it holds every quad, and returns the SPARQL URL and the process.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

PACKAGE = "virtuoso-opensource-7-bin"

INI = """\
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
MaxClientConnections = {connections}
CheckpointInterval = 0
AllowOSCalls = 0
DirsAllowed = .
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty_buffers}
ThreadsPerQuery = 2

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = .
MaxClientConnections = {connections}
ServerThreads = {connections}
EnabledDavVSP = 0
HTTPProxyEnabled = 0
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = {max_seconds}
MaxQueryCostEstimationTime = 0
"""

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def binaries() -> tuple[str, str] | None:
    """(virtuoso-t, isql-vt) from Debian's virtuoso-opensource-7-bin, or None when it is not installed."""
    server, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    return (server, isql) if server and isql else None


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _count(url: str, query: str) -> int:
    request = urllib.request.Request(url, data=urllib.parse.urlencode({"query": query}).encode(),
                                     headers={"Accept": "application/sparql-results+json"})
    with _OPENER.open(request, timeout=120) as response:
        return int(json.load(response)["results"]["bindings"][0]["n"]["value"])


def start_virtuoso(folder: Path, data: Path, *, expected: dict[str, int] | int, max_rows: int = 1_000_000,
                   max_seconds: int = 2, anytime_seconds: int = 0, connections: int = 8, buffers: int = 4000,
                   grant_updates: bool = False, start_timeout: float = 60.0,
                   load_timeout: float = 120.0) -> tuple[str, subprocess.Popen]:
    """Start Virtuoso in ``folder`` (made empty first) holding ``data``; -> (SPARQL URL, process).

    ``expected``: quads per graph IRI (each graph counted), or the total number of quads; a store that holds
    anything else is an error. ``max_rows``: ResultSetMaxRows; ``max_seconds``: MaxQueryExecutionTime (Virtuoso
    stops a query there on its own side); ``anytime_seconds``: ExecutionTimeout, after which a query answers with
    what it found so far (0: off); ``connections``: HTTP threads and client connections; ``buffers``: 8 KiB pages
    of cache. ``grant_updates`` gives the anonymous SPARQL user update and sponge rights (the tests' permissive
    store, which mrkg's guards must keep closed). The caller stops the process (its own session)."""
    found = binaries()
    if found is None:
        raise RuntimeError(f"Virtuoso is not installed: apt-get install {PACKAGE}")
    server_binary, isql_binary = found
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    data = Path(data).resolve()
    try:  # ld_dir reads only below DirsAllowed (the folder)
        (folder / "data.nq").hardlink_to(data)
    except OSError:
        shutil.copyfile(data, folder / "data.nq")
    isql_port, http_port = _free_port(), _free_port()
    ini = INI.format(isql_port=isql_port, http_port=http_port, max_rows=max_rows, max_seconds=max_seconds,
                     connections=connections, buffers=buffers, dirty_buffers=buffers * 3 // 4)
    if anytime_seconds:
        ini += f"ExecutionTimeout = {anytime_seconds}\n"
    (folder / "virtuoso.ini").write_text(ini)
    with (folder / "stdout.log").open("wb") as log:
        process = subprocess.Popen([server_binary, "+foreground", "+configfile", "virtuoso.ini"], cwd=folder,
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{http_port}/sparql"

    def failed(what: str) -> RuntimeError:
        logs = "".join(p.read_text(errors="replace")[-1500:] for p in (folder / "stdout.log",
                                                                       folder / "virtuoso.log") if p.exists())
        return RuntimeError(f"Virtuoso {what}: {logs}")

    try:
        started = time.monotonic()
        deadline = started + start_timeout
        while True:
            try:
                with _OPENER.open(url + "?query=ASK%7B%7D", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise failed("did not start") from None
                time.sleep(0.1)
        online = time.monotonic()
        # Load, then (for the tests) give the anonymous SPARQL user every right it can have; lock the dba account.
        script = "ld_dir('.', 'data.nq', 'urn:mrkg:no-graph'); rdf_loader_run(); "
        if grant_updates:
            script += 'GRANT SPARQL_UPDATE TO "SPARQL"; GRANT SPARQL_SPONGE TO "SPARQL"; '
        script += f"USER_SET_PASSWORD('dba', '{secrets.token_hex(16)}');"
        loaded = subprocess.run([isql_binary, f"127.0.0.1:{isql_port}", "dba", "dba", f"exec={script}"], cwd=folder,
                                capture_output=True, text=True, timeout=load_timeout)
        if loaded.returncode != 0 or "*** Error" in loaded.stdout + loaded.stderr:
            raise failed(f"load failed: {loaded.stdout[-1000:]} {loaded.stderr[-1000:]}")
        if isinstance(expected, int):
            held: dict[str, int] | int = _count(url, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        else:  # one graph per query: one row each, whatever ResultSetMaxRows is
            held = {g: _count(url, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}")
                    for g in expected}
        if held != expected:
            raise failed(f"holds {held} quads, not the {expected} of {data.name}")
        (folder / "timing.txt").write_text(f"start {online - started:.2f} s, load {time.monotonic() - online:.2f} s\n")
    except BaseException:
        stop(process)
        raise
    return url, process


def stop(process: subprocess.Popen) -> None:
    """End Virtuoso (its own session): SIGTERM, then SIGKILL after 15 s."""
    import os
    import signal

    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
