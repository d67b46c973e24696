"""The Flask app factory: settings checked once, the store loaded once, query workers forked once."""

from __future__ import annotations

import gc
import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from flask import Flask, current_app, g, request

from .. import settings as settings_module
from ..engine import ConfigurationError, backend_class, backend_for_store
from ..engine.base import Backend
from ..engine.cache import ResultCache
from ..engine.guard import GuardedQuery, Limits
from ..engine.errors import EngineError
from ..engine.pool import WorkerPool
from ..engine.runner import Answer, Job, Runner
from ..engine.watchdog import LateAnswer, Watchdog
from ..namespaces import PREFIXES
from ..versions import hold

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PREFIX_MAP: dict[str, str] = {name: str(ns) for name, ns in PREFIXES.items()}


@dataclass
class Release:
    """What is being served: version and checksum (the ETag), and the folder of the dumps (if any)."""

    version: str
    sha256: str
    folder: Path | None = None
    manifest: dict = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return self.sha256[:32]


@dataclass
class Service:
    """Everything the routes share; one per app, stored in ``app.extensions["mrkg"]``."""

    settings: dict[str, Any]
    backend: Backend
    runner: Runner
    release: Release
    graphs: dict[str, int]  # named graph IRI -> triples
    queries_dir: Path | None
    pool: WorkerPool | None = None  # executor "pool"
    watchdog: Watchdog | None = None  # executor "inline"
    cache: ResultCache | None = None

    @property
    def executor(self) -> str:
        return "pool" if self.pool is not None else "inline"

    def run(self, job: Job) -> Answer:
        """The answer to ``job``: from the result cache, else evaluated by the executor under the time limit.

        The guard runs first (its verdict is cached per query text): the result cache is keyed on the canonical
        text it renders, the text the engine evaluates. The inline executor needs to answer the client itself at
        the deadline (through the worker's event loop, web/front.py), since it then ends the process evaluating the
        query (see engine/watchdog.py); the guard's own parse runs under that deadline too.
        """
        if self.pool is not None:  # the worker gets the canonical text (it checks it again: it reads back the same)
            return self._checked_and_cached(job, lambda query: self.pool.run(replace(job, query=query.text)))
        answer_late = late_answerer(self)
        if answer_late is None:
            raise EngineError(500, "The inline query executor needs `mrkg serve` (its event-loop front); under "
                                   "another server set executor=pool.")
        with self.watchdog.watch(float(self.settings["query_timeout"]), answer_late):
            return self._checked_and_cached(job, lambda query: self.runner.run(job, query))

    def _checked_and_cached(self, job: Job, compute: Callable[[GuardedQuery], Answer]) -> Answer:
        query = self.runner.guard.check(job.query, job.base)  # QueryError (400/403) goes to the client as is
        if self.cache is None:
            return compute(query)
        return self.cache.run(job, query.text, self.release.sha256, lambda _job: compute(query))

    def alive(self) -> bool:
        return self.pool.alive() if self.pool is not None else self.watchdog.doomed_at is None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        close_backend = getattr(self.backend, "close", None)  # e.g. the remote engine's forwarder
        if close_backend is not None:
            close_backend()


def service() -> Service:
    return current_app.extensions["mrkg"]


def late_answerer(svc: "Service") -> LateAnswer | None:
    """A function answering the current request's client at once, for the watchdog to call at the deadline while
    the request's thread is still inside the engine: the worker's event loop writes the whole response and closes
    that connection (web/front.py). None when the server is not `mrkg serve`'s front."""
    environ = request.environ
    exchange = environ.get("asgi.scope", {}).get("mrkg.exchange")
    if exchange is None:
        return None
    started = time.perf_counter()
    extra = g.get("log_extra", {})

    def answer(status: int, message: str) -> None:
        from .ops import access_log

        try:
            exchange.answer_late(status, message, [(b"retry-after", b"1"), (b"vary", b"Accept")])
        finally:
            if svc.settings["access_log"]:
                record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "remote": environ.get("REMOTE_ADDR"),
                          "method": environ.get("REQUEST_METHOD"), "path": environ.get("PATH_INFO"), "status": status,
                          "ms": round((time.perf_counter() - started) * 1000, 2),
                          "bytes": len(message.rstrip("\n")) + 1,
                          "agent": (environ.get("HTTP_USER_AGENT") or "")[:200] or None, **extra, "by": "watchdog"}
                access_log.info(json.dumps(record, separators=(",", ":")))

    return answer


