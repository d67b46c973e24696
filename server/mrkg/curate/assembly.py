"""Assembly: the small data graph a change is validated against -- its own triples plus the triples of the graph it
touches (the entities it names, its source and that source's text, the claims it may duplicate or contradict, the
claims that keep an entity from being an orphan)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF

from ..conflicts import add_conflicts, find_conflicts, load_decisions
from ..facts import (Claim, Facts, FactsError, Source, check_cue_quotes, check_mappings, check_meaning, check_quotes,
                     check_references)
from ..lexicon import load_lexicon
from ..model import ENTITY_QUALIFIERS
from ..namespaces import ENT, MRKG, SRC
from ..rdf import add_claim, add_entities, add_source, claim_iri
from ..shacl import MRKGSH_TEXT, Report
from ..sources import SourceText
from .context import Context, FactsIndex, _Overlay, _schema_triples
from .intake import Change
from .rdf_claims import claims_from_graph
from .report import _facts_result


ROLES = ("subject", "object", *(prop for prop, _ in ENTITY_QUALIFIERS.values()))


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


def _claim_spans(source: Source) -> list[tuple[int, Claim | None]]:
    """Where each claim item starts, with its claim (None for an item the reader could not make a claim of)."""
    by_line = {c.line: c for c in source.claims}
    lines = sorted(set(source.claim_lines) | set(by_line))
    return [(line, by_line.get(line)) for line in lines]


def _claim_at(spans: list[tuple[int, Claim | None]], line: int) -> tuple[int, Claim | None]:
    """The claim item ``line`` is in: (its first line, its claim or None); (0, None) before the first."""
    found: tuple[int, Claim | None] = (0, None)
    for start, claim in spans:
        if start <= line:
            found = (start, claim)
        else:
            break
    return found


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
        named += [("dueTo", v) for v in claim.due_to]
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


def _conflicts_of(facts: Facts, index: FactsIndex, new_claims: set, facts_dir: Path | None = None) -> list:
    """The candidate conflicts the new claims take part in, by the build's own detector, run on the claims about the
    same subjects only (every conflict rule compares claims of one subject); the proposals curators have dismissed
    (facts/conflicts.yaml) are left out, as the build leaves them out."""
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
    dismissed = set()
    if facts_dir is not None:
        decisions, _ = load_decisions(facts_dir / "conflicts.yaml", "facts/conflicts.yaml")
        dismissed = {i for i, d in decisions.decisions.items() if d.decision == "dismiss"}
    return [c for c in find_conflicts(Facts(facts.dataset, facts.entities, scope))
            if c.id not in dismissed and any(claim_iri(x) in new_claims for x in c.claims)]


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
    same_entities = not any(change.kind == "entities" for change in changes)
    for change in changes:
        if change.kind == "source":
            _assemble_source(ctx, change, merged, asm, touched_entities, new_claims, same_entities)
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
    conflicts = _conflicts_of(merged, ctx.index, new_claims, ctx.facts_dir)
    ds = Dataset()
    add_conflicts(ds, conflicts)
    asm.add_all((s, p, o) for s, p, o, _ in ds.quads((None, None, None, None)))
    return asm


def _assemble_source(ctx: Context, change: Change, merged: Facts, asm: Assembly, touched: set[str],
                     new_claims: set[str], same_entities: bool = False) -> None:
    source = change.source
    scope = Facts(merged.dataset, merged.entities, {source.id: source})
    errors = list(change.errors)
    if same_entities:  # the entities are the context's: what their links hold was found once for this facts folder
        errors.extend(ctx.index.link_errors(ctx.facts))
    check_references(scope, errors, entity_links=not same_entities)
    check_quotes(scope, ctx.texts, errors)
    check_cue_quotes(scope, ctx.texts, errors)
    check_meaning(scope, load_lexicon(ctx.ontology_dir), errors)  # the cue lexicons and lints, as the build checks them
    spans = _claim_spans(source)
    first_claim_line = spans[0][0] if spans else 10**9
    bad: set[str] = set()
    source_level = False
    for error in errors:
        start, claim = _claim_at(spans, error.line) if error.file == change.name else (0, None)
        if claim is not None:
            bad.add(claim.id)
        elif error.file == change.name and error.line < first_claim_line:
            source_level = True
        about = f"claim {claim.full_id}" if claim else f"the claim at line {start}" if start else ""
        asm.report.extend([_facts_result(error, about)])
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
        touched.update(claim.entity_ids())
    old = ctx.facts.sources.get(source.id)
    if old is not None:  # entities only the replaced version named may now be orphans: validate them too
        still = set(_references(Facts(merged.dataset, merged.entities, {source.id: source})))
        for claim in old.claims:
            for entity_id in claim.entity_ids():
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
                  if set(c.entity_ids()) & affected]
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

