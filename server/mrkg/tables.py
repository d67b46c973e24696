"""Flat tables of a build for people who do not use RDF: claims (TSV, CSV, Parquet), entities, conflicts, the
mappings as SSSOM, KGX nodes and edges aligned to Biolink, and a Frictionless data package describing them.

Every table is made from the checked facts (the same records the RDF is made from), byte for byte the same for the
same facts. The claim columns are declared once (``claim_columns``): the qualifiers and values come from the
model's own lists (model.ENTITY_QUALIFIERS, ENUM_QUALIFIERS, TEXT_QUALIFIERS, CLAIM_VALUES, VALUE_SHAPES) and the
fields of the Value record, so a qualifier added there becomes a column without a change here; a new attribute of
the Claim record needs one line in ``CLAIM_FIELDS`` (tests/test_tables.py fails until it has one).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from .conflicts import KINDS as CONFLICT_KINDS, Conflict
from .lexicon import CUE_FIELDS
from .facts import Claim, Entity, Facts, Value
from .model import (CLAIM_VALUES, ENTITY_QUALIFIERS, ENTITY_TYPES, ENUM_QUALIFIERS, KINDS, MATCH_RELATIONS,
                    TEXT_QUALIFIERS, VALUE_SHAPES)
from .namespaces import BASE, CLAIM, CONFLICT, DATASET, ENT, MRKG, SRC
from .rdf import canonical_decimal, compact_id, derived_daily_total
from .sources import SourceText

TSV = "text/tab-separated-values"
CSV = "text/csv"
PARQUET = "application/vnd.apache.parquet"
LIST_SEPARATOR = "|"  # several values in one cell (synonyms, claim ids): joined by this


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # string | boolean | integer | number (Frictionless / Table Schema types)
    description: str
    get: Callable[["Row"], Any]


@dataclass
class Row:
    """What a claim's cells are read from: the claim and what the build knows around it."""

    claim: Claim
    facts: Facts
    start: int
    end: int
    exact: str


def _label(facts: Facts, entity_id: str | None) -> str | None:
    if entity_id is None:
        return None
    entity = facts.entities.get(entity_id)
    return entity.label if entity else None


# The attributes of facts.Claim, each either a column (name, type, description, getter) or left out with the
# reason. Qualifier dicts and value slots are expanded from the model below.
CLAIM_FIELDS: dict[str, tuple[str, str, str, Callable[[Row], Any]] | str] = {
    "source_id": ("source_id", "string", "the source document (three digits); its IRI is src:<id>",
                  lambda r: r.claim.source_id),
    "id": "part of claim_id",
    "kind": ("kind", "string", "claim kind (facts/README.md: Kinds)", lambda r: r.claim.kind),
    "subject": ("subject", "string", "subject entity id (entities.tsv)", lambda r: r.claim.subject),
    "predicate": ("predicate", "string", "ontology predicate (local name under mrkg:)", lambda r: r.claim.predicate),
    "quote": ("quote", "string", "the verbatim words of the source, as they stand in its text",
              lambda r: r.exact),
    "object": ("object", "string", "object entity id, for kinds whose object is an entity", lambda r: r.claim.object),
    "value": "expanded into the value_* columns",
    "negated": ("negated", "boolean", "true: the source says the statement does not hold",
                lambda r: r.claim.negated),
    "hedge": ("hedge_cue", "string", "the words that hedge the claim (certainty Hedged)", lambda r: r.claim.hedge),
    "occurrence": ("occurrence", "integer", "which occurrence of the quote in the text is meant",
                   lambda r: r.claim.occurrence),
    "subject_text": ("subject_text", "string", "the source's own word for the subject, where it differs",
                     lambda r: r.claim.subject_text),
    "object_text": ("object_text", "string", "the source's own word for the object, where it differs",
                    lambda r: r.claim.object_text),
    "entity_qualifiers": "expanded: one column per model.ENTITY_QUALIFIERS key (+ _label)",
    "enum_qualifiers": "expanded: one column per model.ENUM_QUALIFIERS key",
    "text_qualifiers": "expanded: one column per model.TEXT_QUALIFIERS key",
    "serious": ("serious", "boolean", "the source calls the effect serious (empty: not said)",
                lambda r: r.claim.serious),
    "values": "expanded: columns per model.CLAIM_VALUES slot",
    "note": ("curator_note", "string", "a curator's note on the reading (never a fact of its own)",
             lambda r: r.claim.note),
    "file": "where the claim is written (facts/), not data",
    "line": "where the claim is written (facts/), not data",
    "lines": "where each field is written (facts/), not data",
    "positions": "where each field is written (facts/), not data",
    "cues": "expanded: <field>_cue per cue field (lexicon.CUE_FIELDS)",
    "cue_types": "expanded: <field>_type per cue field with a type (lexicon.CUE_FIELDS)",
    "comparator_unstated": ("comparator_unstated", "boolean", "true: the claim compares, and the source names no "
                            "comparator", lambda r: r.claim.comparator_unstated),
    "due_to": ("due_to", "string", "the underlying cause or disease of the object (entity ids, separated by |)",
               lambda r: list(r.claim.due_to)),
}
# Attributes of facts.Value that are not a column of their own (the others each become <slot>_<attribute>).
VALUE_SKIPPED = {"shape": "the slot's column prefix", "text": "<slot>_text", "numbers": "one column per number",
                 "line": "where it is written"}
