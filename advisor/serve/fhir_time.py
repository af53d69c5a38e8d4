"""FHIR R4's dateTime and instant as spans of time, and when an Observation was made. A time needs a
zone; a date may be partial (2026, 2026-03) and stands for the whole of it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

_DATETIME = re.compile(r"(?P<y>[0-9]{4})(?:-(?P<m>0[1-9]|1[0-2])(?:-(?P<d>0[1-9]|[12][0-9]|3[01])"
                       r"(?P<t>T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]{1,9})?"
                       r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?", re.ASCII)
_INSTANT = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)"
                      r"(?:\.[0-9]{1,9})?(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))", re.ASCII)
TIME_FIELDS = {"effectiveDateTime": "dateTime", "effectiveInstant": "instant", "issued": "instant"}
TIME_EXAMPLES = {"dateTime": "2026-01-31T10:00:00Z, 2026-01-31 or 2026-01", "instant": "2026-01-31T10:00:00Z"}
_TICK = timedelta(microseconds=1)
_NEVER = (datetime.min.replace(tzinfo=timezone.utc), datetime.min.replace(tzinfo=timezone.utc) + _TICK)
_END = datetime.max.replace(tzinfo=timezone.utc)
_LAST_MONTH = datetime(9999, 12, 1, tzinfo=timezone.utc)


def interval(text: Any, kind: str = "dateTime") -> tuple[datetime, datetime] | None:
    """The span of time a FHIR ``dateTime`` (or ``instant``) denotes, as [start, end); None if ``text``
    is not one (``yesterday``, ``2026-02-30``, a time without a zone). A time is one microsecond wide;
    a date, a month or a year the whole of it (taken in UTC, as a date carries no zone)."""
    if not isinstance(text, str) or not (_INSTANT if kind == "instant" else _DATETIME).fullmatch(text):
        return None
    try:
        if "T" in text:
            leap = ":60" in text[16:19]
            moment = datetime.fromisoformat((text[:17] + "59" + text[19:] if leap else text).replace("Z", "+00:00"))
            moment = _plus(moment, timedelta(seconds=1)) if leap else moment
            return moment, _plus(moment, _TICK)
        parts = [int(p) for p in text.split("-")]
        year, month, day = (*parts, 1, 1)[:3]  # a year, or a month, stands for its first day
        start = datetime(year, month, day, tzinfo=timezone.utc)
    except ValueError:  # a day the month does not have, or year 0
        return None
    if len(parts) == 3:
        return start, _plus(start, timedelta(days=1))
    if len(parts) == 2:
        return start, _plus(start, timedelta(days=32)).replace(day=1) if start < _LAST_MONTH else _END
    return start, start.replace(year=start.year + 1) if start.year < 9999 else _END


def _plus(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, or the end of time past the year 9999."""
    try:
        return moment + delta
    except OverflowError:
        return _END


def when_made(obs: dict[str, Any]) -> tuple[datetime, datetime]:
    """When an Observation was made, as a span (see :func:`interval`); an Observation without a time
    is older than any with one. The times are valid (see :func:`advisor.serve.fhir.observation_problems`)."""
    for key, kind in TIME_FIELDS.items():
        span = interval(obs.get(key), kind)
        if span is not None:
            return span
    period = obs.get("effectivePeriod")
    if isinstance(period, dict):
        spans = [s for s in (interval(period.get("start")), interval(period.get("end"))) if s is not None]
        if spans:
            return spans[-1]
    return _NEVER


FUTURE_SKEW = timedelta(minutes=5)  # between the EHR's clock and ours, for a time
DATE_SKEW = timedelta(hours=14)     # for a date, which has no zone: it may be today somewhere (UTC+14)


def in_future(span: tuple[datetime, datetime], now: datetime) -> bool:
    start, end = span
    return start > now + (FUTURE_SKEW if end - start <= _TICK else DATE_SKEW)


def time_text(obs: dict[str, Any]) -> str:
    """The time an Observation gives, as written (for messages)."""
    for key in TIME_FIELDS:
        if isinstance(obs.get(key), str):
            return str(obs[key])
    period = obs.get("effectivePeriod")
    if isinstance(period, dict):
        return " to ".join(str(period[k]) for k in ("start", "end") if isinstance(period.get(k), str))
    return "?"
