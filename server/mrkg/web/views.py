"""The researcher's pages: an entity page that summarises what the sources say (objects × sources per kind, then
claim cards with every qualifier and value), a claim page that reads as a sentence, a source page, and a conflict
page with each side's quotes. The long RDF property table of each goes last, folded."""

from __future__ import annotations

from collections import defaultdict

from flask import Response, render_template, request
from markupsafe import Markup, escape

from ..namespaces import BASE
from .service import compact, service
from .evidence import (MRKG, SECTIONS, OTHER, SECTION_TITLES, Claim, Value, attach_conflicts, group_by_section,
                       incomplete, labels_of, load_claims, load_conflicts, local, mentioned, select,
                       values_clause)
from .ui import local_href

COMPARISON_WORDS = {"Lower": "less than", "Higher": "more than", "Similar": "similar to", "Different": "different from",
                    "Same": "the same as", "Better": "better than", "Worse": "worse than"}
CARDS_AT_ONCE = 60  # an entity page with more claims shows its cards one kind (or source) at a time


def _properties(iri: str) -> list[tuple[str, dict]]:
    rows = select(f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}")
    return sorted(((row["p"]["value"], row["o"]) for row in rows), key=lambda item: (item[0], item[1]["value"]))


class Namer:
    """Labels for IRIs, fetched once per page; compact names (mrkg:x) where there is no label."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels

    def __call__(self, iri: str) -> str:
        return self.labels.get(iri) or compact(iri)

    def add(self, iris: set[str]) -> None:
        missing = {i for i in iris if i not in self.labels}
        self.labels.update(labels_of(missing))


def value_text(value: Value) -> str:
    """A value in the source's words, with the numbers it was read as when they say something the words do not."""
    words = value.text or value.term
    numbers = value.numbers_text()
    extra = [numbers] if numbers and numbers.replace("–", "-").replace(" ", "") not in words.replace(" ", "") else []
    if value.approximate:
        extra.append("approximate")
    return words + (f" ({', '.join(extra)})" if extra else "")


def highlight(text: str, marks: list[str]) -> Markup:
    """``text`` escaped, with the first occurrence of each of ``marks`` in <mark> (the claim's own value in a
    quote that holds several numbers, such as a table row)."""
    spans = []
    for m in sorted({m for m in marks if m}, key=len, reverse=True):
        at = text.find(m)
        if at >= 0 and not any(s < at + len(m) and at < e for s, e in spans):
            spans.append((at, at + len(m)))
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(escape(text[last:start]))
        out.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        last = end
    out.append(escape(text[last:]))
    return Markup("").join(out)


def comparison_phrase(claim: Claim, name) -> str | None:
    """"less than baclofen": the comparison with its comparator, or a note that the source names none."""
    comparisons = claim.qualifier("comparison")
    if not comparisons:
        return None
    word = local(comparisons[0])
    phrase = COMPARISON_WORDS.get(word, name(comparisons[0]) + " compared with")
    comparators = claim.qualifier("comparator")
    if comparators:
        return f"{phrase} {', '.join(name(c) if isinstance(c, str) else c[1] for c in comparators)}"
    plain = name(comparisons[0])  # "higher": without a comparator, "more than" would dangle
    if claim.qualifier("comparatorUnstated"):
        return f"{plain} (the source names no comparator)"
    return plain


SCOPE_WORDS = {"MannerScope": ("manner", "in this manner"), "ComparisonScope": ("comparison", "as compared"),
               "DegreeScope": ("magnitude", "to this degree")}


def negation_phrase(claim: Claim, name) -> str | None:
    """For a claim whose negation is scoped (issue 15: manner, comparison, degree), what is denied ("not directly");
    None when the whole statement is denied (or nothing is)."""
    if not claim.negated:
        return None
    scopes = [local(s) for s in claim.qualifier("negationScope") if isinstance(s, str)]
    scope = next((s for s in scopes if s != "StatementScope"), None)
    if scope is None:
        return None
    field, fallback = SCOPE_WORDS.get(scope, ("", ""))
    if scope == "ComparisonScope":
        words = comparison_phrase(claim, name)
    else:
        words = next((v[1] for v in claim.qualifier(field) if isinstance(v, tuple)), None) if field else None
    return f"not {words or fallback}" if field else f"denied: {name(MRKG + scope)}"