# Value attributes that only some shapes have (model.ValueShape); any other attribute is a column of every slot.
VALUE_ATTRIBUTE_NEEDS = {
    "unit": lambda shape: shape.units is not None,
    "term": lambda shape: "term" in shape.extra,
    "max_exclusive": lambda shape: "max_exclusive" in shape.extra,
    "statistic_type": lambda shape: "type" in shape.extra,
}
VALUE_SLOTS = ("value", *CLAIM_VALUES)  # the claim's object value, then the values that qualify a claim


def _value_of(row: Row, slot: str) -> Value | None:
    return row.claim.value if slot == "value" else row.claim.values.get(slot)


def _slot_numbers(slot: str) -> list[str]:
    if slot == "value":
        shapes = {kind.value for kind in KINDS.values() if kind.value}
    else:
        shapes = {slot}
    names = set()
    for shape in shapes:
        names |= VALUE_SHAPES[shape].numbers
    return sorted(names)


def _field_type(annotation: Any) -> str:
    text = str(annotation)
    if "bool" in text:
        return "boolean"
    if text.startswith("int") or text.startswith("int "):
        return "integer"
    return "string"


def claim_columns() -> list[Column]:
    """Every column of claims.tsv / .csv / .parquet, in order."""
    cols = [
        Column("claim_id", "string", "the claim (claim:<claim_id> is its IRI)", lambda r: r.claim.full_id),
        Column("claim_iri", "string", "the claim's IRI", lambda r: str(CLAIM[r.claim.full_id])),
    ]
    spec = {name: spec for name, spec in CLAIM_FIELDS.items() if isinstance(spec, tuple)}

    def field_column(attr: str) -> Column:
        name, type_, description, get = spec.pop(attr)
        return Column(name, type_, description, get)

    cols.append(field_column("source_id"))
    cols.append(Column("source_title", "string", "the source's title",
                       lambda r: r.facts.sources[r.claim.source_id].title))
    cols.append(field_column("kind"))
    cols.append(Column("claim_class", "string", "the claim's class (local name under mrkg:)",
                       lambda r: KINDS[r.claim.kind].claim_class))
    cols.append(field_column("subject"))
    cols.append(Column("subject_label", "string", "the subject's label", lambda r: _label(r.facts, r.claim.subject)))
    cols.append(field_column("subject_text"))
    cols.append(field_column("predicate"))
    cols.append(field_column("object"))
    cols.append(Column("object_label", "string", "the object entity's label",
                       lambda r: _label(r.facts, r.claim.object)))
    cols.append(field_column("object_text"))
    cols.append(Column("polarity", "string", "Affirmed or Negated",
                       lambda r: "Negated" if r.claim.negated else "Affirmed"))
    cols.append(field_column("negated"))
    cols.append(Column("certainty", "string", "Stated or Hedged", lambda r: "Hedged" if r.claim.hedge else "Stated"))
    cols.append(field_column("hedge"))
    for key, (noun, type_property) in CUE_FIELDS.items():  # the cue fields and their lexicon types (ontology/lexicon.ttl)
        if key != "hedge" and key not in TEXT_QUALIFIERS:
            cols.append(Column(f"{key}_cue", "string", f"{noun}: the source's words",
                               lambda r, k=key: r.claim.cues.get(k)))
        if type_property:
            cols.append(Column(f"{key}_type", "string", f"the lexicon type(s) of the {key.replace('_', ' ')} cue "
                               f"(mrkg:{type_property}; local names, separated by |)",
                               lambda r, k=key: [t.rsplit("/", 1)[-1] for t in r.claim.cue_types.get(k, ())]))
    for key in ENTITY_QUALIFIERS:
        cols.append(Column(key, "string", f"qualifier {key}: an entity id",
                           lambda r, k=key: r.claim.entity_qualifiers.get(k)))
        cols.append(Column(f"{key}_label", "string", f"label of the {key} entity",
                           lambda r, k=key: _label(r.facts, r.claim.entity_qualifiers.get(k))))
    for key, (_, choices) in ENUM_QUALIFIERS.items():
        cols.append(Column(key, "string", f"qualifier {key}: one of {', '.join(choices)}",
                           lambda r, k=key: r.claim.enum_qualifiers.get(k)))
    for key in TEXT_QUALIFIERS:
        cols.append(Column(key, "string", f"qualifier {key}: the source's words",
                           lambda r, k=key: r.claim.text_qualifiers.get(k)))
    cols.append(field_column("comparator_unstated"))
    cols.append(field_column("due_to"))
    cols.append(field_column("serious"))
    value_attrs = [f for f in dataclasses.fields(Value) if f.name not in VALUE_SKIPPED]

    def slot_has(slot: str, attr: str) -> bool:
        shapes = ({k.value for k in KINDS.values() if k.value} if slot == "value" else {slot})
        needs = VALUE_ATTRIBUTE_NEEDS.get(attr)
        return needs is None or any(needs(VALUE_SHAPES[s]) for s in shapes)

    for slot in VALUE_SLOTS:
        what = "the object value" if slot == "value" else f"the {slot.replace('_', ' ')} qualifying the claim"
        if slot == "value":
            cols.append(Column("value_shape", "string", "shape of the object value (dose, strength, duration, time)",
                               lambda r: r.claim.value.shape if r.claim.value else None))
        cols.append(Column(f"{slot}_text", "string", f"{what}, in the source's words",
                           lambda r, s=slot: getattr(_value_of(r, s), "text", None)))
        for number in _slot_numbers(slot):
            cols.append(Column(f"{slot}_{number}", "number", f"{what}: {number.replace('_', ' ')}, as stated",
                               lambda r, s=slot, n=number: (_value_of(r, s).numbers.get(n)
                                                            if _value_of(r, s) else None)))
        if slot == "value":
            cols.append(Column("value_derived_daily_total", "number", "amount x times per day, derived by the build "
                                                                       "where the source states no daily total",
                               lambda r: derived_daily_total(r.claim.value) if r.claim.value else None))
        for attr in [a for a in value_attrs if slot_has(slot, a.name)]:
            default = attr.default
            cols.append(Column(f"{slot}_{attr.name}", _field_type(attr.type), f"{what}: {attr.name.replace('_', ' ')}",
                               lambda r, s=slot, a=attr.name, d=default: (
                                   _none_if_default(getattr(_value_of(r, s), a), d) if _value_of(r, s) else None)))
    cols.append(field_column("quote"))
    cols.append(Column("quote_start", "integer", "offset of the quote's first character in the source text",
                       lambda r: r.start))
    cols.append(Column("quote_end", "integer", "offset just after the quote's last character", lambda r: r.end))
    cols.append(field_column("occurrence"))
    cols.append(field_column("note"))
    for attr, (name, type_, description, get) in spec.items():  # a field declared above but not placed: at the end
        cols.append(Column(name, type_, description, get))
    return cols


