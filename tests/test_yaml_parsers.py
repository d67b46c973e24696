"""The facts reader parses with libyaml (C) where PyYAML has it, and with PyYAML's Python parser otherwise: both must
read every file to the same values at the same lines and columns, refuse the same files, and say the same thing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mrkg import yamlfile
from mrkg.yamlfile import FactsError, load_yaml_text

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not getattr(yaml, "__with_libyaml__", False), reason="PyYAML without libyaml")


def shape(value):
    """A value with everything the reader records about where each part was written."""
    if isinstance(value, dict):
        return ("map", value.line, value.column, value.key_lines, value.key_positions, value.value_positions,
                value.raw_scalars, {k: shape(v) for k, v in value.items()})
    if isinstance(value, list):
        return ("seq", value.line, value.item_lines, value.item_columns, [shape(v) for v in value])
    return (type(value).__name__, value)


def read(text: str, loader: type, monkeypatch) -> tuple:
    with monkeypatch.context() as m:
        m.setattr(yamlfile, "_Loader", loader)
        try:
            return ("read", shape(load_yaml_text(text, "f.yaml")))
        except FactsError as exc:
            return ("refused", str(exc))


def test_the_fast_loader_is_libyaml():
    assert yamlfile._Loader is yamlfile._CLoader
    assert issubclass(yamlfile._CLoader, yaml._yaml.CParser)


@pytest.mark.parametrize("path", sorted((ROOT / "facts").rglob("*.yaml")), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_facts_file_reads_the_same_with_both_parsers(path, monkeypatch):
    text = path.read_text(encoding="utf-8")
    fast = read(text, yamlfile._CLoader, monkeypatch)
    assert fast[0] == "read"
    assert fast == read(text, yamlfile._PythonLoader, monkeypatch)


DOCUMENTS = [
    "a: 1\nb: [x, y]\nc: {d: e}\n",
    "a: 0o17\nb: 1_000\nc: 2026-12-01\nd: yes\ne: ~\nf: .inf\ng: 0x1F\nh: 1e3\ni: '005'\nj: 005\n",
    "a: |\n  kept\n  lines\nb: >\n  folded\n  text\nc: \"esc\\taped \\u00e9\"\n",
    "? a\n: b\n",
    "- one\n- two: 2\n  three: 3\n- [four]\n",
    "a: é\nb: ünïcödé keys\nçé: 1\n",
    "a: !!str 5\n",
    "# only a comment\na: 1 # and one after\n",
    # refused, by libyaml and by PyYAML: the message must be PyYAML's, which names the character and the place
    "a: [1, 2", "a: b: c", "- a\nb: c", "a: 'x", "a:\n\t- b", "{a: 1", 'a: "\\q"', "key: value\n  bad indent: 2",
    "%YAML 1.1\n%YAML 1.1\n---\na: 1", "a: @x", "a: `x", "--- a\n--- b", "a: [b, c]]", "a: é\nb: [1,", "\ta: 1",
    "x: 1\n" + "[" * 60 + "]" * 60,
    # refused by the reader's own guard, whichever parser runs under it
    "&x a: 1", "a: *x", "- &a [1]\n- *a", "a: !!python/object:os.system x", "a: !foo bar", "a: 1\na: 2",
    "a:\n" + "".join("  " * i + "- \n" for i in range(1, 50)),
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_the_same_values_or_the_same_refusal(text, monkeypatch):
    assert read(text, yamlfile._CLoader, monkeypatch) == read(text, yamlfile._PythonLoader, monkeypatch)


@pytest.mark.parametrize("text, message", [
    ("a: @x", "f.yaml:1:4: YAML syntax: found character '@' that cannot start any token"),
    ("a: [1, 2", "f.yaml:1:9: YAML syntax: expected ',' or ']', but got '<stream end>'"),
    ("&x a: 1", "f.yaml:1: YAML anchors and aliases (&, *) are not allowed in facts files"),
])
def test_a_refusal_names_the_character_and_the_place(text, message):
    with pytest.raises(FactsError) as caught:
        load_yaml_text(text, "f.yaml")
    assert str(caught.value) == message


@pytest.mark.parametrize("text", ["&x a: 1", "a:\n" + "".join("  " * i + "- \n" for i in range(1, 50)),
                                  "[" + "1, " * (yamlfile.MAX_NODES + 1) + "1]"])
def test_a_refusal_of_the_guard_is_final_without_a_second_slower_parse(text, monkeypatch):
    parsed_by = []
    real = yamlfile._compose

    def counting(loader_class, text, name):
        parsed_by.append(loader_class)
        return real(loader_class, text, name)

    monkeypatch.setattr(yamlfile, "_compose", counting)
    with pytest.raises(FactsError):
        load_yaml_text(text, "f.yaml")
    assert parsed_by == [yamlfile._CLoader]


def test_a_syntax_error_is_read_again_by_pyyaml(monkeypatch):
    parsed_by = []
    real = yamlfile._compose
    monkeypatch.setattr(yamlfile, "_compose", lambda cls, text, name: parsed_by.append(cls) or real(cls, text, name))
    with pytest.raises(FactsError):
        load_yaml_text("a: @x", "f.yaml")
    assert parsed_by == [yamlfile._CLoader, yamlfile._PythonLoader]
