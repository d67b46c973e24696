"""`mrkg bench`: its parts (the copies of the scaled facts, queries parameterised over them, wrk output and scripts,
memory, the report) and one tiny live run on a real scaled build."""

from __future__ import annotations

import os
import re
import shutil
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import REPO, require_tool

from mrkg import bench
from mrkg.engine.guard import Limits, check_query

WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:8000/sparql
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.10ms    3.20ms  40.00ms   80.00%
    Req/Sec   660.00     50.00   700.00     70.00%
  Latency Distribution
     50%   11.50ms
     75%   13.00ms
     90%  800.00us
     99%    1.20s
  3960 requests in 3.00s, 1.20MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 37
Requests/sec:   1320.00
Transfer/sec:    400.00KB
"""


def test_parse_wrk_with_latency_percentiles():
    result = bench.parse_wrk(WRK_OUTPUT)
    assert result["requests_per_s"] == 1320.0 and result["requests"] == 3960
    assert result["latency_ms"] == {"p50": 11.5, "p75": 13.0, "p90": 0.8, "p99": 1200.0}
    assert (result["non_2xx"], result["socket_errors"]) == (37, 3)
    assert result["ok_requests_per_s"] == pytest.approx(1320 * (3960 - 40) / 3960, abs=0.01)


def test_query_mix_has_competency_and_scale_queries():
    mix = bench.query_mix()
    assert {q.group for q in mix} == {"competency", "scale"}
    names = {q.name for q in mix}
    assert {bench.SMALL_QUERY, bench.MEDIUM_QUERY, "lookup-by-iri", "numeric-filter", "aggregation",
            "conflicts-join"} <= names
    assert set(bench.COPY0_ONLY) <= names
    for query in mix:  # each declares its prefixes: the peers know none of mrkg's
        check_query(query.text, base=None, prefixes={}, limits=Limits())


def test_benchmarks_folder_documented():
    readme = (REPO / "benchmarks" / "README.md").read_text()
    for query in bench.query_mix():
        if query.group == "scale":
            assert f"`{query.name}`" in readme, f"benchmarks/README.md does not describe {query.name}"


@pytest.mark.parametrize("name", ["store", "store_dir", "remote_endpoint", "cache_bytes"])
def test_engine_settings_documented(name):
    from mrkg import settings as settings_module

    assert name in settings_module.BY_NAME
    assert f"`{name}`" in (REPO / "benchmarks" / "README.md").read_text(), f"document {name} in benchmarks/README.md"


def test_missing_wrk_is_one_clear_sentence(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(bench.BenchError, match=r"apt-get install wrk"):
        bench.check_tools(bench.SERVERS)


def test_tree_memory_of_this_process():
    rss, pss = bench.tree_memory(os.getpid())
    assert rss > 0 and 0 < pss <= rss


def test_pick_copies_spreads_over_every_copy():
    assert bench.pick_copies([0, 1, 2]) == [0, 1, 2]
    picked = bench.pick_copies(list(range(46)), 8)
    assert len(picked) == 8 and picked[0] == 0 and picked[-1] == 45 and picked == sorted(set(picked))


# --- a real scaled facts tree at a tiny size (two copies) and its real build ----------------------------------

@pytest.fixture(scope="module")
def scaled(tmp_path_factory) -> bench.SizeData:
    sources = REPO.parent / "shared" / "sources"
    if not sources.is_dir():
        pytest.skip("no shared/sources beside the project")
    work = tmp_path_factory.mktemp("bench-work")
    return bench.prepare_size(work, 60_000, facts_dir=REPO / "facts", sources_dir=sources,
                              ontology_dir=REPO / "ontology", echo=lambda text: None)


def _tokens(text: str) -> list[str]:
    return re.findall(r"<[^>\s]*>|[^\s{}().;,]+", text)


def test_scaled_copies_read_back_from_the_tree(scaled):
    copies = scaled.copies
    assert sorted(copies) == [0, 1]
    real = {p.stem for p in (REPO / "facts" / "sources").glob("*.yaml")}
    assert copies[0].sources == {s: s for s in real}
    for real_id, copy_id in copies[1].sources.items():
        copy_file = scaled.tree / "facts" / "sources" / f"{copy_id}.yaml"
        real_text = (REPO / "facts" / "sources" / f"{real_id}.yaml").read_text()
        real_file = re.search(r"^  file: (\S+)", real_text, re.M).group(1)
        assert re.search(rf"^  file: {copy_id}_{re.escape(real_file.split('_', 1)[1])}$", copy_file.read_text(), re.M)


def test_parameterise_renames_exactly_the_ids(scaled):
    """claim-provenance names a claim of source 001 and entities: copy 1's variant names the same claim in the copy of
    001 and the entities' copies, and nothing else changes."""
    query = next(q for q in bench.query_mix() if q.name == "claim-provenance")
    copy = scaled.copies[1]
    text = bench.parameterise(query.text, copy)
    before, after = _tokens(query.text), _tokens(text)
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert changed, "claim-provenance names a claim of the real facts"
    tree_text = {p.stem: p.read_text() for p in (scaled.tree / "facts" / "sources").glob("*.yaml")}
    for old, new in changed:
        if old.startswith("<https://w3id.org/mrkg/claim/"):
            source, claim = re.fullmatch(r"<https://w3id.org/mrkg/claim/(\d{3})-(.+)>", old).groups()
            new_source, new_claim = re.fullmatch(r"<https://w3id.org/mrkg/claim/(\d{3})-(.+)>", new).groups()
            assert new_source == copy.sources[source] != source and new_claim == claim
            assert re.search(rf"^  - id: {re.escape(claim)}$", tree_text[new_source], re.M)
        else:
            prefix, local = old.split(":", 1)
            assert prefix == "ent" and new == f"ent:{local}-c1" and local in copy.entities
    assert bench.parameterise(query.text, scaled.copies[0]) == query.text
    # source graphs and prefixed source names too
    graph_query = next(q for q in bench.query_mix() if q.name == "source-004-baclofen-and-benzodiazepines")
    assert f"graph/source/{copy.sources['004']}>" in bench.parameterise(graph_query.text, copy)
    lookup = next(q for q in bench.query_mix() if q.name == "lookup-by-iri")
    assert f"src:{copy.sources['001']} " in bench.parameterise(lookup.text, copy)