def _settings(config: dict | None) -> tuple[dict[str, Any], dict[str, Any]]:
    values = settings_module.defaults()
    flask_config: dict[str, Any] = {}
    for key, value in (config or {}).items():
        if key.isupper():
            flask_config[key] = value
        elif key in settings_module.BY_NAME:
            values[key] = value
        else:
            raise ConfigurationError(f"Unknown setting {key!r}: see `mrkg settings` for the list.")
    checks = [
        ("query_timeout", values["query_timeout"] > 0, "a positive number of seconds"),
        ("max_rows", values["max_rows"] >= 1, "at least 1"),
        ("max_body_bytes", values["max_body_bytes"] >= 1024, "at least 1024"),
        ("max_query_chars", values["max_query_chars"] >= 100, "at least 100"),
        ("max_offset", values["max_offset"] >= 0, "0 or more"),
        ("max_query_groups", values["max_query_groups"] >= 8, "at least 8"),
        ("max_query_operators", values["max_query_operators"] >= 8, "at least 8"),
        ("max_query_depth", 4 <= values["max_query_depth"] <= 512, "from 4 to 512 (the engines recurse)"),
        ("max_query_patterns", values["max_query_patterns"] >= 1, "at least 1"),
        ("workers", values["workers"] >= 1, "at least 1"),
        ("http_workers", values["http_workers"] >= 1, "at least 1"),
        ("http_threads", values["http_threads"] >= 1, "at least 1"),
        ("client_threads", values["client_threads"] >= 0, "0 (no per-client limit) or more"),
        ("header_timeout", values["header_timeout"] > 0, "a positive number of seconds"),
        ("body_timeout", values["body_timeout"] > 0, "a positive number of seconds"),
        ("keepalive_timeout", values["keepalive_timeout"] >= 1, "at least 1 second"),
        ("worker_memory_mb", values["worker_memory_mb"] >= 0, "0 (no limit) or more"),
        ("cache_bytes", values["cache_bytes"] >= 0, "0 (no result cache) or more"),
        ("executor", values["executor"] in {"auto", "inline", "pool"}, "auto, inline or pool"),
    ]
    for name, ok, expected in checks:
        if not ok:
            raise ConfigurationError(f"Setting {name} = {values[name]!r} is invalid: it must be {expected}.")
    return values, flask_config


def _release(folder: Path | None, backend: Backend | None) -> Release:
    manifest_path = folder / "manifest.json" if folder else None
    if manifest_path and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        return Release(str(manifest.get("version", "unversioned")), str(manifest["dataset_sha256"]), folder, manifest)
    # An explicit store without a build: a checksum of what is loaded, stable for the life of the process.
    if backend is None:
        return Release("unversioned", hashlib.sha256(str(folder).encode()).hexdigest(), folder)
    digest = hashlib.sha256(f"{backend.name}:{len(backend)}:{backend.graph_names()}".encode()).hexdigest()
    return Release("unversioned", digest, folder if folder and folder.is_dir() else None)


def _load_build(name: str, folder: Path, store_dir: str = "") -> Backend:
    data = folder / "mrkg.nq"
    if not data.is_file():
        raise ConfigurationError(f"No build to serve: {data} does not exist; run `make build` first "
                                 "(or set MRKG_BUILD_DIR to a build folder).")
    if store_dir:
        if name != "oxigraph":
            raise ConfigurationError(f"store_dir (an on-disk store) is for the oxigraph engine, not {name}.")
        from ..engine.oxigraph import OxigraphBackend, disk_store

        version = _release(folder, None).sha256
        return OxigraphBackend.on_disk(disk_store(data, Path(store_dir), version))
    backend = backend_class(name)()
    backend.load(data)
    return backend


