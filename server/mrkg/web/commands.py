"""CLI commands of the endpoint: `mrkg serve` (gunicorn), `mrkg assets` (the UI's npm packages), `mrkg settings`."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import click
from gunicorn.arbiter import Arbiter

from .. import settings as settings_module
from .app import PACKAGE_DIR

REPO_DIR = PACKAGE_DIR.parents[1]
VENDOR_DIR = PACKAGE_DIR / "static" / "vendor"
# npm package folder -> files copied into static/vendor/<name>/ (served by Flask, never committed);
# package.json goes along for its name, version and licence (MIT).
VENDORED = {"yasgui": ("node_modules/@zazuko/yasgui", ("build/yasgui.min.js", "build/yasgui.min.css", "package.json")),
            # The comparison chart (compare.py): Vega, Vega-Lite and vega-embed as browser bundles, and
            # vega-interpreter (an ES module) so that Vega needs no 'unsafe-eval'. All BSD-3-Clause.
            "vega": ("node_modules", ("vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js",
                                      "vega-embed/build/vega-embed.min.js",
                                      "vega-interpreter/build/vega-interpreter.js",
                                      ("vega/package.json", "vega.package.json"),
                                      ("vega-lite/package.json", "vega-lite.package.json"),
                                      ("vega-embed/package.json", "vega-embed.package.json"),
                                      ("vega-interpreter/package.json", "vega-interpreter.package.json"),
                                      ("vega/LICENSE", "vega.LICENSE")))}
# vega-interpreter imports three helpers from the bare module 'vega-util', which a browser cannot resolve without an
# import map (an inline script, which the CSP forbids): the copy imports them from static/mrkg-vega-util.js, which
# takes them from the vega bundle.
REWRITES = {"vega/vega-interpreter.js": ("from 'vega-util';", "from '../../mrkg-vega-util.js';")}


def _vendor_name(file) -> str:
    return file[1] if isinstance(file, tuple) else Path(file).name


def _vendor_source(file) -> str:
    return file[0] if isinstance(file, tuple) else file


def _environment_settings() -> dict:
    try:
        return settings_module.defaults() | settings_module.from_environ()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def gunicorn_options(values: dict) -> dict:
    host = values["host"]
    bind = f"[{host}]:{values['port']}" if ":" in host else f"{host}:{values['port']}"
    return {
        "bind": [bind],
        "workers": values["http_workers"],
        # An event loop per worker reads every request whole before one of `threads` threads runs the app, so no
        # thread waits on a client's bytes (web/front.py; README, Serving).
        "worker_class": "mrkg.web.front.Worker",
        "threads": values["http_threads"],
        "keepalive": values["keepalive_timeout"],
        # gunicorn's own watchdog (a worker whose loop stops beating); query deadlines are ours (engine/watchdog.py,
        # pool.py).
        "timeout": int(values["query_timeout"] * 2 + 30),
        "graceful_timeout": 10,
        "preload_app": True,  # the app (store + query workers) is made once, in the single-threaded master
        "accesslog": None,  # the app writes structured access lines itself
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "mrkg",
    }


def sandbox_hooks() -> dict:
    """The network wall's gunicorn hook: each HTTP worker walls itself off (engine/sandbox.py) right after the fork,
    before it accepts a connection or starts a thread; one that cannot exits with gunicorn's boot-error code, which
    stops the whole server."""
    def post_fork(arbiter, worker) -> None:  # noqa: ARG001
        from ..engine import sandbox

        sandbox.enforce(f"HTTP worker {os.getpid()}", exit_code=arbiter.WORKER_BOOT_ERROR)

    return {"post_fork": post_fork}


def raise_open_files_limit() -> int:
    """Raise this process's soft limit of open files to its hard limit (inherited by the forked workers), so that
    thousands of client connections fit; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):  # e.g. a hard limit above the kernel's nr_open
        return soft
    return target


