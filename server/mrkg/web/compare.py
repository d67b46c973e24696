"""/compare?drugs=a,b: two to four drugs or drug classes side by side, per kind, with the sources of each cell; and a
chart of adverse-outcome frequencies by drug and source (numeric ranges as intervals, frequency terms as the CIOMS
bands the ontology declares), drawn by Vega-Lite in the browser from /compare/chart.json, downloadable as CSV, with
the SPARQL query that gives its rows one click away. Without JavaScript (or without the npm packages) the same rows
are a plain table."""

from __future__ import annotations

import csv
import difflib
import io
import json
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request, url_for

from ..engine import EngineError
from ..namespaces import BASE
from .service import PACKAGE_DIR, service
from .evidence import (OTHER, SECTIONS, attach_conflicts, group_by_section, load_claims, local, mentioned, select,
                       values_clause)
from .ops import text_response
from .ui import prefix_block
from .views import Namer, card_context

bp = Blueprint("compare", __name__)

ENTITY = BASE + "entity/"
MIN_ITEMS, MAX_ITEMS = 2, 4
VEGA_DIR = PACKAGE_DIR / "static" / "vendor" / "vega"
VEGA_FILES = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "vega-interpreter.js")
# The chart's x axis: log scale, so that the rare bands (0.01-0.1 %) and 63 % are both readable; a band or bound
# that starts at 0 starts at the axis's left end.
AXIS_MIN, AXIS_MAX = 0.001, 100.0


def vega_installed() -> bool:
    return all((VEGA_DIR / name).is_file() for name in VEGA_FILES)


def chart_query(drugs: list[str]) -> str:
    """The SPARQL query whose rows the chart draws (the page links to it, prefilled in the query UI)."""
    values = " ".join(f"ent:{local(d)}" if "/" not in d[len(ENTITY):] else f"<{d}>" for d in drugs)
    return f"""{prefix_block()}
# Adverse-outcome frequencies of {', '.join(local(d) for d in drugs)}, per source: the words of the source, its
# numbers (percent), and for a frequency term the CIOMS band the ontology declares for it (mrkg:FrequencyBand).
SELECT ?drug ?effect ?source ?claim ?text ?min ?max ?unit ?severity ?band ?bandMin ?bandMax WHERE {{
  VALUES ?drug {{ {values} }}
  ?claim mrkg:subject ?drug ; mrkg:predicateGroup mrkg:hasAdverseOutcome ; mrkg:object ?effect ;
         mrkg:polarity mrkg:Affirmed ; prov:wasDerivedFrom ?source ; mrkg:frequency ?f .
  ?f mrkg:originalText ?text .
  OPTIONAL {{ ?f mrkg:minValue ?min }}
  OPTIONAL {{ ?f mrkg:maxValue ?max }}
  OPTIONAL {{ ?f mrkg:unit ?unit }}
  OPTIONAL {{ ?claim mrkg:severity ?severity }}
  OPTIONAL {{
    ?f mrkg:frequencyTerm ?term .
    ?band a mrkg:FrequencyBand ; mrkg:minPercent ?bandMin ; mrkg:maxPercent ?bandMax ;
          rdfs:label|skos:prefLabel|skos:altLabel ?bandName .
    FILTER(LCASE(STR(?bandName)) = LCASE(STR(?term)))
  }}
}}
ORDER BY ?effect ?drug ?source ?claim
"""


def chart_rows(drugs: list[str], namer: Namer | None = None) -> list[dict]:
    """One row per frequency a source gives: drug, effect, source, the words, and the interval drawn (low, high, in
    percent) with its kind: range, value, upper bound, lower bound, band; or no interval (a term with no band)."""
    rows = select(chart_query(drugs))
    seen, out = set(), []
    for row in rows:
        v = {k: b["value"] for k, b in row.items()}
        key = (v["claim"], v["text"])
        if key in seen:
            continue
        seen.add(key)
        low = high = None
        percent = v.get("unit", "%") == "%"
        if percent and "min" in v and "max" in v:
            low, high = float(v["min"]), float(v["max"])
            kind = "value" if low == high else "range"
        elif percent and "max" in v:
            low, high, kind = AXIS_MIN, float(v["max"]), "upper bound"
        elif percent and "min" in v:
            low, high, kind = float(v["min"]), AXIS_MAX, "lower bound"
        elif "band" in v:
            low, high, kind = max(float(v["bandMin"]), AXIS_MIN), float(v["bandMax"]), "band"
        else:
            kind = "term without a declared band (not drawn)"
        out.append({"drug": v["drug"], "effect": v["effect"], "source": v["source"], "claim": v["claim"],
                    "text": v["text"], "low": low, "high": high, "kind": kind, "band": v.get("band", ""),
                    "severity": v.get("severity", "")})
    if namer is not None:
        namer.add({r[k] for r in out for k in ("drug", "effect", "source", "band", "severity") if r[k]})
        for r in out:
            r["drug_label"], r["effect_label"] = namer(r["drug"]), namer(r["effect"])
            r["source_id"] = local(r["source"])
            r["band_label"] = namer(r["band"]) if r["band"] else ""
            r["severity_label"] = namer(r["severity"]) if r["severity"] else ""
    return out


