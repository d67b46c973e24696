"""What a claim means beyond its triple (issue 15): cue fields typed by the closed lexicons of ontology/lexicon.ttl,
negation scope, qualifiers and value forms; their errors and lints as file:line with a suggestion, their RDF, their
shapes, and the polarity-conflict rule (only a statement-scope negation denies the statement).

Every test runs on small facts written into a temporary folder, never on the real facts."""

from __future__ import annotations

import re

import datetime as dt
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SKOS

from mrkg.build import BuildError, checked_facts
from mrkg.conflicts import find_conflicts
from mrkg.facts import Claim, DatasetInfo, Facts, Source
from mrkg.lexicon import load_lexicon
from mrkg.model import KINDS
from mrkg.namespaces import CLAIM, ENT, MRKG
from mrkg.rdf import build_dataset
from mrkg.sources import read_sources
from mrkg.stats import compute_stats, format_stats

TEXT_NAME = "910_0123456789abcdef.txt"
TEXT = """Meaning example
Baclofen often can cause severe withdrawal symptoms in people with brain injury.
There is little evidence that baclofen may help alcohol use disorder.
Baclofen does not act directly on the muscles.
Baclofen has a higher risk of drowsiness than tizanidine.
If needed, take it up to about 3 times daily, mainly at night.
Drowsiness usually goes away. You may want to talk to your doctor. Typical dose 5 mg.
Baclofen is not a benzodiazepine. Baclofen is a benzodiazepine.
Use it for 1-2 months, no longer than two to three weeks at a time, or more than 10% of people stop.
"""

DECIMAL = URIRef("http://www.w3.org/2001/XMLSchema#decimal")
ENTITIES = {
    "drugs": ("drug", ["baclofen", "tizanidine"]),
    "classes": ("drug-class", ["benzodiazepines"]),
    "conditions": ("condition", ["brain-injury", "alcohol-use-disorder"]),
    "effects": ("adverse-effect", ["withdrawal-symptoms", "drowsiness"]),
    "sites": ("anatomical-site", ["muscle"]),
}

HEADER = """source:
  id: "910"
  file: 910_0123456789abcdef.txt
  title: Meaning example
  document_type: consumer-article
  extracted_by: mrkg curators
  extracted_on: 2026-11-22
claims:
"""

GOOD = """\
- id: withdrawal
  kind: withdrawal
  subject: baclofen
  object: withdrawal-symptoms
  modality: can cause
  frequency_term: often
  severity: severe
  due_to: [brain-injury]
  quote: Baclofen often can cause severe withdrawal symptoms in people with brain injury.
- id: alcohol
  kind: efficacy
  subject: baclofen
  object: alcohol-use-disorder
  hedge: may
  evidence_level: little evidence
  use_status: investigational
  quote: There is little evidence that baclofen may help alcohol use disorder.
- id: not-directly
  kind: site-of-action
  subject: baclofen
  object: muscle
  negated: true
  negation_scope: manner
  manner: directly
  quote: Baclofen does not act directly on the muscles.
- id: higher-drowsiness
  kind: risk
  subject: baclofen
  object: drowsiness
  comparison: higher
  comparator: tizanidine
  quote: Baclofen has a higher risk of drowsiness than tizanidine.
- id: dose
  kind: dose
  subject: baclofen
  dose: {text: up to about 3 times daily, times_per_day: 3, bound: upper, approximate: true}
  advice: take
  conditional: If needed
  primacy: mainly
  quote: If needed, take it up to about 3 times daily, mainly at night.
- id: not-benzo
  kind: drug-class
  subject: baclofen
  object: benzodiazepines
  negated: true
  quote: Baclofen is not a benzodiazepine.
- id: duration
  kind: duration
  subject: baclofen
  duration: {text: 1-2 months, min: 1, max: 2, unit: mo}
  quote: Use it for 1-2 months
- id: duration-bound
  kind: duration
  subject: baclofen
  duration: {text: no longer than two to three weeks, min: 2, max: 3, unit: wk, bound: upper}
  quote: no longer than two to three weeks at a time
- id: open-range
  kind: adverse-effect
  subject: baclofen
  object: drowsiness
  frequency: {text: more than 10%, min: 10}
  quote: more than 10% of people stop
"""


def _indent(block: str) -> str:
    return textwrap.indent(block, "  ")


