"""Infusion dates from a drug's structured schedule (the document's dosing), and an iCalendar export."""

from __future__ import annotations

import calendar
import re
import uuid
import itertools
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

from typing import TYPE_CHECKING

from advisor.errors import ScheduleError
from advisor.core.models import InfusionPlan, Interval, Schedule, ScheduledInfusion

if TYPE_CHECKING:
    from advisor.core.advisor import Advisor


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
            yield ScheduledInfusion(date=day, phase=phase.label, dose_mg=phase.dose_mg, weekend=day.weekday() >= 5)


def is_finite(schedule: Schedule) -> bool:
    return schedule.course_within is not None or all(p.count is not None for p in schedule.phases)


def _ical(day: date) -> str:
    """An iCalendar DATE: always 8 digits (strftime's %Y gives '1' for the year 1, not '0001')."""
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


DEFAULT_COUNT = 10  # infusions listed of an endless schedule when no count is given


def plan(advisor: "Advisor", drug: str, start: date, count: int | None = None, received: float | None = None,
         id: str | None = None) -> InfusionPlan:
    """The infusion dates the article's dosing gives for ``drug`` (id, name or brand) from ``start``:
    all of a finite schedule (or the first ``count``), the first ``count`` (default 10) of an endless one,
    none once ``received`` (mg/m²) reaches a lifetime maximum. With some of a lifetime maximum already
    received, how many infusions remain cannot be worked out (the article gives no dose per infusion):
    ``left_unknown`` says so, and only an explicit ``count`` lists dates. Raises UnknownDrug or ScheduleError.

        >>> from datetime import date
        >>> from advisor import default_advisor
        >>> p = plan(default_advisor(), "Ocrevus", date(2027, 1, 4))
        >>> [str(i.date) for i in p.infusions][:3], p.finite
        (['2027-01-04', '2027-01-18', '2027-07-18'], False)
    """
    from advisor.core.recommend import left_unknown_text, remaining_text, schedule_of

    d = advisor.kb.drug(advisor.drug_id(drug))
    sched = schedule_of(d)
    if received is not None and (received != received or received < 0 or received == float("inf")):
        raise ScheduleError("--mitoxantrone-cumulative-mg-m2: must be a finite number of at least 0")
    if received is not None and sched.lifetime_max_mg_m2 is None:
        raise ScheduleError(f"--mitoxantrone-cumulative-mg-m2: {d.name} has no lifetime maximum dose in the article")
    finite = is_finite(sched)
    limit = count if count is not None else (None if finite else DEFAULT_COUNT)
    left_unknown = None
    if received is not None and sched.lifetime_max_mg_m2 is not None and received >= sched.lifetime_max_mg_m2:
        limit = 0  # the lifetime maximum is reached: no further infusion to date
    elif received is not None and sched.lifetime_max_mg_m2 is not None and received > 0:
        # The article's course ("likely within two to three years") is the whole lifetime course: after a dose
        # already received it is no new course, and without a dose per infusion what remains is no count of dates.
        left_unknown = left_unknown_text(received)
        limit = count if count is not None else 0
    try:
        items = list(itertools.islice(infusions(sched, start), limit))
        end = course_end(sched, start)
        total = sum(1 for _ in infusions(sched, start)) if finite else None
    except (OverflowError, ValueError):  # a date past the year 9999
        raise ScheduleError(f"--start {start.isoformat()}: the schedule runs past the year 9999 (the last date a calendar here "
                            "can hold); give an earlier --start or a smaller --count") from None
    notes = {n.id: n for n in advisor.kb.notes}
    reminder = notes["infusion_reaction_window"].text if "infusion_reaction_window" in notes else None
    last = sched.phases[-1].every
    return InfusionPlan(
        id=id, drug=d.id, name=d.name, text=sched.text, quote=sched.quote, infusions=tuple(items), finite=finite,
        total=None if left_unknown else total,
        cut_short=not left_unknown and finite and limit is not None and limit > 0 and total is not None and len(items) < total,
        # the note on a whole course from no dose ("dates are given up to three years after the first infusion")
        # would contradict "no dates are listed" after a dose received: left_unknown says why instead
        every=None if finite else f"{last.n} {last.unit}", note=None if received else sched.note,
        # after a dose received, the cap of the course (from this start) is said only where it cut the count short
        course_end=end if not left_unknown or (count is not None and len(items) < count) else None,
        course_why=d.schedule.course_why if end is not None else None,
        remaining=remaining_text(received, sched.lifetime_max_mg_m2)[1]
        if received is not None and sched.lifetime_max_mg_m2 is not None else None,
        left_unknown=left_unknown, reminder=reminder, disclaimer=advisor.kb.header.disclaimer)


def ics_of(p: InfusionPlan) -> str:
    """The plan as an iCalendar file (see :func:`to_ics`)."""
    counted = f"{p.left_unknown} These dates come from the count asked for, not from the article." if p.left_unknown else None
    description = "\n\n".join(t for t in (counted, p.reminder, p.note, p.disclaimer) if t)
    try:
        return to_ics(p.name, list(p.infusions), description, p.id)
    except (OverflowError, ValueError):  # an event's end, the day after 9999-12-31
        raise ScheduleError(f"--start {p.infusions[0].date.isoformat()}: the schedule runs past the year 9999 (the last date a "
                            "calendar here can hold); give an earlier --start or a smaller --count") from None


def to_ics(drug_name: str, items: list[ScheduledInfusion], reminder: str, id: str | None = None) -> str:
    """An iCalendar (RFC 5545) file with one all-day event per infusion; ``reminder`` is each event's
    description (the reaction window, the schedule's assumptions, the disclaimer). Each UID holds the
    person's ``id`` (or, without one, a random token), so two people's calendars never collide."""
    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")

    def fold(line: str) -> list[str]:  # lines longer than 75 octets are folded
        out: list[str] = []
        raw = line.encode("utf-8")
        while len(raw) > (75 if not out else 74):  # a continuation line's leading space counts too
            cut = 75 if not out else 74
            while (raw[cut] & 0xC0) == 0x80:  # do not split a UTF-8 character
                cut -= 1
            out.append(raw[:cut].decode("utf-8"))
            raw = raw[cut:]
        out.append(raw.decode("utf-8"))
        return [out[0]] + [" " + part for part in out[1:]]

    person = re.sub(r"[^A-Za-z0-9._-]", lambda m: f"%{ord(m.group()):02X}" if ord(m.group()) < 0x100 else "-",
                    id) if id else uuid.uuid4().hex
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//ms-infusion-advisor//schedule//EN", "CALSCALE:GREGORIAN"]
    for i, item in enumerate(items, 1):
        dose = f" {item.dose_mg:g} mg" if item.dose_mg else ""
        lines += [
            "BEGIN:VEVENT",
            f"UID:{drug_name.split()[0].lower()}-{_ical(item.date)}-{i}-{person}@ms-infusion-advisor",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{_ical(item.date)}",
            f"DTEND;VALUE=DATE:{_ical(item.date + timedelta(days=1))}",
            f"SUMMARY:{esc(summary(drug_name, item, dose))}",
            f"DESCRIPTION:{esc(reminder)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(part for line in lines for part in fold(line)) + "\r\n"


def summary(drug_name: str, item: ScheduledInfusion, dose: str = "") -> str:
    """An event's title: "Natalizumab infusion", with the phase only when it says more than "infusion"."""
    name = drug_name[:1].upper() + drug_name[1:]
    phase = item.phase.strip()
    return f"{name} infusion{dose}" + ("" if phase.lower() in ("", "infusion", "infusions") else f" ({phase})")
