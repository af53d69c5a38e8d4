"""The only module that touches durable-rules: compiles KB rules into rulesets and evaluates facts.

durable-rules' sharp edges, and how this wrapper owns them:

* Facts, not events: a posted event is consumed by the first rule that matches, so the other rules
  would never see it. Every case is asserted as a *fact*, which every rule sees.
* Sessions: a ruleset keeps at most about 1,024 live sessions (``sid``) and then raises MemoryError.
  Each evaluation gets its own fresh sid and its state is deleted in a ``finally`` block.
* A fact that matches no rule raises MessageNotHandledException, and worse: durable has already
  created the session, and deleting that session's state then crashes the process (SIGSEGV in
  durable-rules 2.0.28), while not deleting it leaks one of the ~1,024 sessions. So every compiled
  ruleset gets one catch-all rule that matches every fact this wrapper asserts (by a marker field it
  adds), and the exception can no longer happen; it is still caught, and then the session is left
  alone rather than crash.
* The C engine is not safe to drive from several threads, and durable's Host starts timer threads
  that dispatch in the background. This wrapper starts none and serialises every call with one lock.
* Logging: durable logs an exception raised inside a rule action (a Ctrl-C landing there, say) with
  a traceback through its "durable" logger, then re-raises it. The wrapper lets the exception
  propagate to its caller and keeps durable's logger quiet, so a user never sees that traceback.
* Control keys: durable reads ``sid`` and ``id`` from a fact and treats ``$``-prefixed keys as
  operators; a fact handed in here may carry none of them (the wrapper adds the sid itself).
* Python versions (see :func:`_load_durable`): durable-rules 2.0.28, its last release, calls
  ``PyEval_CallObject``, which CPython 3.13 removed, so its extension cannot be imported there as it
  is. It calls that function only from its five storage callbacks (``set_*_callback``), which this
  wrapper never sets. On 3.13+ the extension is loaded with lazy symbol binding (the missing symbol is
  then never resolved, because it is never called) and every ``set_*_callback`` is replaced by a guard
  that refuses. On 3.12+ durable's engine calls the deprecated ``datetime.utcfromtimestamp`` for every
  rule action; the wrapper gives durable an equivalent clock without that call, and ignores any other
  DeprecationWarning raised from durable's own modules (ours still show).
* Breadth: durable walks the alpha network with a fixed stack of 64 entries. When more than about 63
  rules (or ``$or`` branches) of one ruleset match the same fact it fails with error 303 or crashes
  the process (SIGSEGV). The wrapper splits a KB's rules into rulesets of at most
  RULES_PER_RULESET rules (each with its own catch-all), asserts the fact into each and merges what
  fired; an ``in`` test's values are de-duplicated, so at most one of its branches matches.
* Numbers: durable's JSON reader takes a number for an integer unless a '.' comes before any
  exponent, so ``1e-05`` or ``1e+16`` (Python's float repr, which durable's json.dumps produces)
  breaks the message and then the session ("Could not delete state, error code: 309"). The wrapper
  hands durable no float at all: every number, in a rule and in a fact alike, becomes the 64-bit
  integer of its IEEE-754 bits in sign-magnitude order (:func:`ordered_int`). That map is strictly
  increasing over the finite floats, so every ==, !=, <, <=, >, >= durable makes between two such
  integers (as C longs) has the truth value Python's comparison of the numbers has, from 5e-324 to
  1.8e308; no decimal text is parsed, so the process locale cannot change a result either.
"""

from __future__ import annotations

import datetime
import importlib
import itertools
import logging
import math
import os
import struct
import sys
import threading
import warnings
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, NoReturn

from advisor.errors import AdvisorError
from advisor.kb.schema import CautionRule, NoteItem, Rule, Test

LAZY_BINDING = sys.version_info >= (3, 13)  # durable's extension references a symbol 3.13 removed
_EPOCH = datetime.datetime(1970, 1, 1)  # what durable computes as datetime.utcfromtimestamp(0)


class StorageCallbackRefused(AdvisorError, RuntimeError):
    """durable-rules' storage callbacks are never used by this wrapper; setting one is refused."""


