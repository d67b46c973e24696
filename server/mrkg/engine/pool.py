"""A pool of pre-forked query worker processes that can be killed at the deadline.

Threads cannot be stopped and pyoxigraph has no cancellation, so every query runs in a worker process.

    owner process (holds the loaded store; single-threaded when the pool starts)
      └─ zygote: forks ``size`` workers and replaces each one that exits
           └─ worker × size: accept() on one Unix socket, run one query at a time

Workers are forked from the zygote, so the store is shared copy-on-write and a replacement costs a fork,
not a reload. The zygote walls itself off from the network (sandbox.py) before it forks any worker, so every
worker is born inside the wall; ``start`` returns only once the zygote says the wall stands, and raises
SandboxError (and no pool runs) when it cannot be installed.

A client (any thread of any process forked from the owner, e.g. gunicorn's HTTP workers) connects to the
socket; an idle worker accepts, says its pid, reads the job, answers, and waits for the client to hang up
before accepting the next one — so a kill sent for a late query can only hit that query.
At the deadline the client SIGKILLs the worker and answers 503. The number of workers bounds how many
queries run at once; while one worker is stuck on a hostile query, the others keep answering.
A worker also arms SIGALRM (default action: terminate) a little after the deadline, in case its client is gone.
"""

from __future__ import annotations

import atexit
import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import struct
import tempfile
import time
from typing import Callable

from .errors import BusyError, EngineError, QueryTimeoutError
from .runner import Answer, Job, Runner
from .sandbox import SandboxError, wall_off_network

_LEN = struct.Struct("!I")
GRACE_SECONDS = 2.0  # the worker's own alarm fires this long after the client's deadline
IO_SECONDS = 10.0  # reading a job / waiting for the client to hang up
PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Linux: be killed when the parent dies, so no worker outlives the server."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the zygote's SIGTERM handler still cleans up
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect: no signal will come
        os._exit(0)


def _recv_exact(sock: socket.socket, size: int, deadline: float | None = None) -> bytes:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("deadline")
            sock.settimeout(remaining)
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise ConnectionResetError("peer closed")
        got += n
    return bytes(buf)


def _send_frames(sock: socket.socket, *frames: bytes) -> None:
    sock.sendall(b"".join(_LEN.pack(len(f)) + f for f in frames))


def _recv_frame(sock: socket.socket, deadline: float | None = None) -> bytes:
    (size,) = _LEN.unpack(_recv_exact(sock, 4, deadline))
    return _recv_exact(sock, size, deadline) if size else b""


