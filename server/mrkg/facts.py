"""Load the hand-written facts (dataset, entities, one file per source) into checked records.

Every problem is reported as ``file:line: message``; all problems of a run are collected
so a curator sees them at once (FactsErrors).
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Iterator

from .model import (CLAIM_VALUES, DOCUMENT_TYPES, ENTITY_LINKS, ENTITY_QUALIFIERS, ENTITY_TYPES, ENUM_QUALIFIERS, KINDS,
                    MATCH_RELATIONS, STATISTIC_TYPES, TEXT_QUALIFIERS, VALUE_SHAPES)
from .sources import SourceText
from .suggest import did_you_mean, entity_hint, with_article
from .yamlfile import FactsError, Map, Seq, load_yaml_file

from .model import CUE_FIELD_NAMES, DUE_TO_TYPES, USE_KINDS, VALUE_BOUNDS  # issue 15: the meaning fields

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
    bound: str | None = None  # upper | lower: the numbers are a limit ("up to", "at least"), not the value
    approximate: bool = False  # "about", "around", "approximately", "roughly"


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
    cues: dict[str, str] = field(default_factory=dict)  # cue field -> the source's words (hedge included)
    cue_types: dict[str, list[str]] = field(default_factory=dict)  # cue field -> type concept IRIs (check_meaning)
    comparator_unstated: bool = False
    due_to: list[str] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)  # field -> line of its key
    file: str = ""
    line: int = 0
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)  # field -> (line, column) of its value

    @property
    def full_id(self) -> str:
        return f"{self.source_id}-{self.id}"

    def at(self, key: str) -> tuple[int, int]:
        """(line, column) of the value of field ``key`` (the claim's own line if it has none)."""
        return self.positions.get(key, (self.line, 0))

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def negation_scope(self) -> str | None:
        """statement | manner | comparison | degree for a negated claim (statement unless said), else None."""
        if not self.negated:
            return None
        return self.enum_qualifiers.get("negation_scope", "statement")

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)

    def entity_ids(self) -> list[str]:
        """Every entity the claim names: subject, object, entity qualifiers and due_to."""
        return [self.subject, *([self.object] if self.object else []), *self.entity_qualifiers.values(), *self.due_to]


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
    claim_lines: list[int] = field(default_factory=list)  # where each item of claims: starts, kept or not


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
    broader: list[str] = field(default_factory=list)  # skos:broader: entity ids of more general concepts
    part_of: list[str] = field(default_factory=list)  # mrkg:partOf: entity ids of the wholes (anatomy)
    link_lines: dict[tuple[str, str], int] = field(default_factory=dict)  # (field, id) -> line, for errors
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
    decisions: Any = None  # curators' conflict decisions (mrkg.conflicts.Decisions), read by build.checked_facts

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
        self.missing: dict[str, str] = {}  # required field -> its error, reported by finish() (see there)

    @property
    def line(self) -> int:
        return self.data.line

    def positions(self) -> dict[str, tuple[int, int]]:
        return {key: self.data.value_at(key) for key in self.data}

    def error(self, key: str | None, message: str, at: str = "value") -> None:
        """An error about field ``key``, at its value (or at the key itself: ``at="key"``)."""
        if key is None:
            line, column = self.data.line, 0
        else:
            line, column = self.data.value_at(key) if at == "value" else self.data.key_at(key)
        self.errors.append(FactsError(self.file, line, message, column))

    def require(self, key: str) -> None:
        self.missing[key] = f"{self.what}: missing required field '{key}'"

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return self.data.get(key, default)

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.get(key)
        if value is None:
            if required:
                self.require(key)
            return None
        raw = self.data.raw(key)
        if key == "id" and raw is not None and not isinstance(value, bool) and isinstance(value, (int, float)) \
                and raw != str(value):
            self.error(key, f"{self.what}: id {raw} is read by YAML as the number {value}; write it in quotes: "
                            f"id: \"{raw}\"")
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
                self.require(key)
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
        """Report the fields not read, each with the known field it is likely a misspelling of; a missing required
        field that a misspelled one stands for is that one problem, reported once (at the misspelling)."""
        allowed = sorted(set(allowed_hint if allowed_hint is not None else self.seen) - set(self.data))
        for key in self.data:
            if key in self.seen:
                continue
            missing = did_you_mean(key, [k for k in allowed if k in self.missing])
            hint = missing or did_you_mean(key, allowed)
            if missing:
                self.missing.pop(hint.split("'")[1], None)
            if hint:
                self.error(key, f"{self.what}: unknown field '{key}': {hint}", at="key")
            else:
                self.error(key, f"{self.what}: unknown field '{key}' (expected one of: {', '.join(allowed)})",
                           at="key")
        for message in self.missing.values():
            self.error(None, message)
        self.missing = {}


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
    bound = r.text("bound")
    if bound is not None:
        if bound not in VALUE_BOUNDS:
            r.error("bound", f"{owner} {shape_name}: bound {bound!r} is not one of {', '.join(VALUE_BOUNDS)} "
                             "(upper: \"up to\", \"no longer than\", \"no more than\"; lower: \"at least\")")
        elif not numbers:
            r.error("bound", f"{owner} {shape_name}: 'bound' needs the numbers it bounds")
        else:
            value.bound = bound
    value.approximate = bool(r.flag("approximate"))
    r.finish(sorted(shape.numbers | {"text", "bound", "approximate"} | ({"unit"} if shape.units else set())
                    | shape.extra))
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
        hint = did_you_mean(kind_name, KINDS)
        r.error("kind", f"{what}: unknown kind {kind_name!r}: {hint}" if hint else
                f"{what}: unknown kind {kind_name!r} (expected one of: {', '.join(sorted(KINDS))})")
        # what depends on the kind is not checked against a kind that is not there: one problem, one message
        r.seen.update({"object", "predicate", *(k.value for k in KINDS.values() if k.value)})
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
    for key in CUE_FIELD_NAMES:
        words = r.text(key)
        if words:
            claim.cues[key] = words
    claim.hedge = claim.cues.get("hedge")
    claim.comparator_unstated = bool(r.flag("comparator_unstated"))
    due_to = r.get("due_to")
    if due_to is not None:
        items = due_to if isinstance(due_to, Seq) else [due_to]
        for item in items:
            if isinstance(item, str) and item.strip():
                claim.due_to.append(item.strip())
            else:
                r.error("due_to", f"{what}: 'due_to' is a list of entity ids (the underlying cause or disease of "
                                  "the object), e.g. due_to: [brain-injury]")
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
                hint = did_you_mean(value, allowed)
                r.error(key, f"{what}: {key} {value!r} is not one of {', '.join(allowed)}" + (f"; {hint}" if hint else ""))
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
    if claim.negated:
        claim.enum_qualifiers.setdefault("negation_scope", "statement")
    elif "negation_scope" in claim.enum_qualifiers:
        r.error("negation_scope", f"{what}: 'negation_scope' is for a negated claim; add 'negated: true' or drop it")
    scope = claim.enum_qualifiers.get("negation_scope")
    if scope == "manner" and "manner" not in claim.text_qualifiers:
        r.error("negation_scope", f"{what}: negation_scope manner needs 'manner', the words negated "
                                  "(e.g. manner: directly)")
    if scope == "comparison" and "comparison" not in claim.enum_qualifiers:
        r.error("negation_scope", f"{what}: negation_scope comparison needs 'comparison' (and 'comparator' or "
                                  "'comparator_unstated: true')")
    if scope == "degree" and "magnitude" not in claim.text_qualifiers:
        r.error("negation_scope", f"{what}: negation_scope degree needs 'magnitude', the words of the degree "
                                  "negated (e.g. magnitude: very effective)")
    if "use_status" in claim.enum_qualifiers and kind_name not in USE_KINDS:
        r.error("use_status", f"{what}: 'use_status' is for use claims ({', '.join(sorted(USE_KINDS))}), "
                              f"not {kind_name}")
    if claim.comparator_unstated and "comparator" in claim.entity_qualifiers:
        r.error("comparator_unstated", f"{what}: 'comparator_unstated: true' says the source names no comparator, "
                                       "but 'comparator' is given; keep one of them")
    if claim.comparator_unstated and "comparison" not in claim.enum_qualifiers:
        r.error("comparator_unstated", f"{what}: 'comparator_unstated' goes with a 'comparison'")
    if ("comparison" in claim.enum_qualifiers and "comparator" not in claim.entity_qualifiers
            and not claim.comparator_unstated):
        r.error("comparison", f"{what}: a comparison needs 'comparator' (the entity compared with), or "
                              "'comparator_unstated: true' if the source names none")
    claim.lines = dict(r.data.key_lines)
    allowed = {"id", "kind", "subject", "object", "predicate", "quote", "negated", "occurrence",
               "subject_text", "object_text", "note", "serious", "comparator_unstated", "due_to", *CUE_FIELD_NAMES,
               *ENTITY_QUALIFIERS, *ENUM_QUALIFIERS, *TEXT_QUALIFIERS, *CLAIM_VALUES}
    if kind is not None and kind.value:
        allowed.add(kind.value)
        allowed.discard("object")
    r.finish(allowed)
    claim.positions = r.positions()
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
        hint = did_you_mean(doc_type, DOCUMENT_TYPES)
        meta.error("document_type", f"source: document_type {doc_type!r} is not one of {', '.join(DOCUMENT_TYPES)}"
                   + (f"; {hint}" if hint else ""))
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
    source.claim_lines = list(claims.item_lines)
    seen: dict[str, int] = {}
    for item, line in zip(claims, claims.item_lines):
        claim = _read_claim(item, source_id, name, line, errors)
        if claim and claim.id:
            if claim.id in seen:
                errors.append(FactsError.at(name, claim.at("id"), f"claim {claim.id!r}: id already used at line "
                                                                f"{seen[claim.id]}"))
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
        hint = did_you_mean(type_name, ENTITY_TYPES)
        top.error("type", f"entity file: type {type_name!r} is not one of {', '.join(ENTITY_TYPES)}" if not hint else
                  f"entity file: unknown type {type_name!r}: {hint}")
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
        for key in ENTITY_LINKS:
            links = r.seq(key)
            for target, target_line in zip(links, links.item_lines):
                if not isinstance(target, str) or not ID_PATTERN.match(target.strip()):
                    errors.append(FactsError(name, target_line, f"entity {entity_id!r}: {key} must list entity "
                                                                "ids (lower-case letters, digits and hyphens), "
                                                                f"not {target!r}"))
                    continue
                target = target.strip()
                if target in getattr(entity, key):
                    errors.append(FactsError(name, target_line, f"entity {entity_id!r}: {key} lists {target!r} twice"))
                    continue
                getattr(entity, key).append(target)
                entity.link_lines[(key, target)] = target_line
        r.finish({"id", "label", "synonyms", "note", "reference", "mappings", *ENTITY_LINKS})
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


