"""`mrkg bench`: mrkg and its peers on the same synthetic graph and query mix, driven by wrk, in one run.

One server runs at a time (the machine has few cores), each started on 127.0.0.1 and stopped by the bench:

    flask-hello      Flask's hello-world route under mrkg's gunicorn settings (the framework's ceiling)
    mrkg             `mrkg serve` (pyoxigraph, the default inline executor), result cache off
    mrkg-pool        the same with the pool executor (a query worker process per query), result cache off
    mrkg-cached      the same with the result cache on
    oxigraph         the `oxigraph` server (Rust, PyPI) after `oxigraph load`
    rdflib-endpoint  rdflib-endpoint (FastAPI over rdflib) under uvicorn

For each server and query: a probe (status and rows, compared with the oxigraph server's), single-client latency
(median, p99) and wrk at 16 connections (req/s, latency under load). Peak memory is sampled from /proc over
the server's whole process tree. Every figure is also given as a ratio to the peers of the same run, since
machines are shared and noisy. The report goes to benchmarks/report/latest.md and latest.json.
"""

from __future__ import annotations

import hashlib
import http.client
import json
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
MAX_WRK_SECONDS = 20.0  # a slow server gets a longer wrk run, so that some answers arrive, up to this
SMALL_QUERY = "tiny-ask"
MEDIUM_QUERY = "medium-join"
SERVERS = ("flask-hello", "mrkg", "mrkg-pool", "mrkg-cached", "oxigraph", "rdflib-endpoint")
MRKG_VARIANTS = ("mrkg", "mrkg-pool", "mrkg-cached")
BENCH_EXTRA_HINT = "pip install -e '.[bench]' (make bench does it)"


class BenchError(Exception):
    """The bench cannot run; the message is one sentence saying what to do."""


# --- the query mix -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MixQuery:
    name: str
    title: str
    text: str
    group: str  # competency | scale
    accept: str = ACCEPT  # N-Triples for CONSTRUCT / DESCRIBE


def query_mix(repo: Path = REPO_DIR) -> list[MixQuery]:
    """The competency questions (queries/*.rq) and the scale queries (benchmarks/queries/*.rq), names unique."""
    from .engine.guard import Limits, check_query

    mix: list[MixQuery] = []
    for group, folder in (("competency", repo / "queries"), ("scale", repo / "benchmarks" / "queries")):
        for q in read_queries(folder):
            name = q.name if q.name not in {m.name for m in mix} else f"{group}-{q.name}"
            form = check_query(q.text, base=None, prefixes={}, limits=Limits()).form
            mix.append(MixQuery(name, q.title, q.text, group, GRAPH_ACCEPT if form in {"CONSTRUCT", "DESCRIBE"}
                                else ACCEPT))
    return mix


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


def wrk_script(path: str, query: str | None, accept: str = ACCEPT) -> str:
    """A wrk Lua script that POSTs ``query`` as a form (or GETs ``path`` when there is no query)."""
    if query is None:
        return f'wrk.method = "GET"\nwrk.path = "{path}"\n'
    body = urllib.parse.urlencode({"query": query})
    return (f'wrk.method = "POST"\nwrk.path = "{path}"\nwrk.body = [==[{body}]==]\n'
            f'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
            f'wrk.headers["Accept"] = "{accept}"\n')


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


def single_client_latency(url: str, query: str | None, *, budget: float, max_requests: int,
                          timeout: float, accept: str = ACCEPT) -> dict:
    """Median and p99 (ms) of sequential requests, until ``max_requests`` or ``budget`` seconds."""
    samples: list[float] = []
    deadline = time.monotonic() + budget
    while len(samples) < max_requests and (not samples or time.monotonic() < deadline):
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
        deadline = self.started + timeout
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
    return wrk


