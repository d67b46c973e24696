"""The query guard: bound the text's size, parse it once with rdflib's SPARQL parser, refuse what a public,
read-only, closed endpoint must not run (updates, SERVICE, huge OFFSETs, nesting the engines cannot take), and
hand on the canonical rendering of that one parse (canonical.py): the only text any engine evaluates."""

from __future__ import annotations

import re
import sys
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .errors import QueryError

# rdflib's parser recurses deeply on long BGPs and nested groups (RecursionError at ~90 patterns with the
# default limit). Queries are parsed in worker processes that can be killed, so a higher limit is safe there.
RECURSION_LIMIT = 20_000


@dataclass(frozen=True)
class Limits:
    """What a query may be. The first three are counted on the raw text before any parser runs (milliseconds);
    depth and patterns are measured exactly on the parse, before an engine sees the query."""

    max_query_chars: int = 100_000
    max_query_groups: int = 256  # "{", "(", "[" and \u escapes anywhere in the text
    max_query_operators: int = 512  # operator characters and pattern keywords
    max_query_depth: int = 48  # nesting of groups, sub-expressions, paths and calls in the parse
    max_query_patterns: int = 256  # triple patterns in the parse
    max_offset: int = 1_000_000


@dataclass
class GuardedQuery:
    """A query that passed the guard. ``text`` is the canonical rendering of the guard's own parse (canonical.py):
    the only text any engine evaluates, and the result cache's key."""

    text: str
    form: str  # SELECT | ASK | CONSTRUCT | DESCRIBE
    from_graphs: list[str] = field(default_factory=list)
    from_named: list[str] = field(default_factory=list)
    base: str | None = None
    without_dataset: str = ""  # ``text`` without FROM / FROM NAMED (engines given the dataset apart)
    _prepared: Any = field(default=None, repr=False)

    @property
    def prepared(self) -> Any:
        """rdflib's algebra of ``text`` (the memory engine evaluates it), made on first use."""
        if self._prepared is None:
            from rdflib.plugins.sparql.algebra import translateQuery
            from rdflib.plugins.sparql.parser import parseQuery

            with _deep_recursion():
                self._prepared = translateQuery(parseQuery(self.text))
        return self._prepared


def _message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _looks_like_update(text: str) -> bool:
    from rdflib.plugins.sparql.parser import parseUpdate

    try:
        parseUpdate(text)
    except BaseException:  # noqa: BLE001 - any failure means "not an update"
        return False
    return True


UPDATE_WORDS = re.compile(
    r"^\s*(?:(?:PREFIX\s+\S*\s*<[^>]*>|BASE\s*<[^>]*>)\s*)*"
    r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b",
    re.IGNORECASE,
)
READ_ONLY = ("This endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, DROP, CREATE, COPY, MOVE, "
             "ADD) is not accepted.")

# Counted on the raw text, with no lexing that a crafted text could mislead into skipping anything that counts,
# except IRI-like spans for the characters IRIs are full of ("-", "/"): hiding operators there only makes the
# guard's own parse slower, which the query deadline bounds; what reaches an engine is measured exactly later.
_GROUP_CHARS = re.compile(r"[{(\[]|\\[uU]")
_IRI_LIKE = re.compile(r"<[^\s<>\"{}|^`\\()\[\]]*>")
_OPERATORS = re.compile(r"[-+*/|&=!^<>]|\\[uU]|\b(?:UNION|OPTIONAL|MINUS|BIND|FILTER|VALUES|EXISTS|GRAPH)\b",
                        re.IGNORECASE)