def check_references(facts: Facts, errors: list[FactsError], entity_links: bool = True) -> None:
    """Every entity a claim names exists and has a type the claim's kind allows; entity links are sound (unless
    ``entity_links`` is false: the caller has the findings of check_entity_links on these entities already)."""
    if entity_links:
        check_entity_links(facts, errors)
    for claim in facts.claims():
        kind = KINDS.get(claim.kind)
        if kind is None:
            continue

        def need(entity_id: str, allowed: frozenset[str], role: str) -> None:
            entity = facts.entities.get(entity_id)
            if entity is None:
                hint = entity_hint(entity_id, facts.entities, allowed, role)
                errors.append(FactsError.at(claim.file, claim.at(role), f"claim {claim.id!r}: {role} {entity_id!r} is "
                                                                      f"not an entity in facts/entities/; {hint}"))
            elif entity.type not in allowed:
                errors.append(FactsError.at(claim.file, claim.at(role),
                                         f"claim {claim.id!r}: {role} {entity_id!r} is {with_article(entity.type)}, "
                                         f"but {with_article(claim.kind)} claim takes {' or '.join(sorted(allowed))}"))

        need(claim.subject, kind.subjects, "subject")
        if claim.object is not None:
            need(claim.object, kind.objects, "object")
        for key, value in claim.entity_qualifiers.items():
            need(value, ENTITY_QUALIFIERS[key][1], key)
        for value in claim.due_to:
            need(value, DUE_TO_TYPES, "due_to")


