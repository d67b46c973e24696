"""`mrkg bench`: its parts (wrk output, scripts, the query mix, memory, the report) and one tiny live run."""

from __future__ import annotations

import os
import shutil

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


def test_parse_wrk():
    result = bench.parse_wrk(WRK_OUTPUT)
    assert result["requests_per_s"] == 1320.0 and result["requests"] == 3960
    assert result["latency_ms"] == {"p50": 11.5, "p75": 13.0, "p90": 0.8, "p99": 1200.0}
    assert (result["non_2xx"], result["socket_errors"]) == (37, 3)
    assert result["ok_requests_per_s"] == pytest.approx(1320 * (3960 - 40) / 3960, abs=0.01)


def test_wrk_script_posts_the_query_form_encoded():
    script = bench.wrk_script("/sparql", "ASK { ?s ?p \"]] x\" }")
    assert 'wrk.method = "POST"' in script and 'wrk.path = "/sparql"' in script
    assert "query=ASK+%7B+%3Fs+%3Fp+%22%5D%5D+x%22+%7D" in script
    assert bench.wrk_script("/", None) == 'wrk.method = "GET"\nwrk.path = "/"\n'


def test_query_mix_has_competency_and_scale_queries():
    mix = bench.query_mix()
    groups = {q.group for q in mix}
    assert groups == {"competency", "scale"}
    names = {q.name for q in mix}
    assert {bench.SMALL_QUERY, bench.MEDIUM_QUERY, "lookup-by-iri", "numeric-filter", "aggregation",
            "conflicts-join"} <= names
    for query in mix:  # each declares its prefixes: the peers know none of mrkg's
        check_query(query.text, base=None, prefixes={}, limits=Limits())


def test_benchmarks_folder_documented():
    readme = (REPO / "benchmarks" / "README.md").read_text()
    for query in bench.query_mix():
        if query.group == "scale":
            assert f"`{query.name}`" in readme, f"benchmarks/README.md does not describe {query.name}"


@pytest.mark.parametrize("name", ["store", "remote_endpoint", "cache_bytes"])
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


def _report() -> dict:
    def server(rps: float, rows: int = 3) -> dict:
        queries = {name: {"status": 200, "rows": rows, "single_client": {"n": 5, "median_ms": 1.0, "p99_ms": 2.0},
                          "load": {"ok_requests_per_s": rps, "requests_per_s": rps}}
                   for name in ("tiny-ask", "medium-join")}
        return {"load_seconds": 1.0, "prepare_seconds": 0.0, "peak_rss_bytes": 300 << 20,
                "peak_pss_bytes": 100 << 20, "queries": queries}

    report = {"date": "2026-01-01 00:00 UTC", "command": "mrkg bench --size 100000 --duration 3",
              "elapsed_seconds": 60.0, "versions": {"pyoxigraph": "0.5"},
              "machine": {"cpus": 2, "cpu_model": "CPU", "memory_bytes": 24 << 30, "system": "Linux", "python": "3.11"},
              "settings": {"triples": 100_000, "seed": 1, "connections": 16, "wrk_threads": 2, "duration_s": 3.0},
              "queries": [{"name": "tiny-ask", "title": "Tiny", "group": "scale"},
                          {"name": "medium-join", "title": "Medium", "group": "scale"}],
              "servers": {"mrkg": server(1000), "mrkg-cached": server(2000), "oxigraph": server(500),
                          "rdflib-endpoint": server(100, rows=4),
                          "flask-hello": {"load_seconds": 0.5, "peak_rss_bytes": 1, "peak_pss_bytes": 1,
                                          "queries": {"hello": {"status": 200, "load": {"ok_requests_per_s": 4000}}}}}}
    report["summary"] = bench.summarize(report)
    return report


def test_summary_ratios_and_goals():
    summary = _report()["summary"]
    assert summary["per_query"]["tiny-ask"]["mrkg/oxigraph"] == 2.0
    assert summary["mrkg/rdflib-endpoint_geomean"] == 10.0
    assert summary["mrkg_small_query/flask_ceiling"] == 0.25
    goals = summary["goals"]
    assert goals["throughput >= oxigraph server's (geomean over the mix; cache off)"]["met"]
    assert not goals["small-query throughput >= 80% of Flask's ceiling (cache off)"]["met"]
    assert goals["small-query throughput >= 80% of Flask's ceiling (result cache on, the default)"]["met"] is False
    assert {(m["server"], m["query"]) for m in summary["mismatched_rows"]} == {("rdflib-endpoint", "tiny-ask"),
                                                                               ("rdflib-endpoint", "medium-join")}


def test_markdown_report(tmp_path):
    report = _report()
    json_path, md_path = bench.write_report(report, tmp_path)
    text = md_path.read_text()
    assert text.startswith("<!-- Generated by `mrkg bench`")
    assert "| tiny-ask | 1,000 | 2,000 | 500 | 100 | 2.00 | 10.00 | 3 |" in text
    assert "4,000 req/s" in text and "differ from the oxigraph server" in text
    assert json_path.read_text().startswith("{")


def test_bench_flask_ceiling_live(tmp_path):
    """The whole loop on the cheapest server: start, probe, latency, wrk, memory, stop."""
    require_tool("wrk", package="wrk")
    cfg = bench.BenchConfig(triples=500, duration=1, latency_budget=0.2, latency_requests=10,
                            servers=("flask-hello",), work=tmp_path / "work", out=tmp_path / "out")
    report = bench.run_bench(cfg, echo=lambda text: None)
    hello = report["servers"]["flask-hello"]
    assert hello["queries"]["hello"]["status"] == 200
    assert hello["queries"]["hello"]["load"]["ok_requests_per_s"] > 0
    assert hello["peak_rss_bytes"] > 0
    assert bench.render_markdown(report).count("flask-hello") >= 1


def test_summary_takes_the_paired_small_query_ratio():
    report = _report()
    rounds = [{"flask_hello_rps": 4000, "small_query_rps": q, "ratio": q / 4000} for q in (3000, 3600, 3400)]
    report["paired"] = {"mrkg": {"rounds": rounds, "median_ratio": 0.85}}
    summary = bench.summarize(report)
    assert summary["mrkg_small_query/flask_ceiling"] == 0.85  # not 1000 / 4000 from the sequential runs
    assert summary["goals"]["small-query throughput >= 80% of Flask's ceiling (cache off)"]["met"]
    report["summary"] = summary
    text = bench.render_markdown(report)
    assert "| mrkg | 3,000 / 3,600 / 3,400 | 4,000 / 4,000 / 4,000 | 0.75 / 0.90 / 0.85 | **0.85** |" in text


@pytest.mark.slow
def test_paired_small_query_live(tmp_path):
    """mrkg and Flask's hello-world route running side by side, measured in turn."""
    (wrk,) = require_tool("wrk", package="wrk")
    cfg = bench.BenchConfig(triples=500, duration=1, servers=("flask-hello", "mrkg"), work=tmp_path / "work",
                            out=tmp_path / "out")
    cfg.work.mkdir()
    (cfg.work / "wrk").mkdir()
    build, _ = bench.prepare_data(cfg.work, cfg.triples, cfg.seed)
    result = bench.paired_small_query("mrkg", build, bench.query_mix(), cfg, wrk, cfg.work / "wrk",
                                      echo=lambda text: None)
    assert len(result["rounds"]) == bench.PAIRED_ROUNDS
    assert all(r["small_query_rps"] > 0 and r["flask_hello_rps"] > 0 for r in result["rounds"])
    assert result["median_ratio"] == sorted(r["ratio"] for r in result["rounds"])[1]
