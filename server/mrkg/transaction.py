"""A change of facts/ and the build made from it, all or nothing: a journal that the next command completes.

`mrkg add` builds the new graph into an unpublished version folder first (versions.py). Only then does it write
the journal (the commit point: the new file's bytes, the old file's bytes and modes, the version's name) into the
version store, install the file in facts/ and publish the version, and remove the journal. A process killed before
the journal exists changed nothing (its partial version is pruned by the next build); one killed after it is
finished by the next `mrkg add` or `mrkg build` (``recover``), or undone if its version is gone. SIGTERM, SIGHUP
and SIGINT before the commit point stop the command with nothing changed; from then on they wait for its end.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import signal
import stat
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .versions import claim_version, current, discard, lock_file, publish, versions_dir

JOURNAL = "add-journal.json"
MUTEX = "facts.mutex"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived (as KeyboardInterrupt is SIGINT): unwind, cleaning up on the way."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


def pause_point(name: str) -> None:
    """A test hook: with MRKG_PAUSE_AT naming this point (comma-separated names), say so on stderr and wait for a
    line on stdin, so that a test can kill the process exactly here. Otherwise nothing."""
    wanted = os.environ.get("MRKG_PAUSE_AT")
    if not wanted or name not in wanted.split(","):
        return
    import sys

    sys.stderr.write(f"mrkg: paused at {name}\n")
    sys.stderr.flush()
    sys.stdin.readline()


def _swap_handlers(handler) -> dict | None:
    if threading.current_thread() is not threading.main_thread():
        return None
    return {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}


def _restore(old: dict | None) -> None:
    for sig, handler in (old or {}).items():
        signal.signal(sig, handler)


_HELD: list[dict] = []  # the active ``stoppable``s, innermost last


@contextmanager
def stoppable():
    """Within: SIGTERM and SIGHUP raise Terminated, SIGINT KeyboardInterrupt, so that clean-up code runs; from
    ``hold_signals()`` on (a change being committed) they are only noted, in the list yielded, for the caller to
    act on once the command is done. Signal handlers belong to the process: use it in a command's main thread."""
    noted: list[int] = []
    state = {"hold": False}

    def handler(signum, frame):
        if state["hold"]:
            noted.append(signum)
            return
        raise KeyboardInterrupt if signum == signal.SIGINT else Terminated(signum)

    old = _swap_handlers(handler)
    _HELD.append(state)
    try:
        yield noted
    finally:
        _HELD.remove(state)
        _restore(old)


def hold_signals() -> None:
    """From now on until the enclosing ``stoppable`` ends, stop signals wait (see there). Without one, nothing:
    the default SIGTERM then kills the process, and the journal is what makes the change whole."""
    if _HELD:
        _HELD[-1]["hold"] = True