def test_variants_one_per_copy_unless_nothing_is_named(scaled):
    mix = {q.name: q for q in bench.query_mix()}
    assert [v.copy for v in bench.variants(mix["tiny-ask"], scaled.copies)] == [0, 1]
    assert [v.copy for v in bench.variants(mix["aggregation"], scaled.copies)] == [0]
    assert [v.copy for v in bench.variants(mix["baclofen-identifiers"], scaled.copies)] == [0]


# --- wrk scripts, against a real listener --------------------------------------------------------------------

def test_wrk_cycle_script_sends_every_body_in_turn(tmp_path):
    (wrk,) = require_tool("wrk", package="wrk")
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((urllib.parse.parse_qs(body.decode())["query"][0], self.headers["Accept"]))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        requests = [('ASK { ?s ?p "]] a" }', bench.ACCEPT), ("SELECT * { ?s ?p ?o }", bench.ACCEPT),
                    ("CONSTRUCT WHERE { ?s ?p ?o }", bench.GRAPH_ACCEPT)]
        script = tmp_path / "cycle.lua"
        script.write_text(bench.wrk_cycle_script("/sparql", requests))
        result = bench.run_wrk(wrk, f"http://127.0.0.1:{server.server_port}/sparql", script, duration=1,
                               connections=1, threads=1, timeout=2)
    finally:
        server.shutdown()
        server.server_close()
    assert result["requests"] >= 3 and "p99" in result["latency_ms"]
    # in turn (wrk asks the script for one request before it starts, so the cycle may begin anywhere)
    start = requests.index(seen[0])
    assert seen[:3] == (requests * 2)[start:start + 3] and set(seen) == set(requests)


# --- the report -------------------------------------------------------------------------------------------------

def _sized(label: str, triples: int, servers: dict) -> dict:
    sized = {"label": label, "triples": triples, "quads": triples, "copies": 2, "data_seconds": {}, "data_reused": True,
             "queries": [{"name": "tiny-ask", "title": "Tiny", "group": "scale", "form": "ASK", "variants": [0, 1]},
                         {"name": "medium-join", "title": "Medium", "group": "scale", "form": "SELECT",
                          "variants": [0, 1]}],
             "servers": servers, "skipped": {}}
    sized["summary"] = bench.summarize_size(sized)
    return sized


