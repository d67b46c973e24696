"""The query guard: parse every query with rdflib's SPARQL parser and refuse what a public, read-only,
closed endpoint must not run (updates, SERVICE, huge OFFSETs), before any engine sees it."""

from __future__ import annotations

import re
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .errors import QueryError

FORMS = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT", "DescribeQuery": "DESCRIBE"}

# rdflib's parser recurses deeply on long BGPs and nested groups (RecursionError at ~90 patterns with the
# default limit). Queries are parsed in worker processes that can be killed, so a higher limit is safe there.
RECURSION_LIMIT = 20_000


@dataclass(frozen=True)
class Limits:
    max_query_chars: int = 100_000
    max_offset: int = 1_000_000
    service_allowlist: frozenset[str] = frozenset()


@dataclass
class GuardedQuery:
    """A query that passed the guard: its form, its own dataset clause and rdflib's algebra (for the memory engine)."""

    text: str
    form: str  # SELECT | ASK | CONSTRUCT | DESCRIBE
    from_graphs: list[str] = field(default_factory=list)
    from_named: list[str] = field(default_factory=list)
    prepared: Any = None  # rdflib.plugins.sparql.sparql.Query
    base: str | None = None


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


def _walk(root: Any):
    """Every CompValue under ``root`` (iteratively: no recursion limit to hit on deep algebra)."""
    from rdflib.plugins.sparql.parserutils import CompValue

    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, CompValue):
            yield node
            stack.extend(node.values())
        elif isinstance(node, (list, tuple, set, frozenset)):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())


def check_query(text: str, *, base: str | None, prefixes: dict[str, str], limits: Limits) -> GuardedQuery:
    """Parse and check ``text``; raise QueryError(400/403) with a short message when it must not run."""
    if len(text) > limits.max_query_chars:
        raise QueryError(400, f"Query too long: {len(text)} characters, at most {limits.max_query_chars} accepted.")
    if not text.strip():
        raise QueryError(400, "Empty query.")
    from rdflib import URIRef
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old_limit, RECURSION_LIMIT))
    try:
        try:
            parsed = parseQuery(text)
        except RecursionError:
            raise QueryError(400, "Query too deeply nested or too long for the parser.") from None
        except Exception as exc:  # pyparsing.ParseException and friends
            if UPDATE_WORDS.match(text) or _looks_like_update(text):
                raise QueryError(403, "This endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, "
                                      "DROP, CREATE, COPY, MOVE, ADD) is not accepted.") from None
            raise QueryError(400, f"Query syntax error: {_message(exc)}") from None
        try:
            prepared = translateQuery(parsed, base=base, initNs={k: URIRef(v) for k, v in prefixes.items()})
        except RecursionError:
            raise QueryError(400, "Query too deeply nested or too long for the parser.") from None
        except Exception as exc:
            raise QueryError(400, f"Query error: {_message(exc)}") from None
    finally:
        sys.setrecursionlimit(old_limit)

    algebra = prepared.algebra
    form = FORMS.get(algebra.name)
    if form is None:
        raise QueryError(400, f"Unsupported query form {algebra.name}.")
    for node in _walk(algebra):
        if node.name == "ServiceGraphPattern":
            target = str(node.get("term"))
            if target not in limits.service_allowlist:
                raise QueryError(403, f"SERVICE <{target}> refused: this endpoint makes no outbound requests "
                                      "(federated queries are not allowed).")
        elif node.name == "Slice":
            start = node.get("start") or 0
            if start > limits.max_offset:
                raise QueryError(400, f"OFFSET {start} too large: at most {limits.max_offset} accepted.")
    from_graphs: list[str] = []
    from_named: list[str] = []
    for clause in algebra.get("datasetClause") or ():
        if "default" in clause:
            from_graphs.append(str(clause["default"]))
        elif "named" in clause:
            from_named.append(str(clause["named"]))
    return GuardedQuery(text, form, from_graphs, from_named, prepared, base)


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
            raise entry
        return entry
