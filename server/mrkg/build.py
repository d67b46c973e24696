"""One build: facts + ontology -> checked RDF with conflicts -> every dump, published atomically."""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import click

from .conflicts import add_conflicts, find_conflicts, load_decisions, propose
from .consensus import add_consensus
from .coverage import compute_coverage, untriaged_errors
from .dataset_version import content_sha256, describe_dataset
from .dumps import Ordered, write_dumps
from .facts import Facts, FactsErrors, check_facts, load_facts, read_reference
from .ontodoc import REFERENCE_FILE, example_answers, ontology_graph, render_reference
from .rdf import QuadSet, build_dataset, iter_ox_quads
from .sources import read_sources
from .stats import compute_stats
from .tables import make_tables
from .transaction import Terminated, exclusive, hold_signals, pause_point, recover, stoppable
from .versions import Version, discard, new_version, publish, remove_all


class BuildError(Exception):
    """The build cannot go on; the message says why (one line per problem)."""


@dataclass
class BuildResult:
    facts: Facts
    dataset: QuadSet
    manifest: dict
    out: Path
    report: object = None  # the shapes validation (mrkg.shacl.Report)
    times: dict = None  # seconds per phase: facts, graph, convert, shapes, dumps, publish
    version: Version | None = None  # the version folder written (unpublished and locked from build_version)


def checked_facts(facts_dir: Path, sources_dir: Path, reference: Path | None, ontology_dir: Path | None = None) -> Facts:
    """Load the facts and check them against the sources, the reference table and the cue lexicons of the ontology
    (``ontology_dir``/lexicon.ttl; default the ontology/ beside facts/, else this checkout's), or raise BuildError."""
    if not facts_dir.is_dir():
        raise BuildError(f"{facts_dir}: no facts folder")
    if not sources_dir.is_dir():
        raise BuildError(f"{sources_dir}: no sources folder (give --sources or MRKG_SOURCES)")
    table = None
    if reference is not None:
        if not reference.is_file():
            raise BuildError(f"{reference}: no reference identifiers table (give --reference)")
        table = read_reference(reference)
    facts, errors = facts_with_errors(facts_dir, read_sources(sources_dir), table, ontology_dir)
    if errors:
        raise BuildError(str(FactsErrors(errors)))
    return facts


def facts_with_errors(facts_dir: Path, texts: dict, table: dict | None,
                      ontology_dir: Path | None = None) -> tuple[Facts, list]:
    """Every check the build makes of the facts: structure, references, quotes, cue lexicons and lints, coverage
    triage, curators' conflict decisions (read, and held against the detector's proposals). Errors in file order."""
    from .lexicon import load_lexicon

    facts, errors = load_facts(facts_dir)
    if ontology_dir is None and (facts_dir.parent / "ontology").is_dir():
        ontology_dir = facts_dir.parent / "ontology"
    check_facts(facts, texts, table, errors, load_lexicon(ontology_dir))
    # Coverage: the triage files are checked; a source with one must have every sentence claimed or triaged.
    coverage = compute_coverage(facts, texts, facts_dir, errors=errors)
    errors.extend(untriaged_errors(coverage))
    decisions_path = facts_dir / "conflicts.yaml"
    facts.decisions, decision_errors = load_decisions(decisions_path, _relative(decisions_path, facts_dir.parent))
    errors += decision_errors
    if not errors:
        errors += facts.decisions.check(facts, propose(facts, ontology_dir))
    errors.sort(key=lambda e: (e.file, e.line))
    return facts, errors


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def assemble(facts: Facts, sources_dir: Path, ontology_dir: Path) -> tuple[QuadSet, dict]:
    """The graph of the facts, with the conflicts curators have not dismissed and the consensus view. Decisions
    that no longer match a proposal (or name claims that do not exist) fail the build."""
    texts = read_sources(sources_dir)
    dataset = build_dataset(facts, texts, ontology_dir)
    proposals = propose(facts, ontology_dir)
    if facts.decisions is not None:
        problems = facts.decisions.check(facts, proposals)
        if problems:
            problems.sort(key=lambda e: (e.file, e.line))
            raise BuildError(str(FactsErrors(problems)))
        conflicts = facts.decisions.apply(facts, proposals, ontology_dir)
    else:
        conflicts = proposals
    add_conflicts(dataset, conflicts)
    add_consensus(dataset, facts, conflicts)
    return dataset, compute_stats(facts, conflicts)


