"""The whole built graph against every shape: what the build runs before it writes a dump, and what `mrkg validate`
runs on all the facts. Part of the build, not of the curator's code (mrkg.curate imports it, never the reverse)."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.term import Node

from .facts import Facts
from .namespaces import CLAIM, ENT, MAPPING, SRC
from .rdf import QuadSet, claim_iri, iter_ox_quads
from .shacl import MRKGSH_TEXT, Report, Shapes, TripleIndex, validate_store
from .sources import SourceText


def validation_graph(dataset: Dataset, facts: Facts, texts: dict[str, SourceText]) -> Graph:
    """A built dataset as one graph to validate, with each source's text attached for the quote checks."""
    g = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        g.add((s, p, o))
    for source in facts.sources.values():
        if source.file_name in texts:
            g.add((SRC[source.id], MRKGSH_TEXT, Literal(texts[source.file_name].text)))
    return g


def validation_store(dataset: Dataset | QuadSet, facts: Facts, texts: dict[str, SourceText],
                     shapes: Shapes) -> tuple[ox.Store, TripleIndex]:
    """A built dataset as one pyoxigraph store to validate (the union of its graphs, each source's text attached
    for the quote checks), and the index of the values the validator reads outside SPARQL. The same triples as
    ``validation_graph``, without an rdflib Graph of them."""
    index = TripleIndex(shapes.lookup_predicates)
    wanted = index.predicates
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        if p in wanted:
            index.add((s, p, o))
    store = ox.Store()
    if isinstance(dataset, QuadSet) and dataset.converted():
        store.bulk_extend(ox.Quad(q.subject, q.predicate, q.object) for q in dataset.ox_quads())
    else:  # converted as they go in: no list of pyoxigraph quads beside the store (gigabytes at 10M quads)
        store.bulk_extend(iter_ox_quads(dataset.quads((None, None, None, None)), graphs=False))
    text = ox.NamedNode(str(MRKGSH_TEXT))
    store.bulk_extend(ox.Quad(ox.NamedNode(str(SRC[source.id])), text, ox.Literal(texts[source.file_name].text))
                      for source in facts.sources.values() if source.file_name in texts)
    return store, index


def validate_dataset(dataset: Dataset | QuadSet, facts: Facts, texts: dict[str, SourceText], shapes_dir: Path,
                     progress=None) -> Report:
    """The whole built graph against every shape (what the build runs before it writes dumps)."""
    shapes = Shapes.load(shapes_dir)
    store, index = validation_store(dataset, facts, texts, shapes)
    if progress:
        progress(f"validation store: {len(store)} triples")
    report = validate_store(shapes, store, index, progress=progress)
    locations = {}
    for claim in facts.claims():
        locations[str(claim_iri(claim))] = claim.where
    for entity in facts.entities.values():
        locations[str(ENT[entity.id])] = f"{entity.file}:{entity.line}"
    for source in facts.sources.values():
        locations[str(SRC[source.id])] = f"{source.file}:{source.line}"
    locate(report, locations)
    return report



def describe(node: Node) -> str:
    """What a curator calls a node: ``claim 001-x``, ``entity baclofen``, ``source 001``, ``mapping ...``."""
    text = str(node)
    for ns, word in ((str(CLAIM), "claim"), (str(ENT), "entity"), (str(SRC), "source"), (str(MAPPING), "mapping")):
        if isinstance(node, URIRef) and text.startswith(ns):
            local = text[len(ns):]
            return f"{word} {local.split('/')[0]}" if word == "claim" else f"{word} {local}"
    return ""


def locate(report: Report, locations: dict[str, str]) -> None:
    """Give each result without a location the place its focus node (or the claim it belongs to) was written."""
    for result in report.results:
        if result.location or result.focus is None:
            continue
        text = str(result.focus)
        owner = text
        if text.startswith(str(CLAIM)):
            owner = str(CLAIM) + text[len(str(CLAIM)):].split("/")[0]
        result.location = locations.get(text) or locations.get(owner, "")
        result.claim = result.claim or describe(result.focus)