def _refuse(name: str) -> Callable[..., NoReturn]:
    def guard(*args: Any, **kwargs: Any) -> NoReturn:
        raise StorageCallbackRefused(
            f"durable-rules' {name} is disabled by advisor.core.engine: its C side calls PyEval_CallObject, "
            "which Python 3.13 removed, and this wrapper keeps no durable state outside the process")
    guard.__name__ = name
    return guard


def _unix_now() -> float:
    """durable's own clock (local wall time as seconds since 1970-01-01), the same value it computes,
    without the ``datetime.utcfromtimestamp`` call that warns on Python 3.12+."""
    return (datetime.datetime.now() - _EPOCH).total_seconds()


def _load_durable() -> ModuleType:
    """Import durable-rules' C extension and Python engine on every supported CPython (3.11-3.13)."""
    if LAZY_BINDING and "durable_rules_engine" not in sys.modules:
        flags = sys.getdlopenflags()
        sys.setdlopenflags((flags & ~os.RTLD_NOW) | os.RTLD_LAZY)
        try:
            import durable_rules_engine  # noqa: F401 - loaded here, with lazy binding, for durable.engine
        except ImportError as e:
            hint = (" LD_BIND_NOW is set in the environment, which forces every symbol to be bound at load "
                    "time; unset it to run ms-advisor on Python 3.13+." if os.environ.get("LD_BIND_NOW") else "")
            raise ImportError(f"durable-rules' engine could not be loaded: {e}.{hint}") from e
        finally:
            sys.setdlopenflags(flags)
    import durable_rules_engine as native

    for name in dir(native):  # the only path to the removed symbol: never let a callback be set
        if name.startswith("set_") and name.endswith("_callback"):
            setattr(native, name, _refuse(name))
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"durable(\.|$)")
    engine = importlib.import_module("durable.engine")
    setattr(engine, "_unix_now", _unix_now)  # durable's clock (ModuleType declares no attribute to assign)
    return engine


_durable = _load_durable()

_durable_log = logging.getLogger("durable")
_durable_log.addHandler(logging.NullHandler())
_durable_log.propagate = False  # every error it logs is re-raised to our caller anyway

_LOCK = threading.Lock()  # one lock for the whole C engine: its rulesets share global state
_NAMES = itertools.count()
MARKER = "advisor_case"  # added to every asserted fact; the catch-all rule matches it
CATCH_ALL = "$catch_all"
CONTROL_KEYS = frozenset({"sid", "id", MARKER})
RULES_PER_RULESET = 32  # far below durable's 64-entry stack (see the module's note on breadth)


_Host: Any = _durable.Host  # durable-rules has no types: its Host is Any to mypy


class _QuietHost(_Host):  # type: ignore[misc]  # subclassing that untyped Host (see _Host)
    """A durable Host without the background timer threads (no timers or async actions are used)."""

    def _run(self) -> None:  # noqa: D401 - overrides durable's thread start-up
        pass


_DOUBLE = struct.Struct("<d")
_INT64 = struct.Struct("<q")
_MAGNITUDE = (1 << 63) - 1


def ordered_int(number: int | float) -> int:
    """A number as the integer durable compares for it: the float's IEEE-754 bits read as a signed
    64-bit integer, negatives mirrored (sign-magnitude to two's-complement order), so that
    ``a < b`` exactly when ``ordered_int(a) < ordered_int(b)``; 0.0 and -0.0 both give 0.

    Only numbers a float holds exactly are taken (an int beyond 2**53 that a float would round is
    refused, as are inf and nan), so the order is the numbers' own, not their rounding's."""
    value = float(number)  # OverflowError for an int beyond the float range
    if not math.isfinite(value) or (isinstance(number, int) and int(value) != number):
        raise ValueError(f"the rules engine cannot compare {number!r} exactly")
    bits: int = _INT64.unpack(_DOUBLE.pack(value))[0]
    return bits if bits >= 0 else -(bits & _MAGNITUDE)


def _engine_value(value: Any) -> Any:
    """A JSON value with every number (not a bool) replaced by its :func:`ordered_int`."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return ordered_int(value)
    if isinstance(value, Mapping):
        return {k: _engine_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_engine_value(v) for v in value]
    return value


def _engine_antecedent(antecedent: dict[str, Any]) -> dict[str, Any]:
    """A rule's antecedent with the numbers of its conditions (``all``/``any`` lists) as ordered ints;
    durable's options beside them (``pri``, ``count``...) stay as they are."""
    return {key: ([_engine_value(c) for c in value] if key in ("all", "any") else value)
            for key, value in antecedent.items()}