def _candidates() -> dict[str, str]:
    """Entity id -> label for every drug and drug class that is the subject of a claim."""
    rows = select("""SELECT DISTINCT ?e ?label WHERE { VALUES ?type { mrkg:Drug mrkg:DrugClass }
                     ?e a ?type . FILTER EXISTS { ?c mrkg:subject ?e } OPTIONAL { ?e rdfs:label ?label } }""")
    return {local(r["e"]["value"]): r.get("label", {}).get("value", local(r["e"]["value"])) for r in rows}


def _names() -> dict[str, str]:
    """Lower-cased label or synonym -> entity id, for did-you-mean."""
    rows = select("""SELECT DISTINCT ?e ?name WHERE { VALUES ?type { mrkg:Drug mrkg:DrugClass } ?e a ?type .
                     FILTER EXISTS { ?c mrkg:subject ?e }
                     { ?e rdfs:label|skos:prefLabel|skos:altLabel ?name } UNION
                     { ?b mrkg:subject ?e ; mrkg:predicate mrkg:hasBrandName ; mrkg:object ?brand ;
                          mrkg:polarity mrkg:Affirmed . ?brand rdfs:label|skos:prefLabel|skos:altLabel ?name } }""")
    return {r["name"]["value"].lower(): local(r["e"]["value"]) for r in rows}


def suggest(word: str, candidates: dict[str, str], names: dict[str, str]) -> list[str]:
    word_l = word.lower()
    if word_l in names:
        return [names[word_l]]
    found = difflib.get_close_matches(word_l, list(candidates), n=3, cutoff=0.6)
    found += [names[n] for n in difflib.get_close_matches(word_l, list(names), n=3, cutoff=0.7)]
    return list(dict.fromkeys(found))[:3]


def _parse() -> tuple[list[str], Response | None]:
    raw = request.args.get("drugs", "")
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    ids = list(dict.fromkeys(ids))
    candidates = _candidates()
    if not (MIN_ITEMS <= len(ids) <= MAX_ITEMS):
        message = (f"Compare needs {MIN_ITEMS} to {MAX_ITEMS} drugs or drug classes, separated by commas; "
                   f"got {len(ids)}" + (f" ({', '.join(ids)})" if ids else "") + ".")
        return ids, _problem(400, message, ids, candidates, {})
    unknown = [i for i in ids if i not in candidates]
    if unknown:
        names = _names()
        hints = {i: suggest(i, candidates, names) for i in unknown}
        message = "Not a drug or drug class of the dataset: " + ", ".join(unknown) + "."
        return ids, _problem(404, message, ids, candidates, hints)
    return ids, None


def _problem(status: int, message: str, ids: list[str], candidates: dict[str, str],
             hints: dict[str, list[str]]) -> Response:
    if not request.accept_mimetypes.accept_html or request.path.endswith((".json", ".csv")):
        extra = "".join(f" Did you mean {', '.join(h)} for {w}?" for w, h in hints.items() if h)
        return text_response(status, message + extra)
    # One link with every unknown id replaced by its first suggestion (when each has one).
    corrected = [hints[i][0] if hints.get(i) else i for i in ids]
    fixed = ",".join(corrected) if hints and all(hints.values()) else ""
    html = render_template("compare.html", svc=service(), incomplete=lambda: None, problem=message, hints=hints,
                           fixed=fixed,
                           candidates=sorted(candidates.items(), key=lambda kv: kv[1].lower()), drugs=[],
                           chosen=",".join(ids), min_items=MIN_ITEMS, max_items=MAX_ITEMS)
    return Response(html, status=status, mimetype="text/html")


