"""Versions that follow the content, `mrkg diff` between two real builds, `mrkg release` (folder, notes, CHANGELOG,
dataset.yaml, CITATION.cff), and /download/ listing the releases on a real `mrkg serve`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from conftest import start_server, stop_server

CHANGED_NOTE = "A heading; the source names the structure (a note changed by tests/test_releases.py)."


def _mrkg(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mrkg", *args], cwd=cwd, env=dict(os.environ),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def project(tmp_path_factory, repo: Path, sources_dir: Path, reference_tsv: Path):
    """A copy of the project's facts, ontology and shapes, with CHANGELOG.md and CITATION.cff, to release from."""
    root = tmp_path_factory.mktemp("project")
    for name in ("facts", "ontology", "shapes"):
        shutil.copytree(repo / name, root / name)
    for name in ("CHANGELOG.md", "CITATION.cff"):
        shutil.copy2(repo / name, root / name)
    args = ["--sources", str(sources_dir), "--reference", str(reference_tsv)]
    return root, args


def _edit(root: Path) -> None:
    """Three changes to the facts: a claim removed (the last of 002), a note changed, a synonym added."""
    path = root / "facts" / "sources" / "002.yaml"
    text = path.read_text(encoding="utf-8")
    last = text.rindex("\n  - id: ")
    path.write_text(text[:last + 1], encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    old = re.search(r"^    note: A heading; the source names the structure.*$", text, re.M).group(0)
    path.write_text(text.replace(old, f"    note: {CHANGED_NOTE}"), encoding="utf-8")
    drugs = root / "facts" / "entities" / "drugs.yaml"
    text = drugs.read_text(encoding="utf-8")
    drugs.write_text(text.replace("  - id: baclofen\n    label: baclofen\n",
                                  "  - id: baclofen\n    label: baclofen\n    synonyms: [test-synonym]\n", 1),
                     encoding="utf-8")


@pytest.fixture(scope="module")
def releases(project):
    """Release the facts as they are, change them, build, diff, release again: what each step left."""
    root, args = project
    out = {}
    first = _mrkg("release", *args, "--date", "2026-12-01", cwd=root)
    assert first.returncode == 0, first.stderr
    out["first"] = first
    out["first_dataset_yaml"] = (root / "facts" / "dataset.yaml").read_text()
    again = _mrkg("release", *args, "--date", "2026-12-01", cwd=root)
    out["again"] = again
    _edit(root)
    build = _mrkg("build", *args, "--out", "build-b", cwd=root)
    assert build.returncode == 0, build.stderr
    out["build_b"] = json.loads((root / "build-b" / "manifest.json").read_text())
    for fmt in ("text", "markdown", "json"):
        out[fmt] = _mrkg("diff", "releases/0.2.0", "build-b", "--format", fmt, cwd=root)
    second = _mrkg("release", *args, "--date", "2026-12-02", cwd=root)
    assert second.returncode == 0, second.stderr
    out["second"] = second
    return out


def test_version_follows_the_content(project, releases, built):
    root, _ = project
    # the project's facts as they stand differ from the 0.1.0 content recorded in facts/dataset.yaml
    real = built.manifest
    assert real["version"] == f"0.1.0+dev.{real['content_sha256'][:12]}" and not real["released"]
    assert 'version: "0.2.0"' in releases["first_dataset_yaml"]
    first = json.loads((root / "releases" / "0.2.0" / "manifest.json").read_text())
    assert f"content_sha256: {first['content_sha256']}" in releases["first_dataset_yaml"]
    assert releases["again"].returncode == 1 and "nothing to release" in releases["again"].stderr
    b = releases["build_b"]
    assert b["version"] == f"0.2.0+dev.{b['content_sha256'][:12]}" and b["released"] is False
    released = json.loads((root / "releases" / "0.2.0" / "manifest.json").read_text())
    assert released["version"] == "0.2.0" and released["released"] is True
    assert released["content_sha256"] != b["content_sha256"]


def test_content_checksum_is_the_nquads_without_their_header(project):
    import hashlib

    root, _ = project
    folder = root / "releases" / "0.2.0"
    body = b"".join(line for line in (folder / "mrkg.nq").read_bytes().splitlines(keepends=True)
                    if not line.startswith(b"#"))
    assert hashlib.sha256(body).hexdigest() == json.loads((folder / "manifest.json").read_text())["content_sha256"]


def test_diff_lists_claims_removed_and_changed_field_by_field_and_entities(releases):
    text = releases["text"]
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "claims: 1 added" not in out and re.search(r"claims: 0 added, 1 removed, 1 changed", out), out
    assert "claims removed (1):" in out and "  - 002-" in out
    assert re.search(r"~ 002-\S+\n\s+curator_note: '.*' -> '" + re.escape(CHANGED_NOTE[:40]), out), out
    # baclofen: the synonym (its claim counts are derived from the claims, not an entity's change)
    assert "entities changed (1):" in out and "~ baclofen" in out and "synonyms: '' -> 'test-synonym'" in out
    assert "Version step by the rule: major" in out
    md = releases["markdown"].stdout
    assert md.startswith("# Changes") and "| curator_note |" in md and "## Claims" in md
    report = json.loads(releases["json"].stdout)
    assert report["level"] == "major" and len(report["claims"]["removed"]) == 1
    (changed_id, fields), = report["claims"]["changed"].items()
    assert list(fields) == ["curator_note"] and fields["curator_note"]["new"] == CHANGED_NOTE
    assert report["entities"]["changed"] == {"baclofen": {"synonyms": {"old": "", "new": "test-synonym"}}}
    assert set(report["conflicts"]) == {"appeared", "resolved", "changed"}
    assert report["old"]["version"] == "0.2.0" and report["new"]["version"].startswith("0.2.0+dev.")


def test_diff_of_a_build_with_itself_is_empty_and_bad_folders_are_refused(project, releases):
    root, _ = project
    same = _mrkg("diff", "releases/0.2.0", "releases/0.2.0", cwd=root)
    assert same.returncode == 0 and "identical content" in same.stdout
    (root / "empty").mkdir(exist_ok=True)
    bad = _mrkg("diff", "empty", "releases/0.2.0", cwd=root)
    assert bad.returncode == 2 and "empty: no claims.tsv" in bad.stderr


def test_release_writes_the_folder_notes_changelog_and_citation(project, releases):
    root, _ = project
    assert "released mrkg 0.2.0" in releases["first"].stdout
    assert "released mrkg 1.0.0 (major)" in releases["second"].stdout  # a claim was removed: major by the rule
    second = root / "releases" / "1.0.0"
    notes = (second / "RELEASE-NOTES.md").read_text()
    assert notes.startswith("# mrkg 1.0.0 (2026-12-02): changes since 0.2.0") and "Removed (1):" in notes
    sums = (second / "SHA256SUMS").read_text()
    assert "claims.parquet" in sums and "mrkg.nq" in sums
    assert json.loads((second / "manifest.json").read_text())["release_date"] == "2026-12-02"
    changelog = (root / "CHANGELOG.md").read_text()
    assert changelog.index("## 0.1.0 (2026-11-22)") < changelog.index("## 0.2.0 (2026-12-01)") < \
        changelog.index("## 1.0.0 (2026-12-02)")
    assert "claims: 0 added, 1 removed, 1 changed" in changelog
    cff = (root / "CITATION.cff").read_text()
    assert 'version: "1.0.0"' in cff and 'date-released: "2026-12-02"' in cff
    dataset = (root / "facts" / "dataset.yaml").read_text()
    assert 'version: "1.0.0"' in dataset and "modified: 2026-12-02" in dataset
    assert dataset.startswith("# What the dataset says of itself")  # comments kept
    void = (root / "build" / "void.ttl").read_text()
    assert '"1.0.0"' in void and '"2026-12-02"^^xsd:date' in void


def test_download_lists_the_releases_on_a_real_server(project, releases, tmp_path):
    root, _ = project
    server = start_server(root / "build", "oxigraph", tmp_path / "serve.log", releases_dir=str(root / "releases"))
    try:
        request = urllib.request.Request(server.url + "/download/", headers={"Accept": "application/json"})
        listing = json.loads(urllib.request.urlopen(request, timeout=30).read())
        assert [r["version"] for r in listing["releases"]] == ["1.0.0", "0.2.0"]
        assert listing["version"] == "1.0.0"
        newest = listing["releases"][0]
        assert newest["date"] == "2026-12-02" and "claims.tsv" in newest["files"]
        notes = urllib.request.urlopen(server.url + newest["notes"], timeout=30).read().decode()
        assert notes.startswith("# mrkg 1.0.0")
        old = urllib.request.urlopen(server.url + listing["releases"][1]["files"]["claims.tsv"]["url"], timeout=30)
        assert old.read() == (root / "releases" / "0.2.0" / "claims.tsv").read_bytes()
        html = urllib.request.urlopen(server.url + "/download/", timeout=30).read().decode()
        assert 'id="releases"' in html and "/download/releases/0.2.0/RELEASE-NOTES.md" in html
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.url + "/download/releases/0.2.0/..%2Fsecret", timeout=30)
        assert missing.value.code == 404
    finally:
        stop_server(server)
