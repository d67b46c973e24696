"""The oxigraph engine on disk (`store_dir`): made once per dataset version, opened read-only by every process,
answering like the in-memory store, and surviving a worker stopped at a query's deadline."""

from __future__ import annotations

import pytest
from conftest import CARTESIAN, http_request, sparql_get, start_server, stop_server

from mrkg.engine.oxigraph import OxigraphBackend, disk_store

QUERIES = [
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
    "SELECT ?s ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?s ?label",
    "ASK { ?s a <https://w3id.org/mrkg/ontology/Drug> }",
]


def test_disk_store_made_once_per_version_and_old_versions_pruned(endpoint_build, tmp_path):
    data = endpoint_build / "mrkg.nq"
    first = disk_store(data, tmp_path, "a" * 64)
    marker = (first / "CURRENT").stat().st_mtime_ns
    assert disk_store(data, tmp_path, "a" * 64) == first
    assert (first / "CURRENT").stat().st_mtime_ns == marker  # reused, not rebuilt
    second = disk_store(data, tmp_path, "b" * 64)
    third = disk_store(data, tmp_path, "c" * 64)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([second.name, third.name]), "the newest previous version is kept, older ones go"
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir()), "no staging folder left behind"
    backend = OxigraphBackend.on_disk(third)
    assert len(backend) == len(OxigraphBackend.on_disk(second)) > 0


def test_disk_store_is_read_only(endpoint_build, tmp_path):
    from mrkg.engine import ConfigurationError

    backend = OxigraphBackend.on_disk(disk_store(endpoint_build / "mrkg.nq", tmp_path, "d" * 64))
    with pytest.raises(ConfigurationError, match="read-only"):
        backend.load(endpoint_build / "mrkg.nq")
    with pytest.raises(ConfigurationError, match="not an oxigraph store"):
        OxigraphBackend.on_disk(tmp_path / "missing")


@pytest.mark.slow
@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)  # compared with the in-memory oxigraph server
@pytest.mark.parametrize("executor", ["inline", "pool"])
def test_live_disk_store_answers_like_memory_and_survives_a_stopped_worker(endpoint_build, live_server, executor,
                                                                            tmp_path):
    store_dir = tmp_path / "stores"
    server = start_server(endpoint_build, "oxigraph", tmp_path / "serve.log", store_dir=str(store_dir),
                          executor=executor)
    try:
        assert http_request(server.url + "/health").json()["executor"] == executor
        assert len(list(store_dir.glob("store-*"))) == 1
        for query in QUERIES:
            on_disk, in_memory = sparql_get(server, query), sparql_get(live_server, query)
            assert on_disk.status == in_memory.status == 200
            assert on_disk.json() == in_memory.json(), query
        hostile = sparql_get(server, CARTESIAN)
        assert hostile.status == 503 and "time limit" in hostile.text
        for query in QUERIES:  # a fresh process reopens the store
            assert sparql_get(server, query).status == 200
    finally:
        stop_server(server)
