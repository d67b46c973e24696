"""The mrkg web app: the SPARQL endpoint, query UI, downloads and linked-data pages (see create_app)."""

from .app import create_app

__all__ = ["create_app"]
