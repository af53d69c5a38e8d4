"""Infusion dates from a drug's structured schedule (the document's dosing), and an iCalendar export."""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

from .models import Interval, Schedule, ScheduledInfusion


def shift(day: date, n: int, unit: str) -> date:
    """``day`` moved by ``n`` units; months and years keep the day of month, clamped to the month's end."""
    if unit == "days":
        return day + timedelta(days=n)
    if unit == "weeks":
        return day + timedelta(weeks=n)
    months = n * 12 if unit == "years" else n
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _every(start: date, every: Interval, k: int) -> date:
    return shift(start, every.n * k, every.unit)  # from the phase start, so month ends do not drift


def course_end(schedule: Schedule, start: date) -> date | None:
    """The last date a finite course (``course_within``) may have an infusion, or None."""
    within = schedule.course_within
    return None if within is None else shift(start, within.n, within.unit)


def infusions(schedule: Schedule, start: date) -> Iterator[ScheduledInfusion]:
    """Every infusion date of ``schedule`` starting on ``start``: none after the end of a finite course
    (``course_within``, counted from the first infusion), endless if the last phase has no count and
    the course no end."""
    end = course_end(schedule, start)
    previous: date | None = None
    for phase in schedule.phases:
        anchor = start if phase.start.after == "first" or previous is None else previous
        first = shift(anchor, phase.start.n, phase.start.unit)
        for k in (range(phase.count) if phase.count is not None else itertools.count()):
            day = _every(first, phase.every, k)
            if end is not None and day > end:
                return
            previous = day
            yield ScheduledInfusion(date=day, phase=phase.label, dose_mg=phase.dose_mg)


def is_finite(schedule: Schedule) -> bool:
    return schedule.course_within is not None or all(p.count is not None for p in schedule.phases)


def _ical(day: date) -> str:
    """An iCalendar DATE: always 8 digits (strftime's %Y gives '1' for the year 1, not '0001')."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def to_ics(drug_name: str, items: list[ScheduledInfusion], reminder: str) -> str:
    """An iCalendar (RFC 5545) file with one all-day event per infusion; ``reminder`` is each event's
    description (the reaction window, the schedule's assumptions, the disclaimer)."""
    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

    def fold(line: str) -> list[str]:  # lines longer than 75 octets are folded
        out, raw = [], line.encode("utf-8")
        while len(raw) > (75 if not out else 74):  # a continuation line's leading space counts too
            cut = 75 if not out else 74
            while (raw[cut] & 0xC0) == 0x80:  # do not split a UTF-8 character
                cut -= 1
            out.append(raw[:cut].decode("utf-8"))
            raw = raw[cut:]
        out.append(raw.decode("utf-8"))
        return [out[0]] + [" " + part for part in out[1:]]

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//ms-infusion-advisor//schedule//EN", "CALSCALE:GREGORIAN"]
    for i, item in enumerate(items, 1):
        dose = f" {item.dose_mg:g} mg" if item.dose_mg else ""
        lines += [
            "BEGIN:VEVENT",
            f"UID:{drug_name.split()[0].lower()}-{_ical(item.date)}-{i}@ms-infusion-advisor",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{_ical(item.date)}",
            f"DTEND;VALUE=DATE:{_ical(item.date + timedelta(days=1))}",
            f"SUMMARY:{esc(f'{drug_name} infusion{dose} ({item.phase})')}",
            f"DESCRIPTION:{esc(reminder)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(part for line in lines for part in fold(line)) + "\r\n"
