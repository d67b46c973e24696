"""Conflict detection: pairs a careful reader flags are flagged, agreeing pairs are not; curators' decisions;
the consensus view. Claims are built in memory (the real sources are covered by test_conflicts_real.py)."""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from decimal import Decimal

import pytest
from rdflib import Dataset

from mrkg.conflicts import add_conflicts, declared, find_conflicts, load_decisions, propose
from mrkg.consensus import GRAPH_CONSENSUS, STATEMENT, add_consensus, statements
from mrkg.facts import Claim, DatasetInfo, Entity, Facts, Source, Value
from mrkg.model import KINDS
from mrkg.namespaces import CLAIM, CONFLICT, GRAPH_CONFLICTS, MRKG, SRC

LEX = "https://w3id.org/mrkg/ontology/"


def _claim(source: str, cid: str, kind: str, subject: str = "baclofen", obj: str | None = None, **extra) -> Claim:
    predicate = extra.pop("predicate", KINDS[kind].predicate)
    return Claim(source_id=source, id=cid, kind=kind, subject=subject, predicate=predicate,
                 quote=extra.pop("quote", f"the words of {source}-{cid}"), object=obj, **extra)


def _value(shape: str, text: str, unit: str | None = None, bound: str | None = None, term: str | None = None,
           **numbers) -> Value:
    return Value(shape, text, {k: Decimal(str(v)) for k, v in numbers.items() if k != "max_exclusive"}, unit,
                 term=term, max_exclusive=bool(numbers.get("max_exclusive")), bound=bound)


def _entity(eid: str, etype: str = "adverse-effect", broader=(), part_of=()) -> Entity:
    entity = Entity(eid, etype, eid.replace("-", " "))
    entity.broader, entity.part_of = list(broader), list(part_of)
    return entity


def _facts(*claims: Claim, entities=()) -> Facts:
    sources: dict[str, Source] = {}
    for claim in claims:
        sources.setdefault(claim.source_id, Source(claim.source_id, "f.txt", "t", "consumer-article", "me",
                                                   dt.date(2026, 1, 1))).claims.append(claim)
    return Facts(DatasetInfo("0", "t", "d", "l"), {e.id: e for e in entities}, sources)


def _found(facts: Facts) -> list[tuple[str, str, tuple[tuple[str, ...], ...]]]:
    return [(c.kind, c.severity, tuple(tuple(x.full_id for x in s.claims) for s in c.sides)) for c in propose(facts)]


def _ids(facts: Facts) -> list[str]:
    return [c.id for c in propose(facts)]


# --- polarity ----------------------------------------------------------------------------------------------------

def test_an_affirmed_and_a_denied_statement_of_two_sources_are_a_contradiction():
    facts = _facts(_claim("000", "sedates", "adverse-effect", obj="sedation"),
                   _claim("004", "no-sedation", "adverse-effect", obj="sedation", negated=True))
    assert _found(facts) == [("polarity", "contradiction", (("000-sedates",), ("004-no-sedation",)))]
    (conflict,) = propose(facts)
    assert conflict.id == "polarity--baclofen--hasAdverseOutcome--sedation"
    assert "source 000 says it holds" in conflict.explanation and "source 004 says it does not" in conflict.explanation


def test_one_disagreement_is_one_conflict_with_two_sides_not_one_node_per_pair():
    facts = _facts(_claim("000", "a", "adverse-effect", obj="sedation"),
                   _claim("003", "b", "adverse-effect", obj="sedation"),
                   _claim("004", "c", "adverse-effect", obj="sedation", negated=True),
                   _claim("004", "d", "risk", obj="sedation", negated=True))
    assert _found(facts) == [("polarity", "contradiction", (("000-a", "003-b"), ("004-c", "004-d")))]


