"""`mrkg add`: only a conforming file that builds goes into facts/, and on any failure nothing changes; the build
itself refuses a graph that violates a shape."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO, tree_digest

from mrkg.build import BuildError, run_build
from mrkg.cli import main
from mrkg.curate import Context, InputError, add_file

NEW_ENTITIES = "type: population\nentities:\n  - id: night-shift-workers\n    label: night-shift workers\n"


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    """facts/ with the entities and source 001 only (a quick build), ontology and shapes beside it."""
    facts = tmp_path / "facts"
    (facts / "sources").mkdir(parents=True)
    shutil.copy(REPO / "facts" / "dataset.yaml", facts / "dataset.yaml")
    shutil.copytree(REPO / "facts" / "entities", facts / "entities")
    shutil.copy(REPO / "facts" / "sources" / "001.yaml", facts / "sources" / "001.yaml")
    return tmp_path



def _add(repo: Path, sources_dir: Path, reference_tsv: Path, *args: str):
    return CliRunner().invoke(main, ["add", *args, "--facts", str(repo / "facts"), "--ontology", str(REPO / "ontology"),
                                     "--shapes", str(REPO / "shapes"), "--sources", str(sources_dir),
                                     "--reference", str(reference_tsv), "--out", str(repo / "build"), "--no-cache"],
                              catch_exceptions=False)


def test_add_conforming_file_installs_it_and_rebuilds(small_repo: Path, sources_dir: Path, reference_tsv: Path,
                                                      tmp_path_factory):
    new = tmp_path_factory.mktemp("in") / "populations-extra.yaml"
    new.write_text(NEW_ENTITIES)
    result = _add(small_repo, sources_dir, reference_tsv, str(new))
    assert result.exit_code == 0, result.output
    installed = small_repo / "facts" / "entities" / "populations-extra.yaml"
    assert installed.read_text() == NEW_ENTITIES
    assert (small_repo / "build").is_symlink()
    assert "night-shift-workers" in (small_repo / "build" / "mrkg.nt").read_text()
    assert "orphan entity" in result.output  # reported, not blocking
    assert not [p for p in installed.parent.iterdir() if p.name.startswith(".")]  # no temp file left behind


def test_add_bad_file_changes_nothing(small_repo: Path, sources_dir: Path, reference_tsv: Path, tmp_path_factory):
    run_build(small_repo / "facts", REPO / "ontology", sources_dir, reference_tsv, small_repo / "build")
    before_facts, before_link = tree_digest(small_repo / "facts"), os.readlink(small_repo / "build")
    new = tmp_path_factory.mktemp("in") / "001.yaml"
    new.write_text((REPO / "facts" / "sources" / "001.yaml").read_text().replace("object: drowsiness", "object: tablet", 1))
    result = _add(small_repo, sources_dir, reference_tsv, str(new), "--replace")
    assert result.exit_code == 1
    assert "does not conform; nothing was changed" in result.output
    assert tree_digest(small_repo / "facts") == before_facts
    assert os.readlink(small_repo / "build") == before_link


def test_add_refuses_to_overwrite_without_replace(small_repo: Path, sources_dir: Path, reference_tsv: Path,
                                                  tmp_path_factory):
    new = tmp_path_factory.mktemp("in") / "001.yaml"
    shutil.copy(REPO / "facts" / "sources" / "001.yaml", new)
    result = _add(small_repo, sources_dir, reference_tsv, str(new))
    assert result.exit_code == 2 and "give --replace" in result.output


def test_add_refuses_turtle(small_repo: Path, sources_dir: Path, reference_tsv: Path, tmp_path_factory):
    new = tmp_path_factory.mktemp("in") / "claims.ttl"
    new.write_text("<https://w3id.org/mrkg/entity/x> <http://www.w3.org/2000/01/rdf-schema#label> \"x\" .\n")
    result = _add(small_repo, sources_dir, reference_tsv, str(new))
    assert result.exit_code == 2 and "takes a YAML facts file" in result.output
    assert not (small_repo / "build").exists()


def test_add_restores_facts_when_the_rebuild_fails(small_repo: Path, sources_dir: Path, reference_tsv: Path,
                                                   tmp_path_factory, monkeypatch):
    run_build(small_repo / "facts", REPO / "ontology", sources_dir, reference_tsv, small_repo / "build")
    before_facts, before_link = tree_digest(small_repo / "facts"), os.readlink(small_repo / "build")
    calls = []

    def flaky_build(facts_dir, *args, **kwargs):
        calls.append(facts_dir)
        if len(calls) == 2:  # the private build passes; the rebuild of the real facts fails
            raise BuildError("disk full (simulated)")
        return run_build(facts_dir, *args, **kwargs)

    monkeypatch.setattr("mrkg.build.run_build", flaky_build)
    new = tmp_path_factory.mktemp("in") / "populations-extra.yaml"
    new.write_text(NEW_ENTITIES)
    ctx = Context.load(small_repo / "facts", REPO / "ontology", sources_dir, REPO / "shapes", reference_tsv)
    code, message, _ = add_file(ctx, new, small_repo / "build")
    assert code == 1 and "restored" in message
    assert tree_digest(small_repo / "facts") == before_facts
    assert os.readlink(small_repo / "build") == before_link


def test_add_unusable_input_raises_input_error(small_repo: Path, sources_dir: Path, reference_tsv: Path):
    ctx = Context.load(small_repo / "facts", REPO / "ontology", sources_dir, REPO / "shapes", reference_tsv)
    with pytest.raises(InputError):
        add_file(ctx, small_repo / "nothing.yaml", small_repo / "build")


def test_build_fails_on_any_shape_violation_and_keeps_the_published_build(small_repo: Path, sources_dir: Path,
                                                                          reference_tsv: Path, tmp_path: Path):
    out = small_repo / "build"
    result = run_build(small_repo / "facts", REPO / "ontology", sources_dir, reference_tsv, out)
    assert result.report.conforms
    link = os.readlink(out)
    strict = tmp_path / "strict-shapes"
    shutil.copytree(REPO / "shapes", strict)
    (strict / "strict.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n@prefix mrkg: <https://w3id.org/mrkg/ontology/> .\n"
        "<https://w3id.org/mrkg/shapes/StrictShape> a sh:NodeShape ; sh:targetClass mrkg:Claim ;\n"
        "  sh:property [ sh:path mrkg:reviewedBy ; sh:minCount 1 ; sh:message \"every claim is reviewed\" ] .\n")
    with pytest.raises(BuildError) as failure:
        run_build(small_repo / "facts", REPO / "ontology", sources_dir, reference_tsv, out, shapes_dir=strict)
    assert "every claim is reviewed" in str(failure.value) and "facts/sources/001.yaml:" in str(failure.value)
    assert os.readlink(out) == link


def test_the_published_graph_conforms(built):
    assert built.report.conforms, "\n".join(f"{r.location}: {r.message}" for r in built.report.violations)