@contextmanager
def exclusive(out: Path, waiting=None):
    """One command at a time changes facts/ and publishes into ``out`` (a lock in its version store);
    ``waiting()`` is called if another one holds it, before waiting for it."""
    store = versions_dir(out)
    store.mkdir(parents=True, exist_ok=True)
    fd = lock_file(store / MUTEX, fcntl.LOCK_EX | fcntl.LOCK_NB)
    if fd is None:
        if waiting is not None:
            waiting()
        fd = lock_file(store / MUTEX, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_of(dest: Path) -> Path:
    return dest.parent / f".{dest.name}.mrkg-tmp"


def write_file(dest: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``dest`` by ``data`` in one rename, with ``mode`` (default: a new file's, 0666 less the umask)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_of(dest)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)


@dataclass
class FileChange:
    """Put ``data`` at ``dest`` (``previous``: the bytes and mode it replaces, None if new) with ``version``."""

    dest: Path
    data: bytes
    previous: bytes | None
    mode: int | None
    version: str

    @classmethod
    def of(cls, dest: Path, data: bytes, version: str) -> "FileChange":
        previous = dest.read_bytes() if dest.is_file() else None
        mode = stat.S_IMODE(dest.stat().st_mode) if previous is not None else None
        return cls(dest.resolve(), data, previous, mode, version)

    def to_json(self) -> str:
        def b64(data: bytes | None) -> str | None:
            return None if data is None else base64.b64encode(data).decode("ascii")

        return json.dumps({"dest": str(self.dest), "data": b64(self.data), "previous": b64(self.previous),
                           "mode": self.mode, "version": self.version}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "FileChange":
        raw = json.loads(text)

        def unb64(value: str | None) -> bytes | None:
            return None if value is None else base64.b64decode(value)

        return cls(Path(raw["dest"]), unb64(raw["data"]), unb64(raw["previous"]), raw["mode"], raw["version"])


def _as_list(change: "FileChange | list[FileChange]") -> list[FileChange]:
    return list(change) if isinstance(change, (list, tuple)) else [change]


def journal_json(changes: list[FileChange]) -> str:
    """One file: that change's JSON object (as before several files could be added at once); several: a list."""
    if len(changes) == 1:
        return changes[0].to_json()
    return "[" + ", ".join(c.to_json() for c in changes) + "]"


def read_journal(text: str) -> list[FileChange]:
    raw = json.loads(text)
    items = raw if isinstance(raw, list) else [raw]
    return [FileChange.from_json(json.dumps(item)) for item in items]


def begin(out: Path, change: "FileChange | list[FileChange]") -> None:
    """Write the journal (atomically): from here on the change is made, now or by ``recover``."""
    write_file(versions_dir(out) / JOURNAL, journal_json(_as_list(change)).encode("utf-8"), 0o644)


def commit(out: Path, change: "FileChange | list[FileChange]", version) -> None:
    """Install the files and publish their version, then drop the journal; safe to repeat after an interruption."""
    for one in _as_list(change):
        write_file(one.dest, one.data, one.mode)
    pause_point("add:facts")
    publish(version, out)
    pause_point("add:published")
    _end(out)


def _end(out: Path) -> None:
    journal = versions_dir(out) / JOURNAL
    journal.unlink(missing_ok=True)
    _fsync_dir(journal.parent)


def recover(out: Path) -> str | None:
    """Complete or undo the change a killed command left in ``out``'s journal (hold ``exclusive(out)``); a
    sentence saying what was done, or None if there was nothing to do."""
    journal = versions_dir(out) / JOURNAL
    if not journal.is_file():
        return None
    try:
        changes = read_journal(journal.read_text(encoding="utf-8"))
        if not changes or len({c.version for c in changes}) != 1:
            raise ValueError("one version per journal")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        # Only a whole journal is ever in place (written aside and renamed): this one is not ours to act on.
        return f"{journal}: not a journal of mrkg add; left as it is"
    for change in changes:
        _temp_of(change.dest).unlink(missing_ok=True)
    store = versions_dir(out)
    name = changes[0].version
    names = ", ".join(c.dest.name for c in changes)
    published = current(out) == (store / name).resolve()
    version = None if published else claim_version(out, name)
    if published or (version is not None and any((p / "manifest.json").is_file()
                                                 for p in (version.partial, version.final))):
        for change in changes:
            write_file(change.dest, change.data, change.mode)
        if version is not None:
            publish(version, out)
        _end(out)
        return f"finished an interrupted mrkg add: {names} {'is' if len(changes) == 1 else 'are'} in facts/ and " \
               f"{out} is its build"
    if version is not None:
        discard(version)
    for change in changes:
        if change.previous is None:
            change.dest.unlink(missing_ok=True)
        else:
            write_file(change.dest, change.previous, change.mode)
    _end(out)
    return f"undid an interrupted mrkg add: {names} {'is as it was' if len(changes) == 1 else 'are as they were'} " \
           f"and {out} is unchanged"


__all__ = ["FileChange", "Terminated", "begin", "commit", "exclusive", "hold_signals", "pause_point", "recover",
           "stoppable", "write_file"]
