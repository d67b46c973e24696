"""The version folders beside build/: built aside, published by one rename, held by the servers that serve them.

``build`` is a symlink into ``.build-versions/``. Each version ``NAME`` has a lock file ``NAME.lock`` beside it
(flock): a build holds it exclusively while it writes ``NAME.partial/`` and until ``NAME`` is published; every
server holds it shared for as long as it serves ``NAME`` (forked workers inherit the hold). Pruning removes a
folder only when it gets the lock exclusively, so it never removes a version being built or served; a folder
still named ``.partial`` whose lock nobody holds is what a killed build left, and the next build removes it.
Besides the one ``build`` points at, the ``keep`` newest published versions stay (the previous good builds).
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

PARTIAL = ".partial"
LOCK = ".lock"
LINK = ".link-"
KEEP = 2


def versions_dir(out: Path) -> Path:
    return out.parent / f".{out.name}-versions"


def _store_of(folder: Path) -> Path | None:
    """The version store ``folder`` sits in, if it is a version folder at all."""
    parent = folder.parent
    return parent if parent.name.startswith(".") and parent.name.endswith("-versions") else None


def lock_file(path: Path, operation: int) -> int | None:
    """An fd of ``path`` (created if missing) locked with ``operation``; None if LOCK_NB and someone holds it.

    The file may be unlinked by a pruner between our open and our lock; then the lock we got is on a file nobody
    else will ever open, so it is dropped and taken again on the file now at ``path``."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except PermissionError:  # another user's store (a server run by someone else): a shared lock needs no write
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, operation)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return None
            raise
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


@dataclass
class Version:
    """A version of ``out`` being built: its folder (``NAME.partial`` until published) and the lock on ``NAME``."""

    out: Path
    name: str
    fd: int | None = field(default=None, repr=False)

    @property
    def store(self) -> Path:
        return versions_dir(self.out)

    @property
    def partial(self) -> Path:
        return self.store / (self.name + PARTIAL)

    @property
    def final(self) -> Path:
        return self.store / self.name

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def new_version(out: Path) -> Version:
    """A fresh, empty ``NAME.partial`` folder in the store beside ``out``, locked for this build. Partial folders
    that killed builds left are removed first."""
    store = versions_dir(out)
    store.mkdir(parents=True, exist_ok=True)
    prune(out, keep=None)
    while True:
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**9:09d}"
        lock = store / (name + LOCK)
        try:
            os.close(os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644))
        except FileExistsError:
            continue
        fd = lock_file(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if fd is None:
            continue
        version = Version(out, name, fd)
        try:
            version.partial.mkdir()
        except BaseException:
            version.release()
            raise
        return version


def claim_version(out: Path, name: str) -> Version | None:
    """Version ``name`` of ``out`` (published or not) locked for this process; None if it is gone or held."""
    store = versions_dir(out)
    if not ((store / name).is_dir() or (store / (name + PARTIAL)).is_dir()):
        return None
    fd = lock_file(store / (name + LOCK), fcntl.LOCK_EX | fcntl.LOCK_NB)
    if fd is None:
        return None
    version = Version(out, name, fd)
    if not (version.final.is_dir() or version.partial.is_dir()):
        version.release()
        return None
    return version


def current(out: Path) -> Path | None:
    """The version folder ``out`` points at now (None if ``out`` is not a link into its store)."""
    if not out.is_symlink():
        return None
    target = out.resolve()
    return target if target.parent == versions_dir(out).resolve() and target.is_dir() else None


def publish(version: Version, out: Path | None = None, keep: int | None = KEEP) -> None:
    """Point ``out`` (a symlink) at ``version`` in one atomic rename, let go of it, then prune (see ``prune``).
    Done again after an interruption, it finishes what was left."""
    out = version.out if out is None else out
    store = version.store
    if out.exists() and not out.is_symlink():
        # A plain folder from elsewhere: keep it as an old version rather than delete it.
        out.rename(store / f"previous-{time.monotonic_ns()}")
    if version.partial.is_dir():
        os.replace(version.partial, version.final)
    if not version.final.is_dir():
        raise FileNotFoundError(f"{version.final}: the version to publish is gone")
    if current(out) != version.final.resolve():
        link = store / f"{LINK}{os.getpid()}"  # made aside, renamed over ``out``: its text is relative to out's folder
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(version.final, out.parent), target_is_directory=True)
        os.replace(link, out)
    version.release()
    if keep is not None:
        prune(out, keep)


