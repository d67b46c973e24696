"""`mrkg validate`: new facts checked in the context of the graph, reports a curator can act on, exit codes 0/1/2,
hostile inputs refused with one line, nothing fetched, nothing changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph, URIRef
from rdflib.namespace import SH

from conftest import REPO, tree_digest

from mrkg.cli import main


@pytest.fixture(scope="module")
def run(sources_dir: Path, reference_tsv: Path, tmp_path_factory: pytest.TempPathFactory):
    cache = tmp_path_factory.mktemp("cache")

    def invoke(*args: str, facts: Path = REPO / "facts"):
        result = CliRunner().invoke(main, ["validate", *args, "--facts", str(facts), "--ontology", str(REPO / "ontology"),
                                           "--shapes", str(REPO / "shapes"), "--sources", str(sources_dir),
                                           "--reference", str(reference_tsv)],
                                    env={"XDG_CACHE_HOME": str(cache)}, catch_exceptions=False)
        return result

    return invoke



def _source_yaml(tmp_path: Path, claims: str, name: str = "001.yaml") -> Path:
    """A copy of source 001's header with the given claims (YAML text)."""
    head = (REPO / "facts" / "sources" / "001.yaml").read_text().split("\nclaims:")[0]
    path = tmp_path / name
    path.write_text(head + "\nclaims:\n" + claims)
    return path


GOOD_CLAIM = """  - id: baclofen-drowsiness-row
    kind: adverse-effect
    subject: baclofen
    object: drowsiness
    quote: Drowsiness 10-63% 29%
    frequency: {text: 10-63%, min: 10, max: 63}
"""


# --- exit codes and reports ------------------------------------------------------------------------------------


def test_validate_real_source_file_conforms_in_context(run, build_dir: Path):
    # A file of facts/ validated in place is compared with the published build: the session's real build here
    # (a fresh clone has no build/ of its own, and then every problem of the file is shown).
    result = run(str(REPO / "facts" / "sources" / "001.yaml"), "--out", str(build_dir))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("conforms:"), result.output  # nothing new: the file is the published one
    assert all(line.startswith("(") for line in lines[1:])  # at most the note of what the published graph has
    assert "Warning" in run(str(REPO / "facts" / "sources" / "001.yaml"), "--all").output  # what --all shows


def test_validate_all_facts_conforms(run):
    result = run("--min-severity", "violation")
    assert result.exit_code == 0, result.output


def _value_at(path: Path, text: str) -> str:
    """``line:column`` where ``text`` (``key: value``) has its value in ``path``."""
    lines = path.read_text().splitlines()
    number = next(i for i, l in enumerate(lines, 1) if l.strip().removeprefix("- ") == text)
    return f"{number}:{lines[number - 1].index(text) + text.index(': ') + 3}"


def test_validate_bad_claim_reports_file_line_column_claim_and_shape(run, tmp_path: Path):
    path = _source_yaml(tmp_path, GOOD_CLAIM.replace("object: drowsiness", "object: tablet"))
    result = run(str(path))
    assert result.exit_code == 1
    line = next(l for l in result.output.splitlines() if "Violation" in l)
    # the place of the value at fault, not of the claim's `- id:` line
    assert line == (f"{path}:{_value_at(path, 'object: tablet')}: Violation: claim 001-baclofen-drowsiness-row: "
                    "object 'tablet' is a dosage-form, but an adverse-effect claim takes adverse-effect or condition "
                    "[mrkgsh:FactsFormat]")


def test_validate_unknown_entity_is_a_violation_at_its_field(run, tmp_path: Path):
    path = _source_yaml(tmp_path, GOOD_CLAIM.replace("object: drowsiness", "object: no-such-effect"))
    result = run(str(path))
    assert result.exit_code == 1
    assert f"{path}:{_value_at(path, 'object: no-such-effect')}: Violation" in result.output
    assert "'no-such-effect' is not an entity" in result.output


