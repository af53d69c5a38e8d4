"""Reading request bodies safely: size is capped by the app's guard; here, UTF-8, JSON and nesting."""

from __future__ import annotations

import json
from typing import Any

from advisor.batch.casefile import DuplicateKey, unique_keys
from advisor.errors import Refused
from advisor.core.models import float_from_text, int_from_text
from advisor.text import visible

MAX_BODY = 1024 * 1024   # bytes; larger bodies get 413 (see app.Guard)
MAX_DEPTH = 64           # levels of arrays and objects; FHIR bundles need about a dozen


class BadBody(Refused, ValueError):
    """The body is not acceptable JSON: a 400; ``errors`` is its list."""

    def __init__(self, message: str, field: str = "(body)"):
        super().__init__(400, [{"field": field, "message": message}], message)


JSON_TYPE = "application/json"


def media_type_problem(content_type: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    """Why a body's Content-Type is not one of ``allowed`` in UTF-8 (None: it is). Checked before the
    body is read: a web page can make a browser post text/plain anywhere without asking, never
    application/json, so this also keeps other sites' pages out."""
    media, *params = [p.strip() for p in (content_type or "").split(";")]
    charsets = [v.strip().strip('"').lower() for k, _, v in (p.partition("=") for p in params) if k.strip().lower() == "charset"]
    if media.lower() not in allowed:
        got = f"got '{visible(media[:100])}'" if media else "none was given"
        return f"must be {' or '.join(allowed)} ({what}, UTF-8); {got}"
    wrong = [c for c in charsets if c not in ("utf-8", "utf8")]
    if wrong:  # the one that is not utf-8 (charset=utf-8;charset=latin1 names latin1)
        return f"the charset must be utf-8, got '{visible(wrong[0][:40])}'"
    return None


def json_type_problem(content_type: str | None) -> str | None:
    return media_type_problem(content_type, (JSON_TYPE,), "a JSON text")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def depth(value: Any, limit: int) -> int:
    """Nesting depth of parsed JSON, counted without recursion; stops once past ``limit``."""
    if not isinstance(value, (dict, list)):
        return 0
    deepest, stack = 1, [(value, 1)]
    while stack:
        node, d = stack.pop()
        if d > deepest:
            deepest = d
            if deepest > limit:
                return deepest
        for child in (node.values() if isinstance(node, dict) else node):
            if isinstance(child, (dict, list)):
                stack.append((child, d + 1))
    return deepest


def parse_json(body: bytes, limit: int = MAX_DEPTH) -> Any:
    """Decode a JSON body: strict UTF-8, no NaN or Infinity, at most ``limit`` levels deep; a number no
    float holds exactly is a Decimal (see models.float_from_text), which a number field refuses by name."""
    try:
        text = body.decode("utf-8").removeprefix("\ufeff")  # a byte-order mark, as case files may have
    except UnicodeDecodeError as e:
        raise BadBody(f"the body is not UTF-8 text (byte {e.start + 1})") from None
    try:
        value = json.loads(text, parse_constant=_no_constants, parse_int=int_from_text, parse_float=float_from_text,
                           object_pairs_hook=unique_keys)
    except DuplicateKey as e:
        raise BadBody(f"the key {e} in one object (which value is meant cannot be known)") from None
    except RecursionError:
        raise BadBody(f"the body nests arrays or objects deeper than {limit} levels") from None
    except ValueError as e:
        msg = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
        where = f" (line {e.lineno}, column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        raise BadBody(f"the body is not valid JSON: {msg}{where}") from None
    if (text.count("[") + text.count("{") > limit) and depth(value, limit) > limit:  # fewer brackets: not deeper
        raise BadBody(f"the body nests arrays or objects deeper than {limit} levels")
    return value

