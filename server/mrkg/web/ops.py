"""Cross-cutting HTTP concerns: /health, structured access logs, CORS, the dataset version header, security headers,
request bodies within the limit, parameters that are UTF-8, errors as text."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import time
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Blueprint, Flask, Response, abort, g, request
from werkzeug.exceptions import HTTPException

from .service import service

bp = Blueprint("ops", __name__)
access_log = logging.getLogger("mrkg.access")

VERSION_HEADER = "MRKG-Dataset-Version"
EXPOSED = "ETag, MRKG-Dataset-Version, MRKG-Truncated, MRKG-Row-Limit, MRKG-Rows"
# On every response. Scripts, styles, images and requests only from this server (YASGUI is served from here, see
# ui.py): no inline or injected script runs, and a javascript: link does nothing even if one were rendered. Two
# allowances, each seen blocked in Chromium without it: YASGUI applies inline styles, and the pages' icon is a data:
# URI. No page may be framed (clickjacking); nosniff, so that a text answer is never taken for a script or a page.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Content-Security-Policy": CONTENT_SECURITY_POLICY, "Referrer-Policy": "same-origin"}
BODY_TOO_LARGE = "mrkg.body_too_large"  # environ key set by LimitedBody
_HIGH_ESCAPE = re.compile(rb"%[89A-Fa-f]")


def text_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(message.rstrip("\n") + "\n", status=status, mimetype="text/plain", headers=headers)


@bp.get("/health")
def health() -> Response:
    svc = service()
    ok = svc.alive()
    body = {"status": "ok" if ok else "degraded", "version": svc.release.version,
            "dataset_sha256": svc.release.sha256, "engine": svc.backend.name, "executor": svc.executor,
            "graphs": len(svc.graphs)}
    if svc.release.folder is not None:
        body["build"] = svc.release.folder.name
    body["loaded_at"] = svc.release.loaded_at or None
    if svc.release.replaced:
        body["replaced"] = svc.release.replaced
    if svc.pool is not None:
        body["query_workers"] = svc.pool.size
    return Response(json.dumps(body) + "\n", status=200 if ok else 503, mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


class LimitedBody:
    """WSGI middleware: a request body sent without Content-Length (chunked) is read here, at most max_body_bytes + 1
    bytes of it, and handed on with its length; a longer one is marked for a 413. (Werkzeug stops reading such a body
    at the limit and hands on the first max_body_bytes as if that were all: a silently cut query.)"""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and not environ.get("CONTENT_LENGTH") \
                and environ.get("wsgi.input_terminated"):  # the server ends the stream (gunicorn: chunked bodies)
            stream, chunks, size = environ["wsgi.input"], [], 0
            while size <= self.limit:
                chunk = stream.read(min(64 * 1024, self.limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            if size > self.limit:
                environ[BODY_TOO_LARGE] = True
                chunks = []
            data = b"".join(chunks)
            environ["wsgi.input"] = io.BytesIO(data)
            environ["CONTENT_LENGTH"] = str(len(data))
        return self.app(environ, start_response)


def check_utf8_parameters(raw: bytes, where: str) -> None:
    """400 naming the parameter when a name or value of the urlencoded ``raw`` is not UTF-8 once percent-decoded
    (werkzeug would keep ``%FF`` as the three characters, or drop a whole form body with a raw 0xFF byte)."""
    if raw.isascii() and not _HIGH_ESCAPE.search(raw):  # only bytes >= 0x80 can be invalid UTF-8
        return
    try:  # '&' and '=' are ASCII, so every part of a valid whole is valid too
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
        return
    except UnicodeDecodeError:
        pass
    for part in raw.split(b"&"):
        name, _, value = part.partition(b"=")
        try:
            label = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            abort(400, f"A parameter name in the {where} is not UTF-8 text once percent-decoded.")
        try:
            unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError as exc:
            shown = label if len(label) <= 40 else label[:40] + "…"
            abort(400, f"Parameter {shown!r} in the {where} is not UTF-8 text once percent-decoded "
                       f"(byte 0x{exc.object[exc.start]:02X}); percent-encode the UTF-8 bytes of the text.")


def _describe_http_error(exc: HTTPException) -> str:
    if exc.code == 413:
        limit = request.max_content_length
        return f"Request body too large: at most {limit} bytes accepted."
    if exc.code == 405:
        return f"Method {request.method} not allowed on {request.path}; use " \
               f"{', '.join(m for m in (exc.valid_methods or []) if m not in {'HEAD', 'OPTIONS'})}."
    if exc.code == 404:
        return f"Not found: {request.path}"
    return exc.description or exc.name


def init_app(app: Flask, settings: dict[str, Any]) -> None:
    app.register_blueprint(bp)
    app.wsgi_app = LimitedBody(app.wsgi_app, int(app.config.get("MAX_CONTENT_LENGTH") or settings["max_body_bytes"]))
    cors = bool(settings["cors"])
    if settings["access_log"] and not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_log.addHandler(handler)
        access_log.setLevel(logging.INFO)
        access_log.propagate = False
    log_enabled = bool(settings["access_log"])

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        response = text_response(exc.code or 500, _describe_http_error(exc))
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # never a traceback to the client
        app.logger.exception("unhandled error on %s", request.path)
        return text_response(500, "Internal error.")

    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.before_request
    def check_request() -> None:
        if request.environ.get(BODY_TOO_LARGE):
            abort(413)
        check_utf8_parameters(request.query_string, "query string")
        if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded" \
                and request.mimetype_params.get("charset", "utf-8").strip().lower() in {"utf-8", "utf8"}:
            check_utf8_parameters(request.get_data(cache=True), "form body")  # kept for request.form

    @app.after_request
    def finish(response: Response) -> Response:
        svc = app.extensions.get("mrkg")
        headers = response.headers
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)
        if svc is not None:
            headers[VERSION_HEADER] = svc.release.version
        if cors:
            if "Access-Control-Allow-Origin" not in headers:
                headers.add("Access-Control-Allow-Origin", "*")
                headers.add("Access-Control-Expose-Headers", EXPOSED)
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                response.headers["Access-Control-Allow-Headers"] = "Accept, Content-Type, If-None-Match"
                response.headers["Access-Control-Max-Age"] = "86400"
        if log_enabled:
            log_access(request.remote_addr, request.method, request.path, response.status_code,
                       g.get("started", time.perf_counter()), response.calculate_content_length(),
                       request.user_agent.string, g.get("log_extra", {}))
        return response


def log_access(remote: str | None, method: str, path: str, status: int, started: float, size: int | None,
               agent: str, extra: dict) -> None:
    """The access line of one answer the app gave (the Flask routes' and the lean path's, web/lean.py)."""
    record = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "remote": remote,
        "method": method,
        "path": path,
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "bytes": size,
        "agent": agent[:200] or None,
    }
    record.update(extra)
    access_log.info(json.dumps(record, separators=(",", ":")))
