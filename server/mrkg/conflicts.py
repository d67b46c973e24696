"""Where sources disagree: the build's detector proposes conflicts, curators decide (facts/conflicts.yaml).

A conflict is one disagreement about one topic (a subject and what is disputed about it), with two or more
sides, each a set of claims that agree with each other, a kind and a severity, and one sentence naming the
sources and what each says. The detector compares claims of different sources through the model:

- polarity: an affirmed and a denied statement, with the same relation or one declared ``mrkg:comparableWith``
  it, about the same object or a narrower one (``skos:broader`` / ``mrkg:partOf`` in facts/entities), or the
  same manner affirmed and denied. A denied manner, comparison or degree is not a denial of the statement.
- value: frequencies whose ranges do not overlap, doses of one kind whose daily totals differ (an upper bound
  agrees with anything below it), durations that do not overlap once normalised to days (words that give no
  number are never compared, so agreeing wordings are never flagged);
- frequency: a percentage outside the band of another source's frequency term (``mrkg:FrequencyBand``);
- evidence, recommendation: evidence grades or lines of therapy of the same use that differ;
- certainty: one source states what another only hedges; magnitude: one statement qualified differently;
- scope: a contraindication against an interaction or caution with the same thing (``mrkg:strongerThan``),
  a site of action against the wider structure it is part of.

The bands, lines of therapy and relations compared live in ontology/conflicts.ttl; the detector reads them
from there. Decisions: a confirmed proposal is kept (``mrkg:Confirmed``), a dismissed one never enters the
graph again (its id is stable: kind, subject, relation and object), an added one is built from its claims.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from itertools import combinations
from pathlib import Path
from typing import Iterable

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from .facts import Claim, Entity, Facts, Value
from .model import KINDS as MODEL_KINDS
from .namespaces import CONFLICT, ENT, GRAPH_CONFLICTS, MRKG
from .rdf import claim_iri, derived_daily_total
from .sources import fold

ONTOLOGY_DIR = Path(__file__).resolve().parents[2] / "ontology"

# Days per UCUM time unit, to compare durations given in different units.
DAYS = {"min": Decimal(1) / 1440, "h": Decimal(1) / 24, "d": Decimal(1), "wk": Decimal(7),
        "mo": Decimal("30.4375"), "a": Decimal("365.25")}
SINGLE_VALUED = {"dose": "dose", "duration": "duration of use", "onset": "onset", "titration": "titration"}
DOSE_ORDER = {"starting": 0, "usual": 1, "maximum": 2}
INFINITY = Decimal("Infinity")

KINDS = {  # YAML / id word -> ontology individual
    "polarity": "PolarityConflict", "value": "ValueConflict", "frequency": "FrequencyConflict",
    "evidence": "EvidenceConflict", "certainty": "CertaintyConflict", "magnitude": "MagnitudeConflict",
    "scope": "ScopeConflict", "recommendation": "RecommendationConflict",
}
SEVERITIES = {"contradiction": "Contradiction", "substantive": "SubstantiveDifference", "minor": "MinorDifference"}
SEVERITY_RANK = {"contradiction": 3, "substantive": 2, "minor": 1}
STATUSES = {"proposed": "Proposed", "confirmed": "Confirmed", "added": "CuratorAdded"}

# Grouping relations (ontology/mrkg.ttl: rdfs:subPropertyOf mrkg:hasAdverseOutcome / mrkg:hasUse).
GROUPS = {"hasAdverseEffect": "hasAdverseOutcome", "hasRiskOf": "hasAdverseOutcome",
          "hasWithdrawalEffect": "hasAdverseOutcome", "requiresTaperingToAvoid": "hasAdverseOutcome",
          "isIndicatedFor": "hasUse", "isRecommendedFor": "hasUse", "isEffectiveFor": "hasUse",
          "hasOffLabelUse": "hasUse"}


def group_of(predicate: str) -> str:
    return GROUPS.get(predicate, predicate)


# --- the declared data: ontology/conflicts.ttl ---------------------------------------------------------------

@dataclass(frozen=True)
class Declared:
    comparable: frozenset[tuple[str, str]]  # symmetric pairs of relation local names
    stronger: frozenset[tuple[str, str]]  # (stronger, weaker)
    bands: tuple[tuple[str, frozenset[str], Decimal, Decimal], ...]  # (local name, labels, min, max)
    lines: tuple[tuple[str, frozenset[str], int], ...]  # (local name, labels, rank)

    def band(self, term: str | None) -> tuple[str, Decimal, Decimal] | None:
        words = _norm(term or "")
        for name, labels, low, high in self.bands:
            if words in labels:
                return name, low, high
        return None

    def line(self, text: str | None) -> tuple[str, int] | None:
        words = _norm(text or "")
        for name, labels, rank in self.lines:
            if words in labels:
                return name, rank
        return None


def _local(node) -> str:
    return str(node).rsplit("/", 1)[-1]


def _labels(g: Graph, node) -> frozenset[str]:
    return frozenset(_norm(str(o)) for p in (SKOS.prefLabel, SKOS.altLabel, RDFS.label) for o in g.objects(node, p))


@lru_cache(maxsize=8)
def declared(ontology_dir: Path = ONTOLOGY_DIR) -> Declared:
    path = ontology_dir / "conflicts.ttl"
    g = Graph()
    g.parse(path if path.is_file() else ONTOLOGY_DIR / "conflicts.ttl", format="turtle")
    comparable = set()
    for a, b in g.subject_objects(MRKG.comparableWith):
        comparable |= {(_local(a), _local(b)), (_local(b), _local(a))}
    stronger = {(_local(a), _local(b)) for a, b in g.subject_objects(MRKG.strongerThan)}
    bands = tuple(sorted(((_local(b), _labels(g, b), Decimal(str(g.value(b, MRKG.minPercent))),
                           Decimal(str(g.value(b, MRKG.maxPercent)))) for b in g.subjects(RDF.type, MRKG.FrequencyBand)),
                         key=lambda x: x[2]))
    lines = tuple(sorted(((_local(n), _labels(g, n), int(g.value(n, MRKG.rank)))
                          for n in g.subjects(RDF.type, MRKG.LineOfTherapy)), key=lambda x: x[2]))
    return Declared(frozenset(comparable), frozenset(stronger), bands, lines)


# --- what a claim says, as the detector reads it ---------------------------------------------------------------

def _norm(text: str) -> str:
    return re.sub(r"[^\w%.]+", " ", fold(text).casefold()).strip()


def scope(claim: Claim) -> str:
    """What a negation denies: the whole statement unless the claim says its manner, comparison or degree."""
    return claim.enum_qualifiers.get("negation_scope") or getattr(claim, "negation_scope", None) or "statement"


def manner(claim: Claim) -> str | None:
    return claim.text_qualifiers.get("manner") or getattr(claim, "manner", None)


def hedged(claim: Claim) -> bool:
    return bool(claim.hedge)


def _types(claim: Claim, cue: str) -> list[str]:
    """The local names of the lexicon concepts the claim's cue field was typed with (facts.check_meaning)."""
    return sorted(_local(t) for t in (getattr(claim, "cue_types", None) or {}).get(cue, ()))