def test_validate_quote_not_in_source_yaml(run, tmp_path: Path):
    path = _source_yaml(tmp_path, GOOD_CLAIM.replace("quote: Drowsiness 10-63% 29%", "quote: Euphoria 10-63% 29%"))
    result = run(str(path))
    assert result.exit_code == 1
    assert "quote not found in 001_cdda3a29a8c80455.txt" in result.output


def test_validate_conflict_with_another_source_is_a_warning(run, tmp_path: Path):
    negated = GOOD_CLAIM.replace("    frequency: {text: 10-63%, min: 10, max: 63}\n", "    negated: true\n")
    result = run(str(_source_yaml(tmp_path, negated)))
    assert result.exit_code == 0, result.output
    warning = next(l for l in result.output.splitlines() if "ConflictingClaimShape" in l)
    assert "Warning: claim 001-baclofen-drowsiness-row: conflicts with" in warning
    assert "polarity conflict (contradiction): baclofen has the adverse outcome drowsiness" in warning


def test_validate_lists_no_candidate_conflict_curators_have_dismissed(run, tmp_path: Path):
    # 003 hedges baclofen's sedation ("others may continue to experience sedation"); 000 states it: proposed as a
    # certainty conflict, which facts/conflicts.yaml dismisses. Validating 003 as it is must not bring it back.
    result = run(str(REPO / "facts" / "sources" / "003.yaml"), "--all")
    assert result.exit_code == 0, result.output
    assert "certainty conflict (minor): baclofen has the adverse outcome sedation" not in result.output
    # ... while a new claim that denies the sedation is a candidate conflict with the sources that affirm it.
    denial = """  - id: baclofen-no-sedation
    kind: adverse-effect
    subject: baclofen
    object: sedation
    negated: true
    quote: Drowsiness 10-63% 29%
"""
    result = run(str(_source_yaml(tmp_path, denial)))
    assert "polarity conflict (contradiction): baclofen has the adverse outcome sedation" in result.output


def test_validate_checks_cue_lexicons_as_the_build_does(run, tmp_path: Path):
    hedged = GOOD_CLAIM.replace("    quote:", "    hedge: \"10-63%\"\n    quote:")
    result = run(str(_source_yaml(tmp_path, hedged)))
    assert result.exit_code == 1, result.output
    assert 'hedge "10-63%" is not an epistemic hedge cue' in result.output


def test_validate_cached_context_follows_a_changed_facts_folder(run, tmp_path: Path):
    """The parse cache keeps one index per state of facts/: a changed file is a new state, never a stale context."""
    facts = tmp_path / "facts"
    shutil.copytree(REPO / "facts", facts)
    negated = GOOD_CLAIM.replace("    frequency: {text: 10-63%, min: 10, max: 63}\n", "    negated: true\n")
    (tmp_path / "new").mkdir()
    new = _source_yaml(tmp_path / "new", negated)
    before = run(str(new), facts=facts)
    def conflicting(output: str) -> set[str]:  # the sources of the claims the new claim conflicts with
        return {line.split("(value claim:")[1][:3] for line in output.splitlines()
                if "ConflictingClaimShape" in line and "(value claim:" in line}

    assert "004" in conflicting(before.output)
    other = facts / "sources" / "004.yaml"
    other.write_text(other.read_text().replace("object: drowsiness", "object: dizziness"))
    after = run(str(new), facts=facts)
    assert "004" not in conflicting(after.output) and "000" in conflicting(after.output)


def test_validate_json_and_turtle_formats(run, tmp_path: Path):
    path = _source_yaml(tmp_path, GOOD_CLAIM.replace("max: 63}", "max: 163}"))
    as_json = run(str(path), "--format", "json")
    assert as_json.exit_code == 1
    data = json.loads(as_json.output)
    assert data["conforms"] is False and data["results"][0]["severity"] == "Violation"
    assert data["results"][0]["location"].startswith(str(path))
    as_turtle = run(str(path), "--format", "turtle")
    graph = Graph().parse(data=as_turtle.output, format="turtle")
    report = next(graph.subjects(None, SH.ValidationReport))
    assert graph.value(report, SH.conforms).toPython() is False
    assert len(list(graph.objects(report, SH.result))) == data["counts"]["Violation"] + data["counts"]["Warning"] + \
        data["counts"]["Info"]


