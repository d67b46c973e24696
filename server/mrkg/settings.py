"""Every setting of mrkg, declared once: name, default, type and help.

Library code takes explicit arguments; only the CLI edge reads the environment
(``MRKG_<NAME>``, e.g. ``MRKG_QUERY_TIMEOUT=5``) and turns it into these values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping

ENV_PREFIX = "MRKG_"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    type: Callable[[str], Any] = str


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected a boolean (true/false), got {text!r}")


SETTINGS: tuple[Setting, ...] = (
    Setting("sources", "../shared/sources", "Folder of the source texts that quotes are checked against."),
    Setting("build_dir", "build", "Folder the build writes and the server reads."),
    Setting("follow_build", 2.0, "Seconds between looks of `mrkg serve` at build_dir: when a new build has been "
            "published there (mrkg build, mrkg add), the server loads it and replaces its workers, saying so in its log "
            "and /health; 0 = keep serving the build it started with.", float),
    Setting("releases_dir", "releases", "Folder of the releases (`mrkg release` writes releases/<version>/) that "
            "/download/ lists and serves."),
    Setting("store", "oxigraph", "Query engine: oxigraph (pyoxigraph), memory (rdflib) or remote (the SPARQL "
            "endpoint at remote_endpoint, holding the dumps)."),
    Setting("store_dir", "", "Folder for an on-disk copy of the build (oxigraph engine on RocksDB), made on first "
            "start for each dataset version and opened read-only by every process; empty (the default) keeps the "
            "store in memory: faster, but each process that scans the graph may end up with its own copy."),
    Setting("remote_endpoint", "", "URL of the SPARQL 1.1 endpoint the remote engine queries (its default graph "
            "must be the union of its graphs, e.g. `oxigraph serve --union-default-graph`)."),
    Setting("cache_bytes", 64 * 1024 * 1024, "Bytes of complete query answers each HTTP worker keeps for repeated "
            "queries (keyed by normalised query, format and dataset version); 0 turns the result cache off.", int),
    Setting("query_timeout", 10.0, "Seconds a query may run before its worker is killed (answer 503).", float),
    Setting("max_rows", 10000, "Result rows returned at most; more are cut and the response says so.", int),
    Setting("max_body_bytes", 1_000_000, "Largest request body accepted (413 above).", int),
    Setting("max_query_chars", 100_000, "Longest query text accepted (400 above).", int),
    Setting("max_offset", 1_000_000, "Largest OFFSET accepted (400 above).", int),
    Setting("max_query_groups", 256, "Opening brackets and braces ({, (, [ and \\u escapes) a query's text may hold, "
            "counted before any parser runs (400 above): bounds the parsers' work and recursion.", int),
    Setting("max_query_operators", 512, "Operators and pattern keywords (UNION, OPTIONAL, BIND, FILTER...) a query's "
            "text may hold, counted before any parser runs (400 above).", int),
    Setting("max_query_depth", 48, "Deepest nesting of groups, parenthesised expressions, paths and calls in the "
            "parsed query (400 above): the engines' parsers and evaluators recurse, and pyoxigraph's overflows its "
            "stack at a few thousand levels.", int),
    Setting("max_query_patterns", 256, "Triple patterns a parsed query may hold (400 above).", int),
    Setting("executor", "auto", "Where queries are evaluated: inline (in the HTTP worker that received the query, "
            "which is stopped and replaced at the deadline; needs gunicorn, i.e. `mrkg serve`, and an engine that "
            "releases Python's GIL while it works), pool (in separate query worker processes: one round trip per "
            "query, any WSGI server, any engine) or auto (inline for oxigraph and remote, pool for memory)."),
    Setting("workers", 2, "Query worker processes of the pool executor, i.e. queries evaluated at once.", int),
    Setting("cors", True, "Send Access-Control-Allow-Origin: * on read routes.", _bool),
    # The endpoint (issue 5): server, UI and the remaining limits.
    Setting("host", "127.0.0.1", "Address `mrkg serve` binds (only this one)."),
    Setting("port", 8000, "Port `mrkg serve` listens on.", int),
    Setting("http_workers", 2, "gunicorn HTTP worker processes of `mrkg serve`, forked from the loaded store.", int),
    Setting("http_threads", 8, "Threads per HTTP worker that run the app once a request has been read whole by the "
            "worker's event loop: requests being answered at once per worker.", int),
    Setting("client_threads", 4, "Threads of one HTTP worker that one client address may hold at once; its other "
            "requests wait, holding no thread, until one of its own is answered (0 = no per-client limit).", int),
    Setting("header_timeout", 10.0, "Seconds a client has to send a whole request line and headers, from its first "
            "byte (or from connecting); then 408 and the connection is closed.", float),
    Setting("body_timeout", 15.0, "Seconds a client has to send a whole request body once its headers are in; "
            "then 408 and the connection is closed.", float),
    Setting("keepalive_timeout", 5, "Seconds an idle keep-alive connection is kept open between requests.", int),
    Setting("queries_dir", "queries", "Folder of the example queries (*.rq with '# title:' lines) shown in the UI."),
    Setting("worker_memory_mb", 2048, "Memory a process evaluating queries (a query worker, or an HTTP worker with the "
            "inline executor) may add to the loaded store before it is stopped (503); 0 = no limit.", int),
    Setting("access_log", True, "Write one JSON line per request to stderr.", _bool),
    Setting("lean_sparql", True, "Answer /sparql's commonest request (a form POST whose only field is `query`) "
            "without Flask's request machinery (web/lean.py): the same answer, headers and log line, sooner; false "
            "sends every request through the Flask route.", _bool),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def defaults() -> dict[str, Any]:
    return {s.name: s.default for s in SETTINGS}


def from_environ(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings given as ``MRKG_*`` variables, converted; raises ValueError naming the variable."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        key = ENV_PREFIX + setting.name.upper()
        if key in environ:
            try:
                values[setting.name] = setting.type(environ[key])
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
    return values