def check_entity_links(facts: Facts, errors: list[FactsError]) -> None:
    """broader and part_of name existing entities of a sensible type, never the entity itself, and form no cycle."""
    for entity in facts.entities.values():
        for key, (_, allowed_of) in ENTITY_LINKS.items():
            for target_id in getattr(entity, key):
                line = entity.link_lines.get((key, target_id), entity.line)
                target = facts.entities.get(target_id)
                if target is None:
                    close = difflib.get_close_matches(target_id, facts.entities, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    errors.append(FactsError(entity.file, line, f"entity {entity.id!r}: {key} {target_id!r} is not an "
                                                                f"entity in facts/entities/{hint}"))
                    continue
                if target_id == entity.id:
                    errors.append(FactsError(entity.file, line, f"entity {entity.id!r}: {key} names the entity itself"))
                    continue
                allowed = allowed_of(entity.type)
                if not allowed:
                    errors.append(FactsError(entity.file, line, f"entity {entity.id!r}: {key} is for anatomical sites "
                                                                f"only; a {entity.type} has none"))
                elif target.type not in allowed:
                    errors.append(FactsError(entity.file, line,
                                             f"entity {entity.id!r}: {key} {target_id!r} is a {target.type}, but a "
                                             f"{entity.type} can only have {key} {' or '.join(sorted(allowed))}"))
    for key in ENTITY_LINKS:
        for cycle in _cycles({e.id: [t for t in getattr(e, key) if t in facts.entities and t != e.id]
                              for e in facts.entities.values()}):
            first = facts.entities[cycle[0]]
            line = first.link_lines.get((key, cycle[1]), first.line)
            errors.append(FactsError(first.file, line, f"entity {first.id!r}: {key} forms a cycle: "
                                                       f"{' -> '.join(cycle)}; a concept cannot be "
                                                       f"{'broader' if key == 'broader' else 'a part'} of itself"))


def _cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """Cycles of a directed graph, at least one in every part of it that has any, each once, as the path from its
    smallest id back to it (an iterative depth-first search: one cycle per back edge)."""
    found: list[list[str]] = []
    seen_cycles: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    for root in sorted(edges):
        if state.get(root):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(edges.get(root, []))))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
            elif state.get(child) == 1:
                loop = path[path.index(child):]
                if frozenset(loop) not in seen_cycles:
                    seen_cycles.add(frozenset(loop))
                    start = loop.index(min(loop))
                    loop = loop[start:] + loop[:start]
                    found.append(loop + [loop[0]])
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(edges.get(child, [])))))
    return found


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
                errors.append(FactsError.at(claim.file, claim.at("quote"), f"claim {claim.full_id}: quote not found in "
                                                                 f"{source.file_name}: {claim.quote!r}"))
                continue
            if claim.occurrence > len(hits):
                errors.append(FactsError.at(claim.file, claim.at("occurrence"), f"claim {claim.full_id}: occurrence "
                                                                 f"{claim.occurrence} asked, the quote stands "
                                                                 f"{len(hits)} time(s)"))
            parts = [(claim.hedge, "hedge", "hedge"), (claim.subject_text, "subject_text", "subject_text"),
                     (claim.object_text, "object_text", "object_text"),
                     *((v, k, k) for k, v in claim.text_qualifiers.items())]
            values = [(k, v) for k, v in claim.values.items()]
            if claim.value:
                values.append((KINDS[claim.kind].value if claim.kind in KINDS else claim.value.shape, claim.value))
            parts += [(v.text, f"{v.shape} text", key) for key, v in values]
            parts += [(v.term, f"{v.shape} term", key) for key, v in values if v.term]
            for fragment, what, key in parts:
                if fragment and not text.contains(fragment, claim.quote):
                    errors.append(FactsError.at(claim.file, claim.at(key), f"claim {claim.full_id}: {what} "
                                                                         f"{fragment!r} is not part of its quote"))


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


