"""The scale generator: mrkg's own model at any size, deterministic, and the competency questions run on it."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from click.testing import CliRunner
from conftest import REPO, json_term
from pyoxigraph import BlankNode, RdfFormat, Store, parse

from mrkg.engine import open_backend
from mrkg.engine.guard import Limits
from mrkg.engine.runner import Job, Runner
from mrkg.queries import read_queries, render_term, run
from mrkg.scale import parse_size, scale_command, write_scale_graph
from mrkg.web.app import PREFIX_MAP

TARGET = 5_000
M = "https://w3id.org/mrkg/ontology/"


@pytest.fixture(scope="module")
def scale_file(tmp_path_factory):
    return write_scale_graph(tmp_path_factory.mktemp("scale") / "scale.nq", TARGET, seed=7)


@pytest.fixture(scope="module")
def store(scale_file):
    store = Store()
    store.bulk_load(path=str(scale_file.path), format=RdfFormat.N_QUADS)
    return store


def ask(store, text: str):
    return store.query(text, use_default_graph_as_union=True, prefixes=PREFIX_MAP)


def test_count_within_a_few_percent(scale_file, store):
    assert abs(scale_file.quads - TARGET) / TARGET < 0.03
    assert len(store) == scale_file.quads  # every quad written is distinct


def test_no_blank_nodes(scale_file):
    quads = list(parse(path=str(scale_file.path), format=RdfFormat.N_QUADS))
    assert not any(isinstance(t, BlankNode) for q in quads for t in (q.subject, q.object))


def test_deterministic_by_seed(tmp_path):
    a = write_scale_graph(tmp_path / "a.nq", 2_000, seed=3).path.read_bytes()
    b = write_scale_graph(tmp_path / "b.nq", 2_000, seed=3).path.read_bytes()
    c = write_scale_graph(tmp_path / "c.nq", 2_000, seed=4).path.read_bytes()
    assert a == b and a != c


def test_gzip_output_same_quads_and_bytes(tmp_path):
    plain = write_scale_graph(tmp_path / "g.nq", 2_000, seed=3).path.read_bytes()
    zipped = write_scale_graph(tmp_path / "g.nq.gz", 2_000, seed=3).path.read_bytes()
    assert gzip.decompress(zipped) == plain
    assert write_scale_graph(tmp_path / "h.nq.gz", 2_000, seed=3).path.read_bytes() == zipped


def test_every_mrkg_term_is_in_the_ontology(store):
    ontology = "\n".join(p.read_text() for p in sorted((REPO / "ontology").glob("*.ttl")))
    declared = set(re.findall(r"^mrkg:(\w+)", ontology, re.MULTILINE))
    used = {t.value[len(M):] for (t,) in (tuple(r) for r in ask(store, "SELECT DISTINCT ?t WHERE { "
            "{ ?s ?t ?o } UNION { ?s a ?t } UNION { ?s ?p ?t } }")) if t.value.startswith(M)}
    assert used and used <= declared, sorted(used - declared)


@pytest.mark.parametrize("prop", ["mrkg:subject", "mrkg:predicate", "mrkg:object", "mrkg:polarity", "mrkg:certainty",
                                  "mrkg:quote", "prov:wasDerivedFrom", "mrkg:annotation"])
def test_every_claim_has_exactly_one(store, prop):
    rows = list(ask(store, f"SELECT ?c (COUNT(?v) AS ?n) WHERE {{ ?c a mrkg:Claim . OPTIONAL {{ ?c {prop} ?v }} }} "
                           "GROUP BY ?c HAVING (COUNT(?v) != 1)"))
    assert rows == []


def test_claims_live_in_their_source_graph(store):
    assert not ask(store, "ASK { GRAPH ?g { ?c a mrkg:Claim ; prov:wasDerivedFrom ?s } "
                          "FILTER (STRAFTER(STR(?g), 'graph/source/') != STRAFTER(STR(?s), 'mrkg/source/')) }")


def test_values_keep_their_words(store):
    assert ask(store, "ASK { ?c mrkg:frequency ?f . ?f a mrkg:Frequency ; mrkg:originalText ?t ; mrkg:minValue ?min ; "
                      "mrkg:maxValue ?max FILTER (?min <= ?max) }")
    assert not ask(store, "ASK { ?c mrkg:frequency ?f . FILTER NOT EXISTS { ?f mrkg:originalText ?t } }")


def test_asserted_graph_has_affirmed_claims_only(store):
    assert ask(store, "ASK { GRAPH graph:asserted { ?s ?p ?o } }")
    assert not ask(store, "ASK { GRAPH graph:asserted { ?s ?p ?o } FILTER NOT EXISTS { ?c mrkg:subject ?s ; "
                          "mrkg:predicate ?p ; mrkg:object ?o ; mrkg:polarity mrkg:Affirmed } }")


def test_conflicts_join_two_claims_of_different_sources(scale_file, store):
    assert scale_file.conflicts > 0
    assert not ask(store, "ASK { GRAPH graph:conflicts { ?x a mrkg:Conflict ; mrkg:conflictingClaim ?a , ?b } "
                          "?a prov:wasDerivedFrom ?s . ?b prov:wasDerivedFrom ?s . FILTER (?a != ?b) }")
    rows = list(ask(store, "SELECT ?x (COUNT(DISTINCT ?c) AS ?n) WHERE { ?x a mrkg:Conflict ; "
                           "mrkg:conflictKind ?k ; mrkg:conflictingClaim ?c . ?c a mrkg:Claim } GROUP BY ?x"))
    assert len(rows) == scale_file.conflicts and all(int(r[1].value) == 2 for r in rows)


QUERIES = read_queries(REPO / "queries") + read_queries(REPO / "benchmarks" / "queries")


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_queries_run_on_the_scale_graph(store, query):
    """Every query of the mix answers on the scale graph through the guard and the runner, with the variables
    and the rows (terms with their datatypes) that the store itself gives."""
    runner = Runner(open_backend("oxigraph", store), limits=Limits(), prefixes=PREFIX_MAP, max_rows=10_000)
    direct_variables, direct_rows = run(store, query.text)
    if direct_variables == ["subject", "predicate", "object"]:  # CONSTRUCT
        answer = runner.run(Job(query.text, format="ntriples"))
        assert answer.status == 200, answer.body
        rows = sorted(tuple(render_term(t) for t in (q.subject, q.predicate, q.object))
                      for q in parse(answer.body, format=RdfFormat.N_TRIPLES))
        assert (answer.rows, rows) == (len(direct_rows), direct_rows)
        return
    answer = runner.run(Job(query.text, format="json"))
    assert answer.status == 200, answer.body
    doc = json.loads(answer.body)
    if direct_variables == ["ask"]:
        assert [("true" if doc["boolean"] else "false",)] == direct_rows
        return
    assert doc["head"]["vars"] == direct_variables
    rows = [tuple(render_term(json_term(b.get(v))) for v in direct_variables) for b in doc["results"]["bindings"]]
    assert answer.rows == len(direct_rows) and not answer.truncated
    assert sorted(rows) == sorted(direct_rows)


@pytest.mark.parametrize("text,expected", [("100k", 100_000), ("1M", 1_000_000), ("10m", 10_000_000),
                                           ("250000", 250_000), ("2.5k", 2_500)])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


def test_scale_command(tmp_path):
    out = tmp_path / "cli.nq"
    result = CliRunner().invoke(scale_command, ["--triples", "1k", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("# Generated by `mrkg scale")
    bad = CliRunner().invoke(scale_command, ["--triples", "lots", "--out", str(out)])
    assert bad.exit_code != 0 and "100k" in bad.output


# --- scaled facts: the real facts repeated, for the build and `mrkg validate` at scale (issue 6) ----------------

SCALED = 57_000  # two copies of the real facts (about 28,600 quads each): small enough for the suite, enough to repeat everything once


@pytest.fixture(scope="module")
def scaled(tmp_path_factory, sources_dir):
    from mrkg.scale import write_scaled_facts

    return write_scaled_facts(tmp_path_factory.mktemp("scaled"), SCALED, facts_dir=REPO / "facts",
                              sources_dir=sources_dir, ontology_dir=REPO / "ontology")


@pytest.fixture(scope="module")
def scaled_build(scaled, reference_tsv, tmp_path_factory):
    from mrkg.build import run_build

    out = tmp_path_factory.mktemp("scaled-build") / "build"
    return run_build(scaled.facts_dir, REPO / "ontology", scaled.sources_dir, reference_tsv, out)


def test_scaled_facts_repeat_every_source_and_entity_under_new_ids(scaled):
    from mrkg.facts import load_facts

    assert scaled.copies == 2
    facts, errors = load_facts(scaled.facts_dir)
    assert errors == []
    real, _ = load_facts(REPO / "facts")
    assert len(facts.sources) == 2 * len(real.sources) and len(facts.entities) == 2 * len(real.entities)
    copy = facts.sources["101"]
    assert copy.file_name.startswith("101_") and (scaled.sources_dir / copy.file_name).is_file()
    assert [(c.id, c.subject) for c in copy.claims] == [(c.id, f"{c.subject}-c1") for c in real.sources["001"].claims]
    assert facts.entities["baclofen-c1"].label == "baclofen c1" and not facts.entities["baclofen-c1"].mappings
    assert [c.quote for c in facts.sources["001"].claims] == [c.quote for c in real.sources["001"].claims]


def test_scaled_facts_build_to_the_estimated_size_and_conform(scaled, scaled_build):
    assert sum(scaled_build.manifest["graphs"].values()) == scaled.estimated_quads
    assert abs(scaled.estimated_quads - SCALED) / SCALED < 0.1
    assert scaled_build.report.conforms
    assert scaled_build.manifest["stats"]["claims"] == scaled.claims


def test_scaled_facts_are_deterministic(scaled, sources_dir, tmp_path):
    from conftest import tree_digest
    from mrkg.scale import write_scaled_facts

    again = write_scaled_facts(tmp_path / "again", SCALED, facts_dir=REPO / "facts", sources_dir=sources_dir,
                               ontology_dir=REPO / "ontology")
    assert tree_digest(again.facts_dir) == tree_digest(scaled.facts_dir)
    assert tree_digest(again.sources_dir) == tree_digest(scaled.sources_dir)


def test_validate_against_scaled_facts_reports_as_against_the_real(scaled, sources_dir, reference_tsv, tmp_path):
    """The copies share no entity with the real facts, so a real file's report is the same in either context:
    the context found through the index and read lazily is the context that matters."""
    from mrkg.cli import main

    def report(facts, sources, *extra):
        result = CliRunner().invoke(main, ["validate", str(REPO / "facts" / "sources" / "001.yaml"), "--format", "json",
                                           "--facts", str(facts), "--sources", str(sources), "--reference",
                                           str(reference_tsv), "--all", *extra],  # every result, not a diff
                                     env={"XDG_CACHE_HOME": str(tmp_path)})
        assert result.exit_code == 0, result.output
        return result.output.replace(f"{REPO}/", "")  # where 001.yaml is, relative to the facts' folder or not

    real = report(REPO / "facts", sources_dir, "--no-cache")
    assert report(scaled.facts_dir, scaled.sources_dir) == real  # fills the cache
    assert report(scaled.facts_dir, scaled.sources_dir) == real  # from the cache
    assert report(scaled.facts_dir, scaled.sources_dir, "--no-cache") == real


def test_scale_command_writes_facts(tmp_path, sources_dir):
    result = CliRunner().invoke(scale_command, ["--triples", "20k", "--facts", str(tmp_path / "f"), "--sources",
                                                str(sources_dir), "--from-facts", str(REPO / "facts"),
                                                "--ontology", str(REPO / "ontology"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f" / "facts" / "sources" / "001.yaml").is_file()
    both = CliRunner().invoke(scale_command, ["--out", str(tmp_path / "x.nq"), "--facts", str(tmp_path / "g")])
    assert both.exit_code != 0 and "one of --out" in both.output


def test_validate_reads_only_the_sources_its_context_needs(scaled, reference_tsv, tmp_path):
    from mrkg.curate import Context, validate_files

    ctx = Context.load(scaled.facts_dir, REPO / "ontology", scaled.sources_dir, REPO / "shapes", reference_tsv,
                       tmp_path / "cache")
    ctx = Context.load(scaled.facts_dir, REPO / "ontology", scaled.sources_dir, REPO / "shapes", reference_tsv,
                       tmp_path / "cache")  # the second time from the cache's index: nothing read yet
    assert ctx.facts.sources._loaded == {}
    validate_files(ctx, [REPO / "facts" / "sources" / "001.yaml"])
    read = set(ctx.facts.sources._loaded)
    assert read and read <= {"000", "001", "002", "003", "004"}  # copy 1 (sources 100-104) names none of its entities


def test_scaled_facts_beyond_the_source_ids_share_files(tmp_path, sources_dir, monkeypatch):
    """More copies than three-digit source ids (10M triples): each scaled source file holds several copies of a
    real source, their claims renamed -c<k>, and the whole reads and checks like the real facts."""
    import mrkg.scale as scale
    from mrkg.build import checked_facts

    real = checked_facts(REPO / "facts", sources_dir, None)
    monkeypatch.setattr(scale, "SOURCE_IDS", 2 * len(real.sources))  # room for two files per real source
    made = scale.write_scaled_facts(tmp_path / "shared", 4 * 28_600, facts_dir=REPO / "facts", sources_dir=sources_dir,
                                    ontology_dir=REPO / "ontology")
    assert made.copies == 4 and scale.copies_per_file(made.copies, len(real.sources)) == 2
    facts = checked_facts(made.facts_dir, made.sources_dir, None)
    assert len(facts.sources) == made.sources == 3 * len(real.sources)
    assert len(facts.entities) == 4 * len(real.entities)
    assert sum(len(s.claims) for s in facts.sources.values()) == made.claims
    first = real.sources["000"].claims
    assert [(c.id, c.subject) for c in facts.sources["100"].claims] == \
        [(f"{c.id}-c{k}", f"{c.subject}-c{k}") for k in (1, 2) for c in first]
    assert [(c.id, c.subject) for c in facts.sources[f"{100 + len(real.sources)}"].claims] == \
        [(f"{c.id}-c3", f"{c.subject}-c3") for c in first]
    with pytest.raises(ValueError, match="three-digit"):
        scale.copies_per_file(10, scale.SOURCE_IDS + 1)
