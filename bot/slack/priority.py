"""Acks first, follow-ups in the gaps, every follow-up by its deadline.

Slack shows an error when a request is not acknowledged within 3 s, and a person who
typed `/invoices` waits for the list. Under a burst the CPU cannot serve both at once,
so acks come first: a follow-up (fetching and posting a list) takes its turn when no
request is waiting for its ack, or when its own deadline (`patience` after it asked)
has come, whichever is first.

The patience is Slack's own 3 s: acks are served alone for as long as Slack would wait
for one, and no list waits longer than that for a gap. Only a load that leaves no gap
reaches it: a burst, or commands sent at exactly even intervals faster than one per
`quiet` (people typing are never that even). With 1 s, a burst that outlasted a second
on a slow host (2,000 commands at 50 concurrent, 1.5 to 2.2 s) had its first lists come
due while the rest of it still arrived, and the acks lost throughput to the lists'
rendering and posting: 0.80x of bare Bolt's, p99 1.35x, against 0.88x and 0.89x with
3 s in the next run (`python -m bench --only ack`, same hour). Under a steady load there
are gaps, so the patience is not reached: lists at 300 commands a second arrived as
soon with 3 s. A burst longer than the patience still gets its lists in the order they
were asked for, each as its deadline comes: none starves.

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
import heapq
import itertools
from collections import deque
from collections.abc import AsyncIterator

SLACK_ACK_SECONDS = 3.0
"""How long Slack waits for an ack before it shows the person an error."""


class AckFirst:
    def __init__(
        self,
        patience: float = SLACK_ACK_SECONDS,
        slots: int = 4,
        quiet: float = 0.002,
        lease: float = 0.05,
    ) -> None:
        self.patience = patience
        self.quiet = quiet
        self.waiting = 0
        self._arrived = 0.0  # loop time of the last request's arrival
        self._queue: deque[asyncio.Future[None]] = deque()  # waiting follow-ups, in order
        self._handing = False
        self._slots = asyncio.Semaphore(slots)
        self.lease = lease

    def acking(self) -> AckFirst:
        """Around the handling of one Slack request, until its ack is written: `with
        acks.acking():`. The object is its own context manager (only counters change),
        since a generator-based one costs every request a generator and a wrapper."""
        return self

    def __enter__(self) -> None:
        self.waiting += 1
        self._arrived = asyncio.get_running_loop().time()

    def __exit__(self, *exception: object) -> None:
        self.waiting -= 1
        if not self.waiting:
            self._hand_out()

    async def turn(self) -> None:
        """Return in a gap between acks, or `patience` seconds from now."""
        if not self.waiting and not self._queue:
            return
        loop = asyncio.get_running_loop()
        mine = loop.create_future()
        queue = self._queue
        while queue and queue[0].done():  # their deadlines came while acks kept arriving
            queue.popleft()
        queue.append(mine)
        self._hand_out()
        deadlines(loop).add(mine, self.patience)  # its turn by then at the latest
        try:
            await mine
        finally:
            if not mine.done():  # cancelled: its place in the queue is skipped
                mine.cancel()

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
            head = self._queue.popleft()
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


class Deadlines:
    """Futures ended (their result set to None) when their time is up, by one timer.

    Every request waits for something with a deadline (its ack, its follow-up's turn);
    an `asyncio.timeout` for each cost about 13 µs of CPU. Here a wait is one push on a
    heap, and one timer is kept for the earliest deadline: with both waits on it, the
    bot's CPU per command in a burst of 2,000 fell from 0.54 ms to 0.505 ms (bare Bolt
    0.42 ms) and its ack throughput from 0.87x of bare Bolt's to 0.93x (`python -m bench
    --only ack`). A future that ended sooner stays on the heap until its deadline.
    One per event loop (`deadlines`).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()  # ties go in the order they came
        self._timer: asyncio.TimerHandle | None = None

    def add(self, future: asyncio.Future[None], seconds: float) -> None:
        when = self.loop.time() + seconds
        heapq.heappush(self._heap, (when, next(self._order), future))
        if self._timer is None or when < self._timer.when():
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.loop.call_at(when, self._end_due)

    def _end_due(self) -> None:
        now, heap = self.loop.time(), self._heap
        while heap and (heap[0][2].done() or heap[0][0] <= now):
            future = heapq.heappop(heap)[2]
            if not future.done():
                future.set_result(None)
        self._timer = self.loop.call_at(heap[0][0], self._end_due) if heap else None


_current: list[Deadlines] = []  # those of the loop that asked last


def deadlines(loop: asyncio.AbstractEventLoop) -> Deadlines:
    """The deadlines of `loop`. A process runs one loop; should another ask (a test, a
    thread), it gets its own, and the earlier loop's pending deadlines still end on its
    own timer, which keeps them."""
    if not _current or _current[0].loop is not loop:
        _current[:] = [Deadlines(loop)]
    return _current[0]
