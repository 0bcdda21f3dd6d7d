"""Complaints and work orders as pure logic: the working-day calendar, due dates, the status
table and escalation (SPEC-C1 … C3). No database, no clock: time is always an input.

Rules of this file:

1. A complaint is owned by the agent who registered it at first contact (C1, 首问负责制).
2. Due dates (C2), counted from the moment of registration in the centre's local time:
   - a complaint of any class must be *replied to* (the complainant reached by a callback)
     by the end of the third working day after the day it was registered. The day of
     registration never counts, so a complaint taken at 17:55 gets three whole working days
     as one taken at 08:05 does (the usual reading of "3个工作日内答复");
   - a fault is repaired around the clock (the service is 7×24, SPEC-Q3): 24 hours for a
     general fault, 72 hours for a major one, calendar hours, holidays included.
3. Working days are Monday to Friday, minus public holidays, plus the weekend days the State
   Council declares working days (调休 make-up days); both lists come from config.
4. Status moves only along ``TRANSITIONS``: open → replied (a callback reached the
   complainant) → closed (the result is logged). A callback that did not reach anyone leaves
   the complaint open. Anything else raises ``ComplaintStateError``.
5. An open complaint past its due time is overdue and escalates to supervisors once; one due
   within ``DUE_SOON_SECONDS`` is flagged so the owner can act first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

# China Standard Time, UTC+8 (no daylight saving since 1991).
CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8))

# SPEC-C2 (001): "reply to a complaint within 3 working days".
COMPLAINT_REPLY_WORKING_DAYS = 3
# SPEC-C2 (001, 002): general faults within 24 h, major faults within 72 h.
FAULT_HOURS_GENERAL = 24
FAULT_HOURS_MAJOR = 72
# The owner is warned this long before the due time (half a working day).
DUE_SOON_SECONDS = 4 * 3600.0
# A year holds at most ~250 working days; a calendar that finds none in this many days is
# misconfigured (every day a holiday), which must be an error, not an endless loop.
MAX_CALENDAR_SCAN_DAYS = 366


class ComplaintClass(StrEnum):
    """SPEC-C3 (004): 重大 / 重要 / 一般."""

    MAJOR = "major"
    IMPORTANT = "important"
    MINOR = "minor"


class ComplaintKind(StrEnum):
    COMPLAINT = "complaint"  # 投诉: a reply is owed
    FAULT = "fault"  # 障碍/故障申告: a repair is owed


class ComplaintStatus(StrEnum):
    OPEN = "open"
    REPLIED = "replied"
    CLOSED = "closed"


class ComplaintAction(StrEnum):
    CALLBACK_REACHED = "callback_reached"
    CALLBACK_MISSED = "callback_missed"  # no answer, busy, wrong number
    CLOSE = "close"


class Urgency(StrEnum):
    ON_TIME = "on_time"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    DONE = "done"  # replied or closed: the clock of rule 2 has stopped


TRANSITIONS: dict[tuple[ComplaintStatus, ComplaintAction], ComplaintStatus] = {
    (ComplaintStatus.OPEN, ComplaintAction.CALLBACK_REACHED): ComplaintStatus.REPLIED,
    (ComplaintStatus.OPEN, ComplaintAction.CALLBACK_MISSED): ComplaintStatus.OPEN,
    (ComplaintStatus.REPLIED, ComplaintAction.CALLBACK_REACHED): ComplaintStatus.REPLIED,
    (ComplaintStatus.REPLIED, ComplaintAction.CALLBACK_MISSED): ComplaintStatus.REPLIED,
    (ComplaintStatus.REPLIED, ComplaintAction.CLOSE): ComplaintStatus.CLOSED,
}


class ComplaintStateError(Exception):
    def __init__(self, complaint_id: int, status: ComplaintStatus, action: ComplaintAction):
        super().__init__(
            f"can't handle {action.value} for complaint {complaint_id} in status {status.value}"
        )
        self.complaint_id = complaint_id
        self.status = status
        self.action = action


class CalendarError(ValueError):
    """The holiday calendar cannot produce a working day."""


def next_status(
    complaint_id: int, status: ComplaintStatus, action: ComplaintAction
) -> ComplaintStatus:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise ComplaintStateError(complaint_id, status, action) from None


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """Which local dates are working days (rule 3)."""

    holidays: frozenset[dt.date] = frozenset()
    makeup_workdays: frozenset[dt.date] = frozenset()
    tz: dt.tzinfo = CHINA_STANDARD_TIME

    @classmethod
    def of(
        cls,
        holidays: Iterable[dt.date] = (),
        makeup_workdays: Iterable[dt.date] = (),
        tz: dt.tzinfo = CHINA_STANDARD_TIME,
    ) -> WorkingCalendar:
        off, on = frozenset(holidays), frozenset(makeup_workdays)
        both = sorted(off & on)
        if both:
            raise CalendarError(f"{both[0].isoformat()} is listed as holiday and as workday")
        return cls(off, on, tz)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def local_date(self, t: float) -> dt.date:
        return dt.datetime.fromtimestamp(t, self.tz).date()

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``day`` (``day`` itself never counts)."""
        found = 0
        current = day
        gap = 0
        while found < count:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                found += 1
                gap = 0
            else:
                gap += 1
                if gap > MAX_CALENDAR_SCAN_DAYS:
                    raise CalendarError(
                        f"no {count} working days after {day.isoformat()}: "
                        f"a year without a working day"
                    )
        return current

    def end_of(self, day: dt.date) -> float:
        """The last instant of ``day`` in local time, as the next local midnight (UNIX s)."""
        midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.tz)
        return midnight.timestamp()


def due_at(
    kind: ComplaintKind, klass: ComplaintClass, registered_at: float, calendar: WorkingCalendar
) -> float:
    """When the reply (complaint) or the repair (fault) is due, per rule 2."""
    if kind is ComplaintKind.FAULT:
        hours = FAULT_HOURS_MAJOR if klass is ComplaintClass.MAJOR else FAULT_HOURS_GENERAL
        return registered_at + hours * 3600.0
    day = calendar.local_date(registered_at)
    return calendar.end_of(calendar.add_working_days(day, COMPLAINT_REPLY_WORKING_DAYS))


def urgency(status: ComplaintStatus, due: float, now: float) -> Urgency:
    if status is not ComplaintStatus.OPEN:
        return Urgency.DONE
    if now >= due:
        return Urgency.OVERDUE
    if due - now <= DUE_SOON_SECONDS:
        return Urgency.DUE_SOON
    return Urgency.ON_TIME


def needs_escalation(
    status: ComplaintStatus, due: float, escalated_at: float | None, now: float
) -> bool:
    """Rule 5: overdue, still open, and not escalated yet."""
    return escalated_at is None and urgency(status, due, now) is Urgency.OVERDUE


def reference(complaint_id: int, registered_at: float, calendar: WorkingCalendar) -> str:
    """A work-order number a person can read out on the phone: TS + local date + sequence."""
    return f"TS{calendar.local_date(registered_at).strftime('%Y%m%d')}-{complaint_id:05d}"
