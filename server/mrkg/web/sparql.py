"""The SPARQL 1.1 Protocol endpoint at /sparql: read-only, closed, limited; GET without a query describes itself."""

from __future__ import annotations

import hashlib
import re

from flask import Blueprint, Response, g, request
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from ..engine import EngineError
from ..engine.runner import Job
from .service import service
from .ops import text_response

bp = Blueprint("sparql", __name__)

READ_ONLY = ("This endpoint is read-only: SPARQL Update is not accepted (no update= parameter, "
             "no application/sparql-update body).")
ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*")
QUERY_TYPES = "application/x-www-form-urlencoded or application/sparql-query"


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


def base_iri() -> str:
    """The request URL without its query string: the base IRI of the query (werkzeug's ``base_url``, memoised,
    since it costs tens of microseconds a request and is the same for nearly every request)."""
    env = request.environ
    key = (env.get("wsgi.url_scheme"), env.get("HTTP_HOST"), env.get("SERVER_NAME"), env.get("SERVER_PORT"),
           env.get("SCRIPT_NAME"), env.get("PATH_INFO"))
    base = _BASES.get(key)
    if base is None:
        if len(_BASES) >= 64:  # Host headers are the client's: never let them grow this without bound
            _BASES.clear()
        base = _BASES[key] = request.base_url
    return base


def variant_tag(*parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{service().release.etag[:16]}-{digest}"


def answer_query(text: str, params: MultiDict, *, accept: str | None) -> Response:
    svc = service()
    req = _request()
    limit = svc.settings["max_query_chars"]
    if len(text) > limit:
        raise ProtocolError(400, f"Query too long: {len(text)} characters, at most {limit} accepted.")
    default_graphs = _graph_list(params, "default-graph-uri")
    named_graphs = _graph_list(params, "named-graph-uri")
    fmt = params.get("format")
    base = base_iri()
    etag = variant_tag(text, default_graphs, named_graphs, accept, fmt, base)
    log_extra = g.log_extra = {"query_sha": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]}
    if req.method == "GET" and etag in req.if_none_match:
        return Response(status=304, headers={"ETag": f'"{etag}"', "Vary": "Accept"})
    try:
        answer = svc.run(Job(text, base, accept, fmt, default_graphs, named_graphs))
    except EngineError as exc:
        response = text_response(exc.status, exc.message, {"Retry-After": "1"} if exc.status == 503 else None)
        response.headers["Vary"] = "Accept"
        return response
    headers = [*answer.headers.items(), ("Vary", "Accept")]  # answer.headers: e.g. MRKG-Cache: hit / miss
    log_extra["rows"] = answer.rows
    log_extra["truncated"] = answer.truncated
    if answer.status == 200:
        headers += [("ETag", f'"{etag}"'), ("Cache-Control", "public, max-age=0, must-revalidate")]
        if answer.rows is not None:
            headers.append(("MRKG-Rows", str(answer.rows)))
        if answer.truncated:
            headers += [("MRKG-Truncated", "true"), ("MRKG-Row-Limit", str(svc.settings["max_rows"]))]
    return Response(answer.body, status=answer.status, headers=headers, content_type=answer.content_type)


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
