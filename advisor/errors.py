"""Every error the project raises derives from :class:`AdvisorError`, in one small tree::

    AdvisorError
    ├── InvalidFacts (ValueError)            a person's facts were refused, one entry per field
    ├── ValueTextError (ValueError)          advisor.values: a text that writes no value of the kind
    ├── UnknownDrug (KeyError)               a drug name that is none of the knowledge base's drugs
    ├── ScheduleError (ValueError)           a schedule cannot be dated as asked
    ├── KnowledgeBaseError (ValueError)      a knowledge base directory failed validation
    ├── StorageCallbackRefused (RuntimeError)  advisor.core.engine: durable-rules' storage callbacks refused
    ├── FileError                            a file (case, input, output) cannot be read, parsed or written
    │   ├── CaseFileError (ValueError)       a case file cannot be read or parsed; names the file
    │   │   └── SeveralCases                 a file read as one case holds several
    │   ├── NestingError (yaml ComposerError)  advisor.batch.casefile: a value nested too deep
    │   ├── DuplicateKey (ValueError)        advisor.batch.casefile: one key given twice
    │   ├── ReadError (OSError)              advisor.atomic: a file cannot be read
    │   ├── WriteError (OSError)             advisor.atomic: a file cannot be written
    │   └── TooLarge (OSError)               advisor.batch.sources: a gzipped input past its bound
    ├── BatchError                           advisor.batch: a run cannot start or finish
    │   ├── OutputError                      the output cannot be used or written
    │   ├── Interrupted                      a signal stopped the run
    │   └── WorkerFailed                     a worker process died or failed
    └── ServiceError                         advisor.serve: the service cannot start or answer
        ├── Refused                          a call refused: its 4xx status, errors by field, headers
        │   ├── AuthError                    advisor.serve.auth: why a call is refused (safe to show)
        │   └── BadBody (ValueError)         advisor.serve.bodies: a body that is not acceptable JSON
        ├── TrustError (ValueError)          advisor.serve.auth: a --trust option cannot be used
        ├── StoreError (RuntimeError)        advisor.serve.store: the decision log cannot be used
        │   └── LogUnavailable               a write to the log failed while serving
        ├── FetchError                       advisor.serve.fhir_fetch: the FHIR server could not give resources
        ├── PageNotFound                     advisor.web.site: no such page (the 404 page says why)
        └── PageMoved                        advisor.web.site: the page is at another address (a 308)

A second base in brackets is kept for callers that catch the built-in (``except KeyError``). Each error
is defined beside the code that raises it and importable from there; the library's own (this module's,
and ``FileError``, ``ServiceError``) also from ``advisor``. Module-private errors used for control flow
inside one module derive from the subtree of their module too. The command line turns every one into
a one-line message and exit 2 in one place (``advisor.cli.common``); the service turns a :class:`Refused` into
its answer in one place (the exception handlers of ``advisor.serve.responses``), the pages a
``PageNotFound`` or ``PageMoved`` (raised from ``advisor.web.site``, answered by ``advisor.web.pages``).

    >>> from advisor import advise, AdvisorError
    >>> try:
    ...     advise({"ms_type": "cis"})
    ... except AdvisorError as e:
    ...     print(type(e).__name__)
    InvalidFacts

Which call raises which: ``advise()``/``Advisor.advise()`` raise :class:`InvalidFacts`; ``Advisor()`` and
``kb.load()`` raise :class:`KnowledgeBaseError`; ``batch.read_case()`` and ``read_paths()`` raise
:class:`CaseFileError` (``read_case()`` also :class:`SeveralCases`, for a file of several cases,
and :class:`InvalidFacts`); ``Recommendation.drug()`` and ``Advisor.explain()`` raise :class:`UnknownDrug`
(a ``KeyError``); ``schedule.plan()`` raises :class:`ScheduleError`; the batch runner raises
``advisor.batch.BatchError``. Each message is one line (``KnowledgeBaseError``: one per problem).
"""

from __future__ import annotations

from typing import Any

from advisor.text import visible


class AdvisorError(Exception):
    """The base of every error the project raises (bad facts, files, knowledge bases, names; the batch
    runner's and the service's errors)."""


class FileError(AdvisorError):
    """A file (a case file, a batch input, an output) cannot be read, parsed or written."""


class ServiceError(AdvisorError):
    """The service (``advisor.serve``) cannot start, or refuses or cannot answer a call."""


class Refused(ServiceError):
    """The service refuses a call: ``status`` (4xx), ``errors`` (each a dict with ``field`` and
    ``message``, the JSON answer's list) and any ``headers`` to send with it. Raised anywhere a request
    is handled (a handler, a dependency); the app's exception handler answers ``{"errors": [...]}``."""

    headers: dict[str, str] | None = None  # a subclass's own (AuthError: WWW-Authenticate)

    def __init__(self, status: int, errors: list[dict[str, Any]], message: str | None = None):
        super().__init__(message if message is not None else "; ".join(_describe(e) for e in errors))
        self.status, self.errors = status, errors


class InvalidFacts(AdvisorError, ValueError):
    """A person's facts were refused. ``errors`` holds one entry per offending field.

    Each entry is a dict with ``field`` (dotted path, e.g. ``conditions.1``), ``message`` and, where the
    field has a fixed vocabulary, ``allowed`` (the accepted values).
    The message is one line, with any control character of the input shown escaped.
    """

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors
        super().__init__("; ".join(_describe(e) for e in errors) or "invalid facts")

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (batch workers send it to the main process)
        return (type(self), (self.errors,))


def _describe(error: dict[str, Any]) -> str:
    text = f"{visible(error['field']) or repr(error['field'])}: {visible(error['message'])}"
    if error.get("allowed"):
        text += f" (allowed: {visible(', '.join(map(str, error['allowed'])))})"
    return text


class KnowledgeBaseError(AdvisorError, ValueError):
    """A knowledge base directory failed validation. ``problems`` lists (file, item id, message)."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem, control characters shown escaped."""
        return [visible(f"{f}: {i}: {m}" if i else f"{f}: {m}") for f, i, m in self.problems]

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (batch workers send it to the main process)
        return (type(self), (self.problems,))


class CaseFileError(FileError, ValueError):
    """A case file could not be read or parsed; the message names the file."""


class SeveralCases(CaseFileError):
    """A file read as one case holds ``count`` cases (or a list of them): read it as a batch."""

    def __init__(self, message: str, count: int):
        super().__init__(message)
        self.count = count

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.count))


class ScheduleError(AdvisorError, ValueError):
    """A schedule cannot be dated as asked (a date past 9999, a dose the drug has no maximum for)."""


class UnknownDrug(AdvisorError, KeyError):
    """A drug name that is none of the knowledge base's drugs (by id, name or brand, in any case).
    ``name`` is the name given, ``allowed`` the drug ids; the message lists them.

        >>> from advisor import advise
        >>> advise({"ms_type": "ppms", "severity": "mild"}).drug("aspirin")
        Traceback (most recent call last):
        ...
        advisor.errors.UnknownDrug: unknown drug 'aspirin' (allowed: alemtuzumab, natalizumab, mitoxantrone, ocrelizumab)
    """

    def __init__(self, name: str, allowed: tuple[str, ...] | list[str]):
        self.name, self.allowed = name, tuple(allowed)
        super().__init__(name, self.allowed)

    def __str__(self) -> str:  # KeyError would show the repr of its argument
        return f"unknown drug '{visible(self.name)}' (allowed: {', '.join(self.allowed)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.name, self.allowed))
