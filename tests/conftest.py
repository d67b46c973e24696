"""Shared fixtures: the repository, the shared folder beside it, and one real build of the real facts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The shared/ folder beside the project root (MRKG_SHARED overrides it)."""
    return Path(os.environ.get("MRKG_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if not (path / "sources").is_dir():
        pytest.fail(f"no shared/sources beside the project (looked in {path}); set MRKG_SHARED")
    return path


@pytest.fixture(scope="session")
def sources_dir(shared: Path) -> Path:
    return shared / "sources"


@pytest.fixture(scope="session")
def reference_tsv(shared: Path) -> Path:
    return shared / "reference" / "identifiers.tsv"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, sources_dir: Path, reference_tsv: Path):
    """One build of the real facts into a private folder, shared by the whole session."""
    from mrkg.build import run_build

    out = tmp_path_factory.mktemp("build") / "build"
    return run_build(REPO / "facts", REPO / "ontology", sources_dir, reference_tsv, out)


@pytest.fixture(scope="session")
def build_dir(built) -> Path:
    """The folder of the session's real build (mrkg.nq, dumps, manifest.json, void.ttl...)."""
    return built.out
