"""Load the hand-written facts (dataset, entities, one file per source) into checked records.

Every problem is reported as ``file:line: message``; all problems of a run are collected
so a curator sees them at once (FactsErrors).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

from .model import (CLAIM_VALUES, DOCUMENT_TYPES, ENTITY_QUALIFIERS, ENTITY_TYPES, ENUM_QUALIFIERS, KINDS,
                    MATCH_RELATIONS, STATISTIC_TYPES, TEXT_QUALIFIERS, VALUE_SHAPES)
from .sources import SourceText
from .yamlfile import FactsError, Map, Seq, load_yaml_file

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
SOURCE_ID_PATTERN = re.compile(r"^[0-9]{3}$")


class FactsErrors(Exception):
    """Several FactsError at once; str() lists them one per line."""

    def __init__(self, errors: list[FactsError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass
class Value:
    shape: str
    text: str
    numbers: dict[str, Decimal]
    unit: str | None = None
    term: str | None = None
    max_exclusive: bool = False
    statistic_type: str | None = None
    line: int = 0


@dataclass
class Claim:
    source_id: str
    id: str
    kind: str
    subject: str
    predicate: str
    quote: str
    object: str | None = None
    value: Value | None = None
    negated: bool = False
    hedge: str | None = None
    occurrence: int = 1
    subject_text: str | None = None
    object_text: str | None = None
    entity_qualifiers: dict[str, str] = field(default_factory=dict)
    enum_qualifiers: dict[str, str] = field(default_factory=dict)
    text_qualifiers: dict[str, str] = field(default_factory=dict)
    serious: bool | None = None
    values: dict[str, Value] = field(default_factory=dict)
    note: str | None = None
    file: str = ""
    line: int = 0

    @property
    def full_id(self) -> str:
        return f"{self.source_id}-{self.id}"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class StatedDate:
    kind: str  # created | modified | reviewed
    date: dt.date
    text: str


@dataclass
class Source:
    id: str
    file_name: str
    title: str
    document_type: str
    extracted_by: str
    extracted_on: dt.date
    sha256: str | None = None
    publisher: str | None = None
    reviewer: str | None = None
    review_status: str | None = None
    dates: list[StatedDate] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    file: str = ""
    line: int = 0


@dataclass
class MappingSpec:
    scheme: str
    id: str
    match: str
    evidence: str = ""
    line: int = 0


@dataclass
class Entity:
    id: str
    type: str
    label: str
    synonyms: list[str] = field(default_factory=list)
    note: str | None = None
    reference: str | None = None
    mappings: list[MappingSpec] = field(default_factory=list)
    file: str = ""
    line: int = 0


@dataclass
class DatasetInfo:
    version: str
    title: str
    description: str
    license: str
    issued: dt.date | None = None
    file: str = ""
    # Releases and DCAT (README: Releases): the last release's date and content checksum, set by `mrkg release`
    modified: dt.date | None = None
    content_sha256: str | None = None
    creator: str | None = None  # who made the dataset (an agent's label; its IRI is agent:<slug>)
    publisher: str | None = None
    contact: str | None = None  # the contact point's name (reached through the landing page)
    landing_page: str | None = None


@dataclass
class Facts:
    dataset: DatasetInfo
    entities: dict[str, Entity]
    sources: dict[str, Source]

    def claims(self) -> Iterable[Claim]:
        for source_id in sorted(self.sources):
            yield from self.sources[source_id].claims


class _Reader:
    """Typed access to one YAML mapping, recording errors with the line of each key."""

    def __init__(self, data: Any, file: str, errors: list[FactsError], what: str, line: int = 0):
        self.file, self.errors, self.what = file, errors, what
        if not isinstance(data, Map):
            errors.append(FactsError(file, getattr(data, "line", line), f"{what} must be a mapping"))
            data = Map()
            data.line, data.key_lines = line, {}
        self.data: Map = data
        self.seen: set[str] = set()

    @property
    def line(self) -> int:
        return self.data.line

    def error(self, key: str | None, message: str) -> None:
        line = self.data.line_of(key) if key else self.data.line
        self.errors.append(FactsError(self.file, line, message))

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return self.data.get(key, default)

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.get(key)
        if value is None:
            if required:
                self.error(None, f"{self.what}: missing required field '{key}'")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
            self.error(key, f"{self.what}: '{key}' must be text")
            return None
        text = str(value).strip()
        if required and not text:
            self.error(key, f"{self.what}: '{key}' must not be empty")
            return None
        return text

    def flag(self, key: str) -> bool | None:
        value = self.get(key)
        if value is None or isinstance(value, bool):
            return value
        self.error(key, f"{self.what}: '{key}' must be true or false")
        return None

    def date(self, key: str, required: bool = False) -> dt.date | None:
        value = self.get(key)
        if value is None:
            if required:
                self.error(None, f"{self.what}: missing required field '{key}'")
            return None
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        self.error(key, f"{self.what}: '{key}' must be a date written YYYY-MM-DD")
        return None

    def seq(self, key: str) -> Seq:
        value = self.get(key)
        if value is None:
            empty = Seq()
            empty.line, empty.item_lines = self.data.line_of(key), []
            return empty
        if not isinstance(value, Seq):
            self.error(key, f"{self.what}: '{key}' must be a list")
            empty = Seq()
            empty.line, empty.item_lines = self.data.line_of(key), []
            return empty
        return value

    def finish(self, allowed_hint: Iterable[str] | None = None) -> None:
        for key in self.data:
            if key not in self.seen:
                hint = sorted(allowed_hint if allowed_hint is not None else self.seen)
                self.error(key, f"{self.what}: unknown field '{key}' (expected one of: {', '.join(hint)})")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _read_value(shape_name: str, data: Any, file: str, errors: list[FactsError], owner: str, line: int) -> Value | None:
    shape = VALUE_SHAPES[shape_name]
    r = _Reader(data, file, errors, f"{owner} {shape_name}", line)
    text = r.text("text", required=True)
    numbers: dict[str, Decimal] = {}
    for key in sorted(shape.numbers):
        raw = r.get(key)
        if raw is None:
            continue
        number = _number(raw)
        if number is None:
            r.error(key, f"{owner} {shape_name}: '{key}' must be a number, got {raw!r}")
        else:
            numbers[key] = number
    unit = r.text("unit") if shape.units is not None else None
    if shape.units is not None:
        unit = unit or shape.default_unit
        if unit is None and numbers.keys() - {"times_per_day"}:
            r.error(None, f"{owner} {shape_name}: numbers need a 'unit' (UCUM: {', '.join(sorted(shape.units))})")
        elif unit is not None and unit not in shape.units:
            r.error("unit", f"{owner} {shape_name}: unit {unit!r} is not one of the UCUM codes "
                            f"{', '.join(sorted(shape.units))}")
    value = Value(shape_name, text or "", numbers, unit, line=r.line)
    if "term" in shape.extra:
        value.term = r.text("term")
        if value.term and numbers:
            r.error("term", f"{owner} {shape_name}: give either a 'term' (a word such as Rare) or numbers, not both")
    if "max_exclusive" in shape.extra:
        value.max_exclusive = bool(r.flag("max_exclusive"))
        if value.max_exclusive and "max" not in numbers:
            r.error("max_exclusive", f"{owner} {shape_name}: 'max_exclusive' needs a 'max'")
    if "type" in shape.extra:
        stat_type = r.text("type", required=True)
        if stat_type and stat_type not in STATISTIC_TYPES:
            r.error("type", f"{owner} {shape_name}: type {stat_type!r} is not one of {', '.join(STATISTIC_TYPES)}")
        value.statistic_type = stat_type
    r.finish(sorted(shape.numbers | {"text"} | ({"unit"} if shape.units else set()) | shape.extra))
    low, high = numbers.get("min"), numbers.get("max")
    if low is not None and high is not None and low > high:
        r.error("min", f"{owner} {shape_name}: min {low} is greater than max {high}")
    lower, upper, estimate = numbers.get("ci_lower"), numbers.get("ci_upper"), numbers.get("estimate")
    if lower is not None and upper is not None and not (lower <= (estimate if estimate is not None else lower) <= upper):
        r.error("ci_lower", f"{owner} {shape_name}: expected ci_lower <= estimate <= ci_upper")
    for key in ("amount", "times_per_day", "daily_total"):
        if key in numbers and numbers[key] <= 0:
            r.error(key, f"{owner} {shape_name}: '{key}' must be positive")
    if shape_name == "frequency":
        for key in ("min", "max"):
            if key in numbers and not 0 <= numbers[key] <= 100:
                r.error(key, f"{owner} frequency: '{key}' must be a percentage between 0 and 100")
        if not numbers and not value.term:
            r.error(None, f"{owner} frequency: give numbers (min/max) or a 'term'")
    if shape_name == "dose" and ("amount" in numbers or "daily_total" in numbers) and unit is None:
        r.error(None, f"{owner} dose: an amount needs a 'unit'")
    return value


def _read_claim(data: Any, source_id: str, file: str, line: int, errors: list[FactsError]) -> Claim | None:
    r = _Reader(data, file, errors, "claim", line)
    claim_id = r.text("id", required=True)
    what = f"claim {claim_id!r}" if claim_id else "claim"
    r.what = what
    if claim_id and not ID_PATTERN.match(claim_id):
        r.error("id", f"{what}: id must be lower-case letters, digits and hyphens")
    kind_name = r.text("kind", required=True)
    kind = KINDS.get(kind_name or "")
    if kind_name and kind is None:
        r.error("kind", f"{what}: unknown kind {kind_name!r} (expected one of: {', '.join(sorted(KINDS))})")
    claim = Claim(source_id=source_id, id=claim_id or "", kind=kind_name or "", subject=r.text("subject", True) or "",
                  predicate="", quote=r.text("quote", True) or "", file=file, line=r.line)
    predicate = r.text("predicate")
    if kind is not None:
        claim.predicate = predicate or kind.predicate
        if predicate and predicate not in kind.predicates:
            r.error("predicate", f"{what}: predicate {predicate!r} does not fit kind {kind_name!r} "
                                 f"(expected one of: {', '.join(sorted(kind.predicates))})")
        if kind.value is None:
            claim.object = r.text("object", required=True)
        else:
            raw = r.get(kind.value)
            if raw is None:
                r.error(None, f"{what}: kind {kind_name!r} needs a '{kind.value}' value")
            else:
                claim.value = _read_value(kind.value, raw, file, errors, what, r.data.line_of(kind.value))
    claim.negated = bool(r.flag("negated"))
    claim.hedge = r.text("hedge")
    claim.occurrence = r.get("occurrence", 1)
    if isinstance(claim.occurrence, bool) or not isinstance(claim.occurrence, int) or claim.occurrence < 1:
        r.error("occurrence", f"{what}: 'occurrence' must be a whole number from 1")
        claim.occurrence = 1
    claim.subject_text = r.text("subject_text")
    claim.object_text = r.text("object_text")
    claim.note = r.text("note")
    claim.serious = r.flag("serious")
    for key in ENTITY_QUALIFIERS:
        value = r.text(key)
        if value:
            claim.entity_qualifiers[key] = value
    for key, (_, allowed) in ENUM_QUALIFIERS.items():
        value = r.text(key)
        if value:
            if value not in allowed:
                r.error(key, f"{what}: {key} {value!r} is not one of {', '.join(allowed)}")
            claim.enum_qualifiers[key] = value
    for key in TEXT_QUALIFIERS:
        value = r.text(key)
        if value:
            claim.text_qualifiers[key] = value
    for key in CLAIM_VALUES:
        raw = r.get(key)
        if raw is not None:
            value = _read_value(key, raw, file, errors, what, r.data.line_of(key))
            if value is not None:
                claim.values[key] = value
    allowed = {"id", "kind", "subject", "object", "predicate", "quote", "negated", "hedge", "occurrence",
               "subject_text", "object_text", "note", "serious", *ENTITY_QUALIFIERS, *ENUM_QUALIFIERS,
               *TEXT_QUALIFIERS, *CLAIM_VALUES}
    if kind is not None and kind.value:
        allowed.add(kind.value)
        allowed.discard("object")
    r.finish(allowed)
    return claim


def load_source_file(path: Path, name: str, errors: list[FactsError]) -> Source | None:
    try:
        data = load_yaml_file(path, name)
    except FactsError as exc:
        errors.append(exc)
        return None
    top = _Reader(data, name, errors, "source file")
    meta = _Reader(top.get("source"), name, errors, "source", top.data.line_of("source"))
    source_id = meta.text("id", required=True) or ""
    if source_id and not SOURCE_ID_PATTERN.match(source_id):
        meta.error("id", "source: id must be three digits, as in the file name (\"001\"); quote it in YAML")
    doc_type = meta.text("document_type", required=True) or ""
    if doc_type and doc_type not in DOCUMENT_TYPES:
        meta.error("document_type", f"source: document_type {doc_type!r} is not one of {', '.join(DOCUMENT_TYPES)}")
    source = Source(
        id=source_id, file_name=meta.text("file", required=True) or "", title=meta.text("title", required=True) or "",
        document_type=doc_type, extracted_by=meta.text("extracted_by", required=True) or "",
        extracted_on=meta.date("extracted_on", required=True) or dt.date(1970, 1, 1),
        sha256=meta.text("sha256"), publisher=meta.text("publisher"), reviewer=meta.text("reviewer"),
        review_status=meta.text("review_status"), file=name, line=meta.line,
    )
    dates = meta.seq("dates")
    for item, line in zip(dates, dates.item_lines):
        d = _Reader(item, name, errors, "source date", line)
        kind = d.text("kind", required=True)
        if kind and kind not in ("created", "modified", "reviewed"):
            d.error("kind", "source date: kind must be created, modified or reviewed")
        date, text = d.date("date", required=True), d.text("text", required=True)
        d.finish({"kind", "date", "text"})
        if kind and date and text:
            source.dates.append(StatedDate(kind, date, text))
    meta.finish({"id", "file", "title", "document_type", "extracted_by", "extracted_on", "sha256", "publisher",
                 "reviewer", "review_status", "dates"})
    claims = top.seq("claims")
    seen: dict[str, int] = {}
    for item, line in zip(claims, claims.item_lines):
        claim = _read_claim(item, source_id, name, line, errors)
        if claim and claim.id:
            if claim.id in seen:
                errors.append(FactsError(name, line, f"claim {claim.id!r}: id already used at line {seen[claim.id]}"))
            else:
                seen[claim.id] = line
                source.claims.append(claim)
    top.finish({"source", "claims"})
    return source


def load_entity_file(path: Path, name: str, errors: list[FactsError]) -> list[Entity]:
    try:
        data = load_yaml_file(path, name)
    except FactsError as exc:
        errors.append(exc)
        return []
    top = _Reader(data, name, errors, "entity file")
    type_name = top.text("type", required=True) or ""
    if type_name and type_name not in ENTITY_TYPES:
        top.error("type", f"entity file: type {type_name!r} is not one of {', '.join(ENTITY_TYPES)}")
    entities = []
    items = top.seq("entities")
    for item, line in zip(items, items.item_lines):
        r = _Reader(item, name, errors, "entity", line)
        entity_id = r.text("id", required=True) or ""
        r.what = f"entity {entity_id!r}"
        if entity_id and not ID_PATTERN.match(entity_id):
            r.error("id", f"entity {entity_id!r}: id must be lower-case letters, digits and hyphens")
        entity = Entity(id=entity_id, type=type_name, label=r.text("label", required=True) or "",
                        note=r.text("note"), reference=r.text("reference"), file=name, line=r.line)
        synonyms = r.seq("synonyms")
        for syn, syn_line in zip(synonyms, synonyms.item_lines):
            if isinstance(syn, str) and syn.strip():
                entity.synonyms.append(syn.strip())
            else:
                errors.append(FactsError(name, syn_line, f"entity {entity_id!r}: synonyms must be text"))
        mappings = r.seq("mappings")
        for m, m_line in zip(mappings, mappings.item_lines):
            mr = _Reader(m, name, errors, f"entity {entity_id!r} mapping", m_line)
            scheme, ident = mr.text("scheme", True), mr.text("id", True)
            match = mr.text("match") or "exact"
            if match not in MATCH_RELATIONS:
                mr.error("match", f"entity {entity_id!r} mapping: match must be one of {', '.join(MATCH_RELATIONS)}")
            mr.finish({"scheme", "id", "match"})
            if scheme and ident:
                entity.mappings.append(MappingSpec(scheme, ident, match, line=m_line))
        if entity.mappings and not entity.reference:
            r.error("mappings", f"entity {entity_id!r}: mappings need 'reference', the entity's name in "
                                "the reference identifiers table")
        r.finish({"id", "label", "synonyms", "note", "reference", "mappings"})
        entities.append(entity)
    top.finish({"type", "entities"})
    return entities


def load_dataset_file(path: Path, name: str, errors: list[FactsError]) -> DatasetInfo:
    info = DatasetInfo(version="0.0.0", title="", description="", license="", file=name)
    try:
        data = load_yaml_file(path, name)
    except FactsError as exc:
        errors.append(exc)
        return info
    r = _Reader(data, name, errors, "dataset")
    info.version = r.text("version", required=True) or info.version
    info.title = r.text("title", required=True) or ""
    info.description = r.text("description", required=True) or ""
    info.license = r.text("license", required=True) or ""
    info.issued = r.date("issued")
    info.modified = r.date("modified")
    info.content_sha256 = r.text("content_sha256")
    if info.content_sha256 and not re.fullmatch(r"[0-9a-f]{64}", info.content_sha256):
        r.error("content_sha256", "dataset: 'content_sha256' must be 64 lower-case hexadecimal digits "
                                  "(written by mrkg release)")
    for key in ("creator", "publisher", "contact", "landing_page"):
        setattr(info, key, r.text(key))
    if info.landing_page and not info.landing_page.startswith("https://w3id.org/mrkg/"):
        r.error("landing_page", "dataset: 'landing_page' must be one of the dataset's own IRIs "
                                "(https://w3id.org/mrkg/...)")
    r.finish({"version", "title", "description", "license", "issued", "modified", "content_sha256", "creator",
              "publisher", "contact", "landing_page"})
    return info


def read_reference(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """The reference identifiers table, keyed by (entity name, scheme) -> {id: evidence}."""
    table: dict[tuple[str, str], dict[str, str]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            ident = (row.get("id") or "").strip()
            if ident:
                table.setdefault((row["entity"].strip(), row["scheme"].strip()), {})[ident] = \
                    row["evidence_where_found"].strip()
    return table


def load_facts(facts_dir: Path, root: Path | None = None) -> tuple[Facts, list[FactsError]]:
    """Read every facts file; returns the facts and the structural errors found."""
    root = root or facts_dir.parent
    errors: list[FactsError] = []

    def rel(p: Path) -> str:
        try:
            return str(p.relative_to(root))
        except ValueError:
            return str(p)

    dataset = load_dataset_file(facts_dir / "dataset.yaml", rel(facts_dir / "dataset.yaml"), errors)
    entities: dict[str, Entity] = {}
    for path in sorted((facts_dir / "entities").glob("*.yaml")):
        for entity in load_entity_file(path, rel(path), errors):
            if entity.id in entities:
                other = entities[entity.id]
                errors.append(FactsError(entity.file, entity.line,
                                         f"entity {entity.id!r} is already defined at {other.file}:{other.line}"))
            elif entity.id:
                entities[entity.id] = entity
    sources: dict[str, Source] = {}
    for path in sorted((facts_dir / "sources").glob("*.yaml")):
        source = load_source_file(path, rel(path), errors)
        if source is None or not source.id:
            continue
        if source.id in sources:
            errors.append(FactsError(source.file, source.line, f"source {source.id!r} is already defined in "
                                                               f"{sources[source.id].file}"))
            continue
        sources[source.id] = source
    for path in sorted(facts_dir.rglob("*.yml")):
        errors.append(FactsError(rel(path), 0, "facts files end in .yaml, not .yml"))
    return Facts(dataset, entities, sources), errors


def check_references(facts: Facts, errors: list[FactsError]) -> None:
    """Every entity a claim names exists and has a type the claim's kind allows."""
    for claim in facts.claims():
        kind = KINDS.get(claim.kind)
        if kind is None:
            continue

        def need(entity_id: str, allowed: frozenset[str], role: str) -> None:
            entity = facts.entities.get(entity_id)
            if entity is None:
                errors.append(FactsError(claim.file, claim.line, f"claim {claim.id!r}: {role} {entity_id!r} is not "
                                                                  "an entity in facts/entities/"))
            elif entity.type not in allowed:
                errors.append(FactsError(claim.file, claim.line,
                                         f"claim {claim.id!r}: {role} {entity_id!r} is a {entity.type}, but a "
                                         f"{claim.kind} claim takes {' or '.join(sorted(allowed))}"))

        need(claim.subject, kind.subjects, "subject")
        if claim.object is not None:
            need(claim.object, kind.objects, "object")
        for key, value in claim.entity_qualifiers.items():
            need(value, ENTITY_QUALIFIERS[key][1], key)