def test_a_denial_of_a_broader_entity_contradicts_an_affirmed_narrower_one():
    entities = [_entity("sedation"), _entity("drowsiness", broader=["sedation"])]
    facts = _facts(_claim("001", "drowsy", "adverse-effect", obj="drowsiness"),
                   _claim("004", "not-sedating", "adverse-effect", obj="sedation", negated=True), entities=entities)
    assert _found(facts) == [("polarity", "contradiction", (("001-drowsy",), ("004-not-sedating",)))]
    # ...but a denial of the narrower entity says nothing of the broader one.
    facts = _facts(_claim("001", "sedating", "adverse-effect", obj="sedation"),
                   _claim("004", "not-drowsy", "adverse-effect", obj="drowsiness", negated=True), entities=entities)
    assert _found(facts) == []


def test_a_denied_manner_does_not_contradict_the_affirmed_statement():
    facts = _facts(_claim("001", "relaxes", "mechanism", subject="cyclobenzaprine", obj="muscle-relaxation"),
                   _claim("002", "not-directly", "mechanism", subject="cyclobenzaprine", obj="muscle-relaxation",
                          negated=True, enum_qualifiers={"negation_scope": "manner"},
                          text_qualifiers={"manner": "directly"}))
    assert _found(facts) == []


def test_the_same_manner_affirmed_and_denied_is_a_contradiction():
    facts = _facts(_claim("001", "directly", "mechanism", obj="muscle-relaxation", text_qualifiers={"manner": "directly"}),
                   _claim("002", "not-directly", "mechanism", obj="muscle-relaxation", negated=True,
                          enum_qualifiers={"negation_scope": "manner"}, text_qualifiers={"manner": "directly"}))
    assert [c.kind for c in propose(facts)] == ["polarity"]


def test_a_denied_comparison_does_not_contradict_the_affirmed_effect():
    facts = _facts(_claim("000", "not-same-risk", "risk", subject="cyclobenzaprine", obj="withdrawal-symptoms",
                          negated=True, enum_qualifiers={"negation_scope": "comparison", "comparison": "similar"},
                          entity_qualifiers={"comparator": "baclofen"}),
                   _claim("002", "withdrawal", "withdrawal", subject="cyclobenzaprine", obj="withdrawal-symptoms"))
    assert _found(facts) == []


def test_a_denied_risk_contradicts_an_affirmed_withdrawal_effect_the_relations_being_declared_comparable():
    assert ("hasRiskOf", "hasWithdrawalEffect") in declared().comparable
    facts = _facts(_claim("000", "no-risk", "risk", subject="cyclobenzaprine", obj="withdrawal-symptoms", negated=True),
                   _claim("002", "withdrawal", "withdrawal", subject="cyclobenzaprine", obj="withdrawal-symptoms"))
    assert [c.kind for c in propose(facts)] == ["polarity"]


def test_claims_of_one_source_never_conflict_and_differing_qualifiers_do_not_either():
    assert _found(_facts(_claim("000", "a", "adverse-effect", obj="sedation"),
                         _claim("000", "b", "adverse-effect", obj="sedation", negated=True))) == []
    assert _found(_facts(_claim("000", "a", "adverse-effect", obj="sedation", entity_qualifiers={"population": "older"}),
                         _claim("004", "b", "adverse-effect", obj="sedation", negated=True,
                                entity_qualifiers={"population": "newborns"}))) == []


# --- numbers, terms and durations ---------------------------------------------------------------------------------

@pytest.mark.parametrize("one,other,kind", [
    (dict(min=10, max=63), dict(min=1, max=3), "value"),
    (dict(min=5, max=15), dict(min=10, max=20), None),
    (dict(max=1, max_exclusive=True), dict(min=1, max=3), "value"),
    (dict(max=1), dict(min=1, max=3), None),
    (dict(max=5, bound="upper"), dict(min=1, max=3), None),  # "up to 5%" agrees with 1-3%
])
def test_frequencies_whose_ranges_do_not_overlap_are_a_value_conflict(one, other, kind):
    facts = _facts(_claim("001", "a", "adverse-effect", obj="dizziness", values={"frequency": _value("frequency", "x", "%", **one)}),
                   _claim("003", "b", "adverse-effect", obj="dizziness", values={"frequency": _value("frequency", "y", "%", **other)}))
    assert [c.kind for c in propose(facts)] == ([kind] if kind else [])


