"""The curator's workflow: validate new facts in the context of the graph (`mrkg validate`), and add them (`mrkg add`).

A new file is read with the same code the build uses (facts.py, rdf.py, conflicts.py). Only the nodes it adds are
validated, against a small data graph: its own triples plus the triples of the graph it touches (the entities it
names, its source and that source's text, the claims it may duplicate or contradict, the claims that keep an
entity from being an orphan). Context lookups go through indexes over the existing facts, never through a
validation of the whole graph.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache, partial
from decimal import Decimal
from pathlib import Path

import click
import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from .conflicts import add_conflicts, find_conflicts
from .facts import (Claim, Entity, Facts, FactsError, Source, Value, check_mappings, check_quotes, check_references,
                    load_entity_file, load_facts, load_source_file, read_reference)
from .model import ENTITY_QUALIFIERS, ENUM_QUALIFIERS, KINDS, STATISTIC_TYPES, VALUE_PROPERTY, VALUE_SHAPES
from .namespaces import CLAIM, ENT, GRAPH_ONTOLOGY, MAPPING, MRKG, SRC
from .rdf import QuadSet, add_claim, add_entities, add_ontology, add_source, claim_iri, to_ox_quads
from .shacl import (FACTS_FORMAT, MRKGSH_TEXT, Report, Result, Shapes, TripleIndex, format_json, format_text,
                    format_turtle, validate_graph, validate_intake, validate_store)
from .sources import SourceText, read_sources
from .transaction import (FileChange, Terminated, begin, commit, exclusive, hold_signals, pause_point, recover,
                          stoppable)
from .versions import discard, new_version
from .yamlfile import Map, load_yaml_file

MAX_RDF_BYTES = 2_000_000
# Per curator RDF file, checked while it is parsed: the work of validating grows with each (2 MB of ``[],`` are
# 660,000 blank nodes; pyshacl spends 0.2-0.5 s per subject on the intake shapes: 200 subjects took 94 s on a busy
# 2-core machine, 1,000 took 231 s; the real cure is in shacl.validate_intake).
MAX_RDF_TRIPLES = 50_000
MAX_RDF_BLANK_NODES = 5_000
MAX_RDF_SUBJECTS = 200
RDF_FORMATS = {".ttl": "turtle", ".trig": "trig", ".nt": "nt"}
ROLES = ("subject", "object", *(prop for prop, _ in ENTITY_QUALIFIERS.values()))
EXIT_CONFORMS, EXIT_VIOLATIONS, EXIT_UNUSABLE = 0, 1, 2


class InputError(Exception):
    """An input that cannot be validated at all (unreadable, unparseable, unknown type); str() is one line."""


# --- the existing graph -------------------------------------------------------------------------------------


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


@dataclass
class FactsIndex:
    """Which sources name which entities, so that a new file's context is found without reading every source:
    entity id -> ids of the sources with a claim about it (``subjects``), or naming it in any role (``mentions``)."""

    subjects: dict[str, tuple[str, ...]]
    mentions: dict[str, tuple[str, ...]]

    @classmethod
    def of(cls, facts: Facts) -> "FactsIndex":
        subjects: dict[str, dict[str, None]] = {}
        mentions: dict[str, dict[str, None]] = {}
        for source_id in sorted(facts.sources):
            for claim in facts.sources[source_id].claims:
                subjects.setdefault(claim.subject, {})[source_id] = None
                for entity_id in _named(claim):
                    mentions.setdefault(entity_id, {})[source_id] = None
        return cls({k: tuple(v) for k, v in subjects.items()}, {k: tuple(v) for k, v in mentions.items()})


def _named(claim: Claim) -> list[str]:
    return [claim.subject, *([claim.object] if claim.object else []), *claim.entity_qualifiers.values()]


class SourceRecords(Mapping):
    """Source id -> Source, each read (from the parse cache) the first time it is asked for: validating one file
    reads the sources its context needs, not all of them."""

    def __init__(self, loaders: dict) -> None:
        self._loaders = loaders
        self._loaded: dict[str, Source] = {}

    def __getitem__(self, source_id: str) -> Source:
        if source_id not in self._loaded:
            self._loaded[source_id] = self._loaders[source_id]()
        return self._loaded[source_id]

    def __contains__(self, source_id: object) -> bool:
        return source_id in self._loaders

    def __iter__(self):
        return iter(self._loaders)

    def __len__(self) -> int:
        return len(self._loaders)


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


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """Parsed records depend on the reader's code as well as on the file: both go into the cache key."""
    digest = hashlib.sha256()
    for module in ("facts.py", "model.py", "yamlfile.py", "sources.py", "curate.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    return digest.hexdigest()[:16]


def _cache_key(raw: bytes, name: str, loader) -> str:
    return hashlib.sha256(raw + name.encode() + loader.__name__.encode() + _code_digest().encode()).hexdigest()


def _read_pickle(entry: Path):
    try:
        return pickle.loads(entry.read_bytes())
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError):
        return None


def _write_pickle(cache_dir: Path, entry: Path, value) -> None:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".entry-", dir=cache_dir)
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, entry)
    except OSError:
        pass  # a cache that cannot be written is only slower


