"""`mrkg release`: the next version by the rule (dataset_version.py), a rebuild, releases/<version>/ with release
notes, an entry appended to CHANGELOG.md, and the release recorded in facts/dataset.yaml and CITATION.cff."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sys
from pathlib import Path

import click

from .build import BuildError, run_build
from .dataset_version import VERSION, list_releases, next_version, version_key
from .diff import diff_builds, format_markdown, summary_line
from .facts import load_dataset_file
from .transaction import exclusive, recover


def _set_fields(path: Path, values: dict[str, str]) -> None:
    """Replace (or append) top-level ``key: value`` lines of a YAML file, keeping its comments and order."""
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        line = f"{key}: {value}"
        pattern = re.compile(rf"^{re.escape(key)}:.*$", re.M)
        text = pattern.sub(lambda _m: line, text, count=1) if pattern.search(text) else text.rstrip("\n") + \
            f"\n{line}\n"
    path.write_text(text, encoding="utf-8")


def changelog_entry(version: str, date: str, notes_summary: str, manifest: dict) -> str:
    stats = manifest.get("stats", {})
    return (f"\n## {version} ({date})\n\n"
            f"{stats.get('claims', 0)} claims from {stats.get('sources', 0)} sources, {stats.get('entities', 0)} "
            f"entities, {stats.get('mappings', 0)} mappings, {stats.get('conflicts', 0)} conflicts; content "
            f"checksum `{manifest.get('content_sha256')}`.\n\n{notes_summary}\n")


@click.command("release")
@click.option("--facts", "facts_dir", default="facts", show_default=True, type=click.Path(path_type=Path))
@click.option("--ontology", "ontology_dir", default="ontology", show_default=True, type=click.Path(path_type=Path))
@click.option("--sources", "sources_dir", default="../shared/sources", show_default=True, envvar="MRKG_SOURCES",
              type=click.Path(path_type=Path))
@click.option("--reference", default="../shared/reference/identifiers.tsv", show_default=True,
              envvar="MRKG_REFERENCE", type=click.Path(path_type=Path))
@click.option("--out", default="build", show_default=True, envvar="MRKG_BUILD_DIR", type=click.Path(path_type=Path))
@click.option("--releases", "releases_dir", default="releases", show_default=True, envvar="MRKG_RELEASES_DIR",
              type=click.Path(path_type=Path), help="Where release folders go (releases/<version>/).")
@click.option("--changelog", default="CHANGELOG.md", show_default=True, type=click.Path(path_type=Path))
@click.option("--citation", "citation_file", default="CITATION.cff", show_default=True,
              type=click.Path(path_type=Path))
@click.option("--version", "forced", default=None, help="Release under this version instead of the rule's.")
@click.option("--date", "date_text", default=None, help="Release date, YYYY-MM-DD [default: today, UTC].")
def release_command(facts_dir: Path, ontology_dir: Path, sources_dir: Path, reference: Path, out: Path,
                    releases_dir: Path, changelog: Path, citation_file: Path, forced: str | None,
                    date_text: str | None) -> None:
    """Release the current facts: next version by the rule, rebuild, releases/<version>/ with notes, CHANGELOG."""
    date = date_text or dt.datetime.now(dt.timezone.utc).date().isoformat()
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        raise click.ClickException(f"--date {date!r} is not a date written YYYY-MM-DD") from None
    dataset_yaml = facts_dir / "dataset.yaml"
    with exclusive(out):
        note = recover(out)
        if note:
            click.echo(note, err=True)
        try:
            result = run_build(facts_dir, ontology_dir, sources_dir, reference, out)
        except BuildError as exc:
            click.echo(str(exc), err=True)
            click.echo("release failed: the facts do not build; nothing was changed", err=True)
            sys.exit(1)
        manifest = result.manifest
        if manifest.get("released"):
            click.echo(f"nothing to release: the content is that of release {manifest['version']} "
                       f"(content checksum {manifest['content_sha256'][:12]})", err=True)
            sys.exit(1)
        previous = list_releases(releases_dir)
        info = load_dataset_file(dataset_yaml, str(dataset_yaml), [])
        if previous:
            last = previous[-1]
            report = diff_builds(last["folder"], out)
            level = report.level()
            base = last["version"]
        else:
            report, level, base = None, "minor", info.version
        try:
            version = forced or next_version(max(base, info.version, key=version_key), level)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        if not VERSION.match(version):
            raise click.ClickException(f"--version {version!r} is not MAJOR.MINOR.PATCH")
        if (releases_dir / version).exists():
            raise click.ClickException(f"{releases_dir / version} exists already: a release is never overwritten")
        original = dataset_yaml.read_text(encoding="utf-8")
        _set_fields(dataset_yaml, {"version": f'"{version}"', "modified": date,
                                   "content_sha256": manifest["content_sha256"]})
        try:
            result = run_build(facts_dir, ontology_dir, sources_dir, reference, out)
        except BaseException:
            dataset_yaml.write_text(original, encoding="utf-8")  # as it was: the release did not happen
            raise
        manifest = result.manifest
        assert manifest["released"] and manifest["version"] == version, manifest["version"]
        target = releases_dir / version
        partial = releases_dir / f".{version}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        folder = out.resolve()
        for name in sorted(manifest["files"]) + ["SHA256SUMS", "manifest.json"]:
            shutil.copy2(folder / name, partial / name)
        manifest = dict(manifest, release_date=date)
        (partial / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                               encoding="utf-8")
        if report is not None:
            notes = format_markdown(report, title=f"mrkg {version} ({date}): changes since {base}")
            summary = summary_line(report)
            (partial / "diff.json").write_text(json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n",
                                               encoding="utf-8")
        else:
            notes = (f"# mrkg {version} ({date})\n\nFirst release made with `mrkg release`; no earlier release "
                     f"folder in {releases_dir.name}/ to compare with (previous version {info.version}).\n")
            summary = f"First release made with `mrkg release` (after {info.version})."
        (partial / "RELEASE-NOTES.md").write_text(notes, encoding="utf-8")
        partial.rename(target)
        if not changelog.exists():
            changelog.write_text(CHANGELOG_HEAD, encoding="utf-8")
        with changelog.open("a", encoding="utf-8") as handle:
            handle.write(changelog_entry(version, date, summary, manifest))
        if citation_file.exists():
            _set_fields(citation_file, {"version": f'"{version}"', "date-released": f'"{date}"'})
    click.echo(f"released mrkg {version} ({level if not forced else 'version given'}) -> {target}/; "
               f"{changelog} and {dataset_yaml} updated")


CHANGELOG_HEAD = "# Changelog of the mrkg dataset\n\nOne entry per release, appended by `mrkg release`.\n"
