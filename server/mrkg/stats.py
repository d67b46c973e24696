"""Coverage figures: claims per source and kind, negated, hedged, conflicts, entities, mappings."""

from __future__ import annotations

from collections import Counter

from .conflicts import Conflict
from .facts import Facts


# stats key -> the cue field whose type concepts it counts
CUE_STATS = {
    "hedged_claims_per_cue_type": "hedge",
    "claims_per_modality": "modality",
    "claims_per_frequency_term": "frequency_term",
    "claims_per_advice": "advice",
    "claims_per_evidence_grade": "evidence_level",
    "claims_per_severity": "severity",
}


def _local(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


def meaning_stats(claims: list) -> dict:
    """Claims per type of each cue field (a claim whose cue holds two types counts once in each), per negation
    scope and per use status."""
    from .rdf import cue_types

    out: dict[str, dict[str, int]] = {}
    for key, field_name in CUE_STATS.items():
        counter: Counter = Counter()
        for claim in claims:
            if field_name in claim.cues:
                for concept in cue_types(claim, field_name) or ["(no lexicon entry)"]:
                    counter[_local(concept)] += 1
        out[key] = dict(sorted(counter.items()))
    out["negated_claims_per_scope"] = dict(sorted(Counter(c.negation_scope for c in claims if c.negated).items()))
    out["claims_per_use_status"] = dict(sorted(Counter(c.enum_qualifiers["use_status"] for c in claims
                                                       if "use_status" in c.enum_qualifiers).items()))
    return out


def compute_stats(facts: Facts, conflicts: list[Conflict]) -> dict:
    claims = list(facts.claims())
    per_source: dict[str, dict[str, int]] = {}
    for claim in claims:
        per_source.setdefault(claim.source_id, Counter())[claim.kind] += 1
    return {
        "claims": len(claims),
        "negatedClaims": sum(c.negated for c in claims),
        "hedgedClaims": sum(bool(c.hedge) for c in claims),
        "conflicts": len(conflicts),
        "entities": len(facts.entities),
        "mappings": sum(len(e.mappings) for e in facts.entities.values()),
        "sources": len(facts.sources),
        "claims_per_source": {s: sum(k.values()) for s, k in sorted(per_source.items())},
        "claims_per_source_and_kind": {s: dict(sorted(k.items())) for s, k in sorted(per_source.items())},
        "claims_per_kind": dict(sorted(Counter(c.kind for c in claims).items())),
        "conflicts_per_kind": dict(sorted(Counter(c.kind for c in conflicts).items())),
        "conflicts_per_severity": dict(sorted(Counter(c.severity for c in conflicts).items())),
        "conflicts_per_status": dict(sorted(Counter(c.status for c in conflicts).items())),
        "conflicts_per_kind_and_severity": {f"{k} {s}": n for (k, s), n in
                                            sorted(Counter((c.kind, c.severity) for c in conflicts).items())},
        "statements_per_agreement": _agreement(facts, conflicts),
        "entities_per_type": dict(sorted(Counter(e.type for e in facts.entities.values()).items())),
        **meaning_stats(claims),
    }


def _agreement(facts: Facts, conflicts: list[Conflict]) -> dict[str, int]:
    from .consensus import statements

    return dict(sorted(Counter(st.agreement for st in statements(facts, conflicts)).items()))


def format_stats(stats: dict) -> str:
    lines = [f"{key}: {stats[key]}" for key in ("sources", "claims", "negatedClaims", "hedgedClaims", "conflicts",
                                                "entities", "mappings")]
    kinds = sorted(stats["claims_per_kind"])
    sources = sorted(stats["claims_per_source_and_kind"])
    width = max([len(k) for k in kinds] + [5])
    lines.append("")
    lines.append("kind".ljust(width) + "".join(s.rjust(6) for s in sources) + "total".rjust(7))
    for kind in kinds:
        row = [stats["claims_per_source_and_kind"][s].get(kind, 0) for s in sources]
        lines.append(kind.ljust(width) + "".join(str(n).rjust(6) for n in row) + str(sum(row)).rjust(7))
    lines.append("total".ljust(width) + "".join(str(stats["claims_per_source"][s]).rjust(6) for s in sources)
                 + str(stats["claims"]).rjust(7))
    lines.append("")
    lines.append("conflicts: " + (", ".join(f"{k} {n}" for k, n in stats["conflicts_per_kind"].items()) or "none"))
    lines.append("conflicts by severity: " + (", ".join(f"{k} {n}" for k, n in stats["conflicts_per_severity"].items())
                                              or "none"))
    lines.append("conflicts by status: " + (", ".join(f"{k} {n}" for k, n in stats["conflicts_per_status"].items())
                                            or "none"))
    lines.append("statements: " + ", ".join(f"{k} {n}" for k, n in stats["statements_per_agreement"].items()))
    lines.append("entities: " + ", ".join(f"{k} {n}" for k, n in stats["entities_per_type"].items()))
    lines.append("")
    for key in (*CUE_STATS, "negated_claims_per_scope", "claims_per_use_status"):
        counts = stats.get(key, {})
        lines.append(key.replace("_", " ") + ": " + (", ".join(f"{k} {n}" for k, n in counts.items()) or "none"))
    return "\n".join(lines)
