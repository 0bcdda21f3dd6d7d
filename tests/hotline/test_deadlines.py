"""The deadline driver fires a sans-IO core's timers on the real loop clock."""

import asyncio

from hotline.deadlines import DeadlineDriver


class CountdownCore:
    """A core with a list of deadlines; advance returns the ones that are due."""

    def __init__(self) -> None:
        self.deadlines: list[float] = []

    def next_deadline(self) -> float | None:
        return min(self.deadlines, default=None)

    def advance(self, now: float) -> list[float]:
        due = [d for d in self.deadlines if d <= now]
        self.deadlines = [d for d in self.deadlines if d > now]
        return due


async def test_fires_each_deadline_in_order_and_rearms_after_commands() -> None:
    loop = asyncio.get_running_loop()
    core = CountdownCore()
    fired: list[float] = []
    done = asyncio.Event()

    def perform(actions: list[float]) -> None:
        fired.extend(actions)
        if len(fired) == 3:
            done.set()

    driver = DeadlineDriver(core, perform, loop, clock=loop.time)
    start = loop.time()
    core.deadlines = [start + 0.03, start + 0.01]
    driver.rearm()
    core.deadlines.append(start + 0.02)  # a command added an earlier deadline
    driver.rearm()
    await asyncio.wait_for(done.wait(), 5)
    assert fired == sorted(fired)
    assert len(fired) == 3
    assert all(loop.time() >= d for d in fired)
    driver.close()


async def test_close_cancels_the_pending_timer() -> None:
    loop = asyncio.get_running_loop()
    core = CountdownCore()
    fired: list[float] = []
    driver = DeadlineDriver(core, fired.extend, loop, clock=loop.time)
    core.deadlines = [loop.time() + 0.01]
    driver.rearm()
    driver.close()
    await asyncio.sleep(0.05)
    assert fired == []
