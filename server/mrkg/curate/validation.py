"""Validation: a change in the context of the existing graph (``validate_files``), or all the facts as the build
checks them (``validate_all``)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

from ..conformance import validate_dataset

from ..shacl import Report, Result, Shapes, validate_graph, validate_intake
from ..rdf import QuadSet
from .assembly import assemble_changes
from .cache import code_digest, read_pickle, write_pickle
from .context import Context
from .intake import rdflib_term, read_change
from .report import _facts_result, _locate


def validate_files(ctx: Context, paths: list[Path]) -> Report:
    """Validate files in the context of the existing graph; raises InputError for unusable input."""
    changes = [read_change(ctx, path) for path in paths]
    asm = assemble_changes(ctx, changes)
    report = asm.report
    rdf = [c for c in changes if c.kind == "rdf"]
    if rdf:
        intake = Shapes.load(ctx.shapes_dir, intake=True)
        for change in rdf:
            typed = Graph()
            for s, p, o in change.graph:
                typed.add((s, p, o))
            for s in set(change.graph.subjects()):
                for t in asm.data.objects(s, RDF.type):
                    typed.add((s, RDF.type, t))
            report.extend(validate_intake(intake, typed).results)
    if report.conforms or not rdf:
        # Curator RDF that would change the ontology or shapes is refused before it meets the graph.
        report.extend(r for r in validate_graph(ctx.shapes, asm.data, asm.focus).results
                      if r.focus not in asm.orphan_candidates or str(r.name).endswith("/OrphanEntityShape"))
    _locate(asm, report)
    return report


def validate_all(ctx: Context) -> Report:
    """Every facts file, checked as the build checks them, then the whole graph against the shapes."""
    from ..build import assemble, facts_with_errors

    facts, errors = facts_with_errors(ctx.facts_dir, ctx.texts, ctx.reference, ctx.ontology_dir)
    if errors:
        report = Report()
        report.extend(_facts_result(error) for error in errors)
        return report
    dataset, _ = assemble(facts, ctx.sources_dir, ctx.ontology_dir)
    return validate_dataset(dataset, facts, ctx.texts, ctx.shapes_dir)


# --- what a change introduces -------------------------------------------------------------------------------


def _same_problem(result: Result) -> tuple:
    """A result as it would read about the published version of the same file: without its place (lines move)."""
    value = None if isinstance(result.focus, Literal) else str(result.value)
    focus = None if isinstance(result.focus, Literal) else str(result.focus)
    return (result.severity, result.claim, result.message, str(result.name if result.name is not None else
                                                                  result.shape), str(result.path), focus, value)


def published_versions(ctx: Context, paths: list[Path]) -> list[Path]:
    """The files in facts/ that ``paths`` would replace or extend, as they are now (the published graph's)."""
    found = []
    for path in paths:
        change = read_change(ctx, path)
        dest = change.destination
        if dest is not None and dest.is_file() and dest.resolve() != path.resolve() and dest not in found:
            found.append(dest)
    return found


def published_problems(ctx: Context, out: Path | None) -> Counter | None:
    """The problems of the published build ``out`` (its whole graph against the shapes), as ``_same_problem`` keys;
    None without a build. Kept in the cache per dataset checksum and shapes."""
    manifest = out / "manifest.json" if out is not None else None
    if manifest is None or not manifest.is_file() or not (out / "mrkg.nq").is_file():
        return None
    try:
        sha = json.loads(manifest.read_text(encoding="utf-8"))["dataset_sha256"]
    except (OSError, ValueError, KeyError):
        return None
    shapes = hashlib.sha256()
    for path in sorted(ctx.shapes_dir.glob("*.ttl")):
        shapes.update(path.name.encode() + b"\0" + path.read_bytes())
    key = hashlib.sha256(f"{sha} {shapes.hexdigest()} {code_digest()}".encode()).hexdigest()
    entry = ctx.cache_dir / f"published-{key}.pickle" if ctx.cache_dir is not None else None
    known = read_pickle(entry) if entry is not None else None
    if known is None:
        dataset = QuadSet()
        for quad in ox.parse(path=str(out / "mrkg.nq"), format=ox.RdfFormat.N_QUADS):
            graph = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else "urn:x-default"
            dataset.graph(URIRef(graph)).add((rdflib_term(quad.subject, "mrkg.nq"), URIRef(quad.predicate.value),
                                              rdflib_term(quad.object, "mrkg.nq")))
        report = validate_dataset(dataset, ctx.facts, ctx.texts, ctx.shapes_dir)
        known = Counter(_same_problem(r) for r in report.results)
        if entry is not None:
            write_pickle(ctx.cache_dir, entry, known)
    return known


def validate_change(ctx: Context, paths: list[Path], everything: bool = False, out: Path | None = None) -> Report:
    """``validate_files``, showing only the problems the change introduces (``everything``: all of them).

    The published version of each file the change replaces is validated the same way (or, for a file that is its
    own published version, edited in place, the published build ``out`` is); a problem it has too (same severity,
    node, message and shape; its line may have moved) is left out of the report, which counts it in
    ``report.already_published``. A violation is never left out."""
    report = validate_files(ctx, paths)
    report.already_published = 0
    if everything:
        return report
    before = published_versions(ctx, paths)
    if before:
        known = Counter(_same_problem(r) for r in validate_files(ctx, before).results)
    else:
        in_place = any(read_change(ctx, p).destination.resolve() == p.resolve() for p in paths
                       if p.suffix.lower() == ".yaml")
        known = published_problems(ctx, out) if in_place else None
    if not known:
        return report
    return _without(report, known)


def validate_everything(ctx: Context, everything: bool = False, out: Path | None = None) -> Report:
    """``validate_all``, showing only the problems the published build ``out`` does not have (``everything``:
    all of them): on unchanged facts, none."""
    report = validate_all(ctx)
    report.already_published = 0
    known = None if everything else published_problems(ctx, out)
    return _without(report, known) if known else report


def _without(report: Report, known: Counter) -> Report:
    known = Counter(known)
    report.already_published = 0
    kept = []
    for result in report.sorted():
        key = _same_problem(result)
        if known[key] > 0 and result.severity != "Violation":  # the published graph has none: never hide one
            known[key] -= 1
            report.already_published += 1
        else:
            kept.append(result)
    report.results = kept
    return report