def prepare_data(work: Path, triples: int, seed: int) -> tuple[Path, str]:
    """A build folder (mrkg.nq + manifest.json) holding the scale graph; reused when already there."""
    from .scale import write_scale_graph

    folder = work / f"build-{triples}-seed{seed}"
    data = folder / "mrkg.nq"
    manifest = folder / "manifest.json"
    if not (data.is_file() and manifest.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        write_scale_graph(data, triples, seed=seed, progress=True)
        digest = hashlib.sha256()
        with open(data, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        doc = {"generated_by": "mrkg bench -- do not edit", "version": f"scale-{triples}-seed{seed}",
               "dataset_sha256": digest.hexdigest(), "graphs": {}, "stats": {}}
        fd, tmp = tempfile.mkstemp(dir=folder)
        with os.fdopen(fd, "w") as handle:
            json.dump(doc, handle, indent=2)
        os.replace(tmp, manifest)
    return folder, json.loads(manifest.read_text())["dataset_sha256"]


def make_server(name: str, build: Path, work: Path, *, timeout: float) -> Server:
    port = free_port()
    python = sys.executable
    if name in MRKG_VARIANTS:
        env = {"MRKG_BUILD_DIR": str(build), "MRKG_ACCESS_LOG": "false", "MRKG_STORE": "oxigraph",
               "MRKG_QUERY_TIMEOUT": str(timeout), "MRKG_CACHE_BYTES": str(64 << 20) if name == "mrkg-cached" else "0",
               "MRKG_EXECUTOR": "pool" if name == "mrkg-pool" else "inline"}
        return Server(name, [python, "-m", "mrkg", "serve", "--host", HOST, "--port", str(port)],
                      f"http://{HOST}:{port}/sparql", env)
    if name == "flask-hello":
        return Server(name, [python, "-c", f"from mrkg.bench import serve_hello; serve_hello({port})"],
                      f"http://{HOST}:{port}/")
    if name == "oxigraph":
        oxigraph = _venv_tool("oxigraph")
        location = work / f"oxigraph-{build.name}"
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
    raise BenchError(f"Unknown server {name!r}: choose among {', '.join(SERVERS)}.")


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
    triples: int = 100_000
    seed: int = 1
    duration: float = 2.0
    connections: int = 16
    threads: int = 2
    query_timeout: float = 10.0
    latency_budget: float = 1.0
    latency_requests: int = 50
    start_timeout: float = 600.0
    servers: tuple[str, ...] = SERVERS
    work: Path = REPO_DIR / ".bench"
    out: Path = REPO_DIR / "benchmarks" / "report"


def bench_server(server: Server, mix: list[MixQuery], cfg: BenchConfig, wrk: str, scripts: Path,
                 echo=print) -> dict:
    hello = server.name == "flask-hello"
    ready_query = None if hello else "ASK { ?s ?p ?o }"
    server.start(cfg.work, ready_query, cfg.start_timeout)
    result: dict = {"load_seconds": round(server.prepare_seconds + server.ready_seconds, 3),
                    "prepare_seconds": round(server.prepare_seconds, 3), "queries": {}}
    echo(f"  {server.name}: ready in {result['load_seconds']:.1f} s")
    try:
        items = [MixQuery("hello", "Hello, World!", "", "ceiling")] if hello else mix
        for query in items:
            text = None if hello else query.text
            path = urllib.parse.urlsplit(server.url).path or "/"
            if server.process.poll() is not None:
                result["queries"][query.name] = {"status": None, "error": f"server exited: {server.tail()}"}
                continue
            try:
                status, body = http_query(server.url, text, cfg.query_timeout + 5, query.accept)
                row: dict = {"status": status, "rows": None if hello else count_rows(body, query.accept)}
                if status == 200:
                    row["single_client"] = single_client_latency(server.url, text, budget=cfg.latency_budget,
                                                                 max_requests=cfg.latency_requests,
                                                                 timeout=cfg.query_timeout + 5, accept=query.accept)
                    script = scripts / f"{server.name}-{query.name}.lua"
                    script.write_text(wrk_script(path, text, query.accept))
                    # Long enough for every connection to see a few answers, however slow the server.
                    needed = row["single_client"]["median_ms"] / 1e3 * cfg.connections * 3
                    duration = min(MAX_WRK_SECONDS, max(cfg.duration, needed))
                    row["load"] = run_wrk(wrk, server.url, script, duration=duration,
                                          connections=cfg.connections, threads=cfg.threads, timeout=cfg.query_timeout)
                    echo(f"    {query.name}: {row['load']['requests_per_s']:.0f} req/s, median "
                         f"{row['single_client']['median_ms']:.2f} ms, {row['rows']} rows")
                else:
                    row["error"] = body[:200].decode("utf-8", "replace")
                    echo(f"    {query.name}: HTTP {status}: {row['error'][:120]}")
            except (OSError, BenchError, subprocess.TimeoutExpired) as exc:
                row = {"status": None, "error": str(exc)[:200]}
                echo(f"    {query.name}: failed: {row['error']}")
                if "timed out" in row["error"]:
                    # The server may still be evaluating it (a peer without a time limit): start afresh.
                    echo(f"  {server.name}: restarting after a query that ran over {cfg.query_timeout + 5:g} s")
                    server.stop()
                    server.start(cfg.work, ready_query, cfg.start_timeout)
            result["queries"][query.name] = row
    finally:
        server.stop()
    result["peak_rss_bytes"] = server.peak_rss or None
    result["peak_pss_bytes"] = server.peak_pss or None
    return result


PAIRED_ROUNDS = 3


def paired_small_query(variant: str, build: Path, mix: list[MixQuery], cfg: BenchConfig, wrk: str, scripts: Path,
                       echo=print) -> dict:
    """The small query on ``variant`` and Flask's hello-world route, both running, measured in turn for
    PAIRED_ROUNDS rounds: each ratio compares two runs seconds apart, which a shared machine's load moves far
    less than it moves runs minutes apart. The median ratio is the figure."""
    small = next(q for q in mix if q.name == SMALL_QUERY)
    hello = make_server("flask-hello", build, cfg.work, timeout=cfg.query_timeout)
    server = make_server(variant, build, cfg.work, timeout=cfg.query_timeout)
    rounds = []
    try:
        hello.start(cfg.work, None, cfg.start_timeout)
        server.start(cfg.work, "ASK { ?s ?p ?o }", cfg.start_timeout)
        hello_script = scripts / f"paired-hello-{variant}.lua"
        hello_script.write_text(wrk_script(urllib.parse.urlsplit(hello.url).path or "/", None))
        small_script = scripts / f"paired-{variant}-{small.name}.lua"
        small_script.write_text(wrk_script(urllib.parse.urlsplit(server.url).path, small.text, small.accept))
        http_query(server.url, small.text, cfg.query_timeout + 5, small.accept)  # warm: parsed, cached if on
        for _ in range(PAIRED_ROUNDS):
            ceiling = run_wrk(wrk, hello.url, hello_script, duration=cfg.duration, connections=cfg.connections,
                              threads=cfg.threads, timeout=cfg.query_timeout)["ok_requests_per_s"]
            got = run_wrk(wrk, server.url, small_script, duration=cfg.duration, connections=cfg.connections,
                          threads=cfg.threads, timeout=cfg.query_timeout)["ok_requests_per_s"]
            rounds.append({"flask_hello_rps": ceiling, "small_query_rps": got, "ratio": _ratio(got, ceiling)})
    finally:
        server.stop()
        hello.stop()
    ratios = [r["ratio"] for r in rounds if r["ratio"] is not None]
    median = round(statistics.median(ratios), 2) if ratios else None
    echo(f"  paired {variant} {SMALL_QUERY} / flask-hello: {median} (rounds: {ratios})")
    return {"rounds": rounds, "median_ratio": median}


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


def run_bench(cfg: BenchConfig, echo=print) -> dict:
    wrk = check_tools(cfg.servers)
    cfg.work.mkdir(parents=True, exist_ok=True)
    scripts = cfg.work / "wrk"
    scripts.mkdir(exist_ok=True)
    mix = query_mix()
    echo(f"mrkg bench: {cfg.triples} triples, {len(mix)} queries, servers: {', '.join(cfg.servers)}")
    build, sha = prepare_data(cfg.work, cfg.triples, cfg.seed)
    report: dict = {
        "generated_by": "mrkg bench",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "versions": _versions(),
        "command": f"mrkg bench --size {cfg.triples} --duration {cfg.duration:g}",
        "settings": {"triples": cfg.triples, "seed": cfg.seed, "dataset_sha256": sha, "duration_s": cfg.duration,
                     "connections": cfg.connections, "wrk_threads": cfg.threads, "query_timeout_s": cfg.query_timeout},
        "queries": [{"name": q.name, "title": q.title, "group": q.group} for q in mix],
        "servers": {},
    }
    started = time.monotonic()
    for name in cfg.servers:
        server = make_server(name, build, cfg.work, timeout=cfg.query_timeout)
        try:
            report["servers"][name] = bench_server(server, mix, cfg, wrk, scripts, echo)
        except BenchError as exc:
            report["servers"][name] = {"error": str(exc)}
            echo(f"  {name}: {exc}")
    if "flask-hello" in cfg.servers:
        report["paired"] = {}
        for name in (v for v in MRKG_VARIANTS if v in cfg.servers):
            try:
                report["paired"][name] = paired_small_query(name, build, mix, cfg, wrk, scripts, echo)
            except (BenchError, OSError, subprocess.TimeoutExpired) as exc:
                report["paired"][name] = {"error": str(exc)[:200]}
                echo(f"  paired {name}: {exc}")
    report["elapsed_seconds"] = round(time.monotonic() - started, 1)
    report["summary"] = summarize(report)
    return report


# --- the report ---------------------------------------------------------------------------------------------------

def _rps(report: dict, server: str, query: str) -> float | None:
    row = report["servers"].get(server, {}).get("queries", {}).get(query, {})
    return row.get("load", {}).get("ok_requests_per_s") if row.get("status") == 200 else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _geomean(values: list[float]) -> float | None:
    values = [v for v in values if v]
    if not values:
        return None
    product = 1.0
    for v in values:
        product *= v
    return round(product ** (1 / len(values)), 2)


def summarize(report: dict) -> dict:
    """Ratios of mrkg to its peers and the goals of the issue, met or not."""
    names = [q["name"] for q in report["queries"]]
    summary: dict = {"per_query": {}, "mismatched_rows": []}
    for name in names:
        entry = {}
        for server in MRKG_VARIANTS:
            entry[f"{server}/oxigraph"] = _ratio(_rps(report, server, name), _rps(report, "oxigraph", name))
            entry[f"{server}/rdflib-endpoint"] = _ratio(_rps(report, server, name),
                                                        _rps(report, "rdflib-endpoint", name))
        summary["per_query"][name] = entry
        reference = report["servers"].get("oxigraph", {}).get("queries", {}).get(name, {}).get("rows")
        for server, result in report["servers"].items():
            rows = result.get("queries", {}).get(name, {}).get("rows")
            if server != "flask-hello" and reference is not None and rows is not None and rows != reference:
                summary["mismatched_rows"].append({"server": server, "query": name, "rows": rows,
                                                   "oxigraph_rows": reference})
    for server in MRKG_VARIANTS:
        summary[f"{server}/oxigraph_geomean"] = _geomean([e[f"{server}/oxigraph"] for e in summary["per_query"].values()])
        summary[f"{server}/rdflib-endpoint_geomean"] = _geomean(
            [e[f"{server}/rdflib-endpoint"] for e in summary["per_query"].values()])
    hello = _rps(report, "flask-hello", "hello")
    for server in MRKG_VARIANTS:  # the paired measurement when there is one (see paired_small_query)
        paired = report.get("paired", {}).get(server, {}).get("median_ratio")
        summary[f"{server}_small_query/flask_ceiling"] = paired if paired is not None else \
            _ratio(_rps(report, server, SMALL_QUERY), hello)
    summary["mrkg/mrkg-pool_geomean"] = _geomean([r for r in (_ratio(_rps(report, "mrkg", n), _rps(report, "mrkg-pool", n))
                                                            for n in names) if r is not None])
    mem = report["servers"].get("mrkg", {}).get("peak_pss_bytes")
    summary["goals"] = {}
    for server, label in (("mrkg", "cache off"), ("mrkg-cached", "result cache on, the default")):
        summary["goals"].update({
            f"throughput >= oxigraph server's (geomean over the mix; {label})":
                _goal(summary[f"{server}/oxigraph_geomean"], 1.0),
            f"throughput >= 4x rdflib-endpoint's (geomean over the mix; {label})":
                _goal(summary[f"{server}/rdflib-endpoint_geomean"], 4.0),
            f"small-query throughput >= 80% of Flask's ceiling ({label})":
                _goal(summary[f"{server}_small_query/flask_ceiling"], 0.8),
        })
    summary["goals"][f"served in < 1 GiB (peak PSS of all processes at {report['settings']['triples']:,} triples)"] = \
        {"value": mem, "met": mem is not None and mem < 1 << 30}
    return summary


def _goal(value: float | None, target: float) -> dict:
    return {"value": value, "target": target, "met": value is not None and value >= target}


def _fmt(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _mib(value) -> str:
    return "–" if not value else f"{value / (1 << 20):,.0f}"


def _paired_lines(report: dict) -> list[str]:
    if not report.get("paired"):
        return []
    lines = ["", f"Tiny ASK against Flask's ceiling, measured in turn ({PAIRED_ROUNDS} rounds, both servers running):",
             "", "| server | tiny ASK req/s | hello req/s | ratio per round | median |", "| --- | ---: | ---: | ---: | ---: |"]
    for server, result in report["paired"].items():
        if "error" in result:
            lines.append(f"| {server} | failed: {result['error']} | | | |")
            continue
        rounds = result["rounds"]
        lines.append(f"| {server} | {' / '.join(_fmt(r['small_query_rps']) for r in rounds)} | "
                     f"{' / '.join(_fmt(r['flask_hello_rps']) for r in rounds)} | "
                     f"{' / '.join(_fmt(r['ratio'], 2) for r in rounds)} | **{_fmt(result['median_ratio'], 2)}** |")
    return lines


def render_markdown(report: dict) -> str:
    servers = [s for s in (*MRKG_VARIANTS, "oxigraph", "rdflib-endpoint") if s in report["servers"]]
    m = report["machine"]
    lines = [
        "<!-- Generated by `mrkg bench` -- do not edit; run `make bench` to refresh. -->",
        "# Benchmark report",
        "",
        f"- **Date**: {report['date']}",
        f"- **Machine**: {m['cpus']} CPUs ({m['cpu_model'] or 'unknown CPU'}), "
        f"{m['memory_bytes'] / (1 << 30):.0f} GiB, {m['system']}, Python {m['python']}",
        f"- **Command**: `make bench` (runs `{report['command']}`); whole run {report['elapsed_seconds']:.0f} s",
        f"- **Data**: {report['settings']['triples']:,} triples from `mrkg scale` (seed {report['settings']['seed']})",
        f"- **Load**: wrk, {report['settings']['connections']} connections, {report['settings']['wrk_threads']} "
        f"threads, {report['settings']['duration_s']:g} s per query; single-client latency from sequential requests",
        "- **Versions**: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
        "",
        "## Throughput at 16 concurrent clients (req/s; higher is better)",
        "",
        "| query | " + " | ".join(servers) + " | mrkg / oxigraph | mrkg / rdflib-endpoint | rows |",
        "| --- | " + " | ".join("---:" for _ in servers) + " | ---: | ---: | ---: |",
    ]
    summary = report["summary"]
    for q in report["queries"]:
        name = q["name"]
        cells = [_fmt(_rps(report, s, name)) for s in servers]
        ratios = summary["per_query"][name]
        rows = report["servers"].get("oxigraph", report["servers"].get("mrkg", {})).get("queries", {}).get(name, {})
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {_fmt(ratios['mrkg/oxigraph'], 2)}"
                     f" | {_fmt(ratios['mrkg/rdflib-endpoint'], 2)} | {_fmt(rows.get('rows'))} |")
    lines.append(f"| **geometric mean of ratios** | " + " | ".join("" for _ in servers)
                 + f" | **{_fmt(summary['mrkg/oxigraph_geomean'], 2)}**"
                 f" | **{_fmt(summary['mrkg/rdflib-endpoint_geomean'], 2)}** | |")
    hello = _rps(report, "flask-hello", "hello")
    paired = "paired" in report
    lines += ["", f"Flask's own ceiling (hello-world route, same gunicorn settings): **{_fmt(hello)} req/s**; "
                  + ("measured in turn with the tiny ASK, 3 rounds each (median ratio), " if paired else "")
                  + f"mrkg's tiny ASK reaches **{_fmt(summary['mrkg_small_query/flask_ceiling'], 2)}×** of it "
                  f"(**{_fmt(summary['mrkg-cached_small_query/flask_ceiling'], 2)}×** with the result cache, "
                  f"**{_fmt(summary.get('mrkg-pool_small_query/flask_ceiling'), 2)}×** with the pool executor). "
                  f"The inline executor's throughput is **{_fmt(summary.get('mrkg/mrkg-pool_geomean'), 2)}×** the "
                  "pool executor's (geometric mean over the mix).",
              *_paired_lines(report),
              "", "## Single-client latency (ms, median / p99; lower is better)", "",
              "| query | " + " | ".join(servers) + " |", "| --- | " + " | ".join("---:" for _ in servers) + " |"]
    for q in report["queries"]:
        cells = []
        for s in servers:
            single = report["servers"].get(s, {}).get("queries", {}).get(q["name"], {}).get("single_client")
            cells.append(f"{single['median_ms']:.2f} / {single['p99_ms']:.2f}" if single else "–")
        lines.append(f"| {q['name']} | " + " | ".join(cells) + " |")
    lines += ["", "## Load time and memory", "",
              "| server | load time (s) | peak RSS, all processes (MiB) | peak PSS (MiB) |",
              "| --- | ---: | ---: | ---: |"]
    for s in ["flask-hello"] + servers:
        r = report["servers"].get(s)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"| {s} | failed: {r['error']} | | |")
            continue
        lines.append(f"| {s} | {_fmt(r['load_seconds'], 1)} | {_mib(r['peak_rss_bytes'])} | {_mib(r['peak_pss_bytes'])} |")
    lines += ["", "Load time is from process start to the first answer (for oxigraph, plus `oxigraph load`). "
                  "RSS counts pages that forked workers share once per process; PSS divides them among the "
                  "processes, so it is what the server really holds.", "", "## Goals", ""]
    for goal, outcome in summary["goals"].items():
        value = outcome["value"]
        shown = _mib(value) + " MiB" if "GiB" in goal else _fmt(value, 2)
        lines.append(f"- {'met' if outcome['met'] else '**not met**'}: {goal} — {shown}")
    if summary["mismatched_rows"]:
        lines += ["", "## Answers that differ from the oxigraph server's", ""]
        lines += [f"- {m['server']} / {m['query']}: {m['rows']} rows (oxigraph: {m['oxigraph_rows']})"
                  for m in summary["mismatched_rows"]]
    lines += ["", "## Queries", ""]
    lines += [f"- `{q['name']}` ({q['group']}): {q['title']}" for q in report["queries"]]
    return "\n".join(lines) + "\n"


def write_report(report: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("latest.json", json.dumps(report, indent=2, sort_keys=True) + "\n"),
                       ("latest.md", render_markdown(report))):
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=out)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out / name)
        written.append(out / name)
    return written[0], written[1]


