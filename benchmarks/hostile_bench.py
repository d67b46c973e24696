"""The hostile corpus (tests/hostile/) against a real `mrkg serve` of the real build, per engine, with figures.

For each engine: every hostile query is sent by GET, both POST forms and the UI's plain form while a listener on
127.0.0.1 counts connections (outbound connections seen, of attempts), the HTTP workers' pids are compared before
and after (workers killed), and a small ASK from a second client is timed while each kind of attack runs
(worst latency). Bounded: a few hundred requests per engine. Traffic only on 127.0.0.1.

    .venv/bin/python benchmarks/hostile_bench.py [--build build] [--engines oxigraph,memory,remote]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import LEAKED_REPLY, ConnectionCounter, free_port  # noqa: E402
from hostile.queries import POISON, SERVICE_DIFFERENTIALS, UPDATES, crashers  # noqa: E402

SMALL = "ASK { ?s ?p ?o }"
HOWS = ("get", "form", "direct", "ui")


def send(url: str, text: str, how: str, timeout: float = 60) -> int:
    accept = {"Accept": "application/sparql-results+json, text/turtle;q=0.9"}
    endpoint = url + "/sparql"
    if how == "get":
        request = urllib.request.Request(endpoint + "?" + urllib.parse.urlencode({"query": text}), headers=accept)
    elif how == "form":
        request = urllib.request.Request(endpoint, data=urllib.parse.urlencode({"query": text}).encode(),
                                         headers={**accept, "Content-Type": "application/x-www-form-urlencoded"})
    elif how == "direct":
        request = urllib.request.Request(endpoint, data=text.encode(),
                                         headers={**accept, "Content-Type": "application/sparql-query"})
    else:
        request = urllib.request.Request(url + "/?" + urllib.parse.urlencode({"query": text}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def children(pid: int) -> set[int]:
    return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def start(build: Path, engine: str, log: Path, **settings) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "MRKG_BUILD_DIR": str(build), "MRKG_STORE": engine, "MRKG_ACCESS_LOG": "false",
           **{f"MRKG_{k.upper()}": str(v) for k, v in settings.items()}}
    process = subprocess.Popen([sys.executable, "-m", "mrkg", "serve", "--port", str(port)], env=env,
                               stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/health", timeout=2).close()
            return process, url
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    raise SystemExit(f"mrkg serve ({engine}) did not start: {log.read_text()[-1000:]}")


def oxigraph_store(build: Path, work: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which("oxigraph")
    if binary is None:
        raise SystemExit("the oxigraph server is not installed (make setup installs it)")
    subprocess.run([binary, "load", "--location", str(work / "db"), "--file", str(build / "mrkg.nq")], check=True,
                   capture_output=True)
    port = free_port()
    process = subprocess.Popen([binary, "serve-read-only", "--location", str(work / "db"), "--bind",
                                f"127.0.0.1:{port}", "--union-default-graph"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/query"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "?query=ASK%7B%7D", timeout=2).close()
            return process, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("oxigraph serve did not start")


def small_latency_during(url: str, attack, seconds: float = 4.0) -> tuple[float, int]:
    """Worst latency (ms) of sequential small ASKs while ``attack()`` runs in a thread, and how many were not 200."""
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            attack()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    worst, failed = 0.0, 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        if send(url, SMALL, "get", timeout=30) != 200:
            failed += 1
        worst = max(worst, (time.perf_counter() - started) * 1e3)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return worst, failed


def bench_engine(build: Path, engine: str, work: Path) -> dict:
    extra, store = {}, None
    if engine == "remote":
        store, extra["remote_endpoint"] = oxigraph_store(build, work)
    process, url = start(build, engine, work / f"serve-{engine}.log", max_body_bytes=1_000_000, **extra)
    listener = ConnectionCounter(LEAKED_REPLY)
    try:
        before = children(process.pid)
        attempts = 0
        for how in HOWS:
            for hostile in [*SERVICE_DIFFERENTIALS, *UPDATES, POISON]:
                send(url, hostile.for_listener(listener.url), how)
                attempts += 1
        for hostile in crashers():
            send(url, hostile.text, "form")
            attempts += 1
        killed = len(before - children(process.pid))
        worst_crash = small_latency_during(url, lambda: [send(url, h.text, "form") for h in crashers()[:3]])
        worst_smuggle = small_latency_during(url, lambda: send(url, SERVICE_DIFFERENTIALS[0].for_listener(listener.url),
                                                               "form"))
        killed += len(before - children(process.pid))
        return {"engine": engine, "attempts": attempts, "connections": listener.settle(), "workers_killed": killed,
                "worst_ms_crashers": worst_crash, "worst_ms_smuggled": worst_smuggle}
    finally:
        listener.close()
        process.terminate()
        process.wait(timeout=30)
        if store is not None:
            store.terminate()
            store.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--engines", default="oxigraph,memory,remote")
    args = parser.parse_args()
    if not (args.build / "mrkg.nq").is_file():
        raise SystemExit(f"no build at {args.build}: run `make build` first")
    print("| engine | hostile requests | outbound connections | workers killed | small ASK worst (crashers) | "
          "small ASK worst (smuggled SERVICE) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="mrkg-attack-") as tmp:
        for engine in args.engines.split(","):
            work = Path(tmp) / engine
            work.mkdir()
            r = bench_engine(args.build.resolve(), engine, work)
            (c_ms, c_fail), (s_ms, s_fail) = r["worst_ms_crashers"], r["worst_ms_smuggled"]
            print(f"| {engine} | {r['attempts']} | {r['connections']} | {r['workers_killed']} | {c_ms:.0f} ms"
                  f"{f' ({c_fail} not 200)' if c_fail else ''} | {s_ms:.0f} ms{f' ({s_fail} not 200)' if s_fail else ''} |",
                  flush=True)


if __name__ == "__main__":
    main()