def _server(rps16: float, rps64: float, rows: int = 3) -> dict:
    def row(name):
        answers = [{"copy": k, "boolean": True} if name == "tiny-ask" else {"copy": k, "rows": rows} for k in (0, 1)]
        return {"status": 200, "answers": answers, "single_client": {"n": 5, "median_ms": 1.0, "p99_ms": 2.0},
                "load": {"16": {"ok_requests_per_s": rps16, "latency_ms": {"p50": 1.0, "p99": 3.0}},
                         "64": {"ok_requests_per_s": rps64, "latency_ms": {"p50": 2.0, "p99": 9.0}}}}
    return {"load_seconds": 1.0, "peak_rss_bytes": 300 << 20, "peak_pss_bytes": 100 << 20,
            "queries": {n: row(n) for n in ("tiny-ask", "medium-join")},
            "mix": {"requests_in_cycle": 4, "load": {"ok_requests_per_s": 50.0, "requests": 150,
                                                     "latency_ms": {"p50": 5, "p99": 1500}}}}


def _report() -> dict:
    small = _sized("100k", 100_000, {"oxigraph": _server(500, 400), "mrkg": _server(1000, 200),
                                      "virtuoso": _server(250, 250, rows=4)})
    small["paired"] = {"mrkg": {"rounds": [{"flask_hello_rps": 4000, "small_query_rps": q, "ratio": q / 4000}
                                           for q in (3000, 3600, 3400)], "median_ratio": 0.85}}
    large = _sized("10M", 10_000_000, {"mrkg-store": _server(10, 10)})
    report = {"date": "2026-01-01 00:00 UTC", "command": "mrkg bench", "elapsed_seconds": 60.0,
              "versions": {"pyoxigraph": "0.5"},
              "machine": {"cpus": 2, "cpu_model": "CPU", "memory_bytes": 24 << 30, "system": "Linux", "python": "3.11"},
              "settings": {"connections": [16, 64], "wrk_threads": 2, "duration_s": 1.0, "latency_budget_s": 0.5,
                           "query_timeout_s": 10.0, "mix_seconds": 3.0},
              "sizes": {"100k": small, "10M": large}, "empty_answers": [],
              "extras": {"scale": {"goals": {"build + validation of 10M < 15 min": {"value": 700, "target": 900,
                                                                                     "met": True}}}}}
    report["goals"] = bench.goals(report)
    return report


def test_goals_met_and_not_met_with_their_figures():
    report = _report()
    by_goal = {g["goal"]: g for g in report["goals"]}
    at16 = by_goal["100k: geometric mean of mrkg (cache off) / oxigraph server throughput >= 1.0 at 16 connections"]
    at64 = by_goal["100k: geometric mean of mrkg (cache off) / oxigraph server throughput >= 1.0 at 64 connections"]
    assert (at16["value"], at16["met"]) == (2.0, True) and (at64["value"], at64["met"]) == (0.5, False)
    assert at64.get("informative") and not at16.get("informative")
    ask = next(g for g in report["goals"] if "tiny ASK" in g["goal"])
    assert (ask["value"], ask["met"]) == (0.85, True)
    pss = next(g for g in report["goals"] if g["goal"].startswith("10M") and "PSS" in g["goal"])
    p99 = next(g for g in report["goals"] if g["goal"].startswith("10M") and "p99" in g["goal"])
    assert pss["met"] and (p99["value"], p99["met"]) == (1500, False)
    assert by_goal["scale: build + validation of 10M < 15 min"]["met"]
    mismatched = report["sizes"]["100k"]["summary"]["mismatched_rows"]
    assert [(m["server"], m["query"]) for m in mismatched] == [("virtuoso", "medium-join")]  # an ASK's true is 1 row


