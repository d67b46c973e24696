"""Source coverage: every sentence of every source, with the claims that quote it or the reason it carries none.

A source text is cut into units: each non-empty line is cut into sentences (a heading, a list item, a table row
or a caption line is one unit of its own). A unit is *claimed* when the quote of a claim of its source overlaps
it, *triaged* when ``facts/coverage/NNN.yaml`` says why it carries no claim, else *untriaged*.

``facts/coverage/NNN.yaml``::

    source: "001"
    triage:
      - text: What is baclofen?          # the exact sentence, or its start (at least 20 characters)
        reason: heading                  # one of REASONS
        note: optional words
      - text: Loved by 2.5M+ users and 100k+ doctors.
        reason: advertising
        occurrence: 2                    # optional: only that occurrence (1-based); default every occurrence

The build fails on a triage entry whose text does not stand in the source, an unknown reason, an entry whose
sentence a claim also quotes, and (for each source that has a coverage file) any untriaged sentence.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import click

from .facts import Facts, _Reader
from .sources import SourceText, fold
from .yamlfile import FactsError, load_yaml_file

REASONS = ("navigation", "advertising", "framing", "disclaimer", "reference", "caption", "heading",
           "disease-description", "advice-to-reader", "duplicate", "other")
MIN_START = 20  # a triage text shorter than this must be a whole sentence

# Words ending in a full stop that do not end a sentence.
ABBREVIATIONS = frozenset({"e.g.", "i.e.", "etc.", "vs.", "dr.", "mr.", "mrs.", "ms.", "st.", "no.", "approx.",
                           "cf.", "u.s.", "fig.", "inc.", "ltd.", "prof."})
BULLET = re.compile(r"[\u2022\u00b7\u25aa\u25cf\u2023\u2043*\-\u2013]\s+")
# A sentence ends at . ! or ? (with closing quotes or brackets) before space and a character that can open one;
# or at a full stop glued to a capitalised word ("...blue surface.Differences Between"), a page-dump artefact.
BOUNDARY = re.compile(r"[.!?][\"'\u201d\u2019)\]]*(?:\s+(?=[^\s\-a-z,;:])|(?=[A-Z][a-z]))")

# Reference numbers after a sentence's full stop ("... interchangeable. 1") belong to that sentence.
REFERENCE_TAIL = re.compile(r"[\d,\s]*")


@dataclass
class Unit:
    """One sentence (or heading, list item, table row) of a source text; offsets into the text as received."""

    source_id: str
    index: int  # 1-based, in text order
    start: int
    end: int
    text: str
    line: int  # 1-based line of the source text it starts on
    claims: list[str] = field(default_factory=list)  # full ids of claims whose quote overlaps it
    record: list[str] = field(default_factory=list)  # what the source record quotes from it ("title", "date")
    triage: "Triage | None" = None

    @property
    def encoded(self) -> list[str]:
        """The claims quoting it, and the source record's fields taken from it (as "source 002 title")."""
        return self.claims + [f"source {self.source_id} {what}" for what in self.record]

    @property
    def status(self) -> str:
        return "claimed" if self.encoded else "triaged" if self.triage else "untriaged"


@dataclass
class Triage:
    text: str
    reason: str
    note: str | None
    occurrence: int | None
    file: str
    line: int


@dataclass
class SourceCoverage:
    source_id: str
    file_name: str
    units: list[Unit]
    coverage_file: str | None  # the triage file, when there is one

    def counts(self) -> dict[str, int]:
        return {"sentences": len(self.units), "claimed": sum(u.status == "claimed" for u in self.units),
                "triaged": sum(u.status == "triaged" for u in self.units),
                "untriaged": sum(u.status == "untriaged" for u in self.units)}


