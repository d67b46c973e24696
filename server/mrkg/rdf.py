"""Facts to RDF: claim nodes with provenance per source graph, entities, mappings, and the asserted layer."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Iterator

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from .facts import Claim, Entity, Facts, Source, Value
from .model import (DOCUMENT_TYPES, ENTITY_QUALIFIERS, ENTITY_TYPES, ENUM_QUALIFIERS, KINDS, MATCH_RELATIONS,
                    STATISTIC_TYPES, TEXT_QUALIFIERS, VALUE_PROPERTY, VALUE_SHAPES, groups_of)
from . import namespaces
from .namespaces import (ACTIVITY, AGENT, CLAIM, ECO_AUTHOR_STATEMENT, GRAPH_AGENTS, GRAPH_ASSERTED,
                         GRAPH_ENTITIES, GRAPH_MAPPINGS, GRAPH_ONTOLOGY, MAPPING, OBO, PREFIXES, source_graph)
from .sources import SourceText

from .model import VALUE_BOUNDS  # issue 15: value bounds


class _Terms:
    """A namespace whose terms are made once: rdflib makes and checks a new URIRef on every ``NS.name`` or
    ``NS[name]`` (about a microsecond, tens of times per claim)."""

    def __init__(self, namespace) -> None:
        self._namespace = namespace
        self._items: dict[str, URIRef] = {}

    def __getattr__(self, name: str) -> URIRef:
        if name.startswith("__"):
            raise AttributeError(name)
        term = getattr(self._namespace, name)
        setattr(self, name, term)
        return term

    def __getitem__(self, name: str) -> URIRef:
        term = self._items.get(name)
        if term is None:
            term = self._items[name] = self._namespace[name]
        return term


MRKG, ENT, SRC, OA = (_Terms(ns) for ns in (namespaces.MRKG, namespaces.ENT, namespaces.SRC, namespaces.OA))
DCTERMS, PROV, RDF, RDFS, SKOS, XSD = (_Terms(ns) for ns in (DCTERMS, PROV, RDF, RDFS, SKOS, XSD))

# Reference-table scheme -> compact prefix (Bioregistry style) and, for OBO schemes, the PURL form.
SCHEME_PREFIX = {
    "DrugBank": "drugbank", "ChEBI": "CHEBI", "RxNorm (RXCUI)": "rxnorm", "ATC": "atc", "MeSH": "mesh",
    "UMLS CUI": "umls", "PubChem CID": "pubchem.compound", "Wikidata": "wikidata", "HPO": "HP",
    "MONDO": "MONDO", "DOID": "DOID", "UniProt": "uniprot", "NCIt": "NCIT", "UBERON": "UBERON",
}
OBO_SCHEMES = {"ChEBI", "HPO", "MONDO", "DOID", "UBERON"}


class QuadGraph:
    """One named graph of a QuadSet: its triples in the order they were first added, each once."""

    def __init__(self, identifier: URIRef) -> None:
        self.identifier = identifier
        self._triples: dict[tuple[Node, Node, Node], None] = {}

    def add(self, triple: tuple[Node, Node, Node]) -> "QuadGraph":
        self._triples[triple] = None
        return self

    def parse(self, source, format: str = "turtle") -> "QuadGraph":
        for triple in Graph().parse(source, format=format):
            self.add(triple)
        return self

    def __iter__(self) -> Iterator[tuple[Node, Node, Node]]:
        return iter(self._triples)

    def __len__(self) -> int:
        return len(self._triples)

    def discard(self, triple: tuple[Node, Node, Node]) -> None:
        self._triples.pop(triple, None)


class QuadSet:
    """A built dataset as plain quads of rdflib terms: the calls of rdflib's Dataset the build makes
    (``graph(iri).add(triple)``, ``quads()``), without its three indexes per triple, which the build never reads
    and which cost about 25 microseconds a triple (minutes at a million triples)."""

    def __init__(self) -> None:
        self._graphs: dict[URIRef, QuadGraph] = {}
        self._ox: list[ox.Quad] | None = None

    def graph(self, identifier: URIRef) -> QuadGraph:
        self._ox = None
        graph = self._graphs.get(identifier)
        if graph is None:
            graph = self._graphs[identifier] = QuadGraph(URIRef(identifier))
        return graph

    def graphs(self) -> list[QuadGraph]:
        return list(self._graphs.values())

    def quads(self, pattern: tuple = (None, None, None, None)) -> Iterator[tuple[Node, Node, Node, URIRef]]:
        """Every (s, p, o, graph IRI) matching ``pattern`` (None matches anything)."""
        s0, p0, o0, g0 = pattern
        for name, graph in self._graphs.items():
            if g0 is not None and name != getattr(g0, "identifier", g0):
                continue
            for s, p, o in graph:
                if (s0 is None or s == s0) and (p0 is None or p == p0) and (o0 is None or o == o0):
                    yield s, p, o, name

    def __len__(self) -> int:
        return sum(len(g) for g in self._graphs.values())

    def converted(self) -> bool:
        """Whether ox_quads() has its list already (and no quad was added since)."""
        return self._ox is not None

    def ox_quads(self) -> list[ox.Quad]:
        """The quads as pyoxigraph terms, converted once (each distinct term once)."""
        if self._ox is None:
            self._ox = to_ox_quads(self.quads())
        return self._ox


class OxTerms:
    """rdflib terms to pyoxigraph terms, each distinct term converted once."""

    def __init__(self) -> None:
        self._seen: dict[Node, object] = {}

    def __call__(self, node: Node):
        term = self._seen.get(node)
        if term is None:
            term = self._seen[node] = _to_ox(node)
        return term


def _to_ox(node: Node):
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    if node.language:
        return ox.Literal(str(node), language=node.language)
    return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype or XSD.string)))


def iter_ox_quads(quads: Iterable[tuple], graphs: bool = True) -> Iterator[ox.Quad]:
    """``to_ox_quads`` one quad at a time (to fill a store without a list of them); without ``graphs``, each in the
    default graph."""
    term = OxTerms()
    names: dict[str, ox.NamedNode] = {}
    for s, p, o, g in quads:
        if not graphs:
            yield ox.Quad(term(s), term(p), term(o))
            continue
        name = str(getattr(g, "identifier", g))
        graph = names.get(name)
        if graph is None:
            graph = names[name] = ox.NamedNode(name)
        yield ox.Quad(term(s), term(p), term(o), graph)


def to_ox_quads(quads: Iterable[tuple]) -> list[ox.Quad]:
    """(s, p, o, graph) of rdflib terms (the graph an IRI or a Graph) as pyoxigraph quads, in the same order."""
    term = OxTerms()
    graphs: dict[str, ox.NamedNode] = {}
    out = []
    for s, p, o, g in quads:
        name = str(getattr(g, "identifier", g))
        graph = graphs.get(name)
        if graph is None:
            graph = graphs[name] = ox.NamedNode(name)
        out.append(ox.Quad(term(s), term(p), term(o), graph))
    return out


def bind_prefixes(graph: Graph) -> None:
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)


def canonical_decimal(number: Decimal) -> str:
    """The XSD canonical form: a point with a digit on each side, no superfluous zeros ("15.0", "1.2")."""
    text = format(number.normalize(), "f")
    if "." not in text:
        return text + ".0"
    text = text.rstrip("0")
    return text + "0" if text.endswith(".") else text


def _decimal(number: Decimal) -> Literal:
    return Literal(canonical_decimal(number), datatype=XSD.decimal)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def compact_id(scheme: str, ident: str) -> str:
    prefix = SCHEME_PREFIX.get(scheme, _slug(scheme))
    if ":" in ident and ident.split(":", 1)[0].upper() == prefix.upper():
        return ident
    return f"{prefix}:{ident}"


def obo_iri(scheme: str, ident: str) -> URIRef | None:
    if scheme not in OBO_SCHEMES or ":" not in ident:
        return None
    prefix, local = ident.split(":", 1)
    return OBO[f"{prefix}_{local}"]


def claim_iri(claim: Claim) -> URIRef:
    return CLAIM[claim.full_id]


def add_entities(ds: Dataset | QuadSet, facts: Facts) -> None:
    g = ds.graph(GRAPH_ENTITIES)
    for entity_id in sorted(facts.entities):
        entity = facts.entities[entity_id]
        node = ENT[entity.id]
        g.add((node, RDF.type, MRKG[ENTITY_TYPES[entity.type]]))
        g.add((node, RDFS.label, Literal(entity.label)))
        g.add((node, SKOS.prefLabel, Literal(entity.label)))
        for synonym in entity.synonyms:
            g.add((node, SKOS.altLabel, Literal(synonym)))
        if entity.note:
            g.add((node, SKOS.scopeNote, Literal(entity.note)))
        for broader in entity.broader:
            g.add((node, SKOS.broader, ENT[broader]))
        for whole in entity.part_of:
            g.add((node, MRKG.partOf, ENT[whole]))
    add_mappings(ds, facts)


def add_mappings(ds: Dataset | QuadSet, facts: Facts) -> None:
    g = ds.graph(GRAPH_MAPPINGS)
    for entity_id in sorted(facts.entities):
        entity: Entity = facts.entities[entity_id]
        for mapping in entity.mappings:
            compact = compact_id(mapping.scheme, mapping.id)
            node = MAPPING[f"{entity.id}--{_slug(compact)}"]
            relation = SKOS[MATCH_RELATIONS[mapping.match]]
            g.add((node, RDF.type, MRKG.Mapping))
            g.add((node, RDFS.label, Literal(f"{entity.label} {MATCH_RELATIONS[mapping.match]} {compact}")))
            g.add((node, MRKG.mappedEntity, ENT[entity.id]))
            g.add((node, MRKG.scheme, Literal(mapping.scheme)))
            g.add((node, MRKG.externalId, Literal(mapping.id)))
            g.add((node, MRKG.mappingRelation, relation))
            g.add((node, MRKG.mappingEvidence, Literal(mapping.evidence)))
            g.add((ENT[entity.id], MRKG.xref, Literal(compact)))
            iri = obo_iri(mapping.scheme, mapping.id)
            if iri is not None:
                g.add((node, SKOS.notation, Literal(mapping.id)))
                g.add((ENT[entity.id], relation, iri))


def add_source(ds: Dataset | QuadSet, facts: Facts, source: Source, text: SourceText) -> None:
    g = ds.graph(source_graph(source.id))
    node = SRC[source.id]
    g.add((node, RDF.type, MRKG.Source))
    g.add((node, RDF.type, PROV.Entity))
    g.add((node, RDFS.label, Literal(source.title)))
    g.add((node, DCTERMS.title, Literal(source.title)))
    g.add((node, DCTERMS.identifier, Literal(source.id)))
    g.add((node, MRKG.fileName, Literal(source.file_name)))
    g.add((node, MRKG.sha256, Literal(text.sha256)))
    g.add((node, DCTERMS["format"], Literal("text/plain")))
    g.add((node, MRKG.documentType, MRKG[DOCUMENT_TYPES[source.document_type]]))
    if source.publisher:
        g.add((node, DCTERMS.publisher, Literal(source.publisher)))
    if source.reviewer:
        g.add((node, MRKG.reviewer, Literal(source.reviewer)))
    if source.review_status:
        g.add((node, MRKG.reviewStatus, Literal(source.review_status)))
    date_property = {"created": DCTERMS.created, "modified": DCTERMS.modified, "reviewed": MRKG.reviewDate}
    for stated in source.dates:
        g.add((node, date_property[stated.kind], Literal(stated.date.isoformat(), datatype=XSD.date)))
        g.add((node, MRKG.statedDateText, Literal(stated.text)))
    activity = ACTIVITY[f"extraction-{source.id}"]
    agent = AGENT[_slug(source.extracted_by)]
    g.add((activity, RDF.type, PROV.Activity))
    g.add((activity, RDFS.label, Literal(f"extraction of the claims of source {source.id}")))
    g.add((activity, PROV.used, node))
    g.add((activity, PROV.wasAssociatedWith, agent))
    g.add((activity, DCTERMS.date, Literal(source.extracted_on.isoformat(), datatype=XSD.date)))
    g.add((agent, RDF.type, PROV.Agent))
    g.add((agent, RDFS.label, Literal(source.extracted_by)))
    for claim in source.claims:
        add_claim(g, facts, source, claim, text, activity)


def _label_of(facts: Facts, entity_id: str) -> str:
    entity = facts.entities.get(entity_id)
    return entity.label if entity else entity_id


def add_value(g: Graph, node: URIRef, value: Value) -> None:
    shape = VALUE_SHAPES[value.shape]
    g.add((node, RDF.type, MRKG[shape.rdf_class]))
    g.add((node, RDF.type, MRKG.Value))
    g.add((node, RDFS.label, Literal(value.text)))
    g.add((node, MRKG.originalText, Literal(value.text)))
    names = {"min": MRKG.minValue, "max": MRKG.maxValue, "amount": MRKG.amount, "times_per_day": MRKG.timesPerDay,
             "daily_total": MRKG.dailyTotal, "estimate": MRKG.estimate, "ci_lower": MRKG.ciLower,
             "ci_upper": MRKG.ciUpper, "ci_level": MRKG.ciLevel}
    for key in sorted(value.numbers):
        g.add((node, names[key], _decimal(value.numbers[key])))
    if value.unit:
        g.add((node, MRKG.unit, Literal(value.unit)))
    if value.term:
        g.add((node, MRKG.frequencyTerm, Literal(value.term)))
    if value.max_exclusive:
        g.add((node, MRKG.maxExclusive, Literal(True)))
    if value.statistic_type:
        g.add((node, MRKG.statisticType, MRKG[STATISTIC_TYPES[value.statistic_type]]))
    if value.bound:
        g.add((node, MRKG.bound, MRKG[VALUE_BOUNDS[value.bound]]))
    if value.approximate:
        g.add((node, MRKG.approximate, Literal(True)))
    derived = derived_daily_total(value)
    if derived is not None:
        g.add((node, MRKG.derivedDailyTotal, _decimal(derived)))


def derived_daily_total(value: Value) -> Decimal | None:
    """amount x times per day, for a dose whose daily total the source does not state."""
    if value.shape != "dose" or "daily_total" in value.numbers:
        return None
    amount, times = value.numbers.get("amount"), value.numbers.get("times_per_day")
    return amount * times if amount is not None and times is not None else None


def add_claim(g: Graph, facts: Facts, source: Source, claim: Claim, text: SourceText, activity: URIRef) -> None:
    kind = KINDS[claim.kind]
    node = claim_iri(claim)
    span = text.locate(claim.quote, claim.occurrence)
    assert span is not None, f"quote of {claim.full_id} was checked before"
    g.add((node, RDF.type, MRKG.Claim))
    g.add((node, RDF.type, MRKG[kind.claim_class]))
    g.add((node, DCTERMS.identifier, Literal(claim.full_id)))
    g.add((node, MRKG.subject, ENT[claim.subject]))
    g.add((node, MRKG.predicate, MRKG[claim.predicate]))
    for group in groups_of(claim.predicate):
        g.add((node, MRKG.predicateGroup, MRKG[group]))
    if claim.object is not None:
        g.add((node, MRKG.object, ENT[claim.object]))
        object_label = _label_of(facts, claim.object)
    else:
        assert claim.value is not None
        value_node = URIRef(f"{node}/{claim.value.shape}")
        add_value(g, value_node, claim.value)
        g.add((node, MRKG.object, value_node))
        object_label = claim.value.text
    predicate_words = re.sub(r"(?<!^)([A-Z])", r" \1", claim.predicate).lower()
    label = f"{_label_of(facts, claim.subject)} {predicate_words} {object_label}"
    g.add((node, RDFS.label, Literal(("NOT: " if claim.negated else "") + label)))
    g.add((node, MRKG.polarity, MRKG.Negated if claim.negated else MRKG.Affirmed))
    g.add((node, MRKG.certainty, MRKG.Hedged if claim.hedge else MRKG.Stated))
    add_cues(g, node, claim)
    if claim.comparator_unstated:
        g.add((node, MRKG.comparatorUnstated, Literal(True)))
    for entity_id in claim.due_to:
        g.add((node, MRKG.dueTo, ENT[entity_id]))
    g.add((node, MRKG.quote, Literal(span.exact)))
    if claim.subject_text:
        g.add((node, MRKG.subjectText, Literal(claim.subject_text)))
    if claim.object_text:
        g.add((node, MRKG.objectText, Literal(claim.object_text)))
    for key, entity_id in sorted(claim.entity_qualifiers.items()):
        g.add((node, MRKG[ENTITY_QUALIFIERS[key][0]], ENT[entity_id]))
    for key, choice in sorted(claim.enum_qualifiers.items()):
        prop, choices = ENUM_QUALIFIERS[key]
        g.add((node, MRKG[prop], MRKG[choices[choice]]))
    for key, words in sorted(claim.text_qualifiers.items()):
        g.add((node, MRKG[TEXT_QUALIFIERS[key]], Literal(words)))
    if claim.serious is not None:
        g.add((node, MRKG.isSerious, Literal(claim.serious)))
    for key, value in sorted(claim.values.items()):
        value_node = URIRef(f"{node}/{key.replace('_', '-')}")
        add_value(g, value_node, value)
        g.add((node, MRKG[VALUE_PROPERTY[key]], value_node))
    if claim.note:
        g.add((node, MRKG.curatorNote, Literal(claim.note)))
    g.add((node, PROV.wasDerivedFrom, SRC[source.id]))
    g.add((node, PROV.wasGeneratedBy, activity))
    g.add((node, MRKG.evidenceType, ECO_AUTHOR_STATEMENT))
    annotation, target = URIRef(f"{node}/annotation"), URIRef(f"{node}/target")
    quote_selector, position_selector = URIRef(f"{node}/quote-selector"), URIRef(f"{node}/position-selector")
    g.add((node, MRKG.annotation, annotation))
    g.add((annotation, RDF.type, OA.Annotation))
    g.add((annotation, OA.hasBody, node))
    g.add((annotation, OA.motivatedBy, OA.describing))
    g.add((annotation, OA.hasTarget, target))
    g.add((target, RDF.type, OA.SpecificResource))
    g.add((target, OA.hasSource, SRC[source.id]))
    g.add((target, OA.hasSelector, quote_selector))
    g.add((target, OA.hasSelector, position_selector))
    g.add((quote_selector, RDF.type, OA.TextQuoteSelector))
    g.add((quote_selector, OA.exact, Literal(span.exact)))
    g.add((quote_selector, OA.prefix, Literal(span.prefix)))
    g.add((quote_selector, OA.suffix, Literal(span.suffix)))
    g.add((position_selector, RDF.type, OA.TextPositionSelector))
    g.add((position_selector, OA.start, Literal(span.start, datatype=XSD.nonNegativeInteger)))
    g.add((position_selector, OA.end, Literal(span.end, datatype=XSD.nonNegativeInteger)))


def cue_types(claim: Claim, field_name: str) -> list[str]:
    """The cue type concepts of a claim's cue field: as the build's check found them, else from the lexicon."""
    if field_name in claim.cue_types:
        return claim.cue_types[field_name]
    from .lexicon import load_lexicon

    return [str(t) for t in load_lexicon().cue_types(field_name, claim.cues[field_name])]


def add_cues(g: Graph, node: URIRef, claim: Claim) -> None:
    """Each cue field: the source's words and the type concept(s) of the lexicon entries they contain."""
    from .lexicon import CUE_FIELDS, CUE_TEXT_PROPERTY

    for key, words in sorted(claim.cues.items()):
        g.add((node, MRKG[CUE_TEXT_PROPERTY[key]], Literal(words)))
        type_property = CUE_FIELDS[key][1]
        if type_property:
            for concept in cue_types(claim, key):
                g.add((node, MRKG[type_property], URIRef(concept)))