def _cached(cache_dir: Path | None, path: Path, name: str, loader):
    """``loader(path, name, errors)``, remembered by the SHA-256 of the file (a pickle we wrote ourselves)."""
    if cache_dir is None:
        return loader(path, name, [])
    entry = cache_dir / f"{_cache_key(path.read_bytes(), name, loader)}.pickle"
    value = _read_pickle(entry)
    if value is None:
        value = loader(path, name, [])
        _write_pickle(cache_dir, entry, value)
    return value


def load_facts_cached(facts_dir: Path, cache_dir: Path | None) -> Facts:
    """The existing facts as load_facts reads them (first definition wins), each file parsed once per content;
    with a cache, each source is read when it is first asked for."""
    return load_context_facts(facts_dir, cache_dir)[0]


INDEX_ENTRIES_KEPT = 8


def load_context_facts(facts_dir: Path, cache_dir: Path | None) -> tuple[Facts, FactsIndex]:
    """The existing facts (as load_facts reads them: first definition wins) and their FactsIndex.

    With a cache, each file is parsed once per content, and the entities, the source ids and the index are kept in one
    entry per state of the facts folder: an unchanged folder costs a SHA-256 of each file and one small pickle; the
    sources themselves are read when first asked for (SourceRecords)."""
    if cache_dir is None:
        facts = load_facts(facts_dir)[0]
        return facts, FactsIndex.of(facts)
    root = facts_dir.parent
    from .facts import load_dataset_file

    dataset = load_dataset_file(facts_dir / "dataset.yaml", str((facts_dir / "dataset.yaml").relative_to(root)), [])
    entity_files = [(p, str(p.relative_to(root))) for p in sorted((facts_dir / "entities").glob("*.yaml"))]
    source_files = [(p, str(p.relative_to(root))) for p in sorted((facts_dir / "sources").glob("*.yaml"))]
    keys = {name: _cache_key(path.read_bytes(), name, load_entity_file) for path, name in entity_files}
    keys.update({name: _cache_key(path.read_bytes(), name, load_source_file) for path, name in source_files})
    state = hashlib.sha256("\n".join(f"{n} {k}" for n, k in keys.items()).encode()).hexdigest()
    entry = cache_dir / f"index-{state}.pickle"
    stored = _read_pickle(entry)
    if stored is None:
        entities: dict[str, Entity] = {}
        for path, name in entity_files:
            for entity in _cached(cache_dir, path, name, load_entity_file):
                if entity.id:
                    entities.setdefault(entity.id, entity)
        sources: dict[str, Source] = {}
        files: dict[str, tuple[Path, str]] = {}
        for path, name in source_files:
            source = _cached(cache_dir, path, name, load_source_file)
            if source is not None and source.id and source.id not in sources:
                sources[source.id], files[source.id] = source, (path, name)
        stored = (entities, files, FactsIndex.of(Facts(dataset, entities, sources)))
        _write_pickle(cache_dir, entry, stored)
        old = sorted(cache_dir.glob("index-*.pickle"), key=lambda p: p.stat().st_mtime)
        for path in old[:-INDEX_ENTRIES_KEPT]:
            path.unlink(missing_ok=True)
    entities, files, index = stored
    loaders = {sid: partial(_cached, cache_dir, path, name, load_source_file) for sid, (path, name) in files.items()}
    return Facts(dataset, entities, SourceRecords(loaders)), index


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mrkg" / "facts"


def _schema_triples(ontology: Graph) -> Graph:
    """The class and property hierarchy, without the ontology's own declarations (they are not being validated)."""
    g = Graph()
    for prop in (RDFS.subClassOf, RDFS.subPropertyOf):
        for s, o in ontology.subject_objects(prop):
            g.add((s, prop, o))
    return g


# --- what a file changes ------------------------------------------------------------------------------------


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
                raise InputError(f"{name}: a source file needs source.id, three digits in quotes (\"002\")")
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


def _rdflib_term(term, name: str) -> Node:
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
            graph.add((_rdflib_term(quad.subject, name), URIRef(quad.predicate.value), _rdflib_term(quad.object, name)))
    except SyntaxError as exc:
        line = f":{exc.lineno}" if getattr(exc, "lineno", None) else ""
        first = (str(exc.msg if hasattr(exc, "msg") else exc).strip().splitlines() or ["syntax error"])[0]
        raise InputError(f"{name}{line}: not valid {fmt}: {first[:300]}") from None
    for prefix, namespace in parser.prefixes.items():
        if prefix:
            graph.bind(prefix, namespace, override=True, replace=True)
    graph.rdf_text = text  # type: ignore[attr-defined]
    return graph


# --- facts errors as results --------------------------------------------------------------------------------


def _claim_spans(source: Source) -> list[tuple[int, Claim]]:
    return sorted(((c.line, c) for c in source.claims), key=lambda t: t[0])


def _claim_at(spans: list[tuple[int, Claim]], line: int) -> Claim | None:
    found = None
    for start, claim in spans:
        if start <= line:
            found = claim
        else:
            break
    return found


