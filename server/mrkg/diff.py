"""`mrkg diff OLD NEW`: what changed between two builds or releases, read from their tables (claims.tsv,
entities.tsv, mappings.sssom.tsv, conflicts.tsv): claims added, removed and changed field by field, entities,
mappings, and conflicts that appeared or were resolved; as text, Markdown or JSON."""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

TABLES = {
    # what -> (file, key columns, columns not compared)
    "claims": ("claims.tsv", ("claim_id",), ("claim_iri",)),
    "entities": ("entities.tsv", ("entity_id",), ("entity_iri", "claims_as_subject", "claims_as_object")),  # counts:
    # derived from the claims, whose changes are listed already
    "mappings": ("mappings.sssom.tsv", ("subject_id", "object_id"), ()),
    "conflicts": ("conflicts.tsv", ("conflict_id",), ("conflict_iri",)),
}


class DiffError(Exception):
    pass


def read_table(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """A table of a build (tab-separated, CSV quoting, '#' comment lines before the header in SSSOM)."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    skip = 0
    while skip < len(lines) and lines[skip].startswith("#"):
        skip += 1
    reader = csv.reader(io.StringIO("\n".join(lines[skip:])), delimiter="\t")
    try:
        header = next(reader)
    except StopIteration:
        raise DiffError(f"{path}: empty table") from None
    rows = []
    for cells in reader:
        if len(cells) != len(header):
            raise DiffError(f"{path}:{skip + reader.line_num}: {len(cells)} cells, the header has {len(header)}")
        rows.append(dict(zip(header, cells)))
    return header, rows


@dataclass
class Changed:
    key: str
    fields: dict[str, tuple[str, str]]  # column -> (old, new)


@dataclass
class TableDiff:
    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.columns_added or self.columns_removed)


@dataclass
class Report:
    old: dict
    new: dict
    tables: dict[str, TableDiff]

    @property
    def identical(self) -> bool:
        return self.old.get("content_sha256") == self.new.get("content_sha256") and not any(self.tables.values())

    def level(self) -> str:
        """The version step the rule gives (releases.py): major, minor or patch."""
        if any(self.tables[w].removed for w in ("claims", "entities", "mappings")):
            return "major"
        if any(self.tables[w] for w in self.tables):
            return "minor"
        return "patch"

    def to_json(self) -> dict:
        def rows(items, key_cols):
            return [" ".join(r[k] for k in key_cols) for r in items]

        out = {"old": self.old, "new": self.new, "identical": self.identical, "level": self.level()}
        for what, diff in self.tables.items():
            keys = TABLES[what][1]
            entry = {"added": rows(diff.added, keys), "removed": rows(diff.removed, keys),
                     "changed": {c.key: {f: {"old": a, "new": b} for f, (a, b) in c.fields.items()}
                                 for c in diff.changed}}
            if diff.columns_added or diff.columns_removed:
                entry["columns_added"], entry["columns_removed"] = diff.columns_added, diff.columns_removed
            if what == "conflicts":
                entry = {"appeared": entry["added"], "resolved": entry["removed"], "changed": entry["changed"]}
            out[what] = entry
        return out


def _key(row: dict[str, str], cols: tuple[str, ...]) -> str:
    return " ".join(row.get(c, "") for c in cols)


def diff_table(old: Path, new: Path, keys: tuple[str, ...], ignored: tuple[str, ...]) -> TableDiff:
    old_header, old_rows = read_table(old)
    new_header, new_rows = read_table(new)
    before = {_key(r, keys): r for r in old_rows}
    after = {_key(r, keys): r for r in new_rows}
    result = TableDiff(columns_added=[c for c in new_header if c not in old_header],
                       columns_removed=[c for c in old_header if c not in new_header])
    result.added = [after[k] for k in sorted(after.keys() - before.keys())]
    result.removed = [before[k] for k in sorted(before.keys() - after.keys())]
    columns = [c for c in dict.fromkeys(old_header + new_header) if c not in ignored and c not in keys]
    for k in sorted(before.keys() & after.keys()):
        a, b = before[k], after[k]
        fields = {c: (a.get(c, ""), b.get(c, "")) for c in columns if a.get(c, "") != b.get(c, "")}
        if fields:
            result.changed.append(Changed(k, fields))
    return result


def _manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    if not path.is_file():
        raise DiffError(f"{folder}: not a build or release folder (no manifest.json)")
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"folder": folder.name if folder.name != "build" else str(folder), "version": data.get("version"),
            "content_sha256": data.get("content_sha256"), "release_date": data.get("release_date"),
            "stats": {k: data.get("stats", {}).get(k) for k in ("claims", "entities", "mappings", "conflicts",
                                                               "sources")}}


def diff_builds(old: Path, new: Path) -> Report:
    old, new = Path(old), Path(new)
    tables = {}
    for folder in (old, new):
        for name, _, _ in TABLES.values():
            if not (folder / name).is_file():
                raise DiffError(f"{folder}: no {name} (a build made before the tables existed?); build or release "
                                "it again with this mrkg")
    meta_old, meta_new = _manifest(old), _manifest(new)
    for what, (name, keys, ignored) in TABLES.items():
        tables[what] = diff_table(old / name, new / name, keys, ignored)
    return Report(meta_old, meta_new, tables)


def summary_line(report: Report) -> str:
    t = report.tables
    parts = [f"claims: {len(t['claims'].added)} added, {len(t['claims'].removed)} removed, "
             f"{len(t['claims'].changed)} changed",
             f"entities: {len(t['entities'].added)} added, {len(t['entities'].removed)} removed, "
             f"{len(t['entities'].changed)} changed",
             f"mappings: {len(t['mappings'].added)} added, {len(t['mappings'].removed)} removed, "
             f"{len(t['mappings'].changed)} changed",
             f"conflicts: {len(t['conflicts'].added)} appeared, {len(t['conflicts'].removed)} resolved"]
    return "; ".join(parts) + "."


def _label(what: str, row: dict[str, str]) -> str:
    if what == "claims":
        obj = row.get("object_label") or row.get("object") or row.get("value_text", "")
        neg = "NOT " if row.get("negated") == "true" else ""
        return f"{row['claim_id']}: {neg}{row.get('subject', '')} {row.get('predicate', '')} {obj}"
    if what == "entities":
        return f"{row['entity_id']} ({row.get('type', '')}): {row.get('label', '')}"
    if what == "mappings":
        return f"{row['subject_id']} {row.get('predicate_id', '')} {row['object_id']}"
    return f"{row['conflict_id']}: {row.get('explanation', '')}"


def _short(text: str, width: int = 100) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[:width - 1] + "…"


SECTIONS = {"claims": ("added", "removed"), "entities": ("added", "removed"), "mappings": ("added", "removed"),
            "conflicts": ("appeared", "resolved")}


def format_text(report: Report) -> str:
    o, n = report.old, report.new
    lines = [f"old: {o['folder']} version {o['version']} (content {str(o['content_sha256'])[:12]})",
             f"new: {n['folder']} version {n['version']} (content {str(n['content_sha256'])[:12]})"]
    if report.identical:
        lines.append("identical content")
        return "\n".join(lines) + "\n"
    lines.append(summary_line(report) + f" Version step by the rule: {report.level()}.")
    for what, diff in report.tables.items():
        first, second = SECTIONS[what]
        for word, rows, sign in ((first, diff.added, "+"), (second, diff.removed, "-")):
            if rows:
                lines.append(f"{what} {word} ({len(rows)}):")
                lines.extend(f"  {sign} {_short(_label(what, r))}" for r in rows)
        if diff.changed:
            lines.append(f"{what} changed ({len(diff.changed)}):")
            for change in diff.changed:
                lines.append(f"  ~ {change.key}")
                for column, (a, b) in change.fields.items():
                    lines.append(f"      {column}: {_short(a, 60)!r} -> {_short(b, 60)!r}")
        if diff.columns_added or diff.columns_removed:
            lines.append(f"{what} columns: added {', '.join(diff.columns_added) or 'none'}; removed "
                         f"{', '.join(diff.columns_removed) or 'none'}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_markdown(report: Report, title: str | None = None) -> str:
    o, n = report.old, report.new
    lines = [f"# {title or 'Changes'}", "",
             f"From **{o['version']}** (content `{str(o['content_sha256'])[:12]}`) to **{n['version']}** "
             f"(content `{str(n['content_sha256'])[:12]}`).", ""]
    if report.identical:
        return "\n".join(lines + ["Identical content.", ""])
    lines += [summary_line(report) + f" Version step by the rule: **{report.level()}**.", ""]
    lines += ["| | old | new |", "| --- | ---: | ---: |"]
    for key in ("sources", "claims", "entities", "mappings", "conflicts"):
        lines.append(f"| {key} | {o['stats'].get(key)} | {n['stats'].get(key)} |")
    lines.append("")
    for what, diff in report.tables.items():
        if not diff:
            continue
        first, second = SECTIONS[what]
        lines += [f"## {what.capitalize()}", ""]
        for word, rows in ((first, diff.added), (second, diff.removed)):
            if rows:
                lines.append(f"{word.capitalize()} ({len(rows)}):")
                lines.append("")
                lines.extend(f"- {_md(_short(_label(what, r), 140))}" for r in rows)
                lines.append("")
        if diff.changed:
            lines += [f"Changed ({len(diff.changed)}):", "", "| id | field | old | new |", "| --- | --- | --- | --- |"]
            for change in diff.changed:
                for column, (a, b) in change.fields.items():
                    lines.append(f"| {_md(change.key)} | {column} | {_md(_short(a, 70))} | {_md(_short(b, 70))} |")
            lines.append("")
        if diff.columns_added or diff.columns_removed:
            lines += [f"Columns added: {', '.join(diff.columns_added) or 'none'}; removed: "
                      f"{', '.join(diff.columns_removed) or 'none'}.", ""]
    return "\n".join(lines)


@click.command("diff")
@click.argument("old", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("new", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
def diff_command(old: Path, new: Path, fmt: str) -> None:
    """What changed from build or release OLD to NEW (folders: build/, releases/<version>/, .build-versions/...)."""
    try:
        report = diff_builds(old, new)
    except DiffError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    elif fmt == "markdown":
        click.echo(format_markdown(report), nl=False)
    else:
        click.echo(format_text(report), nl=False)