def write_tree(root: Path, claims: str = GOOD, text: str = TEXT) -> Path:
    """A facts folder (and a sources folder beside it) with the given claims of source 910; returns the root."""
    facts = root / "facts"
    (facts / "entities").mkdir(parents=True, exist_ok=True)
    (facts / "sources").mkdir(parents=True, exist_ok=True)
    (root / "sources").mkdir(exist_ok=True)
    shutil.copy(REPO / "facts" / "dataset.yaml", facts / "dataset.yaml")
    for name, (type_name, ids) in ENTITIES.items():
        items = "".join(f"  - {{id: {i}, label: {i.replace('-', ' ')}}}\n" for i in ids)
        (facts / "entities" / f"{name}.yaml").write_text(f"type: {type_name}\nentities:\n{items}")
    (facts / "sources" / "910.yaml").write_text(HEADER + _indent(claims))
    (root / "sources" / TEXT_NAME).write_text(text)
    return root


def load(root: Path, ontology: Path | None = None) -> Facts:
    return checked_facts(root / "facts", root / "sources", None, ontology or REPO / "ontology")


def errors_of(root: Path, ontology: Path | None = None) -> str:
    """The build's errors, each as file:line: message (the column after the line, where one is given, left out)."""
    with pytest.raises(BuildError) as info:
        load(root, ontology)
    return re.sub(r"(\.yaml:\d+):\d+:", r"\1:", str(info.value))


