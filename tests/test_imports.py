"""The mrkg package has no import cycle, and the build never imports the curator's code.

The imports are read statically (ast) from every module of server/mrkg: each `import mrkg.x`, `from . import x`,
`from .x import y` and `from ..x import y`, at module level or inside a function (a function-level import is still
an edge: it only hides a cycle until the function runs). Imports under `if TYPE_CHECKING:` are left out (they never
run). A `from package import name` where `name` is a submodule counts as an import of that submodule.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "server" / "mrkg"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = ["mrkg", *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    return {module_name(p, root): p for p in sorted(root.rglob("*.py"))}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The mrkg modules the module ``name`` (at ``path``) imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str) -> None:
        while target and target not in known:  # `mrkg.x.y` where y is a name in mrkg.x
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "mrkg" or alias.name.startswith("mrkg."):
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and (node.module == "mrkg" or node.module.startswith("mrkg.")):
                target = node.module
            else:
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                add(submodule if submodule in known else target)
    return found


@functools.lru_cache(maxsize=None)
def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    mods = modules(root)
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for nxt in graph.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_package_has_no_import_cycle():
    graph = import_graph()
    assert len(graph) > 30  # the walk found the package
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", ["mrkg.build", "mrkg.conformance", "mrkg.dumps", "mrkg.rdf", "mrkg.facts"])
def test_the_build_never_imports_curator_code(module):
    graph = import_graph()
    curator = {m for m in graph if m == "mrkg.curate" or m.startswith("mrkg.curate.")}
    assert len(curator) >= 8  # curate is a package of parts
    assert not reachable(graph, module) & curator, f"{module} reaches {sorted(reachable(graph, module) & curator)}"


def test_the_walk_sees_cycles_and_function_level_imports(tmp_path):
    """The checker itself: a cycle through a function-level relative import is found, TYPE_CHECKING is not."""
    pkg = tmp_path / "mrkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import thing\n")
    (pkg / "b.py").write_text("def f():\n    from .sub import c\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..b import f\n"
                                      "from .. import a\n")
    known = set(modules(pkg))
    graph = {name: imports_of(name, path, known) for name, path in modules(pkg).items()}
    assert graph["mrkg.b"] == {"mrkg.sub.c"} and graph["mrkg.sub.c"] == {"mrkg.a"}
    assert find_cycle(graph) == ["mrkg.a", "mrkg.b", "mrkg.sub.c", "mrkg.a"]
    (pkg / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import a\n")
    graph = {name: imports_of(name, path, known) for name, path in modules(pkg).items()}
    assert find_cycle(graph) is None
