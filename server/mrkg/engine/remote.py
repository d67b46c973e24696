"""The remote engine: any SPARQL 1.1 endpoint (QLever, Virtuoso, GraphDB, Fuseki, `oxigraph serve`) holding the dumps.

This is how mrkg outgrows one machine: load build/mrkg.nq into a store that scales, and keep mrkg's endpoint,
UI and pages in front of it. Queries reach this engine only after the guard (no updates, no SERVICE), and the
dataset a query names (FROM, FROM NAMED, default-graph-uri, named-graph-uri) is confined to the dataset's own
graphs: unknown graphs are sent as an empty placeholder, never as an IRI to fetch, and the query's own FROM /
FROM NAMED clauses are taken out of the text sent (the protocol parameters carry the dataset; Virtuoso would
otherwise merge the two). The client makes no other requests: no redirects, no proxies, one URL. Its socket
timeout is the query time limit; the worker deadline (pool.py) stops it in any case.

The processes that evaluate queries cannot open network sockets (sandbox.py), so before they are forked
(``before_fork``) the backend starts a ``sandbox.Forwarder`` to the endpoint's host and port, and from then on
every request goes over that forwarder's private Unix socket (TLS, for https, still end to end with the store):
the configured store is the only address these processes can reach. The store evaluates queries on its own, so
it must not federate either: see the README (Safety).

The dataset's graphs are the ones it is given (``graphs``: the build's manifest lists them), or else every
graph the store holds except the store's own (Virtuoso keeps its metadata in graphs of its own: STORE_GRAPHS).
When the store holds any graph outside the dataset, every query names the dataset explicitly (its graphs as
both default-graph-uri and named-graph-uri), so the default graph is the union of the dataset's graphs and
``GRAPH ?g`` ranges over them only. Otherwise the remote endpoint's default graph must be the union of its named
graphs, as mrkg's is (`oxigraph serve --union-default-graph`; Fuseki `tdb2:unionDefaultGraph true`; Virtuoso
and QLever do so).

An answer is taken whole or not at all: cut short or malformed (502), flagged incomplete by the store (Virtuoso's
``X-SQL-State``, e.g. S1TAT when an "anytime" query ran out of time: 503), or cut at the store's own row limit
(Virtuoso's ``X-SPARQL-MaxRows``: an error as soon as more rows than it sent are needed). Virtuoso cuts CONSTRUCT
and DESCRIBE answers at its ResultSetMaxRows without saying so: set it above mrkg's max_rows. Virtuoso 7.2 also
answers ASK and COUNT(*) over ``GRAPH <g> { ... }`` with <g> outside the query's named graphs as if the group
matched once (true, 1), where SELECT rightly finds no rows; that is its bug, and it shows whenever a dataset is
named, which is every query when Virtuoso holds graphs outside the dataset (tests/test_remote.py keeps it in view).
"""

from __future__ import annotations

import functools
import http.client
import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterable, Iterator

import pyoxigraph as ox

from .base import Backend, DatasetSpec, Outcome, check_loadable
from .errors import ConfigurationError, EngineError, QueryError, QueryTimeoutError
from .guard import GuardedQuery
from .sandbox import Forwarder

# A graph IRI no store holds: it stands for "an unknown graph", which is empty (a urn: is never dereferenced).
EMPTY_GRAPH = "urn:mrkg:empty-graph"
USER_AGENT = "mrkg-remote/1 (SPARQL 1.1 protocol client)"
RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"
# Graphs a store keeps for itself, in every database it creates: never part of a dataset loaded into it.
STORE_GRAPHS = frozenset({
    "http://www.openlinksw.com/schemas/virtrdf#",  # Virtuoso: its quad-map (RDF view) metadata
    "http://www.w3.org/ns/ldp#",  # Virtuoso: the Linked Data Platform vocabulary
    "http://localuriqaserver/sparql",  # Virtuoso: its service description
})
# Virtuoso 7.2 answers ASK over HTTP with solutions of this one variable: one row (1) for true, none for false.
VIRTUOSO_ASK = "__ASK_RETVAL"
# ODBC's SQLSTATE for "timeout expired", which Virtuoso reports when its MaxQueryExecutionTime stops a query.
TIMEOUT_STATE = re.compile(r"\b(?:S1T00|HYT00)\b")
MALFORMED = "The remote SPARQL endpoint's answer was cut short or malformed."


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401, ARG002
        return None  # a redirect is answered as the error it is, never followed to another host


