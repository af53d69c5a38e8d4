"""Reading one case from a YAML or JSON file (or stdin), safely: no object-constructing YAML tags."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import yaml

from .errors import InvalidFacts

CASE_KEYS = ("expect",)  # keys a case file may carry beside the facts


class CaseFileError(ValueError):
    """A case file could not be read or parsed; the message names the file."""


class CaseLoader(yaml.SafeLoader):
    """Safe YAML (no tags that construct objects) that also refuses anchors and aliases: a case file
    has no use for them, and aliases nested in aliases ("billion laughs") blow up whatever reads the
    result."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in case files", event.start_mark)
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, "anchors (&name) are not allowed in case files", event.start_mark)
        return super().compose_node(parent, index)


def _yaml_error(e: yaml.YAMLError) -> str:
    return " ".join(str(e).split())


def parse_yaml_stream(stream: Any, name: str) -> Iterator[tuple[int, Any]]:
    """Stream (line, case) pairs from YAML text: each document is one case or a list of cases. A broken
    document yields (line, CaseFileError) and ends the file (YAML cannot resynchronise after it)."""
    loader = CaseLoader(stream)
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                yield (mark.line + 1 if mark else 0), CaseFileError(f"{name}: not valid YAML: {_yaml_error(e)}")
                return
            try:
                if isinstance(node, yaml.SequenceNode):
                    for item in node.value:
                        yield item.start_mark.line + 1, loader.construct_document(item)
                else:
                    yield node.start_mark.line + 1, loader.construct_document(node)
            except yaml.YAMLError as e:
                yield node.start_mark.line + 1, CaseFileError(f"{name}: not valid YAML: {_yaml_error(e)}")
    finally:
        loader.dispose()


def parse_text(text: str, name: str) -> Any:
    """Parse JSON or YAML text (YAML is a superset, but JSON gives better errors for .json)."""
    if name.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise CaseFileError(f"{name}: not valid JSON: {e}") from None
    try:
        return yaml.load(text, Loader=CaseLoader)  # noqa: S506 - CaseLoader is a SafeLoader
    except yaml.YAMLError as e:
        raise CaseFileError(f"{name}: not valid YAML or JSON: {_yaml_error(e)}") from None


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