@pytest.mark.parametrize("term,numbers,flagged", [
    ("Rare", dict(min=5, max=15), True),  # rare is 0.01-0.1% in the declared bands
    ("common", dict(min=2, max=8), False),  # common is 1-10%
    ("common", dict(min=21, max=21), True),
    ("less common", dict(min=21, max=21), False),  # not a declared band: never compared
])
def test_a_percentage_outside_the_band_of_a_frequency_term_is_a_frequency_conflict(term, numbers, flagged):
    facts = _facts(_claim("001", "pct", "adverse-effect", obj="weakness", values={"frequency": _value("frequency", "5-15%", "%", **numbers)}),
                   _claim("003", "word", "adverse-effect", obj="weakness", values={"frequency": _value("frequency", term, term=term)}))
    assert [c.kind for c in propose(facts)] == (["frequency"] if flagged else [])


def test_a_severe_effects_frequency_is_not_compared_with_the_effect_at_any_severity():
    facts = _facts(_claim("001", "pct", "adverse-effect", obj="weakness", values={"frequency": _value("frequency", "5-15%", "%", min=5, max=15)}),
                   _claim("003", "rare-severe", "adverse-effect", obj="weakness", cues={"severity": "severe"},
                          values={"frequency": _value("frequency", "Rare", term="Rare")}))
    assert _found(facts) == []


@pytest.mark.parametrize("one,other,conflict", [
    (_value("duration", "2-3 weeks", "wk", min=2, max=3), _value("duration", "14 to 21 days", "d", min=14, max=21), False),
    (_value("duration", "2-3 weeks", "wk", min=2, max=3), _value("duration", "1-2 months", "mo", min=1, max=2), True),
    (_value("duration", "no longer than two to three weeks", "wk", bound="upper", min=2, max=3),
     _value("duration", "2-3 weeks", "wk", min=2, max=3), False),
    (_value("duration", "no longer than two to three weeks", "wk", bound="upper", min=2, max=3),
     _value("duration", "1 week", "wk", min=1, max=1), False),  # below the bound: agrees
    (_value("duration", "long-term"), _value("duration", "months or years"), False),  # words are never compared
    (_value("duration", "months or years"), _value("duration", "1-2 months, or until you stop", "mo", min=1, max=2), False),
    (_value("duration", "short-term"), _value("duration", "2-3 weeks", "wk", min=2, max=3), False),
])
def test_durations_are_normalised_to_days_and_only_non_overlapping_ones_are_flagged(one, other, conflict):
    facts = _facts(_claim("001", "a", "duration", value=one), _claim("000", "b", "duration", value=other))
    assert [c.kind for c in propose(facts)] == (["value"] if conflict else [])


def _dose(source, cid, dose_type, text, bound=None, **numbers):
    return _claim(source, cid, "dose", value=_value("dose", text, "mg", bound=bound, **numbers),
                  enum_qualifiers={"dose_type": dose_type})


def test_doses_of_one_kind_with_different_daily_totals_are_one_value_conflict_with_sides():
    facts = _facts(_dose("001", "a", "starting", "5 mg 3 times daily", amount=5, times_per_day=3),
                   _dose("003", "b", "starting", "10mg three times daily", amount=10, times_per_day=3),
                   _dose("000", "c", "starting", "5 milligrams three times a day", amount=5, times_per_day=3))
    assert _found(facts) == [("value", "substantive", (("000-c", "001-a"), ("003-b",)))]
    (conflict,) = propose(facts)
    assert conflict.id == "value--baclofen--hasDose--starting-dose"
    assert sorted((a.full_id, b.full_id) for a, b in conflict.links()) == [("000-c", "003-b"), ("001-a", "003-b")]


