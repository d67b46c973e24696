"""Safe YAML for facts: line numbers kept; aliases, tags, duplicates, BOM, bad encodings and oversize refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from mrkg.yamlfile import MAX_BYTES, FactsError, load_yaml_file, load_yaml_text


def test_mappings_remember_their_lines():
    data = load_yaml_text("a: 1\nb:\n  c: 2026-11-22\n", "f.yaml")
    assert data.line_of("b") == 2 and data["b"].line == 3 and data["b"]["c"].isoformat() == "2026-11-22"


@pytest.mark.parametrize("text,line,message", [
    ("a: &x [1, 2]\nb: *x\n", 1, "anchors and aliases"),
    ("a: !!python/object:os.system x\n", 1, "unsupported YAML value"),
    ("source: !!python/object/apply:os.system [echo hi]\n", 1, "unsupported YAML tag"),
    ("a:\n  b: !!python/object/new:dict {x: 1}\n", 2, "unsupported YAML tag"),
    ("a: 1\na: 2\n", 2, "duplicate key 'a'"),
    ("x:\n  - y: 1\n    z: [1,2\n", 4, "YAML syntax"),
    ("\ufeffa: 1\n", 1, "byte-order mark"),
    ("", 1, "empty"),
    ("a: 1\nb: x\0y\n", 2, "a NUL character (UTF-16 or binary data?) at column 5"),
    ("a: 1\n\nc: \x07\n", 3, "the control character U+0007 at column 4"),
    ("a: \x1b[31mred\n", 1, "the control character U+001B at column 4"),
])
def test_unsafe_or_broken_yaml_is_refused_with_file_and_line(text, line, message):
    with pytest.raises(FactsError) as caught:
        load_yaml_text(text, "f.yaml")
    assert (caught.value.file, caught.value.line) == ("f.yaml", line)
    assert message in caught.value.message


def test_alias_bomb_is_refused_before_it_expands():
    bomb = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nd: &d [*c,*c]\n'
    with pytest.raises(FactsError, match="anchors and aliases"):
        load_yaml_text(bomb, "bomb.yaml")


def test_oversized_and_non_utf8_files_are_refused(tmp_path: Path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (MAX_BYTES + 1) + b"\n")
    with pytest.raises(FactsError, match="larger than"):
        load_yaml_file(big, "big.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("a: 1\nb: caf\xe9\n".encode("latin-1"))
    with pytest.raises(FactsError) as caught:
        load_yaml_file(latin, "latin.yaml")
    assert caught.value.line == 2 and "UTF-8" in caught.value.message


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_refused_with_a_line(tmp_path: Path, encoding: str):
    path = tmp_path / "wide.yaml"
    path.write_bytes("type: population\nentities: []\n".encode(encoding))
    with pytest.raises(FactsError) as caught:
        load_yaml_file(path, "wide.yaml")
    assert str(caught.value) == "wide.yaml:1: file looks like UTF-16 text without a byte-order mark; save it as UTF-8"
