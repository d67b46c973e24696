"""Docs that cannot drift: the endpoint's README (server/mrkg/web/README-routes.md) names every route and setting,
and its curl lines run against a real `mrkg serve`; `mrkg settings` lists every setting; bad settings fail fast."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

from mrkg import settings as settings_module

DOC = REPO / "server" / "mrkg" / "web" / "README-routes.md"
# The settings this part of the project owns (the endpoint); each must be documented in DOC.
ENDPOINT_SETTINGS = ["build_dir", "store", "host", "port", "http_workers", "http_threads", "workers", "query_timeout",
                     "max_rows", "max_body_bytes", "max_query_chars", "max_offset", "worker_memory_mb",
                     "service_allowlist", "cors", "access_log", "queries_dir"]


def _blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_doc_names_every_endpoint_setting():
    text = DOC.read_text(encoding="utf-8")
    for name in ENDPOINT_SETTINGS:
        assert name in settings_module.BY_NAME, f"{name} is not a setting any more: update ENDPOINT_SETTINGS"
        assert f"`{name}`" in text, f"setting {name} is not documented in {DOC.name}"


def test_doc_names_every_route(endpoint_app):
    text = DOC.read_text(encoding="utf-8")
    for rule in endpoint_app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        route = re.sub(r"<(?:[^:>]+:)?[^>]+>", "", rule.rule).rstrip("/") or "/"
        if rule.endpoint == "pages.page":
            for kind in ("entity", "claim", "source", "conflict", "mapping", "ontology", "activity", "agent"):
                assert f"/{kind}/…" in text, kind
            continue
        assert f"`GET {route}" in text or f"`POST {route}" in text or f"GET {route}" in text, route


def test_settings_command_lists_every_setting():
    done = subprocess.run([sys.executable, "-m", "mrkg", "settings"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    for setting in settings_module.SETTINGS:
        assert f"MRKG_{setting.name.upper()}" in done.stdout


def test_serve_bad_setting_fails_with_one_sentence(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mrkg", "serve", "--port", "1"], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "MRKG_BUILD_DIR": str(tmp_path / "none")})
    assert done.returncode != 0
    assert "make build" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "mrkg", "serve"], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "MRKG_WORKERS": "many"})
    assert done.returncode != 0 and "MRKG_WORKERS" in done.stderr and "Traceback" not in done.stderr


def test_create_app_rejects_bad_config(endpoint_build):
    from mrkg.engine import ConfigurationError
    from mrkg.web import create_app

    with pytest.raises(ConfigurationError, match="query_timeout"):
        create_app({"build_dir": str(endpoint_build), "query_timeout": 0})
    with pytest.raises(ConfigurationError, match="Unknown setting"):
        create_app({"build_dir": str(endpoint_build), "no_such_setting": 1})
    with pytest.raises(ConfigurationError, match="engine"):
        create_app({"build_dir": str(endpoint_build), "store": "nope"})


def test_create_app_serves_an_explicit_store(tmp_path):
    from pyoxigraph import Literal, NamedNode, Quad, Store

    from mrkg.web import create_app

    store = Store()
    store.add(Quad(NamedNode("urn:a"), NamedNode("urn:p"), Literal("x"), NamedNode("urn:g")))
    app = create_app({"build_dir": str(tmp_path / "no-build"), "access_log": False, "workers": 1}, store=store)
    try:
        response = app.test_client().get("/sparql", query_string={"query": "SELECT ?o WHERE { ?s ?p ?o }"},
                                         headers={"Accept": "text/csv"})
        assert response.data == b"o\r\nx\r\n"
        assert response.headers["MRKG-Dataset-Version"] == "unversioned"
    finally:
        app.extensions["mrkg"].pool.close()


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_doc_curl_lines_run(live_server, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (Debian package curl)")
    examples, refusals = _blocks()
    script = "set -euo pipefail\n" + examples.replace("http://127.0.0.1:8000", live_server.url)
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().endswith("304")
    assert "baclofen" in done.stdout and "Test source one" not in done.stderr
    assert (tmp_path / "mrkg.ttl").stat().st_size > 0 and (tmp_path / "SHA256SUMS").is_file()
    done = subprocess.run(["bash", "-c", refusals.replace("http://127.0.0.1:8000", live_server.url)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    codes = [line.strip() for line in done.stdout.splitlines() if line.strip().isdigit()]
    assert codes == ["403", "403", "400"], done.stdout
