"""Intake: classify and read one curator input (YAML facts, Turtle, TriG, N-Triples), refusing unusable input with
one line (InputError). Nothing curator input names is ever fetched."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from ..facts import Entity, FactsError, Source, load_entity_file, load_source_file
from ..yamlfile import Map, load_yaml_file

if TYPE_CHECKING:
    from .context import Context


MAX_RDF_BYTES = 2_000_000


MAX_RDF_TRIPLES = 50_000


MAX_RDF_BLANK_NODES = 5_000


MAX_RDF_SUBJECTS = 200


RDF_FORMATS = {".ttl": "turtle", ".trig": "trig", ".nt": "nt"}


class InputError(Exception):
    """An input that cannot be validated at all (unreadable, unparseable, unknown type); str() is one line."""


@dataclass
class Change:
    """One input file: what it adds or replaces, and where each of its nodes was written."""

    path: Path
    name: str
    kind: str  # source | entities | rdf
    source: Source | None = None
    entities: list[Entity] = field(default_factory=list)
    graph: Graph | None = None
    rdf_text: str = ""
    errors: list[FactsError] = field(default_factory=list)
    destination: Path | None = None


def read_change(ctx: Context, path: Path) -> Change:
    """Classify and read one input, or raise InputError with a one-line reason (nothing else is raised)."""
    name = ctx.rel(path)
    if not path.is_file():
        raise InputError(f"{name}: no such file" if not path.exists() else f"{name}: not a regular file")
    suffix = path.suffix.lower()
    if suffix == ".yml":
        raise InputError(f"{name}: facts files end in .yaml, not .yml")
    if suffix == ".yaml":
        try:
            head = path.read_bytes()[:MAX_RDF_BYTES].decode("utf-8", errors="replace")
        except OSError as exc:
            raise InputError(f"{name}: cannot read: {exc.strerror}") from None
        _refuse_tags(head, name)
        keys = set(re.findall(r"^([A-Za-z_]+)\s*:", head, re.M))
        if {"source", "claims"} <= keys:
            change = Change(path, name, "source")
            change.source = load_source_file(path, name, change.errors)
            if change.source is None:  # the YAML itself was refused (syntax, aliases, tags, size, encoding)
                raise InputError(str(change.errors[0]))
            if not re.fullmatch(r"[0-9]{3}", change.source.id or ""):
                about_id = next((e for e in change.errors if e.file == name and e.message.startswith(
                    ("source: id", "source: missing required field 'id'"))), None)
                if about_id is not None:
                    raise InputError(str(about_id))
                where = f"{name}:{change.source.line}" if change.source.line else name
                raise InputError(f"{where}: a source file needs source.id, three digits in quotes (\"002\")")
            change.destination = ctx.facts_dir / "sources" / f"{change.source.id}.yaml"
            return change
        try:
            data = load_yaml_file(path, name)
        except FactsError as exc:
            raise InputError(str(exc)) from None
        if isinstance(data, Map) and "entities" in data and "type" in data:
            change = Change(path, name, "entities")
            change.entities = load_entity_file(path, name, change.errors)
            change.destination = ctx.facts_dir / "entities" / path.name
            return change
        raise InputError(f"{name}: not a facts file: expected a source file (source:, claims:) or an entity file "
                         "(type:, entities:)")
    if suffix in RDF_FORMATS:
        return Change(path, name, "rdf", graph=_parse_rdf(path, name, RDF_FORMATS[suffix]))
    raise InputError(f"{name}: unsupported file type {suffix or '(none)'}: give YAML facts (.yaml) or Turtle, TriG "
                     "or N-Triples (.ttl, .trig, .nt); RDF/XML and JSON-LD are not read")


STANDARD_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}


def _refuse_tags(text: str, name: str) -> None:
    """Refuse explicit YAML tags (``!!python/object/apply:...``): yamlfile.py builds mappings and sequences without
    looking at their tag, so a tag there would pass silently. Only the tokenizer runs: nothing is constructed."""
    if "!" not in text:
        return
    import yaml

    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.TagToken):
                handle, suffix = token.value
                tag = ("tag:yaml.org,2002:" if handle == "!!" else (handle or "")) + (suffix or "")
                if tag not in STANDARD_TAGS:
                    raise InputError(f"{name}:{token.start_mark.line + 1}: YAML tag {handle or ''}{suffix} is not "
                                     "allowed in facts files")
    except yaml.YAMLError:
        return  # the facts reader reports syntax errors with their line


OX_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "trig": ox.RdfFormat.TRIG, "nt": ox.RdfFormat.N_TRIPLES}


XSD_STRING, RDF_LANG_STRING = str(XSD.string), str(RDF.langString)


def rdflib_term(term, name: str) -> Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=None if datatype == XSD_STRING else URIRef(datatype))
    raise InputError(f"{name}: {type(term).__name__} terms (RDF-star) are not read")


def _parse_rdf(path: Path, name: str, fmt: str) -> Graph:
    """Turtle/TriG/N-Triples only, size-capped, UTF-8 without BOM, within MAX_RDF_TRIPLES, MAX_RDF_BLANK_NODES and
    MAX_RDF_SUBJECTS.

    One parse, pyoxigraph's: it streams, so a file over a cap is refused as soon as the cap is reached, and it reads
    the file and nothing else. Its triples become the rdflib graph that is validated (TriG: the union of its graphs)."""
    try:
        size = path.stat().st_size
        if size > MAX_RDF_BYTES:
            raise InputError(f"{name}: file is larger than {MAX_RDF_BYTES} bytes ({size})")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror}") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raise InputError(f"{name}: file starts with a byte-order mark; save it as UTF-8 without BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputError(f"{name}:{line}: not valid UTF-8 text") from None
    graph = Graph()
    blank: set[str] = set()
    subjects: set = set()
    parser = ox.parse(raw, format=OX_FORMATS[fmt], base_iri="https://w3id.org/mrkg/input/")
    try:
        for count, quad in enumerate(parser, 1):
            if count > MAX_RDF_TRIPLES:
                raise InputError(f"{name}: more than {MAX_RDF_TRIPLES} triples; split the file")
            if quad.subject not in subjects:
                subjects.add(quad.subject)
                if len(subjects) > MAX_RDF_SUBJECTS:
                    raise InputError(f"{name}: more than {MAX_RDF_SUBJECTS} subjects; split the file")
            for term in (quad.subject, quad.object):
                if isinstance(term, ox.BlankNode) and term.value not in blank:
                    blank.add(term.value)
                    if len(blank) > MAX_RDF_BLANK_NODES:
                        raise InputError(f"{name}: more than {MAX_RDF_BLANK_NODES} blank nodes; give the nodes IRIs "
                                         "or split the file")
            graph.add((rdflib_term(quad.subject, name), URIRef(quad.predicate.value), rdflib_term(quad.object, name)))
    except SyntaxError as exc:
        line = f":{exc.lineno}" if getattr(exc, "lineno", None) else ""
        first = (str(exc.msg if hasattr(exc, "msg") else exc).strip().splitlines() or ["syntax error"])[0]
        raise InputError(f"{name}{line}: not valid {fmt}: {first[:300]}") from None
    for prefix, namespace in parser.prefixes.items():
        if prefix:
            graph.bind(prefix, namespace, override=True, replace=True)
    graph.rdf_text = text  # type: ignore[attr-defined]
    return graph