def _none_if_default(value: Any, default: Any) -> Any:
    return None if value is False and default is False else value


def claim_rows(facts: Facts, texts: dict[str, SourceText]) -> tuple[list[Column], list[list[Any]]]:
    columns = claim_columns()
    rows = []
    for claim in facts.claims():
        text = texts[facts.sources[claim.source_id].file_name]
        span = text.locate(claim.quote, claim.occurrence)
        row = Row(claim, facts, span.start, span.end, span.exact)
        rows.append([column.get(row) for column in columns])
    return columns, rows


# ---------------------------------------------------------------------------------------------------- cell text

def cell(value: Any) -> str:
    """A cell as text: empty for none, true/false, decimals in their canonical form, lists joined by '|'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = canonical_decimal(value)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(cell(v) for v in value)
    return str(value)


def tsv_bytes(header: list[str], rows: list[list[Any]], preamble: str = "") -> bytes:
    """Tab-separated, one line per row (LF), a cell holding a tab, a line break or a double quote quoted as in CSV
    (the quote doubled): what pandas, R, DuckDB, spreadsheets and the SSSOM and KGX tools read by default."""
    out = io.StringIO(newline="")
    out.write(preamble)
    writer = csv.writer(out, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue().encode("utf-8")


def csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)  # RFC 4180
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue().encode("utf-8")


def parquet_bytes(columns: list[Column], rows: list[list[Any]], metadata: dict[str, str]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"string": pa.string(), "boolean": pa.bool_(), "integer": pa.int64(), "number": pa.float64()}
    fields = [pa.field(c.name, types[c.type], nullable=True, metadata={"description": c.description})
              for c in columns]
    arrays = []
    for i, column in enumerate(columns):
        values = [row[i] for row in rows]
        if column.type == "number":
            values = [None if v is None else float(v) for v in values]
        elif column.type == "string":  # a list-valued field (several entity ids...) is one cell, as in the TSV
            values = [None if v is None else cell(v) for v in values]
        arrays.append(pa.array(values, type=types[column.type]))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))
    buffer = io.BytesIO()
    # One row group, no statistics that vary, the writer's version named by pyarrow (pinned): reproducible bytes.
    pq.write_table(table, buffer, compression="zstd", compression_level=9, row_group_size=max(1, len(rows)),
                   use_dictionary=True, write_statistics=True, store_schema=False)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------- other tables

ENTITY_COLUMNS = [
    ("entity_id", "string", "the entity (ent:<entity_id> is its IRI)"),
    ("entity_iri", "string", "the entity's IRI"),
    ("type", "string", "entity type (facts/README.md: Entities)"),
    ("class", "string", "the entity's class (local name under mrkg:)"),
    ("label", "string", "preferred label"),
    ("synonyms", "string", "the words sources use for it, separated by |"),
    ("xrefs", "string", "external identifiers (compact form), separated by | (mappings.sssom.tsv has the evidence)"),
    ("broader", "string", "more general entities (skos:broader), separated by |"),
    ("part_of", "string", "anatomical sites it is part of (mrkg:partOf), separated by |"),
    ("claims_as_subject", "integer", "claims with this entity as subject"),
    ("claims_as_object", "integer", "claims with this entity as object"),
    ("note", "string", "scope note"),
]


def entity_rows(facts: Facts) -> list[list[Any]]:
    as_subject: dict[str, int] = {}
    as_object: dict[str, int] = {}
    for claim in facts.claims():
        as_subject[claim.subject] = as_subject.get(claim.subject, 0) + 1
        if claim.object is not None:
            as_object[claim.object] = as_object.get(claim.object, 0) + 1
    rows = []
    for entity_id in sorted(facts.entities):
        e: Entity = facts.entities[entity_id]
        rows.append([e.id, str(ENT[e.id]), e.type, ENTITY_TYPES[e.type], e.label, e.synonyms,
                     [compact_id(m.scheme, m.id) for m in e.mappings], list(e.broader), list(e.part_of),
                     as_subject.get(e.id, 0),
                     as_object.get(e.id, 0), e.note])
    return rows


CONFLICT_COLUMNS = [
    ("conflict_id", "string", "the conflict (conflict:<conflict_id> is its IRI)"),
    ("conflict_iri", "string", "the conflict's IRI"),
    ("kind", "string", "polarity, value, frequency, evidence, certainty, magnitude, scope or recommendation"),
    ("conflict_class", "string", "the conflict kind's term (local name under mrkg:)"),
    ("severity", "string", "contradiction, substantive or minor"),
    ("status", "string", "proposed (not yet reviewed), confirmed or added by a curator (facts/conflicts.yaml)"),
    ("subject", "string", "the entity the disputed statements are about"),
    ("predicate", "string", "the relation, or grouping relation (hasAdverseOutcome, hasUse), of the topic"),
    ("object", "string", "the topic's object entity ids, separated by | (empty for values)"),
    ("aspect", "string", "what is disputed, for a value (\"starting dose\") or a kind of comparison"),
    ("sides", "string", "each side's position and claim ids: position: id id ... , sides separated by |"),
    ("claims", "string", "the conflicting claims (claim ids), separated by |"),
    ("sources", "string", "the sources of those claims, separated by |"),
    ("claim_count", "integer", "number of conflicting claims"),
    ("explanation", "string", "one sentence naming the sources and what each says"),
    ("reason", "string", "the curator's reason for confirming or adding it"),
]


def conflict_rows(conflicts: list[Conflict]) -> list[list[Any]]:
    rows = []
    for c in conflicts:
        sides = [f"{side.position}: {' '.join(x.full_id for x in side.claims)}" for side in c.sides]
        rows.append([c.id, str(CONFLICT[c.id]), c.kind, CONFLICT_KINDS[c.kind], c.severity, c.status, c.subject, c.predicate,
                     list(c.objects), c.aspect, sides, [x.full_id for x in c.claims],
                     sorted({x.source_id for x in c.claims}), len(c.claims), c.explanation, c.reason or ""])
    return rows


# ---------------------------------------------------------------------------------------------------- SSSOM

# CURIE prefix -> IRI prefix for the SSSOM curie_map: the Bioregistry's expansions, as sssom-py 0.4.21 ships them
# (sssom.context.get_converter(); tests/test_tables.py checks each against it when sssom is installed).
CURIE_PREFIXES = {
    "CHEBI": "http://purl.obolibrary.org/obo/CHEBI_", "HP": "http://purl.obolibrary.org/obo/HP_",
    "MONDO": "http://purl.obolibrary.org/obo/MONDO_", "DOID": "http://purl.obolibrary.org/obo/DOID_",
    "UBERON": "http://purl.obolibrary.org/obo/UBERON_", "NCIT": "http://purl.obolibrary.org/obo/NCIT_",
    "drugbank": "https://go.drugbank.com/drugs/",
    "rxnorm": "https://mor.nlm.nih.gov/RxNav/search?searchBy=RXCUI&searchTerm=",
    "atc": "http://www.whocc.no/atc_ddd_index/?code=", "mesh": "http://id.nlm.nih.gov/mesh/",
    "umls": "https://uts.nlm.nih.gov/uts/umls/concept/",
    "pubchem.compound": "http://rdf.ncbi.nlm.nih.gov/pubchem/compound/CID",
    "wikidata": "http://www.wikidata.org/entity/", "uniprot": "http://purl.uniprot.org/uniprot/",
    "HGNC": "https://www.genenames.org/data/gene-symbol-report/#!/hgnc_id/",
    "NCBIGene": "http://purl.uniprot.org/geneid/",
}
# Scheme of the reference table (its words before any " (…)") -> CURIE prefix
SCHEME_CURIE = {"DrugBank": "drugbank", "ChEBI": "CHEBI", "RxNorm (RXCUI)": "rxnorm", "ATC": "atc", "MeSH": "mesh",
                "UMLS CUI": "umls", "PubChem CID": "pubchem.compound", "Wikidata": "wikidata", "HPO": "HP",
                "MONDO": "MONDO", "DOID": "DOID", "UniProt": "uniprot", "NCIt": "NCIT", "UBERON": "UBERON",
                "HGNC": "HGNC", "NCBI Gene": "NCBIGene"}


def scheme_curie(scheme: str, ident: str) -> str:
    """The external identifier as a CURIE whose prefix the curie_map expands ("MeSH (broader)" is MeSH)."""
    base = scheme if scheme in SCHEME_CURIE else scheme.split(" (", 1)[0]
    prefix = SCHEME_CURIE.get(base)
    if prefix is None:
        return compact_id(scheme, ident)
    if ":" in ident and ident.split(":", 1)[0].upper() == prefix.upper():
        ident = ident.split(":", 1)[1]
    return f"{prefix}:{ident}"


OWN_PREFIX = "mrkg.entity"  # CURIE prefix of the dataset's entities in SSSOM and KGX
SSSOM_COLUMNS = [
    ("subject_id", "string", "the mrkg entity (CURIE)"),
    ("subject_label", "string", "its label"),
    ("subject_category", "string", "its mrkg class (CURIE)"),
    ("predicate_id", "string", "the SKOS match relation"),
    ("object_id", "string", "the external identifier (CURIE)"),
    ("mapping_justification", "string", "how the mapping was made (SEMAPV)"),
    ("mapping_cardinality", "string", "1:1, 1:n, n:1 or n:n within this set"),
    ("comment", "string", "the evidence: where the identifier was found (from the reference identifiers table)"),
]


def sssom_rows(facts: Facts) -> list[list[Any]]:
    items = []
    for entity_id in sorted(facts.entities):
        e = facts.entities[entity_id]
        for m in e.mappings:
            items.append((e, m, scheme_curie(m.scheme, m.id)))
    per_subject: dict[tuple[str, str], int] = {}
    per_object: dict[tuple[str, str], int] = {}
    for e, m, obj in items:
        per_subject[(e.id, m.scheme)] = per_subject.get((e.id, m.scheme), 0) + 1
        per_object[(obj, m.scheme)] = per_object.get((obj, m.scheme), 0) + 1
    rows = []
    for e, m, obj in items:
        left = "1" if per_object[(obj, m.scheme)] == 1 else "n"
        right = "1" if per_subject[(e.id, m.scheme)] == 1 else "n"
        rows.append([f"{OWN_PREFIX}:{e.id}", e.label, f"mrkg:{ENTITY_TYPES[e.type]}",
                     f"skos:{MATCH_RELATIONS[m.match]}", obj, "semapv:ManualMappingCuration", f"{left}:{right}", m.evidence])
    return rows


def sssom_metadata(facts: Facts, version: str) -> dict:
    info = facts.dataset
    used = sorted({row[4].split(":", 1)[0] for row in sssom_rows(facts)})
    curie_map = {p: CURIE_PREFIXES[p] for p in used if p in CURIE_PREFIXES}
    curie_map.update({OWN_PREFIX: str(ENT), "mrkg": str(MRKG)})
    meta = {
        "curie_map": dict(sorted(curie_map.items())),
        "mapping_set_id": f"{BASE}download/mappings.sssom.tsv",
        "mapping_set_version": version,
        "mapping_set_title": f"{info.title}: mappings of its entities to external identifiers",
        "mapping_set_description": "Each mapping is a verified row of the reference identifiers table, with the "
                                   "evidence of where the identifier was found (comment). The same mappings are in "
                                   "the RDF, graph https://w3id.org/mrkg/graph/mappings.",
        "license": info.license,
        "creator_label": [info.creator] if getattr(info, "creator", None) else None,
        "publication_date": info.modified.isoformat() if getattr(info, "modified", None) else None,
        "subject_source": DATASET,
    }
    return {k: v for k, v in meta.items() if v is not None}


def sssom_bytes(facts: Facts, version: str) -> bytes:
    lines = []
    for line in _yaml_lines(sssom_metadata(facts, version)):
        lines.append(f"#{line}\n")
    return tsv_bytes([c[0] for c in SSSOM_COLUMNS], sssom_rows(facts), "".join(lines))


def _yaml_lines(data: dict) -> list[str]:
    """The metadata block as YAML, written by hand so that its text does not depend on a YAML library's style."""
    out = []
    for key, value in data.items():
        if isinstance(value, dict):
            out.append(f"{key}:")
            out.extend(f"  {k}: {json.dumps(v)}" for k, v in value.items())
        elif isinstance(value, list):
            out.append(f"{key}:")
            out.extend(f"  - {json.dumps(v)}" for v in value)
        else:
            out.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    return out


