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
from .cache import package_digest, read_pickle, write_pickle
from .context import Context
from .intake import Change, rdflib_term, read_change
from .report import _facts_result, _locate


def validate_files(ctx: Context, paths: list[Path], changes: list[Change] | None = None) -> Report:
    """Validate files in the context of the existing graph; raises InputError for unusable input. ``changes``: the
    files as ``read_change`` read them already (one read per command)."""
    changes = [read_change(ctx, path) for path in paths] if changes is None else changes
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


def published_versions(ctx: Context, changes: list[Change]) -> list[Path]:
    """The files in facts/ that ``changes`` would replace or extend, as they are now (the published graph's)."""
    found = []
    for change in changes:
        dest = change.destination
        if dest is not None and dest.is_file() and dest.resolve() != change.path.resolve() and dest not in found:
            found.append(dest)
    return found


def _digest_files(digest, paths) -> None:
    for path in paths:
        digest.update(str(path).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())


def context_key(ctx: Context, paths: list[Path]) -> str | None:
    """A key for what validating ``paths`` in ``ctx`` finds: the files, the state of the facts folder (every entity
    and source file, by content), its other files, the source texts, ontology, shapes and reference table, and
    mrkg's code; None without a parse cache."""
    if ctx.cache_dir is None or not ctx.index.state:
        return None
    digest = hashlib.sha256(f"{ctx.index.state} {package_digest()} {ctx.facts_dir.resolve()}\n".encode())
    _digest_files(digest, [p.resolve() for p in paths])
    others = [p for p in ctx.facts_dir.iterdir() if p.name not in ("entities", "sources")]  # those are in the state
    _digest_files(digest, sorted(f for p in others for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()))
    for name in sorted(ctx.texts):
        digest.update(f"{name} {ctx.texts[name].sha256}\n".encode())
    _digest_files(digest, sorted(ctx.ontology_dir.glob("*.ttl")) + sorted(ctx.shapes_dir.glob("*.ttl")))
    if ctx.reference_path is not None and ctx.reference_path.is_file():
        _digest_files(digest, [ctx.reference_path])
    return digest.hexdigest()


def published_version_problems(ctx: Context, before: list[Path]) -> Counter:
    """The problems of the published versions ``before`` of the files a change replaces, as ``_same_problem`` keys:
    what ``validate_files(ctx, before)`` finds, kept in the parse cache under ``context_key`` (an unchanged published
    file in an unchanged context is validated once, not at each command)."""
    key = context_key(ctx, before)
    entry = ctx.cache_dir / f"versions-{key}.pickle" if key is not None else None
    known = read_pickle(entry) if entry is not None else None
    if not isinstance(known, Counter):
        known = Counter(_same_problem(r) for r in validate_files(ctx, before).results)
        if entry is not None:
            write_pickle(ctx.cache_dir, entry, known)
            old = sorted(ctx.cache_dir.glob("versions-*.pickle"), key=lambda p: p.stat().st_mtime)
            for path in old[:-VERSION_ENTRIES_KEPT]:
                path.unlink(missing_ok=True)
    return known


VERSION_ENTRIES_KEPT = 64


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
    key = hashlib.sha256(f"{sha} {shapes.hexdigest()} {package_digest()}".encode()).hexdigest()
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
    changes = [read_change(ctx, path) for path in paths]
    report = validate_files(ctx, paths, changes)
    report.already_published = 0
    if everything:
        return report
    before = published_versions(ctx, changes)
    if before:
        known = published_version_problems(ctx, before)
    else:
        in_place = any(c.destination.resolve() == c.path.resolve() for c in changes if c.kind != "rdf")
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