def compile_test(test: Test) -> dict[str, Any]:
    """One KB test as a durable-rules expression."""
    f, v = test.fact, test.value
    simple: dict[str, Callable[[Any], dict[str, Any]]] = {
        "==": lambda x: {f: x}, "!=": lambda x: {"$neq": {f: x}}, "<": lambda x: {"$lt": {f: x}},
        "<=": lambda x: {"$lte": {f: x}}, ">": lambda x: {"$gt": {f: x}}, ">=": lambda x: {"$gte": {f: x}}}
    if test.op in simple:
        return simple[test.op](v)
    assert isinstance(v, list)
    v = list(dict.fromkeys(v))  # one alternative per value (1 and 1.0 are one): see RULES_PER_RULESET
    if test.op == "in":
        return {"$or": [{f: x} for x in v]} if len(v) > 1 else {f: v[0]}
    return {"$and": [{"$neq": {f: x}} for x in v]} if len(v) > 1 else {"$neq": {f: v[0]}}


def compile_rule(rule: Rule | NoteItem) -> dict[str, Any]:
    """A status rule: all its tests on the one asserted fact ``m`` (no tests: every fact, by the marker
    this wrapper adds to each)."""
    tests = [compile_test(t) for t in rule.when] or [{MARKER: True}]
    return {"all": [{"m": tests[0] if len(tests) == 1 else {"$and": tests}}]}


def compile_caution(rule: CautionRule) -> dict[str, Any]:
    """A caution rule: fires for the fact ``{"condition": <its condition>}``."""
    return {"all": [{"m": {"condition": rule.condition.value}}]}


class Engine:
    """A compiled ruleset. ``evaluate(fact)`` returns the ids of the rules that fired, in rule order."""

    def __init__(self, name: str, rules: Mapping[str, dict[str, Any]]):
        self.name = f"{name}_{next(_NAMES)}"
        self.rule_ids = tuple(rules)
        self._order = {rule_id: i for i, rule_id in enumerate(self.rule_ids)}
        self._fired: list[str] = []
        self._sids = itertools.count()
        if CATCH_ALL in rules:
            raise ValueError(f"rule id {CATCH_ALL} is reserved")
        definitions = {}
        for start in range(0, max(len(self.rule_ids), 1), RULES_PER_RULESET):
            chunk = self.rule_ids[start:start + RULES_PER_RULESET]
            definition = {rule_id: dict(_engine_antecedent(rules[rule_id]), run=self._action(rule_id)) for rule_id in chunk}
            definition[CATCH_ALL] = {"all": [{"m": {MARKER: True}}], "run": lambda c: None}
            definitions[f"{self.name}_{start // RULES_PER_RULESET}"] = definition
        self._rulesets = tuple(definitions)
        with _LOCK:
            self._host = _QuietHost(definitions)

    def _action(self, rule_id: str) -> Callable[[Any], None]:
        def run(c: Any) -> None:
            self._fired.append(rule_id)
        return run

    def evaluate(self, fact: Mapping[str, Any]) -> tuple[str, ...]:
        bad = [k for k in fact if k in CONTROL_KEYS or str(k).startswith("$")]
        if bad:
            raise ValueError(f"a fact may not carry durable-rules control keys: {', '.join(map(str, bad))}")
        message = {**_engine_value(fact), MARKER: True}  # ValueError here, before any session exists
        with _LOCK:
            sid = str(next(self._sids))
            self._fired = []
            for ruleset in self._rulesets:
                delete = True
                try:
                    self._host.assert_fact(ruleset, {**message, "sid": sid})
                except _durable.MessageNotHandledException:  # pragma: no cover - the catch-all rule prevents it
                    delete = False  # deleting this session's state would crash durable-rules
                finally:
                    if delete:
                        self._host.delete_state(ruleset, sid)
            fired = self._fired
        return tuple(sorted(set(fired), key=self._order.__getitem__))