def _unix_socket(path: str, timeout) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # noqa: SLF001 - the sentinel urllib passes for "no timeout"
        sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


class _ForwardedHTTP(http.client.HTTPConnection):
    """HTTP to the endpoint, over the forwarder's Unix socket (the Host header and URL are the endpoint's)."""

    def __init__(self, *args, via: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.via = via

    def connect(self) -> None:
        self.sock = _unix_socket(self.via, self.timeout)


class _ForwardedHTTPS(http.client.HTTPSConnection):
    """HTTPS to the endpoint over the forwarder's Unix socket: TLS (certificate and host name checked) end to end."""

    def __init__(self, *args, via: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.via = via

    def connect(self) -> None:
        self.sock = self._context.wrap_socket(_unix_socket(self.via, self.timeout), server_hostname=self.host)


class _ForwardedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, via: str) -> None:
        super().__init__()
        self.via = via

    def http_open(self, req):
        return self.do_open(functools.partial(_ForwardedHTTP, via=self.via), req)


class _ForwardedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, via: str) -> None:
        super().__init__()
        self.via = via

    def https_open(self, req):
        return self.do_open(functools.partial(_ForwardedHTTPS, via=self.via), req, context=self._context)


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip().splitlines()
    return (text[0] if text else "").strip()[:300]


