"""`mrkg add`: validate, build aside, then install the file in facts/ and publish its build together (transaction.py)."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

from ..shacl import Report
from ..transaction import FileChange, begin, commit, exclusive, hold_signals, pause_point, recover
from ..versions import current, discard, new_version, served
from . import validation
from .context import Context
from .intake import RDF_FORMATS, InputError, read_change

EXIT_CONFORMS, EXIT_VIOLATIONS, EXIT_UNUSABLE = 0, 1, 2


def add_file(ctx: Context, path: Path, out: Path, *, replace_existing: bool = False,
             everything: bool = False) -> tuple[int, str, Report | None]:
    """``add_files`` of one file."""
    return add_files(ctx, [path], out, replace_existing=replace_existing, everything=everything)


def add_files(ctx: Context, paths: list[Path], out: Path, *, replace_existing: bool = False,
              everything: bool = False) -> tuple[int, str, Report | None]:
    """Validate ``paths`` together (a source file and the entity file declaring its new entities, say); only if
    they conform and the graph builds with them, install them in facts/ and publish that build as ``out``, all at
    once (transaction.py): a kill at any moment leaves facts/ and the build as they were or all changed.

    Returns (exit code, message, report: the problems the change introduces, or all with ``everything``). On any
    failure facts/ and the published build are unchanged.
    """
    for path in paths:
        if path.suffix.lower() in RDF_FORMATS:  # before reading it: a large Turtle file need not be parsed
            raise InputError(f"{ctx.rel(path)}: mrkg add takes YAML facts files (facts/ is YAML); Turtle, TriG and "
                             "N-Triples can be validated with mrkg validate")
    with exclusive(out, waiting=lambda: print(f"waiting for another mrkg build or add on {out}", file=sys.stderr)):
        note = recover(out)
        if note:
            ctx = ctx.reloaded()
        code, message, report = _add_locked(ctx, paths, out, replace_existing, everything)
    return code, f"{note}\n{message}" if note else message, report


def _add_locked(ctx: Context, paths: list[Path], out: Path, replace_existing: bool,
                everything: bool) -> tuple[int, str, Report | None]:
    from ..build import BuildError, build_version

    changes = [read_change(ctx, path) for path in paths]
    names = " and ".join(c.name for c in changes)
    seen: dict[Path, str] = {}
    for change in changes:
        dest = change.destination
        if dest in seen:
            raise InputError(f"{change.name} and {seen[dest]} would both be {ctx.rel(dest)}: give one of them")
        seen[dest] = change.name
        if dest.exists() and not replace_existing and dest.resolve() != change.path.resolve():
            raise InputError(f"{ctx.rel(dest)} exists: give --replace to replace it with {change.name}")
    report = validation.validate_change(ctx, paths, everything)
    if not report.conforms:
        return EXIT_VIOLATIONS, f"{names} {'does' if len(changes) == 1 else 'do'} not conform; nothing was changed", \
            report
    pause_point("add:validated")
    data = {change.destination: change.path.read_bytes() for change in changes}
    facts_before = _facts_state(ctx.facts_dir)
    version = new_version(out)
    previous = current(out)
    try:
        # The new facts/ beside the old one, inside the version folder (so a killed add leaves nothing elsewhere).
        private_facts = version.partial / ".facts" / ctx.facts_dir.name
        shutil.copytree(ctx.facts_dir, private_facts, symlinks=True)
        for dest, raw in data.items():
            (private_facts / dest.relative_to(ctx.facts_dir)).write_bytes(raw)
        try:
            build_version(private_facts, ctx.ontology_dir, ctx.sources_dir, ctx.reference_path, out,
                          shapes_dir=ctx.shapes_dir, version=version)
        except BuildError as exc:
            discard(version)
            return EXIT_VIOLATIONS, f"the graph with {names} does not build; nothing was changed:\n{exc}", report
        shutil.rmtree(version.partial / ".facts")
        pause_point("add:built")
        if _facts_state(ctx.facts_dir) != facts_before:
            raise InputError(f"{ctx.rel(ctx.facts_dir)} changed while mrkg add ran; nothing was changed: run it again")
        journal = [FileChange.of(dest, raw, version.name) for dest, raw in data.items()]
    except BaseException:
        discard(version)
        raise
    hold_signals()  # from the journal on, the change is made: a stop signal waits for the command's end
    begin(out, journal)
    pause_point("add:journal")
    commit(out, journal, version)
    pause_point("add:done")
    added = ", ".join(f"{c.name} as {ctx.rel(c.destination)}" for c in changes)
    return EXIT_CONFORMS, f"added {added} and published its build as {out}/ ({version.name})\n" + \
        servers_note(out, previous), report


def servers_note(out: Path, previous: Path | None) -> str:
    """What becomes of a running `mrkg serve`, in one sentence."""
    held = served(out)
    follow = "it moves to the new build by itself within seconds (its log and /health say so), unless it was " \
             "started with MRKG_FOLLOW_BUILD=0: then restart it"
    if previous is not None and previous.name in held:
        return f"a running mrkg serve serves the previous build ({previous.name}): {follow}"
    if held:
        return f"a running mrkg serve serves an older build ({', '.join(held)}): {follow}"
    return "no mrkg serve is running on it; `mrkg serve` (or `make serve`) serves it"


def _facts_state(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()