def test_a_stated_daily_total_equal_to_a_derived_one_agrees():
    facts = _facts(_dose("001", "a", "maximum", "20 mg by mouth 4 times daily", amount=20, times_per_day=4),
                   _dose("000", "b", "maximum", "80 milligrams per day", daily_total=80))
    assert _found(facts) == []


def test_a_usual_dose_given_as_an_upper_bound_reaching_a_maximum_agrees_and_one_above_it_does_not():
    facts = _facts(_dose("001", "max", "maximum", "10 mg by mouth 3 times daily", amount=10, times_per_day=3),
                   _dose("000", "usual", "usual", "10 milligrams up to three times daily", bound="upper", amount=10,
                         times_per_day=3))
    assert _found(facts) == []
    facts = _facts(_dose("001", "max", "maximum", "10 mg by mouth 3 times daily", amount=10, times_per_day=3),
                   _dose("000", "usual", "usual", "20 milligrams three times daily", amount=20, times_per_day=3))
    assert [(c.kind, c.aspect) for c in propose(facts)] == [("value", "dose order")]


# --- evidence, lines of therapy, certainty, magnitude, scope -------------------------------------------------------

def _efficacy(source, cid, words, grade, obj="low-back-pain", subject="cyclobenzaprine", **extra):
    return _claim(source, cid, "efficacy", subject=subject, obj=obj, cues={"evidence_level": words},
                  cue_types={"evidence_level": [LEX + grade]}, **extra)


def test_evidence_grades_that_differ_are_an_evidence_conflict_graded_by_distance():
    facts = _facts(_efficacy("002", "fair", "fair evidence", "ModerateEvidence"),
                   _efficacy("004", "consistent", "the most consistent evidence", "StrongEvidence"))
    assert [(c.kind, c.severity) for c in propose(facts)] == [("evidence", "minor")]
    facts = _facts(_efficacy("002", "little", "little evidence", "WeakEvidence"),
                   _efficacy("004", "consistent", "the most consistent evidence", "StrongEvidence"))
    assert [(c.kind, c.severity) for c in propose(facts)] == [("evidence", "substantive")]
    facts = _facts(_efficacy("002", "fair", "fair evidence", "ModerateEvidence"),
                   _efficacy("004", "moderate", "moderate evidence", "ModerateEvidence"))
    assert _found(facts) == []


def test_lines_of_therapy_from_the_declared_lexicon_that_differ_are_a_recommendation_conflict():
    facts = _facts(_claim("002", "second", "recommendation", obj="neuropathic-pain", text_qualifiers={"line_of_therapy": "second-line drug"}),
                   _claim("004", "first", "recommendation", obj="neuropathic-pain", text_qualifiers={"line_of_therapy": "first-line options"}))
    assert [(c.kind, c.severity) for c in propose(facts)] == [("recommendation", "substantive")]
    facts = _facts(_claim("002", "a", "recommendation", obj="neuropathic-pain", text_qualifiers={"line_of_therapy": "first"}),
                   _claim("004", "b", "recommendation", obj="neuropathic-pain", text_qualifiers={"line_of_therapy": "preferred"}))
    assert _found(facts) == []


def test_one_source_stating_what_another_only_hedges_is_a_minor_certainty_conflict():
    facts = _facts(_claim("001", "stated", "adverse-effect", obj="seizure"),
                   _claim("003", "hedged", "adverse-effect", obj="seizure", hedge="may"))
    assert _found(facts) == [("certainty", "minor", (("001-stated",), ("003-hedged",)))]
    # Possibility ("can cause") is not a hedge: nothing to flag.
    facts = _facts(_claim("001", "stated", "adverse-effect", obj="seizure"),
                   _claim("003", "can", "adverse-effect", obj="seizure", cues={"modality": "can"}))
    assert _found(facts) == []


def test_different_magnitudes_of_one_statement_are_a_minor_magnitude_conflict():
    facts = _facts(_claim("000", "nearly", "structural-similarity", subject="cyclobenzaprine", obj="amitriptyline",
                          text_qualifiers={"magnitude": "nearly identical"}),
                   _claim("002", "structurally", "structural-similarity", subject="cyclobenzaprine", obj="amitriptyline",
                          text_qualifiers={"magnitude": "structurally identical"}))
    assert [(c.kind, c.severity) for c in propose(facts)] == [("magnitude", "minor")]


