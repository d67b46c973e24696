"""The ontology reference at /ontology/: the page `mrkg build` generates from the ontology graph (mrkg.ontodoc),
served from the build being served, with the same security headers as every page."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request, send_file

from ..ontodoc import REFERENCE_FILE
from .service import service
from .ops import text_response

bp = Blueprint("reference", __name__)


@bp.get("/ontology/")
def reference() -> Response:
    release = service().release
    path = release.folder / REFERENCE_FILE if release.folder else None
    if path is None or not path.is_file():
        return text_response(404, f"The served build has no ontology reference ({REFERENCE_FILE}): `mrkg build` "
                                  "writes it; the ontology itself is in the named graph "
                                  "<https://w3id.org/mrkg/graph/ontology>.")
    sha = release.manifest.get("files", {}).get(REFERENCE_FILE, {}).get("sha256")
    return send_file(path, mimetype="text/html", etag=sha or False, conditional=True, max_age=0)


@bp.get("/ontology")
def ontology() -> Response:
    """The ontology IRI (https://w3id.org/mrkg/ontology): a browser is sent to the reference, an RDF client to the
    ontology graph through /sparql (in the format its Accept header asks for)."""
    import urllib.parse

    from ..engine.formats import GRAPH_FORMATS, prefers
    from ..namespaces import GRAPH_ONTOLOGY

    accept = request.headers.get("Accept")
    if not accept or prefers(accept, "text/html", GRAPH_FORMATS):
        response = redirect("ontology/", code=303)
    else:
        query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GRAPH_ONTOLOGY}> {{ ?s ?p ?o }} }}"
        response = redirect("sparql?" + urllib.parse.urlencode({"query": query}), code=303)
    response.headers["Vary"] = "Accept"
    return response
