"""A result cache: complete answers kept in memory, keyed by the canonical query, format and dataset version.

Endpoints see the same queries again and again (example queries, pages, dashboards). An answer is kept only
when it is complete: status 200 and not cut at the row limit; errors, refusals and timeouts (which raise) are
never kept. The key holds everything the answer depends on: the canonical text of the guard's parse (the very
text the engine evaluates, engine/canonical.py: comments and layout are gone because the parser dropped them,
not because a second, hand-written reader guessed where they end), the Accept header and format= parameter,
the protocol graphs, the base IRI, and the dataset version (the build's dataset_sha256), so a new build never
serves an old answer. The cache is bounded by bytes (least recently used answers go first); each HTTP worker
process has its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from typing import Callable

from .runner import Answer, Job

CACHE_HEADER = "MRKG-Cache"
ENTRY_OVERHEAD = 256  # bytes a key and an Answer cost beyond the body, roughly
class ResultCache:
    """A least-recently-used map of complete answers, at most ``max_bytes`` of them in all."""

    def __init__(self, max_bytes: int, *, max_entry_bytes: int | None = None) -> None:
        if max_bytes <= 0:
            raise ValueError("a result cache needs a positive size; use no cache to turn it off")
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes if max_entry_bytes is not None else max(1, max_bytes // 8)
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(job: Job, canonical: str, version: str) -> tuple:
        """``canonical``: the guard's canonical text of ``job.query`` (GuardedQuery.text)."""
        return (canonical, (job.accept or "").replace(" ", ""), job.format or "",
                tuple(job.default_graphs or ()), tuple(job.named_graphs or ()), job.base or "", version)

    @staticmethod
    def _size(key: tuple, answer: Answer) -> int:
        return len(answer.body) + len(key[0]) + len(key[1]) + ENTRY_OVERHEAD

    def get(self, job: Job, canonical: str, version: str) -> Answer | None:
        key = self.key(job, canonical, version)
        with self._lock:
            answer = self._entries.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        return replace(answer, headers={**answer.headers, CACHE_HEADER: "hit"})

    def put(self, job: Job, canonical: str, version: str, answer: Answer) -> bool:
        """Keep ``answer`` if it is complete and small enough; True when kept."""
        if answer.status != 200 or answer.truncated:
            return False
        key = self.key(job, canonical, version)
        size = self._size(key, answer)
        if size > self.max_entry_bytes:
            return False
        stored = replace(answer, headers={k: v for k, v in answer.headers.items() if k != CACHE_HEADER})
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= self._size(key, old)
            self._entries[key] = stored
            self.bytes += size
            while self.bytes > self.max_bytes and self._entries:
                old_key, old_answer = self._entries.popitem(last=False)
                self.bytes -= self._size(old_key, old_answer)
        return True

    def run(self, job: Job, canonical: str, version: str, compute: Callable[[Job], Answer]) -> Answer:
        """The cached answer to ``job`` (whose canonical text is ``canonical``) for dataset ``version``, or
        ``compute(job)`` (kept when complete)."""
        cached = self.get(job, canonical, version)
        if cached is not None:
            return cached
        answer = compute(job)  # errors raised here (timeouts, busy workers) are never cached
        self.put(job, canonical, version, answer)
        answer.headers[CACHE_HEADER] = "miss"
        return answer

    def stats(self) -> dict[str, int]:
        return {"entries": len(self._entries), "bytes": self.bytes, "max_bytes": self.max_bytes,
                "hits": self.hits, "misses": self.misses}