# ---------------------------------------------------------------------------------------------------- KGX

# Entity type -> Biolink category, where one fits; biolink:NamedThing (the root) where none does.
BIOLINK_CATEGORIES = {
    "drug": "biolink:Drug", "drug-class": "biolink:ChemicalEntity", "substance": "biolink:ChemicalEntity",
    "target": "biolink:Protein", "condition": "biolink:DiseaseOrPhenotypicFeature",
    "adverse-effect": "biolink:PhenotypicFeature", "anatomical-site": "biolink:AnatomicalEntity",
    "population": "biolink:PopulationOfIndividualOrganisms", "organization": "biolink:Agent",
    "intervention": "biolink:Procedure", "clinical-parameter": "biolink:ClinicalAttribute",
}
# mrkg predicate -> Biolink predicate, where one fits; biolink:related_to where none does (original_predicate
# keeps ours).
BIOLINK_PREDICATES = {
    "memberOfClass": "biolink:subclass_of", "isIndicatedFor": "biolink:treats",
    "hasOffLabelUse": "biolink:applied_to_treat", "isContraindicatedWith": "biolink:contraindicated_in",
    "hasAdverseEffect": "biolink:has_adverse_event", "interactsWith": "biolink:interacts_with",
    "isStructurallySimilarTo": "biolink:chemically_similar_to", "isDerivativeOf": "biolink:chemically_similar_to",
    "hasSymptom": "biolink:has_phenotype", "hasTarget": "biolink:interacts_with",
    "isEffectiveFor": "biolink:treats_or_applied_or_studied_to_treat",
    "isRecommendedFor": "biolink:treats_or_applied_or_studied_to_treat",
}
KGX_NODE_COLUMNS = [
    ("id", "string", "the entity (CURIE, prefix mrkg.entity = https://w3id.org/mrkg/entity/)"),
    ("category", "string", "Biolink category (biolink:NamedThing where none fits)"),
    ("name", "string", "label"),
    ("synonym", "string", "synonyms, separated by |"),
    ("xref", "string", "external identifiers (CURIEs), separated by |"),
    ("iri", "string", "the entity's IRI"),
    ("mrkg_type", "string", "the mrkg entity type"),
    ("provided_by", "string", "the dataset"),
]
KGX_EDGE_COLUMNS = [
    ("id", "string", "the claim (CURIE, prefix mrkg.claim)"),
    ("subject", "string", "subject node id"),
    ("predicate", "string", "Biolink predicate (biolink:related_to where none fits)"),
    ("object", "string", "object node id"),
    ("category", "string", "biolink:Association"),
    ("original_predicate", "string", "the mrkg predicate (CURIE)"),
    ("negated", "boolean", "true: the source says the statement does not hold"),
    ("knowledge_level", "string", "Biolink knowledge level: what the source asserts"),
    ("agent_type", "string", "Biolink agent type: curated by people"),
    ("primary_knowledge_source", "string", "the source document (IRI)"),
    ("has_evidence", "string", "ECO: author statement used in manual assertion"),
    ("hedge_cue", "string", "the hedging words, when the claim is hedged"),
    ("quote", "string", "the verbatim words of the source"),
    ("provided_by", "string", "the dataset"),
]


