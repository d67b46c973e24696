"""The remote engine: any SPARQL 1.1 endpoint (QLever, Virtuoso, GraphDB, Fuseki, `oxigraph serve`) holding the dumps.

This is how mrkg outgrows one machine: load build/mrkg.nq into a store that scales, and keep mrkg's endpoint,
UI and pages in front of it. Queries reach this engine only after the guard (no updates, no SERVICE), and the
dataset a query names (FROM, FROM NAMED, default-graph-uri, named-graph-uri) is confined to the remote
endpoint's own graphs: unknown graphs are sent as an empty placeholder, never as an IRI to fetch. The client
makes no other requests: no redirects, no proxies, one URL. Its socket timeout is the query time limit; the
worker deadline (pool.py) stops it in any case.

The remote endpoint's default graph must be the union of its named graphs, as mrkg's is
(`oxigraph serve --union-default-graph`; Fuseki `tdb2:unionDefaultGraph true`; Virtuoso and QLever do so).
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
import pyoxigraph as ox

from .base import Backend, DatasetSpec, Outcome, check_loadable
from .errors import ConfigurationError, EngineError, QueryError
from .guard import GuardedQuery

# A graph IRI no store holds: it stands for "an unknown graph", which is empty (a urn: is never dereferenced).
EMPTY_GRAPH = "urn:mrkg:empty-graph"
USER_AGENT = "mrkg-remote/1 (SPARQL 1.1 protocol client)"
RESULTS_JSON = "application/sparql-results+json"
N_TRIPLES = "application/n-triples"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401, ARG002
        return None  # a redirect is answered as the error it is, never followed to another host


def _first_line(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip().splitlines()
    return (text[0] if text else "").strip()[:300]


class RemoteBackend(Backend):
    name = "remote"
    releases_gil = True  # it waits on a socket

    def __init__(self, endpoint: str | None = None, *, timeout: float = 30.0, max_bytes: int = 256 * 1024 * 1024,
                 prefixes: dict[str, str] | None = None) -> None:
        if not endpoint or not isinstance(endpoint, str):
            raise ConfigurationError("The remote engine needs the URL of a SPARQL 1.1 endpoint: set remote_endpoint "
                                     "(MRKG_REMOTE_ENDPOINT=http://host:port/sparql).")
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigurationError(f"remote_endpoint {endpoint!r} is not an http(s) URL of a SPARQL endpoint.")
        self.endpoint = endpoint
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._graphs: list[str] | None = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())

    # --- the protocol client ------------------------------------------------------------------------

    def _post(self, text: str, accept: str, dataset: DatasetSpec | None = None) -> bytes:
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
        except urllib.error.HTTPError as exc:
            detail = _first_line(exc.read(4096) or b"") or exc.reason
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
        return body

    def _select(self, text: str) -> list[ox.QuerySolution]:
        return list(_parse_results(self._post(text, RESULTS_JSON)))

    # --- the Backend interface ---------------------------------------------------------------------------

    def load(self, path: Path, *, graph: str | None = None) -> None:
        check_loadable(Path(path))  # the same refusal of unsafe formats as every engine
        raise ConfigurationError(f"The remote engine is read-only: load {Path(path).name} with the remote store's own "
                                 "loader (`oxigraph load`, Virtuoso's ld_dir, QLever's index builder, tdb2.tdbloader).")

    def graph_names(self) -> list[str]:
        if self._graphs is None:  # the graphs of a served dataset do not change while it is served
            rows = self._select("SELECT DISTINCT ?g WHERE { GRAPH ?g { } }")
            self._graphs = sorted(row[0].value for row in rows if isinstance(row[0], ox.NamedNode))
        return list(self._graphs)

    def __len__(self) -> int:
        rows = self._select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        return int(rows[0][0].value) if rows else 0

    def evaluate(self, query: GuardedQuery, dataset: DatasetSpec | None, prefixes: dict[str, str]) -> Outcome:
        text = _prologue(query.base, prefixes) + query.text
        if query.form in {"SELECT", "ASK"}:
            parsed = _parse_results(self._post(text, RESULTS_JSON, dataset))
            if isinstance(parsed, ox.QueryBoolean):
                return bool(parsed)
            try:  # read it all now: a body cut short (e.g. a server-side timeout) is an error, not fewer rows
                rows = list(parsed)
            except SyntaxError:
                raise EngineError(502, "The remote SPARQL endpoint's answer was cut short or malformed.") from None
            return [v.value for v in parsed.variables], iter(rows)
        body = self._post(text, N_TRIPLES, dataset)
        try:
            return [quad.triple for quad in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]
        except SyntaxError:
            raise EngineError(502, "The remote SPARQL endpoint's answer was cut short or malformed.") from None


def _prologue(base: str | None, prefixes: dict[str, str]) -> str:
    """The endpoint's base IRI and default prefixes, declared ahead of the query (its own declarations win)."""
    lines = [f"BASE <{base}>"] if base else []
    lines += [f"PREFIX {name}: <{iri}>" for name, iri in prefixes.items()]
    return "\n".join(lines) + "\n" if lines else ""


def _parse_results(body: bytes):
    try:
        return ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
    except SyntaxError:
        raise EngineError(502, "The remote SPARQL endpoint's answer was cut short or malformed.") from None

