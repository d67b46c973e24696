"""Safe YAML for hand-written facts: line numbers kept, aliases and non-standard tags refused, sizes capped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.reader import Reader

# The characters YAML 1.1 does not allow in a stream (PyYAML's own set).
NON_PRINTABLE = Reader.NON_PRINTABLE
MAX_BYTES = 2_000_000
MAX_NODES = 200_000
MAX_DEPTH = 40


@dataclass
class FactsError(Exception):
    """A problem in an input file, reported as ``file:line: message``."""

    file: str
    line: int
    message: str
    column: int = 0  # 1-based, of the exact field or value at fault; 0: the line as a whole

    @classmethod
    def at(cls, file: str, position: tuple[int, int], message: str) -> "FactsError":
        """The error at ``position``, a (line, column) pair."""
        return cls(file, position[0], message, position[1])

    @property
    def where(self) -> str:
        """``file:line:column`` (or ``file:line``, or ``file``)."""
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}" if self.column else f"{self.file}:{self.line}"

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class Map(dict):
    """A YAML mapping that remembers where it and each of its keys stand (1-based lines)."""

    line: int = 0
    column: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    def key_at(self, key: str | None) -> tuple[int, int]:
        """(line, column) of ``key`` itself (of the mapping if it has no such key)."""
        if key is not None and key in getattr(self, "key_positions", {}):
            return self.key_positions[key]
        return (self.line_of(key) if key else self.line), self.column

    def value_at(self, key: str | None) -> tuple[int, int]:
        """(line, column) of the value of ``key`` (of the key, then of the mapping, if unknown)."""
        if key is not None and key in getattr(self, "value_positions", {}):
            return self.value_positions[key]
        return self.key_at(key)

    def raw(self, key: str) -> str | None:
        """The text a plain scalar value was written as (``005`` for the number 5), if it is not a string."""
        return getattr(self, "raw_scalars", {}).get(key)


class Seq(list):
    """A YAML sequence that remembers its line and the line of each item."""

    line: int = 0
    item_lines: list[int]
    item_columns: list[int]


class _Guard:
    """Refuses anchors and aliases (alias bombs) and caps the nodes and the depth, at each node the composer makes."""

    def __init__(self, stream: str, name: str) -> None:
        super().__init__(stream)  # type: ignore[call-arg]
        self._name = name
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):  # type: ignore[override]
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise FactsError(self._name, line, "YAML anchors and aliases (&, *) are not allowed in facts files")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise FactsError(self._name, line, f"more than {MAX_NODES} YAML nodes; split the file")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise FactsError(self._name, line, f"nesting deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)  # type: ignore[misc]
        finally:
            self._depth -= 1


class _PythonLoader(_Guard, yaml.SafeLoader):
    """PyYAML's own reader, scanner and parser, in Python: its syntax errors name the character at fault."""