def _facts_result(error: FactsError, about: str = "") -> Result:
    where = f"{error.file}:{error.line}" if error.line else error.file
    return Result("Violation", error.message, Literal(where), FACTS_FORMAT, FACTS_FORMAT, location=where,
                  claim=about)


# --- reading curator RDF back into records (for conflicts) --------------------------------------------------


def claims_from_graph(graph: Graph) -> list[Claim]:
    """The claims of curator RDF as facts records, as far as conflict detection needs them."""
    by_class = {MRKG[k.claim_class]: name for name, k in KINDS.items()}
    qualifier = {MRKG[prop]: key for key, (prop, _) in ENTITY_QUALIFIERS.items()}
    enums = {MRKG[prop]: (key, {MRKG[v]: k for k, v in choices.items()}) for key, (prop, choices) in ENUM_QUALIFIERS.items()}
    claims = []
    for node in sorted(set(graph.subjects(RDF.type, MRKG.Claim)), key=str):
        kinds = [by_class[t] for t in graph.objects(node, RDF.type) if t in by_class]
        source = graph.value(node, PROV.wasDerivedFrom)
        subject, predicate = graph.value(node, MRKG.subject), graph.value(node, MRKG.predicate)
        if len(kinds) != 1 or source is None or subject is None or predicate is None:
            continue
        full_id = str(node).removeprefix(str(CLAIM))
        source_id = str(source).removeprefix(str(SRC))
        claim = Claim(source_id, full_id.removeprefix(f"{source_id}-"), kinds[0], str(subject).removeprefix(str(ENT)),
                      str(predicate).removeprefix(str(MRKG)), str(graph.value(node, MRKG.quote) or ""))
        claim.negated = graph.value(node, MRKG.polarity) == MRKG.Negated
        obj = graph.value(node, MRKG.object)
        kind = KINDS[kinds[0]]
        if kind.value is not None and obj is not None:
            claim.value = _value_from_graph(graph, obj, kind.value)
        elif obj is not None:
            claim.object = str(obj).removeprefix(str(ENT))
        for prop, value in graph.predicate_objects(node):
            if prop in qualifier:
                claim.entity_qualifiers[qualifier[prop]] = str(value).removeprefix(str(ENT))
            elif prop in enums and value in enums[prop][1]:
                claim.enum_qualifiers[enums[prop][0]] = enums[prop][1][value]
        for key, prop in VALUE_PROPERTY.items():
            value_node = graph.value(node, MRKG[prop])
            if value_node is not None:
                claim.values[key] = _value_from_graph(graph, value_node, key)
        claims.append(claim)
    return claims


def _value_from_graph(graph: Graph, node: Node, shape: str) -> Value:
    names = {"min": MRKG.minValue, "max": MRKG.maxValue, "amount": MRKG.amount, "times_per_day": MRKG.timesPerDay,
             "daily_total": MRKG.dailyTotal, "estimate": MRKG.estimate, "ci_lower": MRKG.ciLower,
             "ci_upper": MRKG.ciUpper, "ci_level": MRKG.ciLevel}
    numbers = {}
    for key, prop in names.items():
        lit = graph.value(node, prop)
        if isinstance(lit, Literal):
            try:
                numbers[key] = Decimal(str(lit))
            except ArithmeticError:
                pass
    unit = graph.value(node, MRKG.unit)
    value = Value(shape, str(graph.value(node, MRKG.originalText) or ""), numbers, str(unit) if unit else None)
    value.max_exclusive = graph.value(node, MRKG.maxExclusive) == Literal(True)
    stat = graph.value(node, MRKG.statisticType)
    value.statistic_type = next((k for k, v in STATISTIC_TYPES.items() if MRKG[v] == stat), None)
    return value


# --- assembling the data graph ------------------------------------------------------------------------------


@dataclass
class Assembly:
    """The data graph to validate, the nodes to validate in it, and where each node was written."""

    data: Graph = field(default_factory=Graph)
    focus: set = field(default_factory=set)
    locations: dict[str, str] = field(default_factory=dict)
    report: Report = field(default_factory=Report)
    orphan_candidates: set = field(default_factory=set)  # existing entities validated only for being orphans

    def add_all(self, triples, focus: bool = False) -> None:
        for s, p, o in triples:
            self.data.add((s, p, o))
            if focus:
                self.focus.add(s)


def _merged_facts(ctx: Context, changes: list[Change]) -> Facts:
    """The existing facts with every change applied (a source file replaces its source, an entity file its file).
    Its ``sources`` is an overlay: the sources no change touches are read only if something asks for them."""
    entities = dict(ctx.facts.entities)
    changed: dict[str, Source] = {}
    sources = _Overlay(ctx.facts.sources, changed)
    for change in changes:
        if change.kind == "entities":
            dest = ctx.rel(change.destination)
            entities = {i: e for i, e in entities.items() if e.file != dest}
    for change in changes:
        if change.kind == "entities":
            for entity in change.entities:
                entities.setdefault(entity.id, entity)
        elif change.kind == "source":
            changed[change.source.id] = change.source
        elif change.kind == "rdf":
            for claim in claims_from_graph(change.graph):
                base = sources.get(claim.source_id)
                if base is not None:
                    changed[claim.source_id] = replace(base, claims=[*base.claims, claim])
    return Facts(ctx.facts.dataset, entities, sources)


