"""What every route shares: the Service (backend, runner, executor, the release being served) and how a route gets it.

The blueprints import this module, never app.py (which imports them): no import cycle."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from flask import current_app, g, request

from ..engine.base import Backend
from ..engine.cache import ResultCache
from ..engine.errors import EngineError
from ..engine.guard import GuardedQuery
from ..engine.pool import WorkerPool
from ..engine.runner import Answer, Job, Runner
from ..engine.watchdog import LateAnswer, Watchdog
from ..namespaces import PREFIXES

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PREFIX_MAP: dict[str, str] = {name: str(ns) for name, ns in PREFIXES.items()}


def compact(iri: str) -> str:
    for name, namespace in PREFIX_MAP.items():
        if iri.startswith(namespace) and "/" not in iri[len(namespace):] and iri != namespace:
            return f"{name}:{iri[len(namespace):]}"
    return iri


@dataclass
class Release:
    """What is being served: version and checksum (the ETag), and the folder of the dumps (if any)."""

    version: str
    sha256: str
    folder: Path | None = None
    manifest: dict = field(default_factory=dict)
    loaded_at: str = ""  # when this process loaded it (UTC, ISO 8601)
    replaced: dict | None = None  # the build served before it, when the server moved to this one: build, version

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

    def run(self, job: Job, *, environ: dict | None = None, log_extra: dict | None = None) -> Answer:
        """The answer to ``job``: from the result cache, else evaluated by the executor under the time limit.

        ``environ`` and ``log_extra``: the WSGI request and its access-log fields, when the caller is not inside
        Flask (the lean /sparql path, web/lean.py); else Flask's current request and ``g.log_extra``.

        The guard runs first (its verdict is cached per query text): the result cache is keyed on the canonical
        text it renders, the text the engine evaluates. The inline executor needs to answer the client itself at
        the deadline (through the worker's event loop, web/front.py), since it then ends the process evaluating the
        query (see engine/watchdog.py); the guard's own parse runs under that deadline too.
        """
        if self.pool is not None:  # the worker gets the canonical text (it checks it again: it reads back the same)
            return self._checked_and_cached(job, lambda query: self.pool.run(replace(job, query=query.text)))
        if environ is None:
            answer_late = late_answerer(self)
        else:
            answer_late = late_answerer_for(self, environ, {} if log_extra is None else log_extra)
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
    return late_answerer_for(svc, request.environ, g.get("log_extra", {}))


def late_answerer_for(svc: "Service", environ: dict, extra: dict) -> LateAnswer | None:
    """``late_answerer`` for the WSGI request ``environ``, whose access-log fields are ``extra``."""
    scope = environ.get("asgi.scope")
    exchange = scope.get("mrkg.exchange") if scope is not None else None
    if exchange is None:
        return None
    started = time.perf_counter()

    def answer(status: int, message: str) -> None:
        try:
            exchange.answer_late(status, message, [(b"retry-after", b"1"), (b"vary", b"Accept")])
        finally:
            if svc.settings["access_log"]:
                record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "remote": environ.get("REMOTE_ADDR"),
                          "method": environ.get("REQUEST_METHOD"), "path": environ.get("PATH_INFO"), "status": status,
                          "ms": round((time.perf_counter() - started) * 1000, 2),
                          "bytes": len(message.rstrip("\n")) + 1,
                          "agent": (environ.get("HTTP_USER_AGENT") or "")[:200] or None, **extra, "by": "watchdog"}
                logging.getLogger("mrkg.access").info(json.dumps(record, separators=(",", ":")))

    return answer