class RemoteBackend(Backend):
    name = "remote"
    releases_gil = True  # it waits on a socket

    def __init__(self, endpoint: str | None = None, *, timeout: float = 30.0, max_bytes: int = 256 * 1024 * 1024,
                 prefixes: dict[str, str] | None = None, graphs: Iterable[str] | None = None) -> None:
        if not endpoint or not isinstance(endpoint, str):
            raise ConfigurationError("The remote engine needs the URL of a SPARQL 1.1 endpoint: set remote_endpoint "
                                     "(MRKG_REMOTE_ENDPOINT=http://host:port/sparql).")
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigurationError(f"remote_endpoint {endpoint!r} is not an http(s) URL of a SPARQL endpoint.")
        if isinstance(graphs, str):
            raise ConfigurationError("graphs must be a list of graph IRIs, not one string.")
        self.endpoint = endpoint
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._given = None if graphs is None else frozenset(graphs)
        self._graphs: list[str] | None = None
        self._confined = False  # the store holds graphs outside the dataset: every query names the dataset
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
        self._forwarder: Forwarder | None = None

    # --- the way out of the network wall ------------------------------------------------------------------

    def before_fork(self) -> None:
        """Start the forwarder to the endpoint (once) and send every request through it from now on."""
        if self._forwarder is not None:
            return
        parts = urllib.parse.urlsplit(self.endpoint)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self._forwarder = Forwarder(parts.hostname, port).start()
        via = self._forwarder.path
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect(),
                                                   _ForwardedHTTPHandler(via), _ForwardedHTTPSHandler(via))

    @property
    def forwarder(self) -> Forwarder | None:
        return self._forwarder

    def close(self) -> None:
        """Stop the forwarder (only in the process that started it)."""
        if self._forwarder is not None:
            self._forwarder.close()

    # --- the protocol client ------------------------------------------------------------------------

    def _post(self, text: str, accept: str, dataset: DatasetSpec | None = None) -> tuple[bytes, int | None]:
        """The answer's body, and the row limit the store says it cut the answer at (None: not cut)."""
        fields: list[tuple[str, str]] = [("query", text)]
        if dataset is not None:
            known = set(self.graph_names())
            default = [g for g in dataset.default if g in known] or [EMPTY_GRAPH]
            named = [g for g in dataset.named if g in known] or [EMPTY_GRAPH]
            fields += [("default-graph-uri", g) for g in default] + [("named-graph-uri", g) for g in named]
        request = urllib.request.Request(
            self.endpoint, data=urllib.parse.urlencode(fields).encode("ascii"), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": accept, "User-Agent": USER_AGENT})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body = response.read(self.max_bytes + 1)
                headers = response.headers
        except urllib.error.HTTPError as exc:
            detail = _first_line(exc.read(4096) or b"") or exc.reason
            if TIMEOUT_STATE.search(detail):
                raise QueryTimeoutError(503, f"The remote SPARQL endpoint stopped the query at its time limit: "
                                             f"{detail}") from None
            if 400 <= exc.code < 500:
                raise QueryError(400, f"The remote SPARQL endpoint refused the query ({exc.code}): {detail}") from None
            raise EngineError(502, f"The remote SPARQL endpoint failed ({exc.code}): {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise EngineError(504, f"The remote SPARQL endpoint did not answer within {self.timeout:g} s.") \
                    from None
            raise EngineError(503, f"The remote SPARQL endpoint is not reachable: {reason}.") from None
        if len(body) > self.max_bytes:
            raise EngineError(502, f"The remote SPARQL endpoint's answer exceeds {self.max_bytes} bytes.")
        state = (headers.get("X-SQL-State") or "").strip()
        if state:  # Virtuoso: the answer is incomplete (S1TAT: an "anytime" query interrupted at its time limit)
            detail = " ".join((headers.get("X-SQL-Message") or "").split())[:200]
            if state == "S1TAT" or TIMEOUT_STATE.search(state):
                raise QueryTimeoutError(503, f"The remote SPARQL endpoint stopped the query at its time limit and "
                                             f"sent an incomplete answer ({state}: {detail}).")
            raise EngineError(502, f"The remote SPARQL endpoint flagged its answer as incomplete ({state}: {detail}).")
        cut = headers.get("X-SPARQL-MaxRows")
        try:
            return body, int(cut) if cut else None
        except ValueError:
            raise EngineError(502, f"The remote SPARQL endpoint sent X-SPARQL-MaxRows: {cut[:40]!r}.") from None

    def _select(self, text: str, dataset: DatasetSpec | None = None) -> list[tuple]:
        body, cut = self._post(text, RESULTS_JSON, dataset)
        parsed = _read_results(body)
        if isinstance(parsed, bool):
            raise EngineError(502, "The remote SPARQL endpoint answered a SELECT query with a boolean.")
        return list(_within(parsed[1], cut))

    def _dataset(self, dataset: DatasetSpec | None) -> DatasetSpec | None:
        """The dataset to name in the request: the query's own, or the whole dataset when the store holds more."""
        if dataset is None:
            graphs = tuple(self.graph_names())
            if self._confined:
                return DatasetSpec(graphs, graphs)
        return dataset

    # --- the Backend interface ---------------------------------------------------------------------------

    def load(self, path: Path, *, graph: str | None = None) -> None:
        check_loadable(Path(path))  # the same refusal of unsafe formats as every engine
        raise ConfigurationError(f"The remote engine is read-only: load {Path(path).name} with the remote store's own "
                                 "loader (`oxigraph load`, Virtuoso's ld_dir, QLever's index builder, tdb2.tdbloader).")

    def graph_names(self) -> list[str]:
        if self._graphs is None:  # the graphs of a served dataset do not change while it is served
            # Not `GRAPH ?g { }`, which Virtuoso answers with one empty solution, nor SELECT DISTINCT, which takes
            # it seconds where GROUP BY takes milliseconds.
            rows = self._select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
            held = {row[0].value for row in rows if isinstance(row[0], ox.NamedNode)}
            ours = held & self._given if self._given is not None else held - STORE_GRAPHS
            self._confined = ours != held
            self._graphs = sorted(ours)
        return list(self._graphs)

    def __len__(self) -> int:
        rows = self._select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }", self._dataset(None))
        return int(rows[0][0].value) if rows else 0

    def evaluate(self, query: GuardedQuery, dataset: DatasetSpec | None, prefixes: dict[str, str]) -> Outcome:
        # The canonical text of the guard's parse (engine/canonical.py): full IRIs, its own BASE, and no dataset
        # clause (the dataset goes as protocol parameters, and only there).
        text = query.without_dataset or query.text
        dataset = self._dataset(dataset)
        if query.form in {"SELECT", "ASK"}:
            body, cut = self._post(text, RESULTS_JSON, dataset)
            parsed = _read_results(body)
            if query.form == "ASK":
                return _boolean(parsed)
            if isinstance(parsed, bool):
                raise EngineError(502, "The remote SPARQL endpoint answered a SELECT query with a boolean.")
            variables, rows = parsed
            return variables, _within(rows, cut)
        body, cut = self._post(text, N_TRIPLES, dataset)
        try:
            triples = [quad.triple for quad in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]
        except SyntaxError:
            raise EngineError(502, MALFORMED) from None
        return _within(triples, cut)


def _within(items: list, cut: int | None) -> Iterator:
    """The items, then (when the store cut its answer at ``cut`` rows) an error for whoever asks for more."""
    yield from items
    if cut is not None and len(items) >= cut:
        raise EngineError(502, f"The remote SPARQL endpoint cut the answer at its own row limit ({cut} rows; "
                               "Virtuoso's ResultSetMaxRows): raise that limit above mrkg's max_rows.")


# --- SPARQL 1.1 Query Results JSON, as stores really write it ------------------------------------------------

def _read_results(body: bytes) -> bool | tuple[list[str], list]:
    """A boolean, or (variables, rows of pyoxigraph terms). pyoxigraph reads it, or, when it refuses the answer,
    the slower reader below, which takes Virtuoso's blank node labels (``nodeID://b10001``) too."""
    try:
        parsed = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        if isinstance(parsed, ox.QueryBoolean):
            return bool(parsed)
        return [v.value for v in parsed.variables], list(parsed)
    except SyntaxError:
        return _read_json_results(body)


def _read_json_results(body: bytes) -> bool | tuple[list[str], list[tuple]]:
    try:
        doc = json.loads(body)
        if "boolean" in doc:
            if not isinstance(doc["boolean"], bool):
                raise ValueError("boolean")
            return doc["boolean"]
        variables = [str(v) for v in doc["head"].get("vars", [])]
        blanks: dict[str, ox.BlankNode] = {}
        rows = [tuple(_term(binding[v], blanks) if v in binding else None for v in variables)
                for binding in doc["results"]["bindings"]]
        return variables, rows
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise EngineError(502, MALFORMED) from None


def _term(value: dict, blanks: dict[str, ox.BlankNode]):
    kind = value["type"]
    if kind == "uri":
        return ox.NamedNode(value["value"])
    if kind in {"literal", "typed-literal"}:
        if value.get("xml:lang"):
            return ox.Literal(value["value"], language=value["xml:lang"])
        if value.get("datatype"):
            return ox.Literal(value["value"], datatype=ox.NamedNode(value["datatype"]))
        return ox.Literal(value["value"])
    if kind == "bnode":
        label = value["value"]
        if label not in blanks:  # the same label is the same node within one answer
            try:
                blanks[label] = ox.BlankNode(label)
            except ValueError:
                blanks[label] = ox.BlankNode("x" + label.encode("utf-8").hex())
        return blanks[label]
    if kind == "triple":
        inner = value["value"]
        return ox.Triple(_term(inner["subject"], blanks), _term(inner["predicate"], blanks),
                         _term(inner["object"], blanks))
    raise ValueError(kind)


def _boolean(parsed: bool | tuple[list[str], list[tuple]]) -> bool:
    if isinstance(parsed, bool):
        return parsed
    variables, rows = parsed
    if variables == [VIRTUOSO_ASK]:
        return any(row[0] is not None and row[0].value not in {"0", "false"} for row in rows)
    raise EngineError(502, "The remote SPARQL endpoint answered an ASK query with solutions, not a boolean.")