def test_a_contraindication_against_an_interaction_within_a_time_window_is_a_scope_conflict():
    window = {"time_window": _value("time_window", "within 14 days", "d", max=14)}
    facts = _facts(_claim("001", "window", "interaction", subject="cyclobenzaprine", obj="maois", values=window),
                   _claim("002", "contra", "contraindication", subject="cyclobenzaprine", obj="maois"))
    assert [(c.kind, c.severity) for c in propose(facts)] == [("scope", "substantive")]
    # The same source saying both is not a disagreement.
    facts = _facts(_claim("002", "window", "interaction", subject="cyclobenzaprine", obj="maois", values=window),
                   _claim("002", "contra", "contraindication", subject="cyclobenzaprine", obj="maois"))
    assert _found(facts) == []


def test_a_site_of_action_against_the_structure_it_is_part_of_is_a_minor_scope_conflict():
    entities = [_entity("brain", "anatomical-site"), _entity("brainstem", "anatomical-site", part_of=["brain"])]
    facts = _facts(_claim("001", "brain", "site-of-action", subject="cyclobenzaprine", obj="brain"),
                   _claim("002", "brainstem", "site-of-action", subject="cyclobenzaprine", obj="brainstem"),
                   entities=entities)
    assert [(c.kind, c.severity) for c in propose(facts)] == [("scope", "minor")]


# --- decisions ---------------------------------------------------------------------------------------------------

def _decisions(tmp_path, text):
    path = tmp_path / "conflicts.yaml"
    path.write_text(textwrap.dedent(text))
    return load_decisions(path, "facts/conflicts.yaml")


SEDATION = _facts(_claim("000", "sedates", "adverse-effect", obj="sedation"),
                  _claim("004", "no-sedation", "adverse-effect", obj="sedation", negated=True),
                  _claim("001", "stated", "adverse-effect", obj="seizure"),
                  _claim("003", "hedged", "adverse-effect", obj="seizure", hedge="may"))


def test_confirmed_conflicts_stay_marked_so_and_dismissed_ones_never_come_back(tmp_path):
    decisions, errors = _decisions(tmp_path, """\
        decisions:
          - conflict: polarity--baclofen--hasAdverseOutcome--sedation
            decision: confirm
            reason: 004 denies what 000 says.
          - conflict: certainty--baclofen--hasAdverseOutcome--seizure
            decision: dismiss
            reason: a difference of wording only.
        """)
    assert errors == []
    kept = find_conflicts(SEDATION, decisions)
    assert [(c.id, c.status, c.reason) for c in kept] == [
        ("polarity--baclofen--hasAdverseOutcome--sedation", "confirmed", "004 denies what 000 says.")]
    assert decisions.check(SEDATION, propose(SEDATION)) == []


def test_a_curator_adds_a_conflict_the_detector_cannot_see_and_may_change_a_severity(tmp_path):
    decisions, errors = _decisions(tmp_path, """\
        decisions:
          - conflict: polarity--baclofen--hasAdverseOutcome--sedation
            decision: confirm
            severity: substantive
            reason: dose-dependent against none.
        added:
          - kind: certainty
            severity: minor
            subject: baclofen
            predicate: hasAdverseEffect
            object: seizure
            reason: read by a curator.
            sides:
              - {position: state it, claims: [001-stated]}
              - {position: hedge it, claims: [003-hedged, 004-no-sedation]}
        """)
    assert errors == []
    kept = {c.id: c for c in find_conflicts(SEDATION, decisions)}
    assert kept["polarity--baclofen--hasAdverseOutcome--sedation"].severity == "substantive"
    added = kept["certainty--baclofen--hasAdverseEffect--seizure"]
    assert added.status == "added" and [len(s.claims) for s in added.sides] == [1, 2]