@bp.get("/compare")
def compare() -> Response:
    try:
        ids, problem = _parse()
        if problem is not None:
            return problem
        drugs = [ENTITY + i for i in ids]
        claims = load_claims(f"VALUES ?s {{ {values_clause(drugs)} }} ?claim mrkg:subject ?s .")
        attach_conflicts(claims)
        namer = Namer({})
        namer.add(set(drugs) | mentioned(claims))
        rows = chart_rows(drugs, namer)
    except EngineError as exc:
        return text_response(exc.status, exc.message)
    grouped = group_by_section(claims)
    sections = []
    for key, title in [(k, t) for k, t, _ in SECTIONS] + [OTHER]:
        items = grouped.get(key, [])
        if not items:
            continue
        table: dict[tuple, dict] = {}
        for c in items:
            row_key = (c.predicate, c.obj if c.obj_is_iri else "")
            row = table.setdefault(row_key, {"predicate": c.predicate, "object": row_key[1],
                                             "cells": {d: [] for d in drugs}})
            row["cells"][c.subject].append(c)
        shared = sum(1 for r in table.values() if sum(1 for d in drugs if r["cells"][d]) > 1)
        sections.append({"key": key, "title": title, "shared": shared,
                         "rows": sorted(table.values(), key=lambda r: (-sum(1 for d in drugs if r["cells"][d]),
                                                                        namer(r["predicate"]).lower(),
                                                                        namer(r["object"]).lower() if r["object"]
                                                                        else ""))})
    chosen = ",".join(ids)
    query = chart_query(drugs)
    html = render_template(
        "compare.html", problem=None, drugs=drugs, sections=sections, rows=rows, chosen=chosen,
        drawn=sum(1 for r in rows if r["low"] is not None),
        chart_json=url_for(".chart_json", drugs=chosen), chart_csv=url_for(".chart_csv", drugs=chosen),
        query_link=url_for("ui.index") + "?" + urlencode({"query": query}), query=query, vega=vega_installed(),
        candidates=sorted(_candidates().items(), key=lambda kv: kv[1].lower()), min_items=MIN_ITEMS,
        max_items=MAX_ITEMS, **card_context(namer))
    return Response(html, mimetype="text/html")


CSV_FIELDS = ("drug", "drug_label", "effect", "effect_label", "source", "source_id", "claim", "text", "severity_label",
              "kind", "low", "high", "band", "band_label")


def _chart() -> tuple[list[str], list[dict] | Response]:
    """The drugs asked for and the chart's rows, or the response that refuses the request (bad ids, engine error)."""
    try:
        ids, problem = _parse()
        if problem is not None:
            return [], problem
        return ids, chart_rows([ENTITY + i for i in ids], Namer({}))
    except EngineError as exc:
        return [], text_response(exc.status, exc.message)


@bp.get("/compare/chart.csv")
def chart_csv() -> Response:
    ids, rows = _chart()
    if isinstance(rows, Response):
        return rows
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in CSV_FIELDS})
    name = "frequencies-" + "-".join(ids) + ".csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def vega_lite_spec(rows: list[dict]) -> dict:
    """A Vega-Lite spec: one mark per drawn row (a bar for an interval, a point for a single value), effects down,
    percent across on a log scale, drug by colour, source by offset within the effect's row."""
    data = [{"drug": r["drug_label"], "effect": r["effect_label"], "source": "source " + r["source_id"],
             "series": f"{r['drug_label']} · source {r['source_id']}", "text": r["text"], "kind": r["kind"],
             "low": r["low"], "high": r["high"], "band": r["band_label"], "severity": r["severity_label"],
             "label": f"{r['source_id']}: {r['text']}" + (f" ({r['severity_label']})" if r["severity_label"] else "")}
            for r in rows if r["low"] is not None]
    effects = sorted({d["effect"] for d in data})
    tooltip = [{"field": "drug"}, {"field": "effect"}, {"field": "source"},
               {"field": "text", "title": "in the source's words"}, {"field": "kind"},
               {"field": "band", "title": "band"}, {"field": "severity"}]
    x = {"field": "low", "type": "quantitative", "title": "frequency (% of patients, log scale)",
         "scale": {"type": "log", "domain": [AXIS_MIN, AXIS_MAX], "clamp": True},
         "axis": {"values": [0.001, 0.01, 0.1, 1, 10, 100], "format": "~g"}}
    enc = {"y": {"field": "effect", "type": "nominal", "title": None, "sort": effects},
           "yOffset": {"field": "series", "type": "nominal"},
           "color": {"field": "drug", "type": "nominal", "title": "drug"},
           "tooltip": tooltip}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
        "description": "Adverse-outcome frequencies by drug and source",
        "width": 560, "height": {"step": 16},
        "data": {"values": data},
        "encoding": enc,
        "layer": [
            {"transform": [{"filter": "datum.kind !== 'value'"}],
             "mark": {"type": "bar", "height": {"band": 0.8}},
             "encoding": {"x": x, "x2": {"field": "high"},
                          "opacity": {"condition": {"test": "datum.kind === 'range'", "value": 0.95}, "value": 0.4}}},
            {"transform": [{"filter": "datum.kind === 'value'"}],
             "mark": {"type": "point", "filled": True, "size": 60},
             "encoding": {"x": x}},
            # The source and its words beside each mark (text marks: not counted among the data marks).
            {"mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 9, "color": "#444"},
             "encoding": {"x": {"field": "high", "type": "quantitative"}, "text": {"field": "label"},
                          "color": {"value": "#444"}}},
        ],
        "config": {"view": {"stroke": None}},
    }


@bp.get("/compare/chart.json")
def chart_json() -> Response:
    _, rows = _chart()
    if isinstance(rows, Response):
        return rows
    return Response(json.dumps(vega_lite_spec(rows), ensure_ascii=False), mimetype="application/json")
