"""Complaint due dates in working days with a holiday calendar, status moves and escalation
(SPEC-C1 … C3). Expected dates are worked out by hand in each test's comment."""

from __future__ import annotations

import datetime as dt

import pytest

from agent_desktop.complaints import (
    CHINA_STANDARD_TIME,
    DUE_SOON_SECONDS,
    CalendarError,
    ComplaintAction,
    ComplaintClass,
    ComplaintKind,
    ComplaintStateError,
    ComplaintStatus,
    Urgency,
    WorkingCalendar,
    due_at,
    needs_escalation,
    next_status,
    reference,
    urgency,
)

D = dt.date


def cst(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> float:
    return dt.datetime(y, m, d, hh, mm, tzinfo=CHINA_STANDARD_TIME).timestamp()


# 2026's National Day week: 1–7 October off, Saturday 10 October a make-up working day.
NATIONAL_DAY = WorkingCalendar.of(
    holidays=[D(2026, 10, day) for day in range(1, 8)], makeup_workdays=[D(2026, 10, 10)]
)
PLAIN = WorkingCalendar.of()


def test_complaint_on_a_monday_is_due_at_the_end_of_thursday() -> None:
    # Mon 30 Nov 2026, 10:00 → Tue, Wed, Thu are the three working days → Fri 00:00.
    assert due_at(
        ComplaintKind.COMPLAINT, ComplaintClass.MINOR, cst(2026, 11, 30, 10), PLAIN
    ) == cst(2026, 12, 4)


def test_registration_day_never_counts_even_late_in_the_evening() -> None:
    # Mon 23:30 and Mon 08:05 get the same due time.
    early = due_at(ComplaintKind.COMPLAINT, ComplaintClass.MINOR, cst(2026, 11, 30, 8, 5), PLAIN)
    late = due_at(ComplaintKind.COMPLAINT, ComplaintClass.MINOR, cst(2026, 11, 30, 23, 30), PLAIN)
    assert early == late == cst(2026, 12, 4)


def test_weekend_is_skipped() -> None:
    # Thu 3 Dec → Fri 4, Mon 7, Tue 8 → end of Tue 8 Dec.
    assert due_at(
        ComplaintKind.COMPLAINT, ComplaintClass.MAJOR, cst(2026, 12, 3, 15), PLAIN
    ) == cst(2026, 12, 9)


def test_registered_on_a_saturday_counts_from_monday() -> None:
    # Sat 28 Nov → Mon 30, Tue 1, Wed 2 → end of Wed 2 Dec.
    assert due_at(
        ComplaintKind.COMPLAINT, ComplaintClass.IMPORTANT, cst(2026, 11, 28, 9), PLAIN
    ) == cst(2026, 12, 3)


def test_public_holidays_are_skipped_and_makeup_saturday_counts() -> None:
    # Wed 30 Sep → 1–7 Oct are holidays; Thu 8, Fri 9, Sat 10 (make-up day) → end of Sat 10.
    assert due_at(
        ComplaintKind.COMPLAINT, ComplaintClass.MINOR, cst(2026, 9, 30, 16), NATIONAL_DAY
    ) == cst(2026, 10, 11)
    # Without the make-up day the third working day is Monday 12 October.
    holidays_only = WorkingCalendar.of(holidays=NATIONAL_DAY.holidays)
    assert due_at(
        ComplaintKind.COMPLAINT, ComplaintClass.MINOR, cst(2026, 9, 30, 16), holidays_only
    ) == cst(2026, 10, 13)


def test_faults_run_on_calendar_hours_through_holidays() -> None:
    start = cst(2026, 10, 1, 9)  # a holiday: repairs run 7×24 anyway
    assert (
        due_at(ComplaintKind.FAULT, ComplaintClass.MINOR, start, NATIONAL_DAY) == start + 24 * 3600
    )
    assert (
        due_at(ComplaintKind.FAULT, ComplaintClass.IMPORTANT, start, NATIONAL_DAY)
        == start + 24 * 3600
    )
    assert (
        due_at(ComplaintKind.FAULT, ComplaintClass.MAJOR, start, NATIONAL_DAY) == start + 72 * 3600
    )


def test_due_dates_are_counted_in_china_time_not_utc() -> None:
    # Fri 4 Dec 2026 at 07:00 CST is still Thursday 23:00 UTC; the local day is Friday,
    # so the working days are Mon 7, Tue 8, Wed 9.
    assert due_at(ComplaintKind.COMPLAINT, ComplaintClass.MINOR, cst(2026, 12, 4, 7), PLAIN) == cst(
        2026, 12, 10
    )


def test_a_day_cannot_be_both_holiday_and_workday() -> None:
    with pytest.raises(CalendarError, match="2026-10-10"):
        WorkingCalendar.of(holidays=[D(2026, 10, 10)], makeup_workdays=[D(2026, 10, 10)])


def test_a_calendar_without_working_days_is_an_error_not_a_hang() -> None:
    everything_off = WorkingCalendar.of(
        holidays=[D(2026, 1, 1) + dt.timedelta(days=n) for n in range(800)]
    )
    with pytest.raises(CalendarError, match="no 3 working days"):
        due_at(ComplaintKind.COMPLAINT, ComplaintClass.MINOR, cst(2026, 1, 1), everything_off)


def test_status_moves_only_along_the_table() -> None:
    assert (
        next_status(1, ComplaintStatus.OPEN, ComplaintAction.CALLBACK_MISSED)
        is ComplaintStatus.OPEN
    )
    assert (
        next_status(1, ComplaintStatus.OPEN, ComplaintAction.CALLBACK_REACHED)
        is ComplaintStatus.REPLIED
    )
    assert next_status(1, ComplaintStatus.REPLIED, ComplaintAction.CLOSE) is ComplaintStatus.CLOSED
    with pytest.raises(
        ComplaintStateError, match="can't handle close for complaint 7 in status open"
    ):
        next_status(7, ComplaintStatus.OPEN, ComplaintAction.CLOSE)
    with pytest.raises(ComplaintStateError):
        next_status(7, ComplaintStatus.CLOSED, ComplaintAction.CALLBACK_REACHED)


def test_urgency_and_escalation_follow_the_due_time() -> None:
    due = cst(2026, 12, 4)
    assert urgency(ComplaintStatus.OPEN, due, due - DUE_SOON_SECONDS - 1) is Urgency.ON_TIME
    assert urgency(ComplaintStatus.OPEN, due, due - DUE_SOON_SECONDS) is Urgency.DUE_SOON
    assert urgency(ComplaintStatus.OPEN, due, due) is Urgency.OVERDUE
    assert urgency(ComplaintStatus.REPLIED, due, due + 99) is Urgency.DONE
    assert needs_escalation(ComplaintStatus.OPEN, due, None, due + 1)
    assert not needs_escalation(ComplaintStatus.OPEN, due, due + 1, due + 2)  # once only
    assert not needs_escalation(ComplaintStatus.OPEN, due, None, due - 1)
    assert not needs_escalation(ComplaintStatus.REPLIED, due, None, due + 1)


def test_reference_uses_the_local_registration_date() -> None:
    assert reference(42, cst(2026, 12, 1, 0, 30), PLAIN) == "TS20261201-00042"