def kgx_node_rows(facts: Facts) -> list[list[Any]]:
    rows = []
    for entity_id in sorted(facts.entities):
        e = facts.entities[entity_id]
        rows.append([f"{OWN_PREFIX}:{e.id}", BIOLINK_CATEGORIES.get(e.type, "biolink:NamedThing"), e.label,
                     e.synonyms, [scheme_curie(m.scheme, m.id) for m in e.mappings], str(ENT[e.id]), e.type,
                     DATASET])
    return rows


def kgx_edge_rows(facts: Facts, claim_table: list[list[Any]], columns: list[Column]) -> list[list[Any]]:
    """One edge per claim whose object is an entity (claims with a value object have no node to point at)."""
    index = {c.name: i for i, c in enumerate(columns)}
    rows = []
    for row in claim_table:
        obj = row[index["object"]]
        if obj is None:
            continue
        predicate = row[index["predicate"]]
        rows.append([f"mrkg.claim:{row[index['claim_id']]}", f"{OWN_PREFIX}:{row[index['subject']]}",
                     BIOLINK_PREDICATES.get(predicate, "biolink:related_to"), f"{OWN_PREFIX}:{obj}",
                     "biolink:Association", f"mrkg:{predicate}", row[index["negated"]], "knowledge_assertion",
                     "manual_agent", str(SRC[row[index["source_id"]]]), "ECO:0000302", row[index["hedge_cue"]],
                     row[index["quote"]], DATASET])
    return rows


