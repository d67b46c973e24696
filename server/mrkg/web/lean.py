"""The lean path of /sparql: its commonest request answered without Flask's request machinery.

A SPARQL client's usual request is a form POST whose only field is ``query`` (YASGUI, SPARQLWrapper, the bench).
Flask spends tens of microseconds on it before the route runs (request context, routing, the hooks, werkzeug's
form parser, the Response object), more than the engine spends on a small query. This WSGI middleware, in front of
the Flask app, answers exactly that request itself and hands every other request, untouched, to Flask:

    POST /sparql, Content-Type application/x-www-form-urlencoded (no charset, or UTF-8), a Content-Length, no query
    string, a body ``query=...`` of ASCII bytes with no ``&`` and no percent-escape of a byte >= 0x80

Such a body needs no UTF-8 check (only bytes >= 0x80 can be invalid) and decodes the same with ``unquote_to_bytes`` as
with werkzeug's parser (the decoded text of the last few hundred bodies is kept, keyed by the body's bytes). From there the answer is the Flask route's own: ``sparql.protocol_answer`` (the same limits,
guard, executor, watchdog, ETag, headers), then the headers every response gets (``ops.finish``: security headers,
dataset version, CORS) and the same access line (``ops.log_access``). Nothing is answered here that the route would
answer otherwise: whatever the route would refuse (a long query, a second field, another charset) goes to Flask,
which refuses it in its own words. tests/test_lean.py holds the two paths to the same status, headers and body.

The query still runs in the front's thread, never on the event loop, under the same watchdog: its late answer goes
through the request's exchange (``environ["asgi.scope"]``) as on the Flask route.
"""

from __future__ import annotations

import io
import time
from urllib.parse import unquote_to_bytes

from werkzeug.http import HTTP_STATUS_CODES

from .ops import BODY_TOO_LARGE, EXPOSED, SECURITY_HEADERS, VERSION_HEADER, _HIGH_ESCAPE, log_access
from .sparql import TEXT_PLAIN, ProtocolError, base_iri, protocol_answer

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8",
                        "application/x-www-form-urlencoded; charset=UTF-8",
                        "application/x-www-form-urlencoded;charset=utf-8",
                        "application/x-www-form-urlencoded;charset=UTF-8"})
MEMO_SIZE = 256  # form bodies whose decoded text is kept...
MEMO_BODY_BYTES = 8192  # ...if they are at most this long (at most 2 MiB in all)
LEAN_BODY_BYTES = 65536  # longer bodies go to Flask (its form size limit, MAX_FORM_MEMORY_SIZE, is larger)


_STATUS_LINES: dict[int, str] = {}


def _status_line(status: int) -> str:
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}"  # werkzeug's
    return line


class LeanSparql:
    """WSGI middleware answering ``POST /sparql`` with a plain ``query=`` form itself; the rest goes to ``app``."""

    def __init__(self, flask_app, app, svc, *, cors: bool, log: bool) -> None:
        self.flask_app = flask_app
        self.app = app
        self.svc = svc
        self.log = log
        self._texts: dict[bytes, str] = {}  # form body -> query text: clients send the same few queries
        self.answered = 0  # requests answered here (tests check that the lean path is the one taken)
        config = flask_app.config
        # Anything in Flask's config that changes how a request is routed or read turns the lean path off.
        self.enabled = not (config.get("SERVER_NAME") or config.get("TRUSTED_HOSTS") or config.get("APPLICATION_ROOT")
                            not in (None, "/"))
        limits = [LEAN_BODY_BYTES, int(config.get("MAX_CONTENT_LENGTH") or svc.settings["max_body_bytes"])]
        if config.get("MAX_FORM_MEMORY_SIZE") is not None:
            limits.append(int(config["MAX_FORM_MEMORY_SIZE"]))
        self.max_body = min(limits)
        tail = [(name, value) for name, value in SECURITY_HEADERS.items()]
        tail.append((VERSION_HEADER, svc.release.version))
        if cors:
            tail += [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", EXPOSED)]
        self.tail = tail

    def __call__(self, environ, start_response):
        if (environ.get("PATH_INFO") != "/sparql" or environ.get("REQUEST_METHOD") != "POST" or not self.enabled
                or environ.get("CONTENT_TYPE") not in FORM_TYPES or environ.get("QUERY_STRING")
                or environ.get(BODY_TOO_LARGE)):
            return self.app(environ, start_response)
        length = environ.get("CONTENT_LENGTH") or ""
        if not length.isdigit() or int(length) > self.max_body:
            return self.app(environ, start_response)
        started = time.perf_counter()
        raw = environ["wsgi.input"].read(int(length))
        text = self._texts.get(raw)  # a body seen before passed the checks below
        if text is None:
            if (len(raw) != int(length) or not raw.startswith(b"query=") or b"&" in raw or not raw.isascii()
                    or _HIGH_ESCAPE.search(raw)):
                environ["wsgi.input"] = io.BytesIO(raw)  # for Flask, which reads it again
                return self.app(environ, start_response)
            text = unquote_to_bytes(raw[6:].replace(b"+", b" ")).decode("ascii")
            if len(raw) <= MEMO_BODY_BYTES:  # bodies are the client's: the memo is bounded in entries and size
                if len(self._texts) >= MEMO_SIZE:
                    self._texts.clear()
                self._texts[raw] = text
        svc = self.svc
        if len(text) > svc.settings["max_query_chars"]:
            environ["wsgi.input"] = io.BytesIO(raw)  # the route says why, in its words
            return self.app(environ, start_response)
        try:
            base = base_iri(environ)
        except Exception:  # noqa: BLE001 - e.g. a Host werkzeug refuses: the route answers it in its own way
            environ["wsgi.input"] = io.BytesIO(raw)
            return self.app(environ, start_response)
        log_extra: dict = {}
        try:
            status, headers, body = protocol_answer(
                svc, text, default_graphs=None, named_graphs=None, fmt=None, accept=environ.get("HTTP_ACCEPT"),
                base=base, log_extra=log_extra, environ=environ)
        except ProtocolError as exc:  # not reached for what passes the checks above; answered as the route would
            status, headers, body = exc.status, [("Content-Type", TEXT_PLAIN)], \
                (exc.message.rstrip("\n") + "\n").encode("utf-8")
        except Exception:  # noqa: BLE001 - as ops.unexpected: logged, never a traceback to the client
            self.flask_app.logger.exception("unhandled error on %s", "/sparql")
            status, headers, body = 500, [("Content-Type", TEXT_PLAIN)], b"Internal error.\n"
        headers.append(("Content-Length", str(len(body))))
        headers += self.tail
        self.answered += 1
        start_response(_status_line(status), headers)
        if self.log:
            log_access(environ.get("REMOTE_ADDR"), "POST", "/sparql", status, started, len(body),
                       environ.get("HTTP_USER_AGENT") or "", log_extra)
        return [body]


def init_app(app, svc) -> None:
    """Put the lean path in front of the Flask app (outermost: before LimitedBody, which it never needs)."""
    settings = svc.settings
    app.wsgi_app = LeanSparql(app, app.wsgi_app, svc, cors=bool(settings["cors"]), log=bool(settings["access_log"]))