def gunicorn_hooks(app) -> dict:
    """gunicorn's server hooks for `mrkg serve`, one function each (others may be added beside them)."""
    hooks = {}
    watchdog = app.extensions["mrkg"].watchdog
    if watchdog is not None:  # inline executor (engine/watchdog.py): a worker that exits ends its stuck queries
        hooks["worker_exit"] = lambda arbiter, worker: watchdog.release()
    return hooks


def serve_options(values: dict, app) -> dict:
    """Every gunicorn setting `mrkg serve` runs ``app`` (made by create_app(values)) with, hooks included (the
    server's own and the network wall's): the tests start gunicorn with exactly these."""
    return {**gunicorn_options(values), **gunicorn_hooks(app), **sandbox_hooks()}


@click.command("serve")
@click.option("--host", default=None, help="Address to bind (default: the host setting, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port to listen on (default: the port setting, 8000).")
def serve_command(host: str | None, port: int | None) -> None:
    """Serve the endpoint, query UI, downloads and pages with gunicorn (settings: `mrkg settings`)."""
    from gunicorn.app.base import BaseApplication

    from ..engine import ConfigurationError, sandbox
    from . import create_app

    values = _environment_settings()
    if host:
        values["host"] = host
    if port:
        values["port"] = port
    try:
        walls = sandbox.check()  # no wall here: no server (the workers would refuse to evaluate queries anyway)
        app = create_app(values)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    raise_open_files_limit()

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in serve_options(values, self.callable or app).items():
                self.cfg.set(key, value)

        def load(self):
            return app

        def run(self) -> None:
            try:
                FollowingArbiter(self, values).run()
            except RuntimeError as exc:
                raise click.ClickException(str(exc)) from None

    click.echo(f"mrkg: serving {values['build_dir']} ({_build_name(app)}) with the {values['store']} engine on "
               f"http://{values['host']}:{values['port']}/ (query processes walled off from the network: "
               f"{' + '.join(walls)})", err=True)
    if values["follow_build"] > 0:
        click.echo(f"mrkg: following {values['build_dir']}: a newly published build is served within "
                   f"{values['follow_build']:g} s", err=True)
    Server().run()


def _build_name(app) -> str:
    release = app.extensions["mrkg"].release
    name = release.folder.name if release.folder is not None else "no build folder"
    return f"build {name}, version {release.version}"


class FollowingArbiter(Arbiter):
    """gunicorn's master, which also follows ``build_dir``: every ``follow_build`` seconds it looks where the symlink
    points, and when a build other than the one it serves has been published there (complete: with its manifest), it
    loads it (a new app: store, query workers, held version) and replaces its HTTP workers with ones forked from it
    (gunicorn's reload: new workers first, then the old ones stop gracefully, each finishing its requests). The old
    app is closed, and its version let go, once its last worker has ended. A build that cannot be loaded is reported
    once and the current one stays served."""

    def __init__(self, app, values: dict) -> None:
        super().__init__(app)
        self.values = values
        self.every = float(values["follow_build"])
        self.next_look = time.monotonic() + self.every
        self.refused: Path | None = None
        self.retiring: list[tuple[object, int]] = []  # (old app, worker age from which workers are the new app's)

    def _served(self) -> Path | None:
        release = self.app.callable.extensions["mrkg"].release
        return release.folder.resolve() if release.folder is not None else None

    def murder_workers(self) -> None:  # once per turn of the master's loop (about every second)
        super().murder_workers()
        self._retire()
        if self.every <= 0 or time.monotonic() < self.next_look or self.app.callable is None:
            return
        self.next_look = time.monotonic() + self.every
        link = Path(self.values["build_dir"])
        served = self._served()
        try:
            target = link.resolve(strict=True)
        except OSError:
            return
        if served is None or target == served or target == self.refused or not (target / "manifest.json").is_file():
            return
        self._move(served, target)

    def _move(self, served: Path, target: Path) -> None:
        from . import create_app
        from ..versions import release

        old = self.app.callable
        old_release = old.extensions["mrkg"].release
        replaced = {"build": served.name, "version": old_release.version}
        try:
            new = create_app(self.values, replaced=replaced)
        except Exception as exc:  # noqa: BLE001 - any failure to load keeps the current build served
            self.refused = target
            _say(f"mrkg: cannot move to build {target.name} ({exc}); still serving build {served.name}")
            return
        self.refused = None
        self.app.callable = new
        age = self.worker_age
        _say(f"mrkg: moving from build {served.name} (version {old_release.version}) to build {target.name} "
             f"(version {new.extensions['mrkg'].release.version}): replacing the HTTP workers")
        # Let go of the old build before forking the new workers, or they would inherit the hold (the old workers
        # keep theirs until they end, so no build prunes it while they still answer).
        release(served)
        self.reload()
        self.retiring.append((old, age))
        _say(f"mrkg: now serving build {target.name} (version {new.extensions['mrkg'].release.version}); "
             f"/health says so")

    def _retire(self) -> None:
        """Close the old apps whose workers have all ended (their query workers, a remote engine's forwarder)."""
        oldest = min((w.age for w in self.WORKERS.values()), default=None)
        keep = []
        for old, age in self.retiring:
            if oldest is None or oldest > age:
                old.extensions["mrkg"].close()
            else:
                keep.append((old, age))
        self.retiring = keep