EVIDENCE_RANK = {"NoEvidence": 0, "WeakEvidence": 1, "ModerateEvidence": 2, "StrongEvidence": 3}
GRADE_WORDS = {"NoEvidence": "as none", "WeakEvidence": "weak", "ModerateEvidence": "moderate",
               "StrongEvidence": "strong"}


def evidence(claim: Claim) -> tuple[str, int] | None:
    """The claim's evidence grade (name, rank: higher is stronger), from the evidence lexicon (ontology/lexicon.ttl)."""
    grades = [g for g in _types(claim, "evidence_level") if g in EVIDENCE_RANK]
    if not grades:
        return None
    grade = max(grades, key=EVIDENCE_RANK.__getitem__)
    return grade, EVIDENCE_RANK[grade]


def _severity(claim: Claim, key: str = "severity") -> str | None:
    """The severity the claim gives its object (the lexicon's concept, else the words), or None."""
    typed = _types(claim, key)
    if typed:
        return typed[-1]
    words = (getattr(claim, "cues", None) or {}).get(key) or claim.enum_qualifiers.get(key)
    return _norm(words) if words else None


def bound(value: Value) -> str | None:
    return getattr(value, "bound", None)


# --- a conflict ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Side:
    position: str
    claims: tuple[Claim, ...]

    @property
    def sources(self) -> list[str]:
        return sorted({c.source_id for c in self.claims})


@dataclass(frozen=True)
class Conflict:
    kind: str
    severity: str
    subject: str
    predicate: str
    object: str | None
    aspect: str
    sides: tuple[Side, ...]
    explanation: str
    status: str = "proposed"
    reason: str | None = None
    also: tuple[str, ...] = ()  # further objects of one disagreement (the same quotes on each side)

    @property
    def id(self) -> str:
        return conflict_id(self.kind, self.subject, self.predicate, self.object or self.aspect)

    @property
    def objects(self) -> tuple[str, ...]:
        return ((self.object,) if self.object else ()) + self.also

    @property
    def claims(self) -> tuple[Claim, ...]:
        return tuple(sorted({c.full_id: c for s in self.sides for c in s.claims}.values(), key=lambda c: c.full_id))

    def links(self) -> list[tuple[Claim, Claim]]:
        pairs = {}
        for one, other in combinations(self.sides, 2):
            for a in one.claims:
                for b in other.claims:
                    if a.source_id != b.source_id:
                        x, y = sorted((a, b), key=lambda c: c.full_id)
                        pairs[(x.full_id, y.full_id)] = (x, y)
        return [pairs[k] for k in sorted(pairs)]


def conflict_id(kind: str, subject: str, predicate: str, topic: str) -> str:
    return "--".join((kind, subject, predicate, re.sub(r"[^a-z0-9]+", "-", topic.casefold()).strip("-")))


