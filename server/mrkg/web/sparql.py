"""The SPARQL 1.1 Protocol endpoint at /sparql: read-only, closed, limited; GET without a query describes itself."""

from __future__ import annotations

import hashlib
import re

from typing import Callable

from flask import Blueprint, Response, g, request
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from werkzeug.wrappers import Request

from ..engine import EngineError
from ..engine.runner import Job
from .service import service
from .ops import text_response

bp = Blueprint("sparql", __name__)

READ_ONLY = ("This endpoint is read-only: SPARQL Update is not accepted (no update= parameter, "
             "no application/sparql-update body).")
ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*")
QUERY_TYPES = "application/x-www-form-urlencoded or application/sparql-query"
TEXT_PLAIN = "text/plain; charset=utf-8"


class ProtocolError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _request():
    """The request itself: one proxy lookup instead of one per attribute (the hot path)."""
    return request._get_current_object()


def _charset_ok() -> bool:
    charset = request.mimetype_params.get("charset", "utf-8").strip().lower()
    return charset in {"utf-8", "utf8"}


def read_request() -> tuple[list[str], MultiDict]:
    """The query texts and the other parameters of a protocol request (GET or either POST form)."""
    request = _request()
    if request.method == "GET":
        if "update" in request.args:
            raise ProtocolError(403, READ_ONLY)
        return request.args.getlist("query"), request.args
    mimetype = request.mimetype
    if mimetype == "application/x-www-form-urlencoded":
        if not _charset_ok():
            raise ProtocolError(415, "Form bodies must be UTF-8.")
        form = request.form
        if "update" in form or "update" in request.args:
            raise ProtocolError(403, READ_ONLY)
        return form.getlist("query") + request.args.getlist("query"), CombinedMultiDict([request.args, form])
    if mimetype == "application/sparql-query":
        if not _charset_ok():
            raise ProtocolError(415, "application/sparql-query bodies must be UTF-8 "
                                     f"(charset={request.mimetype_params.get('charset')} given).")
        try:
            text = request.get_data(cache=False).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(400, "The query is not valid UTF-8.") from None
        return [text] + request.args.getlist("query"), request.args
    if mimetype == "application/sparql-update":
        raise ProtocolError(403, READ_ONLY)
    if not mimetype:
        raise ProtocolError(415, f"POST needs a Content-Type: {QUERY_TYPES}.")
    raise ProtocolError(415, f"Unsupported Content-Type {mimetype}: use {QUERY_TYPES}.")


def _graph_list(params: MultiDict, name: str) -> list[str] | None:
    values = params.getlist(name)
    for value in values:
        if not ABSOLUTE_IRI.fullmatch(value):
            shown = value if len(value) <= 100 else value[:100] + "…"  # never echo a whole parameter
            raise ProtocolError(400, f"{name} must be an absolute IRI, got {shown!r}.")
    return values or None


_BASES: dict[tuple, str] = {}


def base_iri(environ: dict | None = None) -> str:
    """The request URL without its query string: the base IRI of the query (werkzeug's ``base_url``, memoised,
    since it costs tens of microseconds a request and is the same for nearly every request). ``environ``: a WSGI
    request outside Flask (web/lean.py); else Flask's current one."""
    env = request.environ if environ is None else environ
    key = (env.get("wsgi.url_scheme"), env.get("HTTP_HOST"), env.get("SERVER_NAME"), env.get("SERVER_PORT"),
           env.get("SCRIPT_NAME"), env.get("PATH_INFO"))
    base = _BASES.get(key)
    if base is None:
        if len(_BASES) >= 64:  # Host headers are the client's: never let them grow this without bound
            _BASES.clear()
        base = _BASES[key] = request.base_url if environ is None else Request(environ).base_url
    return base


Headers = list[tuple[str, str]]
NOT_MODIFIED = 304


_TAGS: dict[tuple, tuple[str, str]] = {}


