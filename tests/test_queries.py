"""The competency questions (queries/*.rq) give their expected answers on the real build, term for term (datatypes
and language tags included); a changed answer fails with the diff to review; README examples are among them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPO

from mrkg.queries import answer_tsv, diff_expected, format_tsv, open_store, parse_tsv, read_queries, render_term, run

QUERIES = read_queries(REPO / "queries")
# An expected answer is read row by row by a person against facts/: it stays short enough for that.
MAX_EXPECTED_ROWS = 25
# One cell of an expected file: empty (unbound), a prefixed name, an <IRI>, or a quoted literal with its
# language tag or datatype; an ASK answers one cell true / false.
TERM = re.compile(r'^(|[a-z]+:[A-Za-z0-9_.-]*|<[^<>"{}|^`\\\s]*>|"([^"\\\t\n]|\\[tnr"\\])*"(@[a-zA-Z]+(-[a-zA-Z0-9]+)*'
                  r'|\^\^([a-z]+:[A-Za-z0-9_]+|<[^<>\s]*>))?)$')


@pytest.fixture(scope="module")
def store(build_dir: Path):
    return open_store(build_dir)


def test_there_are_competency_questions():
    assert QUERIES, "queries/ holds no .rq file"


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_competency_question_gives_its_expected_answer(store, query):
    assert query.expected_path.is_file(), (
        f"{query.expected_path.name} missing: run `mrkg query --write-expected queries/{query.path.name}`, "
        "check every row against facts/ and the sources, then commit it")
    variables, rows = run(store, query.text)
    assert rows, f"{query.name}: a competency question must have an answer"
    diff = diff_expected(query, answer_tsv(query, variables, rows))
    if diff:
        pytest.fail(f"{query.name}: the build's answer differs from the reviewed one (- expected, + build); if the "
                    f"change is right, review each row, then `mrkg query --write-expected {query.path.name}`:\n"
                    f"{diff}", pytrace=False)


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_expected_answer_is_small_and_typed(query):
    """Short enough to review, written as `mrkg query --write-expected` writes it, every cell a whole term."""
    text = query.expected_path.read_text(encoding="utf-8")
    variables, rows = parse_tsv(text)
    assert len(rows) <= MAX_EXPECTED_ROWS, (f"{query.name}: {len(rows)} rows is more than a person reviews; make "
                                            "the query answer its question with fewer (aggregates, LIMIT)")
    assert format_tsv(variables, rows) == text
    assert all(len(row) == len(variables) for row in rows), f"{query.name}: a row with a missing or extra cell"
    if variables == ["ask"]:
        assert rows in ([("true",)], [("false",)])
        return
    bad = [cell for row in rows for cell in row if not TERM.match(cell)]
    assert not bad, f"{query.name}: cells that are not whole terms: {bad[:5]}"
    if not query.ordered:
        assert rows == sorted(rows), f"{query.name}: an unordered answer is kept sorted, so diffs stay small"


def test_rendered_terms_keep_datatype_and_language():
    """What the comparison sees: the same lexical form with another datatype or language is another cell."""
    from pyoxigraph import BlankNode, Literal, NamedNode

    xsd = "http://www.w3.org/2001/XMLSchema#"
    cells = [render_term(t) for t in (
        Literal("10"), Literal("10", datatype=NamedNode(xsd + "integer")), Literal("10", datatype=NamedNode(xsd + "decimal")),
        Literal("10", language="en"), NamedNode("https://w3id.org/mrkg/entity/baclofen"),
        NamedNode("https://w3id.org/mrkg/graph/source/001"), Literal('a "b"\tc\nd\\'), BlankNode("b0"), None)]
    assert cells == ['"10"', '"10"^^xsd:integer', '"10"^^xsd:decimal', '"10"@en', "ent:baclofen",
                     "<https://w3id.org/mrkg/graph/source/001>", r'"a \"b\"\tc\nd\\"', "_:b0", ""]


def _normalise(text: str) -> str:
    return " ".join(line for line in text.split() if line)


def test_readme_sparql_examples_are_competency_questions():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sparql\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README shows no ```sparql example"
    bodies = {_normalise(re.sub(r"^#.*$", "", q.text, flags=re.M)): q.name for q in QUERIES}
    for block in blocks:
        body = _normalise(re.sub(r"^#.*$", "", block, flags=re.M))
        assert body in bodies, f"README example is not one of queries/*.rq (so it would not be tested):\n{block}"
