"""The one text every engine evaluates: the guard's parse of a query, written back as canonical SPARQL.

The guard parses a query once (rdflib's parser) and checks that parse. Engines that parse text themselves
(pyoxigraph, a remote store) never see the client's text: they get this module's rendering of the checked parse
tree, so there is no second reading of the client's bytes in which a comment, an escape or odd whitespace could
mean something else (the differential that let ``# c\\r SERVICE <...>`` through). The result cache is keyed on
the same text.

The canonical text uses a small, plain subset of SPARQL 1.1 that every conforming parser reads one way:

* no comments, no prefixed names, no ``\\u`` escapes anywhere (a string whose value would need one is refused);
* every IRI written in full as ``<...>`` (absolute where the query had a base), the base as one ``BASE``;
* strings in double quotes with only the escapes ``\\t \\n \\r \\b \\f \\" \\\\``; numbers and booleans as typed
  literals; blank nodes with explicit labels; keywords in capitals, one space between tokens;
* every composite expression and path in parentheses, single-child wrappers of the parse tree collapsed, so that
  rendering is idempotent: ``render(parse(render(tree))) == render(tree)``, which the guard checks on every query.

The renderer also measures what it renders (nesting depth, triple patterns) so that the guard can refuse queries
the engines' recursive parsers and evaluators cannot take (pyoxigraph overflows its stack at a few thousand levels).
``SERVICE`` is never rendered: the guard refuses it before; a ServiceGraphPattern reaching the renderer is a bug
and raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rdflib import BNode, Literal, URIRef, Variable
from rdflib.namespace import RDF
from rdflib.plugins.sparql.parserutils import CompValue

from .errors import QueryError

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_IRI_FORBIDDEN = set('<>"{}|^`\\') | {chr(i) for i in range(0x21)}

# Builtin name -> (keyword, parameters in order; "*list" is an expression list)
_BUILTINS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Builtin_REGEX": ("REGEX", ("text", "pattern", "flags")),
    "Builtin_SUBSTR": ("SUBSTR", ("arg", "start", "length")),
    "Builtin_REPLACE": ("REPLACE", ("arg", "pattern", "replacement", "flags")),
    "Builtin_CONCAT": ("CONCAT", ("*arg",)),
    "Builtin_COALESCE": ("COALESCE", ("*arg",)),
    "Builtin_BNODE": ("BNODE", ("arg",)),
    "Builtin_IF": ("IF", ("arg1", "arg2", "arg3")),
}
for _name in ("STR", "LANG", "DATATYPE", "BOUND", "IRI", "URI", "ABS", "CEIL", "FLOOR", "ROUND", "STRLEN", "UCASE",
              "LCASE", "ENCODE_FOR_URI", "YEAR", "MONTH", "DAY", "HOURS", "MINUTES", "SECONDS", "TIMEZONE", "TZ",
              "MD5", "SHA1", "SHA256", "SHA384", "SHA512", "isIRI", "isURI", "isBLANK", "isLITERAL", "isNUMERIC"):
    _BUILTINS[f"Builtin_{_name}"] = (_name, ("arg",))
for _name in ("LANGMATCHES", "CONTAINS", "STRSTARTS", "STRENDS", "STRBEFORE", "STRAFTER", "STRLANG", "STRDT",
              "sameTerm"):
    _BUILTINS[f"Builtin_{_name}"] = (_name, ("arg1", "arg2"))
for _name in ("RAND", "NOW", "UUID", "STRUUID"):
    _BUILTINS[f"Builtin_{_name}"] = (_name, ())
_AGGREGATES = {"Aggregate_Count": "COUNT", "Aggregate_Sum": "SUM", "Aggregate_Min": "MIN", "Aggregate_Max": "MAX",
               "Aggregate_Avg": "AVG", "Aggregate_Sample": "SAMPLE", "Aggregate_GroupConcat": "GROUP_CONCAT"}
_BINARY = {"ConditionalOrExpression": "||", "ConditionalAndExpression": "&&"}
_FORMS = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE"}


class RenderError(QueryError):
    """A query the canonical text cannot express (400), or a construct the endpoint refuses (403)."""


@dataclass(frozen=True)
class Rendered:
    """The canonical text, with and without its dataset clause, and what it measured on the way."""

    text: str  # BASE, the query with FROM / FROM NAMED
    without_dataset: str  # the same without FROM / FROM NAMED (for engines given the dataset separately)
    form: str
    from_graphs: tuple[str, ...]
    from_named: tuple[str, ...]
    depth: int  # deepest nesting of groups, sub-expressions, paths and calls
    patterns: int  # triple patterns, in the WHERE clause, templates and sub-queries


def _get(node: CompValue, key: str, default: Any = None) -> Any:
    return dict.get(node, key, default)


def _has(node: CompValue, key: str) -> bool:
    value = dict.get(node, key)
    return value is not None and not (isinstance(value, (list, str)) and len(value) == 0)


class _Renderer:
    def __init__(self, max_depth: int, max_patterns: int, max_offset: int | None) -> None:
        self.max_depth = max_depth
        self.max_patterns = max_patterns
        self.max_offset = max_offset
        self.depth = 0
        self.deepest = 0
        self.patterns = 0
        self.blanks: dict[str, str] = {}  # label in the parse -> b0, b1, ... in order of first appearance

    # --- bookkeeping ------------------------------------------------------------------------------

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > self.deepest:
            self.deepest = self.depth
            if self.deepest > self.max_depth:
                raise RenderError(400, f"Query too deeply nested: more than {self.max_depth} levels of groups, "
                                       "parentheses, paths or calls (setting max_query_depth).")

    def _leave(self) -> None:
        self.depth -= 1

    def _pattern(self) -> None:
        self.patterns += 1
        if self.patterns > self.max_patterns:
            raise RenderError(400, f"Query too large: more than {self.max_patterns} triple patterns "
                                   "(setting max_query_patterns).")

    # --- terms ------------------------------------------------------------------------------------

    def iri(self, value: str) -> str:
        if any(c in _IRI_FORBIDDEN for c in value):
            raise RenderError(400, f"IRI <{value[:80]}> contains a character an IRI may not contain.")
        _check_text(value, "IRI")
        return f"<{value}>"

    def term(self, value: Any) -> str:
        if isinstance(value, Variable):
            return f"?{value}"
        if isinstance(value, URIRef):
            return self.iri(str(value))
        if isinstance(value, BNode):
            label = self.blanks.get(str(value))
            if label is None:
                label = self.blanks[str(value)] = f"b{len(self.blanks)}"
            return f"_:{label}"
        if isinstance(value, Literal):
            return self.literal(value)
        if isinstance(value, CompValue) and value.name == "literal":  # not resolved (no prologue): plain string
            return self.literal(Literal(value.string, lang=_get(value, "lang"), datatype=_get(value, "datatype")))
        raise RenderError(400, f"Unexpected term in query: {type(value).__name__}.")

    def literal(self, value: Literal) -> str:
        lexical = str(value)
        _check_text(lexical, "string")
        text = '"' + "".join(_ESCAPES.get(c, c) for c in lexical) + '"'
        if "\\u" in text or "\\U" in text:
            raise RenderError(400, "A string literal holds a backslash followed by 'u' or 'U', which SPARQL parsers "
                                   "read in different ways (as an escape or not): write it another way, e.g. with "
                                   "CONCAT or ENCODE_FOR_URI.")
        if value.language:
            return f"{text}@{value.language}"
        if value.datatype is not None:
            return f"{text}^^{self.iri(str(value.datatype))}"
        return text

    # --- paths ------------------------------------------------------------------------------------

    def path(self, node: Any, *, top: bool = False) -> str:
        """A verb: a variable, an IRI, or a property path. Composite paths are in parentheses, except the
        outermost one (``?s <a> / <b> ?o``): rdflib plans a parenthesised top-level path far worse."""
        if not isinstance(node, CompValue):
            return self.term(node)
        name = node.name
        if name in ("PathAlternative", "PathSequence"):
            parts = [p for p in node["part"]]
            if len(parts) == 1:
                return self.path(parts[0], top=top)
            joined = (" | " if name == "PathAlternative" else " / ").join(self.path(p) for p in parts)
            return joined if top else self._group_of(joined)
        if name == "PathElt":
            mod = _get(node, "mod")
            if not mod:
                return self.path(node["part"], top=top)
            inner = self.path(node["part"])
            self._enter()
            self._leave()
            return f"{_atom(inner)}{mod}"
        if name == "PathEltOrInverse":
            self._enter()
            self._leave()
            return f"^{_atom(self.path(node['part']))}"
        if name == "PathNegatedPropertySet":
            parts = []
            for part in node.get("part") or []:
                if isinstance(part, CompValue) and part.name == "InversePath":
                    # rdflib's parser keeps no IRI for it (InversePath_{}): nothing to check, nothing to render
                    raise RenderError(400, "An inverse IRI in a negated property set (!(^<p>)) is not supported "
                                           "here: write !(^<p>) as ^(!<p>), and !(<a>|^<b>) as (!<a>|^(!<b>)).")
                else:
                    parts.append(self.term(part))
            return "!(" + " | ".join(parts) + ")"
        if name == "DistinctPath":
            raise RenderError(400, "DISTINCT(...) in property paths is not SPARQL 1.1.")
        raise RenderError(400, f"Unsupported property path {name}.")

    def _group_of(self, text: str) -> str:
        self._enter()
        self._leave()
        return f"({text})"

    # --- triples ----------------------------------------------------------------------------------

    def triples(self, blocks: Any) -> str:
        out: list[str] = []
        for block in blocks or ():
            terms = list(block)
            if len(terms) % 3:
                raise RenderError(400, "Malformed triple pattern.")
            for i in range(0, len(terms), 3):
                self._pattern()
                s, p, o = terms[i:i + 3]
                out.append(f"{self.term(s)} {self.path(p, top=True)} {self.term(o)} .")
        return " ".join(out)

    # --- graph patterns ---------------------------------------------------------------------------

    def group(self, node: Any) -> str:
        """``{ ... }`` for a GroupGraphPatternSub, a SubSelect or CONSTRUCT WHERE's triples."""
        self._enter()
        try:
            if isinstance(node, CompValue) and node.name == "SubSelect":
                return "{ " + self.select(node) + " }"
            inner = " ".join(filter(None, (self.part(p) for p in (_get(node, "part") or ()))))
            return "{ " + inner + " }" if inner else "{ }"
        finally:
            self._leave()

    def part(self, node: CompValue) -> str:
        name = node.name
        if name == "TriplesBlock":
            return self.triples(_get(node, "triples"))
        if name == "OptionalGraphPattern":
            return "OPTIONAL " + self.group(node["graph"])
        if name == "MinusGraphPattern":
            return "MINUS " + self.group(node["graph"])
        if name == "GroupOrUnionGraphPattern":
            return " UNION ".join(self.group(g) for g in node["graph"])
        if name == "GraphGraphPattern":
            return f"GRAPH {self.term(node['term'])} {self.group(node['graph'])}"
        if name == "Filter":
            return f"FILTER {self.bracketed(node['expr'])}"
        if name == "Bind":
            return f"BIND({self.expr(node['expr'])} AS {self.term(node['var'])})"
        if name in ("InlineData", "ValuesClause"):
            return self.values(node)
        if name == "ServiceGraphPattern":
            raise RenderError(403, "SERVICE refused: this endpoint makes no outbound requests.")
        raise RenderError(400, f"Unsupported graph pattern {name}.")

    def values(self, node: CompValue) -> str:
        variables = list(_get(node, "var") or ())
        rows = list(_get(node, "value") or ())
        if rows and isinstance(rows[0], list):
            head = "(" + " ".join(self.term(v) for v in variables) + ")"
            body = " ".join("(" + " ".join(self.value(x) for x in row) + ")" if isinstance(row, list) else "()"
                            for row in rows)
            return f"VALUES {head} {{ {body} }}"
        if len(variables) == 1:
            body = " ".join(self.value(x) for x in rows)
            return f"VALUES {self.term(variables[0])} {{ {body} }}" if body else f"VALUES {self.term(variables[0])} {{ }}"
        return "VALUES (" + " ".join(self.term(v) for v in variables) + ") { }"

    def value(self, value: Any) -> str:
        return "UNDEF" if value == "UNDEF" and not isinstance(value, Literal) else self.term(value)

    # --- expressions ------------------------------------------------------------------------------

    def bracketed(self, node: Any) -> str:
        """An expression where the grammar wants a Constraint or BrackettedExpression."""
        text = self.expr(node)
        return text if text.startswith("(") and _balanced_outer(text) else f"({text})"

    def expr(self, node: Any) -> str:
        if not isinstance(node, CompValue):
            if isinstance(node, list):
                raise RenderError(400, "Unexpected expression list.")
            return self.term(node)
        name = node.name
        if name in _BINARY:
            first = self.expr(node["expr"])
            others = _get(node, "other") or []
            if not others:
                return first
            return self._group_of(f" {_BINARY[name]} ".join([first, *(self.expr(o) for o in others)]))
        if name == "RelationalExpression":
            first = self.expr(node["expr"])
            op = _get(node, "op")
            if not op:
                return first
            if op in ("IN", "NOT IN"):
                return self._group_of(f"{first} {op} {self.expr_list(node['other'])}")
            return self._group_of(f"{first} {op} {self.expr(node['other'])}")
        if name in ("AdditiveExpression", "MultiplicativeExpression"):
            first = self.expr(node["expr"])
            ops = list(_get(node, "op") or [])
            others = list(_get(node, "other") or [])
            if not ops:
                return first
            if len(ops) != len(others):
                raise RenderError(400, "Malformed arithmetic expression.")
            text = first + "".join(f" {op} {self.expr(o)}" for op, o in zip(ops, others))
            return self._group_of(text)
        if name in ("UnaryNot", "UnaryPlus", "UnaryMinus"):
            sign = {"UnaryNot": "!", "UnaryPlus": "+", "UnaryMinus": "-"}[name]
            return self._group_of(f"{sign}{_atom(self.expr(node['expr']))}")
        if name in _AGGREGATES:
            return self.aggregate(node)
        if name == "Builtin_EXISTS":
            return "EXISTS " + self.group(node["graph"])
        if name == "Builtin_NOTEXISTS":
            return "NOT EXISTS " + self.group(node["graph"])
        if name in _BUILTINS:
            return self.builtin(node)
        if name == "Function":
            args = list(_get(node, "expr") or [])
            distinct = "DISTINCT " if _get(node, "distinct") else ""
            self._enter()
            try:
                return f"{self.term(node['iri'])}({distinct}{', '.join(self.expr(a) for a in args)})"
            finally:
                self._leave()
        raise RenderError(400, f"Unsupported expression {name}.")

    def expr_list(self, value: Any) -> str:
        if value == RDF.nil or value is None:
            return "()"
        self._enter()
        try:
            return "(" + ", ".join(self.expr(x) for x in value) + ")"
        finally:
            self._leave()

    def builtin(self, node: CompValue) -> str:
        keyword, params = _BUILTINS[node.name]
        self._enter()
        try:
            if params and params[0].startswith("*"):
                return keyword + self.expr_list(_get(node, params[0][1:]))
            args = [self.expr(_get(node, p)) for p in params if _get(node, p) is not None]
            if keyword == "BNODE" and not args:
                return "BNODE()"
            return f"{keyword}({', '.join(args)})"
        finally:
            self._leave()

    def aggregate(self, node: CompValue) -> str:
        keyword = _AGGREGATES[node.name]
        distinct = "DISTINCT " if _get(node, "distinct") else ""
        target = _get(node, "vars")
        self._enter()
        try:
            inner = "*" if target == "*" else self.expr(target)
            separator = _get(node, "separator")
            tail = f" ; SEPARATOR={self.literal(Literal(str(separator)))}" if separator is not None else ""
            return f"{keyword}({distinct}{inner}{tail})"
        finally:
            self._leave()

    # --- queries ----------------------------------------------------------------------------------

    def dataset(self, node: CompValue) -> tuple[list[str], list[str]]:
        default, named = [], []
        for clause in _get(node, "datasetClause") or ():
            if _get(clause, "default") is not None:
                default.append(str(clause["default"]))
            elif _get(clause, "named") is not None:
                named.append(str(clause["named"]))
        return default, named

    def modifiers(self, node: CompValue) -> str:
        out: list[str] = []
        groupby = _get(node, "groupby")
        if groupby is not None:
            conditions = []
            for c in groupby["condition"]:
                if isinstance(c, CompValue) and c.name == "GroupAs":
                    var = _get(c, "var")
                    inner = self.expr(c["expr"])
                    conditions.append(f"({inner} AS {self.term(var)})" if var is not None else self.bracketed(c["expr"]))
                elif isinstance(c, Variable):
                    conditions.append(self.term(c))
                else:
                    conditions.append(self.expr(c))
            out.append("GROUP BY " + " ".join(conditions))
        having = _get(node, "having")
        if having is not None:
            out.append("HAVING " + " ".join(self.bracketed(c) for c in having["condition"]))
        orderby = _get(node, "orderby")
        if orderby is not None:
            conditions = []
            for c in orderby["condition"]:
                order = _get(c, "order") if isinstance(c, CompValue) and c.name == "OrderCondition" else None
                expr = c["expr"] if isinstance(c, CompValue) and c.name == "OrderCondition" else c
                if order:
                    conditions.append(f"{order}({self.expr(expr)})")
                elif isinstance(expr, Variable):
                    conditions.append(self.term(expr))
                else:
                    conditions.append(self.bracketed(expr))
            out.append("ORDER BY " + " ".join(conditions))
        limitoffset = _get(node, "limitoffset")
        if limitoffset is not None:
            limit, offset = _get(limitoffset, "limit"), _get(limitoffset, "offset")
            if limit is not None:
                out.append(f"LIMIT {int(limit)}")
            if offset is not None:
                if self.max_offset is not None and int(offset) > self.max_offset:
                    raise RenderError(400, f"OFFSET {int(offset)} too large: at most {self.max_offset} accepted.")
                out.append(f"OFFSET {int(offset)}")
        values = _get(node, "valuesClause")
        if values is not None:
            out.append(self.values(values))
        return " ".join(out)

    def select(self, node: CompValue, *, dataset: str = "") -> str:
        head = ["SELECT"]
        modifier = _get(node, "modifier")
        if modifier:
            head.append(str(modifier))
        projection = _get(node, "projection")
        if projection:
            for p in projection:
                if _get(p, "var") is not None:
                    head.append(self.term(p["var"]))
                else:
                    head.append(f"({self.expr(p['expr'])} AS {self.term(p['evar'])})")
        else:
            head.append("*")
        if dataset:
            head.append(dataset)
        head.append("WHERE " + self.group(node["where"]))
        tail = self.modifiers(node)
        return " ".join(head) + (" " + tail if tail else "")

    def query(self, node: CompValue, dataset: str) -> str:
        name = node.name
        if name == "SelectQuery":
            return self.select(node, dataset=dataset)
        tail = self.modifiers(node)
        tail = " " + tail if tail else ""
        ds = " " + dataset if dataset else ""
        if name == "AskQuery":
            return f"ASK{ds} WHERE {self.group(node['where'])}{tail}"
        if name == "ConstructQuery":
            where = node["where"] if _get(node, "where") is not None else None
            if where is not None and where.name == "FakeGroupGraphPatten":
                return f"CONSTRUCT{ds} WHERE {self.group(where)}{tail}"
            template = self.triples(_get(node, "template"))
            self._enter()
            self._leave()
            template = "{ " + template + " }" if template else "{ }"
            return f"CONSTRUCT {template}{ds} WHERE {self.group(where) if where is not None else '{ }'}{tail}"
        if name == "DescribeQuery":
            targets = _get(node, "var")
            what = " ".join(self.term(t) for t in targets) if targets else "*"
            where = f" WHERE {self.group(node['where'])}" if _get(node, "where") is not None else ""
            return f"DESCRIBE {what}{ds}{where}{tail}"
        raise RenderError(400, f"Unsupported query form {name}.")