def test_validate_changes_nothing(run, tmp_path: Path):
    before = tree_digest(REPO / "facts")
    run(str(_source_yaml(tmp_path, GOOD_CLAIM.replace("object: drowsiness", "object: tablet"))))
    run(str(REPO / "facts" / "sources" / "001.yaml"))
    assert tree_digest(REPO / "facts") == before


def test_validate_entity_file_duplicate_id_and_bad_mapping(run, tmp_path: Path):
    path = tmp_path / "more-drugs.yaml"
    path.write_text("type: drug\nentities:\n  - id: baclofen\n    label: baclofen again\n"
                    "  - id: newdrug\n    label: newdrug\n    reference: baclofen\n"
                    "    mappings:\n      - {scheme: DrugBank, id: DB99999}\n")
    result = run(str(path))
    assert result.exit_code == 1
    assert f"{path}:3: Violation" in result.output and "already defined at facts/entities/drugs.yaml" in result.output
    assert "not a verified row" in result.output


def test_validate_new_orphan_entity_is_a_warning(run, tmp_path: Path):
    path = tmp_path / "lonely.yaml"
    path.write_text("type: condition\nentities:\n  - id: lonely-condition\n    label: lonely condition\n")
    result = run(str(path))
    assert result.exit_code == 0, result.output
    assert f"{path}:3: Warning: entity lonely-condition: orphan entity" in result.output


# --- Turtle in context ----------------------------------------------------------------------------------------


def _claim_turtle(built, old: str, new: str) -> str:
    """An existing claim of the real build under a new id, as Turtle (its value and annotation nodes too)."""
    prefix = f"https://w3id.org/mrkg/claim/{old}"
    graph = Graph()
    graph.bind("mrkg", "https://w3id.org/mrkg/ontology/")
    graph.bind("claim", "https://w3id.org/mrkg/claim/")
    for s, p, o, g in built.dataset.quads((None, None, None, None)):
        if "/graph/source/" in str(g) and (str(s) == prefix or str(s).startswith(prefix + "/")):
            rename = lambda t: URIRef(str(t).replace(prefix, f"https://w3id.org/mrkg/claim/{new}")) \
                if isinstance(t, URIRef) and str(t).startswith(prefix) else t
            graph.add((rename(s), p, rename(o)))
    graph.remove((None, URIRef("http://purl.org/dc/terms/identifier"), None))
    graph.add((URIRef(f"https://w3id.org/mrkg/claim/{new}"), URIRef("http://purl.org/dc/terms/identifier"),
               __import__("rdflib").Literal(new)))
    return graph.serialize(format="turtle")


def test_validate_turtle_duplicate_of_existing_claim_is_a_warning(run, built, tmp_path: Path):
    path = tmp_path / "dup.ttl"
    path.write_text(_claim_turtle(built, "001-baclofen-drowsiness", "001-baclofen-drowsiness-copy"))
    result = run(str(path))
    assert result.exit_code == 0, result.output
    line = next(l for l in result.output.splitlines() if "DuplicateClaimShape" in l)
    assert line.startswith(f"{path}:") and "suspected duplicate of https://w3id.org/mrkg/claim/001-baclofen-drowsiness" in line


def test_validate_turtle_quote_not_in_source(run, built, tmp_path: Path):
    text = _claim_turtle(built, "001-baclofen-drowsiness", "001-baclofen-euphoria")
    path = tmp_path / "quote.ttl"
    path.write_text(text.replace('"Drowsiness 10-63% 29%"', '"Euphoria 10-63% 29%"'))
    result = run(str(path))
    assert result.exit_code == 1
    assert "ClaimShape-quoteInSource" in result.output and "the quote is not in its source" in result.output