class WorkerPool:
    """Runs Jobs in ``size`` worker processes with a per-query ``timeout`` (seconds)."""

    def __init__(self, runner: Runner, *, size: int = 2, timeout: float = 10.0, memory_mb: int = 0,
                 queue_timeout: float | None = None) -> None:
        if size < 1:
            raise ValueError("the pool needs at least one worker")
        self.runner = runner
        self.size = size
        self.timeout = timeout
        self.queue_timeout = timeout if queue_timeout is None else queue_timeout
        self.memory_mb = memory_mb
        self.owner_pid: int | None = None
        self.zygote_pid: int | None = None
        self._dir: str | None = None
        self.path: str | None = None

    # --- owner side -----------------------------------------------------------------------------

    def start(self) -> "WorkerPool":
        # The backend gets ready to be forked (e.g. the remote engine starts its forwarder: the workers' one way out).
        before_fork = getattr(getattr(self.runner, "backend", None), "before_fork", None)
        if before_fork is not None:
            before_fork()
        self._dir = tempfile.mkdtemp(prefix="mrkg-pool-")
        os.chmod(self._dir, 0o700)
        self.path = os.path.join(self._dir, "q.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        listener.listen(128)
        self.owner_pid = os.getpid()
        ready_read, ready_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # zygote
            code = 0
            try:
                os.close(ready_read)
                self._zygote(listener, ready_write)
            except BaseException:  # noqa: BLE001 - a forked child must never return into the caller's code
                code = 1
            finally:
                os._exit(code)
        listener.close()
        os.close(ready_write)
        with os.fdopen(ready_read, "rb") as ready:
            report = ready.read().decode("utf-8", "replace")  # "ok", or why the wall failed, then end of file
        if report != "ok":
            os.waitpid(pid, 0)
            shutil.rmtree(self._dir, ignore_errors=True)
            raise SandboxError(f"The query workers cannot wall off the network, so none will run: "
                               f"{report or 'the zygote died'}.")
        self.zygote_pid = pid
        atexit.register(self.close)
        return self

    def close(self) -> None:
        """Stop the zygote and its workers (only from the process that started the pool)."""
        if self.owner_pid != os.getpid() or self.zygote_pid is None:
            return
        try:
            os.kill(self.zygote_pid, signal.SIGTERM)
            os.waitpid(self.zygote_pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self.zygote_pid = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def alive(self) -> bool:
        if self.zygote_pid is None:
            return False
        try:
            os.kill(self.zygote_pid, 0)
        except ProcessLookupError:
            return False
        return True

    # --- zygote and workers ------------------------------------------------------------------------

    def _zygote(self, listener: socket.socket, ready: int) -> None:
        _die_with_parent(self.owner_pid)
        try:
            wall_off_network()  # before any worker exists: each one is forked inside the wall
        except SandboxError as exc:
            os.write(ready, str(exc).encode("utf-8"))
            return
        os.write(ready, b"ok")
        os.close(ready)
        zygote = os.getpid()
        children: set[int] = set()

        def stop(signum, frame):  # noqa: ARG001
            for child in children:
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os._exit(0)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the owner decides
        for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT, signal.SIGALRM):
            signal.signal(sig, signal.SIG_DFL)
        recent: list[float] = []
        while True:
            while len(children) < self.size:
                now = time.monotonic()
                recent = [t for t in recent if now - t < 1.0]
                if len(recent) > 4 * self.size:  # crash loop: do not spin
                    time.sleep(0.5)
                recent.append(now)
                # SIGTERM waits until the new child is in `children`, so stop() cannot miss it.
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
                pid = os.fork()
                if pid == 0:
                    code = 0
                    try:
                        signal.signal(signal.SIGTERM, signal.SIG_DFL)
                        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
                        self._worker(listener, zygote)
                    except BaseException:  # noqa: BLE001
                        code = 1
                    finally:
                        os._exit(code)
                children.add(pid)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            try:
                pid, _ = os.wait()
            except ChildProcessError:
                continue
            children.discard(pid)

    def _worker(self, listener: socket.socket, zygote: int) -> None:
        _die_with_parent(zygote)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the deadline backstop must kill, not raise
        if self.memory_mb > 0:
            with open("/proc/self/statm") as statm:
                current = int(statm.read().split()[0]) * resource.getpagesize()
            limit = current + self.memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        pid = _LEN.pack(os.getpid())
        while True:
            conn, _ = listener.accept()
            try:
                self._serve(conn, pid)
            except (OSError, ValueError):
                pass
            finally:
                conn.close()

    def _serve(self, conn: socket.socket, pid: bytes) -> None:
        conn.settimeout(IO_SECONDS)
        conn.sendall(pid)
        try:
            raw = _recv_frame(conn)
        except ConnectionResetError:  # the client gave up while queued
            return
        job = Job(**json.loads(raw))
        signal.setitimer(signal.ITIMER_REAL, self.timeout + GRACE_SECONDS)
        try:
            answer = self.runner.run(job)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        head = {"status": answer.status, "content_type": answer.content_type, "form": answer.form,
                "rows": answer.rows, "truncated": answer.truncated}
        _send_frames(conn, json.dumps(head).encode(), answer.body)
        try:
            conn.recv(1)  # until the client hangs up (see the module docstring)
        except OSError:
            pass

    # --- client side (any thread) ---------------------------------------------------------------------

    def run(self, job: Job, *, timeout: float | None = None) -> Answer:
        timeout = self.timeout if timeout is None else min(timeout, self.timeout)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        worker = None
        try:
            sock.settimeout(self.queue_timeout)
            try:
                sock.connect(self.path)
                (worker,) = _LEN.unpack(_recv_exact(sock, 4, time.monotonic() + self.queue_timeout))
            except socket.timeout:
                raise BusyError(503, f"All {self.size} query workers are busy; try again shortly.") from None
            except (FileNotFoundError, ConnectionError):
                raise EngineError(503, "The query workers are not running.") from None
            started = time.monotonic()
            deadline = started + timeout
            try:
                _send_frames(sock, json.dumps(job.to_dict()).encode())
                head = json.loads(_recv_frame(sock, deadline))
                body = _recv_frame(sock, deadline)
            except socket.timeout:
                self._kill(worker)
                raise QueryTimeoutError(503, f"Query stopped after the {timeout:g} s time limit.") from None
            except (ConnectionError, struct.error):
                if time.monotonic() - started >= timeout:
                    raise QueryTimeoutError(503, f"Query stopped after the {timeout:g} s time limit.") from None
                raise EngineError(503, "Query stopped: the worker evaluating it ran out of memory or crashed.") \
                    from None
        finally:
            sock.close()
        return Answer(status=head["status"], content_type=head["content_type"], body=body, form=head["form"],
                      rows=head["rows"], truncated=head["truncated"])

    @staticmethod
    def _kill(pid: int) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


