"""Find where sources disagree, at build time: polarity, non-overlapping numbers, single values. Flag, never resolve."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Conflict:
    kind: str  # polarity | numeric | single-value
    claims: tuple[Claim, Claim]
    explanation: str

    @property
    def id(self) -> str:
        a, b = self.claims
        return f"{self.kind}--{a.full_id}--{b.full_id}"


def _compatible(a: Claim, b: Claim) -> bool:
    """Qualifiers that both claims give agree (one claim may be more specific than the other)."""
    for mine, theirs in ((a.entity_qualifiers, b.entity_qualifiers), (a.enum_qualifiers, b.enum_qualifiers)):
        for key in mine.keys() & theirs.keys():
            if mine[key] != theirs[key]:
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
    below = hi1 < lo2 or (ex1 and hi1 == lo2)
    above = hi2 < lo1 or (ex2 and hi2 == lo1)
    return below or above


def _dose_key(value: Value) -> tuple:
    daily = value.numbers.get("daily_total", derived_daily_total(value))
    return value.unit, value.numbers.get("amount"), value.numbers.get("times_per_day"), daily


def _doses_differ(a: Value, b: Value) -> bool:
    ua, amount_a, times_a, daily_a = _dose_key(a)
    ub, amount_b, times_b, daily_b = _dose_key(b)
    if ua != ub:
        return True
    if daily_a is not None and daily_b is not None:
        return daily_a != daily_b
    if amount_a is not None and amount_b is not None and amount_a != amount_b:
        return True
    return times_a is not None and times_b is not None and times_a != times_b


def _durations_differ(a: Value, b: Value) -> bool:
    ra = _range(a, DAYS.get(a.unit or "", Decimal(1))) if a.unit else None
    rb = _range(b, DAYS.get(b.unit or "", Decimal(1))) if b.unit else None
    if ra is not None and rb is not None:
        return ra[:2] != rb[:2]
    return fold(a.text).casefold() != fold(b.text).casefold()


def find_conflicts(facts: Facts) -> list[Conflict]:
    claims = [c for c in facts.claims() if c.kind]
    found: list[Conflict] = []
    by_triple: dict[tuple, list[Claim]] = {}
    by_single: dict[tuple, list[Claim]] = {}
    for claim in claims:
        if claim.object is not None:
            by_triple.setdefault((claim.subject, claim.predicate, claim.object), []).append(claim)
        elif claim.kind in SINGLE_VALUED and not claim.negated:
            key = (claim.subject, claim.kind, claim.enum_qualifiers.get("dose_type"))
            by_single.setdefault(key, []).append(claim)
    for (subject, predicate, obj), group in sorted(by_triple.items()):
        for a, b in combinations(group, 2):
            if a.source_id == b.source_id or not _compatible(a, b):
                continue
            a, b = sorted((a, b), key=lambda c: c.full_id)
            if a.negated != b.negated:
                yes, no = (b, a) if a.negated else (a, b)
                found.append(Conflict("polarity", (a, b), f"source {yes.source_id} affirms and source "
                                                          f"{no.source_id} negates: {subject} {predicate} {obj}"))
            elif not a.negated and "frequency" in a.values and "frequency" in b.values:
                ra, rb = _range(a.values["frequency"]), _range(b.values["frequency"])
                if ra and rb and _disjoint(ra, rb):
                    found.append(Conflict("numeric", (a, b), f"{subject} {predicate} {obj}: source {a.source_id} "
                                                             f"says {a.values['frequency'].text!r}, source "
                                                             f"{b.source_id} says {b.values['frequency'].text!r}"))
    for (subject, kind, dose_type), group in sorted(by_single.items(), key=lambda item: tuple(map(str, item[0]))):
        for a, b in combinations(group, 2):
            if a.source_id == b.source_id or not _compatible(a, b):
                continue
            a, b = sorted((a, b), key=lambda c: c.full_id)
            differ = _doses_differ(a.value, b.value) if kind == "dose" else _durations_differ(a.value, b.value)
            if differ:
                what = f"{dose_type} dose" if kind == "dose" else kind.replace("duration", "duration of use")
                found.append(Conflict("single-value", (a, b), f"{subject} {what}: source {a.source_id} says "
                                                              f"{a.value.text!r}, source {b.source_id} says "
                                                              f"{b.value.text!r}"))
    found.extend(_dose_order_conflicts(by_single))
    return sorted(found, key=lambda c: c.id)


DOSE_ORDER = {"starting": 0, "usual": 1, "maximum": 2}


def _daily(value: Value) -> Decimal | None:
    return value.numbers.get("daily_total", derived_daily_total(value))


def _dose_order_conflicts(by_single: dict[tuple, list[Claim]]) -> list[Conflict]:
    """Across dose types: one source's usual (or starting) daily dose reaches another's maximum,
    or a starting dose exceeds another's usual dose."""
    doses: dict[str, list[Claim]] = {}
    for (subject, kind, dose_type), group in by_single.items():
        if kind == "dose" and dose_type in DOSE_ORDER:
            doses.setdefault(subject, []).extend(group)
    found = []
    for subject, group in sorted(doses.items()):
        for a, b in combinations(sorted(group, key=lambda c: c.full_id), 2):
            if a.source_id == b.source_id or not _compatible_except(a, b, "dose_type"):
                continue
            low, high = sorted((a, b), key=lambda c: DOSE_ORDER[c.enum_qualifiers["dose_type"]])
            low_type, high_type = low.enum_qualifiers["dose_type"], high.enum_qualifiers["dose_type"]
            if low_type == high_type or low.value.unit != high.value.unit:
                continue
            low_daily, high_daily = _daily(low.value), _daily(high.value)
            if low_daily is None or high_daily is None:
                continue
            if low_daily > high_daily or (high_type == "maximum" and low_daily == high_daily):
                found.append(Conflict("single-value", tuple(sorted((a, b), key=lambda c: c.full_id)),
                                      f"{subject}: source {low.source_id} gives {low.value.text!r} as the "
                                      f"{low_type} dose, source {high.source_id} gives {high.value.text!r} as "
                                      f"the {high_type} dose"))
    return found


def _compatible_except(a: Claim, b: Claim, key: str) -> bool:
    stripped = [Claim(**{**c.__dict__, "enum_qualifiers": {k: v for k, v in c.enum_qualifiers.items() if k != key}})
                for c in (a, b)]
    return _compatible(*stripped)


def add_conflicts(ds: Dataset, conflicts: list[Conflict]) -> None:
    g = ds.graph(GRAPH_CONFLICTS)
    for conflict in conflicts:
        node = CONFLICT[conflict.id]
        a, b = (claim_iri(c) for c in conflict.claims)
        g.add((node, RDF.type, MRKG.Conflict))
        g.add((node, MRKG.conflictKind, MRKG[KIND_NAMES[conflict.kind]]))
        g.add((node, RDFS.label, Literal(f"{conflict.kind} conflict: {conflict.explanation}")))
        g.add((node, MRKG.conflictingClaim, a))
        g.add((node, MRKG.conflictingClaim, b))
        g.add((a, MRKG.conflictsWith, b))
        g.add((b, MRKG.conflictsWith, a))