def test_a_mix_of_which_nothing_was_answered_has_no_p99_and_is_not_met(tmp_path):
    report = _report()
    # wrk reports latencies of 0.0 when no request came back within its run: that is no figure, let alone under 1 s
    report["sizes"]["10M"]["servers"]["mrkg-store"]["mix"]["load"] = {
        "ok_requests_per_s": 0.0, "requests": 0, "latency_ms": {"p50": 0.0, "p99": 0.0}}
    report["extras"]["request_profile"] = {"stages_us": {"pyoxigraph: Store.query alone": 30.4}}
    report["goals"] = bench.goals(report)
    p99 = next(g for g in report["goals"] if g["goal"].startswith("10M") and "p99" in g["goal"])
    assert p99["value"] is None and not p99["met"]
    text = bench.write_report(report, tmp_path)[1].read_text()
    assert ("- **not met**: 10M: the competency mix's p99 under load (16 connections) < 1 s — no request of the mix "
            "was answered within its 3 s run, so the p99 is above 3 s") in text
    assert "| mrkg-store | 4 | 0 | – | – |" in text
    assert "| stage | µs a request |" in text and "| pyoxigraph: Store.query alone | 30.400 |" in text


def test_markdown_report(tmp_path):
    report = _report()
    json_path, md_path = bench.write_report(report, tmp_path)
    text = md_path.read_text()
    assert text.startswith("<!-- Generated by `mrkg bench`")
    assert "| tiny-ask | 1,000 | 500 | 250 | 2.00 | 4.00 | true ×2 |" in text
    assert "| medium-join | 200 | 400 | 250 | 0.50 | 0.80 | 3 ×2 |" in text
    assert "- **not met**: 10M: the competency mix's p99 under load (16 connections) < 1 s — 1,500 ms" in text \
        or "- **not met**: 10M: the competency mix's p99 under load (16 connections) < 1 s — 1500" in text
    assert "| mrkg | 3,000 / 3,600 / 3,400 | 4,000 / 4,000 / 4,000 | 0.75 / 0.90 / 0.85 | **0.85** |" in text
    assert "Answers that differ" in text and "## Build and validate at 10M triples" in text
    assert json_path.read_text().startswith("{")


def test_the_report_names_no_folder_of_the_machine(tmp_path):
    report = _report()
    report["extras"]["scale"]["build"] = {"message": f"published {bench.REPO_DIR / '.bench' / 'size-10M' / 'build'}",
                                          "root": str(bench.REPO_DIR)}
    json_path, md_path = bench.write_report(report, tmp_path)
    for text in (json_path.read_text(), md_path.read_text()):
        assert str(bench.REPO_DIR) not in text
    assert "published .bench/size-10M/build" in json_path.read_text()


# --- live: the whole loop on a real scaled build -----------------------------------------------------------

LIVE_QUERIES = ("tiny-ask", "claim-provenance", "drowsiness-frequency-per-source", "aggregation")


def _config(scaled: bench.SizeData, tmp_path: Path, **changes) -> bench.BenchConfig:
    settings = dict(sizes=(60_000,), duration=0.5, connections=(16,), latency_budget=0.1, latency_requests=5,
                    mix_seconds=0.5, servers=("oxigraph", "mrkg"), queries=LIVE_QUERIES, work=scaled.folder.parent,
                    out=tmp_path / "out", sources_dir=REPO.parent / "shared" / "sources")
    return bench.BenchConfig(**(settings | changes))


@pytest.mark.slow
def test_tiny_live_run_reports_rows_per_query_and_goals(scaled, tmp_path):
    require_tool("wrk", package="wrk")
    report = bench.run_bench(_config(scaled, tmp_path), echo=lambda text: None)
    sized = report["sizes"]["60k"]
    assert set(sized["servers"]) == {"oxigraph", "mrkg"} and not report["empty_answers"]
    for name in LIVE_QUERIES:
        for server in ("oxigraph", "mrkg"):
            row = sized["servers"][server]["queries"][name]
            assert row["status"] == 200, row
            assert [a["copy"] for a in row["answers"]] == ([0] if name == "aggregation" else [0, 1])
            assert row["load"]["16"]["ok_requests_per_s"] > 0 and "p99" in row["load"]["16"]["latency_ms"]
    assert sized["summary"]["mismatched_rows"] == []
    paired = sized["paired_mix"]
    assert set(paired["per_query"]) == set(LIVE_QUERIES)
    assert all(e["mrkg"] and e["oxigraph"] and e["ratio"] for e in paired["per_query"].values())
    goal = next(g for g in report["goals"] if "paired" in g["goal"] and "geometric mean" in g["goal"])
    assert goal["value"] == paired["geomean"] and goal["met"] == (paired["geomean"] >= 1.0)
    text = bench.render_markdown(report)
    assert "| claim-provenance |" in text and "## Goals" in text and "paired (" in text


