"""The reference engine: rdflib's in-memory Dataset and SPARQL evaluator (slow, but the same guards apply)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterator

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

from .base import Backend, DatasetSpec, Outcome, check_loadable
from .guard import GuardedQuery


def _bnode(value: str) -> ox.BlankNode:
    try:
        return ox.BlankNode(value)
    except ValueError:
        return ox.BlankNode(hashlib.sha1(value.encode()).hexdigest())


def to_oxigraph(term):
    """An rdflib term as a pyoxigraph term (None stays None)."""
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    if isinstance(term, BNode):
        return _bnode(str(term))
    raise TypeError(f"unsupported term {term!r}")


def to_rdflib(term):
    """A pyoxigraph term as an rdflib term, keeping the lexical form of literals."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language, normalize=False)
        return Literal(term.value, datatype=URIRef(term.datatype.value), normalize=False)
    raise TypeError(f"unsupported term {term!r}")


class MemoryBackend(Backend):
    name = "memory"

    def __init__(self, dataset: Dataset | None = None) -> None:
        self.dataset = dataset if dataset is not None else Dataset(default_union=True)
        self.dataset.default_union = True

    def load(self, path: Path, *, graph: str | None = None) -> None:
        # Parsed by pyoxigraph (no fetching parser), added without rdflib's literal normalisation, so both engines
        # answer with the lexical forms the data has ("10"^^xsd:decimal stays "10", not "10.0").
        check_loadable(Path(path))
        default = URIRef(graph) if graph else None
        add = self.dataset.store.add
        targets: dict = {}
        for quad in ox.parse(path=str(path)):
            name = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else None
            key = URIRef(name) if name else default
            target = targets.get(key)
            if target is None:
                target = targets[key] = self.dataset.graph(key) if key is not None else self.dataset.default_graph
            add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)), target)

    def graph_names(self) -> list[str]:
        return sorted(str(g.identifier) for g in self.dataset.contexts()
                      if isinstance(g.identifier, URIRef) and g.identifier != DATASET_DEFAULT_GRAPH_ID)

    def __len__(self) -> int:
        return sum(1 for _ in self.dataset.quads((None, None, None, None)))

    def _restricted(self, spec: DatasetSpec) -> tuple[Dataset, Graph]:
        known = set(self.graph_names())
        ds = Dataset()
        default = ds.default_graph
        for name in spec.default:
            if name in known:
                for triple in self.dataset.graph(URIRef(name)):
                    default.add(triple)
        for name in spec.named:
            target = ds.graph(URIRef(name))
            if name in known:
                for triple in self.dataset.graph(URIRef(name)):
                    target.add(triple)
        return ds, default

    def evaluate(self, query: GuardedQuery, dataset: DatasetSpec | None, prefixes: dict[str, str]) -> Outcome:
        from rdflib.plugins.sparql.evaluate import evalPart
        from rdflib.plugins.sparql.sparql import QueryContext

        # The query's own dataset clause is never handed to rdflib (it would fetch FROM IRIs): the worker turned
        # it into ``dataset`` already, resolved here against the store's graphs only.
        if dataset is None:
            ctx = QueryContext(self.dataset, initBindings={})
        else:
            ds, default = self._restricted(dataset)
            ctx = QueryContext(ds, initBindings={})
            ctx.graph = default
        ctx.prologue = query.prepared.prologue
        result = evalPart(ctx, query.prepared.algebra)
        if query.form == "ASK":
            return bool(result["askAnswer"])
        if query.form == "SELECT":
            variables = list(result["vars_"] or [])
            return [str(v) for v in variables], _rows(variables, result["bindings"])
        return (ox.Triple(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for s, p, o in result["graph"])


def _rows(variables, bindings) -> Iterator[tuple]:
    for solution in bindings:
        yield tuple(to_oxigraph(solution.get(v)) for v in variables)