def _changed(facts: Facts) -> dict[str, Source]:
    return facts.sources.changed if isinstance(facts.sources, _Overlay) else {}


def _references(facts: Facts) -> dict[str, tuple[URIRef, URIRef]]:
    """entity id -> one (claim IRI, role property) that names it."""
    index: dict[str, tuple[URIRef, URIRef]] = {}
    for claim in facts.claims():
        if not claim.kind:
            continue
        named = [("subject", claim.subject)] + ([("object", claim.object)] if claim.object else [])
        named += [(ENTITY_QUALIFIERS[k][0], v) for k, v in claim.entity_qualifiers.items()]
        for role, entity_id in named:
            index.setdefault(entity_id, (claim_iri(claim), MRKG[role]))
    return index


class References:
    """What ``_references(facts)`` gives for one entity, looked up in the sources the index says name it (and the
    changed ones) instead of computed over every claim."""

    def __init__(self, facts: Facts, index: FactsIndex) -> None:
        self.facts, self.index, self.changed = facts, index, _changed(facts)
        self._per_source: dict[str, dict] = {}

    def _of(self, source_id: str) -> dict:
        if source_id not in self._per_source:
            one = Facts(self.facts.dataset, {}, {source_id: self.facts.sources[source_id]})
            self._per_source[source_id] = _references(one)
        return self._per_source[source_id]

    def get(self, entity_id: str, default=None):
        candidates = {s for s in self.index.mentions.get(entity_id, ()) if s not in self.changed}
        candidates |= {s for s in self.changed if entity_id in self._of(s)}
        for source_id in sorted(candidates):
            found = self._of(source_id).get(entity_id)
            if found is not None:
                return found
        return default

    def __contains__(self, entity_id: object) -> bool:
        return self.get(entity_id) is not None

    def __getitem__(self, entity_id: str) -> tuple[URIRef, URIRef]:
        found = self.get(entity_id)
        if found is None:
            raise KeyError(entity_id)
        return found


def _sources_naming(facts: Facts, index: FactsIndex, entity_ids: set[str], by: dict) -> list[str]:
    """Ids of the sources that may have a claim naming one of ``entity_ids`` (by subject or in any role, as ``by``
    says): the index's for the unchanged sources, every changed one."""
    changed = _changed(facts)
    found = {s for e in entity_ids for s in by.get(e, ()) if s not in changed}
    return sorted(found | set(changed))


def _conflicts_of(facts: Facts, index: FactsIndex, new_claims: set) -> list:
    """The conflicts the new claims take part in, by the build's own find_conflicts, run on the claims about the
    same subjects only: every conflict rule compares claims of one subject."""
    subjects = {c.subject for source in _changed(facts).values() for c in source.claims
                if claim_iri(c) in new_claims}
    if not subjects:
        return []
    scope = {}
    for source_id in _sources_naming(facts, index, subjects, index.subjects):
        source = facts.sources[source_id]
        claims = [c for c in source.claims if c.subject in subjects]
        if claims:
            scope[source_id] = replace(source, claims=claims)
    return [c for c in find_conflicts(Facts(facts.dataset, facts.entities, scope))
            if any(claim_iri(x) in new_claims for x in c.claims)]


def _entity_triples(facts: Facts, ids: set[str]) -> Graph:
    chosen = {i: facts.entities[i] for i in ids if i in facts.entities}
    ds = Dataset()
    add_entities(ds, Facts(facts.dataset, chosen, {}))
    g = Graph()
    for s, p, o, _ in ds.quads((None, None, None, None)):
        g.add((s, p, o))
    return g


def _source_frame(facts: Facts, source: Source, text: SourceText) -> Graph:
    """A source's node and extraction activity, without its claims, plus its text for the quote checks."""
    ds = Dataset()
    add_source(ds, facts, replace(source, claims=[]), text)
    g = Graph()
    for s, p, o, _ in ds.quads((None, None, None, None)):
        g.add((s, p, o))
    g.add((SRC[source.id], MRKGSH_TEXT, Literal(text.text)))
    return g


def _claim_graph(facts: Facts, source: Source, claims: list[Claim], text: SourceText) -> Graph:
    g = Graph()
    activity = URIRef(f"https://w3id.org/mrkg/activity/extraction-{source.id}")
    for claim in claims:
        add_claim(g, facts, source, claim, text, activity)
    return g


