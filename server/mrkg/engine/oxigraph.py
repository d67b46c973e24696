"""The default engine: pyoxigraph (Rust), in memory, or on disk (RocksDB) for graphs larger than memory.

In memory, the store is loaded once and shared by every process forked from the one that loaded it. On disk
(``OxigraphBackend.on_disk``), the store is opened read-only by each process on first use: a RocksDB handle must
not cross a fork, so ``before_fork`` drops the loading process's handle, and what the processes share is the
system's page cache. ``disk_store`` builds the on-disk copy of a build once per dataset version.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from pathlib import Path

from pyoxigraph import NamedNode, RdfFormat, Store

from .base import Backend, DatasetSpec, Outcome, check_loadable
from .errors import ConfigurationError, QueryError
from .guard import GuardedQuery

_FORMATS = {"nquads": RdfFormat.N_QUADS, "ntriples": RdfFormat.N_TRIPLES, "turtle": RdfFormat.TURTLE,
            "trig": RdfFormat.TRIG}


class OxigraphBackend(Backend):
    name = "oxigraph"
    releases_gil = True  # pyoxigraph evaluates and iterates results with the GIL released

    def __init__(self, store: Store | None = None, *, location: str | Path | None = None) -> None:
        self.location = str(location) if location is not None else None
        self._store = store if store is not None or location is not None else Store()
        self._pid = os.getpid()
        self._open_lock = threading.Lock()

    @classmethod
    def on_disk(cls, location: str | Path) -> "OxigraphBackend":
        """The store at ``location`` (made by ``disk_store``), opened read-only by each process that queries it."""
        if not (Path(location) / "CURRENT").is_file():
            raise ConfigurationError(f"{location} is not an oxigraph store.")
        return cls(location=location)

    @property
    def store(self) -> Store:
        if self.location is None:
            return self._store
        if self._store is None or self._pid != os.getpid():
            with self._open_lock:
                if self._store is None or self._pid != os.getpid():
                    self._store = Store.read_only(self.location)
                    self._pid = os.getpid()
        return self._store

    def before_fork(self) -> None:
        if self.location is not None:
            self._store = None  # closed here, so that no forked process inherits an open RocksDB handle

    def load(self, path: Path, *, graph: str | None = None) -> None:
        fmt = _FORMATS[check_loadable(Path(path))]
        if self.location is not None:
            raise ConfigurationError("An on-disk store is opened read-only: build it with disk_store().")
        to_graph = NamedNode(graph) if graph else None
        self.store.load(path=str(path), format=fmt, to_graph=to_graph)

    def graph_names(self) -> list[str]:
        return sorted(g.value for g in self.store.named_graphs() if isinstance(g, NamedNode))

    def __len__(self) -> int:
        return len(self.store)

    def evaluate(self, query: GuardedQuery, dataset: DatasetSpec | None, prefixes: dict[str, str]) -> Outcome:
        # query.text is the guard's canonical text: full IRIs and its own BASE, so no prefixes are passed.
        options: dict = {"base_iri": query.base}
        if dataset is None:
            options["use_default_graph_as_union"] = True
        else:
            # Explicit lists override any FROM in the text, and name store graphs only (oxigraph never fetches them).
            options["default_graph"] = [NamedNode(g) for g in dataset.default]
            options["named_graphs"] = [NamedNode(g) for g in dataset.named]
        try:
            result = self.store.query(query.text, **options)
        except SyntaxError as exc:  # what rdflib's parser accepts and oxigraph's refuses (e.g. an ungrouped variable)
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            shown = query.text if len(query.text) <= 400 else query.text[:400] + "..."
            raise QueryError(400, f"Query error: {first} (positions are in the query as the endpoint rewrote it: "
                                  f"{shown})") from None
        if query.form == "ASK":
            return bool(result)
        if query.form == "SELECT":
            return [v.value for v in result.variables], iter(result)
        return result


def disk_store(data: Path, folder: Path, version: str) -> Path:
    """The on-disk store of ``data`` (N-Quads) for dataset ``version``, under ``folder``: made once (bulk load
    into a temporary folder, then renamed into place, so a crash never leaves a half store in use) and reused
    while the version is the same. The newest previous version is kept (a server still running it may reopen
    it); older ones are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"store-{version[:16]}"
    target = folder / name
    if not (target / "CURRENT").is_file():
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder))
        try:
            store = Store(str(staging))
            store.bulk_load(path=str(data), format=RdfFormat.N_QUADS)
            store.optimize()
            store.flush()
            del store  # closes RocksDB before the folder moves
            try:
                os.rename(staging, target)
            except OSError:  # another process put the same version in place first
                if not (target / "CURRENT").is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    others = sorted((p for p in folder.glob("store-*") if p.is_dir() and p.name != name),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[1:]:
        shutil.rmtree(old, ignore_errors=True)
    return target
