"""The `mrkg` command line: a thin click layer over the library; the environment is read only here."""

from __future__ import annotations

import importlib
import sys

import click

from . import __version__

# name -> "module:attribute" of a click.Command; imported only when the command runs,
# so `mrkg --help` stays fast and a broken optional part cannot break the others.
COMMANDS: dict[str, str] = {
    "build": "mrkg.build:build_command",
    "clean": "mrkg.build:clean_command",
    "stats": "mrkg.stats_cli:stats_command",
    "coverage": "mrkg.coverage:coverage_command",
    "validate": "mrkg.curate.cli:validate_command",
    "add": "mrkg.curate.cli:add_command",
    "query": "mrkg.queries:query_command",
    "diff": "mrkg.diff:diff_command",
    "release": "mrkg.releases:release_command",
    "scale": "mrkg.scale:scale_command",
    "bench": "mrkg.bench:bench_command",
    "serve": "mrkg.web.commands:serve_command",
    "assets": "mrkg.web.commands:assets_command",
    "settings": "mrkg.web.commands:settings_command",
    "w3id": "mrkg.web.w3id:w3id_command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mrkg")
def main() -> None:
    """mrkg: the muscle-relaxant knowledge graph.

    Settings can also be given as MRKG_<NAME> environment variables (see `mrkg settings`).
    """


def run() -> None:  # pragma: no cover - thin wrapper for `python -m mrkg`
    sys.exit(main())