def line_of(root: Path, needle: str, after: str = "") -> int:
    """The line (1-based) of facts/sources/910.yaml holding ``needle`` (the first after the line holding ``after``)."""
    lines = (root / "facts" / "sources" / "910.yaml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and needle in line) + 1


def claim(facts: Facts, cid: str) -> Claim:
    return next(c for c in facts.claims() if c.id == cid)


def one(extra: str, quote: str, kind: str = "efficacy", obj: str = "object: alcohol-use-disorder") -> str:
    """One claim 'x' with the given extra fields."""
    body = f"- id: x\n  kind: {kind}\n  subject: baclofen\n"
    if obj:
        body += f"  {obj}\n"
    return body + textwrap.indent(textwrap.dedent(extra), "  ") + f"  quote: {quote}\n"


# --- parsing ------------------------------------------------------------------------------------------------


def test_every_field_is_read(tmp_path: Path):
    facts = load(write_tree(tmp_path))
    w = claim(facts, "withdrawal")
    assert w.cues == {"modality": "can cause", "frequency_term": "often", "severity": "severe"}
    assert w.hedge is None and w.due_to == ["brain-injury"]
    assert w.cue_types == {"modality": [str(MRKG.Possibility)], "frequency_term": [str(MRKG.Often)],
                           "severity": [str(MRKG.Severe)]}
    a = claim(facts, "alcohol")
    assert a.hedge == "may" and a.cues["evidence_level"] == "little evidence"
    assert a.cue_types["hedge"] == [str(MRKG.SpeculativeModal)]
    assert a.cue_types["evidence_level"] == [str(MRKG.WeakEvidence)]
    assert a.enum_qualifiers["use_status"] == "investigational"
    n = claim(facts, "not-directly")
    assert n.negated and n.negation_scope == "manner" and n.text_qualifiers["manner"] == "directly"
    assert claim(facts, "not-benzo").negation_scope == "statement"  # the default
    assert claim(facts, "withdrawal").negation_scope is None  # affirmed
    d = claim(facts, "dose")
    assert d.value.bound == "upper" and d.value.approximate and d.value.numbers == {"times_per_day": 3}
    assert d.cues["advice"] == "take" and d.cue_types["advice"] == [str(MRKG.Instruction)]
    assert d.text_qualifiers["conditional"] == "If needed" and d.cues["primacy"] == "mainly"
    assert claim(facts, "duration").value.numbers == {"min": 1, "max": 2}
    bounded = claim(facts, "duration-bound").value
    assert (bounded.numbers, bounded.bound) == ({"min": 2, "max": 3}, "upper")
    assert claim(facts, "open-range").values["frequency"].numbers == {"min": 10}  # open-ended: no max


def test_comparator_unstated_is_read(tmp_path: Path):
    root = write_tree(tmp_path, GOOD.replace("  comparator: tizanidine\n", "  comparator_unstated: true\n"))
    assert claim(load(root), "higher-drowsiness").comparator_unstated is True


# --- errors: file:line, what is wrong, and a suggestion ----------------------------------------------------

CUE_ERRORS = [
    ("hedge: usually\n", "Drowsiness usually goes away.", "hedge",
     'hedge "usually" is not an epistemic hedge cue; did you mean frequency_term: usually?'),
    ("hedge: can cause\n", "Baclofen often can cause severe withdrawal symptoms in people with brain injury.", "hedge",
     'hedge "can cause" is not an epistemic hedge cue; did you mean modality: can cause?'),
    ("hedge: may want to\n", "You may want to talk to your doctor.", "hedge",
     'hedge "may want to" is not an epistemic hedge cue; did you mean advice: may want to?'),
    ("hedge: Typical\n", "Typical dose 5 mg.", "hedge",
     'hedge "Typical" is not an epistemic hedge cue; a table header ("Typical", "Usual") is the dose\'s dose_type'),
    ("hedge: up to\n", "If needed, take it up to about 3 times daily, mainly at night.", "hedge",
     'hedge "up to" is not an epistemic hedge cue; a limit of a value is its bound (bound: upper on the value'),
    ("hedge: If needed\n", "If needed, take it up to about 3 times daily, mainly at night.", "hedge",
     'hedge "If needed" is not an epistemic hedge cue; words restricting when the statement applies go to conditional'),
    ("modality: may\n", "There is little evidence that baclofen may help alcohol use disorder.", "modality",
     'modality "may" is not a modality cue; did you mean hedge: may?'),
    ("frequency_term: take\n", "If needed, take it up to about 3 times daily, mainly at night.", "frequency_term",
     'frequency_term "take" is not a frequency term; did you mean advice: take?'),
    ("advice: usually\n", "Drowsiness usually goes away.", "advice",
     'advice "usually" is not an advice cue; did you mean frequency_term: usually?'),
    ("evidence_level: may\n", "There is little evidence that baclofen may help alcohol use disorder.", "evidence_level",
     'evidence_level "may" is not an evidence-level cue; did you mean hedge: may?'),
    ("primacy: often\n", "Baclofen often can cause severe withdrawal symptoms in people with brain injury.", "primacy",
     'primacy "often" is not a primacy cue; did you mean frequency_term: often?'),
    ("severity: little evidence\n", "There is little evidence that baclofen may help alcohol use disorder.", "severity",
     'severity "little evidence" is not a severity word; did you mean evidence_level: little evidence?'),
    ("hedge: help\n", "There is little evidence that baclofen may help alcohol use disorder.", "hedge",
     'hedge "help" is not an epistemic hedge cue (the hedge lexicon in ontology/lexicon.ttl: believed,'),
]


@pytest.mark.parametrize("extra,quote,key,message", CUE_ERRORS, ids=[c[3].split(" is ")[0] for c in CUE_ERRORS])
def test_a_cue_outside_its_lexicon_is_refused_with_a_suggestion(tmp_path: Path, extra, quote, key, message):
    root = write_tree(tmp_path, GOOD + one(extra, quote))
    err = errors_of(root)
    assert f"facts/sources/910.yaml:{line_of(root, key + ':', after='- id: x')}: claim 910-x: {message}" in err
    assert err.count("\n") == 0, err  # that one error only


EFFICACY = ("efficacy", "object: alcohol-use-disorder")
EFFECT = ("adverse-effect", "object: drowsiness")
STRUCTURE_ERRORS = [
    ("negation_scope: manner\n", "Baclofen does not act directly on the muscles.", EFFICACY, "negation_scope",
     "claim 'x': 'negation_scope' is for a negated claim; add 'negated: true' or drop it"),
    ("negated: true\nnegation_scope: manner\n", "Baclofen does not act directly on the muscles.", EFFICACY,
     "negation_scope", "claim 'x': negation_scope manner needs 'manner', the words negated (e.g. manner: directly)"),
    ("negated: true\nnegation_scope: degree\n", "Baclofen does not act directly on the muscles.", EFFICACY,
     "negation_scope", "claim 'x': negation_scope degree needs 'magnitude'"),
    ("negated: true\nnegation_scope: comparison\n", "Baclofen does not act directly on the muscles.", EFFICACY,
     "negation_scope", "claim 'x': negation_scope comparison needs 'comparison'"),
    ("negated: true\nnegation_scope: whole\n", "Baclofen does not act directly on the muscles.", EFFICACY,
     "negation_scope", "claim 'x': negation_scope 'whole' is not one of statement, manner, comparison, degree"),
    ("comparison: higher\n", "Baclofen has a higher risk of drowsiness than tizanidine.", EFFECT, "comparison",
     "claim 'x': a comparison needs 'comparator' (the entity compared with), or 'comparator_unstated: true' if the "
     "source names none"),
    ("comparison: higher\ncomparator: tizanidine\ncomparator_unstated: true\n",
     "Baclofen has a higher risk of drowsiness than tizanidine.", EFFECT, "comparator_unstated",
     "claim 'x': 'comparator_unstated: true' says the source names no comparator, but 'comparator' is given"),
    ("comparator_unstated: true\n", "Baclofen has a higher risk of drowsiness than tizanidine.", EFFECT,
     "comparator_unstated", "claim 'x': 'comparator_unstated' goes with a 'comparison'"),
    ("use_status: approved\n", "Drowsiness usually goes away.", EFFECT, "use_status",
     "claim 'x': 'use_status' is for use claims (efficacy, indication, off-label-use, recommendation), "
     "not adverse-effect"),
    ("use_status: trial\n", "There is little evidence that baclofen may help alcohol use disorder.", EFFICACY,
     "use_status", "claim 'x': use_status 'trial' is not one of approved, off-label, investigational, established"),
    ("frequency_terms: usually\n", "Drowsiness usually goes away.", EFFECT, "frequency_terms",
     "claim 'x': unknown field 'frequency_terms'"),
    ("due_to: 7\n", "Drowsiness usually goes away.", EFFECT, "due_to", "claim 'x': 'due_to' is a list of entity ids"),
]


@pytest.mark.parametrize("extra,quote,kind,key,message", STRUCTURE_ERRORS,
                         ids=[f"{c[3]}-{c[0].split()[-1]}" for c in STRUCTURE_ERRORS])
def test_a_field_used_wrongly_is_reported_at_its_line(tmp_path: Path, extra, quote, kind, key, message):
    root = write_tree(tmp_path, GOOD + one(extra, quote, *kind))
    err = errors_of(root)
    assert f"facts/sources/910.yaml:{line_of(root, key + ':', after='- id: x')}: {message}" in err, err


def test_value_bound_must_be_upper_or_lower_and_bound_a_number(tmp_path: Path):
    claims = GOOD + one("duration: {text: up to, bound: most}\n", "take it up to about", "duration", "")
    claims += one("duration: {text: up to, bound: upper}\n", "take it up to about", "duration", "").replace(
        "id: x", "id: y")
    root = write_tree(tmp_path, claims)
    err = errors_of(root)
    assert f"910.yaml:{line_of(root, 'duration:', after='- id: x')}: claim 'x' duration: bound 'most' is not one of " \
           "upper, lower" in err
    assert f"910.yaml:{line_of(root, 'duration:', after='- id: y')}: claim 'y' duration: 'bound' needs the numbers " \
           "it bounds" in err


def test_due_to_names_an_entity(tmp_path: Path):
    root = write_tree(tmp_path, GOOD + one("due_to: [nerve-damage]\n", "Drowsiness usually goes away.",
                                           "adverse-effect", "object: drowsiness"))
    assert "claim 'x': due_to 'nerve-damage' is not an entity in facts/entities/" in errors_of(root)


@pytest.mark.parametrize("key,words", [("modality", "cannot"), ("evidence_level", "no evidence"),
                                       ("conditional", "If not needed"),
                                       ("manner", "indirectly"), ("primacy", "primarily")])
def test_cue_and_qualifier_words_stand_in_the_quote(tmp_path: Path, key: str, words: str):
    root = write_tree(tmp_path, GOOD + one(f"{key}: {words}\n", "Drowsiness usually goes away.", "adverse-effect",
                                           "object: drowsiness"))
    err = errors_of(root)
    assert f"claim 910-x: {key} {words!r} is not part of its quote" in err
    assert err.count("is not part of its quote") == 1, err


# --- lints --------------------------------------------------------------------------------------------------

LINTS = [
    ("note: read as mainly for spasticity\n", "",
     'the note says "mainly", which a field exists for; set primacy: mainly'),
    ("note: listed among the most frequently reported\n", "",
     'the note says "most frequently reported", which a field exists for; '
     'set frequency_term: most frequently reported'),
    ("note: the severe form\n", "", 'the note says "severe", which a field exists for; set severity: severe'),
    ("note: the source says up to three times\n", "value",
     'the note says "up to three", which a field exists for; set bound: upper on the value'),
    ("note: at about 5 mg\n", "value", 'the note says "about 5", which a field exists for; set approximate: true'),
    ("note: an off-label use in the source\n", "use", 'the note says "off-label", which a field exists for; set '
                                                  "use_status: off-label"),
    ("note: compared with tizanidine in the paragraph\n", "",
     'the note names a comparator ("compared with tizanidine"); set comparator: tizanidine'),
    ("magnitude: mainly\n", "", "magnitude 'mainly' says the statement holds mainly; did you mean primacy: mainly?"),
    ("object_text: severe withdrawal symptoms\n", "",
     "object_text 'severe withdrawal symptoms' carries the severity word \"severe\" but the claim has no severity; "
     "add severity: severe"),
]


@pytest.mark.parametrize("extra,claim_kind,message", LINTS, ids=[m.split(";")[0][:40] for _, _, m in LINTS])
def test_lint_a_word_a_field_exists_for(tmp_path: Path, extra: str, claim_kind: str, message: str):
    quote = "Baclofen often can cause severe withdrawal symptoms in people with brain injury."
    kind = ("withdrawal", "object: withdrawal-symptoms")
    if extra.startswith("magnitude"):
        quote = "If needed, take it up to about 3 times daily, mainly at night."
    if claim_kind == "value":
        quote, kind = "Drowsiness usually goes away.", ("adverse-effect", "object: drowsiness")
        extra += "frequency: {text: usually, term: usually}\n"
    if claim_kind == "use":
        quote, kind = "There is little evidence that baclofen may help alcohol use disorder.", EFFICACY
    root = write_tree(tmp_path, GOOD + one(extra, quote, *kind))
    key = extra.split(":")[0]
    err = errors_of(root)
    assert f"facts/sources/910.yaml:{line_of(root, key + ':', after='- id: x')}: claim 910-x: {message}" in err, err


@pytest.mark.parametrize("extra", [
    "note: read as mainly for spasticity\nprimacy: often\n",  # wrong word, but the lint is satisfied by the field...
])
def test_lint_is_satisfied_by_the_field_but_the_field_is_still_checked(tmp_path: Path, extra: str):
    quote = "Baclofen often can cause severe withdrawal symptoms in people with brain injury."
    root = write_tree(tmp_path, GOOD + one(extra, quote, "withdrawal", "object: withdrawal-symptoms"))
    err = errors_of(root)
    assert "the note says" not in err and 'primacy "often" is not a primacy cue' in err


def test_no_lint_for_a_field_the_claim_cannot_take(tmp_path: Path):
    """use_status fits use claims only, bound and approximate a value: elsewhere the note may say those words."""
    quote = "Baclofen often can cause severe withdrawal symptoms in people with brain injury."
    extra = "note: an approved drug, taken up to three times a day for about 2 weeks\n"
    load(write_tree(tmp_path, GOOD + one(extra, quote, "withdrawal", "object: withdrawal-symptoms")))
    err = errors_of(write_tree(tmp_path / "use", GOOD + one(
        extra, "There is little evidence that baclofen may help alcohol use disorder.")))
    assert 'the note says "approved"' in err and "up to three" not in err


def test_a_comparator_lint_ignores_the_claims_own_subject(tmp_path: Path):
    quote = "Baclofen has a higher risk of drowsiness than tizanidine."
    own = one("note: rather than baclofen in the paragraph\n", quote, "risk", "object: drowsiness")
    assert claim(load(write_tree(tmp_path / "own", GOOD + own)), "x").note
    other = one("note: rather than tizanidine in the paragraph\n", quote, "risk", "object: drowsiness")
    assert "the note names a comparator (\"than tizanidine\")" in errors_of(write_tree(tmp_path / "other",
                                                                                       GOOD + other))


def test_notes_and_object_texts_with_their_fields_set_pass(tmp_path: Path):
    quote = "Baclofen often can cause severe withdrawal symptoms in people with brain injury."
    extra = ("severity: severe\nobject_text: severe withdrawal symptoms\n"
             "note: the severe form, most frequently reported, compared with tizanidine\n"
             "frequency_term: often\ncomparison: higher\ncomparator: tizanidine\n")
    root = write_tree(tmp_path, GOOD + one(extra, quote, "withdrawal", "object: withdrawal-symptoms"))
    assert claim(load(root), "x").cues["severity"] == "severe"
    plain = one("note: a reading note about the drug and around the text\n", quote, "withdrawal",
                "object: withdrawal-symptoms")  # "about"/"around" without a number are no approximation
    load(write_tree(tmp_path / "plain", GOOD + plain))


# --- the lexicon is read from the ontology -------------------------------------------------------------------


def test_the_lexicon_is_the_ontology_file(tmp_path: Path):
    """A cue is accepted only if ontology/lexicon.ttl holds it: remove "usually", add "perchance"."""
    ontology = tmp_path / "ontology"
    shutil.copytree(REPO / "ontology", ontology)
    path = ontology / "lexicon.ttl"
    text = path.read_text()
    assert 'skos:prefLabel "usually"@en' in text
    text = text.replace('skos:prefLabel "usually"@en', 'skos:prefLabel "usuallyish"@en')
    text += ('\nlex:hedge-perchance a skos:Concept ; skos:inScheme mrkg:HedgeCueScheme ; '
             'skos:broader mrkg:Probability ;\n    skos:prefLabel "perchance"@en ; skos:definition "Perhaps."@en .\n')
    path.write_text(text)
    root = write_tree(tmp_path / "t", GOOD + one("frequency_term: usually\n", "Drowsiness usually goes away.",
                                                 "adverse-effect", "object: drowsiness"))
    err = errors_of(root, ontology)
    assert 'frequency_term "usually" is not a frequency term' in err
    perchance = one("hedge: Perchance\n", "Perchance baclofen helps alcohol use disorder.")
    root = write_tree(tmp_path / "u", GOOD + perchance,
                      TEXT + "Perchance baclofen helps alcohol use disorder.\n")
    assert claim(load(root, ontology), "x").cue_types["hedge"] == [str(MRKG.Probability)]
    assert 'hedge "Perchance" is not an epistemic hedge cue' in errors_of(root)  # the checkout's lexicon lacks it


def test_lexicon_entries_are_skos_concepts_with_a_cue_type():
    graph = Graph().parse(REPO / "ontology" / "lexicon.ttl")
    lexicon = load_lexicon()
    assert set(lexicon.fields()) == {"hedge", "modality", "frequency_term", "advice", "evidence_level", "primacy",
                                     "severity"}
    for entry in lexicon.entries:
        assert (entry.iri, SKOS.definition, None) in graph, entry.iri
        assert (entry.cue_type, SKOS.topConceptOf, lexicon.schemes[entry.field]) in graph, entry.iri
    # overlaps: the longest entry wins, across lexicons
    assert lexicon.cue_types("modality", "can help") == [MRKG.Ability]
    assert lexicon.cue_types("frequency_term", "most often") == [MRKG.Usually]
    assert lexicon.cue_types("hedge", "may want to") == []
    assert lexicon.cue_types("hedge", "may possibly") == [MRKG.SpeculativeModal, MRKG.Probability]
    assert lexicon.cue_types("hedge", "potentially") == [MRKG.Probability]
    assert lexicon.cue_types("modality", "potential") == [MRKG.Possibility]
    assert lexicon.cue_types("advice", "Don\u2019t take") == [MRKG.Instruction]  # typographic apostrophe
    # the same words in two lexicons: the sentence decides (what some doctors do, or what they believe)
    assert lexicon.cue_types("frequency_term", "Some doctors") == [MRKG.Sometimes]
    assert lexicon.cue_types("hedge", "Some doctors") == [MRKG.Attribution]


# --- RDF ----------------------------------------------------------------------------------------------------


@pytest.fixture
def graph(tmp_path: Path) -> Graph:
    root = write_tree(tmp_path)
    facts = load(root)
    ds = build_dataset(facts, read_sources(root / "sources"), REPO / "ontology")
    g = Graph()
    for s, p, o, _ in ds.quads():
        g.add((s, p, o))
    return g


def test_rdf_of_the_meaning_fields(graph: Graph):
    w, a, n = CLAIM["910-withdrawal"], CLAIM["910-alcohol"], CLAIM["910-not-directly"]
    d, b = CLAIM["910-dose"], CLAIM["910-not-benzo"]
    true = Literal(True)
    expected = [
        (w, MRKG.certainty, MRKG.Stated), (w, MRKG.modality, MRKG.Possibility),
        (w, MRKG.modalityCue, Literal("can cause")),
        (w, MRKG.frequencyTerm, MRKG.Often), (w, MRKG.frequencyTermCue, Literal("often")),
        (w, MRKG.severity, MRKG.Severe), (w, MRKG.severityText, Literal("severe")),
        (w, MRKG.dueTo, ENT["brain-injury"]),
        (a, MRKG.certainty, MRKG.Hedged), (a, MRKG.hedgeCue, Literal("may")),
        (a, MRKG.hedgeCueType, MRKG.SpeculativeModal), (a, MRKG.evidenceLevel, Literal("little evidence")),
        (a, MRKG.evidenceGrade, MRKG.WeakEvidence), (a, MRKG.useStatus, MRKG.Investigational),
        (n, MRKG.polarity, MRKG.Negated), (n, MRKG.negationScope, MRKG.MannerScope),
        (n, MRKG.manner, Literal("directly")),
        (b, MRKG.negationScope, MRKG.StatementScope),
        (d, MRKG.advice, MRKG.Instruction), (d, MRKG.adviceCue, Literal("take")),
        (d, MRKG.conditionalText, Literal("If needed")), (d, MRKG.primacy, Literal("mainly")),
        (URIRef(f"{d}/dose"), MRKG.bound, MRKG.UpperBound), (URIRef(f"{d}/dose"), MRKG.approximate, true),
        (URIRef(f"{CLAIM['910-duration-bound']}/duration"), MRKG.bound, MRKG.UpperBound),
        (URIRef(f"{CLAIM['910-open-range']}/frequency"), MRKG.minValue, Literal("10.0", datatype=DECIMAL)),
    ]
    missing = [t for t in expected if t not in graph]
    assert not missing, missing
    assert (w, MRKG.negationScope, None) not in graph  # affirmed claims have no scope
    assert (URIRef(f"{CLAIM['910-open-range']}/frequency"), MRKG.maxValue, None) not in graph
    assert (w, MRKG.hedgeCueType, None) not in graph and (w, MRKG.certainty, MRKG.Hedged) not in graph


def test_meaning_read_back_from_rdf_is_what_was_written(tmp_path: Path, graph: Graph):
    """Curator RDF read back into claims (mrkg.rdf.read_meaning, read_value_form) keeps every meaning field."""
    from mrkg.facts import Value
    from mrkg.rdf import read_meaning, read_value_form

    facts = load(write_tree(tmp_path / "again"))
    for cid in ("withdrawal", "alcohol", "not-directly", "dose", "not-benzo"):
        written = claim(facts, cid)
        back = read_meaning(graph, CLAIM[f"910-{cid}"], Claim("910", cid, written.kind, written.subject,
                                                               written.predicate, written.quote,
                                                               negated=written.negated))
        assert back.cues == written.cues and back.hedge == written.hedge, cid
        assert {k: sorted(v) for k, v in back.cue_types.items()} == \
            {k: sorted(v) for k, v in written.cue_types.items() if k != "primacy"}, cid
        assert back.enum_qualifiers == written.enum_qualifiers, cid
        assert back.text_qualifiers == written.text_qualifiers, cid
        assert back.due_to == written.due_to and back.negation_scope == written.negation_scope, cid
    dose = read_value_form(graph, URIRef(f"{CLAIM['910-dose']}/dose"), Value("dose", "x", {}))
    assert (dose.bound, dose.approximate) == ("upper", True)


def test_comparator_unstated_in_rdf(tmp_path: Path):
    root = write_tree(tmp_path, GOOD.replace("  comparator: tizanidine\n", "  comparator_unstated: true\n"))
    ds = build_dataset(load(root), read_sources(root / "sources"), REPO / "ontology")
    triples = {(s, p, o) for s, p, o, _ in ds.quads()}
    node = CLAIM["910-higher-drowsiness"]
    assert (node, MRKG.comparatorUnstated, Literal(True)) in triples
    assert not any(s == node and p == MRKG.comparator for s, p, o in triples)


def test_every_new_term_is_in_the_ontology(graph: Graph):
    """Each property and individual the meaning fields write is labelled and defined in graph:ontology."""
    from rdflib.namespace import RDFS

    used = {p for s, p, o in graph if str(p).startswith(str(MRKG))}
    used |= {o for s, p, o in graph if isinstance(o, URIRef) and str(o).startswith(str(MRKG)) and p != MRKG.predicate}
    new = {MRKG[n] for n in ("hedgeCueType", "modality", "modalityCue", "frequencyTermCue", "advice", "adviceCue",
                             "evidenceGrade", "primacy", "severity", "severityText", "negationScope", "manner",
                             "conditionalText", "useStatus", "dueTo", "bound", "approximate", "Possibility",
                             "Often", "Severe", "SpeculativeModal", "WeakEvidence", "Investigational", "MannerScope",
                             "StatementScope", "Instruction", "UpperBound")}
    assert new <= used
    for term in new:
        assert (term, RDFS.label, None) in graph and (term, SKOS.definition, None) in graph, term


# --- shapes -------------------------------------------------------------------------------------------------


def _validate(graph: Graph):
    from mrkg.shacl import MRKGSH_TEXT, Shapes, validate_graph
    from mrkg.namespaces import SRC

    data = Graph()
    for triple in graph:
        data.add(triple)
    data.add((SRC["910"], MRKGSH_TEXT, Literal(TEXT)))
    return validate_graph(Shapes.load(REPO / "shapes"), data)


def test_the_built_graph_conforms_and_a_comparison_without_comparator_violates(tmp_path: Path, graph: Graph):
    report = _validate(graph)
    assert report.conforms, "\n".join(str(r) for r in report.violations)
    node = CLAIM["910-higher-drowsiness"]
    graph.remove((node, MRKG.comparator, None))
    report = _validate(graph)
    names = {str(r.name or r.constraint or r.shape).rsplit("/", 1)[-1] for r in report.violations}
    assert "ClaimShape-comparisonComparator" in names, names
    graph.add((node, MRKG.comparatorUnstated, Literal(True)))
    assert _validate(graph).conforms


def test_a_value_outside_a_closed_set_violates(tmp_path: Path, graph: Graph):
    graph.add((CLAIM["910-alcohol"], MRKG.hedgeCueType, MRKG.Possibility))
    report = _validate(graph)
    assert [str(r.focus) for r in report.violations] == [str(CLAIM["910-alcohol"])]
    assert "hedge cue type" in report.violations[0].message


# --- conflicts: only a statement-scope negation denies the statement ---------------------------------------------


def _claim(source: str, cid: str, **extra) -> Claim:
    c = Claim(source_id=source, id=cid, kind="site-of-action", subject="cyclobenzaprine",
              predicate=KINDS["site-of-action"].predicate, quote="q", object="brainstem")
    for key, value in extra.items():
        if key == "scope":
            c.enum_qualifiers["negation_scope"] = value
        else:
            setattr(c, key, value)
    return c


def _facts(*claims: Claim) -> Facts:
    sources: dict[str, Source] = {}
    for c in claims:
        sources.setdefault(c.source_id, Source(c.source_id, "f.txt", "t", "consumer-article", "me",
                                               dt.date(2026, 1, 1))).claims.append(c)
    return Facts(DatasetInfo("0", "t", "d", "l"), {}, sources)


@pytest.mark.parametrize("scope,conflict", [(None, True), ("statement", True), ("manner", False),
                                            ("comparison", False), ("degree", False)])
def test_polarity_conflicts_only_for_statement_scope(scope: str | None, conflict: bool):
    negated = _claim("002", "no-direct", negated=True, **({"scope": scope} if scope else {}))
    facts = _facts(_claim("001", "acts-on-brainstem"), negated)
    kinds = [c.kind for c in find_conflicts(facts)]
    assert kinds == (["polarity"] if conflict else [])


# --- stats and the command line --------------------------------------------------------------------------------


def test_stats_per_cue_type_modality_and_frequency_term(tmp_path: Path):
    facts = load(write_tree(tmp_path))
    stats = compute_stats(facts, find_conflicts(facts))
    assert stats["hedgedClaims"] == 1
    assert stats["hedged_claims_per_cue_type"] == {"SpeculativeModal": 1}
    assert stats["claims_per_modality"] == {"Possibility": 1}
    assert stats["claims_per_frequency_term"] == {"Often": 1}
    assert stats["claims_per_advice"] == {"Instruction": 1}
    assert stats["claims_per_evidence_grade"] == {"WeakEvidence": 1}
    assert stats["claims_per_severity"] == {"Severe": 1}
    assert stats["negated_claims_per_scope"] == {"manner": 1, "statement": 1}
    assert stats["claims_per_use_status"] == {"investigational": 1}
    text = format_stats(stats)
    assert "hedged claims per cue type: SpeculativeModal 1" in text
    assert "claims per frequency term: Often 1" in text


def _mrkg(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mrkg", *args], cwd=cwd, env=dict(os.environ), capture_output=True,
                          text=True, timeout=120)


def test_build_refuses_a_false_hedge_and_leaves_the_build_untouched(tmp_path: Path):
    root = write_tree(tmp_path, GOOD)
    (root / "reference.tsv").write_text("entity\tscheme\tid\tevidence_where_found\n")
    args = ["build", "--facts", "facts", "--ontology", str(REPO / "ontology"), "--shapes", str(REPO / "shapes"),
            "--sources", "sources", "--reference", "reference.tsv", "--out", "build"]
    ok = _mrkg(*args, cwd=root)
    assert ok.returncode == 0, ok.stderr
    published = (root / "build").resolve()
    quote = "Baclofen often can cause severe withdrawal symptoms in people with brain injury."
    (root / "facts" / "sources" / "910.yaml").write_text(
        HEADER + _indent(GOOD + one("hedge: can cause\n", quote, "withdrawal", "object: withdrawal-symptoms")))
    bad = _mrkg(*args, cwd=root)
    assert bad.returncode == 1
    assert (f"facts/sources/910.yaml:{line_of(root, 'hedge:', after='- id: x')}: claim 910-x: hedge \"can cause\" is "
            "not an epistemic hedge cue; did you mean modality: can cause?") in bad.stderr
    assert "build failed; the previous build/ is unchanged" in bad.stderr
    assert (root / "build").resolve() == published
