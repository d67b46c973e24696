"""One query, start to finish, as a worker runs it: guard, negotiate, evaluate, cap rows, serialize."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice

from .base import Backend, DatasetSpec
from .errors import EngineError, QueryError
from .formats import (ALL_FORMAT_NAMES, BOOLEAN_FORMATS, GRAPH_FORMATS, RESULT_FORMATS, choose, content_type,
                      describe_choices)
from .guard import GuardCache, GuardedQuery, Limits
from .results import BOOLEAN_WRITERS, SOLUTION_WRITERS, write_graph


@dataclass
class Job:
    """A query request as the HTTP layer hands it over (plain data: it crosses a process boundary as JSON)."""

    query: str
    base: str | None = None
    accept: str | None = None
    format: str | None = None
    default_graphs: list[str] | None = None  # protocol default-graph-uri (None: not given)
    named_graphs: list[str] | None = None  # protocol named-graph-uri (None: not given)

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class Answer:
    status: int = 200
    content_type: str = "text/plain; charset=utf-8"
    body: bytes = b""
    form: str | None = None
    rows: int | None = None
    truncated: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def error(cls, exc: EngineError) -> "Answer":
        return cls(status=exc.status, body=(exc.message + "\n").encode("utf-8"))


def formats_for(form: str):
    if form == "SELECT":
        return RESULT_FORMATS
    if form == "ASK":
        return BOOLEAN_FORMATS
    return GRAPH_FORMATS


def dataset_for(job: Job, from_graphs: list[str], from_named: list[str]) -> DatasetSpec | None:
    """Protocol graphs win over the query's FROM / FROM NAMED; neither means the union default graph."""
    if job.default_graphs or job.named_graphs:
        return DatasetSpec(tuple(job.default_graphs or ()), tuple(job.named_graphs or ()))
    if from_graphs or from_named:
        return DatasetSpec(tuple(from_graphs), tuple(from_named))
    return None


def _clip(text: str | None, limit: int = 100) -> str | None:
    """What a client sent, cut short for an error message: an answer never echoes a whole header or parameter."""
    return text if text is None or len(text) <= limit else text[:limit] + "…"


class Runner:
    def __init__(self, backend: Backend, *, limits: Limits, prefixes: dict[str, str], max_rows: int) -> None:
        self.backend = backend
        self.prefixes = prefixes
        self.max_rows = max_rows
        self.guard = GuardCache(limits, prefixes)

    def run(self, job: Job, query: GuardedQuery | None = None) -> Answer:
        """The answer to ``job``; ``query``: the guard's verdict on it, when the caller has it already."""
        try:
            return self._run(job, query)
        except EngineError as exc:
            return Answer.error(exc)
        except RecursionError:
            return Answer.error(QueryError(400, "Query too deeply nested to evaluate."))
        except MemoryError:
            return Answer.error(EngineError(503, "Query stopped: it needed more memory than a query may use."))
        except Exception as exc:  # an engine's own evaluation error: short text, never a traceback
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            return Answer.error(EngineError(500, f"Query evaluation failed: {first}"))

    def _run(self, job: Job, query: GuardedQuery | None) -> Answer:
        if job.format and job.format.strip().lower() not in ALL_FORMAT_NAMES:
            raise QueryError(400, f"Unknown format {_clip(job.format)!r}.")
        if query is None:
            query = self.guard.check(job.query, job.base)
        formats = formats_for(query.form)
        picked = choose(job.accept, job.format, formats)
        if picked is None:
            asked = f"format={job.format}" if job.format else f"Accept: {_clip(job.accept)}"
            raise QueryError(406, f"No acceptable format for a {query.form} result ({asked}); "
                                  f"available: {describe_choices(formats)}.")
        fmt, media_type = picked
        outcome = self.backend.evaluate(query, dataset_for(job, query.from_graphs, query.from_named), self.prefixes)
        answer = Answer(content_type=content_type(media_type, fmt), form=query.form)
        if query.form == "ASK":
            answer.body = BOOLEAN_WRITERS[fmt.key](outcome)
            return answer
        if query.form == "SELECT":
            variables, rows = outcome
            items = list(islice(rows, self.max_rows + 1))
        else:
            items = list(islice(outcome, self.max_rows + 1))
        if len(items) > self.max_rows:
            del items[self.max_rows:]
            answer.truncated = True
        answer.rows = len(items)
        if query.form == "SELECT":
            answer.body = SOLUTION_WRITERS[fmt.key](variables, items)
        else:
            answer.body = write_graph(items, fmt.key, self.prefixes)
        return answer