def _rdf_lines(graph: Graph) -> dict[str, str]:
    """Where each subject of curator RDF is first written: the first line that starts with its IRI or CURIE."""
    text: str = getattr(graph, "rdf_text", "")
    spellings: dict[str, list[str]] = {}
    namespaces = [(p, str(n)) for p, n in graph.namespaces() if p]
    for node in set(graph.subjects()):
        if not isinstance(node, URIRef):
            continue
        iri = str(node)
        spell = [f"<{iri}>"] + [f"{p}:{iri[len(n):]}" for p, n in namespaces if iri.startswith(n) and len(iri) > len(n)]
        spellings[iri] = spell
    found: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        for iri, spell in spellings.items():
            if iri not in found and any(stripped.startswith(s) and stripped[len(s):len(s) + 1] in (" ", "\t", "")
                                        for s in spell):
                found[iri] = number
    return {iri: str(n) for iri, n in found.items()}


def assemble_changes(ctx: Context, changes: list[Change]) -> Assembly:
    """The data graph for validating ``changes`` in the context of the existing facts."""
    asm = Assembly()
    merged = _merged_facts(ctx, changes)
    refs = References(merged, ctx.index)
    asm.add_all(_schema_triples(ctx.ontology))
    touched_entities: set[str] = set()
    new_claims: set[str] = set()
    reference = None
    for change in changes:
        if change.kind == "source":
            _assemble_source(ctx, change, merged, asm, touched_entities, new_claims)
        elif change.kind == "entities":
            if reference is None:
                reference = ctx.reference if ctx.reference_path is not None else {}
            _assemble_entities(ctx, change, merged, asm, refs, reference)
        else:
            _assemble_rdf(ctx, change, merged, asm, touched_entities, new_claims)
    # Context: the entities the new nodes name (their types for sh:class, their labels), never validated here.
    asm.add_all(_entity_triples(merged, touched_entities))
    for entity_id in touched_entities:
        if entity_id in refs and ENT[entity_id] in asm.focus:
            asm.data.add((refs[entity_id][0], refs[entity_id][1], ENT[entity_id]))
    # Conflicts the new claims take part in, found by the build's own code.
    conflicts = _conflicts_of(merged, ctx.index, new_claims)
    ds = Dataset()
    add_conflicts(ds, conflicts)
    asm.add_all((s, p, o) for s, p, o, _ in ds.quads((None, None, None, None)))
    return asm


def _assemble_source(ctx: Context, change: Change, merged: Facts, asm: Assembly, touched: set[str],
                     new_claims: set[str]) -> None:
    source = change.source
    scope = Facts(merged.dataset, merged.entities, {source.id: source})
    errors = list(change.errors)
    check_references(scope, errors)
    check_quotes(scope, ctx.texts, errors)
    spans = _claim_spans(source)
    first_claim_line = spans[0][0] if spans else 10**9
    bad: set[str] = set()
    source_level = False
    for error in errors:
        claim = _claim_at(spans, error.line) if error.file == change.name else None
        if claim is not None:
            bad.add(claim.id)
        elif error.file == change.name and error.line < first_claim_line:
            source_level = True
        asm.report.extend([_facts_result(error, f"claim {claim.full_id}" if claim else "")])
    text = ctx.texts.get(source.file_name)
    if text is None or source_level or not source.id:
        return  # no RDF can be made for a source the facts reader refused; its errors say why
    good = [c for c in source.claims if c.id not in bad]
    kept = replace(source, claims=good)
    ds = Dataset()
    add_source(ds, merged, kept, text)
    asm.add_all(((s, p, o) for s, p, o, _ in ds.quads((None, None, None, None))), focus=True)
    asm.data.add((SRC[source.id], MRKGSH_TEXT, Literal(text.text)))
    asm.locations[str(SRC[source.id])] = f"{change.name}:{source.line}"
    for claim in good:
        asm.locations[str(claim_iri(claim))] = claim.where
        new_claims.add(claim_iri(claim))
        touched.update([claim.subject, *([claim.object] if claim.object else []), *claim.entity_qualifiers.values()])
    old = ctx.facts.sources.get(source.id)
    if old is not None:  # entities only the replaced version named may now be orphans: validate them too
        still = set(_references(Facts(merged.dataset, merged.entities, {source.id: source})))
        for claim in old.claims:
            for entity_id in [claim.subject, claim.object, *claim.entity_qualifiers.values()]:
                if entity_id and entity_id not in still and entity_id in merged.entities:
                    touched.add(entity_id)
                    asm.focus.add(ENT[entity_id])
                    asm.orphan_candidates.add(ENT[entity_id])
                    entity = merged.entities[entity_id]
                    asm.locations[str(ENT[entity_id])] = f"{entity.file}:{entity.line}"


