"""SHACL validation with our own shapes: core constraints by pyshacl, SHACL-SPARQL constraints batched on pyoxigraph.

pyshacl is the reference for what the shapes mean, but it parses and evaluates every SHACL-SPARQL constraint once per
focus node with rdflib (minutes on the real graph). The same constraints are therefore run here as one query each
over the whole data graph on pyoxigraph, joined with the shape's target; tests check on every example that the two
engines report the same results. Shapes always come from ``shapes/`` as Graph objects: data never supplies shapes,
and nothing is imported or fetched (pyshacl's ``do_owl_imports`` stays off).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD
from rdflib.term import Node

SHAPES = "https://w3id.org/mrkg/shapes/"
MRKGSH_TEXT = URIRef(SHAPES + "text")
MRKGSH_LOCATION = URIRef(SHAPES + "location")
FACTS_FORMAT = URIRef(SHAPES + "FactsFormat")
INPUT_SHAPES_FILE = "input.ttl"
SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
SEVERITY_RANK = {"Violation": 0, "Warning": 1, "Info": 2}


class ShapesError(Exception):
    """The shapes themselves are unusable (a Turtle error, a SPARQL constraint we cannot run)."""


@dataclass
class Result:
    """One validation result, as in sh:ValidationResult, plus where its focus node was written."""

    severity: str  # Violation | Warning | Info
    message: str
    focus: Node
    shape: Node
    component: Node
    path: Node | None = None
    value: Node | None = None
    constraint: Node | None = None
    location: str = ""  # file:line
    claim: str = ""  # the claim (or entity, source...) the curator knows it by

    def sort_key(self) -> tuple:
        return (SEVERITY_RANK[self.severity], self.location, str(self.focus), self.message)

    def key(self) -> tuple:
        return (self.severity, str(self.focus), str(self.shape), str(self.constraint), str(self.path),
                str(self.value), self.message)


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)

    @property
    def violations(self) -> list[Result]:
        return [r for r in self.results if r.severity == "Violation"]

    @property
    def conforms(self) -> bool:
        return not self.violations

    def counts(self) -> dict[str, int]:
        return {s: sum(r.severity == s for r in self.results) for s in SEVERITY_RANK}

    def extend(self, results: Iterable[Result]) -> None:
        seen = {r.key() for r in self.results}
        for result in results:
            if result.key() not in seen:
                seen.add(result.key())
                self.results.append(result)

    def sorted(self) -> list[Result]:
        return sorted(self.results, key=Result.sort_key)

    def summary(self) -> str:
        c = self.counts()
        verdict = "conforms" if self.conforms else "does not conform"
        return f"{verdict}: {c['Violation']} violation(s), {c['Warning']} warning(s), {c['Info']} info"


def _short(node: Node | None) -> str:
    if node is None:
        return ""
    text = str(node)
    for prefix, ns in (("mrkgsh:", SHAPES), ("mrkg:", "https://w3id.org/mrkg/ontology/"),
                       ("claim:", "https://w3id.org/mrkg/claim/"), ("ent:", "https://w3id.org/mrkg/entity/"),
                       ("src:", "https://w3id.org/mrkg/source/"), ("mapping:", "https://w3id.org/mrkg/mapping/"),
                       ("conflict:", "https://w3id.org/mrkg/conflict/"), ("sh:", str(SH))):
        if isinstance(node, URIRef) and text.startswith(ns):
            return prefix + text[len(ns):]
    if isinstance(node, BNode):
        return "[]"
    return text if isinstance(node, Literal) else f"<{text}>"


def format_text(report: Report, min_severity: str = "Info") -> str:
    """One line per result: ``file:line: Severity: claim: message [shape] (path value)``, then a summary."""
    lines = []
    for r in report.sorted():
        if SEVERITY_RANK[r.severity] > SEVERITY_RANK[min_severity]:
            continue
        where = f"{r.location}: " if r.location else ""
        about = f"{r.claim or _short(r.focus)}: " if (r.claim or r.focus is not None) else ""
        detail = []
        if r.path is not None:
            detail.append(f"path {_short(r.path)}")
        if r.value is not None and not (isinstance(r.focus, Literal) and r.value == r.focus):
            value = _short(r.value)
            detail.append(f"value {value[:80] + '…' if len(value) > 80 else value}")
        shape = _short(r.constraint) if isinstance(r.constraint, URIRef) else _short(r.shape)
        extra = f" ({'; '.join(detail)})" if detail else ""
        lines.append(f"{where}{r.severity}: {about}{r.message} [{shape}]{extra}")
    lines.append(report.summary())
    return "\n".join(lines) + "\n"


def format_json(report: Report) -> str:
    def term(node: Node | None):
        return None if node is None else (str(node) if not isinstance(node, BNode) else None)

    items = [{"location": r.location or None, "severity": r.severity, "claim": r.claim or None,
              "focus": term(r.focus), "message": r.message, "shape": term(r.shape),
              "constraint": term(r.constraint), "component": term(r.component), "path": term(r.path),
              "value": term(r.value)} for r in report.sorted()]
    return json.dumps({"conforms": report.conforms, "counts": report.counts(), "results": items},
                      indent=2, ensure_ascii=False) + "\n"


def report_graph(report: Report) -> Graph:
    """The standard sh:ValidationReport (each result also says where it was written, as mrkgsh:location)."""
    g = Graph()
    g.bind("sh", SH)
    g.bind("mrkgsh", SHAPES)
    node = BNode("report")
    g.add((node, RDF.type, SH.ValidationReport))
    g.add((node, SH.conforms, Literal(report.conforms)))
    for i, r in enumerate(report.sorted()):
        res = BNode(f"r{i}")
        g.add((node, SH.result, res))
        g.add((res, RDF.type, SH.ValidationResult))
        g.add((res, SH.resultSeverity, SH[r.severity]))
        g.add((res, SH.focusNode, r.focus))
        g.add((res, SH.resultMessage, Literal(r.message)))
        g.add((res, SH.sourceShape, r.shape))
        g.add((res, SH.sourceConstraintComponent, r.component))
        for prop, val in ((SH.resultPath, r.path), (SH.value, r.value), (SH.sourceConstraint, r.constraint)):
            if val is not None and not isinstance(val, BNode):
                g.add((res, prop, val))
        if r.location:
            g.add((res, MRKGSH_LOCATION, Literal(r.location)))
    return g


def format_turtle(report: Report) -> str:
    return report_graph(report).serialize(format="turtle")


# --- shapes -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SparqlCheck:
    """One SHACL-SPARQL constraint of a node shape, ready to run as a single query over a whole graph."""

    shape: Node
    constraint: Node
    severity: str
    messages: tuple[str, ...]
    targets: tuple[URIRef, ...]  # sh:targetClass values
    variables: tuple[str, ...]
    body: str
    prefixes: str


class Shapes:
    """Our shapes, parsed once: the core part for pyshacl and the SPARQL part for pyoxigraph."""

    def __init__(self, graph: Graph):
        self.graph = graph

    @classmethod
    def load(cls, shapes_dir: Path, *, intake: bool = False) -> "Shapes":
        """Every ``shapes/*.ttl`` (the intake shapes only when ``intake``; prefixes always)."""
        graph = Graph()
        files = sorted(shapes_dir.glob("*.ttl"))
        if not files:
            raise ShapesError(f"{shapes_dir}: no shapes (*.ttl)")
        for path in files:
            if (path.name == INPUT_SHAPES_FILE) != intake and path.name != "prefixes.ttl":
                continue
            try:
                graph.parse(path, format="turtle")
            except Exception as exc:  # a broken shapes file is our bug; say which file
                raise ShapesError(f"{path}: {str(exc).splitlines()[0]}") from None
        return cls(graph)

    @cached_property
    def core(self) -> Graph:
        """The shapes without their sh:sparql constraints (those run on pyoxigraph)."""
        g = Graph()
        for triple in self.graph:
            if triple[1] != SH.sparql:
                g.add(triple)
        return g

    def _prefixes(self, constraint: Node) -> str:
        lines = []
        for holder in self.graph.objects(constraint, SH.prefixes):
            for decl in self.graph.objects(holder, SH.declare):
                lines.append(f"PREFIX {self.graph.value(decl, SH.prefix)}: <{self.graph.value(decl, SH.namespace)}>")
        return "\n".join(sorted(set(lines)))

    @cached_property
    def sparql_checks(self) -> list[SparqlCheck]:
        checks = []
        for shape, constraint in sorted(self.graph.subject_objects(SH.sparql), key=lambda t: (str(t[0]), str(t[1]))):
            if self.graph.value(constraint, SH.deactivated) == Literal(True):
                continue
            select = str(self.graph.value(constraint, SH.select))
            match = re.match(r"\s*SELECT\s+(DISTINCT\s+)?(.*?)\s+WHERE\s*\{(.*)\}\s*$", select, re.S | re.I)
            targets = tuple(sorted(self.graph.objects(shape, SH.targetClass), key=str))
            if not match or not targets:
                raise ShapesError(f"{shape}: SPARQL constraint {constraint} must be 'SELECT ... WHERE {{ ... }}' "
                                  "on a shape with sh:targetClass")
            variables = tuple(v.lstrip("?$") for v in match.group(2).split())
            severity = SEVERITIES[self.graph.value(shape, SH.severity) or SH.Violation]
            messages = tuple(str(m) for m in self.graph.objects(constraint, SH.message)) or \
                tuple(str(m) for m in self.graph.objects(shape, SH.message))
            checks.append(SparqlCheck(shape, constraint, severity, messages, targets, variables,
                                      match.group(3).replace("$this", "?this"), self._prefixes(constraint)))
        return checks


# --- validation ---------------------------------------------------------------------------------------------


def _fill(message: str, bindings: dict[str, Node]) -> str:
    for name, value in bindings.items():
        message = re.sub(r"\{[?$]" + re.escape(name) + r"\}", str(value).replace("\\", "\\\\"), message)
    return message


def _from_ox(term) -> Node | None:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def _to_ox(node: Node):
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    assert isinstance(node, Literal)
    if node.language:
        return ox.Literal(str(node), language=node.language)
    return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype or XSD.string)))


def oxigraph_store(data: Graph) -> ox.Store:
    store = ox.Store()
    store.bulk_extend(ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o)) for s, p, o in data)
    return store


def run_sparql_checks(shapes: Shapes, data: Graph, focus: set[Node] | None = None,
                      store: ox.Store | None = None) -> list[Result]:
    """Each SHACL-SPARQL constraint as one query on pyoxigraph, joined with the class target of its shape."""
    store = store if store is not None else oxigraph_store(data)
    focus_values = None
    if focus is not None:
        named = sorted(f"<{n}>" for n in focus if isinstance(n, URIRef))
        if not named:
            return []
        focus_values = "VALUES ?this { " + " ".join(named) + " }"
    results = []
    for check in shapes.sparql_checks:
        target = " UNION ".join(f"{{ ?this rdf:type/rdfs:subClassOf* <{t}> }}" for t in check.targets)
        names = ["this", *(v for v in check.variables if v != "this")]
        query = (f"{check.prefixes}\nPREFIX rdf: <{RDF}>\nPREFIX rdfs: <{RDFS}>\n"
                 f"SELECT DISTINCT {' '.join('?' + n for n in names)} WHERE {{\n"
                 f"{focus_values or ''}\n{target}\n{check.body}\n}}")
        try:
            rows = store.query(query)
        except (SyntaxError, OSError, ValueError) as exc:
            raise ShapesError(f"{check.constraint}: {exc}") from None
        for row in rows:
            bindings = {name: _from_ox(row[name]) for name in names if row[name] is not None}
            this = bindings["this"]
            messages = check.messages or ("SPARQL constraint failed",)
            for message in messages:
                results.append(Result(check.severity, _fill(message, bindings), this, check.shape,
                                      SH.SPARQLConstraintComponent, bindings.get("path"),
                                      bindings.get("value"), check.constraint))
    return results


def run_core_checks(shapes: Shapes, data: Graph, focus: set[Node] | None = None, *,
                    advanced: bool = False, shapes_graph: Graph | None = None) -> list[Result]:
    """pyshacl on our own shapes graph (never the data's), no inference, no imports, nothing fetched."""
    import pyshacl

    if focus is not None and not focus:
        return []
    # pyshacl's own focus_nodes option mis-evaluates qualified value shapes, so the (small) data graph is validated
    # whole and the results are kept for the focus nodes only.
    _, graph, text = pyshacl.validate(
        data, shacl_graph=shapes_graph if shapes_graph is not None else shapes.core, ont_graph=None,
        inference="none", advanced=advanced, inplace=not advanced, abort_on_first=False, allow_infos=True,
        allow_warnings=True, do_owl_imports=False, meta_shacl=False, js=False)
    if not isinstance(graph, Graph):
        raise ShapesError(f"pyshacl could not validate: {text}")
    return [r for r in results_from_report(graph) if focus is None or r.focus in focus]


def results_from_report(graph: Graph) -> list[Result]:
    results = []
    for node in graph.subjects(RDF.type, SH.ValidationResult):
        messages = sorted(str(m) for m in graph.objects(node, SH.resultMessage)) or ["constraint failed"]
        results.append(Result(
            SEVERITIES.get(graph.value(node, SH.resultSeverity), "Violation"), messages[0],
            graph.value(node, SH.focusNode), graph.value(node, SH.sourceShape),
            graph.value(node, SH.sourceConstraintComponent), graph.value(node, SH.resultPath),
            graph.value(node, SH.value), graph.value(node, SH.sourceConstraint)))
    return results


def validate_graph(shapes: Shapes, data: Graph, focus: set[Node] | None = None) -> Report:
    """Validate ``data`` (only the ``focus`` nodes, when given) against ``shapes``."""
    report = Report()
    report.extend(run_core_checks(shapes, data, focus))
    report.extend(run_sparql_checks(shapes, data, focus))
    return report


def validate_reference(shapes: Shapes, data: Graph) -> Report:
    """pyshacl alone with every constraint (slow; for tests that hold the fast path to the reference)."""
    report = Report()
    report.extend(run_core_checks(shapes, data, shapes_graph=shapes.graph,
                                  advanced=any(True for _ in shapes.graph.triples((None, SH.target, None)))))
    return report


def validate_intake(intake: Shapes, data: Graph) -> Report:
    """The intake shapes (SPARQL target, so pyshacl's advanced mode) on a curator's triples alone."""
    report = Report()
    report.extend(run_core_checks(intake, data, shapes_graph=intake.graph, advanced=True))
    return report
