"""Query engines behind one small interface, chosen by name and imported lazily, plus the guard and worker pool."""

from __future__ import annotations

import importlib

from .errors import BusyError, ConfigurationError, EngineError, QueryError, QueryTimeoutError

# name -> "module:class"; a backend's module (and its dependencies) is imported only when chosen.
BACKENDS: dict[str, str] = {
    "oxigraph": "mrkg.engine.oxigraph:OxigraphBackend",
    "memory": "mrkg.engine.memory:MemoryBackend",
    "remote": "mrkg.engine.remote:RemoteBackend",
}


def backend_class(name: str):
    target = BACKENDS.get(name)
    if target is None:
        raise ConfigurationError(f"Unknown query engine {name!r}: choose one of {', '.join(sorted(BACKENDS))}.")
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        raise ConfigurationError(f"Query engine {name!r} needs {exc.name}: pip install {exc.name}.") from None


def open_backend(name: str, store=None):
    """A new, empty backend ``name`` (or one wrapping ``store``, a pyoxigraph Store or rdflib Dataset)."""
    return backend_class(name)(store)


def backend_for_store(store):
    """The backend wrapping an explicit store object: a Backend, a pyoxigraph Store or an rdflib Dataset."""
    from .base import Backend

    if isinstance(store, Backend):
        return store
    kind = type(store).__module__.split(".")[0]
    if kind == "pyoxigraph":
        return open_backend("oxigraph", store)
    if kind == "rdflib":
        return open_backend("memory", store)
    raise ConfigurationError(f"Cannot serve a store of type {type(store).__name__}: pass a pyoxigraph Store, "
                             "an rdflib Dataset or an mrkg engine backend.")


__all__ = ["BACKENDS", "BusyError", "ConfigurationError", "EngineError", "QueryError", "QueryTimeoutError",
           "backend_class", "backend_for_store", "open_backend"]
