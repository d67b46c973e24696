"""Source texts: their checksums, and finding a verbatim quote in them with exact offsets."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

# Typographic quotes count as their plain forms when a quote is looked up.
_QUOTE_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                             "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'})
CONTEXT_CHARS = 32


def normalise(text: str) -> tuple[str, list[int]]:
    """Fold typographic quotes and runs of whitespace to one space.

    Returns the normalised text and, for each of its characters, the index of the
    character in ``text`` it came from, so a match maps back to original offsets.
    """
    out: list[str] = []
    index: list[int] = []
    pending_space = -1
    for i, ch in enumerate(text.translate(_QUOTE_FOLD)):
        if ch.isspace():
            if pending_space < 0:
                pending_space = i
            continue
        if pending_space >= 0:
            if out:
                out.append(" ")
                index.append(pending_space)
            pending_space = -1
        out.append(ch)
        index.append(i)
    return "".join(out), index


def fold(text: str) -> str:
    return normalise(text)[0]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    exact: str
    prefix: str
    suffix: str


@dataclass
class SourceText:
    """One source file: its text as received, and quote lookup in it."""

    file_name: str
    text: str
    sha256: str

    @classmethod
    def read(cls, path: Path) -> "SourceText":
        raw = path.read_bytes()
        return cls(path.name, raw.decode("utf-8"), hashlib.sha256(raw).hexdigest())

    @cached_property
    def _normalised(self) -> tuple[str, list[int]]:
        return normalise(self.text)

    def occurrences(self, quote: str) -> list[int]:
        """Start offsets (in the normalised text) of every occurrence of ``quote``."""
        needle = fold(quote)
        haystack = self._normalised[0]
        found, at = [], haystack.find(needle) if needle else -1
        while at >= 0:
            found.append(at)
            at = haystack.find(needle, at + 1)
        return found

    def locate(self, quote: str, occurrence: int = 1) -> Span | None:
        """The ``occurrence``-th place (1-based) where ``quote`` stands, or None."""
        hits = self.occurrences(quote)
        if not 1 <= occurrence <= len(hits):
            return None
        norm, index = self._normalised
        first = hits[occurrence - 1]
        last = first + len(fold(quote)) - 1
        start, end = index[first], index[last] + 1
        return Span(
            start=start,
            end=end,
            exact=self.text[start:end],
            prefix=self.text[max(0, start - CONTEXT_CHARS):start],
            suffix=self.text[end:end + CONTEXT_CHARS],
        )

    def contains(self, fragment: str, within: str) -> bool:
        """Whether ``fragment`` occurs in ``within`` modulo whitespace, quotes and case."""
        return fold(fragment).casefold() in fold(within).casefold()


def read_sources(folder: Path) -> dict[str, SourceText]:
    """Every ``*.txt`` in ``folder`` by file name."""
    return {p.name: SourceText.read(p) for p in sorted(folder.glob("*.txt"))}