def _check_text(value: str, what: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RenderError(400, f"The query has a {what} with an unpaired surrogate code point (not Unicode text).") \
            from None


def _atom(text: str) -> str:
    """``text`` as something a postfix or prefix operator may apply to: already atomic, or in parentheses."""
    if text.startswith("<") and text.endswith(">") or text.startswith("?") and " " not in text:
        return text
    if text.startswith("(") and _balanced_outer(text):
        return text
    if text.startswith("!(") and _balanced_outer(text[1:]):
        return text
    return f"({text})"


def _balanced_outer(text: str) -> bool:
    """True when ``text`` is one parenthesised group from its first character to its last (strings and IRIs in
    the canonical text never hold an unescaped quote, so a small scan suffices)."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    in_string = False
    i = 0
    while i < len(text):
        c = text[i]
        if in_string:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c == "<" and i + 1 < len(text) and text[i + 1] not in " =":
            end = text.find(">", i)
            i = end + 1 if end > 0 else i + 1
            continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0 and i != len(text) - 1:
                return False
        i += 1
    return depth == 0


_DATASET = '\x00"DATASET"'  # where the dataset clause goes: no rendered token holds a NUL before a bare quote


def render(prologue_base: str | None, tree: CompValue, *, max_depth: int, max_patterns: int,
           max_offset: int | None = None) -> Rendered:
    """The canonical text of ``tree`` (a query parse tree whose prefixed names and relative IRIs are resolved)."""
    renderer = _Renderer(max_depth, max_patterns, max_offset)
    form = _FORMS.get(tree.name)
    if form is None:
        raise RenderError(400, f"Unsupported query form {tree.name}.")
    default, named = renderer.dataset(tree)
    clauses = " ".join([*(f"FROM {renderer.iri(g)}" for g in default),
                        *(f"FROM NAMED {renderer.iri(g)}" for g in named)])
    body = renderer.query(tree, _DATASET)
    base = f"BASE {renderer.iri(prologue_base)} " if prologue_base else ""
    with_dataset = body.replace(_DATASET, clauses) if clauses else body.replace(" " + _DATASET, "")
    return Rendered(base + with_dataset, base + body.replace(" " + _DATASET, ""), form, tuple(default), tuple(named),
                    renderer.deepest, renderer.patterns)


__all__ = ["RenderError", "Rendered", "render"]
