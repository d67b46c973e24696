"""Source coverage: sentences of a page dump, the claims quoting each, triage files checked with file:line, the
build failing on an untriaged sentence of a source that has a coverage file, and the figures of the real data."""

from __future__ import annotations

import re

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mrkg.coverage import compute_coverage, split_units
from mrkg.facts import load_facts
from mrkg.sources import read_sources

# A page dump as the sources are: a title, a heading, paragraphs, bullets, a table, a caption glued to a heading,
# an abbreviation, reference numbers after a full stop, a footer repeated.
TEXT = """Is Baclofen Safe? A Look

Loved by 2.5M+ users.

What is baclofen?

Baclofen is a muscle relaxant. It can cause drowsiness, e.g. when you start. Ask Dr. Smith about it.
  \u2022 Dizziness or lightheadedness
Side effect Baclofen
Drowsiness 10-63%
White pill bottle on a blue surface.Differences Between Drugs
Baclofen is not a benzodiazepine. 1, 4
Loved by 2.5M+ users.
"""

SOURCE = """source:
  id: "000"
  file: 000_0123456789abcdef.txt
  title: Is Baclofen Safe? A Look
  document_type: consumer-article
  extracted_by: test
  extracted_on: 2026-12-01
claims:
  - id: baclofen-class
    kind: drug-class
    subject: baclofen
    object: skeletal-muscle-relaxant
    object_text: muscle relaxant
    quote: Baclofen is a muscle relaxant.
  - id: baclofen-drowsiness
    kind: adverse-effect
    subject: baclofen
    object: drowsiness
    frequency: {text: 10-63%, min: 10, max: 63}
    quote: Drowsiness 10-63%
  - id: baclofen-drowsiness-start
    kind: adverse-effect
    subject: baclofen
    object: drowsiness
    quote: It can cause drowsiness
"""

EXPECTED_UNITS = [
    "Is Baclofen Safe?", "A Look", "Loved by 2.5M+ users.", "What is baclofen?", "Baclofen is a muscle relaxant.",
    "It can cause drowsiness, e.g. when you start.", "Ask Dr. Smith about it.", "Dizziness or lightheadedness",
    "Side effect Baclofen", "Drowsiness 10-63%", "White pill bottle on a blue surface.", "Differences Between Drugs",
    "Baclofen is not a benzodiazepine. 1, 4", "Loved by 2.5M+ users.",
]


def test_split_units_cuts_lines_and_sentences_but_not_abbreviations_or_reference_numbers():
    units = split_units(TEXT, "000")
    assert [u.text for u in units] == EXPECTED_UNITS
    for unit in units:
        assert TEXT[unit.start:unit.end] == unit.text
        assert TEXT.split("\n")[unit.line - 1].find(unit.text) >= 0
    assert [u.line for u in units][:5] == [1, 1, 3, 5, 7]


def test_split_units_of_every_real_source_tile_the_text(sources_dir: Path):
    """Every non-space character of every source is in exactly one unit, and no unit is empty."""
    for text in read_sources(sources_dir).values():
        units = split_units(text.text)
        assert units
        covered = bytearray(len(text.text))
        for unit in units:
            assert unit.text.strip() == unit.text and unit.text
            for i in range(unit.start, unit.end):
                assert not covered[i]
                covered[i] = 1
        bullets = "\u2022"
        missing = [i for i, ch in enumerate(text.text) if not covered[i] and not ch.isspace() and ch not in bullets]
        assert missing == [], (text.file_name, [text.text[i - 10:i + 10] for i in missing[:3]])


@pytest.fixture()
def fixture_facts(repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    facts = tmp_path / "facts"
    (facts / "sources").mkdir(parents=True)
    shutil.copy(repo / "facts" / "dataset.yaml", facts / "dataset.yaml")
    shutil.copytree(repo / "facts" / "entities", facts / "entities")
    (facts / "sources" / "000.yaml").write_text(SOURCE)
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "000_0123456789abcdef.txt").write_text(TEXT)
    return facts, sources


def _coverage(facts: Path, sources: Path):
    loaded, errors = load_facts(facts)
    assert errors == []
    errors = []
    return compute_coverage(loaded, read_sources(sources), facts, errors=errors), errors


def test_claims_overlapping_a_sentence_are_listed_with_it(fixture_facts):
    coverage, errors = _coverage(*fixture_facts)
    assert errors == []
    units = {u.text: u for u in coverage["000"].units}
    assert units["Baclofen is a muscle relaxant."].claims == ["000-baclofen-class"]
    assert units["It can cause drowsiness, e.g. when you start."].claims == ["000-baclofen-drowsiness-start"]
    assert units["Drowsiness 10-63%"].claims == ["000-baclofen-drowsiness"]
    # the title is quoted by the source record: encoded too
    assert units["Is Baclofen Safe?"].record == ["title"] and units["A Look"].encoded == ["source 000 title"]
    assert coverage["000"].counts() == {"sentences": 14, "claimed": 5, "triaged": 0, "untriaged": 9}
    assert coverage["000"].coverage_file is None