# Words in a note for which a field exists: (pattern, the field(s) that, set on the claim, make the note fine, advice)
_NUMBER = r"(?:\d|one|two|three|four|five|six|seven|eight|nine|ten|a few|several|half)"
NOTE_WORDS: tuple[tuple[re.Pattern, tuple[str, ...], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), fields, advice) for pattern, fields, advice in (
        (r"\b(primarily|mainly|mostly|predominantly|chiefly)\b", ("primacy",), "primacy: {w}"),
        (r"\bmost (frequently|often|commonly)\b( reported)?", ("frequency_term",), "frequency_term: {m}"),
        (r"\b(mild|moderate|severe|life-threatening)\b", ("severity",), "severity: {w}"),
        (r"\b(up to|no (longer|more) than|at most)\s+" + _NUMBER, ("bound",),
         "bound: upper on the value (\"{m}\" is a limit, not the value)"),
        (r"\b(at least)\s+" + _NUMBER, ("bound",), "bound: lower on the value (\"{m}\" is a limit)"),
        (r"\b(approximately|roughly|about|around)\s+" + _NUMBER, ("approximate",), "approximate: true on the value"),
        (r"\b(investigational|off-label|approved)\b", ("use_status",), "use_status: {w}"),
    ))


def _has_field(claim: Claim, name: str) -> bool:
    values = list(claim.values.values()) + ([claim.value] if claim.value else [])
    if name == "bound":
        return any(v.bound for v in values)
    if name == "approximate":
        return any(v.approximate for v in values)
    if name == "comparator_unstated":
        return claim.comparator_unstated
    return name in claim.cues or name in claim.entity_qualifiers or name in claim.enum_qualifiers \
        or name in claim.text_qualifiers


