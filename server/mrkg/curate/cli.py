"""The curator's commands: `mrkg validate` and `mrkg add` (a thin click layer over the package)."""

from __future__ import annotations

import gc
import signal
import sys
from pathlib import Path

import click

from ..transaction import Terminated, stoppable
from .add import EXIT_CONFORMS, EXIT_UNUSABLE, EXIT_VIOLATIONS, add_files
from .cache import default_cache_dir
from .context import Context
from .intake import InputError
from .report import render
from .validation import validate_change, validate_everything


def _load_context(facts_dir, ontology_dir, sources_dir, shapes_dir, reference, cache) -> Context:
    """The context of one command. Its records live as long as the command: they are moved out of the collector's
    sight (gc.freeze), which would otherwise walk all of them again in each of the collections that follow (half a
    second at 10M triples, in a command of two)."""
    ctx = Context.load(facts_dir, ontology_dir, sources_dir, shapes_dir, reference,
                       default_cache_dir() if cache else None)
    gc.freeze()
    return ctx


def _common(f):
    options = [
        click.option("--facts", "facts_dir", default="facts", show_default=True, type=click.Path(path_type=Path),
                     help="Folder of the existing facts (the context new files are validated in)."),
        click.option("--ontology", "ontology_dir", default="ontology", show_default=True,
                     type=click.Path(path_type=Path), help="Folder of the ontology."),
        click.option("--shapes", "shapes_dir", default="shapes", show_default=True, type=click.Path(path_type=Path),
                     help="Folder of the SHACL shapes."),
        click.option("--sources", "sources_dir", default="../shared/sources", show_default=True,
                     envvar="MRKG_SOURCES", type=click.Path(path_type=Path),
                     help="Folder of the source texts quotes are checked against."),
        click.option("--reference", default="../shared/reference/identifiers.tsv", show_default=True,
                     envvar="MRKG_REFERENCE", type=click.Path(path_type=Path),
                     help="Reference identifiers table that mappings are checked against."),
        click.option("--cache/--no-cache", default=True, show_default=True,
                     help="Remember the parsed existing facts per file content (in $XDG_CACHE_HOME/mrkg)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _shown(f):
    """The options choosing what the report shows (the same for validate and add)."""
    options = [
        click.option("--format", "fmt", type=click.Choice(["text", "json", "turtle"]), default="text",
                     show_default=True, help="text: one line per result, in file and line order; json; turtle: the "
                                             "standard sh:ValidationReport."),
        click.option("--min-severity", type=click.Choice(["Violation", "Warning", "Info"], case_sensitive=False),
                     default="Info", show_default=True, help="Least severe results the text report shows."),
        click.option("--all", "everything", is_flag=True,
                     help="Show every problem, also those the published version of the file has already (by "
                          "default only the problems the change introduces are shown)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _echo_report(report, fmt: str, min_severity: str) -> None:
    click.echo(render(report, fmt, min_severity.capitalize()), nl=False)
    hidden = getattr(report, "already_published", 0)
    if hidden and fmt == "text":
        click.echo(f"({hidden} warning(s) and info the published graph has already are not shown: --all shows them)")


@click.command("validate")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@_common
@click.option("--out", default="build", show_default=True, envvar="MRKG_BUILD_DIR", type=click.Path(path_type=Path),
              help="The published build, whose problems are not shown again (see --all).")
@_shown
def validate_command(files, facts_dir, ontology_dir, shapes_dir, sources_dir, reference, cache, out, fmt,
                     min_severity, everything) -> None:
    """Validate FILES (YAML facts, Turtle, TriG, N-Triples) together, in the context of the graph: by default only
    the problems they introduce compared with the published version of the files they replace (--all: every
    problem). No FILES: all the facts, showing what the published build does not have already.

    A source file and an entity file declaring the new entities it names are validated as one change. Changes
    nothing. Exit 0 conforms, 1 violations, 2 unusable input.
    """
    try:
        ctx = _load_context(facts_dir, ontology_dir, sources_dir, shapes_dir, reference, cache)
        report = validate_change(ctx, list(files), everything, out) if files else \
            validate_everything(ctx, everything, out)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNUSABLE)
    _echo_report(report, fmt, min_severity)
    sys.exit(EXIT_CONFORMS if report.conforms else EXIT_VIOLATIONS)


@click.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_common
@click.option("--out", default="build", show_default=True, envvar="MRKG_BUILD_DIR", type=click.Path(path_type=Path),
              help="The published build, rebuilt after the files are added.")
@click.option("--replace", "replace_existing", is_flag=True, help="Replace existing facts files of the same name.")
@_shown
def add_command(files, facts_dir, ontology_dir, shapes_dir, sources_dir, reference, cache, out, replace_existing,
                fmt, min_severity, everything) -> None:
    """Validate FILES as one change and, only if they conform and the graph builds with them, put them in facts/
    and publish the new build (a running mrkg serve moves to it by itself).

    On any failure facts/ and the published build are unchanged. Exit 0 added, 1 refused, 2 unusable input.
    """
    try:
        with stoppable() as stopped:
            ctx = _load_context(facts_dir, ontology_dir, sources_dir, shapes_dir, reference, cache)
            code, message, report = add_files(ctx, list(files), out, replace_existing=replace_existing,
                                              everything=everything)
        if stopped:
            code, message = 128 + stopped[0], f"{message}; then stopped by {signal.Signals(stopped[0]).name}"
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_UNUSABLE)
    except (Terminated, KeyboardInterrupt) as exc:
        click.echo(f"mrkg add {'interrupted' if isinstance(exc, KeyboardInterrupt) else exc}; nothing was changed",
                   err=True)
        sys.exit(128 + getattr(exc, "signum", signal.SIGINT))
    if report is not None and (report.results or fmt != "text" or getattr(report, "already_published", 0)):
        _echo_report(report, fmt, min_severity)
    click.echo(message, err=code != EXIT_CONFORMS)
    sys.exit(code)