@click.command("bench")
@click.option("--size", "triples", default="100k", show_default=True,
              help="Triples in the synthetic graph: 100k, 1M, 10M or a number.")
@click.option("--duration", default=2.0, show_default=True, type=float, help="Seconds of wrk per server and query.")
@click.option("--connections", default=16, show_default=True, type=int, help="Concurrent wrk connections.")
@click.option("--server", "servers", multiple=True, type=click.Choice(SERVERS),
              help="Run only these servers (repeatable; default: all).")
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of the synthetic graph.")
@click.option("--out", default=str(REPO_DIR / "benchmarks" / "report"), show_default="benchmarks/report",
              type=click.Path(file_okay=False, path_type=Path), help="Folder of latest.md and latest.json.")
@click.option("--work", default=str(REPO_DIR / ".bench"), show_default=".bench",
              type=click.Path(file_okay=False, path_type=Path), help="Scratch folder: data, stores, logs (git-ignored).")
def bench_command(triples: str, duration: float, connections: int, servers: tuple[str, ...], seed: int, out: Path,
                  work: Path) -> None:
    """Benchmark mrkg against the oxigraph server, rdflib-endpoint and Flask's ceiling; write a report."""
    from .scale import parse_size

    try:
        size = parse_size(triples)
    except ValueError:
        raise click.BadParameter(f"{triples!r} is not a size such as 100k or 1M", param_hint="--size") from None
    cfg = BenchConfig(triples=size, seed=seed, duration=duration, connections=connections,
                      servers=tuple(servers) or SERVERS, work=work, out=out)
    try:
        report = run_bench(cfg, echo=lambda text: click.echo(text, err=True))
    except BenchError as exc:
        raise click.ClickException(str(exc)) from None
    if size != 100_000 or tuple(servers) not in {(), SERVERS}:
        report["command"] += "".join(f" --server {s}" for s in servers)
    json_path, md_path = write_report(report, out)
    click.echo(md_path.read_text(encoding="utf-8"))
    click.echo(f"wrote {md_path} and {json_path}", err=True)