def card_context(namer: Namer) -> dict:
    def qualifier_text(value) -> tuple[str, str | None]:
        if isinstance(value, Value):
            return value_text(value), None
        if isinstance(value, tuple):
            return value[1], None
        return namer(value), local_href(value)

    return {"name": namer, "href": local_href, "qualifier_text": qualifier_text, "value_text": value_text,
            "highlight": highlight, "comparison_phrase": lambda c: comparison_phrase(c, namer), "local": local,
            "negation_phrase": lambda c: negation_phrase(c, namer),
            "MRKG": MRKG, "svc": service(), "incomplete": incomplete}


def _source_titles(iris: set[str]) -> dict[str, str]:
    if not iris:
        return {}
    rows = select(f"""SELECT ?s ?id ?title WHERE {{ VALUES ?s {{ {values_clause(iris)} }}
                      OPTIONAL {{ ?s dct:identifier ?id }} OPTIONAL {{ ?s dct:title ?title }} }}""")
    return {row["s"]["value"]: row.get("id", {}).get("value", local(row["s"]["value"])) for row in rows}


def _summary(claims: list[Claim], name, as_object: bool = False) -> list[dict]:
    """Per section: rows (relation, object) × columns (sources), each cell the claims of that source; for an entity
    that is only ever an object (an adverse effect, a condition), rows (relation, subject)."""
    sections = []
    grouped = group_by_section(claims)
    for key, title in [(k, t) for k, t, _ in SECTIONS] + [OTHER]:
        items = grouped.get(key, [])
        if not items:
            continue
        rows: dict[tuple, dict] = {}
        for c in items:
            row_key = (c.predicate, c.subject if as_object else (c.obj if c.obj_is_iri else ""))
            row = rows.setdefault(row_key, {"predicate": c.predicate, "object": row_key[1], "cells": defaultdict(list)})
            row["cells"][c.source].append(c)
        sections.append({"key": key, "title": title, "count": len(items), "claims": items,
                         "rows": sorted(rows.values(), key=lambda r: (name(r["predicate"]).lower(),
                                                                        name(r["object"]).lower() if r["object"]
                                                                        else ""))})
    return sections


def entity_page(iri: str) -> Response | None:
    props = _properties(iri)
    if not props:
        return None  # the plain page says 404 or shows what points here
    claims = load_claims(f"?claim mrkg:subject <{iri}> .")
    as_object = not claims  # an adverse effect, a condition, a target: what the sources say about it as an object
    if as_object:
        claims = load_claims(f"?claim mrkg:object <{iri}> .")
    attach_conflicts(claims)
    mentions = select(f"""SELECT DISTINCT ?claim ?subject ?predicate ?source ?prop WHERE {{
        ?claim a mrkg:Claim ; ?prop <{iri}> ; mrkg:subject ?subject ; mrkg:predicate ?predicate ;
               prov:wasDerivedFrom ?source . FILTER(?prop != mrkg:subject) }} ORDER BY ?subject ?claim""")
    all_sources = sorted({c.source for c in claims})
    chosen_source = request.args.get("source", "")
    chosen_kind = request.args.get("kind", "")
    source_iris = {BASE + "source/" + chosen_source} if chosen_source else set()
    shown = [c for c in claims if (not chosen_source or c.source in source_iris)
             and (not chosen_kind or c.section == chosen_kind)]
    namer = Namer({})
    namer.add({iri} | mentioned(claims) | {r["subject"]["value"] for r in mentions}
              | {r["predicate"]["value"] for r in mentions} | {r["prop"]["value"] for r in mentions}
              | {p for p, _ in props} | {o["value"] for _, o in props if o["type"] == "uri"})
    source_ids = _source_titles(set(all_sources) | {r["source"]["value"] for r in mentions})
    sections = _summary(shown, namer, as_object)
    columns = [s for s in all_sources if not chosen_source or s in source_iris]
    kinds_present = [(k, SECTION_TITLES[k]) for k in SECTION_TITLES if any(c.section == k for c in claims)]
    conflicts = sorted({x["conflict"] for c in claims for x in c.conflicts})
    html = render_template(
        "entity.html", iri=iri, title=namer(iri), sections=sections, columns=columns, source_ids=source_ids,
        all_sources=all_sources, chosen_source=chosen_source, chosen_kind=chosen_kind, kinds=kinds_present,
        total=len(claims), shown=len(shown), as_object=as_object,
        mentions=[m for m in mentions if not (as_object and m["prop"]["value"] == MRKG + "object")],
        conflicts=conflicts, properties=props, folded=None, from_pages=_from_pages(),
        show_cards=bool(chosen_source or chosen_kind or request.args.get("cards") == "all"
                        or len(shown) <= CARDS_AT_ONCE),
        **card_context(namer))
    return Response(html, mimetype="text/html", headers={"Vary": "Accept"})


