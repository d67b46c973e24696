"""The parse cache's memo of file checksums: a file is read again exactly when it may have changed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from mrkg.curate import cache
from mrkg.facts import load_source_file


def files_in(tmp_path: Path, n: int = 3) -> list[tuple[Path, str, object]]:
    folder = tmp_path / "facts" / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        path = folder / f"00{i}.yaml"
        if not path.exists():
            path.write_text(f"source: {{id: '00{i}'}}\nclaims: []\n")
        out.append((path, f"facts/sources/00{i}.yaml", load_source_file))
    return out


def content_keys(files) -> dict[str, str]:
    return {name: cache._cache_key(path.read_bytes(), name, loader) for path, name, loader in files}


@pytest.fixture
def reads(monkeypatch):
    """The files _file_keys reads (the rest it takes from its memo)."""
    seen: list[str] = []
    real = Path.read_bytes

    def counting(self):
        if self.suffix == ".yaml":
            seen.append(self.name)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    return seen


def age(files, seconds: float) -> None:
    """Make the memo see the files as written ``seconds`` before it (instead of sleeping past RACY_SECONDS)."""
    for path, _, _ in files:
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - int(seconds * 1e9)))


def test_keys_are_the_contents_and_an_old_unchanged_file_is_not_read_again(tmp_path, reads, monkeypatch):
    files = files_in(tmp_path)
    store = tmp_path / "cache"
    expected = content_keys(files)
    reads.clear()
    first = cache._file_keys(store, tmp_path / "facts", files)
    assert first == expected and len(reads) == 3
    # ctime cannot be set back, so the memo's clock is moved on instead: the files are RACY_SECONDS older than it.
    real_ns = time.time_ns
    monkeypatch.setattr(cache.time, "time_ns", lambda: real_ns() + (cache.RACY_SECONDS + 1) * 1_000_000_000)
    reads.clear()
    assert cache._file_keys(store, tmp_path / "facts", files) == first and len(reads) == 3  # recorded as trusted
    reads.clear()
    assert cache._file_keys(store, tmp_path / "facts", files) == first and reads == []


def test_a_file_changed_just_before_the_memo_was_written_is_read_again(tmp_path, reads):
    files = files_in(tmp_path)
    store = tmp_path / "cache"
    expected = cache._file_keys(store, tmp_path / "facts", files)
    reads.clear()
    # Written within RACY_SECONDS of the memo: it could change again in the same clock tick unseen, so it is read.
    assert cache._file_keys(store, tmp_path / "facts", files) == expected and len(reads) == 3
    assert expected == content_keys(files)


def test_a_rewrite_of_the_same_size_with_the_old_mtime_is_seen(tmp_path, reads, monkeypatch):
    files = files_in(tmp_path)
    store = tmp_path / "cache"
    real_ns = time.time_ns
    monkeypatch.setattr(cache.time, "time_ns", lambda: real_ns() + (cache.RACY_SECONDS + 1) * 1_000_000_000)
    before = cache._file_keys(store, tmp_path / "facts", files)
    path = files[1][0]
    st = path.stat()
    text = path.read_text()
    time.sleep(0.01)
    path.write_text(text.replace("claims: []", "claims: {}"))  # the same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the same mtime: only the ctime moved
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    reads.clear()
    after = cache._file_keys(store, tmp_path / "facts", files)
    assert reads == [path.name]
    assert after == content_keys(files) and after[files[1][1]] != before[files[1][1]]


def test_a_new_or_removed_file_changes_the_keys(tmp_path):
    store = tmp_path / "cache"
    three = files_in(tmp_path, 3)
    age(three, 10)
    assert set(cache._file_keys(store, tmp_path / "facts", three)) == {n for _, n, _ in three}
    four = files_in(tmp_path, 4)
    assert cache._file_keys(store, tmp_path / "facts", four) == content_keys(four)
    assert cache._file_keys(store, tmp_path / "facts", three[:2]) == content_keys(three[:2])


def test_an_unreadable_memo_is_only_slower(tmp_path, reads):
    files = files_in(tmp_path)
    store = tmp_path / "cache"
    keys = cache._file_keys(store, tmp_path / "facts", files)
    for memo in store.glob("stat-*.pickle"):
        memo.write_bytes(b"not a pickle")
    reads.clear()
    assert cache._file_keys(store, tmp_path / "facts", files) == keys and len(reads) == 3
