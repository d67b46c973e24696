"""Benchmark of `mrkg validate`: one facts file against the real graph and against a synthetic graph 100x larger.

Run from the project root:  .venv/bin/python benchmarks/validate_bench.py [--scale 100] [--repeat 3]

Machines are noisy, so every figure is also given as a ratio to a baseline measured in the same run (validating
facts/sources/001.yaml against the real graph). Nothing here is asserted; tests never time anything.

The synthetic graph repeats the real sources and entities ``scale`` times under new source ids and entity ids
(``baclofen-c7``...), so it has ``scale`` times the claims, entities and conflicts, not one giant conflict group.
"""

from __future__ import annotations

import argparse
import copy
import gc
import hashlib
import os
import pickle
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from rdflib import Graph

from mrkg.build import assemble, checked_facts
from mrkg.curate import Context, load_facts_cached, validate_files, validation_graph
from mrkg.facts import Facts
from mrkg.shacl import Report, Shapes, oxigraph_store, run_core_checks, run_core_queries, validate_graph
from mrkg.sources import read_sources

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, repeat: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def scaled_facts(facts: Facts, texts: dict, scale: int) -> tuple[Facts, dict]:
    """``scale`` copies of every source (ids 000-999) and entity; copy 0 is the real data, unchanged."""
    entities, sources, all_texts = dict(facts.entities), {}, dict(texts)
    ordered = sorted(facts.sources.values(), key=lambda s: s.id)
    for k in range(scale):
        rename = (lambda e: e) if k == 0 else (lambda e, k=k: f"{e}-c{k}")
        if k:
            for entity in facts.entities.values():
                # each copy in files of its own: the real drugs.yaml then replaces only the real drugs
                entities[rename(entity.id)] = replace(entity, id=rename(entity.id), label=f"{entity.label} c{k}",
                                                      file=entity.file.replace(".yaml", f"-c{k}.yaml"),
                                                      synonyms=[f"{s} c{k}" for s in entity.synonyms], mappings=[])
        for i, source in enumerate(ordered):
            new_id = source.id if k == 0 else f"{100 + (k - 1) * len(ordered) + i:03d}"
            if int(new_id) > 999:
                raise SystemExit(f"--scale {scale} needs more than 1000 source ids")
            file_name = source.file_name if k == 0 else f"{new_id}_{source.file_name.split('_', 1)[1]}"
            all_texts[file_name] = replace(texts[source.file_name], file_name=file_name)
            claims = []
            for claim in source.claims:
                c = copy.copy(claim)
                c.source_id, c.subject = new_id, rename(claim.subject)
                c.object = rename(claim.object) if claim.object else None
                c.entity_qualifiers = {q: rename(v) for q, v in claim.entity_qualifiers.items()}
                claims.append(c)
            sources[new_id] = replace(source, id=new_id, file_name=file_name, claims=claims)
    return Facts(facts.dataset, entities, sources), all_texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sources", type=Path, default=Path(os.environ.get("MRKG_SOURCES", ROOT.parent / "shared" / "sources")))
    parser.add_argument("--reference", type=Path, default=ROOT.parent / "shared" / "reference" / "identifiers.tsv")
    args = parser.parse_args()
    facts_dir, ontology, shapes_dir = ROOT / "facts", ROOT / "ontology", ROOT / "shapes"
    source_file, entity_file = facts_dir / "sources" / "001.yaml", facts_dir / "entities" / "drugs.yaml"
    cache = Path(os.environ.get("TMPDIR", "/tmp")) / f"mrkg-bench-cache-{os.getpid()}"
    rows: list[tuple[str, float, str]] = []

    def record(name: str, seconds: float, note: str = "") -> None:
        rows.append((name, seconds, note))
        print(f"{name:58s} {seconds:8.3f} s  {note}", flush=True)

    ctx = Context.load(facts_dir, ontology, args.sources, shapes_dir, args.reference, cache)
    ctx.shapes, ctx.ontology  # parsed once per process, like one `mrkg validate` run
    n_claims = sum(len(s.claims) for s in ctx.facts.sources.values())
    baseline, report = timed(lambda: validate_files(ctx, [source_file]), args.repeat)
    record(f"baseline: validate 001.yaml in context (1x, {n_claims} claims)", baseline, report.summary())
    t, report = timed(lambda: validate_files(ctx, [entity_file]), args.repeat)
    record("validate drugs.yaml in context (1x)", t, report.summary())
    t, _ = timed(lambda: load_facts_cached(facts_dir, cache), args.repeat)
    record("load the existing facts from the cache (1x; sources read when asked for)", t)
    t, _ = timed(lambda: load_facts_cached(facts_dir, None), 1)
    record("load the existing facts without the cache (1x)", t)

    # The whole real graph: the fast validator against pyshacl on the same core constraints.
    facts = checked_facts(facts_dir, args.sources, args.reference)
    dataset, _ = assemble(facts, args.sources, ontology)
    whole = validation_graph(dataset, facts, read_sources(args.sources))
    shapes = Shapes.load(shapes_dir)
    t_fast, report = timed(lambda: validate_graph(shapes, whole), args.repeat)
    record(f"whole graph, every shape, fast validator (1x, {len(whole)} triples)", t_fast, report.summary())
    t_core_fast, _ = timed(lambda: run_core_queries(shapes, oxigraph_store(whole), None, whole), args.repeat)
    record("whole graph, core constraints, fast validator (1x)", t_core_fast)
    t_core_ref, _ = timed(lambda: run_core_checks(shapes, whole), 1)
    record("whole graph, core constraints, pyshacl (1x)", t_core_ref, f"{t_core_ref / t_core_fast:.1f}x the fast one")

    # scale x: the same file against a graph `scale` times larger, the context held in memory as one run holds it.
    big_facts, big_texts = scaled_facts(ctx.facts, ctx.texts, args.scale)
    big = replace(ctx, facts=big_facts, texts=big_texts, index=None)  # None: indexed again for the larger facts
    big.__dict__.update({"shapes": ctx.shapes, "ontology": ctx.ontology})
    big_claims = sum(len(s.claims) for s in big_facts.sources.values())
    t, report = timed(lambda: validate_files(big, [source_file]), args.repeat)
    record(f"validate 001.yaml in context ({args.scale}x, {big_claims} claims)", t,
           f"{t / baseline:.2f}x baseline; {report.summary()}")
    t, report = timed(lambda: validate_files(big, [entity_file]), args.repeat)
    record(f"validate drugs.yaml in context ({args.scale}x)", t, f"{t / baseline:.2f}x baseline")
    # An upper bound on loading that context: a SHA-256 of each file and every source unpickled (the command reads the
    # sources its context needs only; benchmarks/scale_bench.py measures the command on such a graph on disk).
    pickles = [pickle.dumps(s, protocol=pickle.HIGHEST_PROTOCOL) for s in big_facts.sources.values()]
    raw = [source_file.read_bytes()] * len(pickles)
    t, _ = timed(lambda: ([hashlib.sha256(r).hexdigest() for r in raw], [pickle.loads(p) for p in pickles]),
                 args.repeat)
    record(f"every source from the cache ({args.scale}x, upper bound)", t, f"{t / baseline:.2f}x baseline")
    print(f"\nbaseline {baseline:.3f} s; ratios are to it. Reproduce: .venv/bin/python benchmarks/validate_bench.py "
          f"--scale {args.scale} --repeat {args.repeat}")


if __name__ == "__main__":
    sys.exit(main())
