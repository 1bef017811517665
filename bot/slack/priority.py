"""Acks first, follow-ups in the gaps, every follow-up by its deadline.

Slack shows an error when a request is not acknowledged within 3 s, and a person
expects the list within about a second of typing. Both are deadlines, and under a
burst the CPU cannot meet both at once, so acks come first: a follow-up (fetching and
posting a list) takes its turn when no request is waiting for its ack, or when its
own deadline (`patience` after it asked) has come, whichever is first.

Two rules keep this from starving either side:

- Turns are handed out one per pass of the event loop, and only once no request has
  arrived for `quiet` (2 ms). Each pass first reads every request that has arrived, so a
  gap lets one follow-up in, not all of them at once. A burst sends requests closer
  together than that, so its lists wait (until their deadline at most) instead of
  taking the CPU from the acks; people typing, even 300 commands a second, leave gaps
  of several milliseconds, so their lists go at once.
- The count of waiting requests is exact because listeners answer Slack the moment
  they ack (see `bot.slack.errors.shielded`): a request stops counting as soon as its
  ack is written, not 10 ms later. Under a steady load the bot has gaps, so lists go
  at once; only a burst that saturates the CPU makes them wait, by at most `patience`.

Lists that many people asked for at once are fetched once and come back together
(`bot.singleflight`): a slow provider's answer releases every list asked for while it
was out, hundreds under a steady load. Posting them goes through a few slots, so they
go out a small group at a time, each as Slack answers the last, in arrival order
(asyncio's semaphore is fair), and an ack that arrives meanwhile waits behind a few
posts, not all of them. Under 300 commands a second on a slow host, 32 slots let passes
of the event loop run up to 30 ms and the acks' p99 reach 35 to 180 ms; 4 slots kept
passes under 15 ms and the p99 at 15 to 26 ms, the lists no later. A slot is lent for at
most `lease` seconds: a distant Slack (a response_url answers in 100 ms or more) still
takes `slots / lease` posts a second, 80 by default, and waiting on it costs no CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Iterator


class AckFirst:
    def __init__(
        self, patience: float = 1.0, slots: int = 4, quiet: float = 0.002, lease: float = 0.05
    ) -> None:
        self.patience = patience
        self.quiet = quiet
        self.waiting = 0
        self._arrived = 0.0  # loop time of the last request's arrival
        # Waiting follow-ups with their deadlines, in arrival order, which is also the
        # order of their deadlines (one `patience` for all): one timer serves them all.
        self._queue: deque[tuple[float, asyncio.Future[None]]] = deque()
        self._deadline: asyncio.TimerHandle | None = None
        self._handing = False
        self._slots = asyncio.Semaphore(slots)
        self.lease = lease

    @contextlib.contextmanager
    def acking(self) -> Iterator[None]:
        """Around the handling of one Slack request, until its ack is written."""
        self.waiting += 1
        self._arrived = asyncio.get_running_loop().time()
        try:
            yield
        finally:
            self.waiting -= 1
            if not self.waiting:
                self._hand_out()

    async def turn(self) -> None:
        """Return in a gap between acks, or `patience` seconds from now."""
        if not self.waiting and not self._queue:
            return
        loop = asyncio.get_running_loop()
        mine = loop.create_future()
        self._queue.append((loop.time() + self.patience, mine))
        self._hand_out()
        if self._deadline is None:
            self._deadline = loop.call_at(self._queue[0][0], self._overdue)
        try:
            await mine
        finally:
            if not mine.done():  # cancelled: its place in the queue is skipped
                mine.cancel()

    def _overdue(self) -> None:
        """Every follow-up whose deadline has come gets its turn now; then the timer is
        set for the next deadline. One timer, not an `asyncio.timeout` per follow-up
        (about 13 µs of CPU each; see `bot.slack.errors._AckDeadlines`)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        queue = self._queue
        while queue and (queue[0][1].done() or queue[0][0] <= now):
            head = queue.popleft()[1]
            if not head.done():
                head.set_result(None)
        self._deadline = loop.call_at(queue[0][0], self._overdue) if queue else None

    def _hand_out(self) -> None:
        """Soon, if still no ack is waiting: the next follow-up's turn, then again."""
        if not self._handing and self._queue:
            self._handing = True
            asyncio.get_running_loop().call_soon(self._next)

    def _next(self) -> None:
        self._handing = False
        if self.waiting:
            return  # the last ack of the gap will hand out again
        loop = asyncio.get_running_loop()
        calm = loop.time() - self._arrived
        if calm < self.quiet and self._queue:  # requests are still streaming in
            self._handing = True
            loop.call_later(self.quiet - calm, self._next)
            return
        while self._queue:
            head = self._queue.popleft()[1]
            if not head.done():
                head.set_result(None)
                break
        self._hand_out()

    @contextlib.asynccontextmanager
    async def posting(self) -> AsyncIterator[None]:
        """Around posting one follow-up: one of the slots, until it ends or `lease` is up."""
        await self._slots.acquire()
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                self._slots.release()

        lent = asyncio.get_running_loop().call_later(self.lease, give_back)
        try:
            yield
        finally:
            lent.cancel()
            give_back()
