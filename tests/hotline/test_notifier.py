"""The notifier fans events out by type, survives a broken consumer, and bounds live streams."""

import dataclasses

from hotline.notifier import Notifier


@dataclasses.dataclass(frozen=True)
class CallQueuedStub:
    call_id: str


@dataclasses.dataclass(frozen=True)
class AgentPausedStub:
    agent: str


def test_handlers_get_only_their_event_type_and_catch_all_gets_everything() -> None:
    notifier = Notifier()
    queued: list[object] = []
    everything: list[object] = []
    notifier.subscribe(CallQueuedStub, queued.append)
    notifier.subscribe(None, everything.append)
    notifier.emit_all([CallQueuedStub("c1"), AgentPausedStub("1001")])
    assert queued == [CallQueuedStub("c1")]
    assert everything == [CallQueuedStub("c1"), AgentPausedStub("1001")]


def test_a_failing_handler_does_not_stop_the_others() -> None:
    notifier = Notifier()
    seen: list[object] = []

    def broken(event: object) -> None:
        raise RuntimeError("consumer bug")

    notifier.subscribe(CallQueuedStub, broken)
    notifier.subscribe(CallQueuedStub, seen.append)
    notifier.emit(CallQueuedStub("c1"))
    assert seen == [CallQueuedStub("c1")]


def test_stream_keeps_the_latest_events_and_unsubscribes_on_exit() -> None:
    notifier = Notifier()
    with notifier.stream(limit=2) as queue:
        for n in range(5):
            notifier.emit(CallQueuedStub(f"c{n}"))
        assert [queue.get_nowait(), queue.get_nowait()] == [
            CallQueuedStub("c3"),
            CallQueuedStub("c4"),
        ]
    notifier.emit(CallQueuedStub("late"))
    assert queue.empty()