def _from_pages() -> dict:
    from ..engine.formats import GRAPH_FORMATS

    return {"compact": compact, "formats": GRAPH_FORMATS}


def claim_page(iri: str) -> Response | None:
    claims = load_claims(f"VALUES ?claim {{ <{iri}> }}")
    if not claims:
        return None
    claim = claims[0]
    attach_conflicts(claims)
    context = select(f"""SELECT ?prefix ?exact ?suffix ?start ?end WHERE {{ <{iri}> mrkg:annotation/oa:hasTarget ?t .
        OPTIONAL {{ ?t oa:hasSelector ?q . ?q oa:exact ?exact OPTIONAL {{ ?q oa:prefix ?prefix }}
                    OPTIONAL {{ ?q oa:suffix ?suffix }} }}
        OPTIONAL {{ ?t oa:hasSelector ?pos . ?pos oa:start ?start ; oa:end ?end }} }} LIMIT 1""")
    quote_context = {k: v["value"] for k, v in context[0].items()} if context else {}
    props = _properties(iri)
    namer = Namer({})
    namer.add(mentioned(claims) | {iri} | {p for p, _ in props} | {o["value"] for _, o in props if o["type"] == "uri"})
    source_title = select(f"SELECT ?t WHERE {{ <{claim.source}> dct:title ?t }}") if claim.source else []
    conflicts = load_conflicts(f"?conflict mrkg:conflictingClaim <{iri}> .")
    html = render_template("claim.html", iri=iri, claim=claim, title=claim.label or local(iri),
                           quote_context=quote_context, properties=props, folded=None,
                           source_title=source_title[0]["t"]["value"] if source_title else "",
                           conflict_list=conflicts, from_pages=_from_pages(), **card_context(namer))
    return Response(html, mimetype="text/html", headers={"Vary": "Accept"})


def source_page(iri: str) -> Response | None:
    props = _properties(iri)
    if not any(o["value"] == MRKG + "Source" for _, o in props):
        return None
    claims = load_claims(f"?claim prov:wasDerivedFrom <{iri}> .")
    attach_conflicts(claims)
    chosen_kind = request.args.get("kind", "")
    namer = Namer({})
    namer.add({iri} | mentioned(claims) | {p for p, _ in props} | {o["value"] for _, o in props if o["type"] == "uri"})
    grouped = group_by_section(claims)
    sections = [{"key": k, "title": t, "claims": grouped[k]} for k, t in [(k, t) for k, t, _ in SECTIONS] + [OTHER]
                if grouped.get(k) and (not chosen_kind or k == chosen_kind)]
    kinds_present = [(k, SECTION_TITLES[k]) for k in SECTION_TITLES if grouped.get(k)]
    subjects = sorted({c.subject for c in claims}, key=namer)
    html = render_template("source.html", iri=iri, title=namer(iri), sections=sections, kinds=kinds_present,
                           chosen_kind=chosen_kind, total=len(claims), subjects=subjects,
                           subject_counts={s: sum(1 for c in claims if c.subject == s) for s in subjects},
                           properties=props, folded=None, from_pages=_from_pages(),
                           show_cards=bool(chosen_kind) or len(claims) <= CARDS_AT_ONCE, **card_context(namer))
    return Response(html, mimetype="text/html", headers={"Vary": "Accept"})


