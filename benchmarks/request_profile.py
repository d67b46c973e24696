"""Where a small query's time goes in `mrkg serve`'s HTTP worker, stage by stage, in microseconds.

    .venv/bin/python benchmarks/request_profile.py [--query benchmarks/queries/tiny-ask.rq] [--out FILE.json]

The real app (``create_app`` on the build, result cache off, access log off, inline executor) and the real front
(web/front.py's ``Front``, on an asyncio loop with its thread pool, as in a gunicorn worker; only the socket and
httptools' parsing are left out). Each stage is timed on its own, in a loop (the least of ``--rounds`` rounds of
``--repeat`` calls), with the request the bench sends: the query POSTed as a form, Accept
application/sparql-results+json. Then the whole request, through the front and a thread, on both paths: the
Flask route (``/sparql`` as Flask serves it) and the lean path (``web/lean.py``, what ``/sparql`` takes for the
common requests), beside Flask's hello-world route behind the same front (the bench's ceiling). The stages of the
Flask route add up to less than its whole: the rest is Flask's (request context, routing, hooks).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ACCEPT = "application/sparql-results+json"


def _timer(fn, repeat: int, rounds: int) -> float:
    """The least of ``rounds`` rounds' mean time of one call of ``fn`` (microseconds): on a shared machine the
    least disturbed round is the closest to the cost itself."""
    results = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(repeat):
            fn()
        results.append((time.perf_counter_ns() - start) / repeat / 1000)
    return min(results)


def _scope(path: str, body: bytes, accept: str) -> dict:
    headers = [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/x-www-form-urlencoded"),
               (b"accept", accept.encode()), (b"content-length", str(len(body)).encode())]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST" if body else "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}


def profile(query_path: Path, repeat: int, rounds: int, cprofile: bool = False) -> dict:
    os.environ.setdefault("MRKG_BUILD_DIR", str(REPO / "build"))
    from a2wsgi.wsgi import build_environ
    from flask import Flask
    from werkzeug.wrappers import Request

    from mrkg.engine.formats import BOOLEAN_FORMATS, choose
    from mrkg.engine.results import BOOLEAN_WRITERS
    from mrkg.engine.runner import Job, dataset_for
    from mrkg.web import front as front_module
    from mrkg.web.app import create_app
    from mrkg.web.ops import check_utf8_parameters

    text = query_path.read_text(encoding="utf-8")  # the whole file, as the bench sends it
    body = urllib.parse.urlencode({"query": text}).encode()
    app = create_app({"cache_bytes": 0, "access_log": False, "executor": "inline"})
    svc = app.extensions["mrkg"]
    has_lean = hasattr(app.wsgi_app, "enabled")  # False: a checkout from before the lean path (--before)
    BODY_IN = getattr(front_module, "BODY_IN", "mrkg.body_in")
    hello = Flask("hello")
    hello.add_url_rule("/", "hello", lambda: "Hello, World!")

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    class _Server:  # what Front.attach needs of uvicorn's server
        servers: list = []

    fronts = {}
    for name, wsgi in (("mrkg", app), ("hello", hello)):
        fronts[name] = front_module.Front.for_app(wsgi, threads=4)
        fronts[name].attach(loop, _Server())

    def request(front, path: str, data: bytes, *, lean: bool | None = None):
        async def go():
            sent = []

            async def send(message):
                sent.append(message)

            scope = _scope(path, data, ACCEPT)
            scope[BODY_IN] = True  # as the protocol marks a request whose body came with its head (web/front.py)
            if lean is not None and has_lean:
                app.wsgi_app.enabled = lean  # False: the Flask route (web/lean.py)
            await front(scope, front_module._replay(data), send)
            return sent
        return go()

    sent = loop.run_until_complete(request(fronts["mrkg"], "/sparql", body))
    status = sent[0]["status"]
    if status != 200:
        raise SystemExit(f"the query answered {status}: {sent[1]['body'][:200]!r}")
    answer_body = sent[1]["body"]

    def run_loop(front, path, data, **kwargs):
        return lambda: loop.run_until_complete(request(front, path, data, **kwargs))

    stages: dict[str, float] = {}
    t = lambda fn: _timer(fn, repeat, rounds)  # noqa: E731

    # --- the front and the thread --------------------------------------------------------------------------
    scope = _scope("/sparql", body, ACCEPT)
    stages["front: a2wsgi environ"] = t(lambda: build_environ(scope, io.BytesIO(body)))
    executor = fronts["mrkg"]._executor
    stages["front: hop to a thread and back"] = t(
        lambda: loop.run_until_complete(loop.run_in_executor(executor, int)))

    # --- the Flask route's stages ---------------------------------------------------------------------------
    environ = build_environ(scope, io.BytesIO(body))

    def form():
        env = dict(environ, **{"wsgi.input": io.BytesIO(body)})
        req = Request(env)
        check_utf8_parameters(req.get_data(cache=True), "form body")
        return req.form.getlist("query")

    stages["flask: form decoding (werkzeug, UTF-8 check)"] = t(form)
    base = "http://127.0.0.1:8000/sparql"
    import hashlib

    release = svc.release.etag[:16]

    def tags():
        digest = hashlib.sha256("\x1f".join(map(str, (text, None, None, ACCEPT, None, base)))
                                .encode("utf-8", "surrogatepass")).hexdigest()[:16]
        hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        return f"{release}-{digest}"

    stages["flask: variant_tag + query_sha (2 x sha256)"] = t(tags)
    guard = svc.runner.guard
    guarded = guard.check(text, base)
    stages["engine: guard verdict (memo hit)"] = t(lambda: guard.check(text, base))

    def watch():
        with svc.watchdog.watch(10.0, lambda status, message: None):
            pass

    stages["engine: watchdog.watch (arm + disarm)"] = t(watch)
    stages["engine: choose() (negotiation, memo)"] = t(lambda: choose(ACCEPT, None, BOOLEAN_FORMATS))
    job = Job(text, base, ACCEPT, None, None, None)
    backend = svc.backend
    prefixes = svc.runner.prefixes
    stages["pyoxigraph: evaluate (Store.query + bool)"] = t(
        lambda: backend.evaluate(guarded, dataset_for(job, guarded.from_graphs, guarded.from_named), prefixes))
    store = backend.store
    stages["pyoxigraph: Store.query alone"] = t(
        lambda: bool(store.query(guarded.text, base_iri=guarded.base, use_default_graph_as_union=True)))
    stages["engine: writer (json boolean)"] = t(lambda: BOOLEAN_WRITERS["json"](True))
    stages["engine: Runner.run (choose, evaluate, writer)"] = t(lambda: svc.runner.run(job, guarded))

    # --- the lean path's own stages, and each path's whole WSGI call (in this thread) ----------------------------
    from urllib.parse import unquote_to_bytes

    from mrkg.web.ops import _HIGH_ESCAPE

    if has_lean:
        stages["lean: form decoding, first time (checks, unquote_to_bytes)"] = t(
            lambda: (body.isascii(), b"&" in body, _HIGH_ESCAPE.search(body),
                     unquote_to_bytes(body[6:].replace(b"+", b" ")).decode("ascii")))
        memo = {body: text}
        stages["lean: form decoding, body seen before (memo)"] = t(lambda: memo.get(body))

    class _Late:
        def answer_late(self, status, message, extra=()):
            raise AssertionError("the query ran past its deadline")

    late = _Late()

    def wsgi_call(enabled: bool):
        def call():
            if has_lean:
                app.wsgi_app.enabled = enabled
            env = dict(environ, **{"wsgi.input": io.BytesIO(body)})
            env["asgi.scope"] = {"mrkg.exchange": late}  # the inline executor answers late through it
            front_module._call_wsgi(app, env)
        return call

    hello_environ = build_environ(dict(_scope("/", b"", ACCEPT), method="GET"), io.BytesIO(b""))
    stages["wsgi: Flask hello-world app"] = t(lambda: front_module._call_wsgi(hello, dict(hello_environ)))
    stages["wsgi: /sparql, Flask route"] = t(wsgi_call(False))
    if has_lean:
        stages["wsgi: /sparql, lean path"] = t(wsgi_call(True))

    # --- whole requests ----------------------------------------------------------------------------------
    whole = {
        "whole: Flask hello-world (front + thread + Flask)": run_loop(fronts["hello"], "/", b""),
        "whole: /sparql, Flask route (front + thread + app)": run_loop(fronts["mrkg"], "/sparql", body, lean=False),
        "whole: /sparql, lean path (front + thread + app)": run_loop(fronts["mrkg"], "/sparql", body, lean=True),
    }
    if not has_lean:
        del whole["whole: /sparql, lean path (front + thread + app)"]
    for name, fn in whole.items():
        stages[name] = t(fn)
    hotspots = {}
    if cprofile:  # where the whole request's time goes, function by function (own time, this thread only)
        import cProfile
        import pstats

        for name, fn in zip(("hello", "flask", "lean"), whole.values()):
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(repeat):
                fn()
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats("tottime")
            top = sorted(stats.stats.items(), key=lambda item: -item[1][2])[:15]
            hotspots[name] = [{"function": f"{Path(file).name}:{line}({func})", "calls_per_request": nc / repeat,
                               "own_us_per_request": round(tt / repeat * 1e6, 2)}
                              for (file, line, func), (cc, nc, tt, ct, _) in top]
    for front in fronts.values():
        front._executor.shutdown()
    loop.close()
    return {"query": query_path.name, "answer": answer_body.decode(), "repeat": repeat, "rounds": rounds,
            "python": sys.version.split()[0], "stages_us": {k: round(v, 1) for k, v in stages.items()},
            "hotspots": hotspots}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--query", type=Path, default=REPO / "benchmarks" / "queries" / "tiny-ask.rq")
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cprofile", action="store_true", help="also list each whole request's hot functions")
    parser.add_argument("--before", type=Path, metavar="SERVER_DIR",
                        help="profile the server/ folder of another checkout (e.g. from before the lean path)")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    if args.before:
        sys.path.insert(0, str(args.before.resolve()))
    result = profile(args.query, args.repeat, args.rounds, args.cprofile)
    width = max(map(len, result["stages_us"]))
    print(f"{'stage':<{width}}  us/request")
    for name, value in result["stages_us"].items():
        print(f"{name:<{width}}  {value:10.1f}")
    for name, rows in result["hotspots"].items():
        print(f"\n{name}: own time per request (cProfile, the loop's thread; the app's thread is not profiled)")
        for row in rows:
            print(f"  {row['own_us_per_request']:8.2f} us  {row['calls_per_request']:5.1f}x  {row['function']}")
    if args.out:
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