class Steps:
    """Reports each phase of a build as it ends (``progress(phase, message, seconds)``) and keeps the seconds per
    phase (facts, graph, convert, shapes, dumps, publish)."""

    def __init__(self, progress: Callable[[str, str, float], None] | None = None) -> None:
        self.progress = progress
        self.times: dict[str, float] = {}
        self._last = time.perf_counter()

    def __call__(self, phase: str, message: str) -> None:
        now = time.perf_counter()
        seconds, self._last = now - self._last, now
        self.times[phase] = self.times.get(phase, 0.0) + seconds
        if self.progress is not None:
            self.progress(phase, message, seconds)


def run_build(facts_dir: Path, ontology_dir: Path, sources_dir: Path, reference: Path | None, out: Path,
              shapes_dir: Path | None = None, progress: Callable[[str, str, float], None] | None = None) -> BuildResult:
    """Build into a fresh folder and only then point ``out`` at it; on any failure ``out`` is untouched.
    ``progress(phase, message, seconds)`` is told of each step as it ends."""
    step = Steps(progress)
    result = build_version(facts_dir, ontology_dir, sources_dir, reference, out, shapes_dir, step=step)
    hold_signals()  # published or not, the command says which: no stop in between
    try:
        publish(result.version, out)
    except BaseException:
        discard(result.version)
        raise
    pause_point("build:published")
    step("publish", f"published {out}")
    result.times = step.times
    return result


def build_version(facts_dir: Path, ontology_dir: Path, sources_dir: Path, reference: Path | None, out: Path,
                  shapes_dir: Path | None = None, progress: Callable[[str, str, float], None] | None = None,
                  step: Steps | None = None, version: Version | None = None) -> BuildResult:
    """Build into a fresh version folder beside ``out`` (or into ``version``, which stays the caller's to discard)
    and return it unpublished, still locked (``result.version``: give it to versions.publish or versions.discard).
    On any failure the fresh folder is removed and ``out`` is untouched."""
    from .conformance import validate_dataset
    from .shacl import format_text

    step = step or Steps(progress)
    facts = checked_facts(facts_dir, sources_dir, reference, ontology_dir)
    step("facts", f"read and checked {len(facts.sources)} sources, {sum(len(s.claims) for s in facts.sources.values())} "
                  f"claims, {len(facts.entities)} entities")
    dataset, stats = assemble(facts, sources_dir, ontology_dir)
    step("graph", f"assembled {len(dataset)} quads, {stats['conflicts']} conflicts")
    # The published graph conforms: any shape Violation fails the build before a dump is written.
    report = validate_dataset(dataset, facts, read_sources(sources_dir), shapes_dir or ontology_dir.parent / "shapes",
                              progress=lambda message: step("shapes", message))
    if not report.conforms:
        raise BuildError(format_text(report, "Violation").rstrip("\n") + " (the graph fails its shapes)")
    step("shapes", report.summary())
    # The validation store is gone; the reference page's examples are counted on a store of their own, filled as the
    # quads are converted, before the pyoxigraph quads of the dumps are made: one of the three at a time.
    answers = example_answers(ontology_graph(dataset), ontology_dir.parent / "queries", iter_ox_quads(dataset.quads()))
    step("convert", "counted the rows of the ontology reference's examples")
    dataset.ox_quads()
    step("convert", "converted the quads for pyoxigraph")
    own = version is None
    version = new_version(out) if own else version
    try:
        flat_stats = {k: v for k, v in stats.items() if isinstance(v, int)}
        ordered = Ordered(dataset)
        step("dumps", "sorted the quads")
        desc = describe_dataset(facts.dataset, content_sha256(ordered))
        tables = make_tables(facts, read_sources(sources_dir), find_conflicts(facts, facts.decisions, ontology_dir),
                             desc.version)
        step("dumps", f"made the tables ({len(tables)} files)")

        def wrote(names: str) -> None:
            step("dumps", f"wrote {names}")
            pause_point(f"build:dumps:{names.split(',')[0]}")

        reference = render_reference(ontology_graph(dataset), desc.version, ontology_dir.parent / "queries",
                                     answers=answers)
        step("dumps", "generated the ontology reference")
        manifest = write_dumps(ordered, version.partial, desc, flat_stats, progress=wrote, tables=tables,
                               extra={REFERENCE_FILE: (reference.encode("utf-8"), "text/html")})
        pause_point("build:written")
    except BaseException:
        if own:
            discard(version)
        raise
    return BuildResult(facts, dataset, manifest, out, report, step.times, version)


