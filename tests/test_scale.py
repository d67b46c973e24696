"""The scale generator: mrkg's own model at any size, deterministic, and the competency questions run on it."""

from __future__ import annotations

import gzip
import re

import pytest
from click.testing import CliRunner
from conftest import REPO
from pyoxigraph import BlankNode, RdfFormat, Store, parse

from mrkg.engine import open_backend
from mrkg.engine.guard import Limits
from mrkg.engine.runner import Job, Runner
from mrkg.queries import read_queries
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
    ontology = (REPO / "ontology" / "mrkg.ttl").read_text()
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
    runner = Runner(open_backend("oxigraph", store), limits=Limits(), prefixes=PREFIX_MAP, max_rows=10_000)
    answer = runner.run(Job(query.text, format="json"))
    assert answer.status == 200, answer.body


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
