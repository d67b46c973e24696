"""The one contract every query engine keeps (parametrized over engine.BACKENDS), the guard, and the worker pool."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest
from conftest import BULK_GRAPH, BULK_SIZE, ENDPOINT_DATA
from conftest import CARTESIAN as HOSTILE

from mrkg.engine import BACKENDS, ConfigurationError, QueryError, backend_for_store, open_backend
from mrkg.engine.base import DatasetSpec
from mrkg.engine.guard import Limits, check_query
from mrkg.engine.pool import WorkerPool
from mrkg.engine.runner import Job, Runner
from mrkg.web.app import PREFIX_MAP

G1, G2 = "urn:test:g1", "urn:test:g2"


def _contract_data(folder):
    data = folder / "data.nq"
    data.write_text(
        f'<urn:a> <urn:p> "one" <{G1}> .\n<urn:a> <urn:q> <urn:b> <{G1}> .\n'
        f'<urn:b> <urn:p> "two"@en <{G2}> .\n<urn:c> <urn:p> "3"^^<http://www.w3.org/2001/XMLSchema#integer> <{G2}> .\n')
    return data


def _local_backend(name: str, tmp_path):
    """A backend holding two small graphs; engines without an in-process store need their own fixture here."""
    if name not in {"oxigraph", "memory"}:
        pytest.skip(f"no local test store for the {name!r} engine in this contract test")
    backend = open_backend(name)
    backend.load(_contract_data(tmp_path))
    return backend


@pytest.fixture(scope="session")
def remote_contract_url(oxigraph_serve, tmp_path_factory):
    """The same two graphs in the oxigraph server, for the remote engine (started once per session)."""
    return oxigraph_serve(_contract_data(tmp_path_factory.mktemp("contract")))


@pytest.fixture(scope="session")
def virtuoso_contract_url(virtuoso_serve, tmp_path_factory):
    """The same two graphs in Virtuoso, beside the graphs Virtuoso keeps for itself (skipped without Virtuoso)."""
    return virtuoso_serve(_contract_data(tmp_path_factory.mktemp("contract-virtuoso")))


# Every engine, and the remote engine over each real server: the oxigraph server and Virtuoso.
REMOTE_SERVERS = {"remote": "remote_contract_url", "remote-virtuoso": "virtuoso_contract_url"}


@pytest.fixture(scope="session")
def disk_contract_store(tmp_path_factory):
    """The same two graphs in an on-disk (RocksDB) oxigraph store, made as `store_dir` makes it."""
    from mrkg.engine.oxigraph import disk_store

    folder = tmp_path_factory.mktemp("contract-disk")
    return disk_store(_contract_data(folder), folder / "stores", "0" * 64)


@pytest.fixture(params=sorted(BACKENDS) + ["oxigraph-disk", "remote-virtuoso"])
def backend(request, tmp_path):
    if request.param in REMOTE_SERVERS:
        return open_backend("remote", request.getfixturevalue(REMOTE_SERVERS[request.param]))
    if request.param == "oxigraph-disk":
        from mrkg.engine.oxigraph import OxigraphBackend

        return OxigraphBackend.on_disk(request.getfixturevalue("disk_contract_store"))
    return _local_backend(request.param, tmp_path)


def guarded(text: str):
    return check_query(text, base="http://localhost/sparql", prefixes={}, limits=Limits())


def test_backend_graph_names_and_size(backend):
    assert backend.graph_names() == [G1, G2]
    assert len(backend) == 4


def test_backend_select_union_default_graph(backend):
    variables, rows = backend.evaluate(guarded("SELECT ?s ?o WHERE { ?s <urn:p> ?o } ORDER BY ?s"), None, {})
    assert variables == ["s", "o"]
    assert [(r[0].value, r[1].value) for r in rows] == [("urn:a", "one"), ("urn:b", "two"), ("urn:c", "3")]


def test_backend_select_unbound_is_none(backend):
    _, rows = backend.evaluate(guarded("SELECT ?s ?x WHERE { ?s <urn:p> ?o OPTIONAL { ?s <urn:q> ?x } } ORDER BY ?s"),
                               None, {})
    assert [r[1] is None for r in rows] == [False, True, True]


def test_backend_literal_terms(backend):
    _, rows = backend.evaluate(guarded("SELECT ?o WHERE { ?s <urn:p> ?o } ORDER BY ?s"), None, {})
    one, two, three = (r[0] for r in rows)
    assert two.language == "en"
    assert three.datatype.value == "http://www.w3.org/2001/XMLSchema#integer"
    assert one.datatype.value == "http://www.w3.org/2001/XMLSchema#string"


def test_backend_ask(backend):
    assert backend.evaluate(guarded("ASK { <urn:a> <urn:q> <urn:b> }"), None, {}) is True
    assert backend.evaluate(guarded("ASK { <urn:b> <urn:q> <urn:a> }"), None, {}) is False


def test_backend_construct(backend):
    triples = list(backend.evaluate(guarded("CONSTRUCT { ?o <urn:r> ?s } WHERE { ?s <urn:q> ?o }"), None, {}))
    assert [(t.subject.value, t.predicate.value, t.object.value) for t in triples] == [("urn:b", "urn:r", "urn:a")]


def test_backend_describe(backend):
    triples = list(backend.evaluate(guarded("DESCRIBE <urn:a>"), None, {}))
    assert {t.predicate.value for t in triples if t.subject.value == "urn:a"} == {"urn:p", "urn:q"}


def test_backend_dataset_default_graph(backend):
    _, rows = backend.evaluate(guarded("SELECT ?s WHERE { ?s ?p ?o }"), DatasetSpec((G2,), ()), {})
    assert sorted(r[0].value for r in rows) == ["urn:b", "urn:c"]


def test_backend_dataset_named_graphs_only(backend):
    query = guarded("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert [r[0].value for r in backend.evaluate(query, DatasetSpec((), (G1,)), {})[1]] == [G1]
    assert list(backend.evaluate(guarded("SELECT * WHERE { ?s ?p ?o }"), DatasetSpec((), (G1,)), {})[1]) == []


def test_backend_dataset_unknown_graph_empty(backend):
    spec = DatasetSpec(("http://127.0.0.1:9/nothing",), ("file:///etc/passwd",))
    assert list(backend.evaluate(guarded("SELECT * WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } }"),
                                 spec, {})[1]) == []


def test_backend_graph_variable_excludes_default(backend):
    _, rows = backend.evaluate(guarded("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"), None, {})
    assert [r[0].value for r in rows] == [G1, G2]


def test_backend_rejects_unsafe_file_types(backend, tmp_path):
    path = tmp_path / "x.jsonld"
    path.write_text("{}")
    with pytest.raises(ValueError):
        backend.load(path)


def test_backend_for_store_objects():
    from pyoxigraph import Store
    from rdflib import Dataset

    assert backend_for_store(Store()).name == "oxigraph"
    assert backend_for_store(Dataset()).name == "memory"
    with pytest.raises(ConfigurationError):
        backend_for_store(object())
    with pytest.raises(ConfigurationError):
        open_backend("nope")


# --- the runner: the same answers through every engine ------------------------------------------------

def test_runner_same_json_for_every_engine(tmp_path):
    answers = set()
    for name in ("oxigraph", "memory"):
        runner = Runner(_local_backend(name, tmp_path), limits=Limits(), prefixes={}, max_rows=10)
        answer = runner.run(Job("SELECT ?s ?o WHERE { ?s <urn:p> ?o } ORDER BY ?s", format="json"))
        answers.add(answer.body)
    assert len(answers) == 1


@pytest.mark.parametrize("key", ["json", "xml", "csv", "tsv"])
def test_runner_row_cap(backend, key):
    runner = Runner(backend, limits=Limits(), prefixes={}, max_rows=2)
    answer = runner.run(Job("SELECT * WHERE { ?s ?p ?o }", format=key))
    assert answer.status == 200 and answer.truncated and answer.rows == 2


# --- the guard -----------------------------------------------------------------------------------------

def test_guard_collects_from_clauses():
    query = guarded(f"SELECT * FROM <{G1}> FROM NAMED <{G2}> WHERE {{ ?s ?p ?o }}")
    assert (query.form, query.from_graphs, query.from_named) == ("SELECT", [G1], [G2])


def test_guard_long_query_parses_deep_one_is_a_400_and_recursion_limit_restored():
    """rdflib's parser recurses on long BGPs (RecursionError at ~90 patterns under Python's default limit): the
    guard raises the limit while it parses, so 150 patterns parse; nesting beyond any limit is a 400, not a
    crash; and the process-wide limit is what it was afterwards, either way."""
    import sys

    before = sys.getrecursionlimit()
    long = "SELECT * WHERE { " + " ".join(f"?s <urn:p{i}> ?o{i} ." for i in range(150)) + " }"
    query = check_query(long, base=None, prefixes={}, limits=Limits())
    assert query.form == "SELECT"
    assert sys.getrecursionlimit() == before
    deep = "SELECT * WHERE " + "{ " * 1000 + "?s ?p ?o" + " }" * 1000
    with pytest.raises(QueryError) as info:
        check_query(deep, base=None, prefixes={}, limits=Limits())
    assert info.value.status == 400 and str(info.value)
    assert sys.getrecursionlimit() == before


# --- the pool -------------------------------------------------------------------------------------------

class _StartSignal(Runner):
    """A Runner that writes its process id to a pipe as it starts a job: the test's event "the worker is
    evaluating the query" (the worker processes inherit the pipe from the fork)."""

    def __init__(self, *args, pipe: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.pipe = pipe

    def run(self, job):
        os.write(self.pipe, b"%d\n" % os.getpid())
        return super().run(job)


class _Started:
    """The reading end of that pipe: ``wait()`` -> the pid of the worker that just started a job."""

    def __init__(self):
        self.read, self.write = os.pipe()

    def wait(self, timeout: float = 60) -> int:
        import select

        line = b""
        while not line.endswith(b"\n"):
            ready, _, _ = select.select([self.read], [], [], timeout)
            assert ready, f"no worker started a job within {timeout} s"
            line += os.read(self.read, 1)
        return int(line)

    def close(self):
        os.close(self.write)
        os.close(self.read)


@pytest.fixture
def started():
    signal_pipe = _Started()
    yield signal_pipe
    signal_pipe.close()


def _signalling_pool(tmp_path, started: _Started, *, timeout: float, queue_timeout: float = 0.5) -> WorkerPool:
    backend = _local_backend("oxigraph", tmp_path)
    with open(tmp_path / "bulk.nt", "w") as out:
        out.writelines(f"<urn:s{i}> <urn:p> <urn:o{i}> .\n" for i in range(300))
    backend.load(tmp_path / "bulk.nt", graph=BULK_GRAPH)
    runner = _StartSignal(backend, limits=Limits(), prefixes=PREFIX_MAP, max_rows=10, pipe=started.write)
    return WorkerPool(runner, size=1, timeout=timeout, queue_timeout=queue_timeout).start()


@pytest.fixture
def pool(tmp_path, started):
    pool = _signalling_pool(tmp_path, started, timeout=1.5)
    yield pool
    pool.close()


def test_pool_answers(pool):
    answer = pool.run(Job(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{BULK_GRAPH}> {{ ?s ?p ?o }} }}", format="json"))
    assert json.loads(answer.body)["results"]["bindings"][0]["n"]["value"] == str(BULK_SIZE)


def test_pool_timeout_kills_and_replaces_worker(pool, started):
    """The query runs past its limit: a 503 saying so, the worker that ran it is gone, a new one answers."""
    from mrkg.engine import QueryTimeoutError

    with pytest.raises(QueryTimeoutError) as info:
        pool.run(Job(HOSTILE))
    assert info.value.status == 503 and "time limit" in str(info.value)
    hostile_worker = started.wait()
    assert pool.run(Job("ASK {}")).status == 200
    assert started.wait() != hostile_worker
    _wait_gone([hostile_worker])


def test_pool_bounds_concurrent_queries(pool, started):
    from mrkg.engine import BusyError, QueryTimeoutError

    outcome = []

    def hostile():
        try:
            pool.run(Job(HOSTILE))
        except QueryTimeoutError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=hostile)
    thread.start()
    started.wait()  # the only worker is evaluating the hostile query
    with pytest.raises(BusyError):  # so this one waits at most queue_timeout, then 503
        pool.run(Job("ASK {}"))
    thread.join()
    assert len(outcome) == 1


