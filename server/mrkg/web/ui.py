"""The query UI at /: YASGUI served from the project itself when `mrkg assets` installed it, otherwise (and
without JavaScript) a plain form that runs the query on the server and shows a results table."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Blueprint, Response, redirect, render_template, request, url_for

from ..engine import EngineError
from ..engine.formats import GRAPH_FORMATS, negotiate, prefers
from ..engine.runner import Job
from .service import PACKAGE_DIR, PREFIX_MAP, service

bp = Blueprint("ui", __name__)

VENDOR_DIR = PACKAGE_DIR / "static" / "vendor"
YASGUI_FILES = ("yasgui/yasgui.min.js", "yasgui/yasgui.min.css")
PREFERRED_PREFIXES = ("mrkg", "ent", "claim", "src", "graph", "rdf", "rdfs", "owl", "xsd", "skos", "prov", "oa", "dct",
                      "schema", "void", "dcat")


def yasgui_installed() -> bool:
    return all((VENDOR_DIR / name).is_file() for name in YASGUI_FILES)


def prefix_block() -> str:
    names = [n for n in PREFERRED_PREFIXES if n in PREFIX_MAP] + sorted(set(PREFIX_MAP) - set(PREFERRED_PREFIXES))
    return "".join(f"PREFIX {name}: <{PREFIX_MAP[name]}>\n" for name in names)


def load_examples(folder: Path | None) -> list[dict]:
    """The competency questions (queries/*.rq) as {name, title, description, query}; none if the folder is absent."""
    if folder is None or not folder.is_dir():
        return []
    from ..queries import read_query

    examples = []
    for path in sorted(folder.glob("*.rq")):
        try:
            item = read_query(path)
        except (ValueError, OSError, UnicodeDecodeError):
            continue
        examples.append({"name": item.name, "title": item.title, "description": item.description,
                         "query": item.text})
    return examples


def _cell(term: dict | None) -> dict:
    if term is None:
        return {"text": ""}
    value = term["value"]
    if term["type"] == "uri":
        for name, namespace in PREFIX_MAP.items():
            if value.startswith(namespace) and "/" not in value[len(namespace):]:
                return {"text": f"{name}:{value[len(namespace):]}", "href": local_href(value)}
        return {"text": value, "href": local_href(value)}
    if term["type"] == "bnode":
        return {"text": "_:" + value}
    suffix = f"@{term['xml:lang']}" if "xml:lang" in term else ""
    return {"text": value + suffix}


WEB_LINK = re.compile(r"https?://", re.IGNORECASE)


def local_href(iri: str) -> str | None:
    """Where a link to ``iri`` goes: our own page for an IRI of the dataset, the IRI itself for an http(s) one, and
    None (shown as text, not a link) for any other scheme: a query can mint ``IRI("javascript:...")``."""
    from ..namespaces import BASE

    if iri.startswith(BASE) and not iri[len(BASE):].startswith(("/", "\\")):  # "//host" would leave the site
        return "/" + iri[len(BASE):]
    return iri if WEB_LINK.match(iri) else None


def run_for_page(query: str) -> dict:
    """Run a query for the plain page: a table, a boolean, RDF text or an error message."""
    try:
        answer = service().run(Job(query, base=request.host_url + "sparql", accept="application/sparql-results+json, "
                                   "text/turtle;q=0.9"))
    except EngineError as exc:
        return {"error": exc.message}
    if answer.status != 200:
        return {"error": answer.body.decode("utf-8", "replace").strip()}
    if answer.form in {"CONSTRUCT", "DESCRIBE"}:
        return {"rdf": answer.body.decode("utf-8"), "truncated": answer.truncated}
    doc = json.loads(answer.body)
    if "boolean" in doc:
        return {"boolean": doc["boolean"]}
    variables = doc["head"]["vars"]
    rows = [[_cell(b.get(v)) for v in variables] for b in doc["results"]["bindings"]]
    return {"variables": variables, "rows": rows, "truncated": answer.truncated}


@bp.get("/")
def index() -> Response:
    accept = request.headers.get("Accept")
    if not request.args and accept and not prefers(accept, "text/html", GRAPH_FORMATS) \
            and "*/*" not in accept and negotiate(accept, GRAPH_FORMATS) is not None:
        # https://w3id.org/mrkg/ is the dataset's landing page: an RDF client gets the dataset's description.
        response = redirect(url_for("describe.void_description"), 303)
        response.headers["Vary"] = "Accept"
        return response
    svc = service()
    examples = load_examples(svc.queries_dir)
    query = request.args.get("query")
    chosen = request.args.get("example")
    loading = chosen and (query is None or request.args.get("load"))  # the no-JavaScript "Load" button
    if loading:
        query = next((e["query"] for e in examples if e["name"] == chosen), query)
    result = run_for_page(query) if query and not loading else None
    # Relative (the page's script resolves it against its own address): never built from the client's Host header.
    config = {"endpoint": url_for("sparql.sparql"), "prefixes": PREFIX_MAP, "prefixBlock": prefix_block(),
              "examples": examples, "terms": url_for("search.terms")}
    html = render_template("index.html", svc=svc, examples=examples, chosen=chosen,
                           query=query if query is not None else prefix_block() + "\nSELECT * WHERE {\n  ?s ?p ?o\n} LIMIT 10\n",
                           result=result, config=config, yasgui=yasgui_installed())
    return Response(html, mimetype="text/html")