def _tags(release: str, text: str, default_graphs: list[str] | None, named_graphs: list[str] | None,
          accept: str | None, fmt: str | None, base: str) -> tuple[str, str]:
    """The variant's ETag (the release, then a digest of everything the answer depends on) and the query's digest
    for the access log; memoised for requests without protocol graphs (nearly all), as clients repeat themselves."""
    key = (release, text, accept, fmt, base) \
        if default_graphs is None and named_graphs is None and len(text) <= 8192 else None  # a small memo
    tags = _TAGS.get(key) if key is not None else None
    if tags is None:
        encoded = text.encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(b"\x1f".join((encoded, *(str(part).encode("utf-8", "surrogatepass") for part in (
            default_graphs, named_graphs, accept, fmt, base))))).hexdigest()[:16]
        tags = f"{release[:16]}-{digest}", hashlib.sha256(encoded).hexdigest()[:12]
        if key is not None:
            if len(_TAGS) >= 256:  # the texts and headers are the clients': never let the memo grow without bound
                _TAGS.clear()
            _TAGS[key] = tags
    return tags


def protocol_answer(svc, text: str, *, default_graphs: list[str] | None, named_graphs: list[str] | None,
                    fmt: str | None, accept: str | None, base: str, log_extra: dict,
                    not_modified: Callable[[str], bool] | None = None,
                    environ: dict | None = None) -> tuple[int, Headers, bytes]:
    """The answer to one protocol query, once its parameters are read: (status, headers, body). Every header the
    route sets, in its order, Content-Type included; not Content-Length, nor what every response gets (ops.finish).
    Both the Flask route and the lean path (web/lean.py) answer through this one function.

    ``log_extra`` gets the access log's fields (query_sha, rows, truncated); ``not_modified(etag)``: whether the
    client has that variant already (GET with If-None-Match); ``environ``: the WSGI request when outside Flask.
    The caller has checked the text's length (the route refuses a long one; the lean path hands it to the route)."""
    etag, log_extra["query_sha"] = _tags(svc.release.etag, text, default_graphs, named_graphs, accept, fmt, base)
    if not_modified is not None and not_modified(etag):
        return NOT_MODIFIED, [("ETag", f'"{etag}"'), ("Vary", "Accept")], b""
    try:
        answer = svc.run(Job(text, base, accept, fmt, default_graphs, named_graphs), environ=environ,
                         log_extra=log_extra)
    except EngineError as exc:
        headers = [("Retry-After", "1")] if exc.status == 503 else []
        headers += [("Content-Type", TEXT_PLAIN), ("Vary", "Accept")]
        return exc.status, headers, (exc.message.rstrip("\n") + "\n").encode("utf-8")
    headers = [*answer.headers.items(), ("Vary", "Accept")]  # answer.headers: e.g. MRKG-Cache: hit / miss
    log_extra["rows"] = answer.rows
    log_extra["truncated"] = answer.truncated
    if answer.status == 200:
        headers += [("ETag", f'"{etag}"'), ("Cache-Control", "public, max-age=0, must-revalidate")]
        if answer.rows is not None:
            headers.append(("MRKG-Rows", str(answer.rows)))
        if answer.truncated:
            headers += [("MRKG-Truncated", "true"), ("MRKG-Row-Limit", str(svc.settings["max_rows"]))]
    headers.append(("Content-Type", answer.content_type))
    return answer.status, headers, answer.body


def answer_query(text: str, params: MultiDict, *, accept: str | None) -> Response:
    req = _request()
    svc = service()
    limit = svc.settings["max_query_chars"]
    if len(text) > limit:  # before the graphs are read (the lean path hands a long text to this route)
        raise ProtocolError(400, f"Query too long: {len(text)} characters, at most {limit} accepted.")
    default_graphs = _graph_list(params, "default-graph-uri")
    named_graphs = _graph_list(params, "named-graph-uri")
    log_extra = g.log_extra = {}
    status, headers, body = protocol_answer(
        svc, text, default_graphs=default_graphs, named_graphs=named_graphs, fmt=params.get("format"),
        accept=accept, base=base_iri(), log_extra=log_extra,
        not_modified=(lambda etag: etag in req.if_none_match) if req.method == "GET" else None)
    if status == NOT_MODIFIED:
        return Response(status=304, headers=headers)
    return Response(body, status=status, headers=headers)


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    try:
        queries, params = read_request()
        if not queries:
            if request.method == "GET":
                from .describe import service_description

                return service_description()
            raise ProtocolError(400, "Missing query: send query=... (form) or an application/sparql-query body.")
        if len(queries) > 1:
            raise ProtocolError(400, f"Exactly one query expected, got {len(queries)}.")
        return answer_query(queries[0], params, accept=request.headers.get("Accept"))
    except ProtocolError as exc:
        return text_response(exc.status, exc.message)
