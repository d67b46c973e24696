"""The competency questions: queries/*.rq with their expected answers, and running them on a build."""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from .namespaces import PREFIXES

HEADER = re.compile(r"^#\s*(title|description|expect):\s*(.*)$")


@dataclass(frozen=True)
class Query:
    name: str
    title: str
    description: str
    text: str
    ordered: bool
    path: Path

    @property
    def expected_path(self) -> Path:
        return self.path.with_suffix(".tsv")


def read_query(path: Path) -> Query:
    text = path.read_text(encoding="utf-8")
    meta = {"title": "", "description": "", "expect": "unordered"}
    for line in text.splitlines():
        match = HEADER.match(line)
        if match:
            meta[match.group(1)] = (meta[match.group(1)] + " " + match.group(2)).strip() \
                if match.group(1) == "description" and meta["description"] else match.group(2).strip()
        elif line.strip() and not line.startswith("#"):
            break
    if not meta["title"]:
        raise ValueError(f"{path.name}: the query has no '# title:' line")
    return Query(path.stem, meta["title"], meta["description"], text, meta["expect"] == "ordered", path)


def read_queries(folder: Path) -> list[Query]:
    return [read_query(p) for p in sorted(folder.glob("*.rq"))]


_COMPACT = sorted(((str(ns), prefix) for prefix, ns in PREFIXES.items()), key=lambda item: -len(item[0]))
_LOCAL_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def render_iri(value: str) -> str:
    """An IRI as a prefixed name where a project prefix covers it with a plain local name, else as <IRI>."""
    for namespace, prefix in _COMPACT:
        if value.startswith(namespace) and _LOCAL_NAME.match(value[len(namespace):]):
            return f"{prefix}:{value[len(namespace):]}"
    return f"<{value}>"


def render_term(term) -> str:
    """One result cell as a Turtle / N-Triples term, nothing dropped: IRIs compacted with the project prefixes,
    literals quoted and escaped with their language tag or datatype (none for xsd:string), as SPARQL's TSV
    results format writes them. An unbound cell is empty."""
    if term is None:
        return ""
    kind = type(term).__name__
    if kind == "NamedNode":
        return render_iri(term.value)
    if kind == "BlankNode":
        return f"_:{term.value}"
    if kind != "Literal":
        raise TypeError(f"cannot render {term!r} as a term")
    text = '"' + term.value.translate(_ESCAPES) + '"'
    if term.language:
        return f"{text}@{term.language}"
    datatype = term.datatype.value if term.datatype is not None else XSD_STRING
    return text if datatype in (XSD_STRING, RDF_LANG_STRING) else f"{text}^^{render_iri(datatype)}"


def open_store(build_dir: Path):
    """A pyoxigraph store holding the build's quads."""
    from pyoxigraph import RdfFormat, Store

    store = Store()
    store.bulk_load(path=str(build_dir / "mrkg.nq"), format=RdfFormat.N_QUADS)
    return store


def run(store, text: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """Variables and rendered rows of a SELECT (or ASK: one row 'true'/'false')."""
    result = store.query(text, use_default_graph_as_union=True)
    if isinstance(result, bool) or type(result).__name__ == "QueryBoolean":  # pyoxigraph 0.5 answers ASK so
        return ["ask"], [("true" if bool(result) else "false",)]
    if not hasattr(result, "variables"):  # CONSTRUCT / DESCRIBE: one row per triple, sorted
        return ["subject", "predicate", "object"], sorted(
            tuple(render_term(t) for t in (triple.subject, triple.predicate, triple.object)) for triple in result)
    variables = [v.value for v in result.variables]
    return variables, [tuple(render_term(solution[v]) for v in variables) for solution in result]


def answer_tsv(query: Query, variables: list[str], rows: list[tuple[str, ...]]) -> str:
    """The answer as its expected file holds it: rows in the query's order, or sorted when order is not part of it."""
    return format_tsv(variables, rows if query.ordered else sorted(rows))


def diff_expected(query: Query, actual: str) -> str:
    """A unified diff from the expected file to ``actual`` (empty when they are the same text)."""
    expected = query.expected_path.read_text(encoding="utf-8") if query.expected_path.is_file() else ""
    name = f"queries/{query.expected_path.name}"
    return "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                        fromfile=name, tofile=f"{name} (answer of the build)"))


def format_tsv(variables: list[str], rows: list[tuple[str, ...]]) -> str:
    return "\t".join("?" + v for v in variables) + "\n" + "".join("\t".join(r) + "\n" for r in rows)


def parse_tsv(text: str) -> tuple[list[str], list[tuple[str, ...]]]:
    lines = text.rstrip("\n").split("\n")
    variables = [v.lstrip("?") for v in lines[0].split("\t")]
    return variables, [tuple(line.split("\t")) for line in lines[1:] if line]


@click.command("query")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--build", "build_dir", default="build", show_default=True, envvar="MRKG_BUILD_DIR",
              type=click.Path(path_type=Path), help="The build to query.")
@click.option("--write-expected", is_flag=True,
              help="Write each answer next to its query as NAME.tsv and print what changed as a diff "
                   "(review every changed row against facts/ and the sources before committing).")
def query_command(files: tuple[Path, ...], build_dir: Path, write_expected: bool) -> None:
    """Run competency questions (queries/*.rq by default) on the build and print their answers as TSV."""
    if not (build_dir / "mrkg.nq").is_file():
        raise click.ClickException(f"{build_dir}/mrkg.nq not found: run `make build` first")
    store = open_store(build_dir)
    paths = list(files) or sorted(Path("queries").glob("*.rq"))
    for path in paths:
        query = read_query(path)
        variables, rows = run(store, query.text)
        tsv = answer_tsv(query, variables, rows)
        if write_expected:
            diff = diff_expected(query, tsv)
            query.expected_path.write_text(tsv, encoding="utf-8")
            click.echo(f"# {query.name}: {len(rows)} rows, " + ("changed:" if diff else "unchanged"))
            sys.stdout.write(diff)
            continue
        click.echo(f"# {query.name}: {query.title} ({len(rows)} rows)")
        sys.stdout.write(tsv + "\n")
