"""The second wall behind the guard: a process that evaluates queries cannot open a network connection.

The guard refuses SERVICE, LOAD and remote FROM, but the engines (pyoxigraph's Rust HTTP client, rdflib's urllib)
would fetch if a query ever got past it. So every process that evaluates queries (gunicorn's HTTP workers, the
query pool's zygote and workers) walls itself off with ``wall_off_network()`` before it takes its first query:

- **seccomp** (required): ``socket()`` and ``socketpair()`` of any family but AF_UNIX fail with EACCES, and so do
  the calls that would get around that: io_uring (whose IORING_OP_SOCKET / CONNECT make sockets without
  ``socket()``; EPERM), ``socketcall`` where the architecture has it (x86_64 and aarch64 have none; a 32-bit or
  x32 system call from a 64-bit process is refused as a foreign architecture), TCP Fast Open (``sendto``,
  ``sendmsg``, ``sendmmsg`` with MSG_FASTOPEN connect without ``connect()``), and ptrace, process_vm_readv/writev
  and pidfd_getfd (which would let a walled process act through, or take sockets from, a process outside the
  wall). Denied calls fail with an errno, never kill: an engine that tries gets an error and the query a 4xx/5xx.
- **Landlock** (when the kernel has its network rules, ABI 4, Linux 6.7): no TCP ``connect()`` or ``bind()`` at
  all, and (ABI 6) no connection to abstract Unix sockets made outside the wall. seccomp cannot look inside a
  ``connect()`` call, and an inherited TCP socket (gunicorn's listener, an accepted client) can be dissolved with
  ``connect(AF_UNSPEC)`` and connected elsewhere: Landlock closes that for code that runs in the worker.

Why seccomp (and Landlock), not a network namespace: both work unprivileged (no root, no user namespaces, no
capabilities), both are applied by the process to itself after the listening socket exists, so ``accept()`` on the
inherited listener keeps working while no new socket of the network can be made; both are inherited by every
thread and child started afterwards and cannot be lifted. seccomp is installed with TSYNC (every thread of the
process at once); Landlock restricts the calling thread only, so the wall is applied before any thread exists
(right after the fork) and refuses to start in a process that already has more than one.

Fail closed: when the wall cannot be installed (not Linux, an unknown architecture, no libseccomp, a kernel
refusing the filter), ``wall_off_network`` raises SandboxError and the caller does not evaluate queries
(``enforce`` ends the process with one line on stderr). Only x86_64 and aarch64 are known.

What stays open: AF_UNIX, which the processes need among themselves (the pool's socket, the remote engine's
forwarder below). Any Unix socket the process may open on the machine is thus reachable (e.g. a local resolver
daemon, which could look a name up on the process's behalf): run the server where no such socket is reachable
if that matters.

The remote engine talks HTTP to its store, so its one way out is ``Forwarder``: a small process started before the
walled processes fork, outside the wall, that listens on a private Unix socket and connects each client to the
one configured host and port, copying bytes both ways without reading them.
"""

from __future__ import annotations

import atexit
import ctypes
import errno
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

from .errors import ConfigurationError

# platform.machine() -> libseccomp's architecture token (the audit arch); anything else is refused.
KNOWN_ARCHITECTURES = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
MSG_FASTOPEN = 0x20000000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1
# Landlock's system calls have the same numbers on every architecture (added after the tables were unified).
LANDLOCK_CREATE_RULESET, LANDLOCK_RESTRICT_SELF = 444, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_ACCESS_NET_BIND_TCP, LANDLOCK_ACCESS_NET_CONNECT_TCP = 1, 2
LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET = 1

_walled: tuple[str, ...] | None = None  # the layers in force in this process (inherited over fork with the wall)