@pytest.mark.slow
def test_an_empty_answer_fails_the_run(scaled, tmp_path, monkeypatch):
    require_tool("wrk", package="wrk")
    real = bench.query_mix

    def with_an_empty_query(repo=REPO):
        nothing = bench.MixQuery("finds-nothing", "Nothing", "SELECT ?s WHERE { ?s a <urn:mrkg:nothing> }", "scale")
        return real(repo) + [nothing]

    monkeypatch.setattr(bench, "query_mix", with_an_empty_query)
    cfg = _config(scaled, tmp_path, queries=("tiny-ask", "finds-nothing"), servers=("oxigraph",))
    with pytest.raises(bench.BenchError, match=r"finds-nothing returns an empty answer on oxigraph at 60k"):
        bench.run_bench(cfg, echo=lambda text: None)


def test_scaled_copies_sharing_one_source_file(tmp_path):
    """Beyond 900 scaled source ids several copies share one source file, their claim ids suffixed -c<k>: the copy's
    source id and claim suffix are read back from the file, and a claim IRI is renamed with both."""
    real = (REPO / "facts" / "sources" / "001.yaml").read_text()
    real_file = re.search(r"^  file: (\S+)", real, re.M).group(1)

    def copy_of(k: int) -> str:
        text = re.sub(r'^  id: "001"', '  id: "100"', real, flags=re.M)
        text = text.replace(f"  file: {real_file}", f"  file: 100_{real_file.split('_', 1)[1]}")
        text = re.sub(r"^(  - id: )(\S+)$", rf"\g<1>\g<2>-c{k}", text, flags=re.M)
        return re.sub(r"^(    subject: )(\S+)$", rf"\g<1>\g<2>-c{k}", text, flags=re.M)

    (tmp_path / "facts" / "sources").mkdir(parents=True)
    second = copy_of(2)
    (tmp_path / "facts" / "sources" / "100.yaml").write_text(copy_of(1) + "\n" + second.split("\nclaims:\n", 1)[1])
    copies = bench.scaled_copies(tmp_path, REPO / "facts")
    assert (copies[1].sources["001"], copies[1].claim_suffix["001"]) == ("100", "-c1")
    assert (copies[2].sources["001"], copies[2].claim_suffix["001"]) == ("100", "-c2")
    query = next(q for q in bench.query_mix() if q.name == "claim-provenance")
    claim = re.search(r"claim/001-([a-z0-9-]+)>", query.text).group(1)
    assert f"claim/100-{claim}-c2>" in bench.parameterise(query.text, copies[2])


def test_an_ask_false_differs_from_zero_rows():
    def one(answer: dict) -> dict:
        return {"queries": {"tiny-ask": {"status": 200, "answers": [answer]}}}

    sized = {"queries": [{"name": "tiny-ask"}], "servers": {"oxigraph": one({"copy": 0, "boolean": False}),
                                                           "virtuoso": one({"copy": 0, "rows": 0})}}
    mismatched = bench.summarize_size(sized)["mismatched_rows"]
    assert [(m["server"], m["rows"], m["reference_rows"]) for m in mismatched] == [("virtuoso", ["0"], ["false"])]
    # Virtuoso 7.2's answers to an ASK false and true, as it sends them
    assert bench._answer(b'{ "head": { "link": [], "vars": ["__ASK_RETVAL"] }, "results": { "distinct": false, '
                         b'"ordered": true, "bindings": [ ] } }', bench.ACCEPT) == (None, False)
    assert bench._answer(b'{ "head": { "link": [], "vars": ["__ASK_RETVAL"] }, "results": { "bindings": [ '
                         b'{ "__ASK_RETVAL": { "type": "typed-literal", "value": "1" }} ] } }', bench.ACCEPT) \
        == (None, True)