def test_validate_turtle_unknown_entity(run, built, tmp_path: Path):
    text = _claim_turtle(built, "001-baclofen-drowsiness", "001-baclofen-x")
    path = tmp_path / "unknown.ttl"
    path.write_text(text.replace("entity/drowsiness", "entity/no-such-thing"))
    result = run(str(path))
    assert result.exit_code == 1
    assert "AdverseEffectClaimShape-object" in result.output


# --- hostile inputs -------------------------------------------------------------------------------------------


def _one_line_error(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for word in words:
        assert word in lines[0], lines[0]


def test_hostile_yaml_alias_bomb(run, tmp_path: Path):
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("source: {}\nclaims: []\n" + "\n".join(rows) + "\n")
    _one_line_error(run(str(path)), "anchors and aliases")


def test_hostile_yaml_python_tag_is_never_constructed(run, tmp_path: Path):
    marker = tmp_path / "pwned"
    path = tmp_path / "tag.yaml"
    path.write_text(f'source: !!python/object/apply:os.system ["touch {marker}"]\nclaims: []\n')
    _one_line_error(run(str(path)), "YAML tag !!python/object/apply:os.system is not allowed")
    assert not marker.exists()
    scalar = tmp_path / "scalar-tag.yaml"
    scalar.write_text(f'type: !!python/object/apply:os.system "touch {marker}"\nentities: []\n')
    _one_line_error(run(str(scalar)), "is not allowed")
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".yaml", ".ttl"])
def test_hostile_50_mb_file(run, tmp_path: Path, suffix: str):
    path = tmp_path / f"big{suffix}"
    with path.open("wb") as handle:
        handle.write(b"source:\n" if suffix == ".yaml" else b"# big\n")
        handle.truncate(50 * 1024 * 1024)
    _one_line_error(run(str(path)), "larger than")


@pytest.mark.parametrize("suffix", [".yaml", ".ttl"])
def test_hostile_wrong_encoding(run, tmp_path: Path, suffix: str):
    path = tmp_path / f"latin1{suffix}"
    text = "source:\n  title: Caf\u00e9\nclaims: []\n" if suffix == ".yaml" else '<https://w3id.org/mrkg/entity/x> <http://www.w3.org/2000/01/rdf-schema#label> "Caf\u00e9" .\n'
    path.write_bytes(text.encode("latin-1"))
    _one_line_error(run(str(path)), "not valid UTF-8")


@pytest.mark.parametrize("kind,raw,words", [
    ("nul", b'source:\n  id: "009"\nclaims:\n  - id: a\x00b\n', ":4: a NUL character"),
    ("control", b"type: population\nentities:\n  - id: a\x07\n", ":3: the control character U+0007"),
    ("utf16", "type: population\nentities: []\n".encode("utf-16-le"), ":1: file looks like UTF-16 text"),
])
def test_hostile_yaml_control_characters_or_utf16(run, tmp_path: Path, kind: str, raw: bytes, words: str):
    path = tmp_path / f"{kind}.yaml"
    path.write_bytes(raw)
    _one_line_error(run(str(path)), f"{path}{words}")


@pytest.mark.parametrize("suffix", [".yaml", ".ttl"])
def test_hostile_byte_order_mark(run, tmp_path: Path, suffix: str):
    path = tmp_path / f"bom{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + (b"source: {}\nclaims: []\n" if suffix == ".yaml" else b"# x\n"))
    _one_line_error(run(str(path)), "byte-order mark")


@pytest.mark.parametrize("name,words", [("data.rdf", "RDF/XML and JSON-LD are not read"),
                                        ("data.jsonld", "RDF/XML and JSON-LD are not read"),
                                        ("facts.yml", "not .yml"), ("missing.ttl", "no such file")])
def test_hostile_unsupported_or_missing_file(run, tmp_path: Path, name: str, words: str):
    path = tmp_path / name
    if name != "missing.ttl":
        path.write_text('{"@context": "http://127.0.0.1:9/ctx"}' if name.endswith("jsonld") else "x: 1\n")
    _one_line_error(run(str(path)), words)


