"""`mrkg bench`: mrkg and its peers on the real model at 100k, 1M and 10M triples, driven by wrk, in one run.

For each size the data is the real facts repeated under new ids (`mrkg scale --facts`: copy 0 as they are, copy k
with entity ids ``X-ck`` and sources numbered from 100), built by the real `mrkg build --progress` into
``.bench/size-<N>/build`` (reused while its inputs are unchanged). Every server loads that build's mrkg.nq.

The query mix is every competency question (queries/*.rq) and every scale query (benchmarks/queries/*.rq). A
query that names entities, sources or claims of the real facts is parameterised over the copies: its variant
for copy k names copy k's ids (renamed exactly as `mrkg scale --facts` renamed them, read back from the scaled
tree), and wrk cycles through the variants, so requests ask about different copies. Each variant is probed on
every server before load; an empty answer (an ASK's boolean is an answer) fails the run (BenchError).

One server runs at a time (the machine has few cores), each started on 127.0.0.1 and stopped by the bench:

    flask-hello      Flask's hello-world route under mrkg's gunicorn settings (the ceiling; the tiny ASK only)
    mrkg             `mrkg serve` (pyoxigraph in memory, the default inline executor), result cache off
    mrkg-cached      the same with the result cache on
    oxigraph         the `oxigraph` server (Rust, PyPI) after `oxigraph load`
    rdflib-endpoint  rdflib-endpoint (FastAPI over rdflib) under uvicorn (skipped above 100k unless asked for)
    virtuoso         Debian's virtuoso-t, loaded with ld_dir / rdf_loader_run (mrkg.virtuoso)
    mrkg-pool        (optional) the pool executor, result cache off
    mrkg-store       (the 10M server) `mrkg serve` from `store_dir` (RocksDB on disk), result cache off

For each server and query: the probe of every variant (status and rows, compared with the oxigraph server's),
single-client latency (median, p99) and wrk --latency at 16 and 64 connections (req/s, p50 and p99 under load);
then the whole competency mix at 16 connections in one wrk run. Peak memory (PSS, RSS) is sampled from /proc
over the server's whole process tree. The report goes to benchmarks/report/latest.md and latest.json.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import click

from .queries import read_queries

REPO_DIR = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
ACCEPT = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples"
MAX_WRK_SECONDS = 5.0  # a slow server gets a longer wrk run, so that some answers arrive, up to this
SMALL_QUERY = "tiny-ask"
MEDIUM_QUERY = "medium-join"
CONNECTIONS = (16, 64)
GOAL_CONNECTIONS = 16
MIX_NAME = "competency-mix"
MAX_VARIANTS = 8  # copies a parameterised query is asked about (spread over the copies, copy 0 and the last)
SERVERS = ("flask-hello", "mrkg", "mrkg-cached", "oxigraph", "rdflib-endpoint", "virtuoso", "mrkg-pool", "mrkg-store")
DEFAULT_SERVERS = ("flask-hello", "mrkg", "mrkg-cached", "oxigraph", "rdflib-endpoint", "virtuoso")
LARGE_SIZE = 10_000_000  # from here on: mrkg from store_dir with the competency mix only (see run_size)
LARGE_SERVERS = ("mrkg-store",)
RDFLIB_MAX_TRIPLES = 100_000  # rdflib-endpoint above this only when asked for by --server (see _skip_reason)
MRKG_VARIANTS = ("mrkg", "mrkg-pool", "mrkg-cached", "mrkg-store")
SPARQL_SERVERS = tuple(s for s in SERVERS if s != "flask-hello")
DEFAULT_SIZES = ("100k", "1M")
BENCH_EXTRA_HINT = "pip install -e '.[bench]' (make bench does it)"

BASE = "https://w3id.org/mrkg/"
ENT_NS, SRC_NS, CLAIM_NS, GRAPH_SRC_NS = BASE + "entity/", BASE + "source/", BASE + "claim/", BASE + "graph/source/"


class BenchError(Exception):
    """The bench cannot run, or its mix is wrong; the message says what and what to do."""


# --- the query mix -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MixQuery:
    name: str
    title: str
    text: str
    group: str  # competency | scale
    accept: str = ACCEPT  # N-Triples for CONSTRUCT / DESCRIBE
    form: str = "SELECT"


def query_mix(repo: Path = REPO_DIR) -> list[MixQuery]:
    """The competency questions (queries/*.rq) and the scale queries (benchmarks/queries/*.rq), names unique."""
    from .engine.guard import Limits, check_query

    mix: list[MixQuery] = []
    for group, folder in (("competency", repo / "queries"), ("scale", repo / "benchmarks" / "queries")):
        for q in read_queries(folder):
            name = q.name if q.name not in {m.name for m in mix} else f"{group}-{q.name}"
            form = check_query(q.text, base=None, prefixes={}, limits=Limits()).form
            mix.append(MixQuery(name, q.title, q.text, group,
                                GRAPH_ACCEPT if form in {"CONSTRUCT", "DESCRIBE"} else ACCEPT, form))
    return mix


# --- the copies of the scaled facts and the queries asked about each ------------------------------------

@dataclass(frozen=True)
class Copy:
    """Copy ``k`` of the real facts in a scaled tree: each real source's id there, and the suffix its claim ids got
    (``-c<k>`` when several copies share one source file, else none)."""

    k: int
    sources: dict[str, str]
    claim_suffix: dict[str, str]
    entities: frozenset[str]  # the real entity ids (each copy has them all, renamed X-ck)


_ID_LINE = re.compile(r"""^\s*(?:-\s+)?id:\s*["']?([A-Za-z0-9_-]+)["']?\s*(?:#.*)?$""")
_KEY_LINE = re.compile(r"""^(\s*)(?:-\s+)?(id|file|subject):\s*["']?([^"'#\s]+)["']?\s*(?:#.*)?$""")
_COPY_SUFFIX = re.compile(r"-c(\d+)$")


def real_entity_ids(facts_dir: Path) -> frozenset[str]:
    ids = set()
    for path in sorted((facts_dir / "entities").glob("*.yaml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _ID_LINE.match(line)
            if match:
                ids.add(match.group(1))
    return frozenset(ids)


def scaled_copies(tree: Path, facts_dir: Path) -> dict[int, Copy]:
    """Every copy in the scaled facts tree ``tree`` (``tree/facts``), read back from its files: a source file's
    text file names the real source it copies (``<id>_<the real file's name>``), its claims' subjects the copy
    (``X-c<k>``), its claim ids whether they carry the copy's suffix."""
    real: dict[str, str] = {}  # the real text file's name after the id -> the real source id
    for path in sorted((facts_dir / "sources").glob("*.yaml")):
        sid = fname = None
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _KEY_LINE.match(line)
            if match and match.group(1) == "  " and match.group(2) in {"id", "file"} and not line.lstrip().startswith("-"):
                if match.group(2) == "id" and sid is None:
                    sid = match.group(3)
                elif match.group(2) == "file" and fname is None:
                    fname = match.group(3)
            if sid and fname:
                break
        if sid and fname:
            real[fname.split("_", 1)[1]] = sid
    entities = real_entity_ids(facts_dir)
    sources: dict[int, dict[str, str]] = {0: {s: s for s in real.values()}}
    suffixes: dict[int, dict[str, str]] = {0: {s: "" for s in real.values()}}
    for path in sorted((tree / "facts" / "sources").glob("*.yaml")):
        sid = fname = claim = None
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _KEY_LINE.match(line)
            if not match:
                continue
            key, value = match.group(2), match.group(3)
            if key == "id" and line.lstrip().startswith("-"):
                claim = value
            elif key == "id" and sid is None:
                sid = value
            elif key == "file" and fname is None:
                fname = value
            elif key == "subject" and claim is not None and sid is not None and fname is not None:
                copy = _COPY_SUFFIX.search(value)
                original = real.get(fname.split("_", 1)[1]) if "_" in fname else None
                if copy and original is not None and value[:copy.start()] in entities:
                    k = int(copy.group(1))
                    sources.setdefault(k, {})[original] = sid
                    suffixes.setdefault(k, {})[original] = f"-c{k}" if claim.endswith(f"-c{k}") else ""
                claim = None
    return {k: Copy(k, sources[k], suffixes[k], entities) for k in sorted(sources)}


def pick_copies(copies: list[int], n: int = MAX_VARIANTS) -> list[int]:
    """At most ``n`` of ``copies`` spread evenly over them, the first and the last among them."""
    if len(copies) <= n:
        return list(copies)
    picked = sorted({copies[round(i * (len(copies) - 1) / (n - 1))] for i in range(n)})
    return picked


_IRI_IN_TEXT = re.compile(r"https://w3id\.org/mrkg/(entity|source|claim|graph/source)/([A-Za-z0-9_-]+)")
_PREFIX_DECL = re.compile(r"PREFIX\s+([A-Za-z][\w-]*)?:\s*<([^>]*)>", re.IGNORECASE)
_NS_KIND = {ENT_NS: "entity", SRC_NS: "source", CLAIM_NS: "claim", GRAPH_SRC_NS: "graph/source"}


def _rename(kind: str, local: str, copy: Copy) -> str:
    if kind == "entity":
        return f"{local}-c{copy.k}" if copy.k and local in copy.entities else local
    if kind in {"source", "graph/source"}:
        return copy.sources.get(local, local)
    source, _, rest = local.partition("-")  # claim/<source>-<claim id>
    if rest and source in copy.sources:
        return f"{copy.sources[source]}-{rest}{copy.claim_suffix.get(source, '')}"
    return local


def parameterise(text: str, copy: Copy) -> str:
    """``text`` asking about copy ``copy.k``: every real entity, source (and its graph) and claim it names, as a
    full IRI or a prefixed name, renamed as `mrkg scale --facts` renamed them in that copy. Copy 0 is the text."""
    if copy.k == 0:
        return text
    out = _IRI_IN_TEXT.sub(lambda m: f"{BASE}{m.group(1)}/{_rename(m.group(1), m.group(2), copy)}", text)
    for prefix, namespace in {(p or "", ns) for p, ns in _PREFIX_DECL.findall(text)}:
        kind = _NS_KIND.get(namespace)
        if kind is None:
            continue
        pattern = re.compile(rf"(?<![\w:<#-]){re.escape(prefix)}:([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)")
        lines = []
        for line in out.split("\n"):  # not in the PREFIX lines nor in comments
            if line.lstrip().upper().startswith("PREFIX") or line.lstrip().startswith("#"):
                lines.append(line)
            else:
                lines.append(pattern.sub(lambda m: f"{prefix}:{_rename(kind, m.group(1), copy)}", line))
        out = "\n".join(lines)
    return out


# Queries asked about the real facts only (copy 0), and why: what they ask about is not copied.
COPY0_ONLY = {
    "baclofen-identifiers": "the copies carry no mappings (`mrkg scale --facts` gives copied entities none, so that "
                            "the mappings graph stays the real one)",
}


@dataclass(frozen=True)
class Variant:
    copy: int
    text: str


def variants(query: MixQuery, copies: dict[int, Copy], n: int = MAX_VARIANTS) -> list[Variant]:
    """The query asked about each picked copy; one variant (copy 0) when it names no id of the real facts."""
    picked = pick_copies(sorted(copies), n)
    probe = next((copies[k] for k in picked if k), None)
    if probe is None or query.name in COPY0_ONLY or parameterise(query.text, probe) == query.text:
        return [Variant(0, query.text)]
    return [Variant(k, parameterise(query.text, copies[k])) for k in picked]

# --- wrk -------------------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict:
    """Requests/s, request count, latency percentiles (ms) and errors from `wrk --latency` output."""
    result: dict = {"requests_per_s": 0.0, "requests": 0, "non_2xx": 0, "socket_errors": 0, "latency_ms": {}}
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("Requests/sec:"):
            result["requests_per_s"] = float(line.split()[1])
        elif re.match(r"^\d+ requests in ", line):
            result["requests"] = int(line.split()[0])
        elif line.startswith("Non-2xx or 3xx responses:"):
            result["non_2xx"] = int(line.split(":")[1])
        elif line.startswith("Socket errors:"):
            result["socket_errors"] = sum(int(n) for n in re.findall(r"\d+", line))
        else:
            match = re.match(r"^(50|75|90|99)(?:\.0+)?%\s+([\d.]+(?:us|ms|s|m))$", line)
            if match:
                result["latency_ms"][f"p{match.group(1)}"] = round(_ms(match.group(2)), 3)
    # Only answers that succeeded count: an error page served fast is not throughput.
    failed = result["non_2xx"] + result["socket_errors"]
    good = max(0, result["requests"] - failed)
    result["ok_requests_per_s"] = round(result["requests_per_s"] * good / result["requests"], 2) \
        if result["requests"] else 0.0
    return result


def run_wrk(wrk: str, url: str, script: Path, *, duration: float, connections: int, threads: int,
            timeout: float) -> dict:
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
           f"--timeout={max(1, round(timeout))}s", "-s", str(script), url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + timeout + 30)
    if done.returncode != 0:
        raise BenchError(f"wrk failed: {(done.stderr or done.stdout).strip()[:200]}")
    return parse_wrk(done.stdout)


# --- processes and memory ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(p) for p in handle.read().split()]
    except OSError:
        pass
    return found


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(_children(current))
    return tree


def tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes summed over ``pid`` and its descendants. PSS counts pages shared by forked
    workers once, so it is the memory the server really holds; RSS counts them in every process."""
    rss = pss = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return rss, pss


class MemorySampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_rss = self.peak_pss = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            rss, pss = tree_memory(self.pid)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


# --- HTTP probes ---------------------------------------------------------------------------------------------

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_query(url: str, query: str | None, timeout: float, accept: str = ACCEPT) -> tuple[int, bytes]:
    if query is None:
        request = urllib.request.Request(url)
    else:
        request = urllib.request.Request(url, data=urllib.parse.urlencode({"query": query}).encode(),
                                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                                  "Accept": accept})
    for attempt in range(3):
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (ConnectionResetError, ConnectionAbortedError, http.client.RemoteDisconnected):
            # A server may drop a connection right after a wrk run (its backlog still full): try again.
            if attempt == 2:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def count_rows(body: bytes, accept: str = ACCEPT) -> int | None:
    """Rows of a SPARQL JSON result (an ASK counts as 1 when true, 0 when false), or triples of N-Triples."""
    if accept == GRAPH_ACCEPT:
        return sum(1 for line in body.splitlines() if line.strip() and not line.startswith(b"#"))
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if "boolean" in doc:
        return int(bool(doc["boolean"]))
    return len(doc.get("results", {}).get("bindings", []))


def single_client_latency(url: str, requests: list[tuple[str | None, str]], *, budget: float, max_requests: int,
                          timeout: float) -> dict:
    """Median and p99 (ms) of sequential requests, each (query, Accept) of ``requests`` in turn, until
    ``max_requests`` or ``budget`` seconds (every request at least once)."""
    samples: list[float] = []
    deadline = time.monotonic() + budget
    while len(samples) < max(max_requests, len(requests)) and (len(samples) < len(requests)
                                                                or time.monotonic() < deadline):
        query, accept = requests[len(samples) % len(requests)]
        started = time.perf_counter()
        status, _ = http_query(url, query, timeout, accept)
        samples.append((time.perf_counter() - started) * 1e3)
        if status != 200:
            break
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return {"n": len(samples), "median_ms": round(statistics.median(ordered), 3), "p99_ms": round(p99, 3)}


# --- servers ------------------------------------------------------------------------------------------------

@dataclass
class Server:
    """A server of the bench: how to start it, where it answers, and what it cost to get there."""

    name: str
    cmd: list[str]
    url: str
    env: dict[str, str] = field(default_factory=dict)
    prepare_seconds: float = 0.0  # e.g. `oxigraph load` before the server starts
    process: subprocess.Popen | None = None
    sampler: MemorySampler | None = None
    log: Path | None = None
    started: float = 0.0
    ready_seconds: float = 0.0
    peak_rss: int = 0  # over every start of this server
    peak_pss: int = 0

    def start(self, log_dir: Path, ready_query: str | None, timeout: float) -> None:
        self.log = log_dir / f"{self.name}.log"
        handle = open(self.log, "wb")
        self.started = time.monotonic()
        self.process = subprocess.Popen(self.cmd, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env={**os.environ, **self.env}, start_new_session=True, cwd=REPO_DIR)
        handle.close()
        self.sampler = MemorySampler(self.process.pid)
        self.sampler.start()
        self._wait_ready(ready_query, self.started + timeout, timeout)

    def _wait_ready(self, ready_query: str | None, deadline: float, timeout: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} exited during start-up; see its log {self.log.name}: "
                                 f"{self.tail()}")
            try:
                status, _ = http_query(self.url, ready_query, timeout=5)
                if status == 200:
                    self.ready_seconds = time.monotonic() - self.started
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise BenchError(f"{self.name} did not answer within {timeout:g} s; see its log {self.log.name}")

    def tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-3:])[:400]

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
            self.peak_rss = max(self.peak_rss, self.sampler.peak_rss)
            self.peak_pss = max(self.peak_pss, self.sampler.peak_pss)
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


@dataclass
class VirtuosoServer(Server):
    """Debian's Virtuoso, started and loaded by mrkg.virtuoso (the code the tests use too)."""

    data: Path | None = None
    folder: Path | None = None
    quads: int = 0
    query_timeout: float = 10.0
    buffers: int = 4000
    graphs: dict[str, int] | None = None

    def start(self, log_dir: Path, ready_query: str | None, timeout: float) -> None:
        from .virtuoso import start_virtuoso

        self.log = self.folder / "stdout.log"
        self.started = time.monotonic()
        try:
            self.url, self.process = start_virtuoso(
                self.folder, self.data, expected=self.graphs or graph_counts(self.data), max_rows=10_000_000,
                max_seconds=max(1, math.ceil(self.query_timeout)), connections=max(CONNECTIONS) + 8,
                buffers=self.buffers, start_timeout=timeout, load_timeout=timeout)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            raise BenchError(f"virtuoso did not start: {str(exc)[:300]}") from None
        self.sampler = MemorySampler(self.process.pid)
        self.sampler.start()
        self._wait_ready(ready_query, time.monotonic() + timeout, timeout)
        self.ready_seconds = time.monotonic() - self.started


def graph_counts(data: Path) -> dict[str, int]:
    """Quads per named graph of an N-Quads file (what Virtuoso must hold: it keeps graphs of its own besides)."""
    from pyoxigraph import RdfFormat, parse

    counts: dict[str, int] = {}
    for quad in parse(path=str(data), format=RdfFormat.N_QUADS):
        key = getattr(quad.graph_name, "value", None) or "urn:mrkg:no-graph"
        counts[key] = counts.get(key, 0) + 1
    return counts


def _venv_tool(name: str) -> str | None:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def check_tools(servers: tuple[str, ...]) -> str:
    """The wrk binary; BenchError with one sentence when it, or a peer's package, is missing."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed: run `apt-get install wrk` (Debian/Ubuntu) and then `make bench` again.")
    if "oxigraph" in servers and _venv_tool("oxigraph") is None:
        raise BenchError(f"The oxigraph server is missing: {BENCH_EXTRA_HINT}.")
    if "rdflib-endpoint" in servers:
        try:
            import rdflib_endpoint  # noqa: F401
            import uvicorn  # noqa: F401
        except ImportError as exc:
            raise BenchError(f"{exc.name} is missing: {BENCH_EXTRA_HINT}.") from None
    if "virtuoso" in servers:
        from .virtuoso import PACKAGE, binaries

        if binaries() is None:
            raise BenchError(f"Virtuoso is not installed: run `apt-get install {PACKAGE}` or leave out "
                             "--server virtuoso.")
    return wrk


def make_server(name: str, build: Path, work: Path, *, timeout: float, quads: int = 0, label: str = "") -> Server:
    port = free_port()
    python = sys.executable
    if name in MRKG_VARIANTS:
        env = {"MRKG_BUILD_DIR": str(build), "MRKG_ACCESS_LOG": "false", "MRKG_STORE": "oxigraph",
               "MRKG_QUERY_TIMEOUT": str(timeout), "MRKG_CACHE_BYTES": str(64 << 20) if name == "mrkg-cached" else "0",
               "MRKG_EXECUTOR": "pool" if name == "mrkg-pool" else "inline"}
        if name == "mrkg-store":
            env["MRKG_STORE_DIR"] = str(work / f"store-{label or build.parent.name}")
        return Server(name, [python, "-m", "mrkg", "serve", "--host", HOST, "--port", str(port)],
                      f"http://{HOST}:{port}/sparql", env)
    if name == "flask-hello":
        return Server(name, [python, "-c", f"from mrkg.bench import serve_hello; serve_hello({port})"],
                      f"http://{HOST}:{port}/")
    if name == "oxigraph":
        oxigraph = _venv_tool("oxigraph")
        location = work / f"oxigraph-{label or build.name}"
        shutil.rmtree(location, ignore_errors=True)
        started = time.monotonic()
        done = subprocess.run([oxigraph, "load", "--location", str(location), "--file", str(build / "mrkg.nq")],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"oxigraph load failed: {done.stderr.strip()[:200]}")
        return Server(name, [oxigraph, "serve-read-only", "--location", str(location), "--bind", f"{HOST}:{port}",
                             "--union-default-graph"],  # --timeout-s: a thread per query; it crashed under wrk
                      f"http://{HOST}:{port}/query", prepare_seconds=time.monotonic() - started)
    if name == "rdflib-endpoint":
        return Server(name, [python, "-m", "rdflib_endpoint", "serve", str(build / "mrkg.nq"), "--host", HOST,
                             "--port", str(port)], f"http://{HOST}:{port}/")
    if name == "virtuoso":
        # 8 KiB pages: about the store's size in cache (100k triples: 40 MiB; 1M: 400 MiB), at least the default.
        buffers = max(4000, quads // 20)
        return VirtuosoServer(name, [], "", data=build / "mrkg.nq", folder=work / f"virtuoso-{label or build.name}",
                              quads=quads, query_timeout=timeout, buffers=buffers)
    raise BenchError(f"Unknown server {name!r}: choose among {', '.join(SERVERS)}.")


# --- the data: the real facts scaled, then the real build ----------------------------------------------------

def size_label(triples: int) -> str:
    for factor, suffix in ((1_000_000, "M"), (1_000, "k")):
        if triples >= factor and triples % factor == 0:
            return f"{triples // factor}{suffix}"
    return str(triples)


def _inputs_digest(triples: int, facts_dir: Path, sources_dir: Path, ontology_dir: Path) -> str:
    """What the scaled build depends on: the size, the facts, the source texts, the ontology, the shapes and the
    code that scales and builds (server/mrkg/*.py but the bench's own)."""
    digest = hashlib.sha256(f"triples={triples}\n".encode())
    code = [p for p in sorted((REPO_DIR / "server" / "mrkg").glob("*.py")) if p.name not in {"bench.py", "virtuoso.py"}]
    for root in (facts_dir, sources_dir, ontology_dir, ontology_dir.parent / "shapes"):
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
            digest.update(f"{path.relative_to(root)}\0{path.stat().st_size}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    for path in code:
        digest.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass
class SizeData:
    triples: int  # asked for
    label: str
    folder: Path
    build: Path
    tree: Path
    dataset_sha256: str
    quads: int
    copies: dict[int, Copy]
    seconds: dict[str, float]
    reused: bool


def _run_step(cmd: list[str], what: str, echo) -> float:
    started = time.monotonic()
    echo(f"{what}: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}")
    done = subprocess.run(cmd, cwd=REPO_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=None,
                          text=True)
    if done.returncode != 0:
        raise BenchError(f"{what} failed (exit {done.returncode}); its messages are above.")
    return round(time.monotonic() - started, 1)


def prepare_size(work: Path, triples: int, *, facts_dir: Path, sources_dir: Path, ontology_dir: Path,
                 echo=print) -> SizeData:
    """``work/size-<N>/``: the scaled facts tree (`mrkg scale --facts`) and its build (`mrkg build --progress`),
    made again only when an input changed (see _inputs_digest)."""
    label = size_label(triples)
    folder = work / f"size-{label}"
    tree, build = folder / "facts-tree", folder / "build"
    stamp = folder / "inputs.sha256"
    digest = _inputs_digest(triples, facts_dir, sources_dir, ontology_dir)
    seconds: dict[str, float] = {}
    reused = stamp.is_file() and stamp.read_text().strip() == digest and (build / "mrkg.nq").is_file()
    if not reused:
        folder.mkdir(parents=True, exist_ok=True)
        stamp.unlink(missing_ok=True)
        python = sys.executable
        seconds["scale"] = _run_step([python, "-m", "mrkg", "scale", "--triples", str(triples), "--facts", str(tree),
                                      "--from-facts", str(facts_dir), "--sources", str(sources_dir),
                                      "--ontology", str(ontology_dir)], "mrkg scale --facts", echo)
        seconds["build"] = _run_step([python, "-m", "mrkg", "build", "--facts", str(tree / "facts"),
                                      "--sources", str(tree / "sources"), "--ontology", str(ontology_dir),
                                      "--out", str(build), "--progress"], "mrkg build", echo)
        fd, tmp = tempfile.mkstemp(dir=folder)
        with os.fdopen(fd, "w") as handle:
            handle.write(digest + "\n")
        os.replace(tmp, stamp)
    else:
        echo(f"reusing {folder.name}/build (its inputs are unchanged)")
    manifest = json.loads((build / "manifest.json").read_text())
    quads = 0
    with open(build / "mrkg.nq", "rb") as handle:
        for line in handle:
            if line.strip() and not line.startswith(b"#"):
                quads += 1
    copies = scaled_copies(tree, facts_dir)
    return SizeData(triples, label, folder, build.resolve(), tree, manifest.get("dataset_sha256", ""), quads, copies,
                    seconds, reused)


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = 0
    try:
        memory = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_bytes": memory, "system": platform.platform(),
            "python": platform.python_version()}


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("mrkg", "pyoxigraph", "oxigraph", "rdflib", "rdflib-endpoint", "flask", "gunicorn", "uvicorn"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            pass
    wrk = shutil.which("wrk")
    if wrk:
        done = subprocess.run([wrk, "--version"], capture_output=True, text=True)
        found["wrk"] = (done.stdout or done.stderr).split()[1] if (done.stdout or done.stderr).split() else "?"
    return found


def serve_hello(port: int) -> None:  # pragma: no cover - runs in the bench's child process
    """Flask's hello-world route under the gunicorn settings `mrkg serve` uses: the framework's ceiling."""
    from flask import Flask
    from gunicorn.app.base import BaseApplication

    from . import settings as settings_module
    from .web.commands import gunicorn_options

    values = settings_module.defaults() | {"host": HOST, "port": port}
    app = Flask("hello")

    @app.get("/")
    def hello():
        return "Hello, World!"

    class Hello(BaseApplication):
        def load_config(self) -> None:
            for key, value in gunicorn_options(values).items():
                self.cfg.set(key, value)
            self.cfg.set("proc_name", "mrkg-bench-hello")

        def load(self):
            return app

    Hello().run()


# --- one run ---------------------------------------------------------------------------------------------------

@dataclass
class BenchConfig:
    sizes: tuple[int, ...] = (100_000, 1_000_000)
    duration: float = 1.0
    connections: tuple[int, ...] = CONNECTIONS
    threads: int = 2
    query_timeout: float = 10.0
    latency_budget: float = 0.5
    latency_requests: int = 40
    mix_seconds: float = 3.0
    start_timeout: float = 900.0
    max_variants: int = MAX_VARIANTS
    queries: tuple[str, ...] = ()  # only these queries of the mix (empty: all)
    write_partial: bool = False  # write the report so far to ``out`` after each server
    paired_only: bool = False  # only the paired runs (mrkg / oxigraph per query, the tiny ASK / Flask's ceiling)
    servers: tuple[str, ...] = ()  # empty: DEFAULT_SERVERS (LARGE_SERVERS from LARGE_SIZE on)
    work: Path = REPO_DIR / ".bench"
    out: Path = REPO_DIR / "benchmarks" / "report"
    facts_dir: Path = REPO_DIR / "facts"
    sources_dir: Path = REPO_DIR.parent / "shared" / "sources"
    ontology_dir: Path = REPO_DIR / "ontology"


class Progress:
    """Plain progress lines on stderr: the size, server, query and connection count, with an ETA from the steps
    (one per server and query) done so far."""

    def __init__(self, echo, total: int) -> None:
        self.echo, self.total, self.done, self.started = echo, max(1, total), 0, time.monotonic()
        self.where = ""

    def step(self, n: int = 1) -> None:
        self.done += n

    def eta(self) -> str:
        if not self.done:
            return "ETA ?"
        left = (time.monotonic() - self.started) / self.done * max(0, self.total - self.done)
        return f"ETA {int(left // 60)}m{int(left % 60):02d}s"

    def say(self, text: str) -> None:
        share = min(100, round(100 * self.done / self.total))
        self.echo(f"[{share:3d}% {self.eta()}] {self.where}{text}")


def wrk_script(path: str, query: str | None, accept: str = ACCEPT) -> str:
    """A wrk Lua script that POSTs ``query`` as a form (or GETs ``path`` when there is no query)."""
    if query is None:
        return f'wrk.method = "GET"\nwrk.path = "{path}"\n'
    return wrk_cycle_script(path, [(query, accept)])


def wrk_cycle_script(path: str, requests: list[tuple[str, str]]) -> str:
    """A wrk Lua script that POSTs each (query, Accept) of ``requests`` as a form in turn, round and round."""
    rows = []
    for query, accept in requests:
        body = urllib.parse.urlencode({"query": query})  # form-encoded: no "]" left to end the long bracket
        rows.append(f'  {{[==[{body}]==], "{accept}"}},')
    return ("local requests = {\n" + "\n".join(rows) + "\n}\nlocal i = 0\n"
            "request = function()\n  i = i % #requests + 1\n  local r = requests[i]\n"
            f'  return wrk.format("POST", "{path}", {{["Content-Type"] = "application/x-www-form-urlencoded", '
            '["Accept"] = r[2]}, r[1])\nend\n')


def _answer(body: bytes, accept: str) -> tuple[int | None, bool | None]:
    """(rows, ASK's boolean or None)."""
    if accept == GRAPH_ACCEPT:
        return count_rows(body, accept), None
    try:
        doc = json.loads(body)
    except ValueError:
        return None, None
    if "boolean" in doc:
        return None, bool(doc["boolean"])
    bindings = doc.get("results", {}).get("bindings", [])
    names = doc.get("head", {}).get("vars") or []
    if [n.upper() for n in names] == [VIRTUOSO_ASK_VAR] and len(bindings) <= 1:  # see KNOWN_DIFFERENCES
        return None, bool(bindings) and bindings[0].get(names[0], {}).get("value") not in {"0", "false", None}
    return len(bindings), None


# Virtuoso 7.2 answers an ASK asked for application/sparql-results+json as a result set of this one variable (a row of
# 1 when true), not as the protocol's {"boolean": ...}: the bench reads it as the boolean (and says so in the report).
VIRTUOSO_ASK_VAR = "__ASK_RETVAL"


def probe(server: Server, query: MixQuery, vs: list[Variant], cfg: BenchConfig) -> dict:
    """Every variant asked once: its status and rows (or boolean); stops at the first failure."""
    answers = []
    for v in vs:
        try:
            status, body = http_query(server.url, v.text, cfg.query_timeout + 5, query.accept)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"status": None, "error": str(exc)[:200], "answers": answers}
        if status != 200:
            return {"status": status, "error": body[:200].decode("utf-8", "replace"), "answers": answers}
        rows, boolean = _answer(body, query.accept)
        answers.append({"copy": v.copy, "rows": rows, **({"boolean": boolean} if boolean is not None else {})})
    return {"status": 200, "answers": answers}


def _is_empty(answer: dict) -> bool:
    return "boolean" not in answer and not answer.get("rows")


def _restart(server: Server, cfg: BenchConfig, ready_query: str | None, progress: Progress, why: str) -> None:
    progress.say(f"restarting {server.name} ({why})")
    server.stop()
    server.start(cfg.work, ready_query, cfg.start_timeout)


def bench_server(server: Server, mix: list[MixQuery], plan: dict[str, list[Variant]], cfg: BenchConfig, wrk: str,
                 scripts: Path, progress: Progress, *, reference: dict | None = None, label: str = "") -> dict:
    """Start ``server``; for each query: probe every variant, single-client latency, wrk at each connection count;
    then the competency mix. ``reference``: the oxigraph server's probes, that the empty-answer check is made
    against (None: this server is the reference)."""
    hello = server.name == "flask-hello"
    ready_query = None if hello else "ASK { ?s ?p ?o }"
    progress.say(f"{server.name}: starting")
    server.start(cfg.work, ready_query, cfg.start_timeout)
    result: dict = {"load_seconds": round(server.prepare_seconds + server.ready_seconds, 3),
                    "prepare_seconds": round(server.prepare_seconds, 3), "queries": {}}
    progress.say(f"{server.name}: ready in {result['load_seconds']:.1f} s")
    path = urllib.parse.urlsplit(server.url).path or "/"
    try:
        items = [MixQuery("hello", "Hello, World!", "", "ceiling")] if hello else mix
        for n, query in enumerate(items, 1):
            progress.where = f"{server.name} [{n}/{len(items)}] {query.name}: "
            if server.process.poll() is not None:
                result["queries"][query.name] = {"status": None, "error": f"server exited: {server.tail()}"}
                progress.step()
                continue
            vs = [Variant(0, "")] if hello else plan[query.name]
            row: dict = {"variants": [v.copy for v in vs]}
            if hello:
                status, _ = http_query(server.url, None, cfg.query_timeout + 5)
                row["status"] = status
            else:
                row.update(probe(server, query, vs, cfg))
                if row["status"] is None and "timed out" in row.get("error", ""):
                    progress.say(f"no answer within {cfg.query_timeout + 5:g} s")
                    result["queries"][query.name] = row
                    progress.step()
                    _restart(server, cfg, ready_query, progress, "a query ran over its time")
                    continue
                empty = [a["copy"] for a in row.get("answers", []) if _is_empty(a)]
                if empty and reference is None:
                    raise BenchError(f"{query.name} returns an empty answer on {server.name} at {label} triples "
                                     f"for copies {empty}: every query of the mix must return its real rows; "
                                     "change or replace it.")
                if empty:
                    row["empty_copies"] = empty
            if row["status"] != 200:
                progress.say(f"HTTP {row['status']}: {row.get('error', '')[:120]}")
                result["queries"][query.name] = row
                progress.step()
                continue
            requests = [(v.text, query.accept) for v in vs]
            try:
                if not hello:
                    row["single_client"] = single_client_latency(server.url, requests, budget=cfg.latency_budget,
                                                                 max_requests=cfg.latency_requests,
                                                                 timeout=cfg.query_timeout + 5)
                else:
                    row["single_client"] = single_client_latency(server.url, [(None, ACCEPT)],
                                                                 budget=cfg.latency_budget,
                                                                 max_requests=cfg.latency_requests,
                                                                 timeout=cfg.query_timeout + 5)
                script = scripts / f"{server.name}-{query.name}.lua"
                script.write_text(wrk_script(path, None) if hello else wrk_cycle_script(path, requests))
                # Long enough for every connection to see a few answers, however slow the server.
                row["load"] = {}
                for connections in cfg.connections:
                    progress.say(f"wrk -c{connections}")
                    needed = row["single_client"]["median_ms"] / 1e3 * connections * 3
                    duration = min(MAX_WRK_SECONDS, max(cfg.duration, needed))
                    row["load"][str(connections)] = run_wrk(wrk, server.url, script, duration=duration,
                                                            connections=connections, threads=cfg.threads,
                                                            timeout=cfg.query_timeout)
                loads = ", ".join(f"c{c}: {row['load'][str(c)]['ok_requests_per_s']:.0f} req/s"
                                  for c in cfg.connections)
                rows = "" if hello else ", rows " + ",".join(
                    str(a.get("boolean", a.get("rows"))) for a in row["answers"])
                progress.say(f"{loads}, single {row['single_client']['median_ms']:.2f} ms{rows}")
            except (OSError, BenchError, subprocess.TimeoutExpired) as exc:
                row["load_error"] = str(exc)[:200]
                progress.say(f"failed: {row['load_error']}")
                if "timed out" in row["load_error"]:
                    _restart(server, cfg, ready_query, progress, "a request ran over its time")
            result["queries"][query.name] = row
            progress.step()
        if not hello:
            progress.where = f"{server.name} {MIX_NAME}: "
            result["mix"] = competency_mix_load(server, mix, plan, result["queries"], cfg, wrk, scripts, progress)
    finally:
        server.stop()
        progress.where = ""
    result["peak_rss_bytes"] = server.peak_rss or None
    result["peak_pss_bytes"] = server.peak_pss or None
    return result


def competency_mix_load(server: Server, mix: list[MixQuery], plan: dict[str, list[Variant]], rows: dict,
                        cfg: BenchConfig, wrk: str, scripts: Path, progress: Progress) -> dict | None:
    """One wrk run at GOAL_CONNECTIONS over every variant of every competency question this server answered:
    the latency a researcher's mix of questions sees under load (the 10M goal's p99)."""
    requests = [(v.text, q.accept) for q in mix if q.group == "competency" and rows.get(q.name, {}).get("status") == 200
                for v in plan[q.name]]
    if not requests or server.process.poll() is not None:
        return None
    # Interleave the questions (copy by copy) so that every stretch of the run asks a mixture of them.
    requests = requests[::2] + requests[1::2]
    script = scripts / f"{server.name}-{MIX_NAME}.lua"
    script.write_text(wrk_cycle_script(urllib.parse.urlsplit(server.url).path or "/", requests))
    progress.say(f"wrk -c{GOAL_CONNECTIONS} over {len(requests)} requests, {cfg.mix_seconds:g} s")
    try:
        load = run_wrk(wrk, server.url, script, duration=cfg.mix_seconds, connections=GOAL_CONNECTIONS,
                       threads=cfg.threads, timeout=cfg.query_timeout)
    except (OSError, BenchError, subprocess.TimeoutExpired) as exc:
        return {"error": str(exc)[:200]}
    progress.say(f"{load['ok_requests_per_s']:.0f} req/s, p50 {load['latency_ms'].get('p50')} ms, "
                 f"p99 {load['latency_ms'].get('p99')} ms")
    return {"requests_in_cycle": len(requests), "connections": GOAL_CONNECTIONS, "load": load}


PAIRED_ROUNDS = 3


def paired_small_query(variant: str, data: SizeData, mix: list[MixQuery], cfg: BenchConfig, wrk: str, scripts: Path,
                       progress: Progress) -> dict:
    """The tiny ASK on ``variant`` and Flask's hello-world route, both running, measured in turn for PAIRED_ROUNDS
    rounds at GOAL_CONNECTIONS: each ratio compares two runs seconds apart, which a shared machine's load moves far
    less than it moves runs minutes apart. The median ratio is the figure."""
    small = next(q for q in mix if q.name == SMALL_QUERY)
    hello = make_server("flask-hello", data.build, cfg.work, timeout=cfg.query_timeout)
    server = make_server(variant, data.build, cfg.work, timeout=cfg.query_timeout, label=data.label)
    rounds = []
    progress.where = f"paired {variant} / flask-hello: "
    try:
        hello.start(cfg.work, None, cfg.start_timeout)
        server.start(cfg.work, "ASK { ?s ?p ?o }", cfg.start_timeout)
        hello_script = scripts / f"paired-hello-{variant}.lua"
        hello_script.write_text(wrk_script(urllib.parse.urlsplit(hello.url).path or "/", None))
        small_script = scripts / f"paired-{variant}-{small.name}.lua"
        small_script.write_text(wrk_script(urllib.parse.urlsplit(server.url).path, small.text, small.accept))
        http_query(server.url, small.text, cfg.query_timeout + 5, small.accept)  # warm: parsed, cached if on
        for n in range(PAIRED_ROUNDS):
            progress.say(f"round {n + 1}/{PAIRED_ROUNDS}")
            ceiling = run_wrk(wrk, hello.url, hello_script, duration=cfg.duration, connections=GOAL_CONNECTIONS,
                              threads=cfg.threads, timeout=cfg.query_timeout)["ok_requests_per_s"]
            got = run_wrk(wrk, server.url, small_script, duration=cfg.duration, connections=GOAL_CONNECTIONS,
                          threads=cfg.threads, timeout=cfg.query_timeout)["ok_requests_per_s"]
            rounds.append({"flask_hello_rps": ceiling, "small_query_rps": got, "ratio": _ratio(got, ceiling)})
    finally:
        server.stop()
        hello.stop()
        progress.where = ""
    ratios = [r["ratio"] for r in rounds if r["ratio"] is not None]
    median = round(statistics.median(ratios), 2) if ratios else None
    progress.say(f"paired {variant} {SMALL_QUERY} / flask-hello: {median} (rounds: {ratios})")
    return {"rounds": rounds, "median_ratio": median, "connections": GOAL_CONNECTIONS}


def paired_mix(data: SizeData, mix: list[MixQuery], plan: dict[str, list[Variant]], cfg: BenchConfig, wrk: str,
               scripts: Path, progress: Progress) -> dict:
    """mrkg (cache off) and the oxigraph server both running, each query's wrk run at GOAL_CONNECTIONS on one then
    the other, back to back: the throughput ratio of each query compares two runs a second apart, which the load of
    a shared machine moves far less than runs many minutes apart (the servers' own passes above). The goal's
    geometric mean is taken from these ratios."""
    ours = make_server("mrkg", data.build, cfg.work, timeout=cfg.query_timeout, label=data.label)
    peer = make_server("oxigraph", data.build, cfg.work, timeout=cfg.query_timeout, label=data.label)
    per_query: dict[str, dict] = {}
    try:
        peer.start(cfg.work, "ASK { ?s ?p ?o }", cfg.start_timeout)
        ours.start(cfg.work, "ASK { ?s ?p ?o }", cfg.start_timeout)
        for n, query in enumerate(mix, 1):
            progress.where = f"paired mrkg / oxigraph [{n}/{len(mix)}] {query.name}: "
            requests = [(v.text, query.accept) for v in plan[query.name]]
            entry: dict = {}
            # Both runs last as long, long enough for every connection to see a few answers from the slower one.
            slowest = 0.0
            for server in (peer, ours):
                try:
                    started = time.perf_counter()
                    http_query(server.url, requests[0][0], cfg.query_timeout + 5, query.accept)
                    slowest = max(slowest, time.perf_counter() - started)
                except OSError:
                    pass
            duration = min(MAX_WRK_SECONDS, max(cfg.duration, slowest * GOAL_CONNECTIONS * 3))
            entry["duration_s"] = round(duration, 2)
            for server in (peer, ours) if n % 2 else (ours, peer):  # who goes first alternates
                script = scripts / f"paired-mix-{server.name}-{query.name}.lua"
                script.write_text(wrk_cycle_script(urllib.parse.urlsplit(server.url).path or "/", requests))
                try:
                    load = run_wrk(wrk, server.url, script, duration=duration, connections=GOAL_CONNECTIONS,
                                   threads=cfg.threads, timeout=cfg.query_timeout)
                    entry[server.name] = load["ok_requests_per_s"] or None
                except (OSError, BenchError, subprocess.TimeoutExpired) as exc:
                    entry[server.name], entry[f"{server.name}_error"] = None, str(exc)[:200]
            entry["ratio"] = _ratio(entry.get("mrkg"), entry.get("oxigraph"))
            per_query[query.name] = entry
            progress.step()
            progress.say(f"mrkg {_fmt(entry.get('mrkg'))} / oxigraph {_fmt(entry.get('oxigraph'))} req/s: "
                         f"{_fmt(entry['ratio'], 2)}")
    finally:
        ours.stop()
        peer.stop()
        progress.where = ""
    return {"connections": GOAL_CONNECTIONS, "per_query": per_query,
            "geomean": _geomean([e["ratio"] for e in per_query.values()])}


def servers_for(triples: int, asked: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """The servers run at this size, the reference (oxigraph) first, and those skipped with the reason."""
    chosen = list(asked) if asked else list(LARGE_SERVERS if triples >= LARGE_SIZE else DEFAULT_SERVERS)
    skipped = {}
    if not asked and "rdflib-endpoint" in chosen and triples > RDFLIB_MAX_TRIPLES:
        chosen.remove("rdflib-endpoint")
        skipped["rdflib-endpoint"] = (f"skipped above {size_label(RDFLIB_MAX_TRIPLES)} triples: rdflib's in-memory "
                                      "store answers the heavy queries of the mix in seconds to minutes each, "
                                      "which would take the bench past its budget; ask for it with "
                                      "`--server rdflib-endpoint` (each query is then capped by the query timeout)")
    order = ["oxigraph"] + [s for s in SERVERS if s not in {"oxigraph", "rdflib-endpoint"}] + ["rdflib-endpoint"]
    return sorted(dict.fromkeys(chosen), key=order.index), skipped


def run_size(data: SizeData, mix: list[MixQuery], cfg: BenchConfig, wrk: str, scripts: Path,
             progress: Progress, on_server=None) -> dict:
    large = data.triples >= LARGE_SIZE
    names, skipped = servers_for(data.triples, cfg.servers)
    if large and not cfg.servers:
        mix = [q for q in mix if q.group == "competency"]
    plan = {q.name: variants(q, data.copies, cfg.max_variants) for q in mix}
    out: dict = {"triples": data.triples, "label": data.label, "quads": data.quads, "copies": len(data.copies),
                 "dataset_sha256": data.dataset_sha256, "data_seconds": data.seconds, "data_reused": data.reused,
                 "queries": [{"name": q.name, "title": q.title, "group": q.group, "form": q.form,
                              "variants": [v.copy for v in plan[q.name]]} for q in mix],
                 "servers": {}, "skipped": skipped}
    reference = None
    for name in [] if cfg.paired_only else names:
        progress.where = ""
        try:
            server = make_server(name, data.build, cfg.work, timeout=cfg.query_timeout, quads=data.quads,
                                 label=data.label)
            out["servers"][name] = bench_server(server, mix, plan, cfg, wrk, scripts, progress,
                                                reference=reference, label=data.label)
        except BenchError as exc:
            if "empty answer" in str(exc):
                raise
            out["servers"][name] = {"error": str(exc)}
            progress.say(f"{name}: {exc}")
            progress.step(len(mix) if name != "flask-hello" else 1)
            continue
        if reference is None and name != "flask-hello":
            reference = out["servers"][name]
        if on_server is not None:  # the report so far, written after each server (a run stopped keeps it)
            out["summary"] = summarize_size(out)
            on_server(out)
    if {"mrkg", "oxigraph"} <= set(names) and not any("error" in out["servers"].get(n, {}) for n in ("mrkg", "oxigraph")):
        try:
            out["paired_mix"] = paired_mix(data, mix, plan, cfg, wrk, scripts, progress)
        except (BenchError, OSError, subprocess.TimeoutExpired) as exc:
            out["paired_mix"] = {"error": str(exc)[:200]}
            progress.say(f"paired mrkg / oxigraph: {exc}")
    if "flask-hello" in names and not large:
        out["paired"] = {}
        for name in (v for v in ("mrkg", "mrkg-cached") if v in names):
            try:
                out["paired"][name] = paired_small_query(name, data, mix, cfg, wrk, scripts, progress)
            except (BenchError, OSError, subprocess.TimeoutExpired) as exc:
                out["paired"][name] = {"error": str(exc)[:200]}
                progress.say(f"paired {name}: {exc}")
    out["summary"] = summarize_size(out)
    return out


def run_bench(cfg: BenchConfig, echo=print) -> dict:
    sizes = list(cfg.sizes)
    all_servers = {s for t in sizes for s in servers_for(t, cfg.servers)[0]}
    wrk = check_tools(tuple(all_servers))
    cfg.work.mkdir(parents=True, exist_ok=True)
    scripts = cfg.work / "wrk"
    scripts.mkdir(exist_ok=True)
    mix = query_mix()
    if cfg.queries:
        unknown = set(cfg.queries) - {q.name for q in mix}
        if unknown:
            raise BenchError(f"No such query in the mix: {', '.join(sorted(unknown))}.")
        mix = [q for q in mix if q.name in cfg.queries]
    total = 0 if cfg.paired_only else \
        sum(len(mix) if s != "flask-hello" else 1 for t in sizes for s in servers_for(t, cfg.servers)[0])
    total += sum(len(mix) for t in sizes if {"mrkg", "oxigraph"} <= set(servers_for(t, cfg.servers)[0]))
    progress = Progress(echo, total)
    echo(f"mrkg bench: sizes {', '.join(size_label(t) for t in sizes)}; {len(mix)} queries; servers: "
         f"{', '.join(sorted(all_servers))}")
    report: dict = {
        "generated_by": "mrkg bench",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "versions": _versions(),
        "command": "mrkg bench" + "".join(f" --size {size_label(t)}" for t in sizes)
                   + f" --duration {cfg.duration:g}" + "".join(f" --server {s}" for s in cfg.servers)
                   + (" --paired-only" if cfg.paired_only else ""),
        "settings": {"duration_s": cfg.duration, "queries": list(cfg.queries), "connections": list(cfg.connections), "wrk_threads": cfg.threads,
                     "query_timeout_s": cfg.query_timeout, "max_variants": cfg.max_variants,
                     "mix_seconds": cfg.mix_seconds, "latency_budget_s": cfg.latency_budget},
        "sizes": {},
    }
    started = time.monotonic()
    failures: list[str] = []
    for triples in sizes:
        label = size_label(triples)
        progress.where = f"{label}: "
        progress.say("preparing the data")
        data = prepare_size(cfg.work, triples, facts_dir=cfg.facts_dir, sources_dir=cfg.sources_dir,
                            ontology_dir=cfg.ontology_dir, echo=progress.say)
        progress.say(f"{data.quads:,} quads, {len(data.copies)} copies of the real facts")
        def partial(sized: dict) -> None:
            report["sizes"][label] = sized
            report["elapsed_seconds"] = round(time.monotonic() - started, 1)
            report["partial"] = True
            report["extras"] = extras(cfg.out)
            report["goals"] = goals(report)
            report["empty_answers"] = failures
            if cfg.write_partial:
                write_report(report, cfg.out)

        sized = run_size(data, mix, cfg, wrk, scripts, progress, on_server=partial)
        report["sizes"][label] = sized
        for server, result in sized["servers"].items():
            for query, row in result.get("queries", {}).items():
                if row.get("empty_copies") and server in MRKG_VARIANTS:
                    failures.append(f"{query} on {server} at {label} (copies {row['empty_copies']})")
    report["elapsed_seconds"] = round(time.monotonic() - started, 1)
    report.pop("partial", None)
    report["extras"] = extras(cfg.out)
    report["goals"] = goals(report)
    report["empty_answers"] = failures
    return report


# --- the report ---------------------------------------------------------------------------------------------------

def _rps(sized: dict, server: str, query: str, connections: int = GOAL_CONNECTIONS) -> float | None:
    row = sized["servers"].get(server, {}).get("queries", {}).get(query, {})
    if row.get("status") != 200:
        return None
    return row.get("load", {}).get(str(connections), {}).get("ok_requests_per_s") or None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _geomean(values: list[float | None]) -> float | None:
    values = [v for v in values if v]
    if not values:
        return None
    return round(math.exp(sum(math.log(v) for v in values) / len(values)), 2)


def _answers(sized: dict, server: str, query: str) -> list | None:
    row = sized["servers"].get(server, {}).get("queries", {}).get(query, {})
    if row.get("status") != 200:
        return None
    # Strings, so that an ASK's false never equals 0 rows (nor true 1 row).
    return [("true" if a["boolean"] else "false") if "boolean" in a else
            (f"{a['rows']:,}" if a.get("rows") is not None else "?") for a in row.get("answers", [])]


def reference_server(sized: dict) -> str | None:
    if "error" not in sized["servers"].get("oxigraph", {"error": True}):
        return "oxigraph"
    return next((s for s in sized["servers"] if s != "flask-hello" and "error" not in sized["servers"][s]), None)


# Where a peer's answer may differ from the oxigraph server's in form, and how the bench reads it.
KNOWN_DIFFERENCES = {
    "virtuoso": f"Virtuoso answers an ASK as a result set of ?{VIRTUOSO_ASK_VAR} (a row of 1 when true) instead of "
                "the JSON results' boolean; the bench reads it as the boolean before comparing",
}


def summarize_size(sized: dict) -> dict:
    """Ratios of mrkg to its peers, per query and connection count, their geometric means, and the rows that
    differ from the reference's (the oxigraph server's)."""
    names = [q["name"] for q in sized["queries"]]
    ref = reference_server(sized)
    summary: dict = {"reference": ref, "per_query": {}, "mismatched_rows": [], "geomean": {}}
    conns = sorted({int(c) for s in sized["servers"].values() for r in s.get("queries", {}).values()
                    for c in r.get("load", {})}) or list(CONNECTIONS)
    for name in names:
        entry = {}
        for server in MRKG_VARIANTS:
            for c in conns:
                for peer in ("oxigraph", "virtuoso", "rdflib-endpoint"):
                    entry[f"{server}/{peer}@{c}"] = _ratio(_rps(sized, server, name, c), _rps(sized, peer, name, c))
        summary["per_query"][name] = entry
        expected = _answers(sized, ref, name) if ref else None
        for server in sized["servers"]:
            got = _answers(sized, server, name)
            if server in {"flask-hello", ref} or expected is None or got is None or got == expected:
                continue
            summary["mismatched_rows"].append({"server": server, "query": name, "rows": got, "reference_rows": expected,
                                               })
    for server in MRKG_VARIANTS:
        for peer in ("oxigraph", "virtuoso", "rdflib-endpoint"):
            for c in conns:
                value = _geomean([e[f"{server}/{peer}@{c}"] for e in summary["per_query"].values()])
                if value is not None:
                    summary["geomean"][f"{server}/{peer}@{c}"] = value
    return summary


def _goal(goal: str, value, target, met: bool | None, unit: str = "") -> dict:
    return {"goal": goal, "value": value, "target": target, "unit": unit, "met": bool(met) if value is not None else False}


def by_size(report: dict) -> list[tuple[str, dict]]:
    """The sizes of a report, smallest first (its JSON keeps them in key order: 100k, 10M, 1M)."""
    return sorted(report["sizes"].items(), key=lambda kv: kv[1].get("triples", 0))


def goals(report: dict) -> list[dict]:
    """The goals of the issue, each met or not with its figure (None: not measured, so not met)."""
    out: list[dict] = []
    for label, sized in by_size(report):
        large = sized["triples"] >= LARGE_SIZE
        geo = sized["summary"]["geomean"]
        paired_geo = (sized.get("paired_mix") or {}).get("geomean")
        if paired_geo is not None:
            out.append(_goal(f"{label}: geometric mean of mrkg (cache off) / oxigraph server throughput >= 1.0 at "
                             f"{GOAL_CONNECTIONS} connections, paired (both running, each query on one then the "
                             "other)", paired_geo, 1.0, paired_geo >= 1.0, "x"))
        if "mrkg" in sized["servers"] and "oxigraph" in sized["servers"]:
            for c in report["settings"]["connections"]:
                value = geo.get(f"mrkg/oxigraph@{c}")
                goal = f"{label}: geometric mean of mrkg (cache off) / oxigraph server throughput >= 1.0 at {c} connections"
                entry = _goal(goal, value, 1.0, value is not None and value >= 1.0, "x")
                if c != GOAL_CONNECTIONS or paired_geo is not None:
                    entry["informative"] = True  # the goal is on GOAL_CONNECTIONS, paired when measured so
                out.append(entry)
        for variant in ("mrkg", "mrkg-cached"):
            paired = sized.get("paired", {}).get(variant)
            if paired is not None:
                value = paired.get("median_ratio")
                cache = "cache off" if variant == "mrkg" else "cache on"
                entry = _goal(f"{label}: tiny ASK >= 0.8x Flask's hello-world ceiling ({cache}; median of "
                              f"{PAIRED_ROUNDS} paired rounds at {GOAL_CONNECTIONS} connections)", value, 0.8,
                              value is not None and value >= 0.8, "x")
                if variant != "mrkg":
                    entry["informative"] = True
                out.append(entry)
        store = sized["servers"].get("mrkg-store")
        if store is not None:
            tag = label if large else f"{label} (the {size_label(LARGE_SIZE)} goals' code path at a smaller size)"
            pss = store.get("peak_pss_bytes")
            out.append(_goal(f"{tag}: mrkg from store_dir, cache off: peak PSS of all processes < 2 GiB", pss, 2 << 30,
                             pss is not None and pss < 2 << 30, "bytes") | ({} if large else {"informative": True}))
            mix_load = (store.get("mix") or {}).get("load") or {}
            p99 = mix_load.get("latency_ms", {}).get("p99")
            entry = _goal(f"{tag}: the competency mix's p99 under load ({GOAL_CONNECTIONS} connections) < 1 s",
                          p99, 1000.0, p99 is not None and p99 < 1000.0, "ms")
            if not mix_load.get("requests"):  # wrk's 0.0 is no figure: no answer came back in the whole run
                seconds = report["settings"].get("mix_seconds")
                entry |= {"value": None, "met": False,
                          "why": f"no request of the mix was answered within its {seconds:g} s run, so the p99 is above "
                                 f"{seconds:g} s" if seconds else "no request of the mix was answered"}
            out.append(entry | ({} if large else {"informative": True}))
    # The goals this run did not measure: listed, not met, so that none goes missing from the report.
    measured = {label for label, sized in report["sizes"].items()}
    wanted = [(f"{label}: geometric mean of mrkg (cache off) / oxigraph server throughput >= 1.0 at "
               f"{GOAL_CONNECTIONS} connections", label) for label in ("100k", "1M")]
    wanted += [(f"10M: mrkg from store_dir, cache off: peak PSS of all processes < 2 GiB", "10M"),
               (f"10M: the competency mix's p99 under load ({GOAL_CONNECTIONS} connections) < 1 s", "10M")]
    for goal, label in wanted:
        if label not in measured:
            out.append(_goal(goal, None, None, False) | {"not_measured": True})
    if not any("tiny ASK" in g["goal"] for g in out):
        out.append(_goal("tiny ASK >= 0.8x Flask's hello-world ceiling", None, 0.8, False) | {"not_measured": True})
    for name, doc in report.get("extras", {}).items():
        for entry in _extra_goals(doc):
            out.append(entry | {"goal": f"{name}: {entry['goal']}", "from": name})
    return out


def _extra_goals(doc: dict) -> list[dict]:
    """The goals another benchmark wrote in its JSON (``goals``: a list of dicts or a dict of name -> outcome)."""
    found = doc.get("goals") if isinstance(doc, dict) else None
    items = []
    if isinstance(found, dict):
        for goal, outcome in found.items():
            outcome = outcome if isinstance(outcome, dict) else {"met": bool(outcome)}
            items.append({"goal": goal, **{k: v for k, v in outcome.items() if k != "goal"}})
    elif isinstance(found, list):
        items = [g for g in found if isinstance(g, dict) and "goal" in g]
    return [{"value": None, "target": None, "unit": "", **g, "met": bool(g.get("met"))} for g in items]


EXTRA_FILES = {"scale": "scale.json", "request_profile": "request_profile.json"}


def extras(out: Path) -> dict:
    """The other benchmarks' JSON reports beside ours, when present (build and validation at 10M; the lean path's
    per-stage profile)."""
    found = {}
    for name, file_name in EXTRA_FILES.items():
        path = out / file_name
        if path.is_file():
            try:
                found[name] = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                found[name] = {"error": f"{file_name} is not JSON: {exc}"}
    return found


def _fmt(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _mib(value) -> str:
    return "–" if not value else f"{value / (1 << 20):,.0f}"


def _goal_value(g: dict) -> str:
    if g.get("unit") == "bytes":
        return f"{_mib(g['value'])} MiB"
    if g.get("unit") == "ms":
        return f"{_fmt(g['value'], 1)} ms"
    if g.get("unit") == "x":
        return f"{_fmt(g['value'], 2)}x"
    if isinstance(g.get("value"), float):
        return _fmt(g["value"], 2) + (f" {g['unit']}" if g.get("unit") else "")
    return _fmt(g.get("value")) + (f" {g['unit']}" if g.get("unit") else "")


def _rows_cell(answers: list | None) -> str:
    if not answers:
        return "–"
    shown = [_fmt(a) for a in answers]
    if len(set(shown)) == 1:
        return shown[0] + (f" ×{len(shown)}" if len(shown) > 1 else "")
    return "/".join(shown)


def _size_lines(sized: dict, report: dict) -> list[str]:
    label, summary = sized["label"], sized["summary"]
    ref = summary["reference"]
    servers = [s for s in SERVERS if s in sized["servers"] and s != "flask-hello" and "error" not in sized["servers"][s]]
    conns = report["settings"]["connections"]
    lines = ["", f"## {label} triples", "",
             f"- **Data**: {sized['quads']:,} quads built by `mrkg build` from {sized['copies']} copies of the real "
             f"facts (`mrkg scale --triples {label} --facts`)"
             + (" (reused: inputs unchanged)" if sized.get("data_reused") else
                f"; scale {_fmt(sized['data_seconds'].get('scale'), 1)} s, build "
                f"{_fmt(sized['data_seconds'].get('build'), 1)} s"),
             f"- **Reference answers**: {ref or '–'}; a parameterised query is asked about "
             f"{max((len(q['variants']) for q in sized['queries']), default=1)} copies, wrk cycling through them"]
    for name, why in sized.get("skipped", {}).items():
        lines.append(f"- **{name}**: {why}")
    for name, result in sized["servers"].items():
        if "error" in result:
            lines.append(f"- **{name}** failed: {result['error']}")
    for c in conns:
        peers = [p for p in ("oxigraph", "virtuoso", "rdflib-endpoint") if p in servers]
        lines += ["", f"### Throughput at {c} connections (req/s; higher is better)", "",
                  "| query | " + " | ".join(servers) + " | " + " | ".join(f"mrkg / {p}" for p in peers)
                  + " | rows per copy |",
                  "| --- | " + " | ".join("---:" for _ in servers + peers) + " | ---: |"]
        for q in sized["queries"]:
            name = q["name"]
            ratios = summary["per_query"][name]
            lines.append(f"| {name} | " + " | ".join(_fmt(_rps(sized, s, name, c)) for s in servers) + " | "
                         + " | ".join(_fmt(ratios.get(f"mrkg/{p}@{c}"), 2) for p in peers)
                         + f" | {_rows_cell(_answers(sized, ref, name) if ref else None)} |")
        lines.append("| **geometric mean of ratios** | " + " | ".join("" for _ in servers) + " | "
                     + " | ".join(f"**{_fmt(summary['geomean'].get(f'mrkg/{p}@{c}'), 2)}**" for p in peers) + " | |")
        cached = [f"mrkg-cached / {p} {_fmt(summary['geomean'].get(f'mrkg-cached/{p}@{c}'), 2)}" for p in peers
                  if summary["geomean"].get(f"mrkg-cached/{p}@{c}")]
        if cached:
            lines += ["", "With the result cache (geometric means): " + ", ".join(cached) + "."]
    for c in conns:
        lines += ["", f"### Latency under load at {c} connections (ms, p50 / p99; lower is better)", "",
                  "| query | " + " | ".join(servers) + " |", "| --- | " + " | ".join("---:" for _ in servers) + " |"]
        for q in sized["queries"]:
            cells = []
            for s in servers:
                load = sized["servers"][s].get("queries", {}).get(q["name"], {}).get("load", {}).get(str(c))
                lat = (load or {}).get("latency_ms", {}) if (load or {}).get("requests") else {}
                cells.append(f"{_fmt(lat.get('p50'), 2)} / {_fmt(lat.get('p99'), 2)}" if lat else "–")
            lines.append(f"| {q['name']} | " + " | ".join(cells) + " |")
    lines += ["", "### Single-client latency (ms, median / p99 of sequential requests; lower is better)", "",
              "| query | " + " | ".join(servers) + " |", "| --- | " + " | ".join("---:" for _ in servers) + " |"]
    for q in sized["queries"]:
        cells = []
        for s in servers:
            single = sized["servers"][s].get("queries", {}).get(q["name"], {}).get("single_client")
            cells.append(f"{single['median_ms']:.2f} / {single['p99_ms']:.2f}" if single else "–")
        lines.append(f"| {q['name']} | " + " | ".join(cells) + " |")
    lines += ["", f"### The competency mix under load ({GOAL_CONNECTIONS} connections, every variant of every "
                  "competency question in one wrk run)", "",
              "| server | requests in the cycle | req/s | p50 (ms) | p99 (ms) |", "| --- | ---: | ---: | ---: | ---: |"]
    for s in servers:
        mix = sized["servers"][s].get("mix") or {}
        load = mix.get("load") or {}
        latency = load.get("latency_ms", {}) if load.get("requests") else {}  # no answer: no latency to show
        lines.append(f"| {s} | {_fmt(mix.get('requests_in_cycle'))} | {_fmt(load.get('ok_requests_per_s'))} | "
                     f"{_fmt(latency.get('p50'), 2)} | {_fmt(latency.get('p99'), 2)} |")
    pm = sized.get("paired_mix")
    if pm:
        lines += ["", f"### mrkg (cache off) against the oxigraph server, paired ({pm.get('connections')} connections, "
                      "both running, each query's wrk run on one then the other)", ""]
        if "error" in pm:
            lines.append(f"- failed: {pm['error']}")
        else:
            lines += ["| query | mrkg req/s | oxigraph req/s | ratio |", "| --- | ---: | ---: | ---: |"]
            lines += [f"| {name} | {_fmt(e.get('mrkg'))} | {_fmt(e.get('oxigraph'))} | {_fmt(e.get('ratio'), 2)} |"
                      for name, e in pm["per_query"].items()]
            lines.append(f"| **geometric mean** | | | **{_fmt(pm.get('geomean'), 2)}** |")
    hello = sized["servers"].get("flask-hello")
    if sized.get("paired"):
        ceiling = _rps(sized, "flask-hello", "hello")
        lines += ["", f"### Tiny ASK against Flask's hello-world ceiling ({PAIRED_ROUNDS} rounds in turn, both "
                      f"servers running, {GOAL_CONNECTIONS} connections)", "",
                  f"Flask's hello-world route alone (same gunicorn settings): {_fmt(ceiling)} req/s.", "",
                  "| server | tiny ASK req/s | hello req/s | ratio per round | median |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for server, result in sized["paired"].items():
            if "error" in result:
                lines.append(f"| {server} | failed: {result['error']} | | | |")
                continue
            rounds = result["rounds"]
            lines.append(f"| {server} | {' / '.join(_fmt(r['small_query_rps']) for r in rounds)} | "
                         f"{' / '.join(_fmt(r['flask_hello_rps']) for r in rounds)} | "
                         f"{' / '.join(_fmt(r['ratio'], 2) for r in rounds)} | **{_fmt(result['median_ratio'], 2)}** |")
    lines += ["", "### Load time and memory", "",
              "| server | load time (s) | peak RSS, all processes (MiB) | peak PSS, all processes (MiB) |",
              "| --- | ---: | ---: | ---: |"]
    for s in (["flask-hello"] if hello else []) + servers:
        r = sized["servers"][s]
        lines.append(f"| {s} | {_fmt(r['load_seconds'], 1)} | {_mib(r['peak_rss_bytes'])} | {_mib(r['peak_pss_bytes'])} |")
    if "virtuoso" in servers:
        lines += ["", f"Engine-specific difference allowed: {KNOWN_DIFFERENCES['virtuoso']}."]
    if summary["mismatched_rows"]:
        lines += ["", f"### Answers that differ from the reference's ({ref})", ""]
        lines += [f"- {m['server']} / {m['query']}: {_rows_cell(m['rows'])} (reference: {_rows_cell(m['reference_rows'])})"
                  for m in summary["mismatched_rows"]]
    return lines


def _extra_lines(report: dict) -> list[str]:
    lines = []
    titles = {"scale": ("Build and validate at 10M triples", "benchmarks/scale_bench.py", "scale.md"),
              "request_profile": ("The lean path's per-stage profile", "benchmarks/request_profile.py", None)}
    for name, doc in report.get("extras", {}).items():
        title, script, md = titles[name]
        lines += ["", f"## {title} (from `{EXTRA_FILES[name]}`, written by `{script}`)", ""]
        if "error" in doc:
            lines.append(f"- {doc['error']}")
            continue
        for key in ("date", "command", "generated_by"):
            if key in doc:
                lines.append(f"- **{key}**: {doc[key]}")
        for g in _extra_goals(doc):
            lines.append(f"- {'met' if g['met'] else '**not met**'}: {g['goal']} — {_goal_value(g)}")
        rows = doc.get("stages") or doc.get("phases")
        if not rows and isinstance(doc.get("stages_us"), dict):  # request_profile.json: stage -> microseconds
            rows = [{"stage": k, "µs a request": v} for k, v in doc["stages_us"].items()]
        if isinstance(rows, dict):
            rows = [{"stage": k, **(v if isinstance(v, dict) else {"value": v})} for k, v in rows.items()]
        if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
            keys = list(dict.fromkeys(k for r in rows for k in r))
            lines += ["", "| " + " | ".join(keys) + " |", "| " + " | ".join("---" for _ in keys) + " |"]
            lines += ["| " + " | ".join(_fmt(r.get(k), 3) for k in keys) + " |" for r in rows]
        if md:
            lines.append(f"\nThe whole report: [{md}]({md}).")
    return lines


def render_markdown(report: dict) -> str:
    m = report["machine"]
    s = report["settings"]
    lines = [
        "<!-- Generated by `mrkg bench` -- do not edit; run `make bench` to refresh. -->",
        "# Benchmark report",
        "",
        f"- **Date**: {report['date']}" + (" — **partial: the run was still going (or stopped) when this was "
                                           "written**" if report.get("partial") else ""),
        f"- **Machine**: {m['cpus']} CPUs ({m['cpu_model'] or 'unknown CPU'}), "
        f"{m['memory_bytes'] / (1 << 30):.0f} GiB, {m['system']}, Python {m['python']}",
        f"- **Command**: `{report['command']}`; whole run {report['elapsed_seconds']:.0f} s",
        f"- **Load**: wrk --latency, {' and '.join(str(c) for c in s['connections'])} connections, "
        f"{s['wrk_threads']} threads, {s['duration_s']:g} s per query and connection count (longer for a slow "
        f"server, up to {MAX_WRK_SECONDS:g} s); single-client latency from sequential requests "
        f"({s['latency_budget_s']:g} s per query); query timeout {s['query_timeout_s']:g} s",
        "- **Versions**: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
        "",
        "## Goals",
        "",
    ]
    for g in report["goals"]:
        mark = "met" if g["met"] else "**not met**"
        if g.get("not_measured"):
            lines.append(f"- **not met** (not measured in this run): {g['goal']}")
            continue
        value = g["why"] if g.get("value") is None and g.get("why") else _goal_value(g)
        lines.append(f"- {mark}: {g['goal']} — {value}" + (" (reported beside the goal)"
                                                            if g.get("informative") else ""))
    if not report["goals"]:
        lines.append("- none measured in this run")
    if report.get("empty_answers"):
        lines += ["", "**Empty answers** (the run failed): " + "; ".join(report["empty_answers"])]
    for _, sized in by_size(report):
        lines += _size_lines(sized, report)
    lines += _extra_lines(report)
    lines += ["", "## How to read it", "",
              "Ratios compare servers measured minutes apart in the same run on a shared machine: they travel "
              "better than absolute figures. Rows are the reference server's answer for each copy a query is asked "
              "about (an ASK's boolean); every other server's answers are compared with them. RSS counts pages that "
              "forked workers share once per process; PSS divides them among the processes, so it is what the "
              "server really holds. Load time is from process start to the first answer (for oxigraph, plus "
              "`oxigraph load`; for Virtuoso, its bulk load).", "", "## Queries", ""]
    queries = {q["name"]: q for sized in report["sizes"].values() for q in sized["queries"]}
    lines += [f"- `{q['name']}` ({q['group']}): {q['title']}" for q in queries.values()]
    return "\n".join(lines) + "\n"


def in_checkout(text: str, root: Path = REPO_DIR) -> str:
    """Paths inside the checkout as the checkout names them (.bench/size-10M/build): a report names no machine's
    folders."""
    return text.replace(str(root) + "/", "").replace(str(root), ".")


def write_report(report: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("latest.json", json.dumps(report, indent=2, sort_keys=True) + "\n"),
                       ("latest.md", render_markdown(report))):
        text = in_checkout(text)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out / name)
        written.append(out / name)
    return written[0], written[1]


@click.command("bench")
@click.option("--size", "sizes", multiple=True, help="Triples of a graph made from the real facts: 100k, 1M, 10M or a "
              "number (repeatable; default: 100k and 1M). From 10M on, only mrkg from store_dir (cache off) runs, "
              "on the competency mix, unless --server says otherwise.")
@click.option("--duration", default=1.0, show_default=True, type=float,
              help="Seconds of wrk per server, query and connection count.")
@click.option("--connections", "connections", multiple=True, type=int,
              help="Concurrent wrk connections (repeatable; default: 16 and 64).")
@click.option("--server", "servers", multiple=True, type=click.Choice(SERVERS),
              help="Run only these servers (repeatable; default: all but mrkg-pool and mrkg-store below 10M).")
@click.option("--variants", "max_variants", default=MAX_VARIANTS, show_default=True, type=click.IntRange(1, 100),
              help="Copies a parameterised query is asked about (spread over the copies).")
@click.option("--query", "queries", multiple=True, help="Only this query of the mix (repeatable; default: all).")
@click.option("--paired-only", is_flag=True, help="Only the paired runs: mrkg (cache off) and the oxigraph server "
              "per query, the tiny ASK and Flask's ceiling (both servers running, measured in turn).")
@click.option("--query-timeout", default=10.0, show_default=True, type=float,
              help="Seconds a server may take on one query (each server's own limit, and the probes' cap).")
@click.option("--sources", "sources_dir", default=str(REPO_DIR.parent / "shared" / "sources"),
              show_default="../shared/sources", envvar="MRKG_SOURCES", type=click.Path(file_okay=False, path_type=Path),
              help="The source texts of the real facts.")
@click.option("--out", default=str(REPO_DIR / "benchmarks" / "report"), show_default="benchmarks/report",
              type=click.Path(file_okay=False, path_type=Path), help="Folder of latest.md and latest.json.")
@click.option("--work", default=str(REPO_DIR / ".bench"), show_default=".bench",
              type=click.Path(file_okay=False, path_type=Path), help="Scratch folder: data, stores, logs (git-ignored).")
def bench_command(sizes: tuple[str, ...], duration: float, connections: tuple[int, ...], servers: tuple[str, ...],
                  max_variants: int, queries: tuple[str, ...], paired_only: bool, query_timeout: float, sources_dir: Path, out: Path, work: Path) -> None:
    """Benchmark mrkg against the oxigraph server, Virtuoso, rdflib-endpoint and Flask's ceiling on graphs made
    from the real facts; write a report (benchmarks/report/latest.md). Fails when a query finds nothing."""
    from .scale import parse_size

    parsed = []
    for text in sizes or DEFAULT_SIZES:
        try:
            parsed.append(parse_size(text))
        except ValueError:
            raise click.BadParameter(f"{text!r} is not a size such as 100k or 1M", param_hint="--size") from None
    cfg = BenchConfig(sizes=tuple(parsed), duration=duration, connections=tuple(connections) or CONNECTIONS,
                      servers=tuple(dict.fromkeys(servers)), work=work.resolve(), out=out, max_variants=max_variants,
                      query_timeout=query_timeout, queries=tuple(queries), write_partial=True, paired_only=paired_only,
                      sources_dir=sources_dir.resolve())
    if not (cfg.sources_dir / ".").is_dir():
        raise click.ClickException(f"No source texts at {sources_dir}: give --sources DIR (or MRKG_SOURCES).")
    try:
        report = run_bench(cfg, echo=lambda text: click.echo(text, err=True))
    except BenchError as exc:
        raise click.ClickException(str(exc)) from None
    json_path, md_path = write_report(report, out)
    click.echo(md_path.read_text(encoding="utf-8"))
    click.echo(f"wrote {md_path} and {json_path}", err=True)
    if report["empty_answers"]:
        raise click.ClickException("queries returned empty answers: " + "; ".join(report["empty_answers"]))
