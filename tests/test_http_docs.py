"""Docs that cannot drift: the README's endpoint section names every route and setting,
and its curl lines run against a real `mrkg serve`; `mrkg settings` lists every setting; bad settings fail fast."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import REPO, require_tool

from mrkg import settings as settings_module

README = REPO / "README.md"


def _section(title: str) -> str:
    """One `## title` section of the README, up to the next `## ` heading."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]
# Every setting is the endpoint's except these (the build's); each endpoint setting must be documented in the README.
NOT_ENDPOINT_SETTINGS = {"sources"}
ENDPOINT_SETTINGS = [s.name for s in settings_module.SETTINGS if s.name not in NOT_ENDPOINT_SETTINGS]


def _blocks(title: str = "The endpoint") -> list[str]:
    return re.findall(r"```sh\n(.*?)```", _section(title), flags=re.S)


def test_doc_names_every_endpoint_setting():
    text = _section("The endpoint")
    assert {"executor", "cache_bytes", "remote_endpoint", "query_timeout"} <= set(ENDPOINT_SETTINGS)
    for name in ENDPOINT_SETTINGS:
        assert f"`{name}`" in text, f"setting {name} is not documented in the README's endpoint section"


def _documented_routes(text: str) -> list[str]:
    """The paths in the first column of the endpoint section's route table, e.g. `GET /download/<file>`."""
    paths = []
    for line in text.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            paths += re.findall(r"`(?:(?:GET|POST) )?(/[^`?\s]*)[^`]*`", first)
    return paths


def route_pattern(rule: str) -> re.Pattern:
    """A Flask rule as the README writes it: each <variable> as a placeholder (<file>, …)."""
    parts = re.split(r"<[^>]+>", rule)
    return re.compile("(?:<[^>]+>|…)".join(re.escape(part) for part in parts) + "$")


def test_doc_names_every_route(endpoint_app):
    from mrkg.web.pages import KINDS

    documented = _documented_routes(_section("The endpoint"))
    assert len(documented) > 10, documented  # the table is read
    for rule in endpoint_app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        if rule.endpoint == "pages.page":
            for kind in KINDS:
                assert f"/{kind}/…" in documented, kind
            continue
        pattern = route_pattern(rule.rule)
        assert any(pattern.match(path) for path in documented), f"route {rule.rule} is not in the README's table"


def test_doc_route_table_misses_are_seen():
    documented = _documented_routes("| `GET /sparql?query=…` | x |\n| `GET /download/<file>` | y |")
    assert documented == ["/sparql", "/download/<file>"]
    assert not any(route_pattern("/").match(path) for path in documented)
    assert not any(route_pattern("/download/").match(path) for path in documented)
    assert any(route_pattern("/download/<name>").match(path) for path in documented)


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
    app = create_app({"build_dir": str(tmp_path / "no-build"), "access_log": False, "workers": 1, "executor": "pool"}, store=store)
    try:
        response = app.test_client().get("/sparql", query_string={"query": "SELECT ?o WHERE { ?s ?p ?o }"},
                                         headers={"Accept": "text/csv"})
        assert response.data == b"o\r\nx\r\n"
        assert response.headers["MRKG-Dataset-Version"] == "unversioned"
    finally:
        app.extensions["mrkg"].close()


@pytest.mark.parametrize("live_server", ["oxigraph"], indirect=True)
def test_doc_curl_lines_run(live_server, tmp_path):
    require_tool("curl", package="curl")
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


def test_readme_first_curl_query_answers_from_the_real_build(build_dir, tmp_path):
    """The query the README opens with, pasted as it stands, against `mrkg serve` over the real build."""
    require_tool("curl", package="curl")
    from conftest import start_server, stop_server

    (block,) = [b for b in _blocks("Two commands") if "curl" in b]
    server = start_server(build_dir, "oxigraph", tmp_path / "serve.log")
    try:
        done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + block.replace("http://127.0.0.1:8000", server.url)],
                              capture_output=True, text=True, timeout=60)
    finally:
        stop_server(server)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].split(",") == ["source", "polarity", "quote"]
    assert len(lines) >= 3 and all("/ontology/Negated" in line for line in lines[1:]), done.stdout
    assert all("Baclofen is not a benzodiazepine" in line for line in lines[1:])
