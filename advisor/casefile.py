"""Reading one case from a YAML or JSON file (or stdin), safely: no object-constructing YAML tags."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from .errors import InvalidFacts

CASE_KEYS = ("expect",)  # keys a case file may carry beside the facts


class CaseFileError(ValueError):
    """A case file could not be read or parsed; the message names the file."""


def parse_text(text: str, name: str) -> Any:
    """Parse JSON or YAML text (YAML is a superset, but JSON gives better errors for .json)."""
    if name.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise CaseFileError(f"{name}: not valid JSON: {e}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CaseFileError(f"{name}: not valid YAML or JSON: {' '.join(str(e).split())}") from None


def read_text(path: str) -> tuple[str, str]:
    if path == "-":
        data = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise CaseFileError(f"{path}: no such file") from None
        except IsADirectoryError:
            raise CaseFileError(f"{path}: is a directory, not a case file") from None
        except OSError as e:
            raise CaseFileError(f"{path}: cannot be read: {e.strerror}") from None
        name = path
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError as e:
        raise CaseFileError(f"{name}: not UTF-8 text (byte {e.start})") from None


def load_case(path: str) -> dict[str, Any]:
    """One case (a mapping of facts, optionally with ``expect``) from a YAML/JSON file or '-'."""
    text, name = read_text(path)
    data = parse_text(text, name)
    if not isinstance(data, dict):
        raise CaseFileError(f"{name}: must hold one case (a mapping of fact names to values), got {type(data).__name__}")
    if any(not isinstance(k, str) for k in data):
        raise InvalidFacts([{"field": "(facts)", "message": "fact names must be strings"}])
    return data


def split_case(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate the facts from the case-file keys (``expect``)."""
    facts = {k: v for k, v in data.items() if k not in CASE_KEYS}
    extra = {k: data[k] for k in CASE_KEYS if k in data}
    return facts, extra