def _assemble_entities(ctx: Context, change: Change, merged: Facts, asm: Assembly, refs: References,
                       reference: dict) -> None:
    errors = list(change.errors)
    dest = ctx.rel(change.destination)
    new_ids = {e.id for e in change.entities}
    for entity in change.entities:
        other = ctx.facts.entities.get(entity.id)
        if other is not None and other.file != dest:
            errors.append(FactsError(change.name, entity.line, f"entity {entity.id!r} is already defined at "
                                                               f"{other.file}:{other.line}"))
    if reference:
        check_mappings(Facts(merged.dataset, {e.id: e for e in change.entities}, {}), reference, errors)
    removed = {i for i, e in ctx.facts.entities.items() if e.file == dest} - new_ids
    affected = new_ids | removed
    sources = {}
    for sid in _sources_naming(merged, ctx.index, affected, ctx.index.mentions):
        source = merged.sources[sid]
        claims = [c for c in source.claims
                  if {c.subject, c.object, *c.entity_qualifiers.values()} & affected]
        if claims:
            sources[sid] = replace(source, claims=claims)
    check_references(Facts(merged.dataset, merged.entities, sources), errors)
    bad = set()
    for error in errors:
        entity = None
        for e in change.entities:
            if error.file == change.name and e.line <= error.line:
                entity = e
        if entity is not None:
            bad.add(entity.id)
        asm.report.extend([_facts_result(error, f"entity {entity.id}" if entity else "")])
    good = {e.id: e for e in change.entities if e.id not in bad and e.id}
    ds = Dataset()
    add_entities(ds, Facts(merged.dataset, good, {}))
    asm.add_all(((s, p, o) for s, p, o, _ in ds.quads((None, None, None, None))), focus=True)
    labels: dict[str, set[str]] = {}
    for entity in merged.entities.values():
        for name in [entity.label, *entity.synonyms]:
            labels.setdefault(name, set()).add(entity.id)
    for entity in good.values():
        asm.locations[str(ENT[entity.id])] = f"{entity.file}:{entity.line}"
        for mapping in entity.mappings:
            node = [m for m in ds.graph(URIRef("https://w3id.org/mrkg/graph/mappings")).subjects(MRKG.externalId,
                                                                                                  Literal(mapping.id))]
            for m in node:
                asm.locations[str(m)] = f"{entity.file}:{mapping.line}"
        if entity.id in refs:
            asm.data.add((refs[entity.id][0], refs[entity.id][1], ENT[entity.id]))
        namesakes = set().union(*(labels.get(n, set()) for n in [entity.label, *entity.synonyms])) - {entity.id}
        asm.add_all(_entity_triples(merged, namesakes))


def _assemble_rdf(ctx: Context, change: Change, merged: Facts, asm: Assembly, touched: set[str],
                  new_claims: set[str]) -> None:
    graph = change.graph
    lines = _rdf_lines(graph)
    asm.add_all(graph, focus=True)
    for iri, line in lines.items():
        asm.locations[iri] = f"{change.name}:{line}"
    for s, p, o in graph:
        for node in (s, o):
            if isinstance(node, URIRef) and str(node).startswith(str(ENT)):
                touched.add(str(node).removeprefix(str(ENT)))
    # Sources the claims derive from: the existing source's node and text, or the text a new source names.
    for source_node in set(graph.objects(None, PROV.wasDerivedFrom)) | set(graph.subjects(RDF.type, MRKG.Source)):
        source_id = str(source_node).removeprefix(str(SRC))
        existing = ctx.facts.sources.get(source_id)
        if existing is not None and existing.file_name in ctx.texts and (source_node, RDF.type, MRKG.Source) not in graph:
            asm.add_all(_source_frame(merged, existing, ctx.texts[existing.file_name]))
        else:
            file_name = graph.value(source_node, MRKG.fileName)
            if file_name is not None and str(file_name) in ctx.texts:
                asm.data.add((source_node, MRKGSH_TEXT, Literal(ctx.texts[str(file_name)].text)))
    refs = References(ctx.facts, ctx.index)
    for node in set(graph.subjects(RDF.type, MRKG.Entity)) | {s for s in graph.subjects() if str(s).startswith(str(ENT))}:
        entity_id = str(node).removeprefix(str(ENT))
        if entity_id in refs:
            asm.data.add((refs[entity_id][0], refs[entity_id][1], node))
    # Claims of the same source about the same statement, for the duplicate checks.
    for claim in claims_from_graph(graph):
        new_claims.add(claim_iri(claim))
        source = ctx.facts.sources.get(claim.source_id)
        if source is None or source.file_name not in ctx.texts:
            continue
        same = [c for c in source.claims if c.subject == claim.subject and c.predicate == claim.predicate
                and c.kind and (c.object == claim.object or c.object is None)
                and ctx.texts[source.file_name].locate(c.quote, c.occurrence) is not None
                and claim_iri(c) not in graph.subjects()]
        asm.add_all(_claim_graph(merged, source, same, ctx.texts[source.file_name]))


def _describe(node: Node) -> str:
    text = str(node)
    for ns, word in ((str(CLAIM), "claim"), (str(ENT), "entity"), (str(SRC), "source"), (str(MAPPING), "mapping")):
        if isinstance(node, URIRef) and text.startswith(ns):
            local = text[len(ns):]
            return f"{word} {local.split('/')[0]}" if word == "claim" else f"{word} {local}"
    return ""


def _locate(asm: Assembly, report: Report) -> None:
    for result in report.results:
        if result.location or result.focus is None:
            continue
        text = str(result.focus)
        owner = text
        if text.startswith(str(CLAIM)):
            owner = str(CLAIM) + text[len(str(CLAIM)):].split("/")[0]
        result.location = asm.locations.get(text) or asm.locations.get(owner, "")
        result.claim = result.claim or _describe(result.focus)


