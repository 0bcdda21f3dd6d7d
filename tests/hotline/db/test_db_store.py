"""EventStore on SQLite and PostgreSQL: what is appended comes back, the log cannot be
rewritten, concurrent appends are committed in batches, and a bad event fails alone."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from db_scripted_day import DAY, SCRIPTED_DAY, queued, t
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from acd.events import SurveyAnswered, event_from_dict
from acd.records import RecordBuilder
from hotline.db.codec import EventEncodingError
from hotline.db.engine import Database
from hotline.db.history import load_agent_states, load_call_records
from hotline.db.store import EventStore, StoreClosedError

END_OF_DAY = DAY + 86400


async def test_scripted_day_round_trips_event_for_event(database: Database) -> None:
    async with EventStore(database) as store:
        ids = await store.append(SCRIPTED_DAY)
        logged = await store.load_events(DAY, END_OF_DAY)
    assert [event.id for event in logged] == ids
    assert sorted(ids) == ids and len(set(ids)) == len(SCRIPTED_DAY)
    assert [event_from_dict(event.as_dict()) for event in logged] == list(SCRIPTED_DAY)


async def test_scripted_day_call_records(database: Database) -> None:
    async with EventStore(database) as store:
        await store.append(SCRIPTED_DAY)
        calls = {call.call_id: call for call in await store.load_calls(DAY, END_OF_DAY)}

    assert sorted(calls) == ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]
    c1, c2, c3, c5, c6 = calls["c1"], calls["c2"], calls["c3"], calls["c5"], calls["c6"]

    assert (c1.queue, c1.caller, c1.agent_id, c1.outcome) == (
        "general",
        "13811111111",
        "a1",
        "answered",
    )
    assert c1.wait_seconds == 4.0
    assert c1.connected_seconds == 120.0
    assert [(w.resolved_first_contact, w.seconds) for w in c1.wrapups] == [(True, 10.0)]
    assert [(a.score, a.satisfied) for a in c1.survey] == [(5, True)]
    assert c1.ended_by == "caller" and c1.ended_at == t(9, 0, 150)

    # SPEC-Q1: every ring recorded, with its outcome.
    assert [(o.agent_id, o.offered_at, o.ring_ended_at, o.outcome) for o in c2.offers] == [
        ("a1", t(9, 5, 1), t(9, 5, 16), "timeout"),
        ("a2", t(9, 5, 16), t(9, 5, 20), "answered"),
    ]
    assert c2.wait_seconds == 20.0
    assert (c2.holds, c2.hold_seconds) == (1, 30.0)  # SPEC-Q5
    assert c2.offers[1].ended_by == "agent"  # SPEC-Q7: the agent ended the talk first
    assert c2.ended_by == "caller"
    assert c2.connected_seconds == 180.0  # 30 of them on hold
    assert [w.resolved_first_contact for w in c2.wrapups] == [False]
    assert [a.satisfied for a in c2.survey] == [False]
    assert [(w.call_type, w.summary) for w in c2.wrapups] == [("complaint", "网络故障")]

    assert (c3.outcome, c3.wait_seconds, c3.answered_at, c3.offers) == ("abandoned", 3.0, None, ())
    assert c5.queue == "billing"
    assert [(w.submitted_at, w.seconds, w.call_type) for w in c5.wrapups] == [(None, 60.0, None)]
    assert c5.survey == ()
    # Called back and answered: the wait runs to the answer of the callback.
    assert (c6.outcome, c6.agent_id, c6.wait_seconds) == ("answered", "a1", 920.0)
    assert [(cb.number, cb.status, cb.agent_id, cb.outcome) for cb in c6.callbacks] == [
        ("13966666666", "done", "a1", "answered")
    ]


async def test_load_calls_filters_by_queue_and_by_the_time_the_call_queued(
    database: Database,
) -> None:
    async with EventStore(database) as store:
        await store.append(SCRIPTED_DAY)
        billing = await store.load_calls(DAY, END_OF_DAY, queue="billing")
        morning = await store.load_calls(t(9, 0), t(9, 30), queue="general")
        # c1 queued at 09:00 but its events run past 09:01: all of them belong to it.
        c1_events = await store.load_call_events(t(9, 0), t(9, 1), queue="general")
    assert [call.call_id for call in billing] == ["c5"]
    assert [call.call_id for call in morning] == ["c1", "c2", "c3"]
    assert {event.call_id for event in c1_events} == {"c1"}
    assert [event.event for event in c1_events][-1] == "CallEnded"


async def test_records_survive_reopening_the_database(database_url: str) -> None:
    first = Database.open(database_url)
    async with EventStore(first) as store:
        await store.append(SCRIPTED_DAY)
        before = await store.load_calls(DAY, END_OF_DAY)
    await first.close()

    second = Database.open(database_url)
    try:
        async with EventStore(second) as store:
            assert await store.load_calls(DAY, END_OF_DAY) == before
    finally:
        await second.close()


async def test_rebuilding_records_from_the_log_gives_the_same_records(
    database: Database,
) -> None:
    async with EventStore(database) as store:
        await store.append(SCRIPTED_DAY)
        before = await store.load_calls(DAY, END_OF_DAY)
        assert await store.rebuild_records() == len(SCRIPTED_DAY)
        assert await store.load_calls(DAY, END_OF_DAY) == before
        assert await store.count_events() == len(SCRIPTED_DAY)


@pytest.mark.parametrize(
    "statement",
    ["UPDATE event_log SET event = 'Forged'", "DELETE FROM event_log"],
)
async def test_event_log_refuses_update_and_delete(database: Database, statement: str) -> None:
    async with EventStore(database) as store:
        await store.append(SCRIPTED_DAY[:3])
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.engine.begin() as connection:
            await connection.execute(text(statement))
    async with EventStore(database) as store:
        assert [e.event for e in await store.load_events(DAY, END_OF_DAY)] == [
            type(event).__name__ for event in SCRIPTED_DAY[:3]
        ]


async def test_event_log_refuses_truncate_on_postgresql(database: Database) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's (SQLite has none)")
    async with EventStore(database) as store:
        await store.append(SCRIPTED_DAY[:3])
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.engine.begin() as connection:
            await connection.execute(text("TRUNCATE event_log"))


async def test_concurrent_appends_each_get_their_own_committed_ids(database: Database) -> None:
    async with EventStore(database) as store:
        results = await asyncio.gather(
            *(store.append([queued(t(11, 0, i), f"k{i}")]) for i in range(40))
        )
        logged = {event.id: event.call_id for event in await store.load_events(DAY, END_OF_DAY)}
    assert all(len(ids) == 1 for ids in results)
    assert {logged[ids[0]] for ids in results} == {f"k{i}" for i in range(40)}
    assert [logged[ids[0]] for ids in results] == [f"k{i}" for i in range(40)]


async def test_a_failing_event_fails_only_its_own_append(database: Database) -> None:
    # 2**70 fits JSON but not the survey's score column, on either backend.
    bad = SurveyAnswered(at=t(12, 0), call_id="bad", agent_id=None, score=2**70, satisfied=True)
    async with EventStore(database) as store:
        results = await asyncio.gather(
            store.append([queued(t(12, 0, 1), "good1")]),
            store.append([bad]),
            store.append([queued(t(12, 0, 2), "good2")]),
            return_exceptions=True,
        )
        call_ids = [e.call_id for e in await store.load_events(DAY, END_OF_DAY)]
    assert isinstance(results[1], Exception)
    assert not isinstance(results[0], BaseException) and not isinstance(results[2], BaseException)
    assert call_ids == ["good1", "good2"]


async def test_events_that_cannot_be_logged_are_refused_before_writing(
    database: Database,
) -> None:
    @dataclasses.dataclass(frozen=True)
    class NoTime:
        call_id: str

    @dataclasses.dataclass(frozen=True)
    class NotANumber:
        at: float
        call_id: str
        wait: float

    async with EventStore(database) as store:
        with pytest.raises(EventEncodingError, match=r"NoTime\.at"):
            await store.append([NoTime("x")])
        with pytest.raises(EventEncodingError, match=r"NotANumber\.wait"):
            await store.append([queued(t(1, 0), "y"), NotANumber(t(1, 0), "y", float("nan"))])
        with pytest.raises(EventEncodingError, match="not a dataclass"):
            await store.append([{"at": 1.0}])
        assert await store.count_events() == 0


async def test_any_frozen_dataclass_with_at_is_logged(database: Database) -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class PromptPlayed:
        at: float
        call_id: str
        prompt: str
        languages: tuple[str, ...]

    async with EventStore(database) as store:
        await store.append([PromptPlayed(t(8, 0), "p1", "P1", ("zh", "en"))])
        [logged] = await store.load_events(DAY, END_OF_DAY, call_id="p1")
    assert logged.event == "PromptPlayed"
    assert logged.data == {
        "at": t(8, 0),
        "call_id": "p1",
        "prompt": "P1",
        "languages": ["zh", "en"],
    }


async def test_submit_resolves_after_commit_and_close_drains_the_queue(
    database: Database,
) -> None:
    store = EventStore(database)
    futures = [store.submit(queued(t(13, 0, i), f"s{i}")) for i in range(5)]
    await store.close()
    assert all(future.done() and len(future.result()) == 1 for future in futures)
    with pytest.raises(StoreClosedError):
        store.submit(queued(t(13, 1), "late"))
    async with EventStore(database) as reader:
        assert await reader.count_events() == 5


async def test_history_gives_the_acd_its_own_records_back(database: Database) -> None:
    async with EventStore(database) as store:
        await store.append(SCRIPTED_DAY)
        records = await load_call_records(store, DAY, END_OF_DAY, queue="general")
        states = await load_agent_states(store, t(9, 0), t(10, 0))
        assert await store.queue_names() == ["billing", "general"]
    # The same records the ACD builds live from the same events.
    live = list(RecordBuilder().feed(SCRIPTED_DAY))  # type: ignore[arg-type]
    assert records == [r for r in live if r.queue == "general"]
    # a1's ready at 08:55 is inside the look-back, so its state at 09:00 is known.
    assert states[0].at == t(8, 55) and states[-1].at == t(9, 30)