def split_units(text: str, source_id: str = "") -> list[Unit]:
    """The sentences of ``text``: each line cut at sentence ends; a leading list bullet is not part of a unit."""
    units: list[Unit] = []
    offset = 0
    for number, line in enumerate(text.split("\n"), start=1):
        begin, stop = offset, offset + len(line)
        offset = stop + 1
        while begin < stop and text[begin].isspace():
            begin += 1
        bullet = BULLET.match(text, begin, stop)
        if bullet and bullet.end() < stop:
            begin = bullet.end()
        pieces: list[tuple[int, int]] = []
        cursor = begin
        for match in BOUNDARY.finditer(text, begin, stop):
            end = match.start() + len(match.group().rstrip())
            word = text[max(cursor, text.rfind(" ", cursor, match.start()) + 1):match.start() + 1]
            if word.lower().lstrip("(\"'\u201c") in ABBREVIATIONS or REFERENCE_TAIL.fullmatch(text, match.end(), stop):
                continue
            pieces.append((cursor, end))
            cursor = match.end()
        pieces.append((cursor, stop))
        for start, end in pieces:
            while end > start and text[end - 1].isspace():
                end -= 1
            while start < end and text[start].isspace():
                start += 1
            if start < end:
                units.append(Unit(source_id, len(units) + 1, start, end, text[start:end], number))
    return units