# ---------------------------------------------------------------------------------------------------- all of them

def _schema(columns: list[tuple[str, str, str]]) -> dict:
    return {"fields": [{"name": n, "type": t, "description": d} for n, t, d in columns]}


def make_tables(facts: Facts, texts: dict[str, SourceText], conflicts: list[Conflict],
                version: str) -> dict[str, tuple[bytes, str]]:
    """Every table of a build: file name -> (bytes, media type), datapackage.json last."""
    columns, rows = claim_rows(facts, texts)
    header = [c.name for c in columns]
    claim_spec = [(c.name, c.type, c.description) for c in columns]
    kgx_nodes = kgx_node_rows(facts)
    kgx_edges = kgx_edge_rows(facts, rows, columns)
    out: dict[str, tuple[bytes, str]] = {
        "claims.tsv": (tsv_bytes(header, rows), TSV),
        "claims.csv": (csv_bytes(header, rows), CSV),
        "claims.parquet": (parquet_bytes(columns, rows, {"mrkg_version": version, "source": DATASET}), PARQUET),
        "entities.tsv": (tsv_bytes([c[0] for c in ENTITY_COLUMNS], entity_rows(facts)), TSV),
        "conflicts.tsv": (tsv_bytes([c[0] for c in CONFLICT_COLUMNS], conflict_rows(conflicts)), TSV),
        "mappings.sssom.tsv": (sssom_bytes(facts, version), TSV),
        "kgx_nodes.tsv": (tsv_bytes([c[0] for c in KGX_NODE_COLUMNS], kgx_nodes), TSV),
        "kgx_edges.tsv": (tsv_bytes([c[0] for c in KGX_EDGE_COLUMNS], kgx_edges), TSV),
    }
    counts = {"claims": len(rows), "entities": len(facts.entities), "conflicts": len(conflicts),
              "mappings": sum(len(e.mappings) for e in facts.entities.values()), "kgx_nodes": len(kgx_nodes),
              "kgx_edges": len(kgx_edges)}
    schemas = {
        "claims.tsv": ("claims", claim_spec, counts["claims"]),
        "claims.csv": ("claims-csv", claim_spec, counts["claims"]),
        "entities.tsv": ("entities", ENTITY_COLUMNS, counts["entities"]),
        "conflicts.tsv": ("conflicts", CONFLICT_COLUMNS, counts["conflicts"]),
        "mappings.sssom.tsv": ("mappings-sssom", SSSOM_COLUMNS, counts["mappings"]),
        "kgx_nodes.tsv": ("kgx-nodes", KGX_NODE_COLUMNS, counts["kgx_nodes"]),
        "kgx_edges.tsv": ("kgx-edges", KGX_EDGE_COLUMNS, counts["kgx_edges"]),
    }
    out["datapackage.json"] = (datapackage_bytes(facts, version, out, schemas), "application/json")
    return out


