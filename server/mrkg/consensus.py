"""The consensus view: for each statement the sources make, which sources affirm, negate or hedge it, the values
each gives, and whether (and how badly) it is disputed. Derived at build time into graph:consensus.

A statement is a subject, a grouping relation (``mrkg:hasAdverseOutcome``, ``mrkg:hasUse``, or the claims' own
relation) and an object; for the single-valued relations (doses, durations) it is the subject, the relation
and which value ("starting dose"). Claims that deny only a manner, comparison or degree support the statement
node but count neither as affirming nor as negating it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from rdflib import Literal, Namespace
from rdflib.namespace import RDF, RDFS, XSD

from .conflicts import SEVERITIES, SEVERITY_RANK, SINGLE_VALUED, Conflict, Context, _topic, group_of, hedged, scope
from .facts import Claim, Facts
from .namespaces import BASE, CONFLICT, ENT, GRAPH, MRKG, SRC
from .rdf import claim_iri

STATEMENT = Namespace(BASE + "statement/")
GRAPH_CONSENSUS = GRAPH["consensus"]


@dataclass
class Statement:
    subject: str
    predicate: str
    object: str | None
    aspect: str
    claims: list[Claim] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def id(self) -> str:
        topic = self.object or re.sub(r"[^a-z0-9]+", "-", self.aspect.casefold()).strip("-")
        return f"{self.subject}--{self.predicate}--{topic}"

    def sources(self, which: str) -> list[str]:
        per: dict[str, list[Claim]] = defaultdict(list)
        for c in self.claims:
            per[c.source_id].append(c)
        if which == "all":
            return sorted(per)
        if which == "affirmed":
            return sorted(s for s, cs in per.items() if any(not c.negated for c in cs))
        if which == "negated":
            return sorted(s for s, cs in per.items() if any(c.negated and scope(c) == "statement" for c in cs))
        if which == "hedged":
            affirmed = [s for s, cs in per.items() if any(not c.negated for c in cs)]
            return sorted(s for s in affirmed if all(hedged(c) for c in per[s] if not c.negated))
        raise ValueError(which)

    @property
    def agreement(self) -> str:
        if self.conflicts:
            return "Disputed"
        return "Agreed" if len(self.sources("all")) > 1 else "SingleSource"

    @property
    def worst(self) -> str | None:
        if not self.conflicts:
            return None
        return max((c.severity for c in self.conflicts), key=SEVERITY_RANK.__getitem__)


def statements(facts: Facts, conflicts: list[Conflict]) -> list[Statement]:
    found: dict[tuple, Statement] = {}
    for claim in facts.claims():
        if not claim.kind:
            continue
        if claim.object is not None:
            key = (claim.subject, group_of(claim.predicate), claim.object, "")
        elif claim.kind in SINGLE_VALUED:
            dose_type = claim.enum_qualifiers.get("dose_type")
            aspect = f"{dose_type} dose" if claim.kind == "dose" and dose_type else SINGLE_VALUED[claim.kind]
            key = (claim.subject, claim.predicate, None, aspect)
        else:
            key = (claim.subject, claim.predicate, None, claim.kind)
        found.setdefault(key, Statement(*key)).claims.append(claim)
    by_claim: dict[str, list[Statement]] = defaultdict(list)
    for statement in found.values():
        for claim in statement.claims:
            by_claim[claim.full_id].append(statement)
    for conflict in conflicts:
        touched = {id(s): s for c in conflict.claims for s in by_claim.get(c.full_id, ())}
        for statement in touched.values():
            statement.conflicts.append(conflict)
    return sorted(found.values(), key=lambda s: s.id)


def _values(claim: Claim) -> list[str]:
    out = []
    if claim.value is not None:
        out.append(claim.value.text)
    for value in claim.values.values():
        out.append(value.text)
    return out


def add_consensus(ds, facts: Facts, conflicts: list[Conflict], ctx: Context | None = None) -> list[Statement]:
    ctx = ctx or Context(facts)
    g = ds.graph(GRAPH_CONSENSUS)
    made = statements(facts, conflicts)
    for st in made:
        node = STATEMENT[st.id]
        g.add((node, RDF.type, MRKG.Statement))
        g.add((node, RDFS.label, Literal(_topic(ctx, st.subject, st.predicate, st.object, st.aspect))))
        g.add((node, MRKG.statementSubject, ENT[st.subject]))
        g.add((node, MRKG.statementPredicate, MRKG[st.predicate]))
        if st.object:
            g.add((node, MRKG.statementObject, ENT[st.object]))
        else:
            g.add((node, MRKG.statementAspect, Literal(st.aspect)))
        for claim in st.claims:
            g.add((node, MRKG.supportingClaim, claim_iri(claim)))
            for text in _values(claim):
                g.add((node, MRKG.valueGiven, Literal(f"{claim.source_id}: {text}")))
        for which, prop in (("affirmed", MRKG.affirmedBy), ("negated", MRKG.negatedBy), ("hedged", MRKG.hedgedBy)):
            for source_id in st.sources(which):
                g.add((node, prop, SRC[source_id]))
        g.add((node, MRKG.sourceCount, Literal(len(st.sources("all")), datatype=XSD.integer)))
        g.add((node, MRKG.agreement, MRKG[st.agreement]))
        for conflict in st.conflicts:
            g.add((node, MRKG.disputedBy, CONFLICT[conflict.id]))
        if st.worst:
            g.add((node, MRKG.worstSeverity, MRKG[SEVERITIES[st.worst]]))
    return made