class SandboxError(ConfigurationError):
    """The network wall could not be installed: this process must not evaluate queries."""


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _seccomp_filter():
    """The seccomp filter (a pyseccomp SyscallFilter, not loaded)."""
    try:
        import pyseccomp as sc
    except (ImportError, RuntimeError, OSError) as exc:  # pyseccomp raises RuntimeError without libseccomp
        raise SandboxError(f"seccomp is not available ({exc}; install libseccomp2 and pyseccomp)") from None
    native = sc.system_arch()
    if native != KNOWN_ARCHITECTURES.get(platform.machine()):
        raise SandboxError(f"no network wall is known for this architecture ({platform.machine()}, "
                           f"libseccomp arch {native:#x}); only {', '.join(KNOWN_ARCHITECTURES)}")
    denied, refused = sc.ERRNO(errno.EACCES), sc.ERRNO(errno.EPERM)
    rules = sc.SyscallFilter(sc.ALLOW)
    try:
        rules.set_attr(sc.Attr.CTL_TSYNC, 1)  # every thread of the process, or the load fails
        rules.set_attr(sc.Attr.ACT_BADARCH, refused)  # 32-bit (int 0x80) and x32 system calls: refused, whatever
        for call in ("socket", "socketpair"):
            rules.add_rule(denied, call, sc.Arg(0, sc.NE, socket.AF_UNIX))
        if sc.resolve_syscall(sc.Arch.NATIVE, "socketcall") >= 0:  # a real call here (libseccomp gives others < 0)
            rules.add_rule(denied, "socketcall")
        for call, flags in (("sendto", 3), ("sendmsg", 2), ("sendmmsg", 3)):  # TCP Fast Open connects as it sends
            rules.add_rule(denied, call, sc.Arg(flags, sc.MASKED_EQ, MSG_FASTOPEN, MSG_FASTOPEN))
        for call in ("io_uring_setup", "io_uring_enter", "io_uring_register",
                     "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd"):
            if sc.resolve_syscall(sc.Arch.NATIVE, call) < 0:  # an old libseccomp: a gap in the wall, so no wall
                raise OSError(errno.ENOSYS, f"libseccomp does not know {call}")
            rules.add_rule(refused, call)
    except OSError as exc:
        raise SandboxError(f"the seccomp filter could not be made ({exc.strerror or exc})") from None
    return rules


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none)."""
    if sys.platform != "linux":
        return 0
    version = _libc().syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                              ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def _landlock_network(libc: ctypes.CDLL, abi: int) -> None:
    """Restrict this thread (and what it starts) to no TCP connect/bind and no foreign abstract Unix sockets."""
    attr = (ctypes.c_uint64 * 3)(0, LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP,
                                 LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16  # struct landlock_ruleset_attr grew a field in ABI 6
    ruleset = int(libc.syscall(LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)))
    if ruleset < 0:
        raise SandboxError(f"Landlock refused the network rules: {os.strerror(ctypes.get_errno())}")
    try:
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
                libc.syscall(LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise SandboxError(f"Landlock could not be applied: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(ruleset)


def wall_off_network() -> tuple[str, ...]:
    """Make this process (all its threads, and every thread and child it starts later) unable to open any
    socket but AF_UNIX; returns the layers in force, e.g. ("seccomp", "landlock"). Raises SandboxError when
    the wall cannot be installed. Calling it again in a walled process (or a child of one) does nothing."""
    global _walled
    if _walled is not None:
        return _walled
    if sys.platform != "linux":
        raise SandboxError(f"the network wall needs Linux (seccomp); this is {sys.platform}")
    rules = _seccomp_filter()
    libc = _libc()
    layers = ["seccomp"]
    abi = landlock_abi()
    if abi >= 4:
        threads = len(os.listdir("/proc/self/task"))
        if threads != 1:
            raise SandboxError(f"the network wall must be applied before the process starts threads ({threads} run)")
        _landlock_network(libc, abi)
        layers.append("landlock")
    try:
        rules.load()
    except OSError as exc:
        raise SandboxError(f"the kernel refused the seccomp filter ({exc.strerror or exc})") from None
    _walled = tuple(layers)
    return _walled


def walled() -> tuple[str, ...] | None:
    """The layers of the wall in force in this process, or None."""
    return _walled


def enforce(who: str, exit_code: int = 1) -> tuple[str, ...]:
    """``wall_off_network()``, or one line on stderr and the end of this process (``exit_code``) without running
    anything else: for processes that exist to evaluate queries."""
    try:
        return wall_off_network()
    except SandboxError as exc:
        os.write(2, f"mrkg: {who} cannot wall off the network, so it will not evaluate queries: {exc}.\n".encode())
        os._exit(exit_code)


def check() -> tuple[str, ...]:
    """The layers the wall would have here, found by installing it in a short-lived child (which also checks that
    a socket of the network is then refused); raises SandboxError with the reason when it cannot be installed."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: install, test, report one line, leave
        code = 1
        try:
            os.close(read)
            try:
                layers = wall_off_network()
                try:
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
                    report = "!a socket of the network could still be made"
                except PermissionError:
                    report = " ".join(layers)
                    code = 0
            except SandboxError as exc:
                report = "!" + str(exc)
            os.write(write, report.encode()[:4000])
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        report = pipe.read().decode()
    os.waitpid(pid, 0)
    if not report or report.startswith("!"):
        raise SandboxError(report[1:] or "the child installing the network wall died")
    return tuple(report.split())


# --- the remote engine's one way out ------------------------------------------------------------------------

class Forwarder:
    """A process outside the wall that connects each client of a private Unix socket to ``host``:``port``.

    Started (``start``) by the process that will fork the walled ones, before it forks them; ``path`` is the
    socket. It reads nothing of what it copies: the bytes of one connection go to the one configured address
    and back. It dies with the process that started it (``close``, or PR_SET_PDEATHSIG if that one is killed).
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.path: str | None = None
        self.process: subprocess.Popen | None = None
        self._owner: int | None = None
        self._dir: str | None = None

    def start(self) -> "Forwarder":
        self._dir = tempfile.mkdtemp(prefix="mrkg-forward-")
        os.chmod(self._dir, 0o700)  # only this user's processes may connect
        self.path = os.path.join(self._dir, "backend.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(self.path)
            listener.listen(128)
            # A fresh interpreter (nothing of this process's memory or open files but the listener), in its own
            # session so that a terminal's Ctrl-C reaches the server, which then closes it.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mrkg.engine.sandbox", "forward", str(listener.fileno()), self.host,
                 str(self.port), str(os.getpid())],
                pass_fds=(listener.fileno(),), stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            listener.close()
        self._owner = os.getpid()
        atexit.register(self.close)
        return self

    def close(self) -> None:
        if self._owner != os.getpid() or self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)


def _forward(listener_fd: int, host: str, port: int, parent: int) -> None:
    import asyncio

    try:
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the server is already gone
        return
    listener = socket.socket(fileno=listener_fd)

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()  # a half-close goes through: the HTTP client may wait for the answer
        except OSError:
            writer.close()

    async def connection(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            backend_reader, backend_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()  # the client sees the connection closed: the store is not reachable
            return
        try:
            await asyncio.gather(pump(client_reader, backend_writer), pump(backend_reader, client_writer))
        finally:
            backend_writer.close()
            client_writer.close()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        server = await asyncio.start_unix_server(connection, sock=listener)
        async with server:
            await stop.wait()

    asyncio.run(main())


if __name__ == "__main__" and sys.argv[1:2] == ["forward"]:
    fd, to_host, to_port, owner = sys.argv[2:6]
    _forward(int(fd), to_host, int(to_port), int(owner))
