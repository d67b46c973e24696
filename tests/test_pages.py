"""The researcher's pages over the real build, through a real `mrkg serve` on 127.0.0.1 and real HTTP: the entity page
summarises (objects × sources per kind, filters, contents) within a bounded size; a claim page reads as a sentence and
shows every qualifier and value its claim has in the graph; conflict pages show each side's quotes and source titles;
/compare answers 2 to 4 drugs, and 400 / 404 (with did-you-mean) otherwise; its CSV holds the chart's rows and its
SPARQL link gives the same rows."""

from __future__ import annotations

import csv
from email.message import Message
import html
import io
import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from conftest import start_server, stop_server

HTML = {"Accept": "text/html"}
MRKG = "https://w3id.org/mrkg/ontology/"


@pytest.fixture(scope="module")
def server(build_dir, tmp_path_factory):
    log = tmp_path_factory.mktemp("serve-pages") / "serve.log"
    # The endpoint tests' limits are tiny (100 rows, 3 s); the pages run with the server's default row cap.
    live = start_server(build_dir, "oxigraph", log, max_rows=10000, query_timeout=20)
    yield live
    stop_server(live)


def get(server, path: str, headers: dict | None = None) -> tuple[int, str, Message]:
    request = urllib.request.Request(server.url + path, headers=headers or HTML)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode("utf-8"), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8"), exc.headers