_COMPARISON_CUE = re.compile(r"\b(?:compared (?:with|to)|versus|vs\.?|than)\s+", re.IGNORECASE)


class _ComparatorNames:
    """``re.compile(CUE (?:\\w+\\s+){0,2}?(name|name...)\\b, IGNORECASE).search`` over every comparable name (longest
    first), without one regex of all the names: that one grows with the entities (tens of thousands at 10M
    triples) and each search with it. A note without a comparison cue cannot match; in one with a cue, only the
    names found at the starts of its words can, so the same regex is made of those few (and kept per set)."""

    def __init__(self, comparable: dict[str, str]) -> None:
        self.names = comparable  # lower-cased name -> entity id
        self.lengths = sorted({len(n) for n in comparable}, reverse=True)
        self._patterns: dict[tuple[str, ...], re.Pattern] = {}

    def search(self, note: str) -> re.Match | None:
        if _COMPARISON_CUE.search(note) is None:
            return None
        lowered = note.lower()
        if len(lowered) != len(note):  # a letter whose lower case is longer: positions shift, so every name
            return self._pattern(tuple(sorted(self.names, key=lambda n: (-len(n), n)))).search(note)
        starts = [0] + [i + 1 for i, c in enumerate(note) if c.isspace()]
        found = {lowered[i:i + n] for i in starts for n in self.lengths if lowered[i:i + n] in self.names}
        if not found:
            return None
        return self._pattern(tuple(sorted(found, key=lambda n: (-len(n), n)))).search(note)

    def _pattern(self, key: tuple[str, ...]) -> re.Pattern:
        pattern = self._patterns.get(key)
        if pattern is None:
            names = "|".join(re.escape(n) for n in key)
            pattern = self._patterns[key] = re.compile(
                r"\b(?:compared (?:with|to)|versus|vs\.?|than)\s+(?:\w+\s+){0,2}?(" + names + r")\b", re.IGNORECASE)
        return pattern


