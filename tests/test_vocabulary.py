"""The vocabulary's structure (issue 15): entity links (broader, part_of) read and checked with file:line, the
grouping super-properties materialised by the build, and the natural queries they make possible on the real build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from mrkg.facts import check_references, load_facts
from mrkg.model import ENTITY_TYPES, KINDS, PREDICATE_GROUPS
from mrkg.queries import open_store, run

PREFIXES = """PREFIX mrkg: <https://w3id.org/mrkg/ontology/>
PREFIX ent: <https://w3id.org/mrkg/entity/>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
ASSERTED = "<https://w3id.org/mrkg/graph/asserted>"
ENTITIES = "<https://w3id.org/mrkg/graph/entities>"


# --- reading and checking the links ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def facts():
    loaded, errors = load_facts(REPO / "facts")
    check_references(loaded, errors)
    assert not errors, "\n".join(str(e) for e in errors)
    return loaded


def test_links_are_read_from_the_entity_files(facts):
    assert facts.entities["gaba-b-receptor"].broader == ["gaba-receptor"]
    assert facts.entities["gaba-a-receptor"].broader == ["gaba-receptor"]
    assert facts.entities["brainstem"].part_of == ["nervous-system"]
    assert facts.entities["back-pain"].broader == ["musculoskeletal-pain", "musculoskeletal-condition"]
    assert facts.entities["gaba-receptor"].broader == [] and facts.entities["gaba-receptor"].part_of == []


def test_every_link_says_which_source_words_support_it(facts):
    """A link is never from memory: the entity's note quotes the sources' words for it."""
    for entity in facts.entities.values():
        for key in ("broader", "part_of"):
            for target in getattr(entity, key):
                assert entity.note and f"({key}:" in entity.note and '"' in entity.note, (
                    f"{entity.file}:{entity.line}: {entity.id} {key} {target}: say in note which source words "
                    "support it")


def test_types_fixed_where_the_sources_speak_of_effects_and_systems(facts):
    assert facts.entities["sedation"].type == "adverse-effect"
    assert facts.entities["seizure"].type == "adverse-effect"
    assert facts.entities["gaba-system"].type == "physiological-system"
    assert ENTITY_TYPES["physiological-system"] == "PhysiologicalSystem"
    # the use kinds take such an effect as their object (benzodiazepines "primarily for ... seizures, and sedation")
    for kind in ("indication", "off-label-use", "efficacy", "recommendation"):
        assert KINDS[kind].objects == {"condition", "adverse-effect"}
    assert "physiological-system" in KINDS["target"].objects


def _tree(tmp_path: Path) -> Path:
    facts = tmp_path / "facts"
    shutil.copytree(REPO / "facts", facts)
    return facts


