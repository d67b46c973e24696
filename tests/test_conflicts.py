"""Conflict detection: polarity, numbers and single values, between sources only, flagged never resolved."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rdflib import Dataset

from mrkg.conflicts import add_conflicts, find_conflicts
from mrkg.facts import Claim, DatasetInfo, Facts, Source, Value
from mrkg.model import KINDS
from mrkg.namespaces import CLAIM, GRAPH_CONFLICTS, MRKG


def _claim(source: str, cid: str, kind: str, subject: str = "baclofen", obj: str | None = None, **extra) -> Claim:
    return Claim(source_id=source, id=cid, kind=kind, subject=subject, predicate=KINDS[kind].predicate,
                 quote="q", object=obj, **extra)


def _value(shape: str, text: str, unit: str | None = None, **numbers) -> Value:
    return Value(shape, text, {k: Decimal(str(v)) for k, v in numbers.items() if k != "max_exclusive"}, unit,
                 max_exclusive=bool(numbers.get("max_exclusive")))


def _facts(*claims: Claim) -> Facts:
    sources: dict[str, Source] = {}
    for claim in claims:
        sources.setdefault(claim.source_id, Source(claim.source_id, "f.txt", "t", "consumer-article", "me",
                                                   dt.date(2026, 1, 1))).claims.append(claim)
    return Facts(DatasetInfo("0", "t", "d", "l"), {}, sources)


def _kinds(facts: Facts) -> list[tuple[str, tuple[str, str]]]:
    return [(c.kind, tuple(x.full_id for x in c.claims)) for c in find_conflicts(facts)]


def test_affirmed_and_negated_in_two_sources_is_a_polarity_conflict():
    facts = _facts(_claim("000", "sedates", "adverse-effect", obj="sedation"),
                   _claim("004", "no-sedation", "adverse-effect", obj="sedation", negated=True))
    assert _kinds(facts) == [("polarity", ("000-sedates", "004-no-sedation"))]


def test_same_source_never_conflicts_with_itself():
    facts = _facts(_claim("000", "a", "adverse-effect", obj="sedation"),
                   _claim("000", "b", "adverse-effect", obj="sedation", negated=True))
    assert _kinds(facts) == []


def test_different_qualifiers_are_not_a_conflict():
    facts = _facts(_claim("000", "a", "adverse-effect", obj="sedation", entity_qualifiers={"population": "older"}),
                   _claim("004", "b", "adverse-effect", obj="sedation", negated=True,
                          entity_qualifiers={"population": "newborns"}))
    assert _kinds(facts) == []


@pytest.mark.parametrize("one,other,conflict", [
    (dict(min=10, max=63), dict(min=1, max=3), True),
    (dict(min=5, max=15), dict(min=10, max=20), False),
    (dict(max=1, max_exclusive=True), dict(min=1, max=3), True),
    (dict(max=1), dict(min=1, max=3), False),
])
def test_frequencies_that_do_not_overlap_are_a_numeric_conflict(one, other, conflict):
    facts = _facts(_claim("001", "a", "adverse-effect", obj="dizziness", values={"frequency": _value("frequency", "x", "%", **one)}),
                   _claim("003", "b", "adverse-effect", obj="dizziness", values={"frequency": _value("frequency", "y", "%", **other)}))
    assert _kinds(facts) == ([("numeric", ("001-a", "003-b"))] if conflict else [])


def _dose(source, cid, dose_type, text, **numbers):
    return _claim(source, cid, "dose", value=_value("dose", text, "mg", **numbers), enum_qualifiers={"dose_type": dose_type})


def test_different_starting_doses_are_a_single_value_conflict():
    facts = _facts(_dose("001", "a", "starting", "5 mg 3 times daily", amount=5, times_per_day=3),
                   _dose("003", "b", "starting", "10mg three times daily", amount=10, times_per_day=3),
                   _dose("000", "c", "starting", "5 milligrams three times a day", amount=5, times_per_day=3))
    # One conflict for the drug's starting dose, linking every claim that disagrees with another source.
    assert _kinds(facts) == [("single-value", ("000-c", "001-a", "003-b"))]
    (conflict,) = find_conflicts(facts)
    assert sorted((a.full_id, b.full_id) for a, b in conflict.links()) == [("000-c", "003-b"), ("001-a", "003-b")]


def test_a_stated_daily_total_equal_to_a_derived_one_is_no_conflict():
    facts = _facts(_dose("001", "a", "maximum", "20 mg by mouth 4 times daily", amount=20, times_per_day=4),
                   _dose("000", "b", "maximum", "80 milligrams per day", daily_total=80))
    assert _kinds(facts) == []


def test_usual_dose_reaching_another_sources_maximum_is_a_single_value_conflict():
    facts = _facts(_dose("001", "max", "maximum", "10 mg by mouth 3 times daily", amount=10, times_per_day=3),
                   _dose("000", "usual", "usual", "10 milligrams up to three times daily", amount=10, times_per_day=3),
                   _dose("003", "low", "usual", "5 mg three times daily", amount=5, times_per_day=3))
    # 000's usual dose equals 001's maximum; 000 and 003 also give different usual doses.
    assert sorted(_kinds(facts)) == [("single-value", ("000-usual", "001-max")), ("single-value", ("000-usual", "003-low"))]


@pytest.mark.parametrize("one,other,conflict", [
    (_value("duration", "2-3 weeks", "wk", min=2, max=3), _value("duration", "14 to 21 days", "d", min=14, max=21), False),
    (_value("duration", "2-3 weeks", "wk", min=2, max=3), _value("duration", "1-2 months", "mo", min=1, max=2), True),
    (_value("duration", "months or years"), _value("duration", "1-2 months, or until you stop"), True),
    (_value("duration", "Months or years"), _value("duration", "months  or years"), False),
    (_value("duration", "short-term"), _value("duration", "2-3 weeks", "wk", min=2, max=3), False),
    (_value("duration", "no longer than two to three weeks", "wk", max=3), _value("duration", "2-3 weeks", "wk", min=2, max=3), False),
])
def test_durations_of_use_that_differ_are_a_single_value_conflict(one, other, conflict):
    facts = _facts(_claim("001", "a", "duration", value=one), _claim("000", "b", "duration", value=other))
    assert _kinds(facts) == ([("single-value", ("000-b", "001-a"))] if conflict else [])


def test_conflicts_become_nodes_linking_both_claims():
    facts = _facts(_claim("000", "sedates", "adverse-effect", obj="sedation"),
                   _claim("004", "no-sedation", "adverse-effect", obj="sedation", negated=True))
    ds = Dataset()
    add_conflicts(ds, find_conflicts(facts))
    g = ds.graph(GRAPH_CONFLICTS)
    nodes = list(g.subjects(MRKG.conflictKind, MRKG.PolarityConflict))
    assert len(nodes) == 1
    assert set(g.objects(nodes[0], MRKG.conflictingClaim)) == {CLAIM["000-sedates"], CLAIM["004-no-sedation"]}
    assert (CLAIM["000-sedates"], MRKG.conflictsWith, CLAIM["004-no-sedation"]) in g
    assert (CLAIM["004-no-sedation"], MRKG.conflictsWith, CLAIM["000-sedates"]) in g


def test_a_negated_risk_disagrees_with_an_affirmed_withdrawal_effect():
    facts = _facts(_claim("000", "no-same-risk", "risk", subject="cyclobenzaprine", obj="withdrawal-symptoms",
                          negated=True, entity_qualifiers={"comparator": "baclofen"}),
                   _claim("002", "withdrawal", "withdrawal", subject="cyclobenzaprine", obj="withdrawal-symptoms"))
    assert _kinds(facts) == [("polarity", ("000-no-same-risk", "002-withdrawal"))]


def test_an_affirmed_risk_and_an_affirmed_effect_agree():
    facts = _facts(_claim("000", "risk", "risk", obj="seizure"), _claim("002", "effect", "adverse-effect", obj="seizure"))
    assert _kinds(facts) == []
