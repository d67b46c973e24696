"""The real data, record by record: coverage per source and kind, normalised entities, complete mappings."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import REPO

from mrkg.facts import load_facts

@pytest.fixture(scope="module")
def loaded():
    """The real facts as the build reads them, and the errors found reading them."""
    return load_facts(REPO / "facts")


@pytest.fixture(scope="module")
def facts(loaded):
    return loaded[0]

# Kinds each source plainly contains, from reading the texts (see the quotes in the comments).
PLAINLY_CONTAINS = {
    "000": {  # Is Baclofen Better Than Flexeril? A Comparison
        "drug-class",          # "Baclofen is an antispastic drug"
        "indication",          # "designed for neurological conditions like multiple sclerosis"
        "recommendation",      # "antispastic agents like baclofen should not be prescribed for musculoskeletal conditions"
        "site-of-action",      # "acting within the brainstem"
        "mechanism",           # "reduces the release of signals from nerve fibers"
        "structural-similarity",  # "nearly identical to older tricyclic antidepressants like amitriptyline"
        "efficacy",            # "Baclofen has fair evidence of effectiveness for spasticity"
        "adverse-effect",      # "Dry mouth, dizziness, and fatigue are common complaints"
        "withdrawal",          # "stopping it abruptly after regular use can trigger serious symptoms including seizures"
        "duration",            # "typically no longer than two to three weeks"
        "dose",                # "The starting dose is typically 5 milligrams three times a day"
        "dosage-form",         # "An extended-release capsule taken once daily is also available"
        "brand-name",          # "diphenhydramine (Benadryl)"
    },
    "001": {"drug-class", "brand-name", "route", "dosage-form", "indication", "site-of-action", "efficacy",
            "strength", "dose", "duration", "dose-adjustment", "adverse-effect", "withdrawal", "interaction",
            "risk", "tapering"},
    "002": {  # Is baclofen (GABA receptor agonist) the same as cyclobenzaprine (muscle relaxant)?
        "target",              # "Baclofen is a GABA-B receptor agonist"
        "mechanism",           # "reducing calcium influx and decreasing release of excitatory neurotransmitters"
        "indication",          # "Primarily indicated for severe spasticity"
        "structural-similarity",  # "structurally identical to amitriptyline"
        "adverse-effect",      # "dry mouth, drowsiness, confusion, urinary retention, and constipation"
        "efficacy",            # "does not actually relieve muscle spasm"
        "recommendation",      # "not recommended for routine musculoskeletal pain"
        "withdrawal",          # "can cause withdrawal symptoms including malaise, nausea, and headache"
        "tapering",            # "requires slow tapering when discontinuing after prolonged use"
        "risk",                # "higher risk of falls compared to tizanidine … (subdistribution hazard ratio 1.68"
        "interaction",         # "Monitor for serotonin syndrome when combining with SSRIs or SNRIs"
        "contraindication",    # "Contraindicated with monoamine oxidase inhibitors"
        "population-caution",  # "extreme caution in this population" (older adults)
    },
    "003": {  # What is Baclofen: Uses, Dosage, Side Effects and More
        "drug-class",          # "belongs to a class of drugs called gamma-aminobutyric acid (GABA) agonists"
        "indication",          # "primarily prescribed to treat muscle spasticity"
        "off-label-use",       # "off-label for conditions like alcohol withdrawal"
        "target",              # "targeting specific receptors in your spinal cord and brain called GABA-B receptors"
        "onset",               # "start feeling the effects within a few hours"
        "dose",                # "typically 5mg three times daily"
        "duration",            # "take it for months or years"
        "adverse-effect",      # "Drowsiness or fatigue"
        "withdrawal",          # "Stopping abruptly can cause dangerous withdrawal symptoms including seizures"
        "contraindication",    # "should not take baclofen if you have a known allergy"
        "population-caution",  # "Older adults may be more sensitive to baclofen's effects"
        "dose-adjustment",     # "Baclofen requires dose adjustments in people with kidney disease"
        "elimination",         # "eliminated through the kidneys"
        "brand-name",          # "The most well-known brand name is Lioresal"
        "dosage-form",         # "Kemstro is a special orally disintegrating tablet"
        "history",             # "first developed in the 1960s"
        "monitoring",          # "blood tests to check your kidney function"
        "tapering",            # "a gradual tapering schedule"
    },
    "004": {  # Is Baclofen a Benzodiazepine?
        "drug-class",          # "Baclofen is not a benzodiazepine"
        "target",              # "Baclofen targets GABA-B receptors; benzodiazepines target GABA-A receptors"
        "mechanism",           # "inhibits nerve signals that cause muscles to contract excessively"
        "indication",          # "Multiple sclerosis", "Spinal cord injuries", "Cerebral palsy"
        "off-label-use",       # "prescribe baclofen off-label for other conditions"
        "adverse-effect",      # "Baclofen's side effects include dizziness and weakness"
        "withdrawal",          # "potential withdrawal symptoms if discontinued abruptly"
        "risk",                # "Baclofen has a lower risk of dependence compared to benzodiazepines"
        "interaction",         # "Other central nervous system depressants (e.g., opioids, alcohol) can increase sedation"
        "structural-similarity",  # "a derivative of gamma-aminobutyric acid (GABA)"
    },
}


def _counts(facts) -> dict[str, Counter]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for claim in facts.claims():
        counts[claim.source_id][claim.kind] += 1
    return counts


def test_facts_load_without_errors(loaded):
    errors = loaded[1]
    assert not errors, "\n".join(map(str, errors)) + "\n(run `make build` to see them in context)"


def test_claim_counts_per_source_and_kind_are_those_of_the_yaml(facts, capsys):
    """Every claim item of every source file is read, under its kind (counted here with PyYAML alone)."""
    import yaml

    from mrkg.conflicts import find_conflicts
    from mrkg.stats import compute_stats, format_stats

    stats = compute_stats(facts, find_conflicts(facts))
    with capsys.disabled():
        print("\n" + format_stats(stats))
    written = {}
    for path in sorted((REPO / "facts" / "sources").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        written[str(data["source"]["id"])] = dict(sorted(Counter(c["kind"] for c in data["claims"]).items()))
    assert stats["claims_per_source_and_kind"] == written
    assert stats["claims"] == sum(sum(kinds.values()) for kinds in written.values())


@pytest.mark.parametrize("source_id", sorted(PLAINLY_CONTAINS))
def test_source_has_every_kind_it_plainly_contains(facts, source_id: str):
    assert source_id in facts.sources, f"facts/sources/{source_id}.yaml is missing"
    have = _counts(facts)[source_id]
    missing = sorted(kind for kind in PLAINLY_CONTAINS[source_id] if not have[kind])
    assert not missing, f"source {source_id} has no claim of kind {missing}; encode them in facts/sources/{source_id}.yaml"


# Sources that hedge none of their statements epistemically: 002's "can", "potential", "Consider" and "only rarely
# considered" are modality, advice and frequency words, which never make a claim hedged (facts/README.md).
UNHEDGED_SOURCES = {"002"}


@pytest.mark.parametrize("source_id", sorted(PLAINLY_CONTAINS))
def test_source_has_negated_and_hedged_claims_where_it_makes_them(facts, source_id: str):
    claims = facts.sources[source_id].claims
    assert any(c.negated for c in claims), f"source {source_id}: no negated claim"
    if source_id in UNHEDGED_SOURCES:
        assert not any(c.hedge for c in claims), f"source {source_id} hedges nothing, yet a claim of it is hedged"
    else:
        assert any(c.hedge for c in claims), f"source {source_id}: no hedged claim"


def test_no_two_entities_share_a_name(facts):
    seen: dict[str, str] = {}
    for entity in facts.entities.values():
        for name in {entity.label.casefold(), *(s.casefold() for s in entity.synonyms)}:
            assert name not in seen or seen[name] == entity.id, (
                f"{entity.file}:{entity.line}: '{name}' names both {seen.get(name)} and {entity.id}; merge them")
            seen[name] = entity.id


def test_every_entity_is_used_by_a_claim(facts):
    used = set()
    for claim in facts.claims():
        used |= set(claim.entity_ids())
    orphans = sorted(e.id for e in facts.entities.values() if e.id not in used)
    assert not orphans, f"entities no claim uses (remove them or encode the claim): {orphans}"


def _reference_rows(reference_tsv: Path) -> dict[str, dict[str, set[str]]]:
    rows: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    with reference_tsv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            evidence = row["evidence_where_found"]
            if row["id"].strip() and not evidence.startswith(("not verified", "indirect only")):
                rows[row["entity"].strip()][row["scheme"].strip()].add(row["id"].strip())
    return rows


def test_every_confirmed_identifier_of_a_mapped_entity_is_mapped(facts, reference_tsv: Path):
    rows = _reference_rows(reference_tsv)
    for entity in facts.entities.values():
        if not entity.reference:
            continue
        confirmed = {(scheme, ident) for scheme, ids in rows[entity.reference].items() for ident in ids}
        mapped = {(m.scheme, m.id) for m in entity.mappings}
        assert confirmed <= mapped, (f"{entity.file}:{entity.line}: entity {entity.id} lacks confirmed mappings "
                                     f"{sorted(confirmed - mapped)} from the reference table")


def test_entities_named_in_the_reference_table_carry_its_mappings(facts, reference_tsv: Path):
    rows = _reference_rows(reference_tsv)
    for entity in facts.entities.values():
        names = {entity.label.casefold(), entity.id.replace("-", " ").casefold()}
        matches = [name for name in rows if name.casefold() in names]
        if matches and not entity.reference:
            pytest.fail(f"{entity.file}:{entity.line}: entity {entity.id} is '{matches[0]}' in the reference "
                        "table; add `reference:` and its mappings")


def test_comparator_names_search_as_one_regex_of_every_name():
    """The note lint's search for a compared entity finds what one regex of all the names (longest first) finds."""
    import re

    from mrkg.facts import _ComparatorNames

    comparable = {n.lower(): n for n in ["baclofen", "baclofen c2", "Tizanidine", "muscle relaxer", "drug", "drugs",
                                          "vs"]}
    names = "|".join(re.escape(n) for n in sorted(comparable, key=len, reverse=True))
    full = re.compile(r"\b(?:compared (?:with|to)|versus|vs\.?|than)\s+(?:\w+\s+){0,2}?(" + names + r")\b", re.I)
    notes = ["less sedating than baclofen c2 at night", "compared with the older drugs", "Compared To TIZANIDINE",
             "than baclofen", "baclofen versus placebo", "vs. muscle relaxer use", "than other muscle relaxers",
             "stronger than any of the three drug", "than a b c baclofen", "compared with a b baclofen",
             "than drugsx", "vs vs", "no cue tizanidine", "", "than İstanbul baclofen", "fewer than    drugs"]
    search = _ComparatorNames(comparable).search
    for note in notes:
        ours, theirs = search(note), full.search(note)
        assert (ours and (ours.span(), ours.group(1))) == (theirs and (theirs.span(), theirs.group(1))), note