def memory_mib() -> tuple[float, float]:
    """This process's resident memory now and at its peak, in MiB (Linux; zeros where /proc is missing)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0.0, 0.0
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)

    def mib(name: str) -> float:
        return int(fields.get(name, "0 kB").split()[0]) / 1024

    return mib("VmRSS"), mib("VmHWM")


@click.command("build")
@click.option("--facts", "facts_dir", default="facts", show_default=True, type=click.Path(path_type=Path),
              help="Folder of the hand-written facts.")
@click.option("--ontology", "ontology_dir", default="ontology", show_default=True, type=click.Path(path_type=Path))
@click.option("--sources", "sources_dir", default="../shared/sources", show_default=True, envvar="MRKG_SOURCES",
              type=click.Path(path_type=Path), help="Folder of the source texts quotes are checked against.")
@click.option("--reference", default="../shared/reference/identifiers.tsv", show_default=True,
              envvar="MRKG_REFERENCE", type=click.Path(path_type=Path),
              help="Reference identifiers table that mappings are checked against.")
@click.option("--out", default="build", show_default=True, envvar="MRKG_BUILD_DIR", type=click.Path(path_type=Path),
              help="Where the dumps go (a symlink swapped atomically to a fresh folder).")
@click.option("--shapes", "shapes_dir", default=None, type=click.Path(path_type=Path),
              help="Folder of the SHACL shapes the graph must conform to [default: shapes/ beside ontology/].")
@click.option("--progress", is_flag=True, help="Print each phase to stderr as it ends, with its time in seconds.")
def build_command(facts_dir: Path, ontology_dir: Path, sources_dir: Path, reference: Path, out: Path,
                  shapes_dir: Path | None, progress: bool) -> None:
    """Build the graph from facts/ and ontology/ and write every dump into build/."""
    start = time.perf_counter()

    def show(phase: str, message: str, seconds: float) -> None:
        rss, peak = memory_mib()
        click.echo(f"[{time.perf_counter() - start:7.1f} s] {phase}: {message} ({seconds:.1f} s, RSS {rss:.0f} MiB, "
                   f"peak {peak:.0f} MiB)", err=True)

    try:
        with stoppable() as stopped, exclusive(out, waiting=lambda: click.echo(
                f"waiting for another mrkg build or add on {out}", err=True)):
            note = recover(out)
            if note:
                click.echo(note, err=True)
            result = run_build(facts_dir, ontology_dir, sources_dir, reference, out, shapes_dir,
                               progress=show if progress else None)
    except BuildError as exc:
        click.echo(str(exc), err=True)
        click.echo("build failed; the previous build/ is unchanged", err=True)
        sys.exit(1)
    except (Terminated, KeyboardInterrupt) as exc:
        click.echo(f"build {'interrupted' if isinstance(exc, KeyboardInterrupt) else exc}; the previous build/ is "
                   "unchanged", err=True)
        sys.exit(128 + getattr(exc, "signum", signal.SIGINT))
    m = result.manifest
    click.echo(f"built mrkg {m['version']}: {sum(m['graphs'].values())} quads in {len(m['graphs'])} graphs, "
               f"{m['stats']['claims']} claims, {m['stats']['conflicts']} conflicts -> {out}/")
    click.echo(f"shapes: {result.report.summary()} (details: mrkg validate)")
    if stopped:
        click.echo(f"stopped by {signal.Signals(stopped[0]).name} after the build was published", err=True)
        sys.exit(128 + stopped[0])


@click.command("clean")
@click.option("--out", default="build", show_default=True, envvar="MRKG_BUILD_DIR", type=click.Path(path_type=Path),
              help="The published build to remove, with its older versions.")
def clean_command(out: Path) -> None:
    """Remove build/ and its versions, except those a running mrkg serve serves (they go with a later build)."""
    with exclusive(out):
        note = recover(out)  # an interrupted mrkg add is finished first: facts/ is then whole
        if note:
            click.echo(note, err=True)
        kept = remove_all(out)
    for path in kept:
        click.echo(f"kept {path}: a running mrkg serve serves it", err=True)
    click.echo(f"removed {out} and its unused versions")