TRIAGE_OK = """source: "000"
triage:
  - text: Loved by 2.5M+ users.
    reason: advertising
  - text: What is baclofen?
    reason: heading
  - text: Ask Dr. Smith about it.
    reason: advice-to-reader
  - text: Dizziness or lightheadedness
    reason: other
    note: a list item with no context in this fixture
  - text: Side effect Baclofen
    reason: heading
  - text: "White pill bottle on a blue surface.Differences"
    reason: caption
    note: the caption and the heading glued to it, one entry over two sentences
  - text: Baclofen is not a benzodiazepine
    reason: other
    note: left out of the fixture's claims on purpose
"""


def test_a_complete_triage_file_covers_every_sentence(fixture_facts):
    facts, sources = fixture_facts
    (facts / "coverage").mkdir()
    (facts / "coverage" / "000.yaml").write_text(TRIAGE_OK)
    coverage, errors = _coverage(facts, sources)
    assert errors == []
    units = coverage["000"].units
    assert [u.text for u in units if u.status == "untriaged"] == []
    assert coverage["000"].counts() == {"sentences": 14, "claimed": 5, "triaged": 9, "untriaged": 0}
    # an entry with no occurrence covers every sentence it starts (the repeated footer)
    assert [u.triage.reason for u in units if u.text.startswith("Loved")] == ["advertising", "advertising"]
    assert [u.triage.reason for u in units if u.text == "Differences Between Drugs"] == ["caption"]


def _nocol(text: str) -> str:
    """Messages as file:line: what (the column after the line, where one is given, left out)."""
    return re.sub(r"(\.yaml:\d+):\d+:", r"\1:", text)


def _mrkg(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mrkg", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONHASHSEED": "0"})


BAD = """source: "000"
triage:
  - text: This sentence is not in the source text at all
    reason: navigation
  - text: Baclofen is a muscle relaxant.
    reason: framing
  - text: A Look
    reason: headng
  - text: Loved
    reason: advertising
  - text: muscle relaxant. It can cause
    reason: other
  - text: Loved by 2.5M+ users.
    reason: advertising
    occurrence: 3
  - text: Side effect Baclofen
    reason: heading
    colour: blue
  - text: Drowsiness 10-63%
    reason: other
  - text: Is Baclofen Safe?
    reason: heading
"""


def test_bad_triage_entries_are_file_line_errors(fixture_facts):
    facts, sources = fixture_facts
    (facts / "coverage").mkdir()
    (facts / "coverage" / "000.yaml").write_text(BAD)
    result = _mrkg("coverage", "--facts", str(facts), "--sources", str(sources), cwd=facts.parent)
    assert result.returncode == 1
    err = _nocol(result.stderr)
    assert "facts/coverage/000.yaml:3: triage text not found in 000_0123456789abcdef.txt" in err
    assert "facts/coverage/000.yaml:5: triaged as framing, but 000-baclofen-class quote(s)" in err
    assert "facts/coverage/000.yaml:8: triage entry: unknown reason 'headng'" in err and "did you mean heading?" in err
    assert "facts/coverage/000.yaml:9: triage text 'Loved' is shorter than 20 characters and not a whole" in err
    assert "facts/coverage/000.yaml:11: triage text 'muscle relaxant. It can cause' does not start a sentence" in err
    assert "facts/coverage/000.yaml:13: triage entry: occurrence 3 asked, the text starts 2 sentence(s)" in err
    assert "facts/coverage/000.yaml:18: triage entry: unknown field 'colour'" in err
    assert "facts/coverage/000.yaml:20: triage entry: reason other needs a note" in err
    assert "facts/coverage/000.yaml:21: triaged as heading, but source 000 title quote(s) 'Is Baclofen Safe?'" in err


def test_wrong_source_id_and_unknown_source_file(fixture_facts):
    facts, sources = fixture_facts
    (facts / "coverage").mkdir()
    (facts / "coverage" / "000.yaml").write_text('source: "001"\ntriage: []\n')
    (facts / "coverage" / "007.yaml").write_text('source: "007"\ntriage: []\n')
    result = _mrkg("coverage", "--facts", str(facts), "--sources", str(sources), cwd=facts.parent)
    assert result.returncode == 1
    assert "facts/coverage/000.yaml:1: coverage file: source '001' does not match the file name 000.yaml" in _nocol(result.stderr)
    assert "facts/coverage/007.yaml: coverage file for source '007', which is not in facts/sources/" in result.stderr