def load_coverage_file(path: Path, name: str, errors: list[FactsError]) -> tuple[str | None, list[Triage]]:
    """The source id and triage entries of one coverage file; problems go to ``errors``."""
    try:
        data = load_yaml_file(path, name)
    except FactsError as exc:
        errors.append(exc)
        return None, []
    top = _Reader(data, name, errors, "coverage file")
    source_id = top.text("source", required=True)
    if source_id and source_id != path.stem:
        top.error("source", f"coverage file: source {source_id!r} does not match the file name {path.name} "
                            f"(write source: \"{path.stem}\")")
    entries: list[Triage] = []
    items = top.seq("triage")
    for item, line in zip(items, items.item_lines):
        r = _Reader(item, name, errors, "triage entry", line)
        text, reason, note = r.text("text", required=True), r.text("reason", required=True), r.text("note")
        occurrence = r.get("occurrence")
        if occurrence is not None and (isinstance(occurrence, bool) or not isinstance(occurrence, int)
                                       or occurrence < 1):
            r.error("occurrence", "triage entry: occurrence must be a whole number from 1")
            occurrence = None
        r.finish({"text", "reason", "note", "occurrence"})
        if reason and reason not in REASONS:
            close = difflib.get_close_matches(reason, REASONS, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            r.error("reason", f"triage entry: unknown reason {reason!r} (one of {', '.join(REASONS)}){hint}")
            reason = None
        if reason == "other" and not note:
            r.error("reason", "triage entry: reason other needs a note saying why the sentence carries no claim")
        if text and reason:
            entries.append(Triage(text, reason, note, occurrence, name, r.line))
    top.finish({"source", "triage"})
    return source_id, entries


def compute_coverage(facts: Facts, texts: dict[str, SourceText], facts_dir: Path, root: Path | None = None,
                     errors: list[FactsError] | None = None) -> dict[str, SourceCoverage]:
    """Coverage of every source of ``facts``; problems of the coverage files go to ``errors``."""
    errors = errors if errors is not None else []
    root = root or facts_dir.parent

    def rel(p: Path) -> str:
        try:
            return str(p.relative_to(root))
        except ValueError:
            return str(p)

    folder = facts_dir / "coverage"
    files: dict[str, Path] = {}
    if folder.is_dir():
        for path in sorted(folder.glob("*.yaml")):
            if path.stem not in facts.sources:
                errors.append(FactsError(rel(path), 0, f"coverage file for source {path.stem!r}, which is not in "
                                                       f"facts/sources/ (name it NNN.yaml after its source)"))
                continue
            files[path.stem] = path
        for path in sorted(folder.glob("*.yml")):
            errors.append(FactsError(rel(path), 0, "coverage files end in .yaml, not .yml"))
    result: dict[str, SourceCoverage] = {}
    for source_id in sorted(facts.sources):
        source = facts.sources[source_id]
        text = texts.get(source.file_name)
        if text is None:
            continue  # check_quotes reports it
        units = split_units(text.text, source_id)
        starts = [u.start for u in units]
        for claim in source.claims:
            span = text.locate(claim.quote, claim.occurrence) if claim.quote else None
            if span is None:
                continue
            for unit in units:
                if unit.start < span.end and span.start < unit.end:
                    unit.claims.append(claim.full_id)
        # The source record quotes its title, its dates and its review status: those sentences are encoded. (Not the
        # publisher's or reviewer's name: a name stands in many sentences, an advertisement among them.)
        for fragment, what in ((source.title, "title"), *((d.text, f"{d.kind} date") for d in source.dates),
                               (source.review_status, "review status")):
            span = text.locate(fragment) if fragment else None
            for unit in units if span else ():
                if unit.start < span.end and span.start < unit.end and what not in unit.record:
                    unit.record.append(what)
        path = files.get(source_id)
        if path is not None:
            _, entries = load_coverage_file(path, rel(path), errors)
            _apply_triage(entries, text, units, starts, errors)
        result[source_id] = SourceCoverage(source_id, source.file_name, units, rel(path) if path else None)
    return result


def _apply_triage(entries: list[Triage], text: SourceText, units: list[Unit], starts: list[int],
                  errors: list[FactsError]) -> None:
    import bisect

    norm, index = text._normalised
    for entry in entries:
        hits = text.occurrences(entry.text)
        if not hits:
            errors.append(FactsError(entry.file, entry.line, f"triage text not found in {text.file_name}: "
                                                             f"{entry.text!r} (copy it from the source text)"))
            continue
        length = len(fold(entry.text))
        # The places where the text starts a sentence, and is the whole sentence when it is short.
        places, partial = [], None
        for hit in hits:
            start, end = index[hit], index[hit + length - 1] + 1
            at = bisect.bisect_right(starts, start) - 1
            if at < 0 or units[at].start != start:
                continue
            if length < MIN_START and units[at].end > end:
                partial = partial or units[at]
                continue
            places.append((at, end))
        if not places:
            if partial is not None:
                message = (f"triage text {entry.text!r} is shorter than {MIN_START} characters and not a whole "
                           f"sentence; give more of {partial.text[:80]!r}")
            else:
                at = bisect.bisect_right(starts, index[hits[0]]) - 1
                inside = units[at].text[:80] if at >= 0 else ""
                message = f"triage text {entry.text!r} does not start a sentence; the sentence is {inside!r}"
            errors.append(FactsError(entry.file, entry.line, message))
            continue
        if entry.occurrence is not None:
            if entry.occurrence > len(places):
                errors.append(FactsError(entry.file, entry.line,
                                         f"triage entry: occurrence {entry.occurrence} asked, the text starts "
                                         f"{len(places)} sentence(s)"))
                continue
            places = [places[entry.occurrence - 1]]
        covered: list[Unit] = []
        for at, end in places:
            # The entry covers its first sentence and every further sentence its text runs over.
            j = at
            while j < len(units) and units[j].start < end:
                covered.append(units[j])
                j += 1
        for unit in covered:
            if unit.encoded:
                errors.append(FactsError(entry.file, entry.line,
                                         f"triaged as {entry.reason}, but {', '.join(unit.encoded)} quote(s) "
                                         f"{unit.text[:60]!r} (remove the triage entry)"))
            elif unit.triage is not None and unit.triage is not entry:
                errors.append(FactsError(entry.file, entry.line, f"sentence {unit.text[:60]!r} is already triaged "
                                                                 f"at {unit.triage.file}:{unit.triage.line}"))
            else:
                unit.triage = entry


def untriaged_errors(coverage: dict[str, SourceCoverage]) -> list[FactsError]:
    """One error per untriaged sentence of each source that has a coverage file (the check is on per source)."""
    errors = []
    for cov in coverage.values():
        if cov.coverage_file is None:
            continue
        for unit in cov.units:
            if unit.status == "untriaged":
                errors.append(FactsError(cov.coverage_file, 0,
                                         f"{cov.file_name}:{unit.line}: sentence neither quoted by a claim nor "
                                         f"triaged: {unit.text[:80]!r} (encode it, or add it to the file with a "
                                         f"reason; mrkg coverage --source {cov.source_id} --uncovered --format "
                                         f"yaml prints the entries to fill in)"))
    return errors


def coverage_summary(coverage: dict[str, SourceCoverage]) -> dict[str, dict[str, int]]:
    return {sid: cov.counts() for sid, cov in sorted(coverage.items())}


def format_summary(summary: dict[str, dict[str, int]]) -> list[str]:
    keys = ("sentences", "claimed", "triaged", "untriaged")
    lines = ["source" + "".join(k.rjust(11) for k in keys)]
    for sid, counts in summary.items():
        lines.append(sid.ljust(6) + "".join(str(counts[k]).rjust(11) for k in keys))
    lines.append("total".ljust(6) + "".join(str(sum(c[k] for c in summary.values())).rjust(11) for k in keys))
    return lines


def _yaml_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@click.command("coverage")
@click.option("--facts", "facts_dir", default="facts", show_default=True, type=click.Path(path_type=Path))
@click.option("--sources", "sources_dir", default="../shared/sources", show_default=True, envvar="MRKG_SOURCES",
              type=click.Path(path_type=Path), help="Folder of the source texts.")
@click.option("--source", "only", multiple=True, metavar="NNN", help="Only this source (repeatable).")
@click.option("--uncovered", is_flag=True, help="Only the sentences neither quoted by a claim nor triaged.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True,
              help="yaml: the untriaged sentences as triage entries to fill in (reason: TODO).")
def coverage_command(facts_dir: Path, sources_dir: Path, only: tuple[str, ...], uncovered: bool, fmt: str) -> None:
    """Every sentence of every source with the claims quoting it, its triage reason, or UNCOVERED."""
    import json

    from .facts import FactsErrors, load_facts
    from .sources import read_sources

    if not facts_dir.is_dir():
        raise click.ClickException(f"{facts_dir}: no facts folder")
    if not sources_dir.is_dir():
        raise click.ClickException(f"{sources_dir}: no sources folder (give --sources or MRKG_SOURCES)")
    facts, errors = load_facts(facts_dir)
    unknown = [s for s in only if s not in facts.sources]
    if unknown:
        raise click.ClickException(f"no source {', '.join(unknown)} in {facts_dir}/sources "
                                   f"(sources: {', '.join(sorted(facts.sources))})")
    coverage = compute_coverage(facts, read_sources(sources_dir), facts_dir, errors=errors)
    if errors:
        errors.sort(key=lambda e: (e.file, e.line))
        click.echo(str(FactsErrors(errors)), err=True)
        raise SystemExit(1)
    chosen = {sid: cov for sid, cov in coverage.items() if not only or sid in only}
    summary = coverage_summary(chosen)

    def shown(cov: SourceCoverage) -> list[Unit]:
        return [u for u in cov.units if not uncovered or u.status == "untriaged"]

    if fmt == "json":
        out = {sid: {"file": cov.file_name, "coverage_file": cov.coverage_file, **summary[sid],
                     "units": [{"index": u.index, "line": u.line, "start": u.start, "end": u.end, "text": u.text,
                                "status": u.status, "claims": u.claims, "source_record": u.record,
                                "reason": u.triage.reason if u.triage else None} for u in shown(cov)]}
               for sid, cov in chosen.items()}
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    if fmt == "yaml":
        for sid, cov in chosen.items():
            click.echo(f"# facts/coverage/{sid}.yaml: untriaged sentences of {cov.file_name}")
            click.echo(f'source: "{sid}"\ntriage:')
            done: set[str] = set()
            for u in cov.units:
                if u.status != "untriaged" or u.text in done:
                    continue
                # Every sentence this text would triage (as _apply_triage matches it), in text order.
                same = [v for v in cov.units if fold(v.text).startswith(fold(u.text))
                        and (len(fold(u.text)) >= MIN_START or fold(v.text) == fold(u.text))]
                if all(v.status == "untriaged" for v in same):
                    done.add(u.text)
                    lines = ", ".join(str(v.line) for v in same)
                    click.echo(f"  - text: {_yaml_quote(u.text)}\n    reason: TODO  # line {lines}")
                else:
                    click.echo(f"  - text: {_yaml_quote(u.text)}\n    reason: TODO  # line {u.line}\n"
                               f"    occurrence: {same.index(u) + 1}")
        return
    for sid, cov in chosen.items():
        c = summary[sid]
        click.echo(f"== {sid} {cov.file_name}: {c['sentences']} sentences, {c['claimed']} claimed, "
                   f"{c['triaged']} triaged, {c['untriaged']} untriaged"
                   + ("" if cov.coverage_file else " (no coverage file yet)"))
        for u in shown(cov):
            mark = (", ".join(u.encoded) if u.encoded else f"[{u.triage.reason}]" if u.triage else "UNCOVERED")
            click.echo(f"{sid}:{u.line}: {u.text}\n    -> {mark}")
    if len(chosen) > 1 or fmt == "text":
        click.echo("")
        click.echo("\n".join(format_summary(summary)))
