"""The W3C SPARQL 1.1 results-format tests (JSON, CSV, TSV; shared/conformance/sparql11-results-formats) through
a real `mrkg serve`, for every engine. Each test's data is loaded as a named graph and selected with
default-graph-uri, so the protocol's dataset handling is exercised too."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import RESULTS_GRAPHS, conformance_dir, sparql_get

ROOT = conformance_dir() / "sparql11-results-formats"
# test -> (query file, data file, expected result file, media type)
CASES = {
    "jsonres01": ("json-res/jsonres01.rq", "json-res/data.ttl", "json-res/jsonres01.srj", "application/sparql-results+json"),
    "jsonres02": ("json-res/jsonres02.rq", "json-res/data.ttl", "json-res/jsonres02.srj", "application/sparql-results+json"),
    "jsonres03": ("json-res/jsonres03.rq", "json-res/data.ttl", "json-res/jsonres03.srj", "application/sparql-results+json"),
    "jsonres04": ("json-res/jsonres04.rq", "json-res/data.ttl", "json-res/jsonres04.srj", "application/sparql-results+json"),
    "csv01": ("csv-tsv-res/csvtsv01.rq", "csv-tsv-res/data.ttl", "csv-tsv-res/csvtsv01.csv", "text/csv"),
    "tsv01": ("csv-tsv-res/csvtsv01.rq", "csv-tsv-res/data.ttl", "csv-tsv-res/csvtsv01.tsv", "text/tab-separated-values"),
    "csv02": ("csv-tsv-res/csvtsv02.rq", "csv-tsv-res/data.ttl", "csv-tsv-res/csvtsv02.csv", "text/csv"),
    "tsv02": ("csv-tsv-res/csvtsv02.rq", "csv-tsv-res/data.ttl", "csv-tsv-res/csvtsv02.tsv", "text/tab-separated-values"),
    "csv03": ("csv-tsv-res/csvtsv01.rq", "csv-tsv-res/data2.ttl", "csv-tsv-res/csvtsv03.csv", "text/csv"),
    "tsv03": ("csv-tsv-res/csvtsv01.rq", "csv-tsv-res/data2.ttl", "csv-tsv-res/csvtsv03.tsv", "text/tab-separated-values"),
}


def _bnode_map(rows: list[list[str]], marker) -> list[list[str]]:
    """Relabel blank nodes in order of appearance, so that labels chosen by the engine do not matter."""
    seen: dict[str, str] = {}
    return [[(seen.setdefault(cell, f"_:b{len(seen)}") if marker(cell) else cell) for cell in row] for row in rows]


def _normalise_table(text: str, sep: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep, quoting=csv.QUOTE_MINIMAL if sep == ","
                           else csv.QUOTE_NONE))
    rows = [row for row in rows if row]
    return rows[0], _bnode_map(rows[1:], lambda cell: cell.startswith("_:"))


NUMERIC = {f"http://www.w3.org/2001/XMLSchema#{t}" for t in (
    "integer", "decimal", "double", "float", "negativeInteger", "nonNegativeInteger", "positiveInteger",
    "nonPositiveInteger", "long", "int", "short", "byte")}


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def _term(text: str):
    """A TSV cell as a comparable value. Numbers compare by value: the expected files write "-3"^^xsd:negativeInteger
    as a bare -3 (which reads back as xsd:integer), and oxigraph stores numbers by value (1.0E6 comes back as 1000000)."""
    from pyoxigraph import RdfFormat, parse

    if text.startswith("<") or text.startswith("_:") or text == "":
        return text
    obj = next(iter(parse(f"<urn:s> <urn:p> {text} .", format=RdfFormat.TURTLE))).object
    if obj.datatype is not None and obj.datatype.value in NUMERIC:
        return float(obj.value)
    return obj.value, obj.datatype.value if obj.datatype else None, obj.language


def _json_rows(doc: dict) -> list[dict]:
    rows = []
    labels: dict[str, str] = {}
    for binding in doc["results"]["bindings"]:
        row = {}
        for name, term in binding.items():
            term = dict(term)
            if term["type"] == "bnode":
                term["value"] = labels.setdefault(term["value"], f"b{len(labels)}")
            if term.get("datatype") == "http://www.w3.org/2001/XMLSchema#string":
                del term["datatype"]
            row[name] = term
        rows.append(row)
    return rows


@pytest.mark.parametrize("name", list(CASES))
def test_results_format_w3c(live_server, name):
    query_file, data_file, expected_file, media_type = CASES[name]
    query = (ROOT / query_file).read_text(encoding="utf-8")
    answer = sparql_get(live_server, query, accept=media_type, default_graph_uri=RESULTS_GRAPHS[data_file])
    assert (answer.status, answer.media_type) == (200, media_type), answer.body[:200]
    body = answer.body
    expected = (ROOT / expected_file).read_text(encoding="utf-8")
    text = body.decode("utf-8")
    if media_type.endswith("json"):
        want, got = json.loads(expected), json.loads(text)
        if "boolean" in want:
            assert got["boolean"] == want["boolean"]
            return
        assert set(got["head"]["vars"]) == set(want["head"]["vars"])
        assert _json_rows(got) == _json_rows(want)
    elif media_type == "text/csv":
        want_head, want_rows = _normalise_table(expected, ",")
        got_head, got_rows = _normalise_table(text, ",")
        order = [got_head.index(v) for v in want_head]
        # CSV keeps only the text; numbers compare by value (see _term)
        assert [[_number(row[i]) for i in order] for row in got_rows] == [[_number(c) for c in r] for r in want_rows]
        assert text.endswith("\r\n"), "CSV lines end with CRLF"
    else:
        want_head, want_rows = _normalise_table(expected, "\t")
        got_head, got_rows = _normalise_table(text, "\t")
        order = [got_head.index(v) for v in want_head]
        assert [[_term(row[i]) for i in order] for row in got_rows] == [[_term(c) for c in r] for r in want_rows]