def test_pool_worker_crash_is_a_503(tmp_path, started):
    """The worker dies mid-query (SIGKILL, as the OOM killer would): the client gets a 503 that says so at once,
    not a time-out (the limit here is far away), and the pool answers again."""
    from mrkg.engine import EngineError, QueryTimeoutError

    pool = _signalling_pool(tmp_path, started, timeout=120)
    try:
        def killer():
            os.kill(started.wait(), signal.SIGKILL)

        thread = threading.Thread(target=killer)
        thread.start()
        with pytest.raises(EngineError) as info:
            pool.run(Job(HOSTILE))
        thread.join()
        assert info.value.status == 503 and not isinstance(info.value, QueryTimeoutError)
        assert "crashed" in str(info.value)
        assert pool.run(Job("ASK {}")).status == 200
    finally:
        pool.close()


def _wait_gone(pids: list[int], timeout: float = 60) -> None:
    """Wait until every process in ``pids`` has ended (exited, zombie included), on pidfd events, not sleeps."""
    import select

    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            assert ready, f"process {pid} still running after {timeout} s"
        finally:
            os.close(fd)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_pool_close_stops_every_process(tmp_path):
    pool = WorkerPool(Runner(_local_backend("oxigraph", tmp_path), limits=Limits(), prefixes={}, max_rows=1),
                      size=2).start()
    assert pool.run(Job("ASK {}")).status == 200
    zygote = pool.zygote_pid
    deadline = time.monotonic() + 60  # the zygote forks its workers one after the other: on a loaded machine the
    workers = _children(zygote)       # second may come a moment after the first answer
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        workers = _children(zygote)
    assert len(workers) == 2
    handles = [os.pidfd_open(pid) for pid in (zygote, *workers)]  # held, so no pid can be reused meanwhile
    try:
        pool.close()
        _wait_gone([zygote, *workers])
        assert not pool.alive()
    finally:
        for fd in handles:
            os.close(fd)


