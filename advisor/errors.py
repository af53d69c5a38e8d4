"""The two exceptions a user of the library can get for bad input."""

from __future__ import annotations

from .text import visible


class InvalidFacts(ValueError):
    """A person's facts were refused. ``errors`` holds one entry per offending field.

    Each entry is a dict with ``field`` (dotted path, e.g. ``conditions.1``), ``message`` and, where the
    field has a fixed vocabulary, ``allowed`` (the accepted values).
    The message is one line, with any control character of the input shown escaped.
    """

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("; ".join(_describe(e) for e in errors) or "invalid facts")

    def __reduce__(self) -> tuple:  # pickles (batch workers send it to the main process)
        return (type(self), (self.errors,))


def _describe(error: dict) -> str:
    text = f"{visible(error['field']) or repr(error['field'])}: {visible(error['message'])}"
    if error.get("allowed"):
        text += f" (allowed: {visible(', '.join(map(str, error['allowed'])))})"
    return text


class KnowledgeBaseError(ValueError):
    """A knowledge base directory failed validation. ``problems`` lists (file, item id, message)."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem, control characters shown escaped."""
        return [visible(f"{f}: {i}: {m}" if i else f"{f}: {m}") for f, i, m in self.problems]

    def __reduce__(self) -> tuple:  # pickles (batch workers send it to the main process)
        return (type(self), (self.problems,))