def datapackage_bytes(facts: Facts, version: str, files: dict[str, tuple[bytes, str]], schemas: dict) -> bytes:
    info = facts.dataset
    resources = []
    for name, (data, media_type) in files.items():
        resource: dict[str, Any] = {"path": name, "mediatype": media_type, "bytes": len(data),
                                    "hash": "sha256:" + hashlib.sha256(data).hexdigest(), "encoding": "utf-8"}
        if name in schemas:
            rname, spec, count = schemas[name]
            resource = {"name": rname, "title": rname.replace("-", " "), **resource,
                        "profile": "tabular-data-resource", "format": name.rsplit(".", 1)[1],
                        "description": f"{count} rows", "schema": _schema(spec)}
            if name.endswith(".tsv"):
                resource["dialect"] = {"delimiter": "\t", "quoteChar": "\"", "doubleQuote": True,
                                       "lineTerminator": "\n", "header": True}
                if name == "mappings.sssom.tsv":
                    resource["dialect"]["commentChar"] = "#"
            else:
                resource["dialect"] = {"delimiter": ",", "lineTerminator": "\r\n", "header": True}
        else:  # the Parquet copy of the claims: the same schema; its bytes and hash are in SHA256SUMS (Frictionless
            # reads Parquet through pyarrow, not as a byte stream, and cannot check them)
            resource = {"name": "claims-parquet", "title": "claims parquet", "path": name, "mediatype": media_type,
                        "profile": "tabular-data-resource", "format": "parquet",
                        "description": f"{schemas['claims.tsv'][2]} rows: the claims table as Apache Parquet",
                        "schema": _schema(schemas["claims.tsv"][1])}
        resources.append(resource)
    package = {
        "profile": "tabular-data-package",
        "name": "mrkg",
        "id": DATASET,
        "title": info.title,
        "description": info.description,
        "version": version,
        "homepage": BASE,
        "licenses": [{"name": "CC-BY-4.0", "path": info.license, "title": "Creative Commons Attribution 4.0"}]
        if info.license == "https://creativecommons.org/licenses/by/4.0/" else [{"path": info.license}],
        "resources": resources,
    }
    creator = getattr(info, "creator", None)
    if creator:
        package["contributors"] = [{"title": creator, "role": "author"}]
    return (json.dumps(package, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
