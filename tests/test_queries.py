"""The competency questions (queries/*.rq) give their expected answers on the real build; README examples are among them."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from conftest import REPO

from mrkg.queries import format_tsv, open_store, parse_tsv, read_queries, run

QUERIES = read_queries(REPO / "queries")


@pytest.fixture(scope="module")
def store(build_dir: Path):
    return open_store(build_dir)


def test_there_are_competency_questions():
    assert QUERIES, "queries/ holds no .rq file"


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_competency_question_gives_its_expected_answer(store, query):
    assert query.expected_path.is_file(), (
        f"{query.expected_path.name} missing: run `mrkg query --write-expected queries/{query.path.name}`, "
        "check every row against the sources, then commit it")
    expected_vars, expected_rows = parse_tsv(query.expected_path.read_text(encoding="utf-8"))
    variables, rows = run(store, query.text)
    assert variables == expected_vars
    assert rows, f"{query.name}: a competency question must have an answer"
    if query.ordered:
        assert format_tsv(variables, rows) == format_tsv(expected_vars, expected_rows)
    else:
        assert Counter(rows) == Counter(expected_rows)


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