def read_meaning(graph: Graph, node: URIRef, claim: Claim) -> Claim:
    """The inverse of add_cues and the other meaning fields, for RDF read back into a Claim (curator input):
    cues and their type concepts, negation scope and use status, manner and conditional words, due_to and
    comparator_unstated. Values: read_value_form."""
    from .lexicon import CUE_FIELDS, CUE_TEXT_PROPERTY

    for key, text_property in CUE_TEXT_PROPERTY.items():
        words = graph.value(node, MRKG[text_property])
        if words is not None:
            claim.cues[key] = str(words)
            type_property = CUE_FIELDS[key][1]
            if type_property:
                claim.cue_types[key] = sorted(str(t) for t in graph.objects(node, MRKG[type_property]))
    claim.hedge = claim.cues.get("hedge")
    for key, prop in TEXT_QUALIFIERS.items():
        words = graph.value(node, MRKG[prop])
        if words is not None:
            claim.text_qualifiers[key] = str(words)
    for key, (prop, choices) in ENUM_QUALIFIERS.items():
        value = graph.value(node, MRKG[prop])
        names = {MRKG[v]: k for k, v in choices.items()}
        if value in names:
            claim.enum_qualifiers[key] = names[value]
    claim.due_to = sorted(str(o).removeprefix(str(namespaces.ENT)) for o in graph.objects(node, MRKG.dueTo))
    claim.comparator_unstated = graph.value(node, MRKG.comparatorUnstated) == Literal(True)
    return claim


