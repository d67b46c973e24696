"""SPARQL results writers (JSON, XML, CSV, TSV) and RDF writers, over pyoxigraph terms, shared by every engine.

Rows are written here, not by the engines, so that the row cap applies the same way everywhere
(pyoxigraph cannot cut a QuerySolutions short, and rdflib has no TSV writer).
"""

from __future__ import annotations

import json
import re
from typing import Iterable, Sequence

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize

XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
RDF_DIRLANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#dirLangString"

Row = Sequence[object]  # pyoxigraph terms or None (unbound)


# --- JSON (https://www.w3.org/TR/sparql11-results-json/) -----------------------------------------

def _json_term(term: object) -> dict:
    kind = type(term)
    if kind is NamedNode:
        return {"type": "uri", "value": term.value}
    if kind is Literal:
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        else:
            datatype = term.datatype.value
            if datatype != XSD_STRING:
                out["datatype"] = datatype
        return out
    if kind is BlankNode:
        return {"type": "bnode", "value": term.value}
    if kind is Triple:
        return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                            "predicate": _json_term(term.predicate),
                                            "object": _json_term(term.object)}}
    raise TypeError(f"not an RDF term: {term!r}")


def json_solutions(variables: list[str], rows: Iterable[Row]) -> bytes:
    bindings = [{name: _json_term(term) for name, term in zip(variables, row) if term is not None} for row in rows]
    doc = {"head": {"vars": variables}, "results": {"bindings": bindings}}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_boolean(value: bool) -> bytes:
    return b'{"head":{},"boolean":true}' if value else b'{"head":{},"boolean":false}'


# --- XML (https://www.w3.org/TR/rdf-sparql-XMLres/) -----------------------------------------------

_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text).translate(_XML_ESCAPES)


def _xml_term(term: object) -> str:
    kind = type(term)
    if kind is NamedNode:
        return f"<uri>{_xml_text(term.value)}</uri>"
    if kind is Literal:
        if term.language:
            return f'<literal xml:lang="{_xml_text(term.language)}">{_xml_text(term.value)}</literal>'
        datatype = term.datatype.value
        if datatype == XSD_STRING:
            return f"<literal>{_xml_text(term.value)}</literal>"
        return f'<literal datatype="{_xml_text(datatype)}">{_xml_text(term.value)}</literal>'
    if kind is BlankNode:
        return f"<bnode>{_xml_text(term.value)}</bnode>"
    if kind is Triple:
        return (f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}"
                f"</predicate><object>{_xml_term(term.object)}</object></triple>")
    raise TypeError(f"not an RDF term: {term!r}")


_XML_HEAD = '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n'


def xml_solutions(variables: list[str], rows: Iterable[Row]) -> bytes:
    parts = [_XML_HEAD, "<head>", *(f'<variable name="{_xml_text(v)}"/>' for v in variables), "</head>\n<results>\n"]
    for row in rows:
        parts.append("<result>")
        for name, term in zip(variables, row):
            if term is not None:
                parts.append(f'<binding name="{_xml_text(name)}">{_xml_term(term)}</binding>')
        parts.append("</result>\n")
    parts.append("</results>\n</sparql>\n")
    return "".join(parts).encode("utf-8")


def xml_boolean(value: bool) -> bytes:
    return f"{_XML_HEAD}<head/>\n<boolean>{'true' if value else 'false'}</boolean>\n</sparql>\n".encode("utf-8")


# --- CSV and TSV (https://www.w3.org/TR/sparql11-results-csv-tsv/) ---------------------------------

def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_term(term: object) -> str:
    kind = type(term)
    if term is None:
        return ""
    if kind is NamedNode or kind is Literal:
        return _csv_field(term.value)
    if kind is BlankNode:
        return "_:" + term.value
    if kind is Triple:
        return _csv_field(_turtle_term(term))
    raise TypeError(f"not an RDF term: {term!r}")


def csv_solutions(variables: list[str], rows: Iterable[Row]) -> bytes:
    lines = [",".join(_csv_field(v) for v in variables)]
    lines.extend(",".join(_csv_term(t) for t in row) for row in rows)
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


_TURTLE_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_BARE = {
    XSD + "integer": re.compile(r"[+-]?[0-9]+"),
    XSD + "decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+"),
    XSD + "double": re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.?[0-9]+)[eE][+-]?[0-9]+"),
    XSD + "boolean": re.compile(r"true|false"),
}


def _iri(value: str) -> str:
    return "<" + value.replace(">", "\\u003E") + ">"


def _turtle_term(term: object) -> str:
    kind = type(term)
    if kind is NamedNode:
        return _iri(term.value)
    if kind is BlankNode:
        return "_:" + term.value
    if kind is Literal:
        lexical = '"' + term.value.translate(_TURTLE_ESCAPES) + '"'
        if term.language:
            return f"{lexical}@{term.language}"
        datatype = term.datatype.value
        if datatype == XSD_STRING:
            return lexical
        bare = _BARE.get(datatype)
        if bare is not None and bare.fullmatch(term.value):
            return term.value
        return f"{lexical}^^{_iri(datatype)}"
    if kind is Triple:
        return f"<<( {_turtle_term(term.subject)} {_turtle_term(term.predicate)} {_turtle_term(term.object)} )>>"
    raise TypeError(f"not an RDF term: {term!r}")


def tsv_solutions(variables: list[str], rows: Iterable[Row]) -> bytes:
    lines = ["\t".join("?" + v for v in variables)]
    lines.extend("\t".join("" if t is None else _turtle_term(t) for t in row) for row in rows)
    return ("\n".join(lines) + "\n").encode("utf-8")


SOLUTION_WRITERS = {"json": json_solutions, "xml": xml_solutions, "csv": csv_solutions, "tsv": tsv_solutions}
BOOLEAN_WRITERS = {"json": json_boolean, "xml": xml_boolean}

RDF_FORMATS = {
    "turtle": RdfFormat.TURTLE, "ntriples": RdfFormat.N_TRIPLES, "rdfxml": RdfFormat.RDF_XML,
    "jsonld": RdfFormat.JSON_LD, "trig": RdfFormat.TRIG, "nquads": RdfFormat.N_QUADS,
}


def used_prefixes(triples: list[Triple], prefixes: dict[str, str]) -> dict[str, str]:
    """The entries of ``prefixes`` whose namespace (ending in / or #) some IRI of ``triples`` is in."""
    by_namespace = {namespace: name for name, namespace in prefixes.items()}
    used: dict[str, str] = {}
    for triple in triples:
        for term in (triple.subject, triple.predicate, triple.object):
            if type(term) is Literal:
                term = term.datatype
            if type(term) is NamedNode:
                iri = term.value
                name = by_namespace.get(iri[:max(iri.rfind("/"), iri.rfind("#")) + 1])
                if name is not None:
                    used[name] = prefixes[name]
    return used


def write_graph(triples: list[Triple], key: str, prefixes: dict[str, str] | None = None) -> bytes:
    """Triples in the RDF format named ``key`` (a key of RDF_FORMATS), with the prefixes they use."""
    fmt = RDF_FORMATS[key]
    if key in {"turtle", "trig", "rdfxml"} and prefixes:
        return serialize(triples, format=fmt, prefixes=used_prefixes(triples, prefixes))
    return serialize(triples, format=fmt)
