"""The context a change is validated in: the existing facts and everything they are checked against, with indexes
for context lookups (which sources name which entities), never a validation of the whole graph."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from rdflib import Dataset, Graph
from rdflib.namespace import RDFS

from ..facts import Facts, read_reference
from ..namespaces import GRAPH_ONTOLOGY
from ..rdf import add_ontology
from ..shacl import Shapes
from ..sources import SourceText, read_sources
from .cache import FactsIndex, load_context_facts
from .intake import InputError


@dataclass
class Context:
    """The existing facts and everything they are checked against, with indexes for context lookups."""

    root: Path
    facts_dir: Path
    ontology_dir: Path
    sources_dir: Path
    shapes_dir: Path
    reference_path: Path | None
    facts: Facts
    texts: dict[str, SourceText]
    index: "FactsIndex | None" = None
    cache_dir: Path | None = None  # parsed facts and compiled shapes, kept per content

    @classmethod
    def load(cls, facts_dir: Path, ontology_dir: Path, sources_dir: Path, shapes_dir: Path,
             reference: Path | None, cache_dir: Path | None = None) -> "Context":
        for folder, what in ((facts_dir, "facts"), (sources_dir, "sources (give --sources or MRKG_SOURCES)"),
                             (ontology_dir, "ontology"), (shapes_dir, "shapes")):
            if not folder.is_dir():
                raise InputError(f"{folder}: no {what} folder")
        facts, index = load_context_facts(facts_dir, cache_dir)
        return cls(facts_dir.resolve().parent, facts_dir, ontology_dir, sources_dir, shapes_dir, reference, facts,
                   read_sources(sources_dir), index, cache_dir)

    def reloaded(self) -> "Context":
        """The same context read again (after facts/ changed)."""
        return Context.load(self.facts_dir, self.ontology_dir, self.sources_dir, self.shapes_dir,
                            self.reference_path, self.cache_dir)

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = FactsIndex.of(self.facts)

    def rel(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)

    @property
    def reference(self) -> dict | None:
        if self.reference_path is None:
            return None
        if not self.reference_path.is_file():
            raise InputError(f"{self.reference_path}: no reference identifiers table (give --reference)")
        return read_reference(self.reference_path)

    @cached_property
    def shapes(self) -> Shapes:
        return Shapes.load(self.shapes_dir, cache_dir=self.cache_dir)

    @cached_property
    def ontology(self) -> Graph:
        ds = Dataset()
        add_ontology(ds, self.ontology_dir)
        return ds.graph(GRAPH_ONTOLOGY)


class _Overlay(Mapping):
    """``base`` with some keys replaced by ``changed``, without reading the rest of ``base``."""

    def __init__(self, base: Mapping, changed: dict) -> None:
        self.base, self.changed = base, changed

    def __getitem__(self, key):
        return self.changed[key] if key in self.changed else self.base[key]

    def __contains__(self, key: object) -> bool:
        return key in self.changed or key in self.base

    def __iter__(self):
        yield from self.changed
        yield from (k for k in self.base if k not in self.changed)

    def __len__(self) -> int:
        return len(self.changed) + sum(1 for k in self.base if k not in self.changed)


def _schema_triples(ontology: Graph) -> Graph:
    """The class and property hierarchy, without the ontology's own declarations (they are not being validated)."""
    g = Graph()
    for prop in (RDFS.subClassOf, RDFS.subPropertyOf):
        for s, o in ontology.subject_objects(prop):
            g.add((s, prop, o))
    return g