def test_hostile_unparseable_turtle_and_unknown_yaml(run, tmp_path: Path):
    bad = tmp_path / "bad.ttl"
    bad.write_text("<https://w3id.org/mrkg/entity/x> <p> .\n")
    _one_line_error(run(str(bad)), "not valid turtle")
    other = tmp_path / "other.yaml"
    other.write_text("hello: world\n")
    _one_line_error(run(str(other)), "not a facts file")


ENTITY, LABEL = "https://w3id.org/mrkg/entity/", "http://www.w3.org/2000/01/rdf-schema#label"


@pytest.mark.parametrize("name,body,words", [
    # 1.98 MB of bare [] (660,000 blank nodes): 116 s and 2.6 GB before the cap
    ("blank.ttl", f"<{ENTITY}x> <{LABEL}> " + ",".join(["[]"] * 660_000) + " .\n", "more than 5000 blank nodes"),
    ("triples.ttl", f"@prefix e: <{ENTITY}> .\ne:x e:p " + ",".join(f"e:{i}" for i in range(50_001)) + " .\n",
     "more than 50000 triples"),
    ("subjects.nt", "".join(f'<{ENTITY}e{i}> <{LABEL}> "e" .\n' for i in range(201)), "more than 200 subjects"),
])
def test_hostile_turtle_past_a_cap_is_refused_while_parsed(run, tmp_path: Path, name: str, body: str, words: str):
    path = tmp_path / name
    path.write_text(body)
    assert path.stat().st_size < 2_000_000
    _one_line_error(run(str(path)), f"{path}: {words}")


def test_turtle_within_the_caps_is_validated(run, tmp_path: Path):
    path = tmp_path / "within.ttl"
    path.write_text("".join(f'<{ENTITY}e{i}> <{LABEL}> "e" .\n' for i in range(3)) +
                    f"<{ENTITY}e0> <{LABEL}> " + ", ".join(["[]"] * 3) + " .\n")
    result = run(str(path))
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1] == "does not conform: 3 violation(s), 0 warning(s), 0 info"


def test_hostile_turtle_imports_and_remote_iris_are_never_fetched(run, built, tmp_path: Path, connection_counter):
    url = connection_counter.url
    claim = _claim_turtle(built, "001-baclofen-drowsiness", "001-baclofen-remote")
    path = tmp_path / "remote.ttl"
    path.write_text(f"@prefix owl: <http://www.w3.org/2002/07/owl#> .\n@base <{url}/base/> .\n"
                    f"<{url}/onto> a owl:Ontology ; owl:imports <{url}/imports.ttl> .\n"
                    f"<https://w3id.org/mrkg/claim/001-baclofen-remote> <http://www.w3.org/2000/01/rdf-schema#seeAlso> <{url}/see> , <relative> .\n"
                    f"<{url}/thing> a <{url}/Class> .\n" + claim)
    result = run(str(path))
    assert result.exit_code == 1, result.output
    assert (f"{path}:3: Violation: <{url}/onto>: http://www.w3.org/2002/07/owl#imports {url}/imports.ttl is not "
            "accepted in curator input") in result.output
    assert f"{path}:5: Violation: <{url}/thing>: {url}/thing is not a node of the graph" in result.output
    assert connection_counter.settle() == 0


def test_hostile_turtle_may_not_change_ontology_or_shapes(run, tmp_path: Path):
    path = tmp_path / "schema.ttl"
    path.write_text("@prefix mrkg: <https://w3id.org/mrkg/ontology/> .\n"
                    "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
                    "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
                    "mrkg:Route rdfs:subClassOf mrkg:Target .\n"
                    "<https://w3id.org/mrkg/entity/x> a sh:NodeShape ; sh:targetClass mrkg:Claim ; sh:deactivated true .\n")
    result = run(str(path))
    assert result.exit_code == 1
    assert "curator input may not describe https://w3id.org/mrkg/ontology/Route" in result.output
    assert "CuratorInputShape-schemaStatement" in result.output


