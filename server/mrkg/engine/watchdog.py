"""Deadlines for queries evaluated inline, in the HTTP worker process that received them.

pyoxigraph has no cancellation and threads cannot be stopped, so the only way to stop a running query is to end
the process evaluating it. The query worker pool (pool.py) does that with a separate process per query, at the
cost of a round trip between processes on every query. The inline executor evaluates in the HTTP worker itself
(pyoxigraph releases the GIL while it evaluates, so the worker's other threads go on) and makes that worker the
unit that is stopped:

    request thread:  with watchdog.watch(timeout, answer_late): answer = runner.run(job)
    watchdog thread: every TICK seconds, for each watch past its deadline (or over the memory limit):
        1. answers that client itself (503 with a message, through ``answer_late``: the worker's event loop writes
           it and closes that connection, web/front.py), once;
        2. stops the worker taking new connections (``stop_accepting``); its connections already open are still
           served, each answer with ``Connection: close``, new queries included;
        3. as soon as none of the worker's connections is left to answer (``open_connections``, from the front),
           or when the server is done with the worker (gunicorn's worker_exit hook calls ``release``), or
           ``grace`` seconds later at the latest, answers every query still evaluating with 503 and ends the
           process (os._exit: a normal exit would wait for the thread still inside the engine).
    gunicorn's master then forks a fresh worker from the loaded store (a fork, not a reload).

A request thread whose client was answered by the watchdog never answers it again: when its evaluation returns
it parks until the process ends. Every client thus gets one defined answer, never a truncated 200 or a reset.
"""

from __future__ import annotations

import os
import resource
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

TICK = 0.05  # seconds between the watchdog's checks: the resolution of deadlines and of the memory limit
LateAnswer = Callable[[int, str], None]  # (status, message): write a response straight to the client


@dataclass(eq=False)
class Watch:
    deadline: float
    timeout: float
    answer_late: LateAnswer
    state: str = "running"  # running -> done (by the request thread) | answered (by the watchdog)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _rss_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


class Watchdog:
    """Stops the process at a query's deadline, after answering every client it would leave without an answer.

    One per process: a forked child gets a fresh thread on its first ``watch`` (threads do not survive fork).
    """

    def __init__(self, *, memory_mb: int = 0, grace: float = 5.0,
                 stop_accepting: Callable[[], None] | None = None, exit: Callable[[int], None] = os._exit,
                 thread: bool = True) -> None:
        self.memory_mb = memory_mb
        self.grace = grace
        # Set by the server in each worker (web/front.py); the fallback is a graceful stop by signal.
        self.stop_accepting = stop_accepting or (lambda: os.kill(os.getpid(), signal.SIGTERM))
        # The number of this process's client connections still to be answered, if the server can tell.
        self.open_connections: Callable[[], int | None] | None = None
        self._exit = exit
        self._thread = thread  # False: no watchdog thread, the caller runs ``check`` (unit tests)
        self._lock = threading.Lock()
        self._watches: set[Watch] = set()
        self._pid: int | None = None
        self._memory_limit = 0
        self.parked = 0  # request threads parked after the watchdog answered their client
        self._parked_changed = threading.Condition()
        self.doomed_at: float | None = None

    # --- request side -------------------------------------------------------------------------------

    @contextmanager
    def watch(self, timeout: float, answer_late: LateAnswer) -> Iterator[Watch]:
        """Evaluate the body under a deadline ``timeout`` seconds from now."""
        self._ensure_thread()
        watch = Watch(time.monotonic() + timeout, timeout, answer_late)
        with self._lock:  # a worker being stopped still answers the connections it has, queries included
            self._watches.add(watch)
        try:
            yield watch
        finally:
            with self._lock:
                self._watches.discard(watch)
            with watch.lock:
                answered = watch.state == "answered"
                watch.state = "done"
            if answered:  # the watchdog has answered this client and is ending the process: never answer twice
                with self._parked_changed:
                    self.parked += 1
                    self._parked_changed.notify_all()
                threading.Event().wait()

    def wait_parked(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` request threads are parked (for tests); False after ``timeout`` seconds."""
        with self._parked_changed:
            return self._parked_changed.wait_for(lambda: self.parked >= count, timeout)

    # --- watchdog side ----------------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._watches = set()
            self.parked = 0
            self.doomed_at = None
            self._memory_limit = _rss_bytes() + self.memory_mb * 1024 * 1024 if self.memory_mb > 0 else 0
            if self._thread:
                threading.Thread(target=self._run, name="mrkg-watchdog", daemon=True).start()

    def _answer(self, watch: Watch, status: int, message: str) -> bool:
        """Answer ``watch``'s client now, unless its request thread got there first."""
        with watch.lock:
            if watch.state != "running":
                return False
            watch.state = "answered"
        try:
            watch.answer_late(status, message)
        except Exception:  # noqa: BLE001 - a client gone is no reason to keep a runaway query
            pass
        return True

    def _doom(self, now: float) -> None:
        if self.doomed_at is None:
            self.doomed_at = now
            try:
                self.stop_accepting()
            except Exception:  # noqa: BLE001
                pass

    def check(self, now: float | None = None) -> bool:
        """One round of the watchdog; True when the process should end now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            watches = list(self._watches)
        for watch in watches:
            if watch.deadline <= now and self._answer(
                    watch, 503, f"Query stopped after the {watch.timeout:g} s time limit."):
                self._doom(now)
        if self._memory_limit and watches and _rss_bytes() > self._memory_limit:
            for watch in watches:
                self._answer(watch, 503, "Query stopped: it needed more memory than a query may use.")
            self._doom(now)
        if self.doomed_at is None:
            return False
        if now - self.doomed_at >= self.grace:
            return True
        try:
            connections = self.open_connections() if self.open_connections else None
        except Exception:  # noqa: BLE001 - a server without the count: the grace period decides
            connections = None
        return connections == 0

    def finish(self, message: str = "Query stopped: its worker was restarted after another query ran out of time; "
                                    "try again.") -> None:
        """Answer whatever is still evaluating, then end the process."""
        with self._lock:
            watches = list(self._watches)
        for watch in watches:
            self._answer(watch, 503, message)
        self._exit(0)

    def release(self) -> None:
        """The server is done with this process (gunicorn's worker_exit): end it now if a query is still running
        or was stopped (its thread would keep a normal exit waiting), else let it exit normally."""
        if self._pid != os.getpid():
            return
        with self._lock:
            running = bool(self._watches)
        if running or self.doomed_at is not None:
            self.finish("Query stopped: the server is stopping; try again.")

    def _run(self) -> None:
        while True:
            time.sleep(TICK)
            if self.check():
                self.finish()
                return
