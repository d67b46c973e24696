"""`mrkg stats`: the coverage figures of the facts (stats.py computes them; this module reads the facts through the
build's checks, so that stats.py, which the build uses, never imports the build)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .build import BuildError, checked_facts
from .conflicts import find_conflicts
from .stats import compute_stats, format_stats


@click.command("stats")
@click.option("--facts", "facts_dir", default="facts", show_default=True, type=click.Path(path_type=Path))
@click.option("--sources", "sources_dir", default="../shared/sources", show_default=True, envvar="MRKG_SOURCES",
              type=click.Path(path_type=Path), help="Folder of the source texts.")
@click.option("--reference", default="../shared/reference/identifiers.tsv", show_default=True,
              envvar="MRKG_REFERENCE", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def stats_command(facts_dir: Path, sources_dir: Path, reference: Path, as_json: bool) -> None:
    """Print claims per source and kind, negated, hedged, conflicts, entities and mappings."""
    try:
        facts = checked_facts(facts_dir, sources_dir, reference)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from None
    from .coverage import compute_coverage, coverage_summary, format_summary
    from .sources import read_sources

    stats = compute_stats(facts, find_conflicts(facts, facts.decisions))
    summary = coverage_summary(compute_coverage(facts, read_sources(sources_dir), facts_dir))
    if as_json:
        click.echo(json.dumps({**stats, "coverage": summary}, indent=2))
        return
    click.echo(format_stats(stats))
    click.echo("")
    click.echo("sentences per source (mrkg coverage):")
    click.echo("\n".join(format_summary(summary)))
