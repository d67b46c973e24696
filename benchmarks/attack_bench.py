"""`mrkg serve` under attack, measured (traffic to 127.0.0.1 / 127.0.0.2 only; every phase bounded in time).

    .venv/bin/python benchmarks/attack_bench.py                        # every phase, the build in build/
    .venv/bin/python benchmarks/attack_bench.py --only ask --baseline-src ../old/server   # small-query ratio

Phases (`--only` picks some):
  ask    the tiny ASK with `wrk -t1 -c16 -d10s`, rounds alternating with the server of --baseline-src (another
         checkout's server/ folder, same build, same settings): req/s and the ratio, per round
  slow   1,000 idle connections, 50 clients sending a request head a byte per 0.1 s and 50 sending a body so,
         while another client (127.0.0.2) sends small ASKs one after another: their latencies
  burst  32 cartesian queries at once from 127.0.0.1 while 127.0.0.2 sends small ASKs: answers by status, resets,
         the small queries' worst latency
  kill   wrk at 32 connections on the tiny ASK for 20 s; one HTTP worker killed with SIGKILL half-way: requests
         lost (socket errors and non-2xx) against the same run without the kill
  mix    60 s at 64 connections on the example queries (queries/*.rq, in turn): non-2xx count and p99

Figures go to stdout as one line each; run it on a quiet machine and repeat it: absolute numbers move with load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "server"))

from mrkg import bench  # noqa: E402
from mrkg.queries import read_queries  # noqa: E402

SMALL = "ASK { ?s a <https://w3id.org/mrkg/ontology/Drug> }"
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
ACCEPT = "application/sparql-results+json"


def start(name: str, build: Path, work: Path, src: str | None = None, **settings) -> bench.Server:
    port = bench.free_port()
    env = {"MRKG_BUILD_DIR": str(build), "MRKG_ACCESS_LOG": "false",
           **{f"MRKG_{key.upper()}": str(value) for key, value in settings.items()}}
    if src:
        env["PYTHONPATH"] = str(Path(src).resolve())
    server = bench.Server(name, [sys.executable, "-m", "mrkg", "serve", "--port", str(port)],
                          f"http://127.0.0.1:{port}/sparql", env=env)
    server.start(work, "ASK {}", timeout=120)
    return server


def get(url: str, query: str, source: str | None = None, timeout: float = 60) -> tuple[int, str, dict]:
    import http.client

    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                            source_address=(source, 0) if source else None)
    try:
        connection.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": ACCEPT})
        response = connection.getresponse()
        return response.status, response.read().decode(), response.headers
    finally:
        connection.close()


def wrk_get(server: bench.Server, scripts: Path, query: str, *, duration: float, connections: int) -> dict:
    script = scripts / "ask.lua"
    script.write_text(f'wrk.method = "GET"\nwrk.path = "/sparql?{urllib.parse.urlencode({"query": query})}"\n'
                      f'wrk.headers["Accept"] = "{ACCEPT}"\n')
    return bench.run_wrk("wrk", server.url, script, duration=duration, connections=connections, threads=1,
                         timeout=30)


def phase_ask(args, work: Path) -> None:
    servers = [start("mrkg", args.build, work)]
    if args.baseline_src:
        servers.insert(0, start("baseline", args.build, work, src=args.baseline_src))
    try:
        rates: dict[str, list[float]] = {s.name: [] for s in servers}
        for _ in range(args.rounds):
            for server in servers:
                rates[server.name].append(wrk_get(server, work, SMALL, duration=10, connections=16)["requests_per_s"])
        for name, values in rates.items():
            print(f"ask {name}: {[round(v) for v in values]} req/s, median {statistics.median(values):.0f}")
        if args.baseline_src:
            ratios = [new / old for old, new in zip(rates["baseline"], rates["mrkg"])]
            print(f"ask ratio mrkg/baseline per round {[round(r, 2) for r in ratios]}, "
                  f"median {statistics.median(ratios):.2f}")
    finally:
        for server in servers:
            server.stop()


def _connect(url: str) -> socket.socket:
    parts = urllib.parse.urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=30)


def phase_slow(args, work: Path, src: str | None = None, name: str = "mrkg") -> None:
    server = start(name, args.build, work, src=src)
    idle, slow = [], []
    stop = threading.Event()
    try:
        idle = [_connect(server.url) for _ in range(1000)]
        head = b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 500 + b"\r\n\r\n"
        body = b"ASK {" + b" " * 995 + b"}"
        for _ in range(50):
            slow.append((_connect(server.url), head))
        for _ in range(50):
            sock = _connect(server.url)
            sock.sendall(b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body))
            slow.append((sock, body))

        def trickle() -> None:
            position = 0
            while not stop.wait(0.1):
                for sock, data in slow:
                    try:
                        sock.send(data[position:position + 1])
                    except OSError:
                        pass
                position += 1

        threading.Thread(target=trickle, daemon=True).start()
        latencies, failures = [], 0
        deadline = time.monotonic() + 8  # within the head deadline (10 s): the slow clients are all still there
        while time.monotonic() < deadline and len(latencies) + failures < 40:
            started = time.monotonic()
            try:
                status, _, _ = get(server.url, SMALL, source="127.0.0.2", timeout=max(0.5, deadline - started))
                latencies.append(time.monotonic() - started) if status == 200 else None
                failures += status != 200
            except OSError:
                failures += 1
        if latencies:
            print(f"slow {name}: small ASK beside 1000 idle + 50 slow-head + 50 slow-body clients: {len(latencies)} "
                  f"answered in 8 s, median {statistics.median(latencies) * 1000:.1f} ms, max "
                  f"{max(latencies) * 1000:.1f} ms; {failures} not answered")
        else:
            print(f"slow {name}: no small ASK answered within 8 s ({failures} attempts failed or timed out)")
    finally:
        stop.set()
        for sock in idle + [s for s, _ in slow]:
            sock.close()
        server.stop()


def phase_burst(args, work: Path, src: str | None = None, name: str = "mrkg") -> None:
    server = start(name, args.build, work, src=src)
    try:
        results: list = []
        small: list[float] = []
        small_failed: list[str] = []
        done = threading.Event()

        def attack() -> None:
            try:
                status, body, headers = get(server.url, CARTESIAN, timeout=90)
                results.append(f"{status}{' Retry-After' if headers.get('Retry-After') else ''}")
            except Exception as exc:  # noqa: BLE001 - resets are what is counted
                results.append(type(exc).__name__)
            if len(results) == 32:
                done.set()

        def innocent() -> None:
            while not done.is_set():
                started = time.monotonic()
                try:
                    status, _, _ = get(server.url, SMALL, source="127.0.0.2", timeout=60)
                    if status == 200:
                        small.append(time.monotonic() - started)
                    else:
                        small_failed.append(str(status))
                except Exception as exc:  # noqa: BLE001
                    small_failed.append(type(exc).__name__)

        threads = [threading.Thread(target=attack) for _ in range(32)] + [threading.Thread(target=innocent)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        counts = {outcome: results.count(outcome) for outcome in sorted(set(results))}
        worst = f"{max(small) * 1000:.0f} ms" if small else "-"
        print(f"burst {name}: 32 cartesian queries -> {counts}; small queries from 127.0.0.2: {len(small)} answered, "
              f"worst {worst}, {len(small_failed)} failed {sorted(set(small_failed))}")
    finally:
        server.stop()


def phase_kill(args, work: Path, src: str | None = None, name: str = "mrkg") -> None:
    server = start(name, args.build, work, src=src)
    try:
        quiet = wrk_get(server, work, SMALL, duration=20, connections=32)
        held: list[int] = []

        def kill() -> None:  # one HTTP worker, and how many client connections it held at that moment
            import subprocess

            victim = bench.process_tree(server.process.pid)[1]
            port = urllib.parse.urlsplit(server.url).port
            listing = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                                     capture_output=True, text=True).stdout
            held.append(listing.count(f"pid={victim},"))
            os.kill(victim, signal.SIGKILL)

        timer = threading.Timer(10, kill)
        timer.start()
        killed = wrk_get(server, work, SMALL, duration=20, connections=32)
        timer.join()
        for label, result in (("no kill", quiet), ("one worker killed", killed)):
            print(f"kill {name}, {label}: {result['requests']} requests, {result['socket_errors']} socket errors, "
                  f"{result['non_2xx']} non-2xx")
        print(f"kill {name}: the killed worker held {held[0] if held else '?'} of the 32 connections")
    finally:
        server.stop()


def phase_mix(args, work: Path) -> None:
    server = start("mrkg", args.build, work)
    try:
        paths = [f"/sparql?{urllib.parse.urlencode({'query': q.text})}" for q in read_queries(REPO / "queries")]
        script = work / "mix.lua"
        script.write_text("local paths = {" + ",".join(f"[==[{p}]==]" for p in paths) + "}\nlocal i = 0\n"
                          "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n")
        result = bench.run_wrk("wrk", server.url, script, duration=60, connections=64, threads=2, timeout=30)
        print(f"mix: 60 s at 64 connections over {len(paths)} example queries: {result['requests']} requests, "
              f"{result['requests_per_s']:.0f} req/s, {result['non_2xx']} non-2xx, {result['socket_errors']} socket "
              f"errors, p50 {result['latency_ms'].get('p50')} ms, p99 {result['latency_ms'].get('p99')} ms")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--baseline-src", help="server/ folder of another checkout, measured the same way")
    parser.add_argument("--only", default="ask,slow,burst,kill,mix")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    args.build = args.build.resolve()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    phases = args.only.split(",")
    (REPO / ".bench").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=REPO / ".bench", prefix="attack-") as folder:
        work = Path(folder)
        if "ask" in phases:
            phase_ask(args, work)
        for phase in ("slow", "burst", "kill"):
            if phase in phases:
                globals()[f"phase_{phase}"](args, work)
                if args.baseline_src:
                    globals()[f"phase_{phase}"](args, work, src=args.baseline_src, name="baseline")
        if "mix" in phases:
            phase_mix(args, work)
    print(json.dumps({"build": args.build.name, "phases": phases}))


if __name__ == "__main__":
    main()