# --- entry points -------------------------------------------------------------------------------------------


def validate_files(ctx: Context, paths: list[Path]) -> Report:
    """Validate files in the context of the existing graph; raises InputError for unusable input."""
    changes = [read_change(ctx, path) for path in paths]
    asm = assemble_changes(ctx, changes)
    report = asm.report
    rdf = [c for c in changes if c.kind == "rdf"]
    if rdf:
        intake = Shapes.load(ctx.shapes_dir, intake=True)
        for change in rdf:
            typed = Graph()
            for s, p, o in change.graph:
                typed.add((s, p, o))
            for s in set(change.graph.subjects()):
                for t in asm.data.objects(s, RDF.type):
                    typed.add((s, RDF.type, t))
            report.extend(validate_intake(intake, typed).results)
    if report.conforms or not rdf:
        # Curator RDF that would change the ontology or shapes is refused before it meets the graph.
        report.extend(r for r in validate_graph(ctx.shapes, asm.data, asm.focus).results
                      if r.focus not in asm.orphan_candidates or str(r.name).endswith("/OrphanEntityShape"))
    _locate(asm, report)
    return report


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
    quads = dataset.ox_quads() if isinstance(dataset, QuadSet) else to_ox_quads(dataset.quads((None, None, None, None)))
    store = ox.Store()
    store.bulk_extend(ox.Quad(q.subject, q.predicate, q.object) for q in quads)
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
    _locate(Assembly(locations=locations), report)
    return report


def validate_all(ctx: Context) -> Report:
    """Every facts file, checked as the build checks them, then the whole graph against the shapes."""
    from .build import BuildError, assemble, checked_facts

    try:
        facts = checked_facts(ctx.facts_dir, ctx.sources_dir, ctx.reference_path)
    except BuildError as exc:
        report = Report()
        for line in str(exc).splitlines():
            m = re.match(r"^(.*?):(\d+): (.*)$", line) or re.match(r"^(.*?): (.*)$", line)
            if m and len(m.groups()) == 3:
                report.extend([_facts_result(FactsError(m.group(1), int(m.group(2)), m.group(3)))])
            else:
                report.extend([_facts_result(FactsError(m.group(1) if m else "facts", 0, m.group(2) if m else line))])
        return report
    dataset, _ = assemble(facts, ctx.sources_dir, ctx.ontology_dir)
    return validate_dataset(dataset, facts, ctx.texts, ctx.shapes_dir)


def render(report: Report, fmt: str, min_severity: str) -> str:
    if fmt == "json":
        return format_json(report)
    if fmt == "turtle":
        return format_turtle(report)
    return format_text(report, min_severity)


# --- mrkg add -----------------------------------------------------------------------------------------------


def add_file(ctx: Context, path: Path, out: Path, *, replace_existing: bool = False) -> tuple[int, str, Report | None]:
    """Validate ``path``; only if it conforms and the graph builds with it, install it in facts/ and publish that
    build as ``out``, both at once (transaction.py): a kill at any moment leaves both as they were or both changed.

    Returns (exit code, message, report). On any failure facts/ and the published build are unchanged.
    """
    suffix = path.suffix.lower()
    if suffix in RDF_FORMATS:  # before reading it: a large Turtle file need not be parsed to be refused
        raise InputError(f"{ctx.rel(path)}: mrkg add takes a YAML facts file (facts/ is YAML); Turtle, TriG and "
                         "N-Triples can be validated with mrkg validate")
    with exclusive(out, waiting=lambda: print(f"waiting for another mrkg build or add on {out}", file=sys.stderr)):
        note = recover(out)
        if note:
            ctx = ctx.reloaded()
        code, message, report = _add_locked(ctx, path, out, replace_existing)
    return code, f"{note}\n{message}" if note else message, report


def _add_locked(ctx: Context, path: Path, out: Path, replace_existing: bool) -> tuple[int, str, Report | None]:
    from .build import BuildError, build_version

    change = read_change(ctx, path)
    dest = change.destination
    if dest.exists() and not replace_existing and dest.resolve() != path.resolve():
        raise InputError(f"{ctx.rel(dest)} exists: give --replace to replace it with {change.name}")
    report = validate_files(ctx, [path])
    if not report.conforms:
        return EXIT_VIOLATIONS, f"{change.name} does not conform; nothing was changed", report
    pause_point("add:validated")
    data = path.read_bytes()
    facts_before = _facts_state(ctx.facts_dir)
    version = new_version(out)
    try:
        # The new facts/ beside the old one, inside the version folder (so a killed add leaves nothing elsewhere).
        private_facts = version.partial / ".facts" / ctx.facts_dir.name
        shutil.copytree(ctx.facts_dir, private_facts, symlinks=True)
        (private_facts / dest.relative_to(ctx.facts_dir)).write_bytes(data)
        try:
            build_version(private_facts, ctx.ontology_dir, ctx.sources_dir, ctx.reference_path, out,
                          shapes_dir=ctx.shapes_dir, version=version)
        except BuildError as exc:
            discard(version)
            return EXIT_VIOLATIONS, f"the graph with {change.name} does not build; nothing was changed:\n{exc}", report
        shutil.rmtree(version.partial / ".facts")
        pause_point("add:built")
        if _facts_state(ctx.facts_dir) != facts_before:
            raise InputError(f"{ctx.rel(ctx.facts_dir)} changed while mrkg add ran; nothing was changed: run it again")
        journal = FileChange.of(dest, data, version.name)
    except BaseException:
        discard(version)
        raise
    hold_signals()  # from the journal on, the change is made: a stop signal waits for the command's end
    begin(out, journal)
    pause_point("add:journal")
    commit(out, journal, version)
    pause_point("add:done")
    return EXIT_CONFORMS, (f"added {change.name} as {ctx.rel(dest)} and published its build as {out}/ (a running "
                           "mrkg serve keeps serving the build it started with until it is restarted)"), report