@pytest.mark.parametrize("text,message", [
    ("decisions:\n  - {conflict: polarity--baclofen--hasAdverseOutcome--sedatoin, decision: confirm, reason: r}\n",
     "facts/conflicts.yaml:2: no proposed conflict 'polarity--baclofen--hasAdverseOutcome--sedatoin' to confirm: the "
     "detector no longer finds it (remove the decision); did you mean 'polarity--baclofen--hasAdverseOutcome--sedation'?"),
    ("added:\n  - kind: polarity\n    severity: minor\n    subject: baclofen\n    predicate: hasAdverseEffect\n"
     "    reason: r\n    sides:\n      - {position: a, claims: [000-sedate]}\n      - {position: b, claims: [004-no-sedation]}\n",
     "facts/conflicts.yaml:2: no claim '000-sedate'; did you mean '000-sedates'?"),
])
def test_a_stale_decision_or_an_unknown_claim_is_an_error_with_a_suggestion(tmp_path, text, message):
    decisions, errors = _decisions(tmp_path, text)
    assert errors == []
    assert [str(e) for e in decisions.check(SEDATION, propose(SEDATION))] == [message]


@pytest.mark.parametrize("text,message", [
    ("decisions:\n  - {conflict: x, decision: keep, reason: r}\n",
     "facts/conflicts.yaml:2: decision must be confirm or dismiss, not 'keep'"),
    ("decisions:\n  - {conflict: x, decision: dismiss}\n",
     "facts/conflicts.yaml:2: decision: missing required field 'reason'"),
    ("decisions:\n  - {conflict: x, decision: dismiss, reason: r}\n  - {conflict: x, decision: confirm, reason: r}\n",
     "facts/conflicts.yaml:3: conflict 'x' is already decided at facts/conflicts.yaml:2"),
])
def test_a_malformed_decision_is_an_error_on_its_line(tmp_path, text, message):
    _, errors = _decisions(tmp_path, text)
    assert [re.sub(r"(\.yaml:\d+):\d+:", r"\1:", str(e)) for e in errors] == [message]  # the column left out


# --- RDF and the consensus view --------------------------------------------------------------------------------------

def test_a_conflict_becomes_a_node_with_kind_severity_topic_sides_and_links():
    ds = Dataset()
    add_conflicts(ds, propose(SEDATION))
    g = ds.graph(GRAPH_CONFLICTS)
    node = CONFLICT["polarity--baclofen--hasAdverseOutcome--sedation"]
    assert (node, MRKG.conflictKind, MRKG.PolarityConflict) in g
    assert (node, MRKG.conflictSeverity, MRKG.Contradiction) in g
    assert (node, MRKG.curationStatus, MRKG.Proposed) in g
    assert (node, MRKG.topicPredicate, MRKG.hasAdverseOutcome) in g
    sides = sorted(g.objects(node, MRKG.side))
    assert [sorted(g.objects(s, MRKG.sideClaim)) for s in sides] == [[CLAIM["000-sedates"]], [CLAIM["004-no-sedation"]]]
    assert (CLAIM["000-sedates"], MRKG.conflictsWith, CLAIM["004-no-sedation"]) in g
    assert "source 004 says it does not" in str(g.value(node, MRKG.explanation))