def discard(version: Version) -> None:
    """Remove a version that was not published, and let go of it."""
    shutil.rmtree(version.partial, ignore_errors=True)
    if current(version.out) != version.final.resolve():
        shutil.rmtree(version.final, ignore_errors=True)
        (version.store / (version.name + LOCK)).unlink(missing_ok=True)
    version.release()


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def prune(out: Path, keep: int | None = KEEP) -> list[Path]:
    """Remove what is not needed from the store beside ``out``, and return what was removed: partial folders and
    lock files nobody holds, and (unless ``keep`` is None) the published versions older than the ``keep`` newest
    besides the current one. Never the current version, never one whose lock someone holds (a build writing it,
    a server serving it)."""
    store = versions_dir(out)
    if not store.is_dir():
        return []
    now = current(out)
    folders, locks = {}, set()
    for entry in store.iterdir():
        if entry.name.startswith(LINK) and entry.is_symlink() and not _alive(entry.name[len(LINK):]):
            entry.unlink(missing_ok=True)  # a build killed between making its link and renaming it
        elif entry.name.endswith(LOCK) and entry.is_file():
            locks.add(entry.name[: -len(LOCK)])
        elif entry.is_dir() and not entry.is_symlink():
            folders[entry.name] = entry
    candidates = [(name[: -len(PARTIAL)], path) for name, path in folders.items() if name.endswith(PARTIAL)]
    published = sorted(((name, path) for name, path in folders.items()
                        if not name.endswith(PARTIAL) and (now is None or path.resolve() != now)),
                       key=lambda item: (_mtime(item[1]), item[0]))
    if keep is not None:
        candidates += published[:-keep] if keep else published
    named = {name for name, _ in candidates}
    candidates += [(name, None) for name in sorted(locks) if name not in folders and name + PARTIAL not in folders
                   and name not in named]
    removed = []
    for name, path in candidates:
        fd = lock_file(store / (name + LOCK), fcntl.LOCK_EX | fcntl.LOCK_NB)
        if fd is None:
            continue  # being built or served
        try:
            if path is not None:
                if current(out) == path.resolve():
                    continue  # published since we looked
                shutil.rmtree(path, ignore_errors=True)
                if path.exists():
                    continue
                removed.append(path)
            (store / (name + LOCK)).unlink(missing_ok=True)
        finally:
            os.close(fd)
    return removed


def remove_all(out: Path) -> list[Path]:
    """Remove ``out`` and every version beside it that nobody holds; return the versions kept (served now)."""
    if out.is_symlink():
        out.unlink()
    prune(out, keep=0)
    store = versions_dir(out)
    if not store.is_dir():
        return []
    kept = sorted(p for p in store.iterdir() if p.is_dir() and not p.is_symlink())
    if not kept:
        shutil.rmtree(store, ignore_errors=True)
    return kept


def served(out: Path) -> list[str]:
    """The published versions of ``out`` other than its current one that a running server holds (oldest first)."""
    store = versions_dir(out)
    if not store.is_dir():
        return []
    now = current(out)
    found = []
    for folder in sorted((p for p in store.iterdir() if p.is_dir() and not p.is_symlink()
                          and not p.name.endswith(PARTIAL) and p.resolve() != now), key=lambda p: (_mtime(p), p.name)):
        fd = lock_file(store / (folder.name + LOCK), fcntl.LOCK_EX | fcntl.LOCK_NB)
        if fd is None:
            found.append(folder.name)
        else:
            os.close(fd)
    return found


_HELD: dict[Path, int] = {}


def hold(build_dir: Path, attempts: int = 20) -> Path:
    """The version folder ``build_dir`` points at, held (a shared lock) for the life of this process and of the
    processes it forks, so that no build prunes it while it is served. A plain folder is returned as it is."""
    folder = build_dir.resolve()
    for _ in range(attempts):
        store = _store_of(folder)
        if store is None or not folder.is_dir():
            return folder
        if folder in _HELD:
            return folder
        try:
            fd = lock_file(store / (folder.name + LOCK), fcntl.LOCK_SH)
        except OSError as exc:
            import sys

            print(f"mrkg: cannot hold {folder} ({exc.strerror}): a build may prune it while it is served",
                  file=sys.stderr)
            return folder
        if folder.is_dir():
            _HELD[folder] = fd
            return folder
        os.close(fd)  # pruned between our look and our lock: follow build_dir again
        folder = build_dir.resolve()
    return folder


def release(folder: Path) -> None:
    """Let go of this process's hold on ``folder`` (processes forked while it was held keep theirs until they end)."""
    fd = _HELD.pop(folder.resolve(), None)
    if fd is not None:
        os.close(fd)


__all__ = ["KEEP", "Version", "claim_version", "current", "discard", "hold", "lock_file", "new_version", "prune",
           "publish", "release", "remove_all", "served", "versions_dir"]
