"""Synthetic graphs in mrkg's own model (claims with provenance, values, conflicts) at any size, for benchmarks.

The output has the shape of a real build: claim nodes typed ``mrkg:Claim`` and a kind, subject / predicate /
object, polarity, certainty (hedge cues), the verbatim quote with a Web Annotation (quote and position
selectors), ``prov:wasDerivedFrom`` a source, value nodes (``<claim>/frequency``, ``/dose``, ``/time-window``)
that keep their original words beside min/max, one named graph per source, ``graph:entities``,
``graph:asserted`` (the plain triple of every affirmed claim) and ``graph:conflicts``. Every node has a minted
IRI (no blank nodes), every quad is distinct, and the same seed gives the same bytes.

Entity names include the real drugs and effects of the curated data (baclofen, cyclobenzaprine, drowsiness,
MAOIs, skeletal muscle...) so that the competency questions in queries/ find answers here too.

``write_scaled_facts`` makes the other kind of large input: a facts tree (YAML and source texts) that the real
``mrkg build`` and ``mrkg validate`` read, made of the real facts repeated under new source and entity ids until
their build has about the asked number of triples.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

import click

BASE = "https://w3id.org/mrkg/"
M = BASE + "ontology/"
ENT = BASE + "entity/"
CLAIM = BASE + "claim/"
SRC = BASE + "source/"
GRAPH = BASE + "graph/"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
PREF_LABEL = "<http://www.w3.org/2004/02/skos/core#prefLabel>"
DCT = "http://purl.org/dc/terms/"
PROV = "http://www.w3.org/ns/prov#"
OA = "http://www.w3.org/ns/oa#"
XSD = "http://www.w3.org/2001/XMLSchema#"

G_ENTITIES = f"<{GRAPH}entities>"
G_ASSERTED = f"<{GRAPH}asserted>"
G_CONFLICTS = f"<{GRAPH}conflicts>"

# Real names first: the competency questions ask about them.
DRUGS = ["baclofen", "cyclobenzaprine", "tizanidine", "carisoprodol", "methocarbamol", "metaxalone",
         "orphenadrine", "chlorzoxazone", "dantrolene", "diazepam", "tramadol", "selegiline"]
EFFECTS = ["drowsiness", "dizziness", "dry-mouth", "headache", "weakness", "nausea", "fatigue", "hypotension",
           "confusion", "constipation", "serotonin-syndrome", "seizure"]
INTERACTANTS = ["maois", "alcohol", "opioids", "benzodiazepines", "ssris", "antihistamines"]
CONDITIONS = ["muscle-spasm", "spasticity", "pain", "multiple-sclerosis", "fibromyalgia", "spinal-cord-injury"]
SITES = ["skeletal-muscle", "spinal-cord", "brainstem", "spinal-nerves", "central-nervous-system"]
HEDGES = ["may", "is considered to be", "up to", "possibly", "is thought to"]

ENTITY_CLASSES = {"drug": "Drug", "effect": "AdverseEffect", "interactant": "Substance", "condition": "Condition",
                  "site": "AnatomicalSite"}


@dataclass(frozen=True)
class ScaleResult:
    path: Path
    quads: int
    claims: int
    conflicts: int
    sources: int
    entities: int


def _iri(value: str) -> str:
    return f"<{value}>"


def _lit(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _typed(text: str, datatype: str) -> str:
    return f'"{text}"^^<{XSD}{datatype}>'


class _Writer:
    """Counts the quads it writes; everything written is distinct by construction (minted IRIs)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.count = 0
        self._lines: list[str] = []

    def quad(self, s: str, p: str, o: str, g: str) -> None:
        self._lines.append(f"{s} {p} {o} {g} .\n")
        self.count += 1
        if len(self._lines) >= 4096:
            self.flush()

    def flush(self) -> None:
        self.out.write("".join(self._lines))
        self._lines.clear()