def read_value_form(graph: Graph, node: URIRef, value: Value) -> Value:
    """A value's bound and approximate flag, read back from RDF (the inverse of add_value's)."""
    bounds = {MRKG[v]: k for k, v in VALUE_BOUNDS.items()}
    value.bound = bounds.get(graph.value(node, MRKG.bound))
    value.approximate = graph.value(node, MRKG.approximate) == Literal(True)
    return value


WEAK_GRADES = ("WeakEvidence", "NoEvidence")


def _weak_evidence(claim: Claim) -> bool:
    """An affirmed claim graded weak or no evidence ("little evidence they help", "No evidence supports...") says
    the evidence is lacking, not that the statement holds: it gets no plain triple."""
    return any(str(t).rsplit("/", 1)[-1] in WEAK_GRADES for t in claim.cue_types.get("evidence_level", ()))


def add_asserted(ds: Dataset | QuadSet, facts: Facts) -> None:
    """The plain layer: for every affirmed claim (but those graded weak or no evidence), the direct triple (derived,
    never edited), and the triple of
    each grouping super-property of its predicate (mrkg:hasAdverseOutcome, mrkg:hasUse)."""
    g = ds.graph(GRAPH_ASSERTED)
    for claim in facts.claims():
        if claim.negated or _weak_evidence(claim):
            continue
        obj = ENT[claim.object] if claim.object is not None else URIRef(f"{claim_iri(claim)}/{claim.value.shape}")
        g.add((ENT[claim.subject], MRKG[claim.predicate], obj))
        for group in groups_of(claim.predicate):  # the grouping super-property, materialised (no inference needed)
            g.add((ENT[claim.subject], MRKG[group], obj))


