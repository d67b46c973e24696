"""Result and RDF formats of the endpoint, and content negotiation (Accept with q-values, or format=)."""

from __future__ import annotations

from functools import lru_cache

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    key: str  # short name, also accepted as format=<key>
    media_type: str
    aliases: tuple[str, ...] = ()  # other media types the client may ask for; answered as asked
    names: tuple[str, ...] = ()  # other format= spellings
    text: bool = True  # gets "; charset=utf-8"
    w3c: str = ""  # the W3C format IRI (for the Service Description)


# SELECT / ASK. The first entry is the default for */* and a missing Accept.
RESULT_FORMATS: tuple[Format, ...] = (
    Format("json", "application/sparql-results+json", ("application/json",), ("srj",),
           w3c="http://www.w3.org/ns/formats/SPARQL_Results_JSON"),
    Format("xml", "application/sparql-results+xml", ("application/xml", "text/xml"), ("srx",),
           w3c="http://www.w3.org/ns/formats/SPARQL_Results_XML"),
    Format("csv", "text/csv", (), (), w3c="http://www.w3.org/ns/formats/SPARQL_Results_CSV"),
    Format("tsv", "text/tab-separated-values", (), (), w3c="http://www.w3.org/ns/formats/SPARQL_Results_TSV"),
)
# ASK has no standard CSV/TSV form.
BOOLEAN_FORMATS: tuple[Format, ...] = RESULT_FORMATS[:2]

# CONSTRUCT / DESCRIBE, linked-data pages and the Service Description. First entry is the default.
GRAPH_FORMATS: tuple[Format, ...] = (
    Format("turtle", "text/turtle", ("application/x-turtle",), ("ttl",), w3c="http://www.w3.org/ns/formats/Turtle"),
    Format("ntriples", "application/n-triples", (), ("nt", "n-triples"), w3c="http://www.w3.org/ns/formats/N-Triples"),
    Format("rdfxml", "application/rdf+xml", ("application/xml", "text/xml"), ("rdf", "xml", "owl"),
           w3c="http://www.w3.org/ns/formats/RDF_XML"),
    Format("jsonld", "application/ld+json", ("application/json",), ("json-ld", "json"),
           w3c="http://www.w3.org/ns/formats/JSON-LD"),
    Format("trig", "application/trig", (), (), w3c="http://www.w3.org/ns/formats/TriG"),
    Format("nquads", "application/n-quads", (), ("nq", "n-quads"), w3c="http://www.w3.org/ns/formats/N-Quads"),
)

ALL_FORMAT_NAMES = frozenset(
    name for fmt in RESULT_FORMATS + GRAPH_FORMATS for name in (fmt.key, *fmt.names, fmt.media_type, *fmt.aliases)
)


def content_type(media_type: str, fmt: Format | None = None) -> str:
    text = fmt.text if fmt is not None else media_type.startswith("text/")
    return f"{media_type}; charset=utf-8" if text else media_type


def parse_accept(header: str | None) -> list[tuple[str, str, float]]:
    """``Accept`` as (type, subtype, q) items; a missing or empty header accepts everything."""
    items: list[tuple[str, str, float]] = []
    for part in (header or "").split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if "/" not in media:
            continue
        kind, _, sub = media.partition("/")
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        items.append((kind, sub, q))
    return items or [("*", "*", 1.0)]


def _quality(items: list[tuple[str, str, float]], media_type: str) -> tuple[float, int]:
    """The q of the most specific Accept item matching ``media_type`` (q, specificity); (-1, -1) if none."""
    kind, _, sub = media_type.partition("/")
    best = (-1.0, -1)
    for ikind, isub, q in items:
        if ikind == kind and isub == sub:
            spec = 2
        elif ikind == kind and isub == "*":
            spec = 1
        elif ikind == "*" and isub == "*":
            spec = 0
        else:
            continue
        if spec > best[1]:
            best = (q, spec)
    return best


def negotiate(accept: str | None, formats: tuple[Format, ...]) -> tuple[Format, str] | None:
    """The format and media type the client likes best (ties: earlier format wins), or None (406)."""
    items = parse_accept(accept)
    chosen: tuple[Format, str] | None = None
    best = (0.0, -1)
    for fmt in formats:
        for media in (fmt.media_type, *fmt.aliases):
            q, spec = _quality(items, media)
            if q <= 0 or (spec < 2 and media != fmt.media_type):  # wildcards pick main types, not aliases
                continue
            if q > best[0] or (q == best[0] and spec > best[1]):
                chosen, best = (fmt, media), (q, spec)
    return chosen


def prefers(accept: str | None, media_type: str, others: tuple[Format, ...]) -> bool:
    """True when the client asks for ``media_type`` (e.g. text/html) at least as much as for any of ``others``,
    and names it more specifically than a wildcard would."""
    items = parse_accept(accept)
    wanted = _quality(items, media_type)
    if wanted[0] <= 0 or wanted[1] < 1:
        return False
    return all(wanted >= _quality(items, m) for f in others for m in (f.media_type, *f.aliases))


def by_name(name: str, formats: tuple[Format, ...]) -> tuple[Format, str] | None:
    """The format named by a ``format=`` value (short name or media type), among ``formats``."""
    wanted = name.strip().lower()
    for fmt in formats:
        if wanted == fmt.key or wanted in fmt.names or wanted == fmt.media_type:
            return fmt, fmt.media_type
        if wanted in fmt.aliases:
            return fmt, wanted
    return None


@lru_cache(maxsize=512)  # clients send the same few Accept headers again and again
def choose(accept: str | None, format_param: str | None, formats: tuple[Format, ...]) -> tuple[Format, str] | None:
    """``format=`` wins over ``Accept``."""
    if format_param:
        return by_name(format_param, formats)
    return negotiate(accept, formats)


def describe_choices(formats: tuple[Format, ...]) -> str:
    return ", ".join(f"{fmt.media_type} (format={fmt.key})" for fmt in formats)
