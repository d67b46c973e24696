"""SHACL validation with our own shapes: core constraints by pyshacl, SHACL-SPARQL constraints batched on pyoxigraph.

pyshacl is the reference for what the shapes mean, but it parses and evaluates every SHACL-SPARQL constraint once per
focus node with rdflib (minutes on the real graph). The same constraints are therefore run here as one query each
over the whole data graph on pyoxigraph, joined with the shape's target; tests check on every example that the two
engines report the same results. Shapes always come from ``shapes/`` as Graph objects: data never supplies shapes,
and nothing is imported or fetched (pyshacl's ``do_owl_imports`` stays off).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
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
    name: Node | None = None  # the named shape or constraint it is reported under (see Shapes.name_of)

    def sort_key(self) -> tuple:
        """In the order of the files and of the lines and columns in them (``f:9`` before ``f:10``), then by
        severity; results with no place come last."""
        file, line, column = _place(self.location)
        return (not self.location, file, line, column, SEVERITY_RANK[self.severity], str(self.focus), self.message)

    def key(self) -> tuple:
        return (self.severity, str(self.focus), str(self.shape), str(self.constraint), str(self.path),
                str(self.value), self.message)


def _place(location: str) -> tuple[str, int, int]:
    """``file:line:column`` (or ``file:line``, or ``file``) as (file, line, column)."""
    parts = location.rsplit(":", 2)
    numbers = []
    while len(parts) > 1 and parts[-1].isdigit() and len(numbers) < 2:
        numbers.insert(0, int(parts.pop()))
    if len(numbers) == 1:
        numbers.append(0)
    line, column = numbers or (0, 0)
    return ":".join(parts), line, column


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
        if not hasattr(self, "_seen") or len(self._seen) != len(self.results):
            self._seen = {r.key() for r in self.results}
        seen = self._seen
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
        placed = isinstance(r.focus, Literal) and str(r.focus) == r.location  # a facts error: its place says it
        about = f"{r.claim or _short(r.focus)}: " if (r.claim or (r.focus is not None and not placed)) else ""
        detail = []
        if r.path is not None:
            detail.append(f"path {_short(r.path)}")
        if r.value is not None and not (isinstance(r.focus, Literal) and r.value == r.focus):
            value = " ".join(_short(r.value).split())  # one line per result, even for a quote across lines
            detail.append(f"value {value[:80] + '…' if len(value) > 80 else value}")
        shape = _short(r.name if r.name is not None else (r.constraint if isinstance(r.constraint, URIRef) else r.shape))
        extra = f" ({'; '.join(detail)})" if detail else ""
        message = " ".join(str(r.message).split())
        lines.append(f"{where}{r.severity}: {about}{message} [{shape}]{extra}")
    lines.append(report.summary())
    return "\n".join(lines) + "\n"


def format_json(report: Report) -> str:
    def term(node: Node | None):
        return None if node is None else (str(node) if not isinstance(node, BNode) else None)

    items = [{"location": r.location or None, "severity": r.severity, "claim": r.claim or None,
              "focus": term(r.focus), "message": r.message, "shape": term(r.name if r.name is not None else r.shape),
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

    def __init__(self, graph: Graph | None):
        self.graph = graph

    @classmethod
    def load(cls, shapes_dir: Path, *, intake: bool = False, cache_dir: Path | None = None) -> "Shapes":
        """Every ``shapes/*.ttl`` (the intake shapes only when ``intake``; prefixes always).

        With ``cache_dir``, the compiled checks are kept there per content of the shapes and of this module, and a
        later load returns them without parsing (such a Shapes validates with pyoxigraph; it has no ``graph``)."""
        files = sorted(shapes_dir.glob("*.ttl"))
        if not files:
            raise ShapesError(f"{shapes_dir}: no shapes (*.ttl)")
        files = [f for f in files if (f.name == INPUT_SHAPES_FILE) == intake or f.name == "prefixes.ttl"]
        entry = None
        if cache_dir is not None:
            digest = hashlib.sha256(Path(__file__).read_bytes())
            for path in files:
                digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
            entry = cache_dir / f"shapes-{digest.hexdigest()}.pickle"
            try:
                compiled = pickle.loads(entry.read_bytes())
                if isinstance(compiled, cls):
                    return compiled
            except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError):
                pass
        graph = Graph()
        for path in files:
            try:
                graph.parse(path, format="turtle")
            except Exception as exc:  # a broken shapes file is our bug; say which file
                raise ShapesError(f"{path}: {str(exc).splitlines()[0]}") from None
        shapes = cls(graph)
        if entry is not None:
            try:
                entry.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".shapes-", dir=entry.parent)
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump(shapes, handle, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, entry)
            except OSError:
                pass  # a cache that cannot be written is only slower
        return shapes

    def __getstate__(self) -> dict:
        """What validating with pyoxigraph needs: the compiled checks and the holders of anonymous shapes."""
        return {"core_checks": self.core_checks, "sparql_checks": self.sparql_checks, "holders": self.holders}

    def __setstate__(self, state: dict) -> None:
        self.graph = None
        self.__dict__.update(state)

    @cached_property
    def holders(self) -> dict[Node, Node]:
        """Anonymous property shape or SPARQL constraint -> the node shape that holds it."""
        found: dict[Node, Node] = {}
        for prop in (SH.property, SH.sparql):
            for holder, member in self.graph.subject_objects(prop):
                if not isinstance(member, URIRef):
                    found.setdefault(member, holder)
        return found

    def name_of(self, result: "Result") -> Node:
        """The shape a result is reported under: its SPARQL constraint or shape when named, else the node shape
        that holds the anonymous property shape or constraint."""
        for node in (result.constraint, result.shape):
            if isinstance(node, URIRef):
                return node
        anonymous = result.constraint if result.constraint is not None else result.shape
        return self.holders.get(anonymous, anonymous)

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
    def core_checks(self) -> list[CoreCheck]:
        return _Compiler(self.core).compile()

    @property
    def lookup_predicates(self) -> frozenset[Node]:
        """The properties whose values the validator reads outside SPARQL (see TripleIndex)."""
        paths = {p for check in self.core_checks if check.datatype is not None for p in check.datatype[1]}
        return frozenset(paths | {RDFS.subClassOf})

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


# --- core constraints as SPARQL ------------------------------------------------------------------------------

# The SHACL core components our shapes use, and how each becomes a query on pyoxigraph. Any other component in the
# shapes is refused (ShapesError), so a new kind of constraint cannot go unchecked: add it here and to the tests.
PARAMETERS = {SH.minCount, SH.maxCount, SH.datatype, SH["class"], SH["or"], SH["in"], SH.pattern, SH.flags,
              SH.nodeKind, SH.minLength, SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive,
              SH.lessThan, SH.lessThanOrEquals, SH.equals, SH.qualifiedValueShape, SH.qualifiedMinCount,
              SH.qualifiedMaxCount, SH.languageIn, SH.uniqueLang, SH.closed, SH.ignoredProperties, SH.hasValue}
ANNOTATIONS = {RDF.type, RDFS.label, RDFS.comment, SH.message, SH.severity, SH.path, SH.property, SH.targetClass,
               SH.sparql, SH.name, SH.description, SH.deactivated}


FOCUS = "%%FOCUS%%"


def subclasses(classes) -> str:
    """A placeholder for the classes and all their subclasses in the data graph, filled in by expand_classes():
    a VALUES block joins through the index, much faster on pyoxigraph than rdf:type/rdfs:subClassOf* per node."""
    return "%%SUBCLASSES " + " ".join(str(c) for c in sorted(classes, key=str)) + "%%"


def expand_classes(query: str, data: Graph) -> str:
    def closure(match: re.Match) -> str:
        found, todo = set(), [URIRef(c) for c in match.group(1).split()]
        while todo:
            c = todo.pop()
            if c not in found:
                found.add(c)
                todo.extend(data.subjects(RDFS.subClassOf, c))
        return "{ " + " ".join(sorted(f"<{c}>" for c in found)) + " }"

    return re.sub(r"%%SUBCLASSES ([^%]+)%%", closure, query)


@dataclass(frozen=True)
class CoreCheck:
    """One core constraint of one shape, under the class targets of the node shape that holds it."""

    shape: Node
    component: URIRef
    severity: str
    messages: tuple[str, ...]
    path: Node | None
    query: str  # selects ?this and optionally ?value, ?path; FOCUS is replaced by a VALUES clause or nothing
    # pyoxigraph canonicalises derived datatypes (xsd:nonNegativeInteger is stored as xsd:integer), so sh:datatype
    # is checked on the rdflib graph for the focus nodes the query selects: (datatype, path IRIs or () for the node).
    datatype: tuple[URIRef, tuple[URIRef, ...]] | None = None
    # sh:minCount and sh:maxCount of one property shape, checked by one query that selects ?count: (min, max)
    counts: tuple[int | None, int | None] | None = None


def _n3(node: Node) -> str:
    return node.n3()


class _Compiler:
    def __init__(self, graph: Graph):
        self.g = graph

    def items(self, node: Node) -> list[Node]:
        return list(self.g.items(node))

    def path_sparql(self, path: Node) -> str:
        if isinstance(path, URIRef):
            return _n3(path)
        alternatives = self.g.value(path, SH.alternativePath)
        if alternatives is not None:
            return "(" + "|".join(self.path_sparql(p) for p in self.items(alternatives)) + ")"
        raise ShapesError(f"unsupported sh:path {path!r}: use an IRI or sh:alternativePath")

    def path_iris(self, path: Node | None) -> tuple[URIRef, ...]:
        if path is None:
            return ()
        if isinstance(path, URIRef):
            return (path,)
        return tuple(self.items(self.g.value(path, SH.alternativePath)))

    def value_test(self, shape: Node) -> str:
        """A FILTER expression true when ?v conforms to a small value shape ([ sh:class C ] or [ sh:in (...) ])."""
        parts = []
        for p, o in self.g.predicate_objects(shape):
            if p == SH["class"]:
                parts.append(f"EXISTS {{ VALUES ?_vt {subclasses([o])} ?v rdf:type ?_vt }}")
            elif p == SH["in"]:
                parts.append("(" + " || ".join(f"sameTerm(?v, {_n3(x)})" for x in self.items(o)) + ")")
            elif p not in ANNOTATIONS:
                raise ShapesError(f"unsupported constraint {p} inside sh:or / sh:qualifiedValueShape")
        return " && ".join(parts) or "true"

    def compile(self) -> list[CoreCheck]:
        checks = []
        for node_shape in sorted(set(self.g.subjects(SH.targetClass, None)), key=str):
            targets = sorted(self.g.objects(node_shape, SH.targetClass), key=str)
            target = f"VALUES ?_target {subclasses(targets)} ?this rdf:type ?_target ."
            checks += self.constraints(node_shape, None, target, node_shape)
            for prop in self.g.objects(node_shape, SH.property):
                checks += self.constraints(prop, self.g.value(prop, SH.path), target, node_shape)
        return checks

    def constraints(self, shape: Node, path: Node | None, target: str, node_shape: Node) -> list[CoreCheck]:
        g = self.g
        severity = SEVERITIES[g.value(shape, SH.severity) or SH.Violation]
        messages = tuple(sorted(str(m) for m in g.objects(shape, SH.message)))
        if g.value(shape, SH.deactivated) == Literal(True):
            return []
        for p in set(g.predicates(shape, None)):
            if p not in PARAMETERS and p not in ANNOTATIONS and not (path is None and p == SH.targetClass):
                raise ShapesError(f"{shape}: constraint {p} is not supported by the fast validator (mrkg.shacl)")
        out: list[CoreCheck] = []

        def add(component: URIRef, body: str, *, grouped: str | None = None, group_by: str = "?this",
                datatype: tuple | None = None, counts: tuple | None = None) -> None:
            if datatype is not None:
                query = f"SELECT DISTINCT ?this WHERE {{ {FOCUS} {target} }}"
            elif counts is not None:
                query = (f"SELECT ?this (COUNT(DISTINCT ?v) AS ?count) WHERE {{ {FOCUS} {target} {body} }} "
                         f"GROUP BY ?this HAVING ({grouped})")
            elif grouped is not None:
                query = f"SELECT ?this WHERE {{ {FOCUS} {target} {body} }} GROUP BY {group_by} HAVING ({grouped})"
            else:
                query = f"SELECT DISTINCT ?this ?value ?path WHERE {{ {FOCUS} {target} {body} }}"
            out.append(CoreCheck(shape, component, severity, messages, path, query, datatype, counts))

        if path is None:  # node-level constraints apply to the focus node itself
            value = "BIND (?this AS ?v) BIND (?this AS ?value)"
        else:
            value = f"?this {self.path_sparql(path)} ?v . BIND (?v AS ?value)"
        low, high = g.value(shape, SH.minCount), g.value(shape, SH.maxCount)
        if low is not None and high is not None:
            # One scan for both bounds: the result says which one a focus node breaks.
            add(SH.MinCountConstraintComponent, f"OPTIONAL {{ ?this {self.path_sparql(path)} ?v }}",
                grouped=f"COUNT(DISTINCT ?v) < {int(low)} || COUNT(DISTINCT ?v) > {int(high)}",
                counts=(int(low), int(high)))
        for p, o in sorted(g.predicate_objects(shape), key=lambda t: (str(t[0]), str(t[1]))):
            if p in (SH.minCount, SH.maxCount) and low is not None and high is not None:
                continue
            if p == SH.minCount:
                add(SH.MinCountConstraintComponent, f"OPTIONAL {{ ?this {self.path_sparql(path)} ?v }}",
                    grouped=f"COUNT(DISTINCT ?v) < {int(o)}")
            elif p == SH.maxCount:
                add(SH.MaxCountConstraintComponent, f"?this {self.path_sparql(path)} ?v",
                    grouped=f"COUNT(DISTINCT ?v) > {int(o)}")
            elif p == SH.datatype:
                add(SH.DatatypeConstraintComponent, "", datatype=(o, self.path_iris(path)))
            elif p == SH["class"]:
                add(SH.ClassConstraintComponent,
                    f"{value} FILTER NOT EXISTS {{ VALUES ?_vt {subclasses([o])} ?v rdf:type ?_vt }}")
            elif p == SH["or"]:
                tests = " || ".join(f"({self.value_test(alt)})" for alt in self.items(o))
                add(SH.OrConstraintComponent, f"{value} FILTER (!({tests}))")
            elif p == SH["in"]:
                add(SH.InConstraintComponent, f"{value} FILTER (!({self.value_test_in(o)}))")
            elif p == SH.hasValue:
                add(SH.HasValueConstraintComponent, f"FILTER NOT EXISTS {{ ?this {self.path_sparql(path)} {_n3(o)} }}"
                    if path is not None else f"FILTER (!sameTerm(?this, {_n3(o)}))")
            elif p == SH.pattern:
                flags = g.value(shape, SH.flags)
                regex = f"REGEX(STR(?v), {_n3(Literal(str(o)))}{', ' + _n3(Literal(str(flags))) if flags else ''})"
                add(SH.PatternConstraintComponent, f"{value} FILTER (isBlank(?v) || !{regex})")
            elif p == SH.nodeKind:
                test = {SH.IRI: "isIRI(?v)", SH.Literal: "isLiteral(?v)", SH.BlankNode: "isBlank(?v)",
                        SH.BlankNodeOrIRI: "!isLiteral(?v)", SH.IRIOrLiteral: "!isBlank(?v)",
                        SH.BlankNodeOrLiteral: "!isIRI(?v)"}[o]
                add(SH.NodeKindConstraintComponent, f"{value} FILTER (!({test}))")
            elif p == SH.minLength:
                add(SH.MinLengthConstraintComponent, f"{value} FILTER (isBlank(?v) || STRLEN(STR(?v)) < {int(o)})")
            elif p in (SH.minInclusive, SH.maxInclusive, SH.minExclusive, SH.maxExclusive):
                op = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}[p]
                component = SH[str(p).split("#")[1][0].upper() + str(p).split("#")[1][1:] + "ConstraintComponent"]
                add(component, f"{value} FILTER (!COALESCE(?v {op} {_n3(o)}, false))")
            elif p in (SH.lessThan, SH.lessThanOrEquals):
                op = "<" if p == SH.lessThan else "<="
                component = SH.LessThanConstraintComponent if p == SH.lessThan else SH.LessThanOrEqualsConstraintComponent
                add(component, f"{value} ?this {_n3(o)} ?w . FILTER (!COALESCE(?v {op} ?w, false))")
            elif p == SH.equals:
                own = self.path_sparql(path)
                add(SH.EqualsConstraintComponent,
                    f"{{ ?this {own} ?v . FILTER NOT EXISTS {{ ?this {_n3(o)} ?v }} }} UNION "
                    f"{{ ?this {_n3(o)} ?v . FILTER NOT EXISTS {{ ?this {own} ?v }} }} BIND (?v AS ?value)")
            elif p == SH.qualifiedValueShape:
                test = self.value_test(o)
                inner = f"OPTIONAL {{ ?this {self.path_sparql(path)} ?v . FILTER ({test}) }}"
                low, high = g.value(shape, SH.qualifiedMinCount), g.value(shape, SH.qualifiedMaxCount)
                if low is not None:
                    add(SH.QualifiedMinCountConstraintComponent, inner, grouped=f"COUNT(DISTINCT ?v) < {int(low)}")
                if high is not None:
                    add(SH.QualifiedMaxCountConstraintComponent, inner, grouped=f"COUNT(DISTINCT ?v) > {int(high)}")
            elif p == SH.languageIn:
                tests = " || ".join(f"LANGMATCHES(LANG(?v), {_n3(Literal(str(x)))})" for x in self.items(o))
                add(SH.LanguageInConstraintComponent, f"{value} FILTER (!isLiteral(?v) || !({tests}))")
            elif p == SH.uniqueLang and o == Literal(True):
                add(SH.UniqueLangConstraintComponent, f"?this {self.path_sparql(path)} ?v . FILTER (LANG(?v) != '') "
                    "BIND (LANG(?v) AS ?lang)", grouped="COUNT(DISTINCT ?v) > 1", group_by="?this ?lang")
            elif p == SH.closed and o == Literal(True):
                allowed = {self.g.value(ps, SH.path) for ps in self.g.objects(shape, SH.property)}
                ignored = g.value(shape, SH.ignoredProperties)
                allowed |= set(self.items(ignored)) if ignored is not None else set()
                names = ", ".join(sorted(_n3(a) for a in allowed if isinstance(a, URIRef)))
                add(SH.ClosedConstraintComponent, f"?this ?path ?value . FILTER (?path NOT IN ({names}))")
        return out

    def value_test_in(self, members: Node) -> str:
        return " || ".join(f"sameTerm(?v, {_n3(x)})" for x in self.items(members)) or "false"


def _datatype_ok(value: Node, datatype: URIRef) -> bool:
    if not isinstance(value, Literal) or getattr(value, "ill_typed", False):
        return False
    actual = value.datatype or (RDF.langString if value.language else XSD.string)
    return actual == datatype


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _in_threads(fn, items: list) -> list:
    """``[fn(x) for x in items]``, in a few threads: pyoxigraph evaluates a query without holding the GIL, so the
    queries of one validation share the cores. The results keep the order of ``items``."""
    if len(items) < 2 or _workers() == 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="mrkg-shacl") as pool:
        return list(pool.map(fn, items))


def run_core_queries(shapes: "Shapes", store: ox.Store, focus: set[Node] | None = None,
                     data: Graph | None = None) -> list[Result]:
    # The data graph is small when a focus is given (the new nodes and their context): run every query on all of it
    # and keep the results on focus nodes; a VALUES block of thousands of IRIs per query costs more than it saves.
    batches = _in_threads(lambda check: _run_core_check(check, store, data), shapes.core_checks)
    return [r for batch in batches for r in batch if focus is None or r.focus in focus]


def _run_core_check(check: CoreCheck, store: ox.Store, data) -> list[Result]:
    prologue = f"PREFIX rdf: <{RDF}>\nPREFIX rdfs: <{RDFS}>\n"
    query = prologue + expand_classes(check.query.replace(FOCUS, ""), data)
    try:
        rows = store.query(query)
    except (SyntaxError, OSError, ValueError) as exc:
        raise ShapesError(f"{check.shape} ({check.component}): {exc}\n{query}") from None
    names = [v.value for v in rows.variables]
    results = []
    if check.datatype is not None:
        datatype, paths = check.datatype
        for row in rows:
            this = _from_ox(row["this"])
            values = [this] if not paths else [v for p in paths for v in data.objects(this, p)]
            for value in values:
                if not _datatype_ok(value, datatype):
                    for message in check.messages or ("constraint failed",):
                        results.append(Result(check.severity, message, this, check.shape, check.component,
                                              check.path if isinstance(check.path, URIRef) else None, value))
        return results
    for row in rows:
        this = _from_ox(row["this"])
        component = check.component
        if check.counts is not None:
            low, high = check.counts
            component = (SH.MinCountConstraintComponent if int(row["count"].value) < low
                         else SH.MaxCountConstraintComponent)
        value = _from_ox(row["value"]) if "value" in names else None
        path = _from_ox(row["path"]) if "path" in names and row["path"] is not None else check.path
        for message in check.messages or ("constraint failed",):
            results.append(Result(check.severity, message, this, check.shape, component,
                                  path if isinstance(path, URIRef) else check.path, value))
    return results


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


def oxigraph_store(data: Iterable[tuple[Node, Node, Node]]) -> ox.Store:
    """The triples (an rdflib Graph or any iterable of rdflib triples) in a pyoxigraph store's default graph."""
    from .rdf import OxTerms

    term = OxTerms()
    store = ox.Store()
    store.bulk_extend(ox.Quad(term(s), term(p), term(o)) for s, p, o in data)
    return store


class TripleIndex:
    """The lookups the validator makes outside SPARQL (the values sh:datatype checks, the class hierarchy), for a
    graph that is never held as an rdflib Graph: only the triples of ``predicates`` are kept."""

    def __init__(self, predicates: Iterable[Node]) -> None:
        self.predicates = frozenset(predicates)
        self._objects: dict[tuple[Node, Node], list[Node]] = {}
        self._subjects: dict[tuple[Node, Node], list[Node]] = {}

    def add(self, triple: tuple[Node, Node, Node]) -> None:
        s, p, o = triple
        if p in self.predicates:
            self._objects.setdefault((s, p), []).append(o)
            self._subjects.setdefault((p, o), []).append(s)

    def objects(self, subject: Node, predicate: Node) -> Iterable[Node]:
        return iter(dict.fromkeys(self._objects.get((subject, predicate), ())))

    def subjects(self, predicate: Node, obj: Node) -> Iterable[Node]:
        return iter(dict.fromkeys(self._subjects.get((predicate, obj), ())))


def run_sparql_checks(shapes: Shapes, data: Graph, focus: set[Node] | None = None,
                      store: ox.Store | None = None) -> list[Result]:
    """Each SHACL-SPARQL constraint as one query on pyoxigraph, joined with the class target of its shape."""
    store = store if store is not None else oxigraph_store(data)
    batches = _in_threads(lambda check: _run_sparql_check(check, store, focus), shapes.sparql_checks)
    return [r for batch in batches for r in batch]


def _run_sparql_check(check: SparqlCheck, store: ox.Store, focus: set[Node] | None) -> list[Result]:
    target = " UNION ".join(f"{{ ?this rdf:type/rdfs:subClassOf* <{t}> }}" for t in check.targets)
    names = ["this", *(v for v in check.variables if v != "this")]
    query = (f"{check.prefixes}\nPREFIX rdf: <{RDF}>\nPREFIX rdfs: <{RDFS}>\n"
             f"SELECT DISTINCT {' '.join('?' + n for n in names)} WHERE {{\n"
             f"{target}\n{check.body}\n}}")
    try:
        rows = store.query(query)
    except (SyntaxError, OSError, ValueError) as exc:
        raise ShapesError(f"{check.constraint}: {exc}") from None
    results = []
    for row in rows:
        bindings = {name: _from_ox(row[name]) for name in names if row[name] is not None}
        this = bindings["this"]
        if focus is not None and this not in focus:
            continue
        messages = check.messages or ("SPARQL constraint failed",)
        for message in messages:
            # SHACL: a node shape's SPARQL result without ?value has the focus node as its value.
            results.append(Result(check.severity, _fill(message, bindings), this, check.shape,
                                  SH.SPARQLConstraintComponent, bindings.get("path"),
                                  bindings.get("value", this), check.constraint))
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
    """Validate ``data`` (only the ``focus`` nodes, when given) against ``shapes``: every constraint as SPARQL on
    pyoxigraph (core ones compiled, SHACL-SPARQL ones as written)."""
    return validate_store(shapes, oxigraph_store(data), data, focus)


def validate_store(shapes: Shapes, store: ox.Store, data: Graph | TripleIndex, focus: set[Node] | None = None,
                   progress=None) -> Report:
    """Validate the triples in ``store``'s default graph; ``data`` answers the lookups made outside SPARQL (an
    rdflib Graph of the same triples, or a TripleIndex over ``shapes.lookup_predicates``)."""
    # One pool for both kinds: the SPARQL constraints (a few long queries) start first, the core ones fill in.
    tasks = [lambda c=c: _run_sparql_check(c, store, focus) for c in shapes.sparql_checks]
    tasks += [lambda c=c: _run_core_check(c, store, data) for c in shapes.core_checks]
    batches = _in_threads(lambda task: task(), tasks)
    sparql, core = batches[:len(shapes.sparql_checks)], batches[len(shapes.sparql_checks):]
    report = Report()
    report.extend(r for batch in core for r in batch if focus is None or r.focus in focus)
    report.extend(r for batch in sparql for r in batch)
    if progress:
        progress(f"{len(shapes.core_checks)} core and {len(shapes.sparql_checks)} SPARQL constraints")
    for result in report.results:
        result.name = shapes.name_of(result)
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
