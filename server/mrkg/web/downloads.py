"""The dumps at /download/: a listing with checksums, each file (gzip-encoded when the client accepts it)."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, abort, render_template, request, send_file

from ..engine.formats import Format, negotiate
from .service import service

bp = Blueprint("downloads", __name__)

EXTRA_FILES = {"SHA256SUMS": "text/plain", "manifest.json": "application/json", "void.ttl": "text/turtle"}
LISTING_FORMATS = (Format("html", "text/html", ("application/xhtml+xml",)), Format("json", "application/json"))


def _files() -> dict[str, dict]:
    release = service().release
    if release.folder is None:
        return {}
    files = {name: dict(info) for name, info in release.manifest.get("files", {}).items()}
    for name, media_type in EXTRA_FILES.items():
        path = release.folder / name
        if name not in files and path.is_file():
            files[name] = {"media_type": media_type, "bytes": path.stat().st_size}
    return files


def _releases() -> list[dict]:
    """The releases in releases_dir (releases.list_releases), newest first, as the listing shows them."""
    from ..dataset_version import list_releases

    folder = service().settings.get("releases_dir") or ""
    out = []
    for item in reversed(list_releases(Path(folder))) if folder else []:
        manifest = item["manifest"]
        base = f"/download/releases/{item['version']}/"
        out.append({"version": item["version"], "date": item["date"], "content_sha256": manifest.get("content_sha256"),
                    "dataset_sha256": manifest.get("dataset_sha256"), "notes": base + "RELEASE-NOTES.md",
                    "files": {name: dict(info, url=base + name) for name, info in sorted(manifest["files"].items())},
                    "stats": {k: manifest.get("stats", {}).get(k) for k in ("claims", "entities", "conflicts")}})
    return out


@bp.get("/download/")
def listing() -> Response:
    files = _files()
    releases = _releases()
    picked = negotiate(request.headers.get("Accept"), LISTING_FORMATS)
    if picked and picked[0].key == "json":
        body = {"version": service().release.version, "dataset_sha256": service().release.sha256, "files": files,
                "releases": releases}
        return Response(json.dumps(body, indent=2) + "\n", mimetype="application/json", headers={"Vary": "Accept"})
    return Response(render_template("downloads.html", svc=service(), files=files, releases=releases),
                    mimetype="text/html", headers={"Vary": "Accept"})


@bp.get("/download/releases/<version>/<name>")
def release_file(version: str, name: str) -> Response:
    """A file of release ``version``: one its manifest lists, or its notes, manifest, SHA256SUMS or diff."""
    release = next((r for r in _releases() if r["version"] == version), None)
    extra = {"RELEASE-NOTES.md": "text/markdown", "diff.json": "application/json", **EXTRA_FILES}
    if release is None or (name not in release["files"] and name not in extra):
        abort(404)
    path = Path(service().settings["releases_dir"]) / version / name
    if not path.is_file():
        abort(404)
    media_type = release["files"][name]["media_type"] if name in release["files"] else extra[name]
    return send_file(path.resolve(), mimetype=media_type, conditional=True, max_age=0)


@bp.get("/download/<name>")
def download(name: str) -> Response:
    files = _files()
    info = files.get(name)
    if info is None:
        abort(404)
    folder = service().release.folder
    path = folder / name
    media_type = info.get("media_type", "application/octet-stream")
    if name.endswith(".gz"):
        # The .gz files are the downloads themselves (not a transfer encoding).
        return send_file(path, mimetype="application/gzip", etag=info.get("sha256", False), conditional=True,
                         download_name=name, max_age=0)
    gz = files.get(name + ".gz")
    if gz and "gzip" in request.accept_encodings:
        response = send_file(folder / (name + ".gz"), mimetype=media_type, etag=gz.get("sha256", False) + "-gz"
                             if gz.get("sha256") else False, conditional=True, max_age=0)
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = send_file(path, mimetype=media_type, etag=info.get("sha256", False), conditional=True, max_age=0)
    response.headers["Vary"] = "Accept-Encoding"
    if info.get("sha256"):
        response.headers["MRKG-SHA256"] = info["sha256"]  # of the file itself, whatever the transfer encoding
    return response