def conflict_details(conflicts: list[dict]) -> tuple[dict[str, Claim], Namer, dict[str, str]]:
    """The claims of the conflicts' sides and the labels their pages need."""
    claim_iris = {c for x in conflicts for side in x["sides"] for c in side["claims"]}
    claims = {c.iri: c for c in load_claims(f"VALUES ?claim {{ {values_clause(claim_iris)} }}")} if claim_iris else {}
    namer = Namer({})
    wanted = mentioned(list(claims.values()))
    for x in conflicts:
        wanted |= {x.get(k, "") for k in ("kind", "severity", "status", "s", "p")} | set(x["objects"])
    namer.add({w for w in wanted if w})
    titles = {}
    sources = {c.source for c in claims.values() if c.source}
    if sources:
        rows = select(f"SELECT ?s ?t WHERE {{ VALUES ?s {{ {values_clause(sources)} }} ?s dct:title ?t }}")
        titles = {row["s"]["value"]: row["t"]["value"] for row in rows}
    return claims, namer, titles


def conflict_page(iri: str) -> Response | None:
    conflicts = load_conflicts(f"VALUES ?conflict {{ <{iri}> }}")
    if not conflicts:
        return None
    conflict = conflicts[0]
    claims, namer, titles = conflict_details(conflicts)
    for side in conflict["sides"]:
        side["source_ids"] = sorted({local(claims[c].source) for c in side["claims"] if c in claims})
    props = _properties(iri)
    namer.add({iri} | {p for p, _ in props} | {o["value"] for _, o in props if o["type"] == "uri"})
    html = render_template("conflict.html", iri=iri, conflict=conflict, claims=claims, titles=titles,
                           title=conflict.get("label") or local(iri), properties=props, folded=None,
                           from_pages=_from_pages(), **card_context(namer))
    return Response(html, mimetype="text/html", headers={"Vary": "Accept"})


def conflict_filters(conflicts: list[dict], kind: str = "", severity: str = "") -> list[dict]:
    """The conflicts of ``kind`` and ``severity`` (local names such as ``FrequencyConflict``, ``Contradiction``;
    empty: any). For the /conflict/ index, which can call it with the request's ``kind`` and ``severity``."""
    return [c for c in conflicts if (not kind or local(c.get("kind", "")) == kind)
            and (not severity or local(c.get("severity", "")) == severity)]


def conflict_index_data(kind: str = "", severity: str = "") -> dict:
    """What a /conflict/ index needs to filter by kind and severity (the index itself is another module's): every
    conflict of ``kind`` and ``severity`` (local names, empty: any) with its label, explanation, kind and severity
    labels, most severe first; the kinds and severities the ontology declares, each with how many conflicts it has;
    and the labels. Render the form with the ``conflict_filter_form`` macro of _cards.html."""
    from .evidence import SEVERITY_ORDER, conflict_vocabulary

    everything = load_conflicts()
    kinds, severities = conflict_vocabulary()
    shown = conflict_filters(everything, kind, severity)
    shown.sort(key=lambda c: (SEVERITY_ORDER.get(c.get("severity", ""), 9), c.get("label", c["iri"])))
    namer = Namer({})
    namer.add({c.get(k, "") for c in everything for k in ("kind", "severity", "status")} - {""})
    count = lambda key, iri: sum(1 for c in everything if c.get(key) == iri)  # noqa: E731
    return {"conflicts": shown, "total": len(everything), "chosen_kind": kind, "chosen_severity": severity,
            "kinds": [(local(i), label, count("kind", i)) for i, label in kinds],
            "severities": [(local(i), label, count("severity", i)) for i, label in severities], "name": namer}
