"""The decision aid's items of a knowledge base: the compare grid's rows and cells (``compare.toml``)
and the terms the article explains (``terms.toml``), as pydantic models validated at load."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from advisor.kb.base import ID, Cited, KBItem


COMPUTED = ("infusions_first_year", "infusions_later_years", "course_ends")  # what a compare cell may compute


FROM_KB = ("how_it_works", "schedule", "common_side_effects", "serious_side_effects")  # a drug's item; or note.<id>


class CompareCell(KBItem):
    """One drug's cell of a compare row (compare.toml): the article's words (``quote`` + ``section``,
    with ``text`` beside them if given), an item the KB already holds (``from``), a value worked out from
    the drug's schedule (``computed``), or ``silent = true`` (the article does not say). Exactly one."""
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    quote: str | None = Field(None, min_length=1)
    section: str | None = Field(None, min_length=1)
    under: str | None = None
    text: str | None = Field(None, min_length=1)
    allow: tuple[str, ...] = ()
    also: tuple[Cited, ...] = Field((), max_length=4)
    from_: str | None = Field(None, alias="from", pattern=r"^(how_it_works|schedule|common_side_effects|serious_side_effects|note\.[a-z0-9_]+)$")
    computed: Literal["infusions_first_year", "infusions_later_years", "course_ends"] | None = None
    silent: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> "CompareCell":
        kinds = [k for k, on in (("quote", self.quote is not None), ("from", self.from_ is not None),
                                 ("computed", self.computed is not None), ("silent", self.silent)) if on]
        if len(kinds) != 1:
            raise ValueError("a cell is exactly one of: quote (with section), from, computed, silent = true"
                             + (f" (it has {', '.join(kinds)})" if kinds else " (it has none)"))
        if self.quote is not None and self.section is None:
            raise ValueError("a quoted cell needs its section")
        if self.quote is None and (self.section or self.under or self.text or self.also or self.allow):
            raise ValueError("section, under, text, also and allow go with a quote")
        return self

    def citations(self) -> tuple[Cited, ...]:
        """The cell's own quote and its further ones (none for a cell of another kind)."""
        if self.quote is None or self.section is None:
            return ()
        return (Cited(quote=self.quote, section=self.section, under=self.under), *self.also)


class CompareRow(KBItem):
    """A row of the comparison grid: the question people ask (UI words) and each drug's cell."""
    id: str = Field(pattern=ID)
    question: str = Field(min_length=1, max_length=120)
    cells: dict[str, CompareCell]


class Term(KBItem):
    """A word the article explains (terms.toml): the pages mark it up where it is used (``<dfn>`` at its
    first use on a page, titled with the article's own words, the quote; ``<abbr>`` for an abbreviation)."""
    id: str = Field(pattern=ID)
    term: str = Field(min_length=2, max_length=80)  # the words, as the pages use them ("infusion reaction")
    abbreviation: str | None = Field(None, pattern=r"^[A-Z]{2,6}$")  # "PML": stands in the quote
    forms: tuple[str, ...] = Field((), max_length=8)  # other forms used on the pages ("infusion reactions", "WBCs")
    quote: str = Field(min_length=1, max_length=300)  # the article's words that explain it, shown with the term
    section: str = Field(min_length=1)
    under: str | None = None

    @field_validator("forms")
    @classmethod
    def _forms(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if any(len(f) < 2 or len(f) > 80 for f in v):
            raise ValueError("each form is 2 to 80 characters")
        return v

    @model_validator(mode="after")
    def _spelled_out(self) -> "Term":
        if self.abbreviation is not None and self.abbreviation not in self.quote:
            raise ValueError(f"abbreviation '{self.abbreviation}' does not stand in the quote")
        if self.abbreviation is not None and self.term.casefold() not in " ".join(self.quote.split()).casefold():
            raise ValueError(f"the quote does not spell out '{self.abbreviation}' as '{self.term}'")
        return self

    @property
    def words(self) -> tuple[str, ...]:
        """Every way the pages write it: the term, its abbreviation and its other forms."""
        return tuple(w for w in (self.term, self.abbreviation, *self.forms) if w)