def test_coverage_command_lists_sentences_uncovered_and_json(fixture_facts):
    facts, sources = fixture_facts
    args = ("coverage", "--facts", str(facts), "--sources", str(sources))
    full = _mrkg(*args, cwd=facts.parent)
    assert full.returncode == 0, full.stderr
    assert "== 000 000_0123456789abcdef.txt: 14 sentences, 5 claimed, 0 triaged, 9 untriaged (no coverage file yet)" in full.stdout
    assert "000:7: Baclofen is a muscle relaxant.\n    -> 000-baclofen-class\n" in full.stdout
    assert "000:1: A Look\n    -> source 000 title\n" in full.stdout
    assert "000:3: Loved by 2.5M+ users.\n    -> UNCOVERED\n" in full.stdout
    only = _mrkg(*args, "--uncovered", cwd=facts.parent).stdout
    assert "UNCOVERED" in only and "000-baclofen-class" not in only
    data = json.loads(_mrkg(*args, "--format", "json", cwd=facts.parent).stdout)
    assert data["000"]["sentences"] == 14 and data["000"]["untriaged"] == 9
    assert [u["text"] for u in data["000"]["units"]] == EXPECTED_UNITS
    # the yaml skeleton, once each TODO is given a reason, is a valid triage file
    skeleton = _mrkg(*args, "--format", "yaml", cwd=facts.parent).stdout
    (facts / "coverage").mkdir()
    (facts / "coverage" / "000.yaml").write_text(skeleton.replace("reason: TODO", "reason: other\n    note: fixture"))
    done = _mrkg(*args, "--uncovered", "--format", "json", cwd=facts.parent)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["000"]["untriaged"] == 0
    assert _mrkg(*args, "--source", "009", cwd=facts.parent).returncode != 0


def test_build_fails_on_an_untriaged_sentence_once_the_source_has_a_coverage_file(repo: Path, fixture_facts,
                                                                                 reference_tsv: Path):
    facts, sources = fixture_facts
    out = facts.parent / "build"
    args = ("build", "--facts", str(facts), "--ontology", str(repo / "ontology"), "--sources", str(sources),
            "--reference", str(reference_tsv), "--out", str(out))
    (facts / "coverage").mkdir()
    (facts / "coverage" / "000.yaml").write_text("\n".join(TRIAGE_OK.splitlines()[:-2]) + "\n")  # the last one gone
    failed = _mrkg(*args, cwd=facts.parent)
    assert failed.returncode == 1
    assert ("facts/coverage/000.yaml: 000_0123456789abcdef.txt:12: sentence neither quoted by a claim nor triaged: "
            "'Baclofen is not a benzodiazepine. 1, 4'") in failed.stderr
    assert not out.exists()
    (facts / "coverage" / "000.yaml").write_text(TRIAGE_OK)
    built = _mrkg(*args, cwd=facts.parent)
    assert built.returncode == 0, built.stderr
    stats = _mrkg("stats", "--facts", str(facts), "--sources", str(sources), "--reference", str(reference_tsv),
                  "--json", cwd=facts.parent)
    assert json.loads(stats.stdout)["coverage"]["000"] == {"sentences": 14, "claimed": 5, "triaged": 9,
                                                           "untriaged": 0}


def test_real_sources_have_coverage_figures(repo: Path, sources_dir: Path, reference_tsv: Path):
    result = _mrkg("stats", "--sources", str(sources_dir), "--reference", str(reference_tsv), cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "sentences per source (mrkg coverage):" in result.stdout
    facts, errors = load_facts(repo / "facts")
    coverage = compute_coverage(facts, read_sources(sources_dir), repo / "facts", errors=errors)
    assert errors == []
    assert sorted(coverage) == ["000", "001", "002", "003", "004"]
    for cov in coverage.values():
        counts = cov.counts()
        assert counts["sentences"] == counts["claimed"] + counts["triaged"] + counts["untriaged"]
        assert counts["claimed"] > 0
        line = f"{cov.source_id}" + "".join(str(counts[k]).rjust(11) for k in ("sentences", "claimed", "triaged",
                                                                                 "untriaged"))
        assert line.replace(cov.source_id, cov.source_id.ljust(6), 1) in result.stdout


def test_every_sentence_of_every_real_source_is_claimed_or_triaged(repo: Path, sources_dir: Path):
    facts, errors = load_facts(repo / "facts")
    coverage = compute_coverage(facts, read_sources(sources_dir), repo / "facts", errors=errors)
    assert errors == []
    assert all(cov.coverage_file is not None for cov in coverage.values()), "every real source has its triage file"
    assert {sid: cov.counts()["untriaged"] for sid, cov in coverage.items()} == {sid: 0 for sid in coverage}
