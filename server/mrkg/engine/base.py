"""The one small interface every query engine implements, and the dataset a query runs over."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Iterable, Iterator, Sequence, Union

from pyoxigraph import Triple

from .guard import GuardedQuery

# Engines answer in pyoxigraph terms, so one set of writers (results.py) serves them all.
Solutions = tuple[list[str], Iterator[Sequence[object]]]
Outcome = Union[bool, Solutions, Iterable[Triple]]

LOADABLE = {".nq": "nquads", ".nt": "ntriples", ".ttl": "turtle", ".trig": "trig"}


@dataclass(frozen=True)
class DatasetSpec:
    """An explicit RDF dataset (protocol default-graph-uri/named-graph-uri, or FROM/FROM NAMED).

    Graphs are looked up among the store's own graphs only; an unknown graph is empty, never fetched.
    ``None`` instead of a DatasetSpec means: default graph = union of all graphs, every named graph.
    """

    default: tuple[str, ...] = ()
    named: tuple[str, ...] = ()


class Backend(ABC):
    """A loaded RDF store that can evaluate guarded, read-only queries."""

    name: ClassVar[str]
    # True when evaluation runs outside Python's GIL (Rust, network I/O), so that another thread of the process
    # (the inline executor's watchdog) runs while a query does; see web/app.py and engine/watchdog.py.
    releases_gil: ClassVar[bool] = False

    @abstractmethod
    def load(self, path: Path, *, graph: str | None = None) -> None:
        """Load an N-Quads/N-Triples/Turtle/TriG file (triples into ``graph`` when given)."""

    @abstractmethod
    def graph_names(self) -> list[str]:
        """The IRIs of the named graphs, sorted."""

    @abstractmethod
    def __len__(self) -> int:
        """Quads in the store."""

    def before_fork(self) -> None:
        """Called in the loading process just before it forks the processes that will query (HTTP or query
        workers): drop what must not be inherited (e.g. an open on-disk store handle)."""

    @abstractmethod
    def evaluate(self, query: GuardedQuery, dataset: DatasetSpec | None, prefixes: dict[str, str]) -> Outcome:
        """ASK → bool; SELECT → (variables, rows); CONSTRUCT/DESCRIBE → triples. Lazy where the engine is."""


def check_loadable(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in LOADABLE:
        raise ValueError(f"{path.name}: only {', '.join(sorted(LOADABLE))} files are loaded (no JSON-LD or RDF/XML, "
                         "whose parsers may fetch or expand).")
    return LOADABLE[suffix]