def _graph_counts(runner: Runner) -> dict[str, int]:
    answer = runner.run(Job("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
                            format="json"))
    rows = json.loads(answer.body)["results"]["bindings"]
    return {row["g"]["value"]: int(row["n"]["value"]) for row in rows}


def create_app(config: dict | None = None, *, store=None) -> Flask:
    """The mrkg web app. ``config`` holds settings by name (see ``mrkg settings``) and UPPERCASE Flask keys;
    ``store`` (a pyoxigraph Store, rdflib Dataset or engine backend) replaces loading ``build_dir/mrkg.nq``.

    Call it in a single-threaded process (it forks the query workers), e.g. gunicorn's master with preload.
    """
    values, flask_config = _settings(config)
    # build/ is a symlink swapped by rebuilds: pin the version it names now, held so that no build prunes it
    folder = hold(Path(values["build_dir"]))
    if store is None and values["store"] == "remote":  # the data lives in another endpoint; build/ names its version
        store = backend_class("remote")(values["remote_endpoint"], timeout=float(values["query_timeout"]))
    if store is not None:
        backend = backend_for_store(store)
    else:
        backend = _load_build(values["store"], folder, values["store_dir"])
    limits = Limits(max_query_chars=values["max_query_chars"], max_query_groups=values["max_query_groups"],
                    max_query_operators=values["max_query_operators"], max_query_depth=values["max_query_depth"],
                    max_query_patterns=values["max_query_patterns"], max_offset=values["max_offset"])
    runner = Runner(backend, limits=limits, prefixes=PREFIX_MAP, max_rows=values["max_rows"])
    graphs = _graph_counts(runner)
    release = _release(folder if folder.is_dir() else None, backend)
    queries_dir = Path(values["queries_dir"]) if values["queries_dir"] else None

    app = Flask("mrkg.web", static_folder=str(PACKAGE_DIR / "static"), template_folder=str(PACKAGE_DIR / "templates"))
    app.config.update(MAX_CONTENT_LENGTH=values["max_body_bytes"], JSON_SORT_KEYS=False)
    app.config.update(flask_config)

    from . import describe, downloads, ops, pages, resolve, search, sparql, ui

    ops.init_app(app, values)
    for module in (sparql, describe, ui, downloads, pages, resolve):
        app.register_blueprint(module.bp)
    search.init_app(app, runner)  # the search index, built from the graph once, before the workers fork

    # Collect now, on this thread: pyoxigraph results must be dropped on the thread that made them (not in an HTTP
    # worker's thread after the fork); then freeze, so forked processes do not copy pages just to run the GC.
    gc.collect()
    backend.before_fork()
    gc.freeze()
    pool = watchdog = None
    executor = values["executor"]
    if executor == "auto":
        executor = "inline" if backend.releases_gil else "pool"
    elif executor == "inline" and not backend.releases_gil:
        raise ConfigurationError(f"The {backend.name} engine cannot use executor=inline: it can hold Python's GIL "
                                 "for the whole query (e.g. rdflib's regular expressions), so no watchdog could "
                                 "stop it; use executor=pool or auto.")
    if executor == "pool":
        pool = WorkerPool(runner, size=values["workers"], timeout=float(values["query_timeout"]),
                          memory_mb=values["worker_memory_mb"]).start()
    else:
        # A worker being stopped lets each of its connections send one more request (or time out) first.
        grace = max(values["header_timeout"], values["body_timeout"], values["keepalive_timeout"]) + 1
        watchdog = Watchdog(memory_mb=values["worker_memory_mb"], grace=grace)
    cache = ResultCache(values["cache_bytes"]) if values["cache_bytes"] > 0 else None
    app.extensions["mrkg"] = Service(values, backend, runner, release, graphs, queries_dir, pool, watchdog, cache)
    return app