def check_size(text: str, limits: Limits) -> None:
    """Refuse, in milliseconds and before any parser, a text too long or with too many groups or operators."""
    if len(text) > limits.max_query_chars:
        raise QueryError(400, f"Query too long: {len(text)} characters, at most {limits.max_query_chars} accepted.")
    groups = len(_GROUP_CHARS.findall(text))
    if groups > limits.max_query_groups:
        raise QueryError(400, f"Query too complex: {groups} opening brackets and braces, at most "
                              f"{limits.max_query_groups} accepted (setting max_query_groups).")
    operators = len(_OPERATORS.findall(_IRI_LIKE.sub(" ", text)))
    if operators > limits.max_query_operators:
        raise QueryError(400, f"Query too complex: {operators} operators and pattern keywords, at most "
                              f"{limits.max_query_operators} accepted (setting max_query_operators).")


class _deep_recursion:
    """rdflib's parser and the renderer recurse deeply; the limit is raised only around them (and restored)."""

    def __enter__(self) -> None:
        self.old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.old, RECURSION_LIMIT))

    def __exit__(self, *exc: object) -> None:
        sys.setrecursionlimit(self.old)


def _construct_where_spelled_out(tree: Any) -> Any:
    """``CONSTRUCT WHERE { T }`` as the ``CONSTRUCT { T } WHERE { T }`` it stands for (SPARQL 1.1 section 16.2.4):
    rdflib's engine fails on the short form as soon as a solution modifier follows (``... LIMIT 5``)."""
    from rdflib.plugins.sparql.parserutils import CompValue

    where = dict.get(tree, "where")
    if tree.name == "ConstructQuery" and isinstance(where, CompValue) and where.name == "FakeGroupGraphPatten":
        parts = list(dict.get(where, "part") or [])
        tree["template"] = [block for part in parts for block in (dict.get(part, "triples") or [])]
        tree["where"] = CompValue("GroupGraphPatternSub", part=parts)
    return tree


_PN_LOCAL_ESC = re.compile(r"\\([_~.\-!$&'()*+,;=/?#@%])")


def _unescaped_local_name(node: Any) -> Any:
    """A prefixed name's local part with its PN_LOCAL_ESC escapes removed (``ex:a\\#b`` is ``ex:`` + ``a#b``, as
    SPARQL 1.1 section 19.5 says; rdflib keeps the backslash)."""
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(node, CompValue) and node.name == "pname" and "\\" in (dict.get(node, "localname") or ""):
        node["localname"] = _PN_LOCAL_ESC.sub(r"\1", node["localname"])
    return node


def _parse(text: str, base: str | None, prefixes: dict[str, str], limits: Limits, *, initial: bool):
    """rdflib's parse of ``text`` (prefixed names and relative IRIs resolved), and its canonical rendering."""
    import functools

    from rdflib import URIRef
    from rdflib.plugins.sparql.algebra import translatePName, translatePrologue, traverse
    from rdflib.plugins.sparql.parser import parseQuery

    from .canonical import render

    try:
        parsed = parseQuery(text)
    except RecursionError:
        raise QueryError(400, "Query too deeply nested or too long for the parser.") from None
    except Exception as exc:  # pyparsing.ParseException, ValueError for a bad \u escape, and friends
        if initial and (UPDATE_WORDS.match(text) or _looks_like_update(text)):
            raise QueryError(403, READ_ONLY) from None
        raise QueryError(400, f"Query syntax error: {_message(exc)}") from None
    try:
        prologue = translatePrologue(parsed[0], base, {k: URIRef(v) for k, v in prefixes.items()})
        resolve = functools.partial(translatePName, prologue=prologue)
        tree = traverse(parsed[1], visitPost=lambda node: resolve(_unescaped_local_name(node)))
    except RecursionError:
        raise QueryError(400, "Query too deeply nested or too long for the parser.") from None
    except Exception as exc:  # an unknown prefix, a bad IRI
        raise QueryError(400, f"Query error: {_message(exc)}") from None
    tree = _construct_where_spelled_out(tree)
    rendered = render(prologue.base or None, tree, max_depth=limits.max_query_depth,
                      max_patterns=limits.max_query_patterns, max_offset=limits.max_offset)
    return rendered, tree