def test_endpoint_data_readme_describes_the_data():
    """The README of the constant test data says what is in it: every file, and the counts it states."""
    from pyoxigraph import RdfFormat, parse

    readme = (ENDPOINT_DATA / "README.md").read_text(encoding="utf-8")
    for path in ENDPOINT_DATA.iterdir():
        if path.name != "README.md":
            assert f"`{path.name}" in readme, f"tests/data/endpoint/README.md does not describe {path.name}"
    quads = list(parse(path=str(ENDPOINT_DATA / "mini.trig"), format=RdfFormat.TRIG))
    mrkg = "https://w3id.org/mrkg/ontology/"
    claims = {q.subject for q in quads if q.predicate.value.endswith("#type") and q.object.value == mrkg + "Claim"}
    graphs = {q.graph_name.value for q in quads if q.subject in claims}
    of = lambda predicate, value: {q.subject for q in quads if q.subject in claims  # noqa: E731
                                   and q.predicate.value == mrkg + predicate and q.object.value == mrkg + value}
    conflicts = {q.subject for q in quads if q.object.value == mrkg + "Conflict"}
    assert "three claims in two source graphs (one negated, one hedged), a conflict" in readme
    assert (len(claims), len(graphs), len(of("polarity", "Negated")), len(of("certainty", "Hedged")),
            len(conflicts)) == (3, 2, 1, 1, 1)
