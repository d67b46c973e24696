"""`mrkg add`: only a conforming file that builds goes into facts/, and on any failure nothing changes; the build
itself refuses a graph that violates a shape."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO, start_paused, stop_paused, tree_digest

from mrkg.build import BuildError, run_build
from mrkg.cli import main
from mrkg.curate import Context, InputError, add_file

NEW_ENTITIES = "type: population\nentities:\n  - id: night-shift-workers\n    label: night-shift workers\n"


REPLACED = "populations.yaml"


def _replacement() -> str:
    """facts/entities/populations.yaml with one more entity."""
    return (REPO / "facts" / "entities" / REPLACED).read_text() + \
        "  - id: night-shift-workers\n    label: night-shift workers\n"


def _small_facts(root: Path) -> Path:
    facts = root / "facts"
    (facts / "sources").mkdir(parents=True)
    shutil.copy(REPO / "facts" / "dataset.yaml", facts / "dataset.yaml")
    shutil.copytree(REPO / "facts" / "entities", facts / "entities")
    shutil.copy(REPO / "facts" / "sources" / "001.yaml", facts / "sources" / "001.yaml")
    return root


@pytest.fixture
def small_repo(tmp_path: Path) -> Path:
    """facts/ with the entities and source 001 only (a quick build), ontology and shapes beside it."""
    return _small_facts(tmp_path)


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


def test_add_refuses_turtle_before_reading_it(small_repo: Path, sources_dir: Path, reference_tsv: Path,
                                             tmp_path_factory):
    new = tmp_path_factory.mktemp("in") / "claims.ttl"
    new.write_text("<https://w3id.org/mrkg/entity/x> <http://www.w3.org/2000/01/rdf-schema#label> [], [], \n")
    result = _add(small_repo, sources_dir, reference_tsv, str(new))
    assert result.exit_code == 2 and "takes YAML facts files" in result.output
    assert "not valid" not in result.output  # refused for its type, not parsed
    assert not (small_repo / "build").exists()


def test_add_replace_installs_the_new_file_with_the_old_mode(small_repo: Path, sources_dir: Path,
                                                            reference_tsv: Path, tmp_path_factory):
    run_build(small_repo / "facts", REPO / "ontology", sources_dir, reference_tsv, small_repo / "build")
    dest = small_repo / "facts" / "entities" / REPLACED
    dest.chmod(0o640)
    new = tmp_path_factory.mktemp("in") / REPLACED
    new.write_text(_replacement())
    new.chmod(0o600)
    result = _add(small_repo, sources_dir, reference_tsv, str(new), "--replace")
    assert result.exit_code == 0, result.output
    assert dest.read_text() == _replacement() and stat.S_IMODE(dest.stat().st_mode) == 0o640
    assert "night-shift-workers" in (small_repo / "build" / "mrkg.nt").read_text()
    assert "no mrkg serve is running on it" in result.output


def test_add_new_file_gets_a_new_files_mode(small_repo: Path, sources_dir: Path, reference_tsv: Path,
                                            tmp_path_factory):
    new = tmp_path_factory.mktemp("in") / "populations-extra.yaml"
    new.write_text(NEW_ENTITIES)
    new.chmod(0o600)
    umask = os.umask(0o022)
    try:
        assert _add(small_repo, sources_dir, reference_tsv, str(new)).exit_code == 0
    finally:
        os.umask(umask)
    installed = small_repo / "facts" / "entities" / "populations-extra.yaml"
    assert stat.S_IMODE(installed.stat().st_mode) == 0o644


def test_add_whose_build_fails_changes_nothing(small_repo: Path, sources_dir: Path, reference_tsv: Path,
                                               tmp_path_factory, monkeypatch):
    """The build is the second wall: a file that passed validation (here forced to) but does not build."""
    from mrkg.curate import validation
    from mrkg.shacl import Report

    run_build(small_repo / "facts", REPO / "ontology", sources_dir, reference_tsv, small_repo / "build")
    before = _state(small_repo)
    monkeypatch.setattr(validation, "validate_files", lambda ctx, paths, changes=None: Report())
    new = tmp_path_factory.mktemp("in") / "001.yaml"
    text = (REPO / "facts" / "sources" / "001.yaml").read_text()
    new.write_text(text.replace("quote: Drowsiness 10-63% 29%", "quote: Drowsiness 11-63% 29%", 1))
    ctx = Context.load(small_repo / "facts", REPO / "ontology", sources_dir, REPO / "shapes", reference_tsv)
    code, message, _ = add_file(ctx, new, small_repo / "build", replace_existing=True)
    assert code == 1 and "does not build; nothing was changed" in message and "quote not found" in message
    assert _state(small_repo) == before
    assert not list((small_repo / ".build-versions").glob("*.partial"))


def test_add_reraises_what_is_not_a_build_error_and_changes_nothing(small_repo: Path, sources_dir: Path,
                                                                    reference_tsv: Path, tmp_path_factory,
                                                                    monkeypatch):
    from mrkg import dumps

    run_build(small_repo / "facts", REPO / "ontology", sources_dir, reference_tsv, small_repo / "build")
    before = _state(small_repo)

    def full_disk(data: bytes) -> bytes:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dumps, "gzip_bytes", full_disk)
    new = tmp_path_factory.mktemp("in") / REPLACED
    new.write_text(_replacement())
    ctx = Context.load(small_repo / "facts", REPO / "ontology", sources_dir, REPO / "shapes", reference_tsv)
    with pytest.raises(OSError, match="No space left"):
        add_file(ctx, new, small_repo / "build", replace_existing=True)
    assert _state(small_repo) == before
    assert not list((small_repo / ".build-versions").glob("*.partial"))


# --- killed at any moment (issue 10): facts/ and build/ wholly before or wholly after ---------------------------

BEFORE_JOURNAL = ["add:validated", "build:dumps:mrkg.nq", "build:dumps:mrkg.jsonld", "build:written", "add:built"]
AFTER_JOURNAL = ["add:journal", "add:facts", "add:published"]


def _state(root: Path) -> tuple[str, str]:
    return tree_digest(root / "facts"), tree_digest(root / "build")


@pytest.fixture(scope="module")
def add_states(tmp_path_factory, sources_dir: Path, reference_tsv: Path):
    """A small repository with a published build (to copy), the file that replaces one of its facts files, and
    the (facts/, build/) digests before and after that replacement is added."""
    template = _small_facts(tmp_path_factory.mktemp("template"))
    run_build(template / "facts", REPO / "ontology", sources_dir, reference_tsv, template / "build")
    new = tmp_path_factory.mktemp("in") / REPLACED
    new.write_text(_replacement())
    done = tmp_path_factory.mktemp("done") / "repo"
    shutil.copytree(template, done, symlinks=True)
    result = subprocess.run([sys.executable, "-m", "mrkg", *_add_args(done, sources_dir, reference_tsv, new)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return template, new, _state(template), _state(done)


def _add_args(root: Path, sources_dir: Path, reference_tsv: Path, new: Path) -> list[str]:
    return ["add", str(new), "--replace", "--facts", str(root / "facts"), "--ontology", str(REPO / "ontology"),
            "--shapes", str(REPO / "shapes"), "--sources", str(sources_dir), "--reference", str(reference_tsv),
            "--out", str(root / "build"), "--no-cache"]


def _recover(root: Path) -> str | None:
    from mrkg.transaction import exclusive, recover

    with exclusive(root / "build"):
        return recover(root / "build")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
@pytest.mark.parametrize("point", [*BEFORE_JOURNAL, *AFTER_JOURNAL, "add:done"])
def test_add_killed_at_any_moment_is_all_or_nothing(add_states, sources_dir: Path, reference_tsv: Path,
                                                    tmp_path: Path, point: str, sig: int):
    template, new, before, after = add_states
    root = tmp_path / "repo"
    shutil.copytree(template, root, symlinks=True)
    code, err = stop_paused(start_paused(_add_args(root, sources_dir, reference_tsv, new), point, cwd=REPO), sig)
    journal = root / ".build-versions" / "add-journal.json"
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
        if point in BEFORE_JOURNAL:
            assert _state(root) == before and not journal.exists()
        elif point in AFTER_JOURNAL:
            assert journal.exists()
            assert _recover(root).startswith("finished an interrupted mrkg add")
    else:
        assert code == 128 + signal.SIGTERM
        if point in BEFORE_JOURNAL:
            assert "mrkg add stopped by SIGTERM; nothing was changed" in err
        else:  # the stop waited for the change to be whole
            assert "then stopped by SIGTERM" in err and not journal.exists()
    assert _state(root) == (before if point in BEFORE_JOURNAL else after)
    assert _recover(root) is None
    if not (sig == signal.SIGKILL and point in BEFORE_JOURNAL):  # a killed add's partial folder waits for a build
        assert not list((root / ".build-versions").glob("*.partial"))
    assert not [p for p in (root / "facts").rglob(".*")], "no temporary file left in facts/"
    # The next command works from there: the tree is whole either way, and partial folders are cleaned.
    result = subprocess.run([sys.executable, "-m", "mrkg", *_add_args(root, sources_dir, reference_tsv, new)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert _state(root) == after
    assert not list((root / ".build-versions").glob("*.partial"))


def test_next_command_finishes_an_add_killed_after_its_journal(add_states, sources_dir: Path, reference_tsv: Path,
                                                               tmp_path: Path):
    template, new, before, after = add_states
    for command in ("build", "add"):
        root = tmp_path / command
        shutil.copytree(template, root, symlinks=True)
        stop_paused(start_paused(_add_args(root, sources_dir, reference_tsv, new), "add:facts", cwd=REPO),
                    signal.SIGKILL)
        assert tree_digest(root / "facts") == after[0] and tree_digest(root / "build") == before[1]  # half-way
        args = (["build", "--facts", str(root / "facts"), "--ontology", str(REPO / "ontology"), "--sources",
                 str(sources_dir), "--reference", str(reference_tsv), "--out", str(root / "build")]
                if command == "build" else _add_args(root, sources_dir, reference_tsv, new))
        result = subprocess.run([sys.executable, "-m", "mrkg", *args], cwd=REPO, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr
        assert "finished an interrupted mrkg add: populations.yaml is in facts/" in result.stderr + result.stdout
        assert _state(root) == after


def test_recover_restores_the_replaced_file_when_the_new_build_is_gone(add_states, sources_dir: Path,
                                                                      reference_tsv: Path, tmp_path: Path):
    template, new, before, after = add_states
    root = tmp_path / "repo"
    shutil.copytree(template, root, symlinks=True)
    dest = root / "facts" / "entities" / REPLACED
    dest.chmod(0o640)
    before = _state(root)
    stop_paused(start_paused(_add_args(root, sources_dir, reference_tsv, new), "add:facts", cwd=REPO),
                signal.SIGKILL)
    assert dest.read_text() == _replacement()
    for version in (root / ".build-versions").glob("*.partial"):
        shutil.rmtree(version)  # as if something had removed it before the next command
    assert _recover(root).startswith("undid an interrupted mrkg add")
    assert _state(root) == before and stat.S_IMODE(dest.stat().st_mode) == 0o640


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


# --- several files as one change, what add shows, and a running server that follows the build ------------------

NAMED = """  - id: baclofen-drowsiness-night-shift
    kind: adverse-effect
    subject: baclofen
    object: drowsiness
    population: night-shift-workers
    quote: Drowsiness 10-63% 29%
