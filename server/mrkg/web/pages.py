"""Linked-data pages: an IRI under https://w3id.org/mrkg/ dereferences at the same path, as HTML (labels, claims
grouped by kind with source, quote and hedge, negations and conflicts) or as RDF by content negotiation.
Every page is built from SPARQL queries run through the same guarded, time-limited workers as /sparql."""

from __future__ import annotations

import json
from collections import defaultdict

from flask import Blueprint, Response, abort, render_template, request

from ..engine import EngineError
from ..engine.formats import GRAPH_FORMATS, Format, by_name, content_type, describe_choices, negotiate
from ..engine.runner import Job
from ..namespaces import BASE
from .service import PREFIX_MAP, compact, service  # noqa: F401 (compact: re-exported)
from .ops import text_response
from .ui import local_href

bp = Blueprint("pages", __name__)

HTML = Format("html", "text/html", ("application/xhtml+xml",))
PAGE_FORMATS = (HTML, *GRAPH_FORMATS)
KINDS = ("entity", "claim", "source", "conflict", "statement", "mapping", "ontology", "activity", "agent")
MRKG = PREFIX_MAP["mrkg"]
LABELS = "rdfs:label|skos:prefLabel|dct:title"


def _iri(text: str) -> str:
    if any(c in text for c in '<>"{}|\\^` \n'):
        abort(404)
    return text


def select(query: str) -> list[dict]:
    answer = service().run(Job(query, format="json"))
    if answer.status != 200:
        raise EngineError(answer.status, answer.body.decode("utf-8", "replace").strip())
    return json.loads(answer.body)["results"]["bindings"]


def ask(query: str) -> bool:
    answer = service().run(Job(query, format="json"))
    if answer.status != 200:
        raise EngineError(answer.status, answer.body.decode("utf-8", "replace").strip())
    return bool(json.loads(answer.body)["boolean"])


def _values(iris) -> str:
    return " ".join(f"<{i}>" for i in sorted(iris))


def _labels(iris: set[str]) -> dict[str, str]:
    if not iris:
        return {}
    rows = select(f"SELECT ?x ?label WHERE {{ VALUES ?x {{ {_values(iris)} }} ?x {LABELS} ?label }}")
    labels: dict[str, str] = {}
    for row in rows:
        labels.setdefault(row["x"]["value"], row["label"]["value"])
    return labels


def _claims(iri: str) -> list[dict]:
    rows = select(f"""
        SELECT ?claim ?kind ?s ?p ?o ?polarity ?certainty ?cue ?quote ?source ?label WHERE {{
          {{ ?claim mrkg:subject <{iri}> }} UNION {{ ?claim mrkg:object <{iri}> }}
          UNION {{ ?claim prov:wasDerivedFrom <{iri}> }} UNION {{ VALUES ?claim {{ <{iri}> }} }}
          ?claim a mrkg:Claim .
          OPTIONAL {{ ?claim a ?kind FILTER(?kind != mrkg:Claim) }}
          OPTIONAL {{ ?claim mrkg:subject ?s }} OPTIONAL {{ ?claim mrkg:predicate ?p }}
          OPTIONAL {{ ?claim mrkg:object ?o }} OPTIONAL {{ ?claim mrkg:polarity ?polarity }}
          OPTIONAL {{ ?claim mrkg:certainty ?certainty }} OPTIONAL {{ ?claim mrkg:hedgeCue ?cue }}
          OPTIONAL {{ ?claim mrkg:quote ?quote }} OPTIONAL {{ ?claim prov:wasDerivedFrom ?source }}
          OPTIONAL {{ ?claim rdfs:label ?label }}
        }}""")
    claims: dict[str, dict] = {}
    for row in rows:
        value = {k: v["value"] for k, v in row.items()}
        claim = claims.setdefault(value["claim"], {"iri": value["claim"], "kinds": set()})
        if "kind" in value:
            claim["kinds"].add(value["kind"])
        for key in ("s", "p", "o", "polarity", "certainty", "cue", "quote", "source", "label"):
            if key in value:
                claim.setdefault(key, value[key])
        if row.get("o", {}).get("type") == "literal":
            claim["o_literal"] = True
    return list(claims.values())


def _conflicts(claim_iris: set[str]) -> dict[str, list[dict]]:
    if not claim_iris:
        return {}
    rows = select(f"""
        SELECT ?claim ?conflict ?kind ?other WHERE {{
          VALUES ?claim {{ {_values(claim_iris)} }}
          ?conflict mrkg:conflictingClaim ?claim .
          ?conflict mrkg:conflictingClaim ?other . FILTER(?other != ?claim)
          OPTIONAL {{ ?conflict mrkg:conflictKind ?kind }}
        }}""")
    found: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        found[row["claim"]["value"]].append({k: v["value"] for k, v in row.items()})
    return found