def test_the_consensus_view_says_who_affirms_negates_and_hedges_each_statement_and_whether_it_is_disputed():
    facts = _facts(_claim("000", "sedates", "adverse-effect", obj="sedation"),
                   _claim("004", "no-sedation", "adverse-effect", obj="sedation", negated=True),
                   _claim("001", "seizure", "withdrawal", obj="seizure"),
                   _claim("003", "seizure-may", "adverse-effect", obj="seizure", hedge="may"),
                   _claim("003", "gaba", "target", obj="gaba-b-receptor"))
    conflicts = [c for c in propose(facts) if c.kind == "polarity"]
    ds = Dataset()
    add_consensus(ds, facts, conflicts)
    g = ds.graph(GRAPH_CONSENSUS)
    sedation = STATEMENT["baclofen--hasAdverseOutcome--sedation"]
    assert set(g.objects(sedation, MRKG.affirmedBy)) == {SRC["000"]}
    assert set(g.objects(sedation, MRKG.negatedBy)) == {SRC["004"]}
    assert (sedation, MRKG.agreement, MRKG.Disputed) in g
    assert (sedation, MRKG.worstSeverity, MRKG.Contradiction) in g
    seizure = STATEMENT["baclofen--hasAdverseOutcome--seizure"]  # a withdrawal effect and an adverse effect: one group
    assert set(g.objects(seizure, MRKG.affirmedBy)) == {SRC["001"], SRC["003"]}
    assert set(g.objects(seizure, MRKG.hedgedBy)) == {SRC["003"]}
    assert (seizure, MRKG.agreement, MRKG.Agreed) in g
    assert (STATEMENT["baclofen--hasTarget--gaba-b-receptor"], MRKG.agreement, MRKG.SingleSource) in g
    assert len(statements(facts, conflicts)) == 3


def test_one_disagreement_stated_about_several_objects_is_one_conflict():
    facts = _facts(*(_efficacy("000", f"fair-{o}", "fair evidence", "ModerateEvidence", obj=o, quote="fair evidence for A, B")
                     for o in ("back-pain", "neck-pain")),
                   *(_efficacy("002", f"best-{o}", "the most consistent evidence", "StrongEvidence", obj=o,
                               quote="the most consistent evidence for A, B") for o in ("back-pain", "neck-pain")))
    (conflict,) = propose(facts)
    assert conflict.objects == ("back-pain", "neck-pain")
    assert [[c.full_id for c in s.claims] for s in conflict.sides] == [["000-fair-back-pain", "000-fair-neck-pain"],
                                                                       ["002-best-back-pain", "002-best-neck-pain"]]
    assert "back-pain and neck-pain" in conflict.explanation  # no entities here: the ids stand for their labels


@pytest.mark.parametrize("term,numbers,severity", [
    ("common", dict(min=10, max=63), "minor"),  # very common against common: the next band
    ("Rare", dict(min=5, max=15), "substantive"),  # rare against common-to-very-common
])
def test_a_frequency_conflict_is_minor_when_the_number_lies_in_the_next_band(term, numbers, severity):
    facts = _facts(_claim("001", "pct", "adverse-effect", obj="drowsiness", values={"frequency": _value("frequency", "x", "%", **numbers)}),
                   _claim("002", "word", "adverse-effect", obj="drowsiness", values={"frequency": _value("frequency", term, term=term)}))
    assert [(c.kind, c.severity) for c in propose(facts)] == [("frequency", severity)]


def test_a_comparison_is_its_own_statement_and_causes_that_differ_are_not_compared():
    # "fewer side effects than oral baclofen" (hedged) is not "baclofen has side effects" (stated).
    facts = _facts(_claim("000", "has", "adverse-effect", obj="side-effects"),
                   _claim("004", "fewer", "adverse-effect", obj="side-effects", hedge="potentially",
                          enum_qualifiers={"comparison": "lower"}, comparator_unstated=True))
    assert _found(facts) == []
    # Spasm from upper-motor-neuron pathology is not spasm from musculoskeletal conditions.
    facts = _facts(_claim("001", "msk", "indication", subject="cyclobenzaprine", obj="muscle-spasm",
                          due_to=["musculoskeletal-condition"]),
                   _claim("002", "umn", "recommendation", subject="cyclobenzaprine", obj="muscle-spasm", negated=True,
                          due_to=["upper-motor-neuron-syndrome"]))
    assert _found(facts) == []
    facts = _facts(_claim("001", "msk", "indication", subject="cyclobenzaprine", obj="muscle-spasm",
                          due_to=["musculoskeletal-condition"]),
                   _claim("002", "any", "efficacy", subject="cyclobenzaprine", obj="muscle-spasm", negated=True))
    assert [c.kind for c in propose(facts)] == ["polarity"]
