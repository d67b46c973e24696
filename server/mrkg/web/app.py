"""The Flask app factory: settings checked once, the store loaded once, query workers forked once."""

from __future__ import annotations

import gc
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from flask import Flask

from .. import settings as settings_module
from ..engine import ConfigurationError, backend_class, backend_for_store
from ..engine.base import Backend
from ..engine.cache import ResultCache
from ..engine.guard import Limits
from ..engine.pool import WorkerPool
from ..engine.runner import Job, Runner
from ..engine.watchdog import Watchdog
from ..versions import hold
from .service import PACKAGE_DIR, PREFIX_MAP, Release, Service, late_answerer, service  # noqa: F401 (re-exported)


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
        ("follow_build", values["follow_build"] >= 0, "0 (keep the build it started with) or seconds between looks"),
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


def create_app(config: dict | None = None, *, store=None, replaced: dict | None = None) -> Flask:
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
    release.loaded_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    release.replaced = replaced
    queries_dir = Path(values["queries_dir"]) if values["queries_dir"] else None

    app = Flask("mrkg.web", static_folder=str(PACKAGE_DIR / "static"), template_folder=str(PACKAGE_DIR / "templates"))
    app.config.update(MAX_CONTENT_LENGTH=values["max_body_bytes"], JSON_SORT_KEYS=False)
    app.config.update(flask_config)

    from . import describe, downloads, ops, pages, reference, resolve, search, sparql, ui

    ops.init_app(app, values)
    for module in (sparql, describe, ui, downloads, reference, pages, resolve):
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
    svc = app.extensions["mrkg"] = Service(values, backend, runner, release, graphs, queries_dir, pool, watchdog, cache)
    if values["lean_sparql"]:
        from . import lean

        lean.init_app(app, svc)
    return app