def _say(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


def _stale(targets: list[Path], sources: list[Path]) -> bool:
    if not all(t.is_file() for t in targets):
        return True
    newest = max((s.stat().st_mtime for s in sources if s.is_file()), default=0)
    return any(t.stat().st_mtime < newest for t in targets)


@click.command("assets")
@click.option("--force", is_flag=True, help="Reinstall even when the copied files are up to date.")
def assets_command(force: bool) -> None:
    """Install the query UI's front-end packages (npm ci) and copy them into static/vendor/.

    Without npm, prints a note and exits 0: the UI then is a plain HTML form.
    """
    lock = REPO_DIR / "package-lock.json"
    targets = [VENDOR_DIR / name / _vendor_name(f) for name, (_, files) in VENDORED.items() for f in files]
    if not force and not _stale(targets, [lock, REPO_DIR / "package.json"]):
        click.echo("mrkg assets: up to date")
        return
    npm = shutil.which("npm")
    if npm is None:
        click.echo("mrkg assets: npm not found; the query UI will be the plain HTML form (install Node.js/npm "
                   "and run `make assets` for YASGUI).")
        return
    result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=REPO_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        click.echo("mrkg assets: `npm ci` failed; the query UI will be the plain HTML form.\n  " + "\n  ".join(tail))
        return
    for name, (package, files) in VENDORED.items():
        target = VENDOR_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
        for file in files:
            copied = staging / _vendor_name(file)
            shutil.copy2(REPO_DIR / package / _vendor_source(file), copied)
            rewrite = REWRITES.get(f"{name}/{copied.name}")
            if rewrite is not None:
                text = copied.read_text(encoding="utf-8")
                if rewrite[0] not in text:
                    raise click.ClickException(f"{copied.name}: the import to rewrite ({rewrite[0]}) is not there; "
                                               "check the vega-interpreter version pinned in package.json")
                copied.write_text(text.replace(rewrite[0], rewrite[1]), encoding="utf-8")
            os.utime(copied)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    click.echo(f"mrkg assets: installed {', '.join(VENDORED)} into {VENDOR_DIR.relative_to(REPO_DIR)}")


@click.command("settings")
def settings_command() -> None:
    """List every setting: name, environment variable, default and what it does."""
    for setting in settings_module.SETTINGS:
        env = settings_module.ENV_PREFIX + setting.name.upper()
        click.echo(f"{setting.name}  ({env}, default: {setting.default!r})\n    {setting.help}")