# --- a curator flow that helps: did you mean, the exact field, one message per problem --------------------------

TYPOS = """  - id: baclofen-drowsiness-row
    kind: adverse-effect
    subject: baclofn
    object: drowsiness
    quote: Drowsiness 10-63% 29%
  - id: baclofen-not-a-benzodiazepine
    kind: drug-class
    subject: baclofen
    object: benzodiazepine
    negated: true
    quote: Drowsiness 10-63% 29%
  - id: cyclobenzaprine-drowsiness-row
    kind: adverse-efect
    subject: cyclobenzaprine
    object: drowsiness
    quote: Drowsiness 10-63% 29%
  - id: 005
    kind: adverse-effect
    subject: baclofen
    object: drowsiness
    quote: Drowsiness 10-63% 29%
  - id: baclofen-spasticity
    kind: indication
    subject: baclofen
    objet: spasticity
    quote: Drowsiness 10-63% 29%
  - id: baclofen-tablet-effect
    kind: adverse-effect
    subject: baclofen
    object: tablet
    quote: Drowsiness 10-63% 29%
  - id: baclofen-spastisity
    kind: indication
    subject: baclofen
    object: spastisity
    quote: Drowsiness 10-63% 29%
"""


def test_did_you_mean_at_the_exact_field_in_line_order_one_message_each(run, tmp_path: Path):
    path = _source_yaml(tmp_path, TYPOS)
    result = run(str(path), "--min-severity", "violation")
    assert result.exit_code == 1
    lines = [line.removeprefix(f"{path}:") for line in result.output.splitlines()]
    at = lambda text: _value_at(path, text)  # noqa: E731
    id_line = at('id: 005')
    objet = path.read_text().splitlines().index("    objet: spasticity") + 1
    assert lines[:-1] == [
        f"{at('subject: baclofn')}: Violation: claim 001-baclofen-drowsiness-row: subject 'baclofn' is not an entity "
        "in facts/entities/; did you mean 'baclofen'? [mrkgsh:FactsFormat]",
        f"{at('object: benzodiazepine')}: Violation: claim 001-baclofen-not-a-benzodiazepine: object 'benzodiazepine' "
        "is not an entity in facts/entities/; 'benzodiazepine' is a synonym of entity 'benzodiazepines' (drug-class): "
        "write object: benzodiazepines (keep the source's word in object_text: benzodiazepine) [mrkgsh:FactsFormat]",
        f"{at('kind: adverse-efect')}: Violation: claim 001-cyclobenzaprine-drowsiness-row: unknown kind "
        "'adverse-efect': did you mean 'adverse-effect'? [mrkgsh:FactsFormat]",
        f"{id_line}: Violation: the claim at line {id_line.split(':')[0]}: id 005 is read by YAML as the number 5; "
        "write it in quotes: id: \"005\" [mrkgsh:FactsFormat]",
        f"{objet}:5: Violation: claim 001-baclofen-spasticity: unknown field 'objet': did you mean 'object'? "
        "[mrkgsh:FactsFormat]",
        f"{at('object: tablet')}: Violation: claim 001-baclofen-tablet-effect: object 'tablet' is a dosage-form, but "
        "an adverse-effect claim takes adverse-effect or condition [mrkgsh:FactsFormat]",
        f"{at('object: spastisity')}: Violation: claim 001-baclofen-spastisity: object 'spastisity' is not an entity "
        "in facts/entities/; did you mean 'spasticity'? [mrkgsh:FactsFormat]",
    ]
    assert lines[-1].startswith("does not conform: 7 violation(s)")


def test_an_unknown_word_with_no_close_match_says_how_to_declare_it(run, tmp_path: Path):
    path = _source_yaml(tmp_path, GOOD_CLAIM.replace("object: drowsiness", "object: qqqq-zzzz"))
    result = run(str(path))
    assert "object 'qqqq-zzzz' is not an entity in facts/entities/; if it is new, declare it in facts/entities/ " \
           "(adverse-effect or condition) in the same change" in result.output
    path = _source_yaml(tmp_path, GOOD_CLAIM.replace("kind: adverse-effect", "kind: qqqq"))
    result = run(str(path))
    assert "unknown kind 'qqqq' (expected one of: adverse-effect, brand-name," in result.output
    assert "unknown field" not in result.output  # no follow-up about 'object' or the frequency after a bad kind