if getattr(yaml, "__with_libyaml__", False):
    from yaml._yaml import CParser

    class _CParser(yaml.composer.Composer, CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml's scanner and parser (C) under PyYAML's composer (Python, so every node passes _Guard)."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    class _CLoader(_Guard, _CParser):
        """Five times faster on the facts than _PythonLoader, with the same nodes (tests/test_yaml_parsers.py)."""

    _Loader: type = _CLoader
else:  # pragma: no cover - PyYAML built without libyaml
    _Loader = _PythonLoader


def _convert(node: yaml.Node, loader: _Loader, name: str) -> Any:
    line = node.start_mark.line + 1
    plain = {yaml.MappingNode: "tag:yaml.org,2002:map", yaml.SequenceNode: "tag:yaml.org,2002:seq"}.get(type(node))
    if plain is not None and node.tag != plain:
        # A tag on a mapping or a list (!!python/object/apply...) would otherwise pass unnoticed.
        raise FactsError(name, line, f"unsupported YAML tag {node.tag!r}: facts files use plain mappings and lists")
    if isinstance(node, yaml.MappingNode):
        result = Map()
        result.line = line
        result.column = node.start_mark.column + 1
        result.key_lines = {}
        result.key_positions, result.value_positions, result.raw_scalars = {}, {}, {}
        for key_node, value_node in node.value:
            key = _convert(key_node, loader, name)
            if not isinstance(key, str):
                raise FactsError(name, key_node.start_mark.line + 1, f"mapping keys must be text, got {key!r}")
            if key in result:
                raise FactsError(name, key_node.start_mark.line + 1, f"duplicate key {key!r}",
                                 key_node.start_mark.column + 1)
            result.key_lines[key] = key_node.start_mark.line + 1
            result.key_positions[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result.value_positions[key] = (value_node.start_mark.line + 1, value_node.start_mark.column + 1)
            result[key] = _convert(value_node, loader, name)
            if isinstance(value_node, yaml.ScalarNode) and not isinstance(result[key], str):
                result.raw_scalars[key] = value_node.value
        return result
    if isinstance(node, yaml.SequenceNode):
        seq = Seq(_convert(item, loader, name) for item in node.value)
        seq.line = line
        seq.item_lines = [item.start_mark.line + 1 for item in node.value]
        seq.item_columns = [item.start_mark.column + 1 for item in node.value]
        return seq
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise FactsError(name, line, f"unsupported YAML value: {str(exc).splitlines()[0]}") from None


def load_yaml_text(text: str, name: str) -> Any:
    """Parse one YAML document into Map/Seq/scalars, raising FactsError(name, line, ...)."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise FactsError(name, 0, f"file is larger than {MAX_BYTES} bytes")
    if text.startswith("\ufeff"):
        raise FactsError(name, 1, "file starts with a byte-order mark; save it as UTF-8 without BOM")
    bad = NON_PRINTABLE.search(text)
    if bad:
        # PyYAML's reader refuses these too, but with an exception outside its marked errors and no line.
        line = text.count("\n", 0, bad.start()) + 1
        what = "a NUL character (UTF-16 or binary data?)" if bad.group() == "\0" else \
            f"the control character U+{ord(bad.group()):04X}"
        raise FactsError(name, line, f"{what} at column {bad.start() - text.rfind(chr(10), 0, bad.start())}: "
                                     "facts files are plain UTF-8 text")
    try:
        node, loader = _compose(_Loader, text, name)
    except _SyntaxError:
        if _Loader is _PythonLoader:
            raise
        # A file libyaml's parser refuses is read again by PyYAML's, whose message names the character at fault and
        # the place: the error a curator sees (or the file, if PyYAML reads it) is the same with or without libyaml.
        # The guard's refusals (anchors, node and depth caps) are final: no second, slower parse of a hostile file.
        node, loader = _compose(_PythonLoader, text, name)
    if node is None:
        raise FactsError(name, 1, "file is empty")
    return _convert(node, loader, name)


class _SyntaxError(FactsError):
    """The parser's refusal (the guard's refusals are plain FactsErrors: the same whichever parser runs)."""


def _compose(loader_class: type, text: str, name: str):
    loader = loader_class(text, name)
    try:
        return loader.get_single_node(), loader
    except FactsError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _SyntaxError(name, (mark.line + 1) if mark else 0, f"YAML syntax: {exc.problem or exc}",
                           (mark.column + 1) if mark else 0) from None
    except yaml.YAMLError as exc:
        raise _SyntaxError(name, 0, f"YAML syntax: {exc}") from None
    finally:
        loader.dispose()


def _utf16_without_bom(raw: bytes) -> bool:
    """Text of the ASCII range in UTF-16 of either byte order: every other byte of its start NUL (decoded as UTF-8
    it would pass, NULs and all)."""
    head = raw[: min(len(raw), 64) // 2 * 2]
    if len(head) < 4 or not head.strip(b"\0"):
        return False
    return not any(head[1::2]) or not any(head[0::2])


def load_yaml_file(path: Path, name: str | None = None) -> Any:
    """Read and parse a facts file; unreadable, oversized or non-UTF-8 files raise FactsError."""
    name = name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise FactsError(name, 0, f"file is larger than {MAX_BYTES} bytes ({size})")
        raw = path.read_bytes()
    except OSError as exc:
        raise FactsError(name, 0, f"cannot read: {exc.strerror}") from None
    if _utf16_without_bom(raw):
        raise FactsError(name, 1, "file looks like UTF-16 text without a byte-order mark; save it as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FactsError(name, line, "not valid UTF-8 text") from None
    return load_yaml_text(text, name)