def check_meaning(facts: Facts, lexicon, errors: list[FactsError]) -> None:
    """Each cue field holds an entry of its lexicon (ontology/lexicon.ttl); lints on notes and object texts.
    Fills ``claim.cue_types`` with the cue type concepts found."""
    comparable = {}
    for entity in facts.entities.values():
        if entity.type in ENTITY_QUALIFIERS["comparator"][1]:
            for name in (entity.label, *entity.synonyms):
                comparable.setdefault(name.lower(), entity.id)
    named = _ComparatorNames(comparable)
    for claim in facts.claims():
        what = f"claim {claim.full_id}"
        hit = named.search(claim.note) if comparable and claim.note else None
        if hit and comparable[hit.group(1).lower()] in (claim.subject, claim.object):
            hit = None  # the claim's own subject or object ("consider X rather than cyclobenzaprine")
        if hit and not _has_field(claim, "comparator") and not claim.comparator_unstated:
            errors.append(FactsError(claim.file, claim.line_of("note"),
                                     f"{what}: the note names a comparator (\"{hit.group(0)}\"); set comparator: "
                                     f"{comparable[hit.group(1).lower()]} (with comparison), or comparator_unstated: "
                                     "true if the quote names none (the note may still explain the reading)"))
        for key, words in claim.cues.items():
            problem = lexicon.check(key, words)
            if problem:
                errors.append(FactsError(claim.file, claim.line_of(key), f"{what}: {problem}"))
            else:
                claim.cue_types[key] = [str(t) for t in lexicon.cue_types(key, words)]
        magnitude = claim.text_qualifiers.get("magnitude")
        if magnitude and "primacy" not in claim.cues and lexicon.matches("primacy", magnitude):
            errors.append(FactsError(claim.file, claim.line_of("magnitude"),
                                     f"{what}: magnitude {magnitude!r} says the statement holds mainly; did you mean "
                                     f"primacy: {lexicon.matches('primacy', magnitude)[0].words}?"))
        if claim.object_text and "severity" not in claim.cues:
            found = lexicon.matches("severity", claim.object_text)
            if found:
                errors.append(FactsError(claim.file, claim.line_of("object_text"),
                                         f"{what}: object_text {claim.object_text!r} carries the severity word "
                                         f"\"{found[0].words}\" but the claim has no severity; add severity: "
                                         f"{found[0].words} (the object stays the generic entity)"))
        if claim.note:
            has_value = claim.value is not None or bool(claim.values)
            for pattern, fields, advice in NOTE_WORDS:
                if ("use_status" in fields and claim.kind not in USE_KINDS) or \
                        (fields[0] in ("bound", "approximate") and not has_value):
                    continue  # a field the claim cannot take: the note may say it
                hit = pattern.search(claim.note)
                if hit and not any(_has_field(claim, f) for f in fields):
                    word = hit.group(0).strip()
                    errors.append(FactsError(claim.file, claim.line_of("note"),
                                             f"{what}: the note says \"{word}\", which a field exists for; set "
                                             f"{advice.format(w=hit.group(1).lower(), m=word.lower())} "
                                             "(the note may still explain the reading)"))


def check_cue_quotes(facts: Facts, texts: dict[str, SourceText], errors: list[FactsError]) -> None:
    """The words of every cue field stand in the claim's quote (check_quotes does hedge and the text qualifiers)."""
    for source in facts.sources.values():
        text = texts.get(source.file_name)
        if text is None:
            continue
        for claim in source.claims:
            if not claim.quote or not text.occurrences(claim.quote):
                continue
            for key, words in claim.cues.items():
                if key != "hedge" and key not in TEXT_QUALIFIERS and not text.contains(words, claim.quote):
                    errors.append(FactsError(claim.file, claim.line_of(key), f"claim {claim.full_id}: {key} {words!r} "
                                                                             "is not part of its quote"))


def check_facts(facts: Facts, texts: dict[str, SourceText],
                reference: dict[tuple[str, str], dict[str, str]] | None, errors: list[FactsError],
                lexicon=None) -> None:
    """References, quotes (cue words included), mappings; and the cue lexicons and lints (check_meaning) when
    ``lexicon`` is given (mrkg.build.checked_facts gives the lexicon of the build's ontology)."""
    check_references(facts, errors)
    check_quotes(facts, texts, errors)
    check_cue_quotes(facts, texts, errors)
    if lexicon is not None:
        check_meaning(facts, lexicon, errors)
    if reference is not None:
        check_mappings(facts, reference, errors)
