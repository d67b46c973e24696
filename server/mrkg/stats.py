"""Coverage figures: claims per source and kind, negated, hedged, conflicts, entities, mappings."""

from __future__ import annotations

from collections import Counter

from .conflicts import Conflict
from .facts import Facts


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
        "entities_per_type": dict(sorted(Counter(e.type for e in facts.entities.values()).items())),
    }


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
    lines.append("entities: " + ", ".join(f"{k} {n}" for k, n in stats["entities_per_type"].items()))
    return "\n".join(lines)
