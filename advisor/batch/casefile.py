"""Case files, safely: YAML with no object-constructing tags and JSON numbers, JSON of any nesting and
number length, keys given twice refused, and the file read with a size limit. The readers of every
format (``advisor.batch.readers``) build on these; ``advisor.batch.case.read_case`` reads one case for ``--case``."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import yaml

from advisor.errors import CaseFileError as CaseFileError, FileError, InvalidFacts
from advisor.text import visible
from advisor.values import INT_TEXT, NUMBER_TEXT, float_from_text, int_from_text

CASE_KEYS = ("expect",)  # keys a case file may carry beside the facts
MAX_DEPTH = 20  # a case nests 3 levels (case, expect, status); a file of cases one more
MAX_VALUES = 10_000  # values (keys, items, scalars) of one YAML case: a real one has under a hundred



class NestingError(FileError, yaml.composer.ComposerError):
    """A value nested deeper than MAX_DEPTH; ``field`` is the path of keys leading to it."""

    def __init__(self, field: str, mark: Any):
        super().__init__(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        self.field = field


_TAG = "tag:yaml.org,2002:"


def _safe_base() -> type:
    """The base of CaseLoader: libyaml's parser (C, shipped in PyYAML's wheels) under PyYAML's own
    composer (so that anchors, aliases and nesting are checked node by node, as below), or, if PyYAML
    was built without libyaml, yaml.SafeLoader (all Python: some hundred times slower on a long
    document, e.g. 8 MiB of blank lines takes seconds)."""
    try:
        from yaml._yaml import CParser as parser
    except ImportError:  # pragma: no cover - PyYAML's wheels ship libyaml
        return yaml.SafeLoader

    class CSafeComposingLoader(yaml.composer.Composer, parser, yaml.constructor.SafeConstructor,
                               yaml.resolver.Resolver):
        def __init__(self, stream: Any):
            name = getattr(stream, "name", "<file>") if hasattr(stream, "read") else "<unicode string>"
            text = stream.read() if hasattr(stream, "read") else stream
            # libyaml reads UTF-8: a lone surrogate becomes bytes that it refuses as not UTF-8
            self.data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
            source = io.BytesIO(self.data)
            source.name = name  # what marks name, as PyYAML's own reader does
            parser.__init__(self, source)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    return CSafeComposingLoader


if TYPE_CHECKING:  # typed as the SafeLoader it stands for
    _SafeBase = yaml.SafeLoader
else:
    _SafeBase = _safe_base()


class CaseLoader(_SafeBase):
    """Safe YAML for case files (no tag constructs an object) that reads plain scalars as JSON would.

    * Numbers: only JSON's decimal grammar, ASCII digits (``2``, ``-1``, ``12.5``, ``1e-5``). YAML 1.1's
      octal ``012``, hex ``0x2``, ``1_0``, sexagesimal ``2:20``, ``.inf``/``.nan`` stay text, so a
      number field refuses them instead of reading 10, 2, 10, 140 or infinity.
    * Booleans: only ``true``/``false`` (also ``True``/``TRUE``/``False``/``FALSE``, as YAML 1.2); ``yes``,
      ``no``, ``on``, ``off``, ``y``, ``n`` stay text. Null: ``null``, ``~`` or nothing.
    * No timestamps, binary, sets, ordered maps or merge keys (``<<``): dates stay text.
    * No anchors or aliases: a case file has no use for them, and aliases nested in aliases
      ("billion laughs") blow up whatever reads the result.
    * Nesting deeper than MAX_DEPTH is refused, naming the key it is under.
    """

    yaml_implicit_resolvers: dict[str, Any] = {}
    yaml_constructors = {tag: constructor for tag, constructor in yaml.SafeLoader.yaml_constructors.items()
                         if tag in (None, *(_TAG + t for t in ("null", "bool", "int", "float", "str", "seq", "map")))}

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._path: list[str | None] = []  # the key each open node is under (None: a list item, the top)
        self.values = 0  # nodes composed for the case being read

    def case_nodes(self) -> Iterator[tuple[Any, bool]]:
        """Each case's node and whether it is an item of a list: a document, or each item of a document
        that is a list, composed one at a time (a list of a million cases is never held whole: composed
        whole, its nodes took some 400 bytes per item, 13 GiB for 64 MiB of ``-`` lines)."""
        while self.check_node():
            self.get_event()  # the document's start
            start = self.peek_event()
            if isinstance(start, yaml.SequenceStartEvent) and start.anchor is None:
                self.get_event()
                self._path.append(None)
                index = 0
                while not self.check_event(yaml.SequenceEndEvent):
                    self.values = 0
                    yield self.compose_node(None, index), True
                    index += 1
                self._path.pop()
                self.get_event()  # the list's end
            else:
                self.values = 0
                yield self.compose_node(None, None), False
            self.get_event()  # the document's end
            self.anchors = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        key = index.value if isinstance(index, yaml.ScalarNode) and isinstance(parent, yaml.MappingNode) else None
        self._path.append(key)
        try:
            event = self.peek_event()
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in case files", event.start_mark)
            if getattr(event, "anchor", None) is not None:
                raise yaml.composer.ComposerError(None, None, "anchors (&name) are not allowed in case files", event.start_mark)
            if len(self._path) > MAX_DEPTH:
                raise NestingError(self._field(), event.start_mark)
            self.values += 1
            if self.values > MAX_VALUES:
                raise yaml.composer.ComposerError(None, None, f"a case holds more than {MAX_VALUES:,} values", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._path.pop()

    # libyaml reads ahead through [[[[… (each may open a key) and stops at 1,000 levels, before this
    # composer sees a 21st: that is refused as nesting too, naming the fact.
    def check_event(self, *choices: Any) -> bool:
        return bool(self._nesting(super().check_event, *choices))

    def peek_event(self) -> Any:
        return self._nesting(super().peek_event)

    def get_event(self) -> Any:
        return self._nesting(super().get_event)

    def _nesting(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except yaml.MarkedYAMLError as e:
            if e.problem == "exceeded maximum nesting depth":
                raise NestingError(self._field(), e.problem_mark) from None
            raise

    def _field(self) -> str:
        """The outermost key of the node being composed ("" if none): the fact a too-deep value is under."""
        return next((k for k in self._path if k is not None), "")

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str):
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"'{visible(key)}' {DuplicateKey.WHY}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_bool(self, node: Any) -> bool:
        value = self.construct_scalar(node)
        if value.lower() not in ("true", "false"):
            raise yaml.constructor.ConstructorError(None, None, f"'{visible(value)}' is not a boolean (true or false)", node.start_mark)
        return value.lower() == "true"

    def construct_yaml_int(self, node: Any) -> int:
        value = self.construct_scalar(node)
        if not INT_TEXT.fullmatch(value):
            raise yaml.constructor.ConstructorError(None, None, f"'{visible(value)}' is not a decimal integer", node.start_mark)
        return int_from_text(value)

    def construct_yaml_float(self, node: Any) -> Any:
        value = self.construct_scalar(node)
        if not NUMBER_TEXT.fullmatch(value):
            raise yaml.constructor.ConstructorError(None, None, f"'{visible(value)}' is not a decimal number", node.start_mark)
        return float_from_text(value)


CaseLoader.add_constructor(_TAG + "bool", CaseLoader.construct_yaml_bool)
CaseLoader.add_constructor(_TAG + "int", CaseLoader.construct_yaml_int)
CaseLoader.add_constructor(_TAG + "float", CaseLoader.construct_yaml_float)
CaseLoader.add_implicit_resolver(_TAG + "bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
# numbers: the one grammar (advisor.values), as a YAML resolver matches them
CaseLoader.add_implicit_resolver(_TAG + "int", re.compile(f"^{INT_TEXT.pattern}$", re.ASCII), list("-0123456789"))
CaseLoader.add_implicit_resolver(_TAG + "float", re.compile(f"^{NUMBER_TEXT.pattern}$", re.ASCII), list("-0123456789"))
CaseLoader.add_implicit_resolver(_TAG + "null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])


# --- JSON: numbers of any length, nesting bounded before the (recursive) decoder runs -------------

_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?|[\[\]{}]')


def json_nesting(text: str, limit: int = MAX_DEPTH) -> str | None:
    """If JSON ``text`` nests deeper than ``limit``, the outermost key it happens under (the fact's name;
    "" if none); else None. Linear and iterative: safe on 100,000 open brackets."""
    if text.count("[") + text.count("{") <= limit:
        return None
    keys: list[str | None] = []  # per open container: the key it is under
    last_key: str | None = None
    for m in _JSON_TOKEN.finditer(text):
        token = m.group()
        if token[0] == '"':
            if m.group(1):
                try:
                    last_key = json.loads(token[:token.rindex('"') + 1])
                except ValueError:
                    last_key = "?"
        elif token in "[{":
            keys.append(last_key)
            last_key = None
            if len(keys) > limit:
                return next((k for k in keys if k is not None), "")
        else:
            if keys:
                keys.pop()
            last_key = None
    return None


class DuplicateKey(FileError, ValueError):
    """A JSON object or YAML mapping names one key twice: which value was meant cannot be known."""

    WHY = "is given twice (which value is meant cannot be known)"

    def __init__(self, key: str):
        self.key = key
        super().__init__(f"'{visible(key)}' is given twice")

    def invalid_facts(self) -> InvalidFacts:
        """The same refusal as any other bad fact, naming the key."""
        return InvalidFacts([{"field": self.key, "message": self.WHY}])


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' object_pairs_hook: a dict, or DuplicateKey when a key is given twice (json keeps
    the last value silently, and the advisor never guesses which one was meant)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return out


def load_json(text: str, name: str) -> Any:
    """JSON text as Python values: integers of any length (an over-long one as an OversizedInt, refused
    by every field), a number no float holds exactly as a Decimal (refused by every field, see
    models.float_from_text), nesting beyond MAX_DEPTH refused as InvalidFacts naming the key it is under."""
    path = json_nesting(text)
    if path is not None:
        raise nesting_error(path)
    try:
        return json.loads(text, parse_int=int_from_text, parse_float=float_from_text, object_pairs_hook=unique_keys)
    except DuplicateKey as e:
        raise e.invalid_facts() from None
    except json.JSONDecodeError as e:
        raise CaseFileError(f"{name}: not valid JSON: {e}") from None
    except RecursionError:  # pragma: no cover - json_nesting stops this first
        raise CaseFileError(f"{name}: not valid JSON: nested too deeply") from None


def _yaml_error(e: yaml.YAMLError, line: int = 0) -> str:
    if isinstance(e, yaml.reader.ReaderError) and line:  # said by line, not by offset in the text
        what = f"#x{e.character:04x}" if isinstance(e.character, int) else repr(e.character)
        return f"character {what} on line {line}: {e.reason}"
    return " ".join(str(e).split())


def _error_line(loader: Any, e: yaml.YAMLError) -> int:
    """The line (from 1) an error of ``loader`` is on; 0 if not known."""
    mark = getattr(e, "problem_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    data = getattr(loader, "data", None)  # libyaml's reader errors give a byte offset only
    if isinstance(e, yaml.reader.ReaderError) and isinstance(data, bytes) and 0 <= e.position <= len(data):
        return data.count(b"\n", 0, e.position) + data.count(b"\r", 0, e.position) - data.count(b"\r\n", 0, e.position) + 1
    return 0


def nesting_error(field: str | None) -> InvalidFacts:
    """A value nested deeper than MAX_DEPTH, refused naming the fact it is under."""
    return InvalidFacts([{"field": field or "(facts)", "message": f"is nested deeper than {MAX_DEPTH} levels"}])


def parse_yaml_stream(stream: Any, name: str, with_lists: bool = False) -> Iterator[tuple[Any, ...]]:
    """Stream (line, case) pairs from YAML text (a str, or a stream of it: a str is not copied into
    one): each document is one case or a list of cases. A broken
    document yields (line, CaseFileError) and ends the file (YAML cannot resynchronise after it); one
    nested too deeply yields (line, InvalidFacts) naming the fact, and ends it too. ``with_lists``:
    (line, case, listed) triples, ``listed`` telling an item of a list from a document of its own."""
    def out(line: int, item: Any, listed: bool = False) -> tuple[Any, ...]:
        return (line, item, listed) if with_lists else (line, item)

    try:
        loader = CaseLoader(stream)
    except yaml.YAMLError as e:  # pragma: no cover - PyYAML's own reader checks its first characters at once
        yield out(0, CaseFileError(f"{name}: not valid YAML: {_yaml_error(e)}"))
        return
    cases = loader.case_nodes()
    try:
        while True:
            try:
                got = next(cases, None)
                if got is None:
                    return
                node, listed = got
            except NestingError as e:  # refused as any too-deep value is, naming the fact
                yield out(e.problem_mark.line + 1 if e.problem_mark else 0, nesting_error(e.field))
                return
            except yaml.YAMLError as e:
                line = _error_line(loader, e)
                yield out(line, CaseFileError(f"{name}: not valid YAML: {_yaml_error(e, line)}"))
                return
            try:
                yield out(node.start_mark.line + 1, loader.construct_document(node), listed)
            except yaml.YAMLError as e:
                yield out(node.start_mark.line + 1, CaseFileError(f"{name}: not valid YAML: {_yaml_error(e)}"), listed)
    finally:
        loader.dispose()


def parse_text(text: str, name: str) -> Any:
    """Parse JSON or YAML text (YAML is a superset, but JSON gives better errors for .json)."""
    if name.endswith(".json"):
        return load_json(text, name)
    try:
        return yaml.load(text, Loader=CaseLoader)  # noqa: S506 - CaseLoader is a SafeLoader
    except NestingError as e:
        raise nesting_error(e.field) from None
    except yaml.YAMLError as e:
        raise CaseFileError(f"{name}: not valid YAML or JSON: {_yaml_error(e)}") from None
    except RecursionError:  # pragma: no cover - the composer's depth limit stops this first
        raise CaseFileError(f"{name}: not valid YAML: nested too deeply") from None


MAX_CASE_FILE_BYTES = 8 * 2**20  # one person's facts: a few hundred bytes; anything near this is not a case file


def read_bytes(path: str) -> tuple[bytes, str]:
    """The bytes of a case file or '-' (stdin) and the name to show, read with a size limit: never a
    device, never waiting on a FIFO with no writer (see :func:`advisor.atomic.read_limited`). Reading
    them as a case is :func:`advisor.batch.read_case`'s (the readers of every format)."""
    from advisor.atomic import ReadError, read_limited

    if path == "-":
        data = sys.stdin.buffer.read(MAX_CASE_FILE_BYTES + 1)
        name = "<stdin>"
    else:
        try:
            data = read_limited(path, MAX_CASE_FILE_BYTES)
        except ReadError as e:
            raise CaseFileError(f"{visible(path)}: {e}") from None
        name = path
    if len(data) > MAX_CASE_FILE_BYTES:
        raise CaseFileError(f"{visible(name)}: is larger than {MAX_CASE_FILE_BYTES // 2**20} MiB; a case file holds one person's facts")
    return data, name


def split_case(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate the facts from the case-file keys (``expect``)."""
    facts = {k: v for k, v in data.items() if k not in CASE_KEYS}
    extra = {k: data[k] for k in CASE_KEYS if k in data}
    return facts, extra
