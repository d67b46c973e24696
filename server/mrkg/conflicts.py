"""Find where sources disagree, at build time: polarity, non-overlapping numbers, single values. Flag, never resolve."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations

from rdflib import Dataset, Literal
from rdflib.namespace import RDF, RDFS

from .facts import Claim, Facts, Value
from .namespaces import CONFLICT, GRAPH_CONFLICTS, MRKG
from .rdf import claim_iri, derived_daily_total
from .sources import fold

# Days per UCUM time unit, to compare durations given in different units.
DAYS = {"min": Decimal(1) / 1440, "h": Decimal(1) / 24, "d": Decimal(1), "wk": Decimal(7),
        "mo": Decimal("30.4375"), "a": Decimal("365.25")}
SINGLE_VALUED = {"dose", "duration", "onset"}
KIND_NAMES = {"polarity": "PolarityConflict", "numeric": "NumericConflict", "single-value": "SingleValueConflict"}
# "X does not carry a risk of Y" disagrees with "X can cause Y" (as an adverse or a withdrawal effect).
RISK_BRIDGE = {"hasRiskOf": ("hasAdverseEffect", "hasWithdrawalEffect")}
DOSE_ORDER = {"starting": 0, "usual": 1, "maximum": 2}


@dataclass(frozen=True)
class Conflict:
    kind: str  # polarity | numeric | single-value
    claims: tuple[Claim, ...]
    explanation: str
    topic: str
    pairs: tuple[tuple[Claim, Claim], ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.kind}--{self.topic}"

    def links(self) -> tuple[tuple[Claim, Claim], ...]:
        return self.pairs or (tuple(self.claims[:2]),)


def _pair(kind: str, a: Claim, b: Claim, explanation: str) -> Conflict:
    a, b = sorted((a, b), key=lambda c: c.full_id)
    return Conflict(kind, (a, b), explanation, f"{a.full_id}--{b.full_id}")


def _compatible(a: Claim, b: Claim, ignore: str = "") -> bool:
    """Qualifiers that both claims give agree (one claim may be more specific than the other)."""
    for mine, theirs in ((a.entity_qualifiers, b.entity_qualifiers), (a.enum_qualifiers, b.enum_qualifiers)):
        for key in mine.keys() & theirs.keys():
            if key != ignore and mine[key] != theirs[key]:
                return False
    return True


def _range(value: Value, scale: Decimal = Decimal(1)) -> tuple[Decimal, Decimal, bool] | None:
    low, high = value.numbers.get("min"), value.numbers.get("max")
    if low is None and high is None:
        return None
    low = low if low is not None else Decimal(0)
    high = high if high is not None else Decimal("Infinity")
    return low * scale, high * scale, value.max_exclusive


def _disjoint(a: tuple[Decimal, Decimal, bool], b: tuple[Decimal, Decimal, bool]) -> bool:
    (lo1, hi1, ex1), (lo2, hi2, ex2) = a, b
    return hi1 < lo2 or (ex1 and hi1 == lo2) or hi2 < lo1 or (ex2 and hi2 == lo1)


def _daily(value: Value) -> Decimal | None:
    return value.numbers.get("daily_total", derived_daily_total(value))


def _doses_differ(a: Value, b: Value) -> bool:
    if a.unit != b.unit:
        return True
    daily_a, daily_b = _daily(a), _daily(b)
    if daily_a is not None and daily_b is not None:
        return daily_a != daily_b
    for key in ("amount", "times_per_day"):
        if key in a.numbers and key in b.numbers and a.numbers[key] != b.numbers[key]:
            return True
    return False


def _words(value: Value) -> str:
    return re.sub(r"[^\w%]+", " ", fold(value.text).casefold()).strip()


def _durations_differ(a: Value, b: Value) -> bool:
    """Numbers against numbers: ranges that do not overlap. Words against words: different words.
    Words against numbers ("short-term" and "2-3 weeks") cannot be compared, so they are not flagged."""
    ra = _range(a, DAYS[a.unit]) if a.unit in DAYS else None
    rb = _range(b, DAYS[b.unit]) if b.unit in DAYS else None
    if ra is not None and rb is not None:
        return _disjoint(ra, rb)
    if ra is None and rb is None:
        return _words(a) != _words(b)
    return False


def _denies_statement(claim: Claim) -> bool:
    """Affirmed, or negated in statement scope (the default)."""
    return (claim.negation_scope or "statement") == "statement"


def _polarity(claims: list[Claim]) -> list[Conflict]:
    by_triple: dict[tuple, list[Claim]] = {}
    for claim in claims:
        if claim.object is not None:
            by_triple.setdefault((claim.subject, claim.predicate, claim.object), []).append(claim)
    found = []

    def check(a: Claim, b: Claim) -> None:
        # Only a denial of the whole statement contradicts it: a negated manner, comparison or degree
        # ("does not act directly", "not the same risk as", "not very effective") leaves the statement standing.
        if a.source_id != b.source_id and a.negated != b.negated and _compatible(a, b) \
                and _denies_statement(a) and _denies_statement(b):
            yes, no = (b, a) if a.negated else (a, b)
            found.append(_pair("polarity", a, b, f"source {yes.source_id} affirms and source {no.source_id} "
                                                 f"negates: {yes.subject} {yes.predicate} {yes.object}"))

    for group in by_triple.values():
        for a, b in combinations(group, 2):
            check(a, b)
    for (subject, predicate, obj), risks in by_triple.items():
        for other in RISK_BRIDGE.get(predicate, ()):
            for a in risks:
                for b in by_triple.get((subject, other, obj), []):
                    check(a, b)
    return found


def _numeric(claims: list[Claim]) -> list[Conflict]:
    by_triple: dict[tuple, list[Claim]] = {}
    for claim in claims:
        if claim.object is not None and not claim.negated and "frequency" in claim.values:
            by_triple.setdefault((claim.subject, claim.predicate, claim.object), []).append(claim)
    found = []
    for (subject, predicate, obj), group in by_triple.items():
        for a, b in combinations(group, 2):
            ra, rb = _range(a.values["frequency"]), _range(b.values["frequency"])
            if a.source_id != b.source_id and _compatible(a, b) and ra and rb and _disjoint(ra, rb):
                x, y = sorted((a, b), key=lambda c: c.full_id)
                found.append(_pair("numeric", a, b, f"{subject} {predicate} {obj}: source {x.source_id} says "
                                                     f"{x.values['frequency'].text!r}, source {y.source_id} says "
                                                     f"{y.values['frequency'].text!r}"))
    return found


def _single_values(claims: list[Claim]) -> list[Conflict]:
    """One conflict per drug and single-valued property, linking every claim that disagrees with another source."""
    groups: dict[tuple, list[Claim]] = {}
    for claim in claims:
        if claim.object is None and claim.kind in SINGLE_VALUED and not claim.negated and claim.value is not None:
            groups.setdefault((claim.subject, claim.kind, claim.enum_qualifiers.get("dose_type") or ""), []).append(claim)
    found = []
    for (subject, kind, dose_type), group in sorted(groups.items()):
        differ = _doses_differ if kind == "dose" else _durations_differ
        pairs = [(a, b) for a, b in combinations(sorted(group, key=lambda c: c.full_id), 2)
                 if a.source_id != b.source_id and _compatible(a, b) and differ(a.value, b.value)]
        if not pairs:
            continue
        involved = sorted({c.full_id: c for pair in pairs for c in pair}.values(), key=lambda c: c.full_id)
        what = f"{dose_type} dose" if kind == "dose" else {"duration": "duration of use", "onset": "onset"}[kind]
        said = "; ".join(f"{c.source_id} {c.value.text!r}" for c in involved)
        found.append(Conflict("single-value", tuple(involved), f"{subject} {what}: {said}",
                              f"{subject}-{kind}{'-' + dose_type if dose_type else ''}", tuple(pairs)))
    doses: dict[str, list[Claim]] = {}
    for (subject, kind, dose_type), group in groups.items():
        if kind == "dose" and dose_type in DOSE_ORDER:
            doses.setdefault(subject, []).extend(group)
    for subject, group in sorted(doses.items()):
        for a, b in combinations(sorted(group, key=lambda c: c.full_id), 2):
            if a.source_id == b.source_id or not _compatible(a, b, ignore="dose_type"):
                continue
            low, high = sorted((a, b), key=lambda c: DOSE_ORDER[c.enum_qualifiers["dose_type"]])
            low_type, high_type = low.enum_qualifiers["dose_type"], high.enum_qualifiers["dose_type"]
            low_daily, high_daily = _daily(low.value), _daily(high.value)
            if low_type == high_type or low.value.unit != high.value.unit or low_daily is None or high_daily is None:
                continue
            if low_daily > high_daily or (high_type == "maximum" and low_daily == high_daily):
                found.append(_pair("single-value", a, b, f"{subject}: source {low.source_id} gives "
                                                         f"{low.value.text!r} as the {low_type} dose, source "
                                                         f"{high.source_id} gives {high.value.text!r} as the "
                                                         f"{high_type} dose"))
    return found


def find_conflicts(facts: Facts) -> list[Conflict]:
    claims = [c for c in facts.claims() if c.kind]
    return sorted(_polarity(claims) + _numeric(claims) + _single_values(claims), key=lambda c: c.id)


def add_conflicts(ds: Dataset, conflicts: list[Conflict]) -> None:
    g = ds.graph(GRAPH_CONFLICTS)
    for conflict in conflicts:
        node = CONFLICT[conflict.id]
        g.add((node, RDF.type, MRKG.Conflict))
        g.add((node, MRKG.conflictKind, MRKG[KIND_NAMES[conflict.kind]]))
        g.add((node, RDFS.label, Literal(f"{conflict.kind} conflict: {conflict.explanation}")))
        for claim in conflict.claims:
            g.add((node, MRKG.conflictingClaim, claim_iri(claim)))
        for a, b in conflict.links():
            g.add((claim_iri(a), MRKG.conflictsWith, claim_iri(b)))
            g.add((claim_iri(b), MRKG.conflictsWith, claim_iri(a)))
