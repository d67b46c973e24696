"""Conflicts and consensus on the real sources: every proposal decided, no known false alarm, the graph's conflict
and consensus nodes as the shapes and the decisions say."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from mrkg.build import checked_facts
from mrkg.conflicts import propose

REPO = Path(__file__).resolve().parents[1]
M = "https://w3id.org/mrkg/ontology/"


@pytest.fixture(scope="module")
def facts(sources_dir: Path, reference_tsv: Path):
    return checked_facts(REPO / "facts", sources_dir, reference_tsv)


@pytest.fixture(scope="module")
def store(build_dir: Path) -> ox.Store:
    store = ox.Store()
    store.load(path=str(build_dir / "mrkg.nq"), format=ox.RdfFormat.N_QUADS)
    return store


def _rows(store: ox.Store, query: str) -> list[tuple]:
    return [tuple(None if t is None else t.value for t in row) for row in store.query(
        "PREFIX mrkg: <https://w3id.org/mrkg/ontology/> PREFIX ent: <https://w3id.org/mrkg/entity/> " + query,
        use_default_graph_as_union=True)]


def test_every_proposal_on_the_sources_is_decided_by_a_curator(facts):
    proposals = propose(facts)
    assert proposals, "the detector finds the sources' disagreements"
    undecided = [c.id for c in proposals if c.id not in facts.decisions.decisions]
    assert undecided == [], "record a decision in facts/conflicts.yaml for each"
    assert facts.decisions.check(facts, proposals) == []


def test_agreeing_durations_and_a_denied_manner_are_never_proposed(facts):
    proposals = propose(facts)
    assert not [c.id for c in proposals if c.id.startswith("value--baclofen--hasDurationOfUse")], \
        "000's 'long-term' and 'months or years' agree with 003's 'months or years'"
    for conflict in proposals:
        if conflict.kind == "polarity" and not conflict.aspect:
            denials = [c for side in conflict.sides for c in side.claims if c.negated]
            assert all(c.enum_qualifiers.get("negation_scope", "statement") == "statement" for c in denials), \
                f"{conflict.id}: only a denial of the whole statement contradicts it"


def test_the_graph_holds_the_conflicts_not_dismissed_each_with_two_sides_of_different_sources(facts, store):
    decisions = facts.decisions.decisions
    kept = {i for i, d in decisions.items() if d.decision == "confirm"} | {a.id for a in facts.decisions.additions}
    in_graph = {row[0].rsplit("/", 1)[-1] for row in _rows(store, "SELECT ?c WHERE { ?c a mrkg:Conflict }")}
    assert in_graph == kept
    dismissed = {i for i, d in decisions.items() if d.decision == "dismiss"}
    assert not in_graph & dismissed
    one_sided = _rows(store, """SELECT ?c WHERE { ?c a mrkg:Conflict .
        FILTER NOT EXISTS { ?c mrkg:side ?a , ?b . FILTER (?a != ?b) } }""")
    assert one_sided == []


def test_the_consensus_view_answers_who_agrees_and_what_is_disputed_in_one_query_each(store):
    agreed = _rows(store, """SELECT ?s (COUNT(DISTINCT ?src) AS ?n) WHERE {
        ?s a mrkg:Statement ; mrkg:statementSubject ent:baclofen ; mrkg:agreement mrkg:Agreed ; mrkg:affirmedBy ?src }
        GROUP BY ?s""")
    assert agreed and all(int(n) >= 2 for _, n in agreed)
    disputed = _rows(store, """SELECT ?s ?c WHERE { ?s a mrkg:Statement ; mrkg:agreement mrkg:Disputed ;
        mrkg:disputedBy ?c . ?c a mrkg:Conflict }""")
    conflicts = {row[0] for row in _rows(store, "SELECT ?c WHERE { ?c a mrkg:Conflict }")}
    assert {c for _, c in disputed} == conflicts, "every conflict disputes a statement, and only conflicts do"


def test_a_claim_that_the_evidence_is_lacking_gets_no_plain_triple(store):
    # 002: "No evidence supports chronic use of cyclobenzaprine for musculoskeletal pain" is an affirmed efficacy
    # claim graded no evidence; graph:asserted must not say cyclobenzaprine is effective for it on that ground.
    graded = _rows(store, """SELECT ?s ?o WHERE { ?c mrkg:predicate mrkg:isEffectiveFor ; mrkg:polarity mrkg:Affirmed ;
        mrkg:evidenceGrade ?g ; mrkg:subject ?s ; mrkg:object ?o . FILTER (?g IN (mrkg:NoEvidence, mrkg:WeakEvidence))
        FILTER NOT EXISTS { ?other mrkg:predicate mrkg:isEffectiveFor ; mrkg:polarity mrkg:Affirmed ; mrkg:subject ?s ;
                            mrkg:object ?o . FILTER NOT EXISTS { ?other mrkg:evidenceGrade mrkg:NoEvidence }
                            FILTER NOT EXISTS { ?other mrkg:evidenceGrade mrkg:WeakEvidence } } }""")
    assert graded, "the sources have such claims"
    for s, o in graded:
        asked = store.query(f"ASK {{ GRAPH <https://w3id.org/mrkg/graph/asserted> "
                            f"{{ <{s}> <https://w3id.org/mrkg/ontology/isEffectiveFor> <{o}> }} }}")
        assert not bool(asked), (s, o)
