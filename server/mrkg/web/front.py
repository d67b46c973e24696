"""The HTTP front of `mrkg serve`: an event loop reads every request whole before a thread runs the app.

Each gunicorn HTTP worker (forked from the master that loaded the store, as before) runs uvicorn's asyncio server
(`Worker`, from uvicorn-worker, with uvicorn's httptools protocol). The event loop accepts connections and reads
each request -- request line and headers under ``header_timeout``, the body under ``body_timeout`` and
``max_body_bytes`` -- and only then hands it to the Flask app in one of ``http_threads`` threads. No thread ever
waits on a client's bytes: an idle or slow client costs a socket and a few kilobytes, never a thread, so it cannot
starve anyone. Answers are written by the loop: a short one in one piece, a long one (a download) a chunk at a
time, each chunk read in a thread only once the socket has taken the last, so a slow reader holds no thread.

    loop:    accept -> Protocol (head deadline, 414 / 431) -> Front (body deadline, 413 / 408)
             -> a thread (at most ``client_threads`` per client address; others wait their turn, holding none)
             -> Flask in that thread -> the loop writes the answer -> a gentle close when the server closes
    watchdog (engine/watchdog.py), at a query's deadline: asks the loop to answer that client (503, then close:
             `Exchange.answer_late`) and to stop accepting (`Front.stop_accepting`); from then on every answer of
             this worker says `Connection: close`, a request that finds no free thread gets 503 + Retry-After at
             once, and the worker ends as soon as none of its connections is left to answer (`open_connections`).

a2wsgi's own bridge is not used: it keeps a thread for the whole of a streamed answer (a slow reader would hold
it) and crosses between threads three times per request; only its WSGI environ builder is.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any, Callable

from a2wsgi.wsgi import build_environ
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

MAX_REQUEST_LINE = 16384  # bytes: longer request lines get 414 (long queries go in a POST body)
MAX_HEAD_BYTES = 65536  # bytes of request line and header fields together: more get 431
LATE_ANSWER_WAIT = 5.0  # seconds another thread waits for the loop to have written a late answer
LINGER = 2.0  # seconds a connection the server closes goes on reading (and dropping) what the client still sends
_HEAD_END = re.compile(rb"\n\r?\n")
BODY_IN = "mrkg.body_in"  # scope key: the whole request body had arrived when the head was parsed

Message = dict[str, Any]


def _plain(status: int, message: str, extra: list[tuple[bytes, bytes]] = ()) -> tuple[list, bytes]:
    body = (message.rstrip("\n") + "\n").encode("utf-8")
    return [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"), *extra, (b"connection", b"close")], body


class HeadMeter:
    """Counts the bytes of one request head as they arrive (never rescanning what it has seen): the refusal
    (status, message) once its request line or the whole head is over the limit, else None."""

    __slots__ = ("size", "line", "tail", "done")

    def __init__(self) -> None:
        self.size = 0  # bytes of this head seen so far
        self.line: int | None = None  # length of the request line, once its end is seen
        self.tail = b""  # the last bytes seen, to find a blank line split across two reads
        self.done = False

    def feed(self, data: bytes) -> tuple[int, str] | None:
        if self.done or not data:
            return None
        start = self.size
        self.size += len(data)
        if self.line is None:
            end = data.find(b"\n")
            if end >= 0:
                self.line = start + end
        if (self.line if self.line is not None else self.size) > MAX_REQUEST_LINE:
            return 414, (f"Request line too long: at most {MAX_REQUEST_LINE} bytes accepted; send a long query "
                         "in a POST body.")
        window = self.tail + data
        blank = _HEAD_END.search(window)
        if blank is not None:
            self.done = True
            head = start - len(self.tail) + blank.start()
        else:
            self.tail = window[-2:]
            head = self.size
        if head > MAX_HEAD_BYTES:
            return 431, f"Request header fields too large: at most {MAX_HEAD_BYTES} bytes in all accepted."
        return None


class LingeringTransport:
    """The connection's transport, closed gently: when the server closes (after a 408/413/414/431, a late 503 or
    any answer with ``Connection: close``) it sends its FIN once the answer is out and reads and drops whatever the
    client still sends, for at most LINGER seconds, before closing. Closing at once with unread bytes would make
    the kernel reset the connection, and the client could lose the answer it was sent."""

    __slots__ = ("_transport", "_protocol", "_closing", "_timer")

    def __init__(self, transport, protocol: "Protocol") -> None:
        self._transport = transport
        self._protocol = protocol
        self._closing = False
        self._timer: asyncio.TimerHandle | None = None

    def __getattr__(self, name: str):
        return getattr(self._transport, name)

    def write(self, data) -> None:
        if not self._closing:
            self._transport.write(data)

    def is_closing(self) -> bool:
        return self._closing or self._transport.is_closing()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        transport = self._transport
        if transport.is_closing() or not transport.can_write_eof():
            transport.close()
            return
        try:
            transport.write_eof()  # the FIN goes out after the answer
            transport.resume_reading()
        except (OSError, RuntimeError):
            transport.close()
            return
        self._timer = self._protocol.loop.call_later(LINGER, transport.close)

    def abort(self) -> None:
        self._closing = True
        self._transport.abort()

    def closed(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class Protocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools) with a deadline and a size limit on every request head.

    uvicorn closes a connection idle after a response (``keepalive_timeout``) but would wait forever for the first
    request's head, or for a head sent a byte at a time, and sets no limit on its size: here a head must be whole
    within ``header_timeout`` of the connection (or of its first byte after a response), else 408 (or a plain close
    if nothing came at all), and its line and size are held to MAX_REQUEST_LINE (414) and MAX_HEAD_BYTES (431). A
    request read whole waits for its answer before anything more is read from that connection.
    """

    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.front: Front = config.app
        self.front.protocols.add(self)
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_cycle = None  # the cycle that was current when the wait for a head began
        self._meter: HeadMeter | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(LingeringTransport(transport, self))
        self._wait_for_head()

    def _wait_for_head(self) -> None:
        self._head_cycle = self.cycle
        self._meter = HeadMeter()
        self._head_timer = self.loop.call_later(self.front.header_timeout, self._head_too_late)

    def _head_arrived(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self._meter = None

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # closing: what the client still sends is dropped
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._wait_for_head()  # the first bytes of the next request on a kept-alive connection
        if self._meter is not None:
            refusal = self._meter.feed(data)
            if refusal is not None:
                self._head_arrived()
                self.refuse(*refusal)
                return
        super().data_received(data)
        cycle = self.cycle
        if self._head_timer is not None and cycle is not self._head_cycle:
            self._head_arrived()
        if cycle is not None and not cycle.more_body and not cycle.response_complete and self.flow is not None:
            self.flow.pause_reading()  # read whole, not answered yet: pipelined bytes wait in the kernel
            cycle.scope[BODY_IN] = True  # the body is in memory already: Front reads it with no deadline to arm

    def _head_too_late(self) -> None:
        self._head_timer = None
        if self.cycle is not self._head_cycle or self.transport.is_closing():
            return
        if self._meter is not None and self._meter.size:
            self.refuse(408, f"Request head not received within {self.front.header_timeout:g} s.")
        else:  # nothing sent at all: just close, as for an idle keep-alive connection
            self.transport.close()

    def refuse(self, status: int, message: str) -> None:
        """Answer a request whose head could not be read (there is no request to answer yet), then close."""
        headers, body = _plain(status, message, self.front.extra_headers)
        phrase = HTTPStatus(status).phrase
        self.transport.write(f"HTTP/1.1 {status} {phrase}\r\n".encode() +
                             b"".join(name + b": " + value + b"\r\n" for name, value in headers) + b"\r\n" + body)
        self.transport.close()
        self.front.log(self.client, None, None, status, len(body), 0.0)

    def connection_lost(self, exc) -> None:
        self._head_arrived()
        self.transport.closed()
        self.front.protocols.discard(self)
        super().connection_lost(exc)


class Exchange:
    """One request's way back to its client. The app's messages go through ``send``; another thread (the watchdog)
    may answer instead with ``answer_late``, after which whatever the app would still send is dropped."""

    __slots__ = ("front", "_send", "started", "answered")

    def __init__(self, front: "Front", send: Callable) -> None:
        self.front = front
        self._send = send
        self.started = False
        self.answered = False

    async def send(self, message: Message) -> None:
        if self.answered:
            return
        if message["type"] == "http.response.start":
            self.started = True
            if self.front.doomed:  # a worker being replaced keeps no connection for later
                message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
        await self._send(message)

    async def answer(self, status: int, message: str, extra: list[tuple[bytes, bytes]] = ()) -> None:
        """A whole one-line text/plain answer, then the connection closes (unless the app has begun one)."""
        if self.started or self.answered:
            return
        self.answered = True
        headers, body = _plain(status, message, [*self.front.extra_headers, *extra])
        await self._send({"type": "http.response.start", "status": status, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})

    def answer_late(self, status: int, message: str, extra: list[tuple[bytes, bytes]] = ()) -> None:
        """``answer`` from another thread, waiting (at most LATE_ANSWER_WAIT s) until the loop has written it."""
        future = asyncio.run_coroutine_threadsafe(self.answer(status, message, extra), self.front.loop)
        future.result(LATE_ANSWER_WAIT)


def _replay(body: bytes) -> Callable:
    """The ``receive`` the app sees: the body, read whole by the loop already."""
    messages = deque([{"type": "http.request", "body": body, "more_body": False}])

    async def receive() -> Message:
        return messages.popleft() if messages else {"type": "http.disconnect"}

    return receive


RETRY = [(b"retry-after", b"1")]
_NOBODY = object()


BUFFERED_BODY = 65536  # bytes of an answer collected in the app's thread; a longer one is streamed by the loop


def _call_wsgi(app, environ: dict) -> tuple[int, list, bytes, Any]:
    """Run the WSGI app (in a thread): its status and headers, and its whole body if it is under BUFFERED_BODY
    bytes (then the iterable is closed here), else the part read so far and the iterable to go on with."""
    response: list = []
    written: list[bytes] = []

    def start_response(status: str, headers: list, exc_info=None):
        response[:] = [status, headers]
        return written.append

    result = app(environ, start_response)
    chunks = written
    size = sum(map(len, written))
    iterator = iter(result)
    try:
        for chunk in iterator:
            chunks.append(chunk)
            size += len(chunk)
            if size >= BUFFERED_BODY:
                break
        else:
            iterator = None
    finally:
        if iterator is None and hasattr(result, "close"):
            result.close()
    status, headers = response
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    return int(status[:3]), headers, b"".join(chunks), (None if iterator is None else (iterator, result))


class Front:
    """The ASGI app each worker serves: reads the body, waits for a free thread, runs the WSGI app there."""

    def __init__(self, app, *, threads: int = 8, max_body_bytes: int = 1_000_000, header_timeout: float = 10.0,
                 body_timeout: float = 15.0, per_client: int = 0, extra_headers: list[tuple[bytes, bytes]] = (),
                 access_log: Callable[[str], None] | None = None, watchdog=None) -> None:
        self.app = app
        self.threads = threads
        self.max_body_bytes = max_body_bytes
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.extra_headers = list(extra_headers)
        self._access_log = access_log
        self.watchdog = watchdog
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server = None  # uvicorn's Server, once attached
        self.doomed = False
        self.protocols: set = set()  # this worker's connections, from the moment each is accepted
        self._settled = True
        self.per_client = per_client
        self._free = threads
        self._running: dict[str | None, int] = {}  # client address -> threads it holds
        self._waiting: dict[str | None, deque[asyncio.Future]] = {}  # clients in the order they are to be served
        self._bridge = None

    @classmethod
    def for_app(cls, app, threads: int) -> "Front":
        """The front for a WSGI ``app``; mrkg's own app brings its settings and watchdog, any other the defaults."""
        from .. import settings as settings_module

        svc = getattr(app, "extensions", {}).get("mrkg")
        if svc is None:
            values = settings_module.defaults()
            return cls(app, threads=threads, max_body_bytes=values["max_body_bytes"],
                       header_timeout=values["header_timeout"], body_timeout=values["body_timeout"],
                       per_client=values["client_threads"])
        from .ops import EXPOSED, SECURITY_HEADERS, VERSION_HEADER, access_log

        values = svc.settings
        extra = [(VERSION_HEADER.lower().encode(), svc.release.version.encode("latin-1", "replace")),
                 *((name.lower().encode(), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items())]
        if values["cors"]:
            extra += [(b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", EXPOSED.encode())]
        return cls(app, threads=threads, max_body_bytes=values["max_body_bytes"],
                   header_timeout=float(values["header_timeout"]), body_timeout=float(values["body_timeout"]),
                   per_client=values["client_threads"], extra_headers=extra,
                   access_log=access_log.info if values["access_log"] else None,
                   watchdog=svc.watchdog)

    def attach(self, loop: asyncio.AbstractEventLoop, server) -> None:
        """Start serving in this (forked) process: the thread pool, and the watchdog's hold on this worker."""
        self.loop, self.server = loop, server
        self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="mrkg-app")
        if self.watchdog is not None:
            self.watchdog.open_connections = self.open_connections
            self.watchdog.stop_accepting = self.stop_accepting

    # --- the watchdog's side (any thread) -----------------------------------------------------------------

    def open_connections(self) -> int | None:
        """Connections of this worker still to be answered (those being closed are done); None until every
        connection accepted before the worker stopped accepting has its protocol."""
        if not self._settled:
            return None
        return sum(1 for protocol in list(self.protocols)
                   if protocol.transport is None or not protocol.transport.is_closing())

    def stop_accepting(self) -> None:
        self.loop.call_soon_threadsafe(self._doom)

    def _doom(self) -> None:
        self.doomed = True
        # This process stops accepting (the other workers go on). Not Server.close(): a connection accepted a
        # moment ago whose transport is still to be made would then be dropped unanswered.
        for server in self.server.servers:
            for sock in server.sockets:
                self.loop.remove_reader(sock.fileno())
        self._settled = False  # accepted connections get their protocol in the loop's next round
        self.loop.call_soon(self._settle)
        waiting, self._waiting = self._waiting, {}
        for queue in waiting.values():  # no thread will be free in time for them: answer them now
            for waiter in queue:
                if not waiter.done():
                    waiter.set_result(False)

    def _settle(self) -> None:
        self._settled = True

    # --- threads ----------------------------------------------------------------------------------------
    # A request takes a free thread if its client holds fewer than ``per_client`` and none of that client's
    # requests is waiting already; else it waits, holding no thread. A thread given back goes to the first client
    # in the queue that may take one more, and that client goes to the back of the queue (round robin).

    def _may_take(self, client: str | None) -> bool:
        return not self.per_client or self._running.get(client, 0) < self.per_client

    def _start(self, client: str | None) -> None:
        self._free -= 1
        self._running[client] = self._running.get(client, 0) + 1

    async def _take_thread(self, client: str | None) -> bool:
        if self._free and client not in self._waiting and self._may_take(client):
            self._start(client)
            return True
        if self.doomed:
            return False
        waiter = self.loop.create_future()
        self._waiting.setdefault(client, deque()).append(waiter)
        self._dispatch()
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self._give_back(client)
            raise

    def _dispatch(self) -> None:
        while self._free and self._waiting:
            client = next((c for c in self._waiting if self._may_take(c)), _NOBODY)
            if client is _NOBODY:
                return
            queue = self._waiting.pop(client)
            waiter = queue.popleft()
            if queue:
                self._waiting[client] = queue  # to the back of the queue
            if not waiter.done():
                self._start(client)
                waiter.set_result(True)

    def _give_back(self, client: str | None) -> None:
        self._free += 1
        left = self._running[client] - 1
        if left:
            self._running[client] = left
        else:
            del self._running[client]
        self._dispatch()

    # --- requests ---------------------------------------------------------------------------------------

    async def __call__(self, scope: Message, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":  # lifespan is off and WebSockets are refused by the protocol
            return
        started = time.perf_counter()
        exchange = Exchange(self, send)
        body = await self._read_body(scope, receive, exchange, started)
        if body is None:
            return
        client = scope["client"][0] if scope.get("client") else None
        if not await self._take_thread(client):
            await self._refuse(exchange, scope, started, 503, "This worker is restarting after a stopped query; "
                               "try again.", RETRY)
            return
        try:
            scope["mrkg.exchange"] = exchange  # the app finds it in environ["asgi.scope"] (late_answerer)
            await self._run_app(scope, body, exchange)
        finally:  # not reached while the watchdog keeps the thread parked: that thread is gone for good
            self._give_back(client)

    async def _run_app(self, scope: Message, body: bytes, exchange: Exchange) -> None:
        """The WSGI app in a thread, its answer written by the loop: a short body (nearly every answer) in one piece,
        a long one (a download) read a chunk at a time in a thread, each chunk written once the socket has taken the
        last: a slow reader holds no thread while it reads."""
        environ = build_environ(scope, io.BytesIO(body))
        if "HTTP_TRANSFER_ENCODING" in environ:  # the loop has read the chunked body whole: the app sees its length
            del environ["HTTP_TRANSFER_ENCODING"]
            environ["CONTENT_LENGTH"] = str(len(body))
        run = self.loop.run_in_executor
        status, headers, first, rest = await run(self._executor, _call_wsgi, self.app, environ)
        await exchange.send({"type": "http.response.start", "status": status, "headers": headers})
        if rest is None:
            await exchange.send({"type": "http.response.body", "body": first})
            return
        iterator, result = rest
        try:
            await exchange.send({"type": "http.response.body", "body": first, "more_body": True})
            while (chunk := await run(self._executor, next, iterator, None)) is not None:
                if chunk:
                    await exchange.send({"type": "http.response.body", "body": chunk, "more_body": True})
            await exchange.send({"type": "http.response.body", "body": b""})
        finally:
            if hasattr(result, "close"):
                await run(self._executor, result.close)

    async def _read_body(self, scope: Message, receive: Callable, exchange: Exchange, started: float) -> bytes | None:
        length = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or (length is not None and int(value) != length):
                    await self._refuse(exchange, scope, started, 400, "Bad Content-Length header.")
                    return None
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = True
        if not chunked and not length:
            return b""
        limit = self.max_body_bytes
        too_large = f"Request body too large: at most {limit} bytes accepted."
        if length is not None and length > limit:
            await self._refuse(exchange, scope, started, 413, too_large)
            return None
        chunks: list[bytes] = []
        size = 0
        # A body that came with its head (nearly every one) is read whole already: no deadline to arm and cancel.
        deadline = contextlib.nullcontext() if scope.get(BODY_IN) else asyncio.timeout(self.body_timeout)
        try:
            async with deadline:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        await self._refuse(exchange, scope, started, 413, too_large)
                        return None
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            await self._refuse(exchange, scope, started, 408,
                               f"Request body not received within {self.body_timeout:g} s.")
            return None

    async def _refuse(self, exchange: Exchange, scope: Message, started: float, status: int, message: str,
                      extra: list[tuple[bytes, bytes]] = ()) -> None:
        await exchange.answer(status, message, extra)
        self.log(scope.get("client"), scope["method"], scope["path"], status, len(message) + 1,
                 time.perf_counter() - started)

    def log(self, client, method: str | None, path: str | None, status: int, size: int, seconds: float) -> None:
        """One access line for an answer the front gave itself (the app logs its own)."""
        if self._access_log is None:
            return
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "remote": client[0] if client else None,
                  "method": method, "path": path, "status": status, "ms": round(seconds * 1000, 2), "bytes": size,
                  "by": "front"}
        self._access_log(json.dumps(record, separators=(",", ":")))


class _Server(Server):
    """uvicorn's server, with the listening sockets' queue set back to its length after asyncio has started
    serving them (asyncio calls ``listen`` with the number of connections it accepts at a time)."""

    listen_backlog = 2048

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        for sock in sockets or ():
            sock.listen(self.listen_backlog)


class Worker(UvicornWorker):
    """gunicorn's worker for `mrkg serve`: uvicorn's event loop in front of the (preloaded, forked) WSGI app."""

    CONFIG_KWARGS = {"loop": "asyncio", "http": Protocol, "ws": "none", "lifespan": "off", "interface": "asgi3",
                     "proxy_headers": False, "server_header": False}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # gunicorn's stop (SIGTERM from the master): uvicorn's graceful shutdown, bounded like gunicorn's own
        self.config.timeout_graceful_shutdown = self.cfg.graceful_timeout
        # asyncio accepts up to `backlog` waiting connections each time the listening socket is ready: one worker
        # would take a whole burst of connections (all of them lost if it is killed, all its work on one core).
        # One at a time, the workers take turns; the kernel's queue keeps gunicorn's length (`_Server.startup`).
        self.config.backlog = 1

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = Front.for_app(self.wsgi, threads=self.cfg.threads)

    async def _serve(self) -> None:
        from gunicorn.arbiter import Arbiter

        self.config.app = self.wsgi
        server = _Server(config=self.config)
        server.listen_backlog = self.cfg.backlog
        self.wsgi.attach(asyncio.get_running_loop(), server)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
