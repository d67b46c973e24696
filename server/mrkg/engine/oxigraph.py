"""The default engine: pyoxigraph (Rust), in memory."""

from __future__ import annotations

from pathlib import Path

from pyoxigraph import NamedNode, RdfFormat, Store

from .base import Backend, DatasetSpec, Outcome, check_loadable
from .errors import QueryError
from .guard import GuardedQuery

_FORMATS = {"nquads": RdfFormat.N_QUADS, "ntriples": RdfFormat.N_TRIPLES, "turtle": RdfFormat.TURTLE,
            "trig": RdfFormat.TRIG}


class OxigraphBackend(Backend):
    name = "oxigraph"
    releases_gil = True  # pyoxigraph evaluates and iterates results with the GIL released

    def __init__(self, store: Store | None = None) -> None:
        self.store = store if store is not None else Store()

    def load(self, path: Path, *, graph: str | None = None) -> None:
        fmt = _FORMATS[check_loadable(Path(path))]
        to_graph = NamedNode(graph) if graph else None
        self.store.load(path=str(path), format=fmt, to_graph=to_graph)

    def graph_names(self) -> list[str]:
        return sorted(g.value for g in self.store.named_graphs() if isinstance(g, NamedNode))

    def __len__(self) -> int:
        return len(self.store)

    def evaluate(self, query: GuardedQuery, dataset: DatasetSpec | None, prefixes: dict[str, str]) -> Outcome:
        options: dict = {"base_iri": query.base, "prefixes": prefixes}
        if dataset is None:
            options["use_default_graph_as_union"] = True
        else:
            # Explicit lists override any FROM in the text, and name store graphs only (oxigraph never fetches them).
            options["default_graph"] = [NamedNode(g) for g in dataset.default]
            options["named_graphs"] = [NamedNode(g) for g in dataset.named]
        try:
            result = self.store.query(query.text, **options)
        except SyntaxError as exc:
            raise QueryError(400, f"Query syntax error: {str(exc).splitlines()[0] if str(exc) else exc}") from None
        if query.form == "ASK":
            return bool(result)
        if query.form == "SELECT":
            return [v.value for v in result.variables], iter(result)
        return result