class _Generator:
    def __init__(self, target: int, seed: int, claims_per_source: int) -> None:
        self.rng = random.Random(seed)
        self.target = target
        # Small graphs still get several sources, so that sources can disagree.
        self.claims_per_source = max(10, min(claims_per_source, target // 40 // 8))
        # Entities grow with the square root of the graph: more drugs and effects, each still mentioned often.
        per_kind = max(1, int((target / 400) ** 0.5))
        self.entities = {
            "drug": DRUGS + [f"drug-{i:05d}" for i in range(per_kind * 2)],
            "effect": EFFECTS + [f"effect-{i:05d}" for i in range(per_kind * 3)],
            "interactant": INTERACTANTS + [f"substance-{i:05d}" for i in range(per_kind)],
            "condition": CONDITIONS + [f"condition-{i:05d}" for i in range(per_kind)],
            "site": SITES,
        }
        self.asserted: set[tuple[str, str, str]] = set()
        self.claims = 0
        self.conflicts = 0
        self.sources = 0

    def pick(self, kind: str) -> str:
        names = self.entities[kind]
        # Real (first) names are picked as often as all synthetic ones together, like a focused corpus.
        if self.rng.random() < 0.3:
            return names[self.rng.randrange(min(len(names), 12))]
        return names[self.rng.randrange(len(names))]

    def write_entities(self, w: _Writer) -> None:
        for kind, names in self.entities.items():
            cls = _iri(M + ENTITY_CLASSES[kind])
            for name in names:
                node = _iri(ENT + name)
                label = _lit(name.replace("-", " "))
                w.quad(node, RDF_TYPE, cls, G_ENTITIES)
                w.quad(node, LABEL, label, G_ENTITIES)
                w.quad(node, PREF_LABEL, label, G_ENTITIES)

    def write_source(self, w: _Writer, number: int) -> tuple[str, str]:
        sid = f"{number:03d}"
        graph = _iri(f"{GRAPH}source/{sid}")
        source = _iri(SRC + sid)
        activity = _iri(f"{BASE}activity/extraction-{sid}")
        title = _lit(f"Synthetic source {sid} on muscle relaxants")
        for p, o in ((RDF_TYPE, _iri(M + "Source")), (RDF_TYPE, _iri(PROV + "Entity")), (LABEL, title),
                     (_iri(DCT + "title"), title), (_iri(DCT + "identifier"), _lit(sid)),
                     (_iri(DCT + "format"), _lit("text/plain")), (_iri(M + "documentType"), _iri(M + "ConsumerArticle")),
                     (_iri(M + "fileName"), _lit(f"{sid}_synthetic.txt"))):
            w.quad(source, p, o, graph)
        for p, o in ((RDF_TYPE, _iri(PROV + "Activity")), (LABEL, _lit(f"extraction of the claims of source {sid}")),
                     (_iri(PROV + "used"), source), (_iri(PROV + "wasAssociatedWith"), _iri(BASE + "agent/mrkg-curators"))):
            w.quad(activity, p, o, graph)
        self.sources += 1
        return sid, graph

    def value(self, w: _Writer, node: str, graph: str, classes: tuple[str, ...], text: str,
              low: float | None, high: float | None, unit: str) -> None:
        for cls in classes:
            w.quad(node, RDF_TYPE, _iri(M + cls), graph)
        w.quad(node, LABEL, _lit(text), graph)
        w.quad(node, _iri(M + "originalText"), _lit(text), graph)
        if low is not None:
            w.quad(node, _iri(M + "minValue"), _typed(f"{low:.1f}", "decimal"), graph)
        if high is not None:
            w.quad(node, _iri(M + "maxValue"), _typed(f"{high:.1f}", "decimal"), graph)
        w.quad(node, _iri(M + "unit"), _lit(unit), graph)

    def claim(self, w: _Writer, sid: str, graph: str, seq: int, *, kind: str | None = None,
              subject: str | None = None, obj: str | None = None, negated: bool | None = None,
              frequency: tuple[float, float] | None = None) -> dict:
        rng = self.rng
        if kind is None:
            kind = rng.choices(["effect", "interaction", "contraindication", "indication", "site", "dose"],
                               weights=[45, 15, 5, 15, 5, 15])[0]
        subject = subject or self.pick("drug")
        if kind == "effect":
            cls, predicate, obj = "AdverseEffectClaim", "hasAdverseEffect", obj or self.pick("effect")
        elif kind == "interaction":
            cls, predicate, obj = "InteractionClaim", "interactsWith", obj or self.pick("interactant")
        elif kind == "contraindication":
            cls, predicate, obj = "ContraindicationClaim", "isContraindicatedWith", obj or self.pick("interactant")
        elif kind == "indication":
            cls, predicate, obj = "IndicationClaim", "isIndicatedFor", obj or self.pick("condition")
        elif kind == "site":
            cls, predicate, obj = "SiteOfActionClaim", "actsAt", obj or rng.choice(SITES)
        else:
            cls, predicate, obj = "DoseClaim", "hasDose", None
        cid = f"{sid}-{subject}-{obj or 'dose'}-{seq}"
        node_iri = CLAIM + cid
        node = _iri(node_iri)
        object_node = _iri(ENT + obj) if obj else _iri(node_iri + "/dose")
        negated = rng.random() < 0.05 if negated is None else negated
        hedge = rng.choice(HEDGES) if rng.random() < 0.15 else None
        verb = predicate[0].lower() + "".join(" " + c.lower() if c.isupper() else c for c in predicate[1:])
        quote = f"{subject.replace('-', ' ')} {'does not ' if negated else ''}{hedge + ' ' if hedge else ''}" \
                f"{verb.replace('has ', 'cause ').replace('is ', 'be ')} {(obj or 'a dose').replace('-', ' ')}"
        start = rng.randrange(0, 50_000)

        q = w.quad
        q(node, RDF_TYPE, _iri(M + "Claim"), graph)
        q(node, RDF_TYPE, _iri(M + cls), graph)
        q(node, LABEL, _lit(f"{subject} {verb} {obj or 'dose'}"), graph)
        q(node, _iri(DCT + "identifier"), _lit(cid), graph)
        q(node, _iri(M + "subject"), _iri(ENT + subject), graph)
        q(node, _iri(M + "predicate"), _iri(M + predicate), graph)
        q(node, _iri(M + "object"), object_node, graph)
        q(node, _iri(M + "polarity"), _iri(M + ("Negated" if negated else "Affirmed")), graph)
        q(node, _iri(M + "certainty"), _iri(M + ("Hedged" if hedge else "Stated")), graph)
        if hedge:
            q(node, _iri(M + "hedgeCue"), _lit(hedge), graph)
        q(node, _iri(M + "quote"), _lit(quote), graph)
        q(node, _iri(PROV + "wasDerivedFrom"), _iri(SRC + sid), graph)
        q(node, _iri(PROV + "wasGeneratedBy"), _iri(f"{BASE}activity/extraction-{sid}"), graph)
        q(node, _iri(M + "evidenceType"), "<http://purl.obolibrary.org/obo/ECO_0000302>", graph)

        if kind == "effect":
            if frequency is None:
                low = float(rng.randrange(0, 40))
                frequency = (low, low + rng.randrange(1, 30))
            freq = _iri(node_iri + "/frequency")
            self.value(w, freq, graph, ("Frequency", "Value"), f"{frequency[0]:g}-{frequency[1]:g}%",
                       frequency[0], frequency[1], "%")
            q(node, _iri(M + "frequency"), freq, graph)
        elif kind in {"interaction", "contraindication"}:
            if rng.random() < 0.6:
                q(node, _iri(M + "outcome"), _iri(ENT + self.pick("effect")), graph)
            if obj == "maois" or rng.random() < 0.2:
                days = rng.choice([7, 14, 21])
                window = _iri(node_iri + "/time-window")
                self.value(w, window, graph, ("Duration", "Value"), f"within {days} days", days, days, "d")
                q(node, _iri(M + "timeWindow"), window, graph)
        elif kind == "dose":
            low = rng.choice([2.5, 5, 10, 20])
            self.value(w, object_node, graph, ("Dose", "Value"), f"{low:g} mg by mouth {rng.randrange(1, 5)} times daily",
                       low, low * rng.choice([1, 2, 4]), "mg")

        # Web Annotation: where in the source the quote is.
        ann, target = _iri(node_iri + "/annotation"), _iri(node_iri + "/target")
        quote_sel, pos_sel = _iri(node_iri + "/quote-selector"), _iri(node_iri + "/position-selector")
        q(node, _iri(M + "annotation"), ann, graph)
        q(ann, RDF_TYPE, _iri(OA + "Annotation"), graph)
        q(ann, _iri(OA + "hasBody"), node, graph)
        q(ann, _iri(OA + "hasTarget"), target, graph)
        q(ann, _iri(OA + "motivatedBy"), _iri(OA + "describing"), graph)
        q(target, RDF_TYPE, _iri(OA + "SpecificResource"), graph)
        q(target, _iri(OA + "hasSource"), _iri(SRC + sid), graph)
        q(target, _iri(OA + "hasSelector"), quote_sel, graph)
        q(target, _iri(OA + "hasSelector"), pos_sel, graph)
        q(quote_sel, RDF_TYPE, _iri(OA + "TextQuoteSelector"), graph)
        q(quote_sel, _iri(OA + "exact"), _lit(quote), graph)
        q(quote_sel, _iri(OA + "prefix"), _lit(f"…text before claim {seq}\n"), graph)
        q(quote_sel, _iri(OA + "suffix"), _lit(f"\ntext after claim {seq}…"), graph)
        q(pos_sel, RDF_TYPE, _iri(OA + "TextPositionSelector"), graph)
        q(pos_sel, _iri(OA + "start"), _typed(str(start), "nonNegativeInteger"), graph)
        q(pos_sel, _iri(OA + "end"), _typed(str(start + len(quote)), "nonNegativeInteger"), graph)

        if not negated:
            plain = (_iri(ENT + subject), _iri(M + predicate), object_node)
            if plain not in self.asserted:
                self.asserted.add(plain)
                q(*plain, G_ASSERTED)
        self.claims += 1
        return {"iri": node_iri, "id": cid, "kind": kind, "subject": subject, "object": obj, "negated": negated,
                "frequency": frequency, "predicate": predicate}

    def conflict(self, w: _Writer, kind: str, a: dict, b: dict, explanation: str) -> None:
        names = {"polarity": "PolarityConflict", "numeric": "ValueConflict"}
        node = _iri(f"{BASE}conflict/{kind}--{a['id']}--{b['id']}")
        q = w.quad
        q(node, RDF_TYPE, _iri(M + "Conflict"), G_CONFLICTS)
        q(node, _iri(M + "conflictKind"), _iri(M + names[kind]), G_CONFLICTS)
        q(node, LABEL, _lit(f"{kind} conflict: {explanation}"), G_CONFLICTS)
        # The conflict model of the real build (ontology/conflicts.ttl): severity, status, topic, two sides.
        q(node, _iri(M + "conflictSeverity"), _iri(M + ("Contradiction" if kind == "polarity" else "SubstantiveDifference")),
          G_CONFLICTS)
        q(node, _iri(M + "curationStatus"), _iri(M + "Proposed"), G_CONFLICTS)
        q(node, _iri(M + "explanation"), _lit(f"{kind} conflict: {explanation}"), G_CONFLICTS)
        q(node, _iri(M + "topicSubject"), _iri(ENT + a["subject"]), G_CONFLICTS)
        q(node, _iri(M + "topicPredicate"), _iri(M + a["predicate"]), G_CONFLICTS)
        if a["object"]:
            q(node, _iri(M + "topicObject"), _iri(ENT + a["object"]), G_CONFLICTS)
        for n, claim in enumerate((a, b), 1):
            side = _iri(f"{BASE}conflict/{kind}--{a['id']}--{b['id']}/side/{n}")
            q(node, _iri(M + "side"), side, G_CONFLICTS)
            q(side, RDF_TYPE, _iri(M + "ConflictSide"), G_CONFLICTS)
            q(side, _iri(M + "position"), _lit(f"source {claim['id'][:3]}"), G_CONFLICTS)
            q(side, _iri(M + "sideClaim"), _iri(claim["iri"]), G_CONFLICTS)
        q(node, _iri(M + "conflictingClaim"), _iri(a["iri"]), G_CONFLICTS)
        q(node, _iri(M + "conflictingClaim"), _iri(b["iri"]), G_CONFLICTS)
        q(_iri(a["iri"]), _iri(M + "conflictsWith"), _iri(b["iri"]), G_CONFLICTS)
        q(_iri(b["iri"]), _iri(M + "conflictsWith"), _iri(a["iri"]), G_CONFLICTS)
        self.conflicts += 1

    def run(self, w: _Writer, progress: Callable[[int], None]) -> None:
        self.write_entities(w)
        progress(w.count)
        recent: list[dict] = []  # claims of earlier sources that a later source may contradict
        number = 0
        while w.count < self.target:
            number += 1
            sid, graph = self.write_source(w, number)
            earlier = list(recent)
            for seq in range(self.claims_per_source):
                if w.count >= self.target:
                    break
                before = w.count
                other = earlier[self.rng.randrange(len(earlier))] if earlier and self.rng.random() < 0.03 else None
                if other is not None and other["kind"] == "effect" and self.rng.random() < 0.5 and not other["negated"]:
                    low, high = other["frequency"]
                    disjoint = (high + 5, high + 5 + self.rng.randrange(1, 20))
                    mine = self.claim(w, sid, graph, seq, kind="effect", subject=other["subject"],
                                      obj=other["object"], negated=False, frequency=disjoint)
                    self.conflict(w, "numeric", other, mine, f"{other['subject']} {other['object']} frequency: "
                                  f"{low:g}-{high:g}% vs {disjoint[0]:g}-{disjoint[1]:g}%")
                elif other is not None and other["kind"] != "dose":
                    mine = self.claim(w, sid, graph, seq, kind=other["kind"], subject=other["subject"],
                                      obj=other["object"], negated=not other["negated"])
                    self.conflict(w, "polarity", other, mine, f"source {sid} contradicts {other['id']}")
                else:
                    mine = self.claim(w, sid, graph, seq)
                if len(recent) < 2000:
                    recent.append(mine)
                else:
                    recent[self.rng.randrange(len(recent))] = mine
                progress(w.count - before)
            w.flush()
        w.flush()


def _open_output(path: Path, tmp: str) -> TextIO:
    if path.suffix == ".gz":
        raw = open(tmp, "wb")
        # mtime=0 and no file name in the header: the same seed gives the same bytes.
        return io.TextIOWrapper(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6),
                                encoding="utf-8", newline="\n")
    return open(tmp, "w", encoding="utf-8", newline="\n")


def write_scale_graph(out: Path, triples: int, *, seed: int = 1, claims_per_source: int = 250,
                      progress: bool = False) -> ScaleResult:
    """Write about ``triples`` quads (within one claim, ~40 quads) of a synthetic mrkg graph to ``out``
    (N-Quads; gzipped when the name ends in .gz), atomically."""
    if triples < 100:
        raise ValueError("a scale graph needs at least 100 triples")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    gen = _Generator(triples, seed, claims_per_source)
    try:
        with _open_output(out, tmp) as handle:
            handle.write(f"# Generated by `mrkg scale --triples {triples} --seed {seed}` -- synthetic data, "
                         "do not edit.\n")
            if progress:
                from tqdm import tqdm

                with tqdm(total=triples, unit="triple", unit_scale=True, desc=out.name) as bar:
                    w = _Writer(handle)
                    gen.run(w, bar.update)
            else:
                w = _Writer(handle)
                gen.run(w, lambda n: None)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return ScaleResult(out, w.count, gen.claims, gen.conflicts, gen.sources,
                       sum(len(v) for v in gen.entities.values()))


SIZES = {"100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}


def parse_size(text: str) -> int:
    """``100k``, ``1M``, ``10M`` or a plain number of triples."""
    lowered = text.strip().lower().replace("_", "")
    if lowered in SIZES:
        return SIZES[lowered]
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if lowered.endswith(suffix):
            return int(float(lowered[:-1]) * factor)
    return int(lowered)


class _Size(click.ParamType):
    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_size(value)
        except ValueError:
            self.fail(f"{value!r} is not a size such as 100k, 1M, 10M or 250000", param, ctx)


@click.command("scale")
@click.option("--triples", type=_Size(), default="100k", show_default=True,
              help="How many triples (quads) to write: 100k, 1M, 10M or a number.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="The N-Quads file to write (gzipped if it ends in .gz).")
@click.option("--facts", "facts_out", type=click.Path(file_okay=False, path_type=Path),
              help="Instead of N-Quads, write a facts tree DIR/facts and DIR/sources: the real facts repeated under "
                   "new ids until their build has about --triples quads, for `mrkg build` and `mrkg validate`.")
@click.option("--from-facts", "facts_dir", default="facts", show_default=True, type=click.Path(path_type=Path),
              help="With --facts: the facts to repeat.")
@click.option("--ontology", "ontology_dir", default="ontology", show_default=True, type=click.Path(path_type=Path))
@click.option("--sources", "sources_dir", default="../shared/sources", show_default=True, envvar="MRKG_SOURCES",
              type=click.Path(path_type=Path), help="With --facts: the source texts of the facts to repeat.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed: the same seed gives the same file.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def scale_command(triples: int, out: Path | None, facts_out: Path | None, facts_dir: Path, ontology_dir: Path,
                  sources_dir: Path, seed: int, quiet: bool) -> None:
    """Write a synthetic graph in mrkg's model (claims, provenance, values, conflicts) for benchmarks, or (--facts)
    a facts tree that builds to a graph of that size."""
    if (out is None) == (facts_out is None):
        raise click.UsageError("give one of --out FILE (N-Quads) or --facts DIR (a facts tree)")
    try:
        if facts_out is not None:
            made = write_scaled_facts(facts_out, triples, facts_dir=facts_dir, sources_dir=sources_dir,
                                      ontology_dir=ontology_dir, progress=not quiet)
            click.echo(f"wrote {made.copies} copies of the facts: {made.sources} sources, {made.claims} claims, "
                       f"{made.entities} entities, about {made.estimated_quads} quads built -> {made.facts_dir} "
                       f"(texts in {made.sources_dir})", err=True)
            return
        result = write_scale_graph(out, triples, seed=seed, progress=not quiet)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {result.quads} quads: {result.claims} claims in {result.sources} sources, "
               f"{result.conflicts} conflicts, {result.entities} entities -> {result.path}", err=True)


# --- scaled facts: the real facts repeated, for the build and the curator's validation at scale ---------------


@dataclass(frozen=True)
class ScaledFacts:
    facts_dir: Path
    sources_dir: Path
    copies: int
    sources: int
    claims: int
    entities: int
    estimated_quads: int


def _copy_id(entity_id: str, k: int) -> str:
    return entity_id if k == 0 else f"{entity_id}-c{k}"


def _scaled_source_yaml(text: str, name: str, source, data, new_id: str, file_name: str, k: int,
                       claim_suffix: str = "") -> str:
    """The source file with its id, text file and every entity it names renamed for copy ``k``, edited line by line
    (so comments, quotes and layout stay as the curators wrote them); ``claim_suffix`` is appended to every claim
    id (when several copies share one source file)."""
    from .model import ENTITY_QUALIFIERS

    lines = text.split("\n")

    def rewrite(line_no: int, key: str, old: str, new: str) -> None:
        line = lines[line_no - 1]
        pattern = re.compile(rf"^(\s*(?:-\s+)?{re.escape(key)}:\s*)([\"']?){re.escape(old)}\2(\s*(?:#.*)?)$")
        match = pattern.match(line)
        if match is None:
            raise ValueError(f"{name}:{line_no}: cannot rename {key} {old!r} in {line.strip()!r} "
                             "(scaled facts need one 'key: value' per line)")
        lines[line_no - 1] = f"{match.group(1)}{match.group(2)}{new}{match.group(2)}{match.group(3)}"

    meta = data["source"]
    rewrite(meta.line_of("id"), "id", source.id, new_id)
    rewrite(meta.line_of("file"), "file", source.file_name, file_name)
    if k:
        for item in data["claims"]:
            for key in ("subject", "object", *ENTITY_QUALIFIERS):
                value = item.get(key)
                if isinstance(value, str) and key in item.key_lines:
                    rewrite(item.line_of(key), key, value.strip(), _copy_id(value.strip(), k))
            if claim_suffix and isinstance(item.get("id"), str) and "id" in item.key_lines:
                rewrite(item.line_of("id"), "id", item["id"].strip(), item["id"].strip() + claim_suffix)
    return "\n".join(lines)


def _claims_section(text: str, name: str) -> str:
    """The ``claims:`` list of a source file (what follows its ``claims:`` line), to append to another copy's."""
    lines = text.split("\n")
    for n, line in enumerate(lines):
        if re.match(r"^claims:\s*(#.*)?$", line):
            return "\n".join(lines[n + 1:])
    raise ValueError(f"{name}: no top-level 'claims:' line (scaled facts need one)")


SOURCE_IDS = 900  # scaled sources are 100..999: source ids are three digits (facts.SOURCE_ID_PATTERN)


def copies_per_file(copies: int, n_sources: int) -> int:
    """How many copies of each real source one scaled source file holds: 1 while every copy's sources have ids of
    their own (up to 900 scaled source ids), more beyond (10M triples), the claims of each copy renamed ``-c<k>``."""
    blocks = SOURCE_IDS // n_sources
    if blocks < 1:
        raise ValueError(f"{n_sources} sources are more than the {SOURCE_IDS} scaled three-digit source ids")
    return max(1, -(-(copies - 1) // blocks))


def write_scaled_facts(out: Path, triples: int, *, facts_dir: Path, sources_dir: Path, ontology_dir: Path,
                       progress: bool = False) -> ScaledFacts:
    """Write ``out/facts`` and ``out/sources``: the real facts and their source texts, then copies of every source
    and entity under new ids (source ``100``..., entity ``baclofen-c1``...), until the build has about ``triples``
    quads. Copy 0 is the real data unchanged; each copy's entities have their own labels and no mappings, so
    conflicts and duplicates stay within a copy, as in a corpus of many distinct sources. Deterministic."""
    import shutil

    import yaml

    from .build import assemble, checked_facts
    from .dumps import graph_counts
    from .facts import load_entity_file, load_source_file
    from .namespaces import GRAPH_AGENTS, GRAPH_MAPPINGS, GRAPH_ONTOLOGY
    from .yamlfile import load_yaml_file

    real = checked_facts(facts_dir, sources_dir, None)
    # The copies carry no curators' conflict decisions (facts/conflicts.yaml is not copied: its ids name the real
    # entities), so every copy, the real one too, holds the detector's proposals: estimate with those.
    real.decisions = None
    dataset, _ = assemble(real, sources_dir, ontology_dir)
    counts = graph_counts(dataset)
    fixed = counts.get(str(GRAPH_ONTOLOGY), 0) + counts.get(str(GRAPH_MAPPINGS), 0) + counts.get(str(GRAPH_AGENTS), 0)
    per_copy = sum(counts.values()) - fixed
    copies = max(1, round((triples - fixed) / per_copy))
    ordered = sorted(real.sources.values(), key=lambda s: s.id)
    per_file = copies_per_file(copies, len(ordered))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".scaled-", dir=out))
    try:
        facts_out, sources_out = work / "facts", work / "sources"
        (facts_out / "entities").mkdir(parents=True)
        (facts_out / "sources").mkdir()
        sources_out.mkdir()
        shutil.copy2(facts_dir / "dataset.yaml", facts_out / "dataset.yaml")
        entity_files = sorted((facts_dir / "entities").glob("*.yaml"))
        source_files = {s.id: facts_dir / "sources" / Path(s.file).name for s in ordered}
        parsed = {sid: load_yaml_file(path, str(path)) for sid, path in source_files.items()}
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=copies, unit="copy", desc=f"{out.name}: facts")
        for k in range(copies):
            for path in entity_files:
                if k == 0:
                    shutil.copy2(path, facts_out / "entities" / path.name)
                    continue
                entities = load_entity_file(path, str(path), [])
                doc = {"type": entities[0].type if entities else "drug", "entities": [
                    {"id": _copy_id(e.id, k), "label": f"{e.label} c{k}",
                     **({"synonyms": [f"{s} c{k}" for s in e.synonyms]} if e.synonyms else {}),
                     **({"note": e.note} if e.note else {}),
                     **({"broader": [_copy_id(b, k) for b in e.broader]} if e.broader else {}),
                     **({"part_of": [_copy_id(b, k) for b in e.part_of]} if e.part_of else {})} for e in entities]}
                (facts_out / "entities" / f"{path.stem}-c{k}.yaml").write_text(
                    f"# Copy {k} of {path.name}, written by `mrkg scale --facts` -- synthetic, do not edit.\n"
                    + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000), encoding="utf-8")
            block, first = (k - 1) // per_file, (k - 1) % per_file == 0
            for i, source in enumerate(ordered):
                new_id = source.id if k == 0 else f"{100 + block * len(ordered) + i:03d}"
                file_name = source.file_name if k == 0 else f"{new_id}_{source.file_name.split('_', 1)[1]}"
                path = source_files[source.id]
                if k == 0:
                    shutil.copy2(sources_dir / source.file_name, sources_out / file_name)
                    shutil.copy2(path, facts_out / "sources" / path.name)
                    continue
                text = _scaled_source_yaml(path.read_text(encoding="utf-8"), str(path), source, parsed[source.id],
                                           new_id, file_name, k, f"-c{k}" if per_file > 1 else "")
                target = facts_out / "sources" / f"{new_id}.yaml"
                if first:
                    shutil.copy2(sources_dir / source.file_name, sources_out / file_name)
                    target.write_text(text, encoding="utf-8")
                else:  # a later copy in the same source file: its claims only, appended
                    with open(target, "a", encoding="utf-8") as handle:
                        handle.write(("" if text.endswith("\n") else "\n") + _claims_section(text, str(path)))
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        # The copies must read back as the real records renamed: a layout the line editor missed fails here.
        for i, source in enumerate(ordered if copies > 1 else []):
            copy = load_source_file(facts_out / "sources" / f"{100 + i:03d}.yaml", "copy", [])
            renamed = [(c.id, c.subject, c.object, sorted(c.entity_qualifiers.items())) for c in copy.claims]
            expected = [(c.id + (f"-c{k}" if per_file > 1 else ""), _copy_id(c.subject, k),
                         c.object and _copy_id(c.object, k),
                         sorted((q, _copy_id(v, k)) for q, v in c.entity_qualifiers.items()))
                        for k in range(1, min(per_file, copies - 1) + 1) for c in source.claims]
            if renamed != expected:
                raise ValueError(f"{source.file}: the scaled copy does not read back as the source renamed")
        for name in ("facts", "sources"):
            if (out / name).exists():
                shutil.rmtree(out / name)
            os.replace(work / name, out / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n_claims = sum(len(s.claims) for s in ordered)
    files = 1 + -(-(copies - 1) // per_file)  # the real sources, then each block of copies
    return ScaledFacts(out / "facts", out / "sources", copies, files * len(ordered), copies * n_claims,
                       copies * len(real.entities), fixed + copies * per_copy)