def fingerprint(tree: Any) -> Counter:
    """What a parse says, as a multiset: every operator, pattern, call and modifier, and every term (blank nodes
    as one kind, since the rendering numbers them). The parser's single-child wrappers and the parentheses the
    renderer adds leave it unchanged; dropping or changing anything changes it."""
    from rdflib import BNode, Literal, URIRef, Variable
    from rdflib.plugins.sparql.parserutils import CompValue

    counts: Counter = Counter()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, CompValue):
            if node.name not in _WRAPPERS:
                counts[node.name] += 1
            for key, value in node.items():
                if isinstance(value, str) and not isinstance(value, (URIRef, Literal, Variable, BNode)):
                    if value:
                        counts[f"{key}={value}"] += 1
                else:
                    stack.append(value)
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, BNode):
            counts["bnode"] += 1
        elif isinstance(node, (URIRef, Literal, Variable)):
            counts[f"{type(node).__name__}:{node.n3()}"] += 1
        elif isinstance(node, str):
            counts[f"str={node}"] += 1
    return counts


# Parse-tree nodes that only wrap one child, or group what the rendering writes as a flat list.
_WRAPPERS = frozenset({"ConditionalOrExpression", "ConditionalAndExpression", "RelationalExpression",
                       "AdditiveExpression", "MultiplicativeExpression", "PathAlternative", "PathSequence",
                       "PathElt", "TriplesBlock", "GroupGraphPatternSub", "vars"})


def check_query(text: str, *, base: str | None, prefixes: dict[str, str], limits: Limits) -> GuardedQuery:
    """Parse and check ``text``; raise QueryError(400/403) with a short message when it must not run.

    The query is parsed once; what runs is the canonical rendering of that parse. The rendering is parsed again
    and must say exactly what the first parse said (the same fingerprint) and render to itself: a renderer that
    dropped or changed anything fails here, with a 400, instead of running another query.
    """
    check_size(text, limits)
    if not text.strip():
        raise QueryError(400, "Empty query.")
    with _deep_recursion():
        rendered, tree = _parse(text, base, prefixes, limits, initial=True)
        try:
            again, tree_again = _parse(rendered.text, None, {}, limits, initial=False)
            same = again.text == rendered.text and fingerprint(tree_again) == fingerprint(tree)
        except QueryError:
            same = False
    if not same:
        raise QueryError(400, "This query could not be checked: its canonical form does not read back the same. "
                              "Please report it.")
    return GuardedQuery(rendered.text, rendered.form, list(rendered.from_graphs), list(rendered.from_named), base,
                        rendered.without_dataset)


class GuardCache:
    """Parsing costs rdflib milliseconds per query; endpoints see the same queries again and again.

    Safe to share between threads: rdflib's parser (pyparsing) and translator are not thread-safe, and the
    recursion limit is process-wide, so one query is parsed at a time in a process (a cache hit takes no lock
    beyond the dictionary's).
    """

    def __init__(self, limits: Limits, prefixes: dict[str, str], size: int = 256) -> None:
        self.limits = limits
        self.prefixes = prefixes
        self.size = size
        self._entries: OrderedDict[tuple[str, str | None], GuardedQuery | QueryError] = OrderedDict()
        self._parse_lock = threading.Lock()
        self._lock = threading.Lock()

    def check(self, text: str, base: str | None) -> GuardedQuery:
        key = (text, base)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is None:
            with self._parse_lock:
                try:
                    entry = check_query(text, base=base, prefixes=self.prefixes, limits=self.limits)
                except QueryError as exc:
                    entry = exc
            with self._lock:
                self._entries[key] = entry
                if len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        if isinstance(entry, QueryError):
            # A fresh exception each time: raising the memoised one again would chain this raise's frames onto its
            # traceback, which would grow (holding every request's frames) with each refusal of the same text.
            raise type(entry)(entry.status, entry.message)
        return entry
