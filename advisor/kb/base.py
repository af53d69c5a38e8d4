"""What every item of a knowledge base's schema shares: the base model (unknown keys refused, frozen),
the pattern of an item's id, and a further quote (``also``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

ID = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"


class KBItem(BaseModel):
    """An item of a knowledge base file: unknown keys are refused and a loaded item never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Cited(KBItem):
    """A further quote of a rule, for a further part of its text, standing verbatim under ``section``."""
    quote: str = Field(min_length=1)
    section: str = Field(min_length=1)
    under: str | None = None