def check_quotes(facts: Facts, texts: dict[str, SourceText], errors: list[FactsError]) -> None:
    """Every quote stands in its source text, and every word taken from it stands in the quote."""
    for source in facts.sources.values():
        text = texts.get(source.file_name)
        if text is None:
            errors.append(FactsError(source.file, source.line, f"source {source.id}: no source text named "
                                                               f"{source.file_name!r} in the sources folder"))
            continue
        if source.sha256 and source.sha256 != text.sha256:
            errors.append(FactsError(source.file, source.line, f"source {source.id}: {source.file_name} has "
                                                               f"SHA-256 {text.sha256}, not the recorded {source.sha256}"))
        for fragment, what in ((source.title, "title"), *((d.text, "date text") for d in source.dates),
                               (source.publisher, "publisher"), (source.reviewer, "reviewer"),
                               (source.review_status, "review status")):
            if fragment and not text.occurrences(fragment):
                errors.append(FactsError(source.file, source.line,
                                         f"source {source.id}: {what} {fragment!r} is not in {source.file_name}"))
        for claim in source.claims:
            if not claim.quote:
                continue
            hits = text.occurrences(claim.quote)
            if not hits:
                errors.append(FactsError(claim.file, claim.line, f"claim {claim.full_id}: quote not found in "
                                                                 f"{source.file_name}: {claim.quote!r}"))
                continue
            if claim.occurrence > len(hits):
                errors.append(FactsError(claim.file, claim.line, f"claim {claim.full_id}: occurrence "
                                                                 f"{claim.occurrence} asked, the quote stands "
                                                                 f"{len(hits)} time(s)"))
            parts = [(claim.hedge, "hedge"), (claim.subject_text, "subject_text"), (claim.object_text, "object_text"),
                     *((v, k) for k, v in claim.text_qualifiers.items())]
            values = list(claim.values.values()) + ([claim.value] if claim.value else [])
            parts += [(v.text, f"{v.shape} text") for v in values]
            parts += [(v.term, f"{v.shape} term") for v in values if v.term]
            for fragment, what in parts:
                if fragment and not text.contains(fragment, claim.quote):
                    errors.append(FactsError(claim.file, claim.line, f"claim {claim.full_id}: {what} {fragment!r} "
                                                                     "is not part of its quote"))


def check_mappings(facts: Facts, reference: dict[tuple[str, str], dict[str, str]], errors: list[FactsError]) -> None:
    """Every mapping is a verified row of the reference table; its evidence is copied from there."""
    for entity in facts.entities.values():
        for mapping in entity.mappings:
            ids = reference.get((entity.reference or "", mapping.scheme), {})
            if mapping.id not in ids:
                errors.append(FactsError(entity.file, mapping.line,
                                         f"entity {entity.id!r}: mapping {mapping.scheme} {mapping.id} is not a "
                                         f"verified row for {entity.reference!r} in the reference identifiers table"))
            else:
                mapping.evidence = ids[mapping.id]


def check_facts(facts: Facts, texts: dict[str, SourceText],
                reference: dict[tuple[str, str], dict[str, str]] | None, errors: list[FactsError]) -> None:
    check_references(facts, errors)
    check_quotes(facts, texts, errors)
    if reference is not None:
        check_mappings(facts, reference, errors)