def _facts_state(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


# --- the commands -------------------------------------------------------------------------------------------


def _common(f):
    options = [
        click.option("--facts", "facts_dir", default="facts", show_default=True, type=click.Path(path_type=Path),
                     help="Folder of the existing facts (the context new files are validated in)."),
        click.option("--ontology", "ontology_dir", default="ontology", show_default=True,
                     type=click.Path(path_type=Path), help="Folder of the ontology."),
        click.option("--shapes", "shapes_dir", default="shapes", show_default=True, type=click.Path(path_type=Path),
                     help="Folder of the SHACL shapes."),
        click.option("--sources", "sources_dir", default="../shared/sources", show_default=True,
                     envvar="MRKG_SOURCES", type=click.Path(path_type=Path),
                     help="Folder of the source texts quotes are checked against."),
        click.option("--reference", default="../shared/reference/identifiers.tsv", show_default=True,
                     envvar="MRKG_REFERENCE", type=click.Path(path_type=Path),
                     help="Reference identifiers table that mappings are checked against."),
        click.option("--cache/--no-cache", default=True, show_default=True,
                     help="Remember the parsed existing facts per file content (in $XDG_CACHE_HOME/mrkg)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@click.command("validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@_common
@click.option("--format", "fmt", type=click.Choice(["text", "json", "turtle"]), default="text", show_default=True,
              help="text: one line per result; json; turtle: the standard sh:ValidationReport.")
@click.option("--min-severity", type=click.Choice(["Violation", "Warning", "Info"], case_sensitive=False),
              default="Info", show_default=True, help="Least severe results the text report shows.")
def validate_command(files, facts_dir, ontology_dir, shapes_dir, sources_dir, reference, cache, fmt,
                     min_severity) -> None:
    """Validate FILES (YAML facts, Turtle, TriG, N-Triples) in the context of the graph; no FILES: all the facts.

    Changes nothing. Exit 0 conforms, 1 violations, 2 unusable input.
    """
    try:
        ctx = Context.load(facts_dir, ontology_dir, sources_dir, shapes_dir, reference,
                           default_cache_dir() if cache else None)
        report = validate_files(ctx, list(files)) if files else validate_all(ctx)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNUSABLE)
    click.echo(render(report, fmt, min_severity.capitalize()), nl=False)
    sys.exit(EXIT_CONFORMS if report.conforms else EXIT_VIOLATIONS)


@click.command("add")
@click.argument("file", type=click.Path(path_type=Path))
@_common
@click.option("--out", default="build", show_default=True, envvar="MRKG_BUILD_DIR", type=click.Path(path_type=Path),
              help="The published build, rebuilt after the file is added.")
@click.option("--replace", "replace_existing", is_flag=True, help="Replace an existing facts file of the same name.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "turtle"]), default="text", show_default=True,
              help="Format of the validation report.")
def add_command(file, facts_dir, ontology_dir, shapes_dir, sources_dir, reference, cache, out, replace_existing,
                fmt) -> None:
    """Validate FILE and, only if it conforms and the graph builds with it, put it in facts/ and rebuild.

    On any failure facts/ and the published build are unchanged. Exit 0 added, 1 refused, 2 unusable input.
    """
    try:
        with stoppable() as stopped:
            ctx = Context.load(facts_dir, ontology_dir, sources_dir, shapes_dir, reference,
                               default_cache_dir() if cache else None)
            code, message, report = add_file(ctx, file, out, replace_existing=replace_existing)
        if stopped:
            code, message = 128 + stopped[0], f"{message}; then stopped by {signal.Signals(stopped[0]).name}"
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNUSABLE)
    except (Terminated, KeyboardInterrupt) as exc:
        click.echo(f"mrkg add {'interrupted' if isinstance(exc, KeyboardInterrupt) else exc}; nothing was changed",
                   err=True)
        sys.exit(128 + getattr(exc, "signum", signal.SIGINT))
    if report is not None and (report.results or fmt != "text"):
        click.echo(render(report, fmt, "Info"), nl=False)
    click.echo(message, err=code != EXIT_CONFORMS)
    sys.exit(code)


__all__ = ["Context", "InputError", "add_file", "claims_from_graph", "validate_all", "validate_dataset",
           "validate_files"]
