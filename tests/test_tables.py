"""The tables of a real build: loaded by pandas and DuckDB with the right rows and types, checked by the SSSOM,
KGX and Frictionless tools, listed in SHA256SUMS, VoID/DCAT and the manifest; the union graph without duplicates."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, VOID

from mrkg.facts import Claim, Value
from mrkg.tables import CLAIM_FIELDS, VALUE_SKIPPED, claim_columns

TABLES = ["claims.tsv", "claims.csv", "claims.parquet", "entities.tsv", "conflicts.tsv", "mappings.sssom.tsv",
          "kgx_nodes.tsv", "kgx_edges.tsv", "datapackage.json"]
DATASET = URIRef("https://w3id.org/mrkg/dataset")


@pytest.fixture(scope="module")
def facts(built):
    return built.facts


@pytest.fixture(scope="module")
def claims(facts):
    return list(facts.claims())


def _tsv(path: Path) -> list[dict[str, str]]:
    text = "\n".join(line for line in path.read_text(encoding="utf-8").split("\n") if not line.startswith("#"))
    return list(csv.DictReader(io.StringIO(text), delimiter="\t"))


def test_every_table_is_in_sha256sums_the_manifest_and_dcat(build_dir: Path):
    sums = dict(reversed(line.split("  ")) for line in (build_dir / "SHA256SUMS").read_text().splitlines())
    manifest = json.loads((build_dir / "manifest.json").read_text())
    void = Graph().parse(build_dir / "void.ttl")
    for name in TABLES:
        digest = hashlib.sha256((build_dir / name).read_bytes()).hexdigest()
        assert sums[name] == digest and manifest["files"][name]["sha256"] == digest, name
        dist = URIRef(f"https://w3id.org/mrkg/download/{name}")
        assert (DATASET, DCAT.distribution, dist) in void, name
        assert void.value(dist, DCAT.mediaType) == Literal(manifest["files"][name]["media_type"])
        assert (DATASET, VOID.dataDump, dist) not in void, name  # void:dataDump: the RDF dumps only
    assert (DATASET, VOID.dataDump, URIRef("https://w3id.org/mrkg/download/mrkg.nq")) in void


def test_claims_table_in_pandas_has_a_row_per_claim_and_typed_columns(build_dir: Path, claims):
    pd = pytest.importorskip("pandas")
    tsv = pd.read_csv(build_dir / "claims.tsv", sep="\t", keep_default_na=False, na_values=[""])
    csv_ = pd.read_csv(build_dir / "claims.csv", keep_default_na=False, na_values=[""])
    parquet = pd.read_parquet(build_dir / "claims.parquet")
    names = [c.name for c in claim_columns()]
    for frame in (tsv, csv_, parquet):
        assert len(frame) == len(claims)
        assert list(frame.columns) == names
        assert list(frame["claim_id"]) == [c.full_id for c in claims]
    assert str(parquet["negated"].dtype) == "bool" and str(parquet["quote_start"].dtype) == "int64"
    assert str(parquet["frequency_max"].dtype) == "float64"
    assert tsv["quote_start"].dtype.kind == "i" and csv_["quote_end"].dtype.kind == "i"
    assert int(parquet["negated"].sum()) == sum(c.negated for c in claims)
    # quotes with tabs, line breaks or double quotes come back whole from TSV and CSV
    assert list(tsv["quote"]) == list(csv_["quote"]) == list(parquet["quote"])
    assert any("\n" in q or '"' in q for q in parquet["quote"])
    notes = [list(f["curator_note"].fillna("")) for f in (tsv, csv_, parquet)]
    assert notes[0] == notes[1] == notes[2] and any('"' in n for n in notes[0])
    by_id = {c.full_id: c for c in claims}
    with_max = [c for c in claims if "max" in c.values.get("frequency", Value("", "", {})).numbers]
    assert with_max
    for claim in with_max:
        row = parquet[parquet["claim_id"] == claim.full_id].iloc[0]
        assert row["frequency_text"] == claim.values["frequency"].text
        assert row["frequency_max"] == float(claim.values["frequency"].numbers["max"])
    assert len(by_id) == len(claims)


def test_quote_offsets_point_at_the_quote_in_the_source_text(build_dir: Path, facts, sources_dir: Path):
    rows = _tsv(build_dir / "claims.tsv")
    texts = {}
    for row in rows[:: max(1, len(rows) // 60)]:
        source = facts.sources[row["source_id"]]
        text = texts.setdefault(source.id, (sources_dir / source.file_name).read_text(encoding="utf-8"))
        assert text[int(row["quote_start"]):int(row["quote_end"])] == row["quote"], row["claim_id"]


def test_tables_in_duckdb_with_row_counts_and_types(build_dir: Path, facts, built):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    stats = built.manifest["stats"]
    claims_pq = con.execute(f"SELECT count(*), sum(CASE WHEN negated THEN 1 ELSE 0 END) FROM "
                            f"read_parquet('{build_dir / 'claims.parquet'}')").fetchone()
    assert claims_pq == (stats["claims"], stats["negatedClaims"])
    types = {r[0]: r[1] for r in con.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{build_dir / 'claims.parquet'}')").fetchall()}
    assert types["negated"] == "BOOLEAN" and types["quote_start"] == "BIGINT" and types["value_amount"] == "DOUBLE"
    assert types["claim_id"] == "VARCHAR"
    tsv = con.execute(f"SELECT count(*) FROM read_csv('{build_dir / 'claims.tsv'}', delim='\t', header=true, "
                      f"quote='\"', escape='\"')").fetchone()[0]
    csv_ = con.execute(f"SELECT count(*) FROM read_csv('{build_dir / 'claims.csv'}', header=true)").fetchone()[0]
    assert tsv == csv_ == stats["claims"]
    for name, expected in (("entities.tsv", stats["entities"]), ("conflicts.tsv", stats["conflicts"]),
                           ("kgx_nodes.tsv", stats["entities"])):
        got = con.execute(f"SELECT count(*) FROM read_csv('{build_dir / name}', delim='\t', header=true, "
                          f"quote='\"', escape='\"')").fetchone()[0]
        assert got == expected, name
    hedged = con.execute(f"SELECT count(*) FROM read_parquet('{build_dir / 'claims.parquet'}') "
                         "WHERE certainty = 'Hedged' AND hedge_cue IS NOT NULL").fetchone()[0]
    assert hedged == stats["hedgedClaims"]


def test_entities_conflicts_and_kgx_rows(build_dir: Path, facts, built):
    entities = _tsv(build_dir / "entities.tsv")
    assert [e["entity_id"] for e in entities] == sorted(facts.entities)
    baclofen = next(e for e in entities if e["entity_id"] == "baclofen")
    assert baclofen["type"] == "drug" and "drugbank:DB00181" in baclofen["xrefs"].split("|")
    conflicts = _tsv(build_dir / "conflicts.tsv")
    assert len(conflicts) == built.manifest["stats"]["conflicts"] > 0
    claim_ids = {c.full_id for c in facts.claims()}
    for conflict in conflicts:
        members = conflict["claims"].split("|")
        assert len(members) == int(conflict["claim_count"]) >= 2 and set(members) <= claim_ids
        assert len(conflict["sources"].split("|")) >= 2
    nodes, edges = _tsv(build_dir / "kgx_nodes.tsv"), _tsv(build_dir / "kgx_edges.tsv")
    assert len(nodes) == len(facts.entities)
    assert len(edges) == sum(c.object is not None for c in facts.claims())
    node_ids = {n["id"] for n in nodes}
    assert all(e["subject"] in node_ids and e["object"] in node_ids for e in edges)
    assert {n["category"] for n in nodes if n["mrkg_type"] == "drug"} == {"biolink:Drug"}
    assert {e["predicate"] for e in edges if e["original_predicate"] == "mrkg:hasAdverseEffect"} == \
        {"biolink:has_adverse_event"}
    assert sum(e["negated"] == "true" for e in edges) == sum(c.negated for c in facts.claims() if c.object)


def test_every_claim_field_is_a_column_or_left_out_with_a_reason():
    """When the Claim or Value record gains a field (issue 15's qualifiers), this names it until tables.py has it:
    one line in CLAIM_FIELDS for a Claim attribute; a Value attribute becomes a column by itself."""
    missing = [f.name for f in dataclasses.fields(Claim) if f.name not in CLAIM_FIELDS]
    assert missing == [], f"add these Claim fields to tables.CLAIM_FIELDS: {missing}"
    names = [c.name for c in claim_columns()]
    assert len(names) == len(set(names))
    for f in dataclasses.fields(Value):
        if f.name not in VALUE_SKIPPED:
            assert any(n.endswith("_" + f.name) for n in names), f.name


def test_sssom_mappings_pass_the_sssom_tool(build_dir: Path, facts):
    pytest.importorskip("sssom")
    from sssom.context import get_converter
    from sssom.parsers import parse_sssom_table
    from sssom.validators import validate

    from mrkg.tables import CURIE_PREFIXES

    msdf = parse_sssom_table(build_dir / "mappings.sssom.tsv")
    assert len(msdf.df) == sum(len(e.mappings) for e in facts.entities.values())
    validate(msdf, fail_on_error=True)  # the JSON schema, the curie_map, the prefixes of every CURIE
    assert msdf.metadata["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert msdf.metadata["mapping_set_version"] == json.loads((build_dir / "manifest.json").read_text())["version"]
    converter = get_converter()  # the expansions we write are the Bioregistry's, as sssom ships them
    for prefix, expansion in CURIE_PREFIXES.items():
        assert converter.expand(f"{prefix}:X") == expansion + "X", prefix


def _offline_kgx_validator():
    """kgx loads the Biolink model and its JSON-LD context from the network when imported; the biolink-model
    package ships both, so they are read from there (no internet in tests)."""
    import bmt.toolkit
    import biolink_model

    root = Path(list(biolink_model.__path__)[0])
    defaults = list(bmt.toolkit.Toolkit.__init__.__defaults__)
    defaults[0], defaults[1] = str(root / "schema" / "biolink_model.yaml"), {"predicate mappings": []}
    bmt.toolkit.Toolkit.__init__.__defaults__ = tuple(defaults)
    import kgx.config

    kgx.config.jsonld_context_map["biolink"] = json.loads(
        (root / "prefixmaps" / "biolink-model-prefix-map.json").read_text())
    for name in ("monarch_context", "obo_context"):
        kgx.config.jsonld_context_map.setdefault(name, {})
    from kgx.transformer import Transformer
    from kgx.validator import Validator

    return Transformer, Validator


def test_kgx_nodes_and_edges_pass_kgx_validation_against_biolink(build_dir: Path):
    pytest.importorskip("kgx")
    Transformer, Validator = _offline_kgx_validator()
    validator = Validator()
    Transformer(stream=True).transform(
        input_args={"filename": [str(build_dir / "kgx_nodes.tsv"), str(build_dir / "kgx_edges.tsv")],
                    "format": "tsv"}, output_args={"format": "null"}, inspector=validator)
    errors = validator.get_errors()
    kinds = {(level, kind) for level, by_kind in errors.items() for kind in by_kind}
    # The only complaint: our own CURIE prefixes (mrkg.entity:, mrkg.claim:, mrkg:) are not in Biolink's
    # JSON-LD context, which lists registered prefixes only. Categories, predicates and every other field pass.
    assert kinds <= {("ERROR", "INVALID_NODE_PROPERTY_VALUE"), ("ERROR", "INVALID_EDGE_PROPERTY_VALUE")}, errors.keys()
    for level, by_kind in errors.items():
        for kind, messages in by_kind.items():
            for message in messages:
                assert "CURIE prefix 'mrkg" in message and "not represented in Biolink Model JSON-LD" in message, \
                    message


def test_datapackage_passes_frictionless(build_dir: Path):
    frictionless = pytest.importorskip("frictionless")
    report = frictionless.validate(str(build_dir / "datapackage.json"))
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])[:10]
    package = json.loads((build_dir / "datapackage.json").read_text())
    names = [r["path"] for r in package["resources"]]
    assert names == [n for n in TABLES if n != "datapackage.json"]
    assert package["version"] == json.loads((build_dir / "manifest.json").read_text())["version"]


def test_union_default_graph_has_no_duplicate_triple_and_void_counts_it(build_dir: Path):
    from pyoxigraph import RdfFormat, Store

    store = Store()
    store.load(path=str(build_dir / "mrkg.nq"), format=RdfFormat.N_QUADS)
    quads = len(store)
    distinct = {(q.subject, q.predicate, q.object) for q in store}
    union = list(store.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"))[0]["n"].value
    assert int(union) == quads == len(distinct)
    void = Graph().parse(build_dir / "void.ttl")
    assert int(void.value(DATASET, VOID.triples)) == len(distinct)
    assert sum(int(void.value(s, VOID.triples)) for s in void.objects(DATASET, VOID.subset)) == quads
    agent = URIRef("https://w3id.org/mrkg/agent/mrkg-curators")
    graphs = {str(q.graph_name) for q in store.quads_for_pattern(None, None, None) if str(q.subject) == f"<{agent}>"}
    assert graphs == {"<https://w3id.org/mrkg/graph/agents>"}


def test_dcat_names_publisher_creator_contact_dates_landing_page_and_citation(build_dir: Path, facts):
    void = Graph().parse(build_dir / "void.ttl")
    info = facts.dataset
    creator = void.value(DATASET, DCTERMS.creator)
    assert str(creator) == "https://w3id.org/mrkg/agent/mrkg-curators" == str(void.value(DATASET, DCTERMS.publisher))
    assert str(void.value(creator, URIRef("http://xmlns.com/foaf/0.1/name"))) == info.creator
    contact = void.value(DATASET, DCAT.contactPoint)
    assert (contact, RDF.type, URIRef("http://www.w3.org/2006/vcard/ns#Kind")) in void
    assert str(void.value(DATASET, DCAT.landingPage)) == info.landing_page == "https://w3id.org/mrkg/"
    assert str(void.value(DATASET, DCTERMS.issued)) == info.issued.isoformat()
    assert str(void.value(DATASET, DCTERMS.modified)) == info.modified.isoformat()
    citation = str(void.value(DATASET, DCTERMS.bibliographicCitation))
    assert info.title in citation and json.loads((build_dir / "manifest.json").read_text())["version"] in citation
    iris = {str(o) for o in void.objects() if isinstance(o, URIRef)} | {str(s) for s in void.subjects()
                                                                      if isinstance(s, URIRef)}
    own = [i for i in iris if "w3id.org" in i or "example" in i or "mailto:" in i]
    assert all(i.startswith("https://w3id.org/mrkg/") for i in own), own  # no invented address or e-mail