def add_ontology(ds: Dataset | QuadSet, ontology_dir: Path) -> None:
    g = ds.graph(GRAPH_ONTOLOGY)
    for path in sorted(ontology_dir.glob("*.ttl")):
        g.parse(path, format="turtle")


def build_dataset(facts: Facts, texts: dict[str, SourceText], ontology_dir: Path) -> QuadSet:
    ds = QuadSet()
    add_ontology(ds, ontology_dir)
    add_entities(ds, facts)
    for source_id in sorted(facts.sources):
        source = facts.sources[source_id]
        add_source(ds, facts, source, texts[source.file_name])
    gather_agents(ds)
    add_asserted(ds, facts)
    return ds


def gather_agents(ds: QuadSet) -> None:
    """An agent extracts the claims of several sources: its type and label go once into graph:agents instead of
    into every source graph, so that the union of the graphs (the endpoint's default graph) holds no triple twice.
    The source graphs keep which agent each extraction was associated with."""
    agents = ds.graph(GRAPH_AGENTS)
    for graph in ds.graphs():
        if graph is agents or not str(graph.identifier).startswith(str(source_graph(""))):
            continue
        for s, p, o in [t for t in graph if t[1] == RDF.type and t[2] == PROV.Agent]:
            for triple in [t for t in graph if t[0] == s and (t[1] == RDF.type and t[2] == PROV.Agent
                                                              or t[1] == RDFS.label)]:
                graph.discard(triple)
                agents.add(triple)


__all__ = ["build_dataset", "bind_prefixes", "claim_iri", "derived_daily_total", "OWL", "QuadSet", "OxTerms",
           "read_meaning", "read_value_form", "to_ox_quads"]
