"""What the pages show, read from the graph: claims with every qualifier and value (the values in the source's own
words beside their numbers), grouped by kind; conflicts with their sides' quotes; the frequency bands. Every figure
comes from SPARQL run through the same guarded, time-limited workers as /sparql (``select`` of pages.py)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

from flask import g

from ..engine import EngineError
from ..engine.runner import Job
from .service import PREFIX_MAP, service

MRKG = PREFIX_MAP["mrkg"]
PROV = PREFIX_MAP["prov"]
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
LABELS = "rdfs:label|skos:prefLabel|dct:title"

# The summary's sections, in reading order: the grouping relations of the ontology (mrkg:predicateGroup) first, then
# the relations of each remaining kind. A predicate in none of them goes to "other statements".
SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("adverse", "Adverse outcomes", ("group:hasAdverseOutcome", "hasAdverseEffect", "hasRiskOf",
                                      "hasWithdrawalEffect", "requiresTaperingToAvoid")),
    ("uses", "Uses", ("group:hasUse", "isIndicatedFor", "isRecommendedFor", "isEffectiveFor", "hasOffLabelUse")),
    ("mechanism", "Mechanism, targets and sites", ("hasMechanism", "hasTarget", "actsAt", "hasSameMechanismAs")),
    ("doses", "Doses and administration", ("hasDose", "hasTitration", "hasStrength", "hasDosageForm", "hasRoute",
                                           "hasDurationOfUse", "hasOnset", "requiresDoseAdjustmentFor")),
    ("interactions", "Interactions, cautions and monitoring", ("interactsWith", "isContraindicatedWith",
                                                               "hasCautionFor", "requiresMonitoringOf",
                                                               "isUsedWith")),
    ("identity", "Class, names and status", ("memberOfClass", "hasBrandName", "isDerivativeOf",
                                             "isStructurallySimilarTo", "isInterchangeableWith",
                                             "hasRegulatoryStatus", "hasHistory", "isEliminatedBy")),
)
OTHER = ("other", "Other statements")
SECTION_TITLES = dict([(key, title) for key, title, _ in SECTIONS] + [OTHER])

# Properties a claim card shows in its sentence or its footer; every other property of a claim is a qualifier.
CORE = {MRKG + p for p in ("subject", "predicate", "object", "polarity", "certainty", "quote", "annotation",
                           "predicateGroup", "conflictsWith", "hedgeCue", "subjectText", "objectText")} \
    | {RDF_TYPE, RDFS_LABEL, PROV + "wasDerivedFrom", PROV + "wasGeneratedBy",
       "http://purl.org/dc/terms/identifier"}
# How a value node is written: its own words first, then the numbers they were read as.
RS, US = "\u001e", "\u001f"  # record and unit separators of the packed rows (never in the data's text)
VALUE_NUMBERS = ("minValue", "maxValue", "maxExclusive", "amount", "estimate", "ciLower", "ciUpper", "ciLevel",
                 "timesPerDay", "dailyTotal", "derivedDailyTotal")


def select(query: str) -> list[dict]:
    """The rows of a SELECT; when the server's row cap (setting max_rows) cut them, the page says it is incomplete
    (``incomplete()``) instead of silently leaving things out."""
    answer = service().run(Job(query, format="json"))
    if answer.status != 200:
        raise EngineError(answer.status, answer.body.decode("utf-8", "replace").strip())
    if answer.truncated:
        g.mrkg_incomplete = service().settings["max_rows"]
    return json.loads(answer.body)["results"]["bindings"]


def incomplete() -> int | None:
    """The row cap that cut a query of this page, if one did."""
    return g.get("mrkg_incomplete")


def values_clause(iris) -> str:
    return " ".join(f"<{i}>" for i in sorted(iris))


def chunks(iris, size: int = 120) -> list[list[str]]:
    """``iris`` sorted, in lists short enough that a VALUES clause of one stays well below max_query_chars."""
    items = sorted(set(iris))
    return [items[i:i + size] for i in range(0, len(items), size)]


def select_values(template: str, iris) -> list[dict]:
    """``template`` (with ``{values}`` where the VALUES terms go) run once per chunk of ``iris``, rows joined."""
    rows: list[dict] = []
    for part in chunks(iris):
        rows += select(template.replace("{values}", values_clause(part)))
    return rows


def labels_of(iris: set[str]) -> dict[str, str]:
    iris = {i for i in iris if i and "://" in i}
    if not iris:
        return {}
    rows = select_values(f"SELECT ?x ?label WHERE {{ VALUES ?x {{ {{values}} }} ?x {LABELS} ?label }}", iris)
    labels: dict[str, str] = {}
    for row in rows:  # an English or untagged label wins over none
        labels.setdefault(row["x"]["value"], row["label"]["value"])
    return labels


def local(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


@dataclass
class Value:
    iri: str
    text: str = ""
    numbers: dict[str, str] = field(default_factory=dict)
    unit: str = ""
    term: str = ""  # a frequency term as written ("Rare")
    bound: str = ""
    approximate: bool = False
    kinds: set[str] = field(default_factory=set)

    def numbers_text(self) -> str:
        n = self.numbers
        unit = self.unit if self.unit else ""
        if "minValue" in n and "maxValue" in n:
            main = f"{n['minValue']}–{n['maxValue']}{unit}"
        elif "minValue" in n:
            main = f"≥ {n['minValue']}{unit}"
        elif "maxValue" in n:
            main = f"≤ {n['maxValue']}{unit}"
        elif "amount" in n:
            main = f"{n['amount']} {unit}".strip()
        elif "estimate" in n:
            main = f"{n['estimate']}{unit}"
        else:
            main = ""
        return main


@dataclass
class Claim:
    iri: str
    subject: str = ""
    predicate: str = ""
    group: str = ""
    obj: str = ""
    obj_is_iri: bool = False
    obj_value: Value | None = None
    polarity: str = ""
    certainty: str = ""
    hedge_cue: str = ""
    quote: str = ""
    source: str = ""
    label: str = ""
    subject_text: str = ""
    object_text: str = ""
    kinds: set[str] = field(default_factory=set)
    qualifiers: list[tuple[str, object]] = field(default_factory=list)  # (property, iri | literal | Value)
    conflicts: list[dict] = field(default_factory=list)

    @property
    def id(self) -> str:
        return local(self.iri)

    @property
    def negated(self) -> bool:
        return self.polarity == MRKG + "Negated"

    @property
    def hedged(self) -> bool:
        return self.certainty == MRKG + "Hedged"

    @property
    def values(self) -> list[Value]:
        found = [self.obj_value] if self.obj_value else []
        return found + [v for _, v in self.qualifiers if isinstance(v, Value)]

    def qualifier(self, name: str) -> list:
        return [v for p, v in self.qualifiers if p == MRKG + name]

    @property
    def section(self) -> str:
        return section_of(self.predicate, self.group)


def section_of(predicate: str, group: str) -> str:
    for key, _, members in SECTIONS:
        for member in members:
            if member.startswith("group:") and group == MRKG + member[6:]:
                return key
            if predicate == MRKG + member:
                return key
    return OTHER[0]


# Claim properties whose one value is kept as it is, under the attribute named here.
CLAIM_FIELDS = {MRKG + "polarity": "polarity", MRKG + "certainty": "certainty", MRKG + "hedgeCue": "hedge_cue",
                MRKG + "quote": "quote", MRKG + "subjectText": "subject_text", MRKG + "objectText": "object_text",
                PROV + "wasDerivedFrom": "source", RDFS_LABEL: "label"}


def load_claims(pattern: str) -> list[Claim]:
    """Every claim ``?claim`` that ``pattern`` (a SPARQL group pattern binding ?claim) finds, with all its properties
    and, one level down, the properties of its value nodes (IRIs under the claim's own, such as claim:X/frequency)."""
    # One row per claim (its properties, and those of its value nodes, packed into one string), so that a page of
    # 400 claims stays far below the row cap.
    packed = select(f"""
        SELECT ?claim (GROUP_CONCAT(?item; separator="{RS}") AS ?items) WHERE {{
          {{ SELECT DISTINCT ?claim WHERE {{ {pattern} ?claim a mrkg:Claim . }} }}
          ?claim ?p ?o .
          FILTER(?p != mrkg:annotation)
          OPTIONAL {{ FILTER(isIRI(?o) && STRSTARTS(STR(?o), CONCAT(STR(?claim), "/"))) ?o ?vp ?vo }}
          BIND(CONCAT(STR(?p), "{US}", IF(isIRI(?o), "uri", "literal"), "{US}", STR(?o), "{US}",
                      COALESCE(STR(?vp), ""), "{US}", COALESCE(STR(?vo), "")) AS ?item)
        }} GROUP BY ?claim""")
    rows = []
    for row in packed:
        for item in row["items"]["value"].split(RS):
            p, kind, o, vp, vo = item.split(US)
            one = {"claim": row["claim"], "p": {"value": p}, "o": {"type": kind, "value": o}}
            if vp:
                one |= {"vp": {"value": vp}, "vo": {"value": vo}}
            rows.append(one)
    claims: dict[str, Claim] = {}
    values: dict[str, Value] = {}
    seen: set[tuple] = set()
    for row in rows:
        iri = row["claim"]["value"]
        claim = claims.setdefault(iri, Claim(iri))
        p, o = row["p"]["value"], row["o"]
        if "vp" in row:
            value = values.setdefault(o["value"], Value(o["value"]))
            vp, vo = row["vp"]["value"], row["vo"]["value"]
            name = vp[len(MRKG):] if vp.startswith(MRKG) else ""
            if name == "originalText":
                value.text = vo
            elif name in VALUE_NUMBERS:
                value.numbers[name] = vo
            elif name == "unit":
                value.unit = vo
            elif name == "frequencyTerm":
                value.term = vo
            elif name == "bound":
                value.bound = vo
            elif name == "approximate":
                value.approximate = vo == "true"
            elif vp == RDF_TYPE:
                value.kinds.add(vo)
        key = (iri, p, o["value"])
        if key in seen:
            continue
        seen.add(key)
        is_value = o["type"] == "uri" and o["value"].startswith(iri + "/")
        if p == MRKG + "subject":
            claim.subject = o["value"]
        elif p == MRKG + "predicate":
            claim.predicate = o["value"]
        elif p == MRKG + "predicateGroup":
            claim.group = o["value"]
        elif p == MRKG + "object":
            claim.obj = o["value"]
            claim.obj_is_iri = o["type"] == "uri" and not is_value
            if is_value:
                claim.obj_value = values.setdefault(o["value"], Value(o["value"]))
        elif p in CLAIM_FIELDS:
            setattr(claim, CLAIM_FIELDS[p], o["value"])
        elif p == RDF_TYPE:
            if o["value"] != MRKG + "Claim":
                claim.kinds.add(o["value"])
        elif p not in CORE:
            if is_value:
                claim.qualifiers.append((p, values.setdefault(o["value"], Value(o["value"]))))
            elif o["type"] == "uri":
                claim.qualifiers.append((p, o["value"]))
            else:
                claim.qualifiers.append((p, ("literal", o["value"])))
    for claim in claims.values():
        claim.qualifiers.sort(key=lambda item: (item[0], str(item[1])))
    return sorted(claims.values(), key=lambda c: (c.source, c.iri))


def attach_conflicts(claims: list[Claim]) -> None:
    """Each claim's conflicts (the conflict nodes whose sides include it), with kind and severity."""
    if not claims:
        return
    rows = select_values("""
        SELECT ?claim ?conflict ?kind ?severity ?status WHERE {
          VALUES ?claim { {values} }
          ?conflict mrkg:conflictingClaim ?claim .
          OPTIONAL { ?conflict mrkg:conflictKind ?kind } OPTIONAL { ?conflict mrkg:conflictSeverity ?severity }
          OPTIONAL { ?conflict mrkg:curationStatus ?status }
        }""", [c.iri for c in claims])
    by_claim = {c.iri: c for c in claims}
    for row in rows:
        item = {k: v["value"] for k, v in row.items()}
        by_claim[item["claim"]].conflicts.append(item)


def mentioned(claims: list[Claim]) -> set[str]:
    """The IRIs a claim card names, for one label query."""
    found: set[str] = set()
    for c in claims:
        found |= {c.subject, c.predicate, c.group, c.source, c.polarity, c.certainty} | c.kinds
        if c.obj_is_iri:
            found.add(c.obj)
        for p, v in c.qualifiers:
            found.add(p)
            if isinstance(v, str):
                found.add(v)
        for v in c.values:
            if v.bound:
                found.add(v.bound)
        for x in c.conflicts:
            found |= {x["conflict"], x.get("kind", ""), x.get("severity", ""), x.get("status", "")}
    return {i for i in found if i}


# --- Conflicts ---------------------------------------------------------------------------------------------------

CONFLICT_FIELDS = ("label", "explanation", "kind", "severity", "status", "reason", "topicSubject", "topicPredicate")


def load_conflicts(pattern: str = "") -> list[dict]:
    """Conflicts (``?conflict`` bound by ``pattern``, all when empty) with kind, severity, curation, topic and
    the claims of each side."""
    rows = select(f"""
        SELECT ?conflict ?label ?explanation ?kind ?severity ?status ?reason ?s ?p ?o ?side ?position ?claim ?member
        WHERE {{
          {pattern}
          ?conflict a mrkg:Conflict .
          OPTIONAL {{ ?conflict rdfs:label ?label }} OPTIONAL {{ ?conflict mrkg:explanation ?explanation }}
          OPTIONAL {{ ?conflict mrkg:conflictKind ?kind }} OPTIONAL {{ ?conflict mrkg:conflictSeverity ?severity }}
          OPTIONAL {{ ?conflict mrkg:curationStatus ?status }} OPTIONAL {{ ?conflict mrkg:curatorReason ?reason }}
          OPTIONAL {{ ?conflict mrkg:topicSubject ?s }} OPTIONAL {{ ?conflict mrkg:topicPredicate ?p }}
          OPTIONAL {{ ?conflict mrkg:topicObject ?o }} OPTIONAL {{ ?conflict mrkg:conflictingClaim ?member }}
          OPTIONAL {{ ?conflict mrkg:side ?side . OPTIONAL {{ ?side mrkg:position ?position }}
                      OPTIONAL {{ ?side mrkg:sideClaim ?claim }} }}
        }}""")
    conflicts: dict[str, dict] = {}
    for row in rows:
        v = {k: b["value"] for k, b in row.items()}
        c = conflicts.setdefault(v["conflict"], {"iri": v["conflict"], "id": local(v["conflict"]), "objects": [],
                                                 "sides": {}, "claims": []})
        if "member" in v and v["member"] not in c["claims"]:
            c["claims"].append(v["member"])
        for key in ("label", "explanation", "kind", "severity", "status", "reason", "s", "p"):
            if key in v:
                c.setdefault(key, v[key])
        if "o" in v and v["o"] not in c["objects"]:
            c["objects"].append(v["o"])
        if "side" in v:
            side = c["sides"].setdefault(v["side"], {"iri": v["side"], "position": v.get("position", ""),
                                                      "claims": []})
            if "claim" in v and v["claim"] not in side["claims"]:
                side["claims"].append(v["claim"])
    for c in conflicts.values():
        c["sides"] = [c["sides"][k] for k in sorted(c["sides"])]
    return sorted(conflicts.values(), key=lambda c: c["iri"])


SEVERITY_ORDER = {MRKG + "Contradiction": 0, MRKG + "SubstantiveDifference": 1, MRKG + "MinorDifference": 2}


def conflict_vocabulary() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The kinds and severities the ontology declares, as (iri, label), for the index filters."""
    rows = select("""SELECT ?x ?class ?label WHERE { VALUES ?class { mrkg:ConflictKind mrkg:ConflictSeverity }
                     ?x a ?class . OPTIONAL { ?x rdfs:label ?label } }""")
    kinds, severities = {}, {}
    for row in rows:
        target = kinds if row["class"]["value"].endswith("ConflictKind") else severities
        target[row["x"]["value"]] = row.get("label", {}).get("value") or local(row["x"]["value"])
    return (sorted(kinds.items(), key=lambda kv: kv[1]),
            sorted(severities.items(), key=lambda kv: SEVERITY_ORDER.get(kv[0], 9)))


def group_by_section(claims: list[Claim]) -> dict[str, list[Claim]]:
    groups: dict[str, list[Claim]] = defaultdict(list)
    for c in claims:
        groups[c.section].append(c)
    return groups