"""


def _source_naming_a_new_entity(folder: Path) -> Path:
    new = folder / "001.yaml"
    new.write_text((REPO / "facts" / "sources" / "001.yaml").read_text().rstrip("\n") + "\n" + NAMED)
    return new


def test_add_a_source_and_the_new_entity_it_names_in_one_change(small_repo: Path, sources_dir: Path,
                                                                 reference_tsv: Path, tmp_path_factory):
    run_build(small_repo / "facts", REPO / "ontology", sources_dir, reference_tsv, small_repo / "build")
    before = _state(small_repo)
    folder = tmp_path_factory.mktemp("in")
    source = _source_naming_a_new_entity(folder)
    alone = _add(small_repo, sources_dir, reference_tsv, str(source), "--replace")
    assert alone.exit_code == 1 and "population 'night-shift-workers' is not an entity" in alone.output
    assert "001.yaml does not conform; nothing was changed" in alone.output and _state(small_repo) == before
    entities = folder / "populations-extra.yaml"
    entities.write_text(NEW_ENTITIES)
    result = _add(small_repo, sources_dir, reference_tsv, str(source), str(entities), "--replace")
    assert result.exit_code == 0, result.output
    assert "night-shift-workers: orphan" not in result.output  # validated together: the claim names it
    assert (small_repo / "facts" / "sources" / "001.yaml").read_text() == source.read_text()
    assert (small_repo / "facts" / "entities" / "populations-extra.yaml").read_text() == NEW_ENTITIES
    nt = (small_repo / "build" / "mrkg.nt").read_text()
    assert "claim/001-baclofen-drowsiness-night-shift> <https://w3id.org/mrkg/ontology/population> " \
           "<https://w3id.org/mrkg/entity/night-shift-workers>" in nt


def test_add_of_two_files_killed_after_its_journal_is_finished_whole(small_repo: Path, sources_dir: Path,
                                                                     reference_tsv: Path, tmp_path_factory):
    run_build(small_repo / "facts", REPO / "ontology", sources_dir, reference_tsv, small_repo / "build")
    folder = tmp_path_factory.mktemp("in")
    source = _source_naming_a_new_entity(folder)
    entities = folder / "populations-extra.yaml"
    entities.write_text(NEW_ENTITIES)
    args = _add_args(small_repo, sources_dir, reference_tsv, source)
    args.insert(2, str(entities))
    stop_paused(start_paused(args, "add:facts", cwd=REPO), signal.SIGKILL)
    assert _recover(small_repo) == ("finished an interrupted mrkg add: 001.yaml, populations-extra.yaml are in "
                                    f"facts/ and {small_repo / 'build'} is its build")
    assert (small_repo / "facts" / "entities" / "populations-extra.yaml").read_text() == NEW_ENTITIES
    assert "night-shift-workers" in (small_repo / "build" / "mrkg.nt").read_text()


def test_add_takes_min_severity_and_all(small_repo: Path, sources_dir: Path, reference_tsv: Path,
                                        tmp_path_factory):
    new = tmp_path_factory.mktemp("in") / "populations-extra.yaml"
    new.write_text(NEW_ENTITIES)
    quiet = _add(small_repo, sources_dir, reference_tsv, str(new), "--min-severity", "violation")
    assert quiet.exit_code == 0, quiet.output
    assert "Warning" not in quiet.output and quiet.output.startswith("conforms: 0 violation(s), 1 warning(s)")
    again = tmp_path_factory.mktemp("in") / "populations.yaml"  # the published file, unchanged: nothing new
    shutil.copy(small_repo / "facts" / "entities" / "populations.yaml", again)
    unchanged = _add(small_repo, sources_dir, reference_tsv, str(again), "--replace")
    assert unchanged.exit_code == 0, unchanged.output
    assert "Warning" not in unchanged.output and "--all shows them" in unchanged.output
    everything = _add(small_repo, sources_dir, reference_tsv, str(again), "--replace", "--all")
    assert "Warning: entity" in everything.output and "--all shows them" not in everything.output


def _health(server) -> dict:
    import json
    import urllib.request

    with urllib.request.urlopen(server.url + "/health", timeout=10) as response:
        return json.loads(response.read())


def test_a_running_server_moves_to_the_build_mrkg_add_publishes(small_repo: Path, sources_dir: Path,
                                                                 reference_tsv: Path, tmp_path_factory, tmp_path):
    """A real `mrkg serve` on build/; `mrkg add` publishes a new build; the server serves it by itself, says so in
    its log and /health, and answers queries from it; the build it left is no longer held (a build may prune it)."""
    import json
    import time
    import urllib.parse
    import urllib.request

    from conftest import start_server, stop_server
    from mrkg.versions import served

    out = small_repo / "build"
    run_build(small_repo / "facts", REPO / "ontology", sources_dir, reference_tsv, out)
    first = os.readlink(out).rsplit("/", 1)[-1]
    log = tmp_path / "serve.log"
    server = start_server(out, "oxigraph", log, follow_build=0.3)
    try:
        assert _health(server)["build"] == first and "replaced" not in _health(server)
        first_version = _health(server)["version"]
        new = tmp_path_factory.mktemp("in") / "populations-extra.yaml"
        new.write_text(NEW_ENTITIES)
        result = subprocess.run([sys.executable, "-m", "mrkg", "add", str(new), "--facts", str(small_repo / "facts"),
                                 "--ontology", str(REPO / "ontology"), "--shapes", str(REPO / "shapes"), "--sources",
                                 str(sources_dir), "--reference", str(reference_tsv), "--out", str(out),
                                 "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        second = os.readlink(out).rsplit("/", 1)[-1]
        assert f"a running mrkg serve serves the previous build ({first}): it moves to the new build by itself" \
               in result.stdout
        deadline = time.monotonic() + 60
        while _health(server).get("build") != second:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        health = _health(server)
        assert health["status"] == "ok" and health["replaced"] == {"build": first, "version": first_version}
        while f"mrkg: now serving build {second}" not in log.read_text():  # once the old workers have ended
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        assert f"mrkg: moving from build {first} (version {first_version}) to build {second} (version " \
               f"{health['version']})" in log.read_text()
        query = "ASK { <https://w3id.org/mrkg/entity/night-shift-workers> ?p ?o }"
        with urllib.request.urlopen(server.endpoint + "?" + urllib.parse.urlencode({"query": query}),
                                    timeout=10) as response:
            assert json.loads(response.read())["boolean"] is True
        deadline = time.monotonic() + 30  # the old workers end gracefully; then nothing holds the old build
        while first in served(out):
            assert time.monotonic() < deadline, "the build left behind is still held"
            time.sleep(0.2)
    finally:
        stop_server(server)
