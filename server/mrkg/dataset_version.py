"""The dataset's version follows its content; the release folders (releases.py makes them, /download/ lists them).

The rule (README: Releases):

- The content checksum of a build is the SHA-256 of its ``mrkg.nq`` without the header line (the sorted quads:
  ``grep -v '^#' mrkg.nq | sha256sum``); it does not depend on the version.
- A build whose content checksum is the ``content_sha256`` recorded in facts/dataset.yaml is that release: its
  version is ``version``. Any other build is ``<version>+dev.<first 12 digits of its content checksum>``, so two
  builds with different content never carry the same version.
- ``mrkg release`` gives the next version from the diff against the last release: MAJOR when something published
  is gone (a claim, entity or mapping removed); MINOR when claims, entities or mappings are added or changed, or
  conflicts appear or are resolved; PATCH for any other change of the content (labels, ontology, provenance).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from .dumps import DatasetDescription, Ordered
from .facts import DatasetInfo

VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def content_sha256(ordered: Ordered) -> str:
    return hashlib.sha256(ordered.nquads_body()).hexdigest()


def build_version(info: DatasetInfo, checksum: str) -> tuple[str, bool]:
    """(version, released) of a build with content ``checksum``, by the rule above."""
    if info.content_sha256 == checksum:
        return info.version, True
    return f"{info.version}+dev.{checksum[:12]}", False


def describe_dataset(info: DatasetInfo, checksum: str) -> DatasetDescription:
    version, released = build_version(info, checksum)
    return DatasetDescription(version, info.title, info.description, info.license,
                              info.issued.isoformat() if info.issued else None,
                              info.modified.isoformat() if info.modified else None, checksum, released,
                              info.creator, info.publisher, info.contact, info.landing_page)


def next_version(current: str, level: str) -> str:
    match = VERSION.match(current)
    if not match:
        raise ValueError(f"version {current!r} in facts/dataset.yaml is not MAJOR.MINOR.PATCH")
    major, minor, patch = (int(x) for x in match.groups())
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def list_releases(releases_dir: Path) -> list[dict]:
    """Every release folder (releases/<version>/ with a manifest.json), oldest first."""
    found = []
    if not releases_dir.is_dir():
        return found
    for folder in releases_dir.iterdir():
        manifest = folder / "manifest.json"
        if folder.is_dir() and VERSION.match(folder.name) and manifest.is_file():
            data = json.loads(manifest.read_text(encoding="utf-8"))
            found.append({"version": folder.name, "folder": folder, "manifest": data,
                          "date": data.get("release_date")})
    return sorted(found, key=lambda r: tuple(int(x) for x in r["version"].split(".")))


def version_key(version: str) -> tuple[int, ...]:
    match = VERSION.match(version)
    return tuple(int(x) for x in match.groups()) if match else (0, 0, 0)