def _edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` once; the 1-based line where ``new`` starts."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def _errors(facts_dir: Path) -> list[str]:
    loaded, errors = load_facts(facts_dir, root=facts_dir.parent)
    check_references(loaded, errors)
    return [str(e) for e in errors]


GABA_A = ("  - id: gaba-a-receptor\n    label: GABA-A receptor\n    synonyms: [GABA-A receptors, GABA-A]\n"
          "    broader: [gaba-receptor]\n")


def test_a_link_to_an_unknown_entity_is_refused_with_its_line_and_a_suggestion(tmp_path: Path):
    facts = _tree(tmp_path)
    line = _edit(facts / "entities" / "targets.yaml", GABA_A, GABA_A.replace("[gaba-receptor]", "[gaba-recepter]"))
    assert _errors(facts) == [f"facts/entities/targets.yaml:{line + 3}: entity 'gaba-a-receptor': broader "
                              "'gaba-recepter' is not an entity in facts/entities/; did you mean 'gaba-receptor'?"]


def test_a_link_must_be_an_entity_id(tmp_path: Path):
    facts = _tree(tmp_path)
    line = _edit(facts / "entities" / "targets.yaml", GABA_A,
                 GABA_A.replace("    broader: [gaba-receptor]\n", "    broader:\n      - GABA receptor\n      - 12\n"))
    errors = _errors(facts)
    assert f"facts/entities/targets.yaml:{line + 4}: entity 'gaba-a-receptor': broader must list entity ids " \
           "(lower-case letters, digits and hyphens), not 'GABA receptor'" in errors
    assert any(e.startswith(f"facts/entities/targets.yaml:{line + 5}: ") and "not 12" in e for e in errors)
    assert len(errors) == 2


def test_a_link_outside_its_type_family_is_refused(tmp_path: Path):
    facts = _tree(tmp_path)
    line = _edit(facts / "entities" / "targets.yaml", GABA_A,
                 GABA_A.replace("[gaba-receptor]", "[gaba-receptor, spasticity]"))
    assert _errors(facts) == [f"facts/entities/targets.yaml:{line + 3}: entity 'gaba-a-receptor': broader 'spasticity' "
                              "is a condition, but a target can only have broader target"]


def test_part_of_is_for_anatomy_only(tmp_path: Path):
    facts = _tree(tmp_path)
    line = _edit(facts / "entities" / "targets.yaml", GABA_A, GABA_A + "    part_of: [brain]\n")
    assert _errors(facts) == [f"facts/entities/targets.yaml:{line + 4}: entity 'gaba-a-receptor': part_of is for "
                              "anatomical sites only; a target has none"]


def test_an_adverse_effect_may_be_narrower_than_a_condition(tmp_path: Path):
    """Signs, symptoms and effects are one family with conditions (seizure, sedation are adverse effects)."""
    facts = _tree(tmp_path)
    _edit(facts / "entities" / "adverse-effects.yaml", "  - id: rebound-spasticity\n    label: rebound spasticity\n",
          "  - id: rebound-spasticity\n    label: rebound spasticity\n    broader: [spasticity]\n")
    assert _errors(facts) == []


def test_a_cycle_is_refused_with_its_path(tmp_path: Path):
    facts = _tree(tmp_path)
    old = "  - id: gaba-receptor\n    label: GABA receptor\n    synonyms: [GABA receptors]\n"
    line = _edit(facts / "entities" / "targets.yaml", old, old + "    broader: [gaba-b-receptor]\n")
    errors = _errors(facts)
    assert len(errors) == 1
    assert "entity 'gaba-b-receptor': broader forms a cycle: gaba-b-receptor -> gaba-receptor -> gaba-b-receptor; " \
           "a concept cannot be broader of itself" in errors[0]


def test_a_longer_part_of_cycle_and_a_self_link_are_refused(tmp_path: Path):
    facts = _tree(tmp_path)
    sites = facts / "entities" / "anatomical-sites.yaml"
    _edit(sites, "  - id: nervous-system\n    label: nervous system\n",
          "  - id: nervous-system\n    label: nervous system\n    part_of: [brain]\n")
    _edit(sites, "  - id: brain\n    label: brain\n", "  - id: brain\n    label: brain\n    part_of: [brainstem]\n")
    line = _edit(sites, "  - id: spine\n    label: spine\n", "  - id: spine\n    label: spine\n    part_of: [spine]\n")
    errors = _errors(facts)
    assert any("entity 'brain': part_of forms a cycle: brain -> brainstem -> nervous-system -> brain; a concept "
               "cannot be a part of itself" in e for e in errors), errors
    assert f"facts/entities/anatomical-sites.yaml:{line + 2}: entity 'spine': part_of names the entity itself" in errors
    assert len(errors) == 2


def test_a_cycle_fails_the_build_which_publishes_nothing(tmp_path: Path, sources_dir: Path, reference_tsv: Path):
    facts = _tree(tmp_path)
    old = "  - id: gaba-receptor\n    label: GABA receptor\n    synonyms: [GABA receptors]\n"
    _edit(facts / "entities" / "targets.yaml", old, old + "    broader: [gaba-a-receptor]\n")
    text = (facts / "entities" / "targets.yaml").read_text()
    line = text[: text.index(GABA_A)].count("\n") + 4  # the cycle is reported at the link of its smallest id
    out = tmp_path / "build"
    result = subprocess.run([sys.executable, "-m", "mrkg", "build", "--facts", str(facts), "--ontology",
                             str(REPO / "ontology"), "--sources", str(sources_dir), "--reference", str(reference_tsv),
                             "--out", str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={**os.environ})
    assert result.returncode == 1, result.stderr
    assert f"facts/entities/targets.yaml:{line}: entity 'gaba-a-receptor': broader forms a cycle: " \
           "gaba-a-receptor -> gaba-receptor -> gaba-a-receptor" in result.stderr
    assert not out.exists()


# --- the real build: materialised groups and the natural queries --------------------------------------------------


@pytest.fixture(scope="module")
def store(build_dir: Path):
    return open_store(build_dir)


def _select(store, body: str) -> list[tuple[str, ...]]:
    return run(store, PREFIXES + body)[1]


def _grouped_claims(facts, group: str) -> set[tuple[str, str, str]]:
    members = PREDICATE_GROUPS[group]
    return {(c.subject, c.object or "", c.full_id) for c in facts.claims() if c.predicate in members}


def test_the_ontology_declares_each_group_over_its_members(store):
    for group, members in PREDICATE_GROUPS.items():
        rows = _select(store, f"SELECT ?p WHERE {{ GRAPH <https://w3id.org/mrkg/graph/ontology> {{ "
                              f"?p rdfs:subPropertyOf mrkg:{group} }} }}")
        assert {r[0] for r in rows} == {f"mrkg:{m}" for m in members}
        assert _select(store, f"SELECT ?d WHERE {{ mrkg:{group} skos:definition ?d }}")


def test_all_adverse_outcomes_of_baclofen_with_their_sources_is_one_query(store, facts):
    rows = _select(store, """SELECT DISTINCT ?outcome ?predicate ?source WHERE {
        ?claim mrkg:subject ent:baclofen ; mrkg:predicateGroup mrkg:hasAdverseOutcome ; mrkg:object ?outcome ;
               mrkg:predicate ?predicate ; mrkg:polarity mrkg:Affirmed ; prov:wasDerivedFrom ?source . }""")
    expected = {(f"ent:{c.object}", f"mrkg:{c.predicate}", f"src:{c.source_id}") for c in facts.claims()
                if c.subject == "baclofen" and not c.negated and c.predicate in PREDICATE_GROUPS["hasAdverseOutcome"]}
    assert set(rows) == expected
    kinds = {p for _, p, _ in rows}
    assert kinds == {"mrkg:hasAdverseEffect", "mrkg:hasRiskOf", "mrkg:hasWithdrawalEffect",
                     "mrkg:requiresTaperingToAvoid"}
    assert ("ent:falls", "mrkg:hasRiskOf", "src:002") in rows  # a risk, which an adverse-effect query misses


@pytest.mark.parametrize("group", sorted(PREDICATE_GROUPS))
def test_every_claim_of_a_group_and_no_other_carries_it(store, facts, group: str):
    rows = _select(store, f"SELECT ?id WHERE {{ ?claim mrkg:predicateGroup mrkg:{group} ; "
                          "<http://purl.org/dc/terms/identifier> ?id }")
    assert {r[0].strip('"') for r in rows} == {cid for _, _, cid in _grouped_claims(facts, group)}
    assert len(rows) == len(_grouped_claims(facts, group))


@pytest.mark.parametrize("group", sorted(PREDICATE_GROUPS))
def test_the_asserted_graph_holds_the_group_triple_of_every_affirmed_member(store, group: str):
    members = " ".join(f"mrkg:{m}" for m in PREDICATE_GROUPS[group])
    grouped = set(_select(store, f"SELECT ?s ?o WHERE {{ GRAPH {ASSERTED} {{ ?s mrkg:{group} ?o }} }}"))
    specific = set(_select(store, f"SELECT DISTINCT ?s ?o WHERE {{ VALUES ?p {{ {members} }} "
                                  f"GRAPH {ASSERTED} {{ ?s ?p ?o }} }}"))
    assert grouped == specific and grouped
    # the group's triples stand only in the asserted graph; the source graphs keep the claim nodes
    elsewhere = _select(store, f"SELECT ?g WHERE {{ GRAPH ?g {{ ?s mrkg:{group} ?o }} FILTER (?g != {ASSERTED}) }}")
    assert elsewhere == []


def test_everything_acting_on_any_gaba_receptor_is_one_query(store):
    rows = _select(store, """SELECT DISTINCT ?drug ?receptor WHERE {
        ?claim mrkg:predicate mrkg:hasTarget ; mrkg:subject ?drug ; mrkg:object ?receptor ;
               mrkg:polarity mrkg:Affirmed .
        ?receptor skos:broader* ent:gaba-receptor . }""")
    assert set(rows) == {("ent:baclofen", "ent:gaba-b-receptor"), ("ent:baclofen", "ent:gaba-receptor"),
                         ("ent:benzodiazepines", "ent:gaba-a-receptor"), ("ent:benzodiazepines", "ent:gaba-receptor")}
    plain = _select(store, f"""SELECT DISTINCT ?drug WHERE {{ GRAPH {ASSERTED} {{ ?drug mrkg:hasTarget ?r }}
        ?r skos:broader* ent:gaba-receptor . }}""")
    assert set(plain) == {("ent:baclofen",), ("ent:benzodiazepines",)}
    # the GABA neurotransmitter system is a physiological system, not a receptor
    assert _select(store, "SELECT ?c WHERE { ent:gaba-system a ?c }") == [("mrkg:PhysiologicalSystem",)]


def test_entity_links_stand_in_the_entities_graph(store, facts):
    broader = set(_select(store, f"SELECT ?a ?b WHERE {{ GRAPH {ENTITIES} {{ ?a skos:broader ?b }} }}"))
    part_of = set(_select(store, f"SELECT ?a ?b WHERE {{ GRAPH {ENTITIES} {{ ?a mrkg:partOf ?b }} }}"))
    assert broader == {(f"ent:{e.id}", f"ent:{b}") for e in facts.entities.values() for b in e.broader}
    assert part_of == {(f"ent:{e.id}", f"ent:{b}") for e in facts.entities.values() for b in e.part_of}
    # partOf is a sub-property of BFO part of, and reaches the whole through property paths
    bfo = "<http://purl.obolibrary.org/obo/BFO_0000050>"
    assert _select(store, f"ASK {{ mrkg:partOf rdfs:subPropertyOf {bfo} }}") == [("true",)]
    sites = {r[0] for r in _select(store, "SELECT ?s WHERE { ?s mrkg:partOf* ent:nervous-system }")}
    assert {"ent:brainstem", "ent:spinal-cord", "ent:central-nervous-system", "ent:nervous-system"} <= sites


def test_the_real_build_conforms_to_the_shapes_with_the_new_terms(built):
    """0 violations: predicate groups, entity links and the new types are all allowed by the shapes."""
    assert built.report is not None and built.report.conforms
    assert not [r for r in built.report.results if r.severity == "Violation"]


def test_mrkg_validate_in_context_accepts_a_link_to_another_file_and_refuses_a_cycle(tmp_path: Path, sources_dir: Path):
    """`mrkg validate` sees only the entities a file names: a broader entity of another file is no violation there."""
    effects = (REPO / "facts" / "entities" / "adverse-effects.yaml").read_text(encoding="utf-8")
    old = "  - id: rebound-spasticity\n    label: rebound spasticity\n"
    linked = tmp_path / "linked" / "adverse-effects.yaml"
    linked.parent.mkdir()
    linked.write_text(effects.replace(old, old + "    broader: [spasticity]\n    note: a test link\n"),
                      encoding="utf-8")
    targets = (REPO / "facts" / "entities" / "targets.yaml").read_text(encoding="utf-8")
    old_t = "  - id: gaba-receptor\n    label: GABA receptor\n    synonyms: [GABA receptors]\n"
    cyclic = tmp_path / "cyclic" / "targets.yaml"
    cyclic.parent.mkdir()
    cyclic.write_text(targets.replace(old_t, old_t + "    broader: [gaba-b-receptor]\n"), encoding="utf-8")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def validate(path: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mrkg", "validate", "--sources", str(sources_dir), str(path)],
                              cwd=REPO, capture_output=True, text=True, timeout=300, env=env)

    ok = validate(linked)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Violation" not in ok.stdout
    bad = validate(cyclic)
    assert bad.returncode == 1
    assert "entity gaba-b-receptor: broader forms a cycle: gaba-b-receptor -> gaba-receptor -> gaba-b-receptor" \
        in bad.stdout + bad.stderr