class Context:
    """What the detector needs besides the claims: entity labels and the hierarchy, and the declared data."""

    def __init__(self, facts: Facts, ontology_dir: Path | None = None):
        self.entities: dict[str, Entity] = facts.entities
        self.declared = declared(ontology_dir or ONTOLOGY_DIR)
        self.sources = facts.sources
        up: dict[str, set[str]] = defaultdict(set)
        for entity in facts.entities.values():
            for parent in list(getattr(entity, "broader", None) or ()) + list(getattr(entity, "part_of", None) or ()):
                up[entity.id].add(parent)
        down: dict[str, set[str]] = defaultdict(set)
        for child, parents in up.items():
            for parent in parents:
                down[parent].add(child)
        self._up, self._down = up, down

    def narrower(self, entity_id: str) -> set[str]:
        """The entity and every entity below it (skos:broader and mrkg:partOf, transitively)."""
        seen, todo = {entity_id}, [entity_id]
        while todo:
            for child in self._down.get(todo.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return seen

    def label(self, entity_id: str | None) -> str:
        if entity_id is None:
            return ""
        entity = self.entities.get(entity_id)
        return entity.label if entity else entity_id


STRICT = ("severity",)  # a severe effect's frequency says nothing of the effect at any severity


def _comparison(claim: Claim) -> tuple[str | None, str | None, bool]:
    return (claim.enum_qualifiers.get("comparison"), claim.entity_qualifiers.get("comparator"),
            bool(getattr(claim, "comparator_unstated", False)))


def _compatible(a: Claim, b: Claim, ignore: Iterable[str] = (), strict: bool = True) -> bool:
    """Whether two claims speak of the same thing, so that they can disagree. Qualifiers that both give agree (one
    claim may be more specific than the other); causes (``due_to``) that both give overlap; a comparison ("fewer
    side effects than...") is its own statement, compared only with the same comparison against the same
    comparator; a severity must be the same on both, or on neither (``strict``)."""
    for key in STRICT if strict else ():
        if _severity(a, key) != _severity(b, key):
            return False
    if _comparison(a) != _comparison(b):
        return False
    causes_a, causes_b = set(getattr(a, "due_to", None) or ()), set(getattr(b, "due_to", None) or ())
    if causes_a and causes_b and not causes_a & causes_b:
        return False
    skip = {"negation_scope", "evidence_grade", "comparison", "comparator", "use_status", *STRICT, *ignore}
    for mine, theirs in ((a.entity_qualifiers, b.entity_qualifiers), (a.enum_qualifiers, b.enum_qualifiers)):
        for key in mine.keys() & theirs.keys():
            if key not in skip and mine[key] != theirs[key]:
                return False
    return True


PREDICATE_WORDS = {
    "hasAdverseOutcome": "has the adverse outcome", "hasUse": "is used for", "hasAdverseEffect": "causes",
    "hasRiskOf": "carries a risk of", "hasWithdrawalEffect": "on withdrawal causes", "isIndicatedFor": "is indicated for",
    "isEffectiveFor": "is effective for", "isRecommendedFor": "is recommended for", "hasOffLabelUse": "is used off-label for",
    "hasMechanism": "works by", "actsAt": "acts at", "hasTarget": "acts on", "isContraindicatedWith": "is contraindicated with",
    "interactsWith": "interacts with", "hasCautionFor": "needs caution in", "memberOfClass": "is a",
    "isStructurallySimilarTo": "is structurally similar to", "isDerivativeOf": "is a derivative of",
    "hasSameMechanismAs": "works the same way as", "isInterchangeableWith": "is interchangeable with",
    "hasRoute": "is given by the route", "hasDosageForm": "comes as", "hasBrandName": "is sold as",
    "hasRegulatoryStatus": "has the status", "requiresMonitoringOf": "requires monitoring of",
    "isUsedWith": "is used with", "hasSymptom": "has the symptom", "requiresTaperingToAvoid": "is tapered to avoid",
    "isEliminatedBy": "is eliminated by", "requiresDoseAdjustmentFor": "needs a dose adjustment for",
    "hasStrength": "comes in the strength", "hasDose": "is given at the dose", "hasDurationOfUse": "is taken for",
    "hasOnset": "starts working within", "hasTitration": "is titrated", "hasHistory": "dates from",
}


def _topic(ctx: Context, subject: str, predicate: str, obj: str | None, aspect: str = "") -> str:
    if obj is None:
        return f"{ctx.label(subject)}'s {aspect}"
    return f"{ctx.label(subject)} {PREDICATE_WORDS.get(predicate, predicate)} {ctx.label(obj)}"


def _excerpt(quote: str, limit: int = 90) -> str:
    quote = " ".join(quote.split())
    return quote if len(quote) <= limit else quote[:limit - 1].rstrip() + "…"


def _sources_phrase(side: Side) -> str:
    ids = side.sources
    return ("source " if len(ids) == 1 else "sources ") + (ids[0] if len(ids) == 1 else ", ".join(ids[:-1]) + " and " + ids[-1])


def explain(topic: str, sides: Iterable[Side]) -> str:
    """One sentence: on the topic, which sources say what, each with the words of one of its claims."""
    parts = []
    for side in sides:
        first = min(side.claims, key=lambda c: c.full_id)
        verb, _, rest = side.position.partition(" ")
        if len(side.sources) == 1:
            verb += "s"  # the positions are plural verb phrases: "say it holds", "give '10-63%'"
        parts.append(f"{_sources_phrase(side)} {verb} {rest} (“{_excerpt(first.quote)}”)".replace("  ", " "))
    return f"On {topic}: " + "; ".join(parts) + "."


def _make(ctx: Context, kind: str, severity: str, subject: str, predicate: str, obj: str | None, aspect: str,
          sides: list[Side]) -> Conflict | None:
    sides = [s for s in sides if s.claims]
    if len(sides) < 2 or len({c.source_id for s in sides for c in s.claims}) < 2:
        return None
    sides = sorted(sides, key=lambda s: (s.sources, s.position))
    sides = [Side(s.position, tuple(sorted(s.claims, key=lambda c: c.full_id))) for s in sides]
    return Conflict(kind, severity, subject, predicate, obj, aspect, tuple(sides),
                    explain(_topic(ctx, subject, predicate, obj, aspect), sides))


# --- the rules ---------------------------------------------------------------------------------------------------

def _by_statement(claims: list[Claim]) -> dict[tuple[str, str, str], list[Claim]]:
    found: dict[tuple[str, str, str], list[Claim]] = defaultdict(list)
    for claim in claims:
        if claim.object is not None:
            found[(claim.subject, claim.predicate, claim.object)].append(claim)
    return found


def _polarity(ctx: Context, claims: list[Claim]) -> list[Conflict]:
    """A denied statement against affirmed ones of the same or a comparable relation, same or narrower object."""
    statements = _by_statement(claims)
    comparable = ctx.declared.comparable
    topics: dict[tuple[str, str, str], tuple[set, set]] = {}
    for (subject, predicate, obj), group in sorted(statements.items()):
        denials = [c for c in group if c.negated and scope(c) == "statement"]
        if not denials:
            continue
        related = {predicate} | {b for a, b in comparable if a == predicate}
        narrower = ctx.narrower(obj)
        affirmed = [c for (s, p, o), cs in statements.items() if s == subject and p in related and o in narrower
                    for c in cs if not c.negated and scope(c) == "statement"]
        # A denial at no severity denies the effect at any severity; "no severe X" does not deny a mild X.
        pairs = [(n, a) for n in denials for a in affirmed if n.source_id != a.source_id
                 and _compatible(n, a, strict=False) and _severity(n) in (None, _severity(a))]
        if not pairs:
            continue
        key = (subject, group_of(predicate), obj)
        yes, no = topics.setdefault(key, (set(), set()))
        yes.update(a.full_id for _, a in pairs)
        no.update(n.full_id for n, _ in pairs)
    by_id = {c.full_id: c for c in claims}
    found = []
    for (subject, predicate, obj), (yes, no) in sorted(topics.items()):
        conflict = _make(ctx, "polarity", "contradiction", subject, predicate, obj, "",
                         [Side("say it holds", tuple(by_id[i] for i in yes)),
                          Side("say it does not", tuple(by_id[i] for i in no))])
        if conflict:
            found.append(conflict)
    # The same manner affirmed by one source and denied by another ("acts directly" / "does not directly").
    for (subject, predicate, obj), group in sorted(statements.items()):
        ways: dict[str, tuple[list, list]] = defaultdict(lambda: ([], []))
        for c in group:
            if manner(c) and scope(c) in ("statement", "manner"):
                ways[_norm(manner(c))][1 if c.negated else 0].append(c)
        for words, (yes, no) in sorted(ways.items()):
            if yes and no:
                conflict = _make(ctx, "polarity", "contradiction", subject, group_of(predicate), obj, words,
                                 [Side(f"say it does so {words}", tuple(yes)), Side(f"say it does not do so {words}", tuple(no))])
                if conflict:
                    found.append(replace(conflict, aspect=words))
    return found


def _interval(value: Value, scale: Decimal = Decimal(1)) -> tuple[Decimal, Decimal, bool] | None:
    low, high = value.numbers.get("min"), value.numbers.get("max")
    if low is None and high is None:
        return None
    which = bound(value)
    if which == "upper":  # "no longer than 2-3 weeks": anything up to the largest number
        low, high = None, high if high is not None else low
    elif which == "lower":  # "at least": anything from the smallest number up
        low, high = low if low is not None else high, None
    low = low * scale if low is not None else Decimal(0)
    high = high * scale if high is not None else INFINITY
    return low, high, value.max_exclusive


def _overlap(a: tuple[Decimal, Decimal, bool], b: tuple[Decimal, Decimal, bool]) -> bool:
    (lo1, hi1, ex1), (lo2, hi2, ex2) = a, b
    return not (hi1 < lo2 or (ex1 and hi1 == lo2) or hi2 < lo1 or (ex2 and hi2 == lo1))


def _cliques(items: list[tuple[Claim, tuple[Decimal, Decimal, bool], str]]) -> list[list]:
    """Intervals into groups that share a common point (sweep by lower end): each group agrees within itself."""
    groups: list[list] = []
    for item in sorted(items, key=lambda x: (x[1][0], x[1][1], x[0].full_id)):
        for group in groups:
            if all(_overlap(item[1], other[1]) for other in group):
                group.append(item)
                break
        else:
            groups.append([item])
    return groups


def _frequencies(ctx: Context, claims: list[Claim]) -> list[Conflict]:
    found = []
    for (subject, predicate, obj), group in sorted(_by_statement(claims).items()):
        items = []
        for c in group:
            value = c.values.get("frequency")
            if c.negated or value is None:
                continue
            interval = _interval(value)
            word = None
            if interval is None:
                band = ctx.declared.band(value.term or value.text)
                if band is None:
                    continue
                word = band[0]
                interval = (band[1], band[2], True)
            items.append((c, interval, word))
        if len({c.source_id for c, _, _ in items}) < 2:
            continue
        cliques = _cliques(items)
        # Claims of one source can sit in one group only if they are compatible with the others' qualifiers.
        if len(cliques) < 2 or not any(_compatible(a[0], b[0]) and a[0].source_id != b[0].source_id
                                       for g1, g2 in combinations(cliques, 2) for a in g1 for b in g2):
            continue
        termed = any(word for _, _, word in items)
        severity = "substantive"
        if termed:  # a percentage in the band next to the term's is a difference of band, not of substance
            ranks = [_band_rank(ctx, interval) for g in cliques for _, interval, _ in g]
            severity = "minor" if max(r[1] for r in ranks) - min(r[0] for r in ranks) <= 1 else "substantive"
        sides = [Side("give " + " / ".join(dict.fromkeys(repr(c.values["frequency"].text) for c, _, _ in g)),
                      tuple(c for c, _, _ in g)) for g in cliques]
        conflict = _make(ctx, "frequency" if termed else "value", severity, subject, group_of(predicate), obj,
                         "frequency", sides)
        if conflict:
            found.append(conflict)
    return found


def _band_rank(ctx: Context, interval: tuple[Decimal, Decimal, bool]) -> tuple[int, int]:
    """The lowest and highest band (by index, 0 = very rare) an interval of percentages reaches."""
    bands = ctx.declared.bands
    low, high, exclusive = interval
    inside = [i for i, (_, _, lo, hi) in enumerate(bands) if low < hi and (high > lo or (high == lo and not exclusive))]
    if not inside:
        inside = [len(bands) - 1]
    return min(inside), max(inside)


def _daily(value: Value) -> Decimal | None:
    return value.numbers.get("daily_total", derived_daily_total(value))


def _dose_interval(value: Value) -> tuple[Decimal, Decimal, bool] | None:
    daily = _daily(value)
    if daily is None:
        return None
    return (Decimal(0) if bound(value) == "upper" else daily), daily, False


def _values(ctx: Context, claims: list[Claim]) -> list[Conflict]:
    """Single-valued relations: doses of one kind (daily totals), durations normalised to days."""
    groups: dict[tuple, list[Claim]] = defaultdict(list)
    for c in claims:
        if c.object is None and c.kind in SINGLE_VALUED and not c.negated and c.value is not None:
            groups[(c.subject, c.kind, c.enum_qualifiers.get("dose_type") or "",
                    c.entity_qualifiers.get("route") or "", c.entity_qualifiers.get("population") or "",
                    c.entity_qualifiers.get("condition") or "")].append(c)
    found = []
    for (subject, kind, dose_type, route, population, condition), group in sorted(groups.items()):
        items = []
        for c in group:
            if kind == "dose":
                interval = _dose_interval(c.value) if c.value.unit else None
                unit = c.value.unit
            else:
                interval = _interval(c.value, DAYS[c.value.unit]) if c.value.unit in DAYS else None
                unit = "d"
            if interval is not None:
                items.append((c, interval, unit))
        for unit in sorted({u for _, _, u in items}):
            same = [i for i in items if i[2] == unit]
            cliques = _cliques(same)
            if len(cliques) < 2:
                continue
            what = f"{dose_type} dose" if kind == "dose" and dose_type else SINGLE_VALUED[kind]
            extra = " ".join(x for x in (route, population, condition) if x)
            aspect = what + (f" ({extra})" if extra else "")
            sides = [Side("give " + " / ".join(dict.fromkeys(repr(c.value.text) for c, _, _ in g)), tuple(c for c, _, _ in g))
                     for g in cliques]
            conflict = _make(ctx, "value", "substantive", subject, MODEL_KINDS[kind].predicate, None, aspect, sides)
            if conflict:
                found.append(conflict)
    # Across dose types: a starting or usual dose above another source's maximum (an upper bound never is).
    doses: dict[str, list[Claim]] = defaultdict(list)
    for (subject, kind, dose_type, *_), group in groups.items():
        if kind == "dose" and dose_type in DOSE_ORDER:
            doses[subject].extend(group)
    for subject, group in sorted(doses.items()):
        above: list[tuple[Claim, Claim]] = []
        for a, b in combinations(sorted(group, key=lambda c: c.full_id), 2):
            if a.source_id == b.source_id or not _compatible(a, b, ignore=("dose_type",)):
                continue
            low, high = sorted((a, b), key=lambda c: DOSE_ORDER[c.enum_qualifiers["dose_type"]])
            lt, ht = low.enum_qualifiers["dose_type"], high.enum_qualifiers["dose_type"]
            dl, dh = _daily(low.value), _daily(high.value)
            if lt == ht or low.value.unit != high.value.unit or dl is None or dh is None:
                continue
            if dl > dh:
                above.append((low, high))
        if above:
            lows = list({l.full_id: l for l, _ in above}.values())
            highs = list({h.full_id: h for _, h in above}.values())
            sides = [Side("give as a " + " / ".join(dict.fromkeys(f"{c.enum_qualifiers['dose_type']} dose {c.value.text!r}"
                                                                  for c in lows)), tuple(lows)),
                     Side("give as a " + " / ".join(dict.fromkeys(f"{c.enum_qualifiers['dose_type']} dose {c.value.text!r}"
                                                                  for c in highs)) + ", which is lower", tuple(highs))]
            conflict = _make(ctx, "value", "substantive", subject, "hasDose", None, "dose order", sides)
            if conflict:
                found.append(conflict)
    return found


def _positions(ctx: Context, claims: list[Claim], kind: str, position, severity, predicates=None) -> list[Conflict]:
    """Claims of one statement, affirmed, grouped by a position (evidence grade, line, magnitude...)."""
    found = []
    for (subject, predicate, obj), group in sorted(_by_statement(claims).items()):
        if predicates is not None and predicate not in predicates:
            continue
        by: dict[object, list[Claim]] = defaultdict(list)
        for c in group:
            if not c.negated:
                p = position(c)
                if p is not None:
                    by[p].append(c)
        if len(by) < 2:
            continue
        # Keep the claims that differ from a compatible claim of another source in another position.
        taking_part = {c.full_id for k1, k2 in combinations(by, 2) for a in by[k1] for b in by[k2]
                       if a.source_id != b.source_id and _compatible(a, b) for c in (a, b)}
        by = {k: [c for c in cs if c.full_id in taking_part] for k, cs in by.items()}
        by = {k: cs for k, cs in by.items() if cs}
        if len(by) < 2:
            continue
        keys = sorted(by, key=str)
        sides = [Side(_describe(kind, k, by[k]), tuple(by[k])) for k in keys]
        conflict = _make(ctx, kind, severity(keys), subject, group_of(predicate), obj, kind, sides)
        if conflict:
            found.append(conflict)
    return found


def _describe(kind: str, key, claims: list[Claim]) -> str:
    if kind == "evidence":
        words = " / ".join(dict.fromkeys(repr((getattr(c, "cues", None) or {}).get("evidence_level")
                                              or c.text_qualifiers.get("evidence_level", "")) for c in claims))
        return f"grade the evidence {GRADE_WORDS.get(key[0], key[0])} ({words})"
    if kind == "recommendation":
        words = " / ".join(dict.fromkeys(repr(c.text_qualifiers.get("line_of_therapy", "")) for c in claims))
        return f"place it {words}"
    if kind == "magnitude":
        return f"say {key!r}"
    if kind == "certainty":
        return "state it" if key == "stated" else "hedge it (" + " / ".join(
            dict.fromkeys(repr(c.hedge) for c in claims)) + ")"
    return str(key)


def _evidence(ctx: Context, claims: list[Claim]) -> list[Conflict]:
    def severity(keys):
        ranks = [k[1] for k in keys]
        return "substantive" if max(ranks) - min(ranks) >= 2 else "minor"
    return _positions(ctx, claims, "evidence", evidence, severity)


def _recommendation(ctx: Context, claims: list[Claim]) -> list[Conflict]:
    return _positions(ctx, claims, "recommendation", lambda c: ctx.declared.line(c.text_qualifiers.get("line_of_therapy")),
                      lambda keys: "substantive")


def _magnitude(ctx: Context, claims: list[Claim]) -> list[Conflict]:
    return _positions(ctx, claims, "magnitude",
                      lambda c: _norm(c.text_qualifiers["magnitude"]) if c.text_qualifiers.get("magnitude") else None,
                      lambda keys: "minor")


def _certainty(ctx: Context, claims: list[Claim]) -> list[Conflict]:
    """One source states what another only hedges: a hedged claim, whose source states nothing compatible with it,
    against a compatible stated claim of another source."""
    found = []
    for (subject, predicate, obj), group in sorted(_by_statement(claims).items()):
        live = [c for c in group if not c.negated and scope(c) == "statement"]
        stated = [c for c in live if not hedged(c)]
        pairs = [(s, h) for h in live if hedged(h) for s in stated if s.source_id != h.source_id and _compatible(s, h)
                 and not any(x.source_id == h.source_id and _compatible(x, h) for x in stated)]
        if pairs:
            yes = tuple({s.full_id: s for s, _ in pairs}.values())
            maybe = tuple({h.full_id: h for _, h in pairs}.values())
            conflict = _make(ctx, "certainty", "minor", subject, group_of(predicate), obj, "certainty",
                             [Side(_describe("certainty", "stated", list(yes)), yes),
                              Side(_describe("certainty", "hedged", list(maybe)), maybe)])
            if conflict:
                found.append(conflict)
    return found


def _scope(ctx: Context, claims: list[Claim]) -> list[Conflict]:
    found = []
    statements = _by_statement(claims)
    for strong, weak in sorted(ctx.declared.stronger):
        for (subject, predicate, obj), group in sorted(statements.items()):
            if predicate != strong:
                continue
            strong_claims = [c for c in group if not c.negated]
            weak_claims = [c for o in ctx.narrower(obj) for c in statements.get((subject, weak, o), []) if not c.negated]
            strong_sources = {c.source_id for c in strong_claims}
            weak_only = [c for c in weak_claims if c.source_id not in strong_sources]
            if not strong_claims or not weak_only:
                continue
            windowed = any("time_window" in c.values for c in weak_only)
            conflict = _make(ctx, "scope", "substantive" if windowed else "minor", subject, strong, obj, weak,
                             [Side(f"say it {PREDICATE_WORDS.get(strong, strong)} {ctx.label(obj)}", tuple(strong_claims)),
                              Side(f"say only that it {PREDICATE_WORDS.get(weak, weak)} it"
                                   + (" within a time window" if windowed else ""), tuple(weak_only))])
            if conflict:
                found.append(conflict)
    # A site of action against the wider structure it is part of, said by a source that does not name the part.
    for (subject, predicate, obj), group in sorted(statements.items()):
        if predicate != "actsAt":
            continue
        wide = [c for c in group if not c.negated]
        parts = [c for o in ctx.narrower(obj) - {obj} for c in statements.get((subject, predicate, o), []) if not c.negated]
        part_sources = {c.source_id for c in parts}
        wide_only = [c for c in wide if c.source_id not in part_sources]
        if wide_only and parts:
            conflict = _make(ctx, "scope", "minor", subject, predicate, obj, "site",
                             [Side(f"name {ctx.label(obj)}", tuple(wide_only)),
                              Side("name a part of it: " + ", ".join(sorted({ctx.label(c.object) for c in parts})), tuple(parts))])
            if conflict:
                found.append(conflict)
    return found


RULES = (_polarity, _frequencies, _values, _evidence, _recommendation, _magnitude, _certainty, _scope)


def propose(facts: Facts, ontology_dir: Path | None = None) -> list[Conflict]:
    """Every conflict the detector finds, before curators' decisions."""
    ctx = Context(facts, ontology_dir)
    claims = [c for c in facts.claims() if c.kind]
    found: dict[str, Conflict] = {}
    for rule in RULES:
        for conflict in rule(ctx, claims):
            found.setdefault(conflict.id, conflict)
    return _merge_objects(ctx, [found[k] for k in sorted(found)])


def _merge_objects(ctx: Context, conflicts: list[Conflict]) -> list[Conflict]:
    """One disagreement stated once about several objects ("fair evidence for musculoskeletal conditions,
    back pain and neck pain" against "the most consistent evidence for ...") is one conflict, not one per object:
    conflicts of one kind and subject whose sides quote the same words are merged, under the first object."""
    groups: dict[tuple, list[Conflict]] = defaultdict(list)
    for c in conflicts:
        signature = frozenset(frozenset(x.quote for x in side.claims) for side in c.sides)
        groups[(c.kind, c.subject, c.predicate, c.aspect if not c.object else "", signature)].append(c)
    merged = []
    for group in groups.values():
        if len(group) == 1 or any(c.object is None for c in group):
            merged.extend(group)
            continue
        group = sorted(group, key=lambda c: c.object)
        first = group[0]
        sides = []
        for side in first.sides:
            quotes = {x.quote for x in side.claims}
            claims = {x.full_id: x for c in group for other in c.sides if {y.quote for y in other.claims} == quotes
                      for x in other.claims}
            sides.append(Side(side.position, tuple(sorted(claims.values(), key=lambda x: x.full_id))))
        also = tuple(c.object for c in group[1:])
        topic = (f"{ctx.label(first.subject)} {PREDICATE_WORDS.get(first.predicate, first.predicate)} "
                 + _and([ctx.label(o) for o in (first.object, *also)]))
        merged.append(replace(first, sides=tuple(sides), also=also, explanation=explain(topic, sides)))
    return sorted(merged, key=lambda c: c.id)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def find_conflicts(facts: Facts, decisions: "Decisions | None" = None, ontology_dir: Path | None = None) -> list[Conflict]:
    """The conflicts the graph holds: proposals not dismissed (confirmed ones marked so) and curators' additions."""
    proposals = propose(facts, ontology_dir)
    if decisions is None:
        return proposals
    return decisions.apply(facts, proposals, ontology_dir)


# --- curators' decisions: facts/conflicts.yaml -------------------------------------------------------------------

@dataclass
class Decision:
    conflict: str
    decision: str  # confirm | dismiss
    reason: str
    severity: str | None = None
    file: str = ""
    line: int = 0


@dataclass
class Addition:
    kind: str
    severity: str
    subject: str
    predicate: str
    object: str | None
    aspect: str
    sides: list[tuple[str, list[str]]]
    reason: str
    explanation: str | None = None
    file: str = ""
    line: int = 0

    @property
    def id(self) -> str:
        return conflict_id(self.kind, self.subject, self.predicate, self.object or self.aspect)


@dataclass
class Decisions:
    decisions: dict[str, Decision] = field(default_factory=dict)
    additions: list[Addition] = field(default_factory=list)
    file: str = ""

    def apply(self, facts: Facts, proposals: list[Conflict], ontology_dir: Path | None = None) -> list[Conflict]:
        kept = []
        for conflict in proposals:
            decision = self.decisions.get(conflict.id)
            if decision is None:
                kept.append(conflict)
            elif decision.decision == "confirm":
                kept.append(replace(conflict, status="confirmed", reason=decision.reason,
                                    severity=decision.severity or conflict.severity))
        ctx = Context(facts, ontology_dir)
        claims = {c.full_id: c for c in facts.claims()}
        for add in self.additions:
            sides = [Side(position, tuple(claims[i] for i in ids if i in claims)) for position, ids in add.sides]
            made = Conflict(add.kind, add.severity, add.subject, add.predicate, add.object, add.aspect,
                            tuple(Side(s.position, tuple(sorted(s.claims, key=lambda c: c.full_id))) for s in sides),
                            add.explanation or explain(_topic(ctx, add.subject, add.predicate, add.object, add.aspect), sides),
                            "added", add.reason)
            kept.append(made)
        return sorted(kept, key=lambda c: c.id)

    def check(self, facts: Facts, proposals: list[Conflict]) -> list:
        """Problems with the decisions against the proposals and the facts, as FactsErrors."""
        from difflib import get_close_matches

        from .yamlfile import FactsError

        errors = []
        ids = {c.id for c in proposals}
        for decision in self.decisions.values():
            if decision.conflict not in ids:
                close = get_close_matches(decision.conflict, sorted(ids), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                errors.append(FactsError(decision.file, decision.line,
                                         f"no proposed conflict {decision.conflict!r} to {decision.decision}: the "
                                         f"detector no longer finds it (remove the decision){hint}"))
        claims = {c.full_id for c in facts.claims()}
        for add in self.additions:
            if add.id in ids:
                errors.append(FactsError(add.file, add.line, f"conflict {add.id!r} is already proposed by the detector: "
                                                             f"confirm it under 'decisions' instead of adding it"))
            for _, members in add.sides:
                for member in members:
                    if member not in claims:
                        close = get_close_matches(member, sorted(claims), n=1)
                        hint = f"; did you mean {close[0]!r}?" if close else ""
                        errors.append(FactsError(add.file, add.line, f"no claim {member!r}{hint}"))
            sources = {m[:3] for _, members in add.sides for m in members}
            if len(add.sides) < 2 or len(sources) < 2:
                errors.append(FactsError(add.file, add.line, "an added conflict has two or more sides with claims of "
                                                             "at least two sources"))
        return errors


def load_decisions(path: Path, name: str) -> tuple[Decisions, list]:
    """Read facts/conflicts.yaml (absent: no decisions)."""
    from .facts import _Reader
    from .yamlfile import FactsError, load_yaml_file

    errors: list = []
    decisions = Decisions(file=name)
    if not path.is_file():
        return decisions, errors
    try:
        data = load_yaml_file(path, name)
    except FactsError as e:
        return decisions, [e]
    top = _Reader(data, name, errors, "conflicts file")
    for item, line in zip(top.seq("decisions"), top.seq("decisions").item_lines):
        r = _Reader(item, name, errors, "decision", line)
        conflict = r.text("conflict", required=True)
        choice = r.text("decision", required=True)
        reason = r.text("reason", required=True)
        severity = r.text("severity")
        r.finish({"conflict", "decision", "reason", "severity"})
        if choice is not None and choice not in ("confirm", "dismiss"):
            r.error("decision", f"decision must be confirm or dismiss, not {choice!r}")
            continue
        if severity is not None and severity not in SEVERITIES:
            r.error("severity", f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
            continue
        if conflict is None or choice is None or reason is None:
            continue
        if conflict in decisions.decisions:
            other = decisions.decisions[conflict]
            r.error("conflict", f"conflict {conflict!r} is already decided at {other.file}:{other.line}")
            continue
        decisions.decisions[conflict] = Decision(conflict, choice, reason, severity, name, r.line)
    for item, line in zip(top.seq("added"), top.seq("added").item_lines):
        r = _Reader(item, name, errors, "added conflict", line)
        kind, severity = r.text("kind", required=True), r.text("severity", required=True)
        subject, predicate = r.text("subject", required=True), r.text("predicate", required=True)
        obj, aspect = r.text("object"), r.text("aspect") or ""
        reason, explanation = r.text("reason", required=True), r.text("explanation")
        sides = []
        for side, side_line in zip(r.seq("sides"), r.seq("sides").item_lines):
            s = _Reader(side, name, errors, "side", side_line)
            position = s.text("position", required=True)
            members = [str(m) for m in s.seq("claims")]
            s.finish({"position", "claims"})
            sides.append((position or "", members))
        r.finish({"kind", "severity", "subject", "predicate", "object", "aspect", "reason", "explanation", "sides"})
        if kind is not None and kind not in KINDS:
            r.error("kind", f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
            continue
        if severity is not None and severity not in SEVERITIES:
            r.error("severity", f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")
            continue
        if None in (kind, severity, subject, predicate, reason):
            continue
        decisions.additions.append(Addition(kind, severity, subject, predicate, obj, aspect, sides, reason,
                                            explanation, name, r.line))
    top.finish({"decisions", "added"})
    return decisions, errors


# --- RDF ---------------------------------------------------------------------------------------------------------

def _predicate_iri(local: str) -> URIRef:
    return MRKG[local]


def add_conflicts(ds, conflicts: list[Conflict]) -> None:
    g = ds.graph(GRAPH_CONFLICTS)
    for conflict in conflicts:
        node = CONFLICT[conflict.id]
        g.add((node, RDF.type, MRKG.Conflict))
        g.add((node, MRKG.conflictKind, MRKG[KINDS[conflict.kind]]))
        g.add((node, MRKG.conflictSeverity, MRKG[SEVERITIES[conflict.severity]]))
        g.add((node, MRKG.curationStatus, MRKG[STATUSES[conflict.status]]))
        g.add((node, RDFS.label, Literal(f"{conflict.kind} conflict ({conflict.severity}): "
                                         f"{conflict.explanation.removeprefix('On ').split(':', 1)[0]}")))
        g.add((node, MRKG.explanation, Literal(conflict.explanation)))
        if conflict.reason:
            g.add((node, MRKG.curatorReason, Literal(conflict.reason)))
        g.add((node, MRKG.topicSubject, ENT[conflict.subject]))
        g.add((node, MRKG.topicPredicate, _predicate_iri(conflict.predicate)))
        for obj in conflict.objects:
            g.add((node, MRKG.topicObject, ENT[obj]))
        for n, side in enumerate(conflict.sides, 1):
            side_node = CONFLICT[f"{conflict.id}/side/{n}"]
            g.add((node, MRKG.side, side_node))
            g.add((side_node, RDF.type, MRKG.ConflictSide))
            g.add((side_node, MRKG.position, Literal(side.position)))
            g.add((side_node, RDFS.label, Literal(f"{_sources_phrase(side)}: {side.position}")))
            for claim in side.claims:
                g.add((side_node, MRKG.sideClaim, claim_iri(claim)))
                g.add((node, MRKG.conflictingClaim, claim_iri(claim)))
        for a, b in conflict.links():
            g.add((claim_iri(a), MRKG.conflictsWith, claim_iri(b)))
            g.add((claim_iri(b), MRKG.conflictsWith, claim_iri(a)))
