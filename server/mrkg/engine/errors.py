"""Errors of the query engine layer, each carrying the HTTP status and a one-sentence message."""

from __future__ import annotations


class EngineError(Exception):
    """A query could not be answered; ``status`` is the HTTP status the endpoint sends."""

    status = 500

    def __init__(self, status: int | None = None, message: str = "") -> None:
        if status is not None:
            self.status = status
        self.message = message or self.__class__.__doc__ or "Query failed."
        super().__init__(self.message)


class QueryError(EngineError):
    """The query was refused (bad syntax, update, SERVICE, too long, unacceptable format)."""

    status = 400


class QueryTimeoutError(EngineError):
    """The query ran out of time and was stopped."""

    status = 503


class BusyError(EngineError):
    """Every query worker is busy; try again shortly."""

    status = 503


class ConfigurationError(Exception):
    """Bad configuration, found at start-up; the message is one sentence saying what to do."""