def sparql(server, query: str) -> list[dict]:
    data = urllib.parse.urlencode({"query": query}).encode()
    request = urllib.request.Request(server.url + "/sparql", data=data,
                                     headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return [{k: v["value"] for k, v in row.items()} for row in json.load(response)["results"]["bindings"]]


def text_of(page: str) -> str:
    """The page's visible text, tags removed and entities decoded, whitespace collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_entity_page_summarises_within_a_bounded_size(server):
    status, page, headers = get(server, "/entity/baclofen")
    assert status == 200
    size = len(page.encode())
    assert size < 160_000, f"/entity/baclofen is {size} bytes (it was 305 KB before the summary)"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    # Contents, the summary table with one column per source, and the filters (a GET form, no JavaScript needed).
    assert 'aria-label="Contents"' in page and 'id="summary"' in page
    for section in ("adverse", "uses", "mechanism", "doses"):
        assert f'id="{section}"' in page and f'href="#{section}"' in page
    sources = {row["s"] for row in sparql(server, """SELECT DISTINCT ?s WHERE {
        ?c mrkg:subject ent:baclofen ; prov:wasDerivedFrom ?s }""")}
    header = page[page.index('<table class="summary">'):page.index("</thead>", page.index('<table class="summary">'))]
    assert len(re.findall(r'<th scope="col">', header)) == 1 + len(sources)
    assert '<form class="filters" method="get"' in page and 'name="source"' in page and 'name="kind"' in page
    assert '<label for="filter-source">' in page and '<label for="filter-kind">' in page
    # The drowsiness row holds 001's own value in the source's words, and links to the claim.
    assert re.search(r'href="/claim/001-baclofen-drowsiness">✓ 10-63%', page)
    # The long RDF table is last and folded.
    assert page.index('<details class="rdf"') > page.index('id="summary"')
    assert '<details class="rdf" id="rdf">' in page


def test_entity_filters_by_source_and_kind(server):
    _, everything, _ = get(server, "/entity/baclofen")
    status, page, _ = get(server, "/entity/baclofen?source=001&kind=adverse")
    assert status == 200
    expected = {row["c"].rsplit("/", 1)[-1] for row in sparql(server, """SELECT ?c WHERE {
        ?c mrkg:subject ent:baclofen ; prov:wasDerivedFrom src:001 ; mrkg:predicateGroup mrkg:hasAdverseOutcome }""")}
    cards = set(re.findall(r'<article class="claim[^"]*" id="([^"]+)"', page))
    assert cards == expected and expected
    assert 'id="uses"' not in page and 'id="adverse"' in page
    assert "10-63%" in page and "Common" not in text_of(page[page.index('id="summary"'):page.index('id="cards"')])
    assert len(page) < len(everything) * 2


def test_claim_card_shows_comparison_with_its_comparator(server):
    """tizanidine's drowsiness is *less* than baclofen's: the card says so, not just 'has adverse effect'."""
    _, page, _ = get(server, "/entity/tizanidine")
    summary = text_of(page[page.index('id="adverse"'):page.index('id="uses"')])
    assert "✓ hedged less than baclofen" in summary  # in the summary table too
    _, page, _ = get(server, "/entity/tizanidine?kind=adverse")
    card = page[page.index('id="003-tizanidine-less-drowsiness"'):]
    card = text_of(card[:card.index("</article>")])
    assert "drowsiness — less than baclofen" in card
    assert "hedged: “may”" in card


def test_claim_page_reads_as_a_sentence_with_every_qualifier(server):
    claim = "003-tizanidine-less-drowsiness"
    status, page, _ = get(server, f"/claim/{claim}")
    assert status == 200
    shown = text_of(page[:page.index('<details class="rdf"')])
    assert "tizanidine has adverse effect drowsiness — less than baclofen" in shown
    rows = sparql(server, f"""SELECT ?p ?o ?label ?text WHERE {{ claim:{claim} ?p ?o .
        OPTIONAL {{ ?o rdfs:label ?label }} OPTIONAL {{ ?o mrkg:originalText ?text }}
        FILTER(?p NOT IN (rdf:type, rdfs:label, mrkg:annotation, mrkg:subject, mrkg:predicate, mrkg:object,
                          mrkg:polarity, mrkg:certainty, mrkg:quote, prov:wasDerivedFrom, prov:wasGeneratedBy,
                          dct:identifier, mrkg:predicateGroup, mrkg:hedgeCue, mrkg:objectText, mrkg:conflictsWith)) }}""")
    assert len(rows) >= 5
    for row in rows:  # every qualifier: its property's label and its value (label, words or literal)
        p_label = sparql(server, f"SELECT ?l WHERE {{ <{row['p']}> rdfs:label ?l }}")
        assert p_label and p_label[0]["l"] in shown, row
        value = row.get("text") or row.get("label") or row["o"]
        if not value.startswith("http"):
            assert value in shown, row
    assert "In the source's words" in shown and "What is Baclofen: Uses, Dosage, Side Effects and More" in shown


def test_table_row_quote_marks_the_claims_own_number(server):
    """"Drowsiness 10-63% 29%": baclofen's claim marks 10-63%, cyclobenzaprine's marks 29%."""
    _, page, _ = get(server, "/claim/001-baclofen-drowsiness")
    assert "Drowsiness <mark>10-63%</mark> 29%" in page
    _, page, _ = get(server, "/claim/001-cyclobenzaprine-drowsiness")
    assert "Drowsiness 10-63% <mark>29%</mark>" in page
    assert "this claim's own value" in page


def test_every_conflict_page_shows_both_sides(server):
    conflicts = sparql(server, "SELECT ?c ?e WHERE { ?c a mrkg:Conflict ; mrkg:explanation ?e }")
    assert conflicts
    for row in conflicts:
        status, page, _ = get(server, "/" + row["c"].split("https://w3id.org/mrkg/", 1)[1])
        assert status == 200
        shown = text_of(page)
        assert row["e"] in shown
        sides = sparql(server, f"""SELECT ?side ?quote ?title WHERE {{ <{row['c']}> mrkg:side ?side .
            ?side mrkg:sideClaim ?claim . ?claim mrkg:quote ?quote ; prov:wasDerivedFrom ?s . ?s dct:title ?title }}""")
        assert len({s["side"] for s in sides}) >= 2
        for side in sides:
            assert side["quote"] in shown and side["title"] in shown
        for label in ("kind", "severity", "curation"):
            assert f"<dt>{label}</dt>" in page


def test_entity_and_claim_pages_link_their_conflicts(server):
    rows = sparql(server, """SELECT ?c ?claim WHERE { ?c a mrkg:Conflict ; mrkg:conflictingClaim ?claim ;
                             mrkg:topicSubject ent:baclofen } LIMIT 1""")
    assert rows
    conflict = "/" + rows[0]["c"].split("https://w3id.org/mrkg/", 1)[1]
    _, page, _ = get(server, "/entity/baclofen")
    assert f'href="{conflict}"' in page
    _, page, _ = get(server, "/" + rows[0]["claim"].split("https://w3id.org/mrkg/", 1)[1])
    assert f'href="{conflict}"' in page


def test_compare_side_by_side(server):
    status, page, headers = get(server, "/compare?drugs=baclofen,cyclobenzaprine")
    assert status == 200
    assert len(page.encode()) < 250_000
    grid = page[page.index('id="adverse"'):]
    assert '<a href="/entity/baclofen">baclofen</a></th>' in grid[:3000]
    assert '<a href="/entity/cyclobenzaprine">cyclobenzaprine</a></th>' in grid[:3000]
    # The plain table of the chart's rows is always there (no JavaScript needed), with the CSV and query links.
    assert 'id="chart-data"' in page and 'id="chart-csv"' in page and 'id="chart-query"' in page
    assert "<script>" not in page  # the CSP allows no inline script


def test_compare_csv_is_the_chart_data_and_its_query_gives_the_same_rows(server):
    _, page, _ = get(server, "/compare?drugs=baclofen,cyclobenzaprine")
    status, body, headers = get(server, "/compare/chart.csv?drugs=baclofen,cyclobenzaprine", {"Accept": "text/csv"})
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body)))
    by_claim = {(r["claim"].rsplit("/", 1)[-1], r["text"]) for r in rows}
    assert ("001-baclofen-drowsiness", "10-63%") in by_claim and ("001-cyclobenzaprine-drowsiness", "29%") in by_claim
    drowsy = next(r for r in rows if r["claim"].endswith("001-baclofen-drowsiness"))
    assert (drowsy["kind"], float(drowsy["low"]), float(drowsy["high"])) == ("range", 10, 63)
    common = next(r for r in rows if r["claim"].endswith("002-baclofen-somnolence-common") or
                  (r["text"] == "Common" and r["source_id"] == "002"))
    assert common["kind"] == "band" and (float(common["low"]), float(common["high"])) == (1, 10)
    # The page's table has one row per CSV row; the query link runs the SPARQL that gives these rows.
    table = page[page.index('id="chart-data"'):page.index("</table>", page.index('id="chart-data"'))]
    assert table.count("<tr") - 1 == len(rows)
    link = html.unescape(re.search(r'id="chart-query" href="([^"]+)"', page).group(1))
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["query"][0]
    answered = sparql(server, query)
    assert {(r["claim"].rsplit("/", 1)[-1], r["text"]) for r in answered} == by_claim
    spec = json.loads(get(server, "/compare/chart.json?drugs=baclofen,cyclobenzaprine", {"Accept": "application/json"})[1])
    assert len(spec["data"]["values"]) == sum(1 for r in rows if r["low"])


@pytest.mark.parametrize("drugs, status, words", [
    ("baclofen", 400, "needs 2 to 4"),
    ("", 400, "needs 2 to 4"),
    ("baclofen,cyclobenzaprine,tizanidine,diazepam,carisoprodol", 400, "got 5"),
    ("baclofn,cyclobenzaprine", 404, "Did you mean"),
    ("flexeril,baclofen", 404, "cyclobenzaprine"),
])
def test_compare_bad_input(server, drugs, status, words):
    got, page, _ = get(server, "/compare?" + urllib.parse.urlencode({"drugs": drugs}))
    assert got == status
    assert words in text_of(page)
    got, body, headers = get(server, "/compare/chart.csv?" + urllib.parse.urlencode({"drugs": drugs}),
                             {"Accept": "text/csv"})
    assert got == status and headers["Content-Type"].startswith("text/plain")


def test_did_you_mean_link_leads_to_a_comparison(server):
    _, page, _ = get(server, "/compare?drugs=baclofn,cyclobenzaprine")
    link = html.unescape(re.search(r'id="did-you-mean" href="([^"]+)"', page).group(1))
    assert link == "/compare?drugs=baclofen,cyclobenzaprine"
    assert get(server, link)[0] == 200


def test_source_page_is_bounded_and_lists_every_claim(server):
    for source in ("000", "001", "002", "003", "004"):
        status, page, _ = get(server, f"/source/{source}")
        assert status == 200 and len(page.encode()) < 120_000, (source, len(page))
        claims = sparql(server, f"SELECT ?c WHERE {{ ?c prov:wasDerivedFrom src:{source} ; a mrkg:Claim }}")
        for row in claims:
            assert f'href="/claim/{row["c"].rsplit("/", 1)[-1]}"' in page


def test_a_page_cut_by_the_row_cap_says_it_is_incomplete(build_dir, tmp_path):
    live = start_server(build_dir, "oxigraph", tmp_path / "serve.log", max_rows=50, query_timeout=20)
    try:
        status, page, _ = get(live, "/entity/baclofen")
        assert status == 200 and 'id="incomplete"' in page and "max_rows" in page
        status, page, _ = get(live, "/claim/001-baclofen-drowsiness")
        assert status == 200 and 'id="incomplete"' not in page
    finally:
        stop_server(live)


def test_conflict_index_data_filters_by_kind_and_severity(build_dir, server):
    """The function a /conflict/ index calls for its filters: counts per kind and severity as SPARQL counts them."""
    from flask import render_template_string
    from mrkg.web import create_app
    from mrkg.web.views import conflict_index_data

    app = create_app({"TESTING": True, "build_dir": str(build_dir), "store": "oxigraph", "access_log": False,
                      "workers": 1, "executor": "pool", "query_timeout": 20})
    try:
        with app.test_request_context("/conflict/?severity=Contradiction"):
            data = conflict_index_data("", "Contradiction")
            form = render_template_string('{% import "_cards.html" as cards with context %}'
                                          '{{ cards.conflict_filter_form(d) }}', d=data, href=lambda x: x,
                                          name=data["name"])
    finally:
        app.extensions["mrkg"].close()
    counted = {row["k"].rsplit("/", 1)[-1]: int(row["n"]) for row in sparql(server, """SELECT ?k (COUNT(?c) AS ?n)
        WHERE { ?c a mrkg:Conflict ; mrkg:conflictSeverity ?k } GROUP BY ?k""")}
    assert {key: n for key, _, n in data["severities"] if n} == counted
    assert len(data["conflicts"]) == counted.get("Contradiction", 0)
    assert all(c["severity"].endswith("/Contradiction") for c in data["conflicts"])
    assert data["total"] == sum(counted.values())
    assert '<label for="conflict-kind">' in form and '<option value="Contradiction" selected>' in form


def test_a_scoped_negation_denies_only_its_scope(server):
    """"Does not directly relax skeletal muscle" denies the manner, not the statement: the sentence says so."""
    _, page, _ = get(server, "/claim/002-cyclobenzaprine-no-direct-muscle-relaxation")
    title = text_of(page[page.index('<h1 id="title"'):page.index("</h1>")])
    assert "cyclobenzaprine has mechanism muscle relaxation — not directly" in title
    assert "NOT" not in title.upper().replace("NOT DIRECTLY", "")
    assert "denied in part" in page
    whole = sparql(server, """SELECT ?c WHERE { ?c mrkg:polarity mrkg:Negated ; mrkg:negationScope mrkg:StatementScope ;
                                 mrkg:subject ent:baclofen } LIMIT 1""")[0]["c"].rsplit("/", 1)[-1]
    _, page, _ = get(server, f"/claim/{whole}")
    title = page[page.index('<h1 id="title"'):page.index("</h1>")]
    assert '<strong class="not">not</strong>' in title and "not-scope" not in title  # the whole statement denied


def test_an_entity_only_ever_an_object_summarises_its_subjects(server):
    """/entity/drowsiness: which drugs the sources say cause it, one row per drug, a column per source."""
    status, page, _ = get(server, "/entity/drowsiness")
    assert status == 200 and "claims with drowsiness as object" in page
    summary = page[page.index('id="adverse"'):page.index("</table>", page.index('id="adverse"'))]
    drugs = {row["s"].rsplit("/", 1)[-1] for row in sparql(server, """SELECT DISTINCT ?s WHERE {
        ?c mrkg:object ent:drowsiness ; mrkg:subject ?s ; mrkg:predicateGroup mrkg:hasAdverseOutcome }""")}
    assert drugs and all(f'<th scope="row"><a href="/entity/{d}">' in summary for d in drugs)
    assert 'href="#003-tizanidine-less-drowsiness"' in summary  # its card, on this page (18 claims)
