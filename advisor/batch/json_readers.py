"""JSON, JSON Lines and YAML cases: JSONL handed on as blocks of whole lines (a worker splits and decodes
them), a JSON or YAML document read one case at a time, keys given twice and deep nesting refused."""

from __future__ import annotations
import codecs
import io
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO
from advisor.batch.casefile import CaseFileError, DuplicateKey, json_nesting, nesting_error, parse_yaml_stream, unique_keys
from advisor.errors import InvalidFacts
from advisor.core.models import float_from_text, int_from_text
from advisor.batch.sources import (JsonlBlock, RawCase, ReadOptions, error_case)
from advisor.batch.text import BLOCK_BYTES, decoded, escape_controls, undecodable_at


def read_jsonl(stream: BinaryIO, name: str, options: ReadOptions, path: str | None = None) -> Iterator[RawCase | JsonlBlock]:
    line, carry = 1, bytearray()
    first = True
    offset = 0  # in the file, of the first byte not yet handed on

    def block_of(data: bytes) -> JsonlBlock:
        nonlocal offset
        start, offset = offset, offset + len(data) + 1
        return JsonlBlock(name, line, data, None) if path is None else JsonlBlock(name, line, None, path, start, len(data))

    while True:
        data = stream.read(BLOCK_BYTES)
        if not data:
            break
        if first:
            first = False
            if data.startswith(codecs.BOM_UTF8):
                data, offset = data[len(codecs.BOM_UTF8):], len(codecs.BOM_UTF8)
        cut = data.rfind(b"\n")
        if cut < 0:  # a long line: keep reading, up to the limit
            carry += data
            if len(carry) > options.max_line_bytes:
                yield error_case(f"{name}:{line}", f"line {line} is longer than {options.max_line_bytes:,} bytes; "
                                               f"the rest of {escape_controls(name)} is not read")
                return
            continue
        block = bytes(carry) + data[:cut] if carry else data[:cut]
        carry = bytearray(data[cut + 1:])
        if block.isspace():  # nothing but blank lines (checked in C): no block to hand on
            offset += len(block) + 1
        else:
            yield block_of(block)
        line += block.count(b"\n") + 1
    if carry and not carry.isspace():  # a last line with no newline after it
        yield block_of(bytes(carry))


def _document(stream: BinaryIO, name: str, options: ReadOptions) -> str | RawCase:
    data = stream.read(options.max_document_bytes + 1)
    if len(data) > options.max_document_bytes:
        return error_case(name, f"{escape_controls(name)} is larger than {options.max_document_bytes:,} bytes "
                            "(write large inputs as JSONL or CSV)")
    text = decoded(io.BytesIO(data), options.encoding).read()
    bad = undecodable_at(text)
    if bad is not None:
        return error_case(name, f"{escape_controls(name)}: not valid {options.encoding} text (character {bad + 1})")
    return text


def read_json(stream: BinaryIO, name: str, options: ReadOptions) -> Iterator[RawCase]:
    text = _document(stream, name, options)
    if isinstance(text, RawCase):
        yield text
        return
    # An integer of any length: an over-long one is refused by its field, not the whole file.
    decoder = json.JSONDecoder(parse_int=int_from_text, parse_float=float_from_text, object_pairs_hook=_marking)
    at = _skip_space(text, 0)
    listed = text.startswith("[", at)
    count = 0
    try:
        if not listed:
            yield _json_case(name, decoder.decode(text), False)
            return
        # A list of cases is decoded one case at a time: decoded whole, 15 MiB of `{},` took 1.2 GiB.
        at = _skip_space(text, at + 1)
        if text.startswith("]", at):
            at += 1
        else:
            while True:
                item, at = decoder.raw_decode(text, at)
                count += 1
                yield _json_case(f"{name}:{count}", item, True)
                at = _skip_space(text, at)
                if text.startswith(",", at):
                    at = _skip_space(text, at + 1)
                elif text.startswith("]", at):
                    at += 1
                    break
                else:
                    raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
        if _skip_space(text, at) != len(text):
            raise json.JSONDecodeError("Extra data", text, _skip_space(text, at))
    except json.JSONDecodeError as e:
        yield error_case(f"{name}:{e.lineno}", f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})"
                         + (f"; the rest of {escape_controls(name)} is not read" if count else ""))
    except RecursionError:  # too deep for the decoder: the fact it happens under is named, if any
        key = json_nesting(text)
        yield RawCase(name, "invalid", nesting_error(key).errors) if key else error_case(name, "not valid JSON: nested too deeply")
    except ValueError as e:
        yield error_case(name, f"not valid JSON: {_why(e)}")


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _skip_space(text: str, at: int) -> int:
    """Where the JSON whitespace from ``at`` ends."""
    space = _JSON_SPACE.match(text, at)
    return space.end() if space else at


def _json_case(source: str, item: Any, listed: bool) -> RawCase:
    return RawCase(source, "invalid", item.invalid_facts().errors) if isinstance(item, DuplicateKey) \
        else RawCase(source, "item" if listed else "object", item)


def _marking(pairs: list[tuple[str, Any]]) -> Any:
    """An object with a key given twice becomes the DuplicateKey itself: that case alone is refused."""
    try:
        return unique_keys(pairs)
    except DuplicateKey as e:
        return e


def _why(e: BaseException) -> str:
    if isinstance(e, RecursionError):
        return "nested too deeply"
    return escape_controls(str(e).split(";")[0])


def read_yaml(stream: BinaryIO, name: str, options: ReadOptions) -> Iterator[RawCase]:
    text = _document(stream, name, options)
    if isinstance(text, RawCase):
        yield text
        return
    line = 1
    try:
        for line, item, listed in parse_yaml_stream(text, name, with_lists=True):
            if isinstance(item, CaseFileError):
                yield error_case(f"{name}:{line}", escape_controls(str(item)))
            elif isinstance(item, InvalidFacts):
                yield RawCase(f"{name}:{line}", "invalid", item.errors)
            else:
                yield RawCase(f"{name}:{line}", "item" if listed else "object", item)
    except (ValueError, RecursionError) as e:  # a number too long to read, nesting too deep
        yield error_case(f"{name}:{line}", f"{escape_controls(name)}: not valid YAML: {_why(e)}; the rest is not read")