def _html(iri: str) -> Response:
    props = select(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}")
    incoming = 0 if props else len(select(f"SELECT ?s WHERE {{ ?s ?p <{iri}> }} LIMIT 1"))
    if not props and not incoming:
        abort(404)
    claims = _claims(iri)
    conflicts = _conflicts({c["iri"] for c in claims})
    mentioned = {iri} | {row["p"]["value"] for row in props} \
        | {row["o"]["value"] for row in props if row["o"]["type"] == "uri"}
    for claim in claims:
        mentioned |= claim["kinds"] | {claim[k] for k in ("s", "p", "o", "source", "polarity", "certainty")
                                        if k in claim and not (k == "o" and claim.get("o_literal"))}
    for items in conflicts.values():
        mentioned |= {c["other"] for c in items} | {c["kind"] for c in items if "kind" in c}
    labels = _labels(mentioned)
    groups: dict[str, list[dict]] = defaultdict(list)
    for claim in claims:
        claim["negated"] = claim.get("polarity") == MRKG + "Negated"
        claim["hedged"] = claim.get("certainty") == MRKG + "Hedged"
        claim["conflicts"] = conflicts.get(claim["iri"], [])
        kind = sorted(claim["kinds"])[0] if claim["kinds"] else MRKG + "Claim"
        groups[labels.get(kind, compact(kind))].append(claim)
    for items in groups.values():
        items.sort(key=lambda c: (c.get("source", ""), c["iri"]))
    properties = sorted(((row["p"]["value"], row["o"]) for row in props), key=lambda item: (item[0], item[1]["value"]))
    title = labels.get(iri) or compact(iri)

    def name(term: str) -> str:
        return labels.get(term) or compact(term)

    from ..ontodoc import anchor_of

    # An ontology term's page links to its entry in the reference (/ontology/#term).
    reference = "./#" + anchor_of(iri) if iri.startswith(MRKG) else None
    html = render_template("page.html", svc=service(), iri=iri, title=title, properties=properties,
                           groups=sorted(groups.items()), name=name, href=local_href, compact=compact,
                           formats=GRAPH_FORMATS, reference=reference)
    return Response(html, mimetype="text/html", headers={"Vary": "Accept"})


def _rdf(iri: str, fmt: Format, media_type: str) -> Response:
    query = (f"CONSTRUCT {{ <{iri}> ?p ?o . ?o ?p2 ?o2 }} WHERE {{ {{ <{iri}> ?p ?o }} "
             f"UNION {{ <{iri}> ?p ?o FILTER(isBlank(?o)) ?o ?p2 ?o2 }} }}")
    answer = service().run(Job(query, format=fmt.key))
    if answer.status != 200:
        return text_response(answer.status, answer.body.decode("utf-8", "replace"))
    if not answer.rows:
        if not select(f"SELECT ?s WHERE {{ ?s ?p <{iri}> }} LIMIT 1"):
            abort(404)
        # only an object (e.g. an ontology's version IRI): the triples that point at it, not an empty document
        answer = service().run(Job(f"CONSTRUCT {{ ?s ?p <{iri}> }} WHERE {{ ?s ?p <{iri}> }}", format=fmt.key))
        if answer.status != 200:
            return text_response(answer.status, answer.body.decode("utf-8", "replace"))
    return Response(answer.body, content_type=content_type(media_type, fmt), headers={"Vary": "Accept"})


def _dispatch(kind: str, iri: str) -> Response:
    """The researcher's views (views.py) for entities, claims, sources and conflicts; the plain page for the rest."""
    from . import views

    view = {"entity": views.entity_page, "claim": views.claim_page, "source": views.source_page,
            "conflict": views.conflict_page}.get(kind)
    if view is not None and "/" not in iri[len(BASE) + len(kind) + 1:]:
        response = view(iri)
        if response is not None:
            return response
    return _html(iri)


@bp.get("/<any(" + ", ".join(KINDS) + "):kind>/<path:rest>")
def page(kind: str, rest: str) -> Response:
    iri = _iri(f"{BASE}{kind}/{rest}")
    wanted = request.args.get("format")
    picked = by_name(wanted, PAGE_FORMATS) if wanted else negotiate(request.headers.get("Accept"), PAGE_FORMATS)
    if picked is None:
        return text_response(406, f"No acceptable format; available: {describe_choices(PAGE_FORMATS)}.")
    etag = f"{service().release.etag[:16]}-{picked[0].key}"
    if etag in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{etag}"', "Vary": "Accept"})
    try:
        response = _dispatch(kind, iri) if picked[0] is HTML else _rdf(iri, *picked)
    except EngineError as exc:
        return text_response(exc.status, exc.message)
    if response.status_code == 200:
        response.headers["ETag"] = f'"{etag}"'
    return response


# /compare (compare.py) rides on this blueprint, so that the app's list of blueprints stays as it is.
from . import compare as _compare  # noqa: E402

bp.register_blueprint(_compare.bp)
