"""Every shape both ways: tests/examples/valid/*.ttl conform, each tests/examples/invalid/*.ttl fails exactly for the
reason it states (``# expect: <severity> <shape or constraint> <component>``), and the fast validator (SPARQL on
pyoxigraph) reports what pyshacl, the reference, reports."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import REPO
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS

from mrkg.curate import _schema_triples
from mrkg.model import ENTITY_TYPES, KINDS, VALUE_SHAPES
from mrkg.namespaces import GRAPH_ONTOLOGY, MRKG
from mrkg.rdf import add_ontology
from mrkg.shacl import (Report, Shapes, oxigraph_store, run_core_checks, run_core_queries, validate_graph,
                        validate_reference)

EXAMPLES = REPO / "tests" / "examples"
MRKGSH = "https://w3id.org/mrkg/shapes/"
VALID = sorted((EXAMPLES / "valid").glob("*.ttl"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.ttl"))
EXPECT = re.compile(r"^# expect: (Violation|Warning|Info) (\S+) (\S+)\s*$", re.M)
REPORTS = re.compile(r"^# reports: (Warning|Info) (\S+) (\S+)\s*$", re.M)


@pytest.fixture(scope="module")
def shapes() -> Shapes:
    return Shapes.load(REPO / "shapes")


@pytest.fixture(scope="module")
def ontology() -> Graph:
    ds = Dataset()
    add_ontology(ds, REPO / "ontology")
    return ds.graph(GRAPH_ONTOLOGY)


def curie(node) -> str:
    text = str(node)
    for prefix, ns in (("mrkgsh:", MRKGSH), ("sh:", str(SH))):
        if text.startswith(ns):
            return prefix + text[len(ns):]
    return text


def example_graph(path: Path, ontology: Graph) -> Graph:
    """The example plus the class hierarchy of the ontology, as `mrkg validate` gives it."""
    graph = Graph().parse(path, format="turtle")
    for triple in _schema_triples(ontology):
        graph.add(triple)
    return graph


def reported(shapes: Shapes, report, with_info: bool) -> set[tuple[str, str, str]]:
    return {(r.severity, curie(shapes.name_of(r)), curie(r.component)) for r in report.results
            if with_info or r.severity != "Info"}


def comparable(report) -> set[tuple]:
    """Results as both engines give them (pyoxigraph writes decimals canonically: compare numbers by value)."""
    def value(v):
        return Decimal(str(v)) if isinstance(v, Literal) and v.datatype and "decimal" in str(v.datatype) else str(v)
    return {(r.severity, str(r.focus), str(r.shape), str(r.constraint) if r.constraint is not None and not
             isinstance(r.constraint, BNode) else "", str(r.component), value(r.value)) for r in report.results}


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_example_conforms(path: Path, shapes: Shapes, ontology: Graph):
    """No violation; no warning unless the example says it reports one (``# reports: ...``)."""
    report = validate_graph(shapes, example_graph(path, ontology))
    assert report.conforms, "\n".join(str(r) for r in report.violations)
    assert reported(shapes, report, with_info=False) == set(REPORTS.findall(path.read_text()))


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_example_fails_for_its_stated_reason(path: Path, shapes: Shapes, ontology: Graph):
    expected = set(EXPECT.findall(path.read_text()))
    assert expected, f"{path.name}: state the constraint it must fail with as '# expect: <severity> <shape> <component>'"
    report = validate_graph(shapes, example_graph(path, ontology))
    with_info = any(severity == "Info" for severity, _, _ in expected)
    assert reported(shapes, report, with_info) == expected, "\n".join(str(r) for r in report.sorted())
    for result in report.results:
        assert result.message and not re.search(r"\{[?$][a-z]+\}", result.message), f"unfilled: {result.message}"


def test_fast_validator_agrees_with_pyshacl_on_core_constraints(shapes: Shapes, ontology: Graph):
    """One graph holding every example (their overlaps make yet more violations): same core results as pyshacl."""
    graph = Graph()
    for path in VALID + INVALID:
        graph += example_graph(path, ontology)
    store = oxigraph_store(graph)
    fast = comparable(Report(run_core_queries(shapes, store, None, graph)))
    reference = comparable(Report(run_core_checks(shapes, graph)))
    assert fast == reference, f"fast only: {sorted(fast - reference)[:5]}; pyshacl only: {sorted(reference - fast)[:5]}"
    assert len(fast) > len(INVALID)


SPARQL_EXAMPLES = [p for p in INVALID if "SPARQLConstraintComponent" in p.read_text().split("@prefix")[0]]
SPARQL_EXAMPLES += [EXAMPLES / "valid" / "conflict.ttl", EXAMPLES / "valid" / "kind-dose.ttl"]


@pytest.mark.parametrize("path", SPARQL_EXAMPLES, ids=[p.stem for p in SPARQL_EXAMPLES])
def test_fast_validator_agrees_with_pyshacl_on_sparql_constraints(path: Path, shapes: Shapes, ontology: Graph):
    """pyshacl evaluates SHACL-SPARQL per focus node (seconds per example): checked where those constraints fire."""
    graph = example_graph(path, ontology)
    assert comparable(validate_graph(shapes, graph)) == comparable(validate_reference(shapes, graph))


def _shape_family(shapes: Shapes, node_shape) -> set[str]:
    """A node shape, its property shapes and its SPARQL constraints, by the names results are reported under."""
    g = shapes.graph
    members = {node_shape, *g.objects(node_shape, SH.property), *g.objects(node_shape, SH.sparql)}
    return {curie(m if isinstance(m, URIRef) else node_shape) for m in members}


def node_shapes(shapes: Shapes) -> list:
    return sorted((s for s in set(shapes.graph.subjects(SH.targetClass, None))), key=str)


def test_every_shape_has_a_valid_and_an_invalid_example(shapes: Shapes, ontology: Graph):
    expected_names = {name for p in INVALID for _, name, _ in EXPECT.findall(p.read_text())}
    valid_types = set()
    for path in VALID:
        graph = example_graph(path, ontology)
        valid_types |= set(graph.objects(None, RDF.type))
    missing_invalid, missing_valid = [], []
    for shape in node_shapes(shapes):
        if not _shape_family(shapes, shape) & expected_names:
            missing_invalid.append(curie(shape))
        targets = set(shapes.graph.objects(shape, SH.targetClass))
        sub = {t for t in targets} | {s for t in targets for s in ontology.transitive_subjects(RDFS.subClassOf, t)}
        if not sub & valid_types:
            missing_valid.append(curie(shape))
    assert not missing_invalid, f"no invalid example for {missing_invalid}: add tests/examples/invalid/*.ttl"
    assert not missing_valid, f"no valid example holds a target of {missing_valid}: add tests/examples/valid/*.ttl"


def test_every_constraint_has_a_message(shapes: Shapes):
    g = shapes.graph
    constrained = set(g.subjects(SH.path, None)) | set(g.objects(None, SH.sparql))
    constrained |= {s for s in g.subjects(SH.targetClass, None)
                    if any(p in (SH.pattern, SH.nodeKind, SH.closed) for p in g.predicates(s, None))}
    missing = sorted(str(s) for s in constrained if g.value(s, SH.message) is None
                     and not (isinstance(s, BNode) and g.value(None, SH.qualifiedValueShape, s) is not None))
    assert not missing, f"constraints without sh:message: {missing}"


def test_severities_are_chosen_on_purpose(shapes: Shapes):
    g = shapes.graph
    severities = {curie(s): curie(g.value(s, SH.severity) or SH.Violation) for s in node_shapes(shapes)}
    assert severities["mrkgsh:ConflictingClaimShape"] == "sh:Warning"
    assert severities["mrkgsh:DuplicateClaimShape"] == "sh:Warning"
    assert severities["mrkgsh:OrphanEntityShape"] == "sh:Warning"
    assert severities["mrkgsh:UnhedgedClaimShape"] == "sh:Info"
    assert severities["mrkgsh:ClaimShape"] == "sh:Violation"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_claim_kind_has_its_shape(kind: str, shapes: Shapes):
    """The kind shapes say what model.KINDS says: predicate(s), subject types, object types or value class."""
    spec = KINDS[kind]
    g = shapes.graph
    shape = URIRef(f"{MRKGSH}{spec.claim_class}Shape")
    assert (shape, SH.targetClass, MRKG[spec.claim_class]) in g, f"add mrkgsh:{spec.claim_class}Shape to shapes/kinds.ttl"

    def classes(prop: str) -> set:
        node = URIRef(f"{shape}-{prop}")
        found = set(g.objects(node, SH["class"]))
        for alternatives in g.objects(node, SH["or"]):
            found |= {g.value(alt, SH["class"]) for alt in g.items(alternatives)}
        return found

    predicates = set(g.items(g.value(URIRef(f"{shape}-predicate"), SH["in"])))
    assert predicates == {MRKG[p] for p in spec.predicates}
    assert classes("subject") == {MRKG[ENTITY_TYPES[t]] for t in spec.subjects}
    expected = {MRKG[VALUE_SHAPES[spec.value].rdf_class]} if spec.value else {MRKG[ENTITY_TYPES[t]] for t in spec.objects}
    assert classes("object") == expected
    kinds = set(g.items(g.value(g.value(URIRef(f"{MRKGSH}ClaimShape-kind"), SH.qualifiedValueShape), SH["in"])))
    assert MRKG[spec.claim_class] in kinds


def test_the_ontology_is_labelled_and_defined(shapes: Shapes, ontology: Graph):
    report = validate_graph(shapes, ontology)
    assert report.conforms, "\n".join(f"{r.focus}: {r.message}" for r in report.violations)
    declared = set(ontology.subjects(RDF.type, OWL.Class)) | set(ontology.subjects(RDF.type, OWL.ObjectProperty))
    assert all(ontology.value(t, SKOS.definition) is not None for t in declared)


def test_shapes_are_ours_and_never_imported(shapes: Shapes):
    assert not list(shapes.graph.objects(None, OWL.imports))


# --- the fast validator at scale (issue 6) ---------------------------------------------------------------------


def _keys(report) -> list[tuple]:
    return [(r.severity, str(r.focus), str(r.name), str(r.component), str(r.path), str(r.value), r.message)
            for r in report.results]


def test_compiled_shapes_from_the_cache_validate_as_parsed_ones(shapes: Shapes, ontology: Graph, tmp_path: Path):
    first = Shapes.load(REPO / "shapes", cache_dir=tmp_path)
    cached = Shapes.load(REPO / "shapes", cache_dir=tmp_path)
    assert first.graph is not None and cached.graph is None  # the second one was read back, not parsed
    assert list(tmp_path.glob("shapes-*.pickle"))
    graph = Graph()
    for path in VALID + INVALID:
        graph += example_graph(path, ontology)
    expected = sorted(_keys(validate_graph(shapes, graph)))
    assert sorted(_keys(validate_graph(cached, graph))) == expected


def test_validation_is_the_same_in_threads_every_time(shapes: Shapes, ontology: Graph):
    graph = Graph()
    for path in INVALID:
        graph += example_graph(path, ontology)
    assert _keys(validate_graph(shapes, graph)) == _keys(validate_graph(shapes, graph))


def test_whole_graph_validation_without_rdflib_equals_the_rdflib_graph_path(built, sources_dir: Path, shapes: Shapes):
    """The build validates a pyoxigraph store and an index of the values sh:datatype reads (validate_dataset); the
    same graph as an rdflib Graph (validation_graph) gives the same results."""
    from mrkg.curate import validate_dataset, validation_graph
    from mrkg.sources import read_sources

    texts = read_sources(sources_dir)
    fast = validate_dataset(built.dataset, built.facts, texts, REPO / "shapes")
    reference = validate_graph(shapes, validation_graph(built.dataset, built.facts, texts))
    assert sorted(_keys(fast)) == sorted(_keys(reference)) and len(fast.results) > 100
