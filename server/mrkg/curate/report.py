"""Report: facts errors as validation results, results placed where they were written, and the report rendered."""

from __future__ import annotations

from rdflib import Literal

from ..conformance import locate
from ..shacl import FACTS_FORMAT, Report, Result, format_json, format_text, format_turtle
from ..yamlfile import FactsError


def _facts_result(error: FactsError, about: str = "") -> Result:
    """A facts error as a Violation at ``file:line:column``; ``about`` (``claim 001-x``) says once what it is about,
    so the message's own ``claim 'x': `` is dropped."""
    where = error.where
    message = error.message
    kind, _, name = about.partition(" ")
    if about.startswith("the claim at line ") and message.startswith("claim: "):
        message = message[len("claim: "):]
    if kind in ("claim", "entity"):
        local = name.split("-", 1)[1] if kind == "claim" and "-" in name else name
        for prefix in (f"{kind} {local!r}: ", f"{kind} {name}: "):
            if message.startswith(prefix):
                message = message[len(prefix):]
                break
    return Result("Violation", message, Literal(where), FACTS_FORMAT, FACTS_FORMAT, location=where, claim=about)


def _locate(asm, report: Report) -> None:
    locate(report, asm.locations)


def render(report: Report, fmt: str, min_severity: str) -> str:
    if fmt == "json":
        return format_json(report)
    if fmt == "turtle":
        return format_turtle(report)
    return format_text(report, min_severity)