def test_unquoted_source_id_is_refused_with_its_line(run, tmp_path: Path):
    path = _source_yaml(tmp_path, GOOD_CLAIM)
    text = path.read_text().replace('  id: "001"', "  id: 001", 1)
    path.write_text(text)
    line = text.splitlines().index("  id: 001") + 1
    result = run(str(path))
    assert result.exit_code == 2
    assert result.output == f"error: {path}:{line}:7: source: id 001 is read by YAML as the number 1; write it in " \
                            "quotes: id: \"001\"\n"


# --- what a change introduces, compared with the published graph ------------------------------------------------


def test_an_unchanged_copy_introduces_nothing_and_all_shows_everything(run, tmp_path: Path):
    copy = tmp_path / "002.yaml"
    shutil.copy(REPO / "facts" / "sources" / "002.yaml", copy)
    result = run(str(copy))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "conforms: 0 violation(s), 0 warning(s), 0 info"
    hidden = int(lines[1].split()[0].lstrip("("))
    assert hidden > 5 and lines[1].endswith("the published graph has already are not shown: --all shows them)")
    everything = run(str(copy), "--all")
    assert everything.exit_code == 0
    assert len(everything.output.splitlines()) == hidden + 1  # every result, then the summary


def test_only_the_new_problem_is_shown(run, tmp_path: Path):
    copy = tmp_path / "001.yaml"
    text = (REPO / "facts" / "sources" / "001.yaml").read_text()
    negated = GOOD_CLAIM.replace("    frequency: {text: 10-63%, min: 10, max: 63}\n", "    negated: true\n")
    copy.write_text(text.rstrip("\n") + "\n" + negated)
    result = run(str(copy), "--min-severity", "warning")
    assert result.exit_code == 0, result.output
    shown = result.output.splitlines()[:-2]
    assert shown and all("001-baclofen-drowsiness-row" in line for line in shown), result.output
    assert len(run(str(copy), "--all", "--min-severity", "warning").output.splitlines()) > len(shown) + 2


NEW_POPULATION = "type: population\nentities:\n  - id: night-shift-workers\n    label: night-shift workers\n"


def test_a_new_entity_is_validated_with_the_claim_that_names_it(run, tmp_path: Path):
    claim = GOOD_CLAIM.replace("    frequency: {text: 10-63%, min: 10, max: 63}\n",
                               "    population: night-shift-worker\n")
    source = _source_yaml(tmp_path, claim)
    alone = run(str(source))
    assert alone.exit_code == 1
    assert "population 'night-shift-worker' is not an entity in facts/entities/; if it is new, declare it in " \
           "facts/entities/ (condition or population) in the same change" in alone.output
    entities = tmp_path / "populations-new.yaml"
    entities.write_text(NEW_POPULATION)
    misspelt = run(str(source), str(entities))
    assert misspelt.exit_code == 1 and "did you mean 'night-shift-workers'?" in misspelt.output
    source.write_text(source.read_text().replace("night-shift-worker\n", "night-shift-workers\n"))
    together = run(str(source), str(entities))
    assert together.exit_code == 0, together.output
    assert "night-shift-workers: orphan" not in together.output  # the claim names it: one change


def test_validate_all_facts_shows_only_what_the_published_build_does_not_have(run, built, tmp_path: Path):
    """`make validate` on unchanged facts: nothing new (the issue counted 333 lines of old warnings and info);
    `--all` shows them all; a facts folder with one new problem shows that one."""
    out = str(built.out)
    result = run("--out", out)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "conforms: 0 violation(s), 0 warning(s), 0 info" and len(lines) == 2
    hidden = int(lines[1].split()[0].lstrip("("))
    assert hidden == sum(built.report.counts().values()) > 100
    assert len(run("--out", out, "--all").output.splitlines()) == hidden + 1
    facts = tmp_path / "facts"
    shutil.copytree(REPO / "facts", facts)
    source = facts / "sources" / "001.yaml"
    negated = GOOD_CLAIM.replace("    frequency: {text: 10-63%, min: 10, max: 63}\n", "    negated: true\n")
    source.write_text(source.read_text().rstrip("\n") + "\n" + negated)
    changed = run("--out", out, facts=facts)
    assert changed.exit_code == 0, changed.output
    shown = changed.output.splitlines()[:-2]  # the conflicts of the new claim, seen from either side
    assert shown and all("001-baclofen-drowsiness-row" in line for line in shown), changed.output
    assert changed.output.splitlines()[-1].startswith(f"({hidden} warning(s)")
    in_place = run(str(source), "--out", out, facts=facts)  # the published file itself, edited: the build compares
    lines = in_place.output.splitlines()
    assert in_place.exit_code == 0 and lines[-1].endswith("--all shows them)"), in_place.output
    assert lines[:-2] and all("claim 001-baclofen-drowsiness-row" in line for line in lines[:-2]), in_place.output


# --- what a warm command reuses from the parse cache, and when it must not ----------------------------------------


def test_a_broken_entity_link_in_the_context_shows_while_it_lasts(run, tmp_path: Path):
    """The entity links of the context are checked once per state of facts/ (not per file validated): a broken link
    shows when a source file is validated, and goes when it is mended."""
    facts = tmp_path / "facts"
    shutil.copytree(REPO / "facts", facts)
    drugs = facts / "entities" / "drugs.yaml"
    original = drugs.read_text()
    broken = original.replace("  - id: baclofen\n", "  - id: baclofen\n    broader: [no-such-class]\n", 1)
    assert broken != original
    (tmp_path / "new").mkdir()
    new = _source_yaml(tmp_path / "new", GOOD_CLAIM)
    for _ in range(2):  # the second command reads the findings from the cache
        result = run(str(new), "--all", facts=facts)
        assert "entity 'baclofen': broader 'no-such-class' is not an entity" not in result.output
        drugs.write_text(broken)
        result = run(str(new), "--all", facts=facts)
        assert result.exit_code == 1, result.output
        assert "facts/entities/drugs.yaml" in result.output
        assert "entity 'baclofen': broader 'no-such-class' is not an entity in facts/entities/" in result.output
        drugs.write_text(original)


def test_the_published_versions_problems_are_kept_per_context(run, tmp_path: Path, monkeypatch):
    """A file that replaces one of facts/ is compared with that file's problems, which a warm command reads from the
    cache; a change anywhere in facts/ makes them be found again, and the report is the same either way."""
    from mrkg.curate import validation

    facts = tmp_path / "facts"
    shutil.copytree(REPO / "facts", facts)
    copy = tmp_path / "002.yaml"
    shutil.copy(REPO / "facts" / "sources" / "002.yaml", copy)
    validated: list[list[str]] = []
    real = validation.validate_files

    def counting(ctx, paths, changes=None):
        validated.append([p.name for p in paths])
        return real(ctx, paths, changes)

    monkeypatch.setattr(validation, "validate_files", counting)
    first = run(str(copy), facts=facts)
    assert validated == [["002.yaml"], ["002.yaml"]]  # the copy, then the published version
    validated.clear()
    second = run(str(copy), facts=facts)
    assert validated == [["002.yaml"]] and second.output == first.output
    assert "the published graph has already are not shown" in second.output
    other = facts / "sources" / "004.yaml"
    other.write_text(other.read_text().replace("object: drowsiness", "object: dizziness"))
    validated.clear()
    third = run(str(copy), facts=facts)
    assert validated == [["002.yaml"], ["002.yaml"]]
    assert third.output.splitlines()[0] == first.output.splitlines()[0]
